package redact

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestString(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"no secrets", nil, "hello hunter2", "hello hunter2"},
		{"empty secret ignored", []string{""}, "hello", "hello"},
		{"plain", []string{"hunter2"}, "pw=hunter2 end", "pw=*** end"},
		{"repeated", []string{"ab12"}, "ab12ab12 xab12", "****** x***"},
		{"one byte", []string{"x"}, "axbx", "a***b***"},
		{"longest wins at a position", []string{"pass", "password1"}, "password1 pass", "*** ***"},
		{"overlapping matches make one mask", []string{"abcd", "cdef"}, "abcdef", "***"},
		{"trailing newline in secret", []string{"s3cret-value\n"}, "value: s3cret-value.", "value: ***."},
		{"base64", []string{"s3cret-value"}, "data: " + base64.StdEncoding.EncodeToString([]byte("s3cret-value")), "data: ***"},
		{"base64 unpadded", []string{"s3cret-val"}, "x" + base64.RawStdEncoding.EncodeToString([]byte("s3cret-val")) + "x", "x***x"},
		{"url query", []string{"p@ss w/rd&x"}, "https://h/?pw=" + url.QueryEscape("p@ss w/rd&x"), "https://h/?pw=***"},
		{"url path", []string{"p@ss w/rd"}, "postgres://u:" + url.PathEscape("p@ss w/rd") + "@db/x", "postgres://u:***@db/x"},
		{"json", []string{`a"b\c`}, `{"pw":"a\"b\\c"}`, `{"pw":"***"}`},
		{
			"line of a multi-line secret",
			[]string{"-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nshort\n-----END KEY-----\n"},
			"leak MIIEvQIBADANBgkqhkiG9w0BAQEFAASC and short",
			"leak *** and short",
		},
		{"unicode", []string{"pässwörd"}, "x pässwörd y", "x *** y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(tt.secrets...)
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := string(r.Bytes([]byte(tt.in))); got != tt.want {
				t.Errorf("Bytes(%q) = %q, want %q", tt.in, got, tt.want)
			}
			var buf bytes.Buffer
			w := r.Writer(&buf)
			for i := 0; i < len(tt.in); i++ {
				if _, err := w.Write([]byte{tt.in[i]}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("Writer byte by byte: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNilRedactor(t *testing.T) {
	var r *Redactor
	if got := r.String("a"); got != "a" {
		t.Errorf("got %q", got)
	}
	if got := string(r.Bytes([]byte("a"))); got != "a" {
		t.Errorf("got %q", got)
	}
	var buf bytes.Buffer
	w := r.Writer(&buf)
	if _, err := io.WriteString(w, "abc"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "abc" {
		t.Errorf("got %q", buf.String())
	}
	r.Add("x") // must not panic
	if r.Len() != 0 {
		t.Errorf("Len = %d", r.Len())
	}
}

func TestBytesDoesNotAlias(t *testing.T) {
	in := []byte("nothing secret")
	out := New("zzzz").Bytes(in)
	out[0] = 'N'
	if in[0] != 'n' {
		t.Error("Bytes returned its input")
	}
}

// A long text with secrets, written one byte at a time, must come out with
// no secret and no byte held back longer than needed.
func TestWriterSplitSecretByteByByte(t *testing.T) {
	secret := "correct-horse-battery-staple-9f8e7d"
	r := New(secret, "tok_ABC123")
	var text strings.Builder
	for i := range 200 {
		fmt.Fprintf(&text, "line %d: connecting with %s and tok_ABC123 (partial: correct-horse-)\n", i, secret)
	}
	in := text.String()
	var buf bytes.Buffer
	w := r.Writer(&buf)
	for i := 0; i < len(in); i++ {
		if _, err := w.Write([]byte{in[i]}); err != nil {
			t.Fatal(err)
		}
		if p := w.Pending(); p >= len(secret) {
			t.Fatalf("holding back %d bytes, more than the longest secret minus one", p)
		}
		// After a newline nothing can be pending: no secret starts with it.
		if in[i] == '\n' && w.Pending() != 0 {
			t.Fatalf("after a newline %d bytes are held back", w.Pending())
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if strings.Contains(got, secret) || strings.Contains(got, "tok_ABC123") {
		t.Fatal("secret leaked")
	}
	if diff := cmp.Diff(r.String(in), got); diff != "" {
		t.Errorf("writer output differs from String (-String +Writer):\n%s", diff)
	}
	if !strings.Contains(got, "(partial: correct-horse-)") {
		t.Error("a prefix of a secret that is not the secret was changed")
	}
}

func TestWriterPassesThroughAtOnce(t *testing.T) {
	r := New("secret")
	var buf bytes.Buffer
	w := r.Writer(&buf)
	io.WriteString(w, "progress 50%")
	if buf.String() != "progress 50%" {
		t.Errorf("got %q before Close, want everything (no byte could start a secret)", buf.String())
	}
	io.WriteString(w, " sec")
	if buf.String() != "progress 50% " {
		t.Errorf("got %q, want the possible secret prefix held back", buf.String())
	}
	io.WriteString(w, "ond")
	if buf.String() != "progress 50% second" {
		t.Errorf("got %q", buf.String())
	}
	io.WriteString(w, " sec")
	w.Close()
	if buf.String() != "progress 50% second sec" {
		t.Errorf("after Close got %q", buf.String())
	}
	if _, err := w.Write([]byte("x")); err != ErrClosed {
		t.Errorf("Write after Close: err = %v, want ErrClosed", err)
	}
}

func TestAddWhileWriting(t *testing.T) {
	r := New()
	var buf bytes.Buffer
	w := r.Writer(&buf)
	io.WriteString(w, "before ")
	r.Add("late-secret")
	io.WriteString(w, "late-sec")
	io.WriteString(w, "ret after")
	w.Close()
	if got, want := buf.String(), "before *** after"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriterError(t *testing.T) {
	w := New("x").Writer(errWriter{})
	if _, err := w.Write([]byte("abc")); err != io.ErrClosedPipe {
		t.Errorf("err = %v", err)
	}
}

// Separate writers for stdout and stderr share a Redactor and write
// concurrently; each stream is redacted on its own. Run with -race.
func TestConcurrentWriters(t *testing.T) {
	secret := "shared-secret-0123"
	r := New(secret)
	var outBuf, errBuf syncBuffer
	stdout, stderr := r.Writer(&outBuf), r.Writer(&errBuf)
	line := "value " + secret + " end\n"
	var wg sync.WaitGroup
	for _, w := range []*Writer{stdout, stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				// Split the line at a different place each time.
				k := i % len(line)
				w.Write([]byte(line[:k]))
				w.Write([]byte(line[k:]))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 100 {
			_ = r.String(line)
		}
	}()
	wg.Wait()
	stdout.Close()
	stderr.Close()
	want := strings.Repeat("value *** end\n", 500)
	for name, b := range map[string]*syncBuffer{"stdout": &outBuf, "stderr": &errBuf} {
		if got := b.String(); got != want {
			t.Errorf("%s: got %d bytes, want %d; first 80: %q", name, len(got), len(want), got[:min(80, len(got))])
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FuzzWriter checks that a Writer fed any split of any input produces exactly
// String of the whole input, and that no secret survives (when no secret
// contains the mask character, which the mask itself would otherwise form).
func FuzzWriter(f *testing.F) {
	f.Add([]byte("pw=hunter2 and hunter2hunter2"), "hunter2", "hunt", uint64(1))
	f.Add([]byte("aaaaaaaaab"), "aab", "aaaa", uint64(7))
	f.Add([]byte("abcdef"), "abcd", "cdef", uint64(3))
	f.Add([]byte("Basic dXNlcjpzM2NyM3QtUGE1NXdvcmQh"), "s3cr3t-Pa55word!", "user", uint64(5))
	f.Add([]byte(wrap(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 70))), 76, "\r\n")), strings.Repeat("k", 70), "kk", uint64(9))
	f.Add([]byte("https://u:p%40ss%2fw@h"), "p@ss/w", "u:p", uint64(11))
	f.Add([]byte("x\n"), "x\n", "\n", uint64(0))
	f.Fuzz(func(t *testing.T, in []byte, s1, s2 string, seed uint64) {
		r := New(s1, s2)
		want := r.String(string(in))
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		var buf bytes.Buffer
		w := r.Writer(&buf)
		rest := in
		for len(rest) > 0 {
			n := rng.IntN(len(rest)) + 1
			if rng.IntN(3) == 0 {
				n = 1
			}
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != want {
			t.Fatalf("writer %q != String %q (secrets %q %q)", got, want, s1, s2)
		}
		for _, s := range []string{s1, s2} {
			if s == "" || strings.Contains(s, "*") {
				continue
			}
			for _, v := range Variants(s) {
				if strings.Contains(want, v) {
					t.Fatalf("output %q contains %q (a variant of secret %q)", want, v, s)
				}
			}
		}
	})
}

func BenchmarkWriter(b *testing.B) {
	r := New("password-123", "tok_abcdef", "another secret value")
	chunk := bytes.Repeat([]byte("some ordinary log output with numbers 12345 and words\n"), 600)
	w := r.Writer(io.Discard)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		w.Write(chunk)
	}
}
