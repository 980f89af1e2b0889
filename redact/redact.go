// Package redact replaces secret values with a mask in strings, byte slices
// and live output streams, so credentials never reach a terminal, a log or a
// run record.
//
// What is redacted, for every non-empty secret given to New or Add:
//   - the value itself, however short (a one-byte secret masks that byte
//     everywhere: leaking is worse than noise);
//   - the value without surrounding white space (values read from files and
//     commands usually end in a newline);
//   - its standard base64 encoding, padded and unpadded (`echo -n $X | base64`,
//     Kubernetes Secret data);
//   - its URL query escaping (url.QueryEscape) and URL path escaping (a
//     password inside a connection URL);
//   - its JSON string escaping without the quotes (a value inside JSON output);
//   - for multi-line values (PEM keys, kubeconfigs), every line of 16 bytes or
//     more on its own, so printing part of the file does not leak it.
//
// Matching is leftmost first, and at one position the longest pattern wins.
// A Writer produces exactly what String would produce for the whole stream,
// however the stream is split into Write calls.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Mask replaces every secret.
const Mask = "***"

// minLineLen is the shortest line of a multi-line secret that is redacted on
// its own.
const minLineLen = 16

// Redactor holds a set of secret values. It is safe for concurrent use, and
// every method works on a nil *Redactor (which redacts nothing).
type Redactor struct {
	mu      sync.Mutex // serialises Add
	secrets []string   // the values given, for Add
	m       atomic.Pointer[matcher]
}

// matcher is an immutable set of patterns, replaced as a whole by Add.
type matcher struct {
	patterns [][]byte   // longest first
	byFirst  [256][]int // indexes into patterns by first byte, longest first
	maxLen   int
}

// New returns a Redactor for the given secrets. Empty values are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add adds secrets, for values that become known during a run. Writers
// already open use the new set from their next Write.
func (r *Redactor) Add(secrets ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added := false
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
			added = true
		}
	}
	if added || r.m.Load() == nil {
		r.m.Store(newMatcher(r.secrets))
	}
}

// Len returns the number of patterns (secrets and their encodings) redacted.
func (r *Redactor) Len() int {
	m := r.matcher()
	if m == nil {
		return 0
	}
	return len(m.patterns)
}

func (r *Redactor) matcher() *matcher {
	if r == nil {
		return nil
	}
	m := r.m.Load()
	if m == nil || len(m.patterns) == 0 {
		return nil
	}
	return m
}

// Variants returns the patterns redacted for one secret value: the value and
// its encodings, as described in the package comment.
func Variants(secret string) []string {
	if secret == "" {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	forms := []string{secret}
	if t := strings.TrimSpace(secret); t != secret {
		forms = append(forms, t)
	}
	for _, f := range forms {
		add(f)
		add(base64.StdEncoding.EncodeToString([]byte(f)))
		add(base64.RawStdEncoding.EncodeToString([]byte(f)))
		add(url.QueryEscape(f))
		add(url.PathEscape(f))
		add(jsonEscape(f))
	}
	if strings.Contains(secret, "\n") {
		for _, line := range strings.Split(secret, "\n") {
			line = strings.TrimSpace(line)
			if len(line) >= minLineLen {
				add(line)
			}
		}
	}
	return out
}

func jsonEscape(s string) string {
	b, err := json.Marshal(s)
	if err != nil || len(b) < 2 {
		return s
	}
	return string(b[1 : len(b)-1])
}

func newMatcher(secrets []string) *matcher {
	seen := map[string]bool{}
	var pats [][]byte
	for _, s := range secrets {
		for _, v := range Variants(s) {
			if !seen[v] {
				seen[v] = true
				pats = append(pats, []byte(v))
			}
		}
	}
	// Longest first; ties in byte order so the result never depends on the
	// order secrets were given.
	sort.Slice(pats, func(i, j int) bool {
		if len(pats[i]) != len(pats[j]) {
			return len(pats[i]) > len(pats[j])
		}
		return bytes.Compare(pats[i], pats[j]) < 0
	})
	m := &matcher{patterns: pats}
	for i, p := range pats {
		m.byFirst[p[0]] = append(m.byFirst[p[0]], i)
		if len(p) > m.maxLen {
			m.maxLen = len(p)
		}
	}
	return m
}

// scan appends the redaction of buf to out. When final is false it stops at
// the first position where a pattern might match but buf ends before that can
// be decided, and returns that position; the caller keeps buf[pos:] for the
// next call. When final is true all of buf is consumed.
func (m *matcher) scan(out, buf []byte, final bool) ([]byte, int) {
	i, start := 0, 0 // buf[start:i] is plain text not yet appended
	for i < len(buf) {
		cands := m.byFirst[buf[i]]
		if len(cands) == 0 {
			i++
			continue
		}
		matched := 0
		for _, c := range cands {
			p := m.patterns[c]
			rest := buf[i:]
			if len(rest) >= len(p) {
				if bytes.Equal(rest[:len(p)], p) {
					matched = len(p)
					break
				}
				continue
			}
			if !final && bytes.HasPrefix(p, rest) {
				// A longer pattern may still match: wait for more bytes.
				out = append(out, buf[start:i]...)
				return out, i
			}
		}
		if matched == 0 {
			i++
			continue
		}
		out = append(out, buf[start:i]...)
		out = append(out, Mask...)
		i += matched
		start = i
	}
	out = append(out, buf[start:]...)
	return out, len(buf)
}

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	m := r.matcher()
	if m == nil {
		return s
	}
	out, _ := m.scan(make([]byte, 0, len(s)), []byte(s), true)
	return string(out)
}

// Bytes returns b with every secret replaced by Mask. The result never shares
// memory with b.
func (r *Redactor) Bytes(b []byte) []byte {
	m := r.matcher()
	if m == nil {
		return bytes.Clone(b)
	}
	out, _ := m.scan(make([]byte, 0, len(b)), b, true)
	return out
}
