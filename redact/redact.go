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
//     Kubernetes Secret data), and, for values of 5 bytes or more, the part
//     of the base64 encoding that depends on the value alone at each of the
//     three alignments within base64's 3-byte groups, so the value is found
//     inside the encoding of longer data (`Authorization: Basic` with
//     base64("user:" + secret), a value followed by a newline);
//   - any base64 form broken across lines where encoders wrap them: after
//     column 76 (`base64`) or 64 (`openssl base64`, PEM), at "\n" or "\r\n";
//   - its URL query escaping (url.QueryEscape), URL path escaping and URL
//     user-info escaping (a password inside a connection URL), with the hex
//     digits in upper or lower case;
//   - its JSON string escaping without the quotes (a value inside JSON output);
//   - for multi-line values (PEM keys, kubeconfigs), every line of 16 bytes or
//     more on its own, so printing part of the file does not leak it.
//
// Every byte covered by any match is masked: overlapping matches (a short
// secret that ends where a longer one begins) become one mask, so no part of
// either is left in the clear; matches that only touch get a mask each. A
// Writer produces exactly what String would produce for the whole stream,
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

// minInnerBase64 is the shortest part of a base64 encoding, at an alignment
// other than the value's own, that is redacted: shorter parts would mask
// ordinary words.
const minInnerBase64 = 6

// wrapColumns are the line lengths after which base64 encoders break lines.
var wrapColumns = [...]int{64, 76}

// Redactor holds a set of secret values. It is safe for concurrent use, and
// every method works on a nil *Redactor (which redacts nothing).
type Redactor struct {
	mu      sync.Mutex // serialises Add
	secrets []string   // the values given, for Add
	m       atomic.Pointer[matcher]
}

// matcher is an immutable set of patterns, replaced as a whole by Add.
type matcher struct {
	patterns []pattern  // longest first
	byFirst  [256][]int // indexes into patterns by first byte, longest first
}

type pattern struct {
	b    []byte
	wrap bool // a base64 form: may be broken across lines at a wrap column
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
	var out []string
	for _, v := range variants(secret) {
		out = append(out, v.s)
	}
	return out
}

type variant struct {
	s    string
	wrap bool
}

func variants(secret string) []variant {
	if secret == "" {
		return nil
	}
	seen := map[string]int{}
	var out []variant
	add := func(v string, wrap bool) {
		if v == "" {
			return
		}
		if i, ok := seen[v]; ok {
			out[i].wrap = out[i].wrap || wrap
			return
		}
		seen[v] = len(out)
		out = append(out, variant{v, wrap})
	}
	forms := []string{secret}
	if t := strings.TrimSpace(secret); t != secret && t != "" {
		forms = append(forms, t)
	}
	for _, f := range forms {
		add(f, false)
		add(base64.StdEncoding.EncodeToString([]byte(f)), true)
		add(base64.RawStdEncoding.EncodeToString([]byte(f)), true)
		for shift := range 3 {
			if in := base64Inner([]byte(f), shift); len(in) >= minInnerBase64 {
				add(in, true)
			}
		}
		user := url.UserPassword("", f).String()[1:] // drop the ':'
		for _, e := range []string{url.QueryEscape(f), url.PathEscape(f), user} {
			add(e, false)
			add(lowerHex(e), false)
		}
		add(jsonEscape(f), false)
	}
	if strings.Contains(secret, "\n") {
		for _, line := range strings.Split(secret, "\n") {
			line = strings.TrimSpace(line)
			if len(line) >= minLineLen {
				add(line, false)
			}
		}
	}
	return out
}

// base64Inner returns the characters of the base64 encoding of b, placed
// shift bytes into a 3-byte group, that depend on b alone: whatever comes
// before and after b in the encoded data, they are the same.
func base64Inner(b []byte, shift int) string {
	buf := make([]byte, shift+len(b))
	copy(buf[shift:], b)
	enc := base64.RawStdEncoding.EncodeToString(buf)
	// Character i holds bits [6i, 6i+6) of buf; b is bits [8*shift, 8*len(buf)).
	lo := (8*shift + 5) / 6
	hi := 8 * len(buf) / 6
	if hi <= lo {
		return ""
	}
	return enc[lo:hi]
}

// lowerHex returns s with the hex digits of its %XX escapes in lower case.
func lowerHex(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if 'A' <= b[j] && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
			i += 2
		}
	}
	return string(b)
}

func jsonEscape(s string) string {
	b, err := json.Marshal(s)
	if err != nil || len(b) < 2 {
		return s
	}
	return string(b[1 : len(b)-1])
}

