package redact

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// checkAll checks String, Bytes, a Writer fed byte by byte and a Writer fed
// in two Writes split at every position.
func checkAll(t *testing.T, r *Redactor, in, want string) {
	t.Helper()
	if got := r.String(in); got != want {
		t.Errorf("String(%q)\n got %q\nwant %q", in, got, want)
	}
	if got := string(r.Bytes([]byte(in))); got != want {
		t.Errorf("Bytes(%q) = %q, want %q", in, got, want)
	}
	var buf bytes.Buffer
	w := r.Writer(&buf)
	for i := 0; i < len(in); i++ {
		w.Write([]byte{in[i]})
	}
	w.Close()
	if got := buf.String(); got != want {
		t.Errorf("Writer byte by byte: got %q, want %q", got, want)
	}
	for k := 0; k <= len(in); k++ {
		buf.Reset()
		w := r.Writer(&buf)
		w.Write([]byte(in[:k]))
		w.Write([]byte(in[k:]))
		w.Close()
		if got := buf.String(); got != want {
			t.Errorf("Writer split at %d: got %q, want %q", k, got, want)
			return
		}
	}
}

// A short secret that ends where a longer one begins must not leave the
// rest of the longer one in the clear: the union of all matches is masked.
func TestOverlappingSecrets(t *testing.T) {
	tests := []struct {
		secrets []string
		in      string
		want    string
	}{
		{[]string{"abcd", "cdef"}, "abcdef", "***"},
		{[]string{"tok", "token-9f8e7d6c"}, "x=token-9f8e7d6c y", "x=*** y"},
		{[]string{"xy-prefix", "prefix-long-secret-value"}, "[xy-prefix-long-secret-value]", "[***]"},
		{[]string{"ab", "bc", "cd"}, "abcd abab", "*** ******"},
		{[]string{"secret-aaa", "aaa-other-secret"}, "secret-aaa-other-secret secret-aaa", "*** ***"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			checkAll(t, New(tt.secrets...), tt.in, tt.want)
		})
	}
}

// At most the characters of "user:" and one more before the mask, at most
// those of the suffix and one more after it.
var basicRE = regexp.MustCompile(`^Authorization: Basic [A-Za-z0-9+/]{0,16}\*\*\*[A-Za-z0-9+/=]{0,12}$`)

// base64("user:" + secret) puts the secret at any of the three alignments
// within base64's 3-byte groups; each must be masked.
func TestBase64AnyAlignment(t *testing.T) {
	secret := "s3cr3t-Pa55word!"
	r := New(secret)
	for _, user := range []string{"", "u", "us", "user", "admin", "deploy-bot"} {
		for _, suffix := range []string{"", "\n", "x", ":more"} {
			enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + secret + suffix))
			in := "Authorization: Basic " + enc
			got := r.String(in)
			if !basicRE.MatchString(got) {
				t.Errorf("user %q suffix %q: %q redacted to %q", user, suffix, in, got)
			}
			checkAll(t, r, in, got)
		}
	}
	// Raw base64 of the secret with anything before it.
	for pre := range 6 {
		in := base64.RawStdEncoding.EncodeToString([]byte(strings.Repeat("z", pre) + secret))
		got := r.String(in)
		before, after, ok := strings.Cut(got, Mask)
		if !ok || len(before) > pre*4/3+2 || len(after) > 2 {
			t.Errorf("prefix %d: %q redacted to %q", pre, in, got)
		}
	}
}

// wrap breaks s into lines of n, as `base64` (76) and `openssl base64` (64)
// do.
func wrap(s string, n int, nl string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + nl)
		s = s[n:]
	}
	b.WriteString(s + nl)
	return b.String()
}

// `echo -n $X | base64` wraps at 76 columns: secrets of 58 bytes or more
// come out on two lines or more.
func TestBase64Wrapped(t *testing.T) {
	secret := strings.Repeat("0123456789abcdef", 8)[:61] + "-end" // 65 bytes
	long := strings.Repeat("long-secret-", 20)                    // 240 bytes: 320 chars, 5 lines
	r := New(secret, long)
	enc := base64.StdEncoding.EncodeToString([]byte(secret))
	for _, nl := range []string{"\n", "\r\n"} {
		checkAll(t, r, "$ echo -n $X | base64\n"+wrap(enc, 76, nl)+"$ ", "$ echo -n $X | base64\n***"+nl+"$ ")
		checkAll(t, r, wrap(enc, 64, nl), "***"+nl)
		checkAll(t, r, wrap(base64.StdEncoding.EncodeToString([]byte(long)), 76, nl), "***"+nl)
	}
	// With the secret at another alignment, after other data.
	in := wrap(base64.StdEncoding.EncodeToString([]byte("user:"+secret+"\n")), 76, "\n")
	if got := r.String(in); strings.Count(got, Mask) != 1 || len(got) > 20 {
		t.Errorf("%q redacted to %q", in, got)
	}
	// A newline anywhere else is not a wrap: text with a broken line stays.
	broken := enc[:30] + "\n" + enc[30:]
	checkAll(t, r, broken, broken)
}

func TestURLEscaped(t *testing.T) {
	secret := "p@ss w/rd;x=1&y"
	r := New(secret)
	u := &url.URL{Scheme: "https", User: url.UserPassword("me", secret), Host: "h", Path: "/x"}
	checkAll(t, r, u.String(), "https://me:***@h/x")
	checkAll(t, r, "?pw="+url.QueryEscape(secret)+"&a=b", "?pw=***&a=b")
	checkAll(t, r, "/"+url.PathEscape(secret)+"/", "/***/")
	// Some encoders write the hex digits in lower case.
	lower := regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.PathEscape(secret), strings.ToLower)
	checkAll(t, r, "/"+lower+"/", "/***/")
}