func newMatcher(secrets []string) *matcher {
	seen := map[string]int{}
	var pats []pattern
	for _, s := range secrets {
		for _, v := range variants(s) {
			if i, ok := seen[v.s]; ok {
				pats[i].wrap = pats[i].wrap || v.wrap
				continue
			}
			seen[v.s] = len(pats)
			pats = append(pats, pattern{b: []byte(v.s), wrap: v.wrap})
		}
	}
	// Longest first; ties in byte order so the result never depends on the
	// order secrets were given.
	sort.Slice(pats, func(i, j int) bool {
		if len(pats[i].b) != len(pats[j].b) {
			return len(pats[i].b) > len(pats[j].b)
		}
		return bytes.Compare(pats[i].b, pats[j].b) < 0
	})
	m := &matcher{patterns: pats}
	for i, p := range pats {
		m.byFirst[p.b[0]] = append(m.byFirst[p.b[0]], i)
	}
	return m
}

// undecided is returned by match when the text ends before a match can be
// ruled in or out.
const undecided = -1

// match returns how many bytes of text p matches at buf[i:] (more than
// len(p.b) when it crosses line breaks), 0 when it does not match, or
// undecided when buf ends too soon to tell and final is false. col is the
// column of buf[i]: the number of bytes since the last newline.
func (p *pattern) match(buf []byte, i, col int, final bool) int {
	j, k := i, 0
	for k < len(p.b) {
		if j >= len(buf) {
			if final {
				return 0
			}
			return undecided
		}
		c := buf[j]
		if c == p.b[k] {
			j++
			k++
			col++
			continue
		}
		if !p.wrap || k == 0 || !isWrapColumn(col) {
			return 0
		}
		switch c {
		case '\n':
			j++
		case '\r':
			if j+1 >= len(buf) {
				if final {
					return 0
				}
				return undecided
			}
			if buf[j+1] != '\n' {
				return 0
			}
			j += 2
		default:
			return 0
		}
		col = 0
		if j < len(buf) && buf[j] != p.b[k] {
			return 0 // one line break at a time
		}
	}
	return j - i
}

func isWrapColumn(col int) bool {
	for _, w := range wrapColumns {
		if col == w {
			return true
		}
	}
	return false
}

// scanState carries what scan needs to know about the text before buf.
type scanState struct {
	covered int // how many leading bytes of buf a mask already written covers
	col     int // the column of buf[0]
}

// advanceCol returns the column after b, starting at col.
func advanceCol(col int, b []byte) int {
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return len(b) - i - 1
	}
	return col + len(b)
}

// scan appends the redaction of buf to out. When final is false it stops at
// the first position where a pattern might match but buf ends before that can
// be decided, and returns that position with the state for the rest; the
// caller keeps buf[pos:] for the next call. When final is true all of buf is
// consumed.
func (m *matcher) scan(out, buf []byte, st scanState, final bool) ([]byte, int, scanState) {
	maskEnd := st.covered // buf[:maskEnd] is under a mask already written
	plain := st.covered   // buf[plain:i] is plain text not yet appended
	col := st.col
	for i := 0; i < len(buf); i++ {
		if cands := m.byFirst[buf[i]]; len(cands) > 0 {
			longest := 0
			for _, c := range cands {
				n := m.patterns[c].match(buf, i, col, final)
				if n == undecided {
					// A pattern may still match here: wait for more bytes.
					if plain < i {
						out = append(out, buf[plain:i]...)
					}
					return out, i, scanState{covered: max(0, maskEnd-i), col: col}
				}
				longest = max(longest, n)
			}
			if longest > 0 {
				if end := i + longest; i < maskEnd {
					maskEnd = max(maskEnd, end) // overlaps the mask: extend it
				} else {
					out = append(out, buf[plain:i]...)
					out = append(out, Mask...)
					maskEnd = end
				}
				plain = maskEnd
			}
		}
		if buf[i] == '\n' {
			col = 0
		} else {
			col++
		}
	}
	if plain < len(buf) {
		out = append(out, buf[plain:]...)
	}
	return out, len(buf), scanState{col: col}
}

// String returns s with every secret replaced by Mask.
func (r *Redactor) String(s string) string {
	m := r.matcher()
	if m == nil {
		return s
	}
	out, _, _ := m.scan(make([]byte, 0, len(s)), []byte(s), scanState{}, true)
	return string(out)
}

// Bytes returns b with every secret replaced by Mask. The result never shares
// memory with b.
func (r *Redactor) Bytes(b []byte) []byte {
	m := r.matcher()
	if m == nil {
		return bytes.Clone(b)
	}
	out, _, _ := m.scan(make([]byte, 0, len(b)), b, scanState{}, true)
	return out
}
