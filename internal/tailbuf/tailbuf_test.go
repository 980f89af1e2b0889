package tailbuf

import (
	"strings"
	"testing"
)

func TestBufferKeepsTheEnd(t *testing.T) {
	tests := []struct {
		writes    []string
		want      string
		truncated bool
	}{
		{nil, "", false},
		{[]string{"abc"}, "abc", false},
		{[]string{"abc", "defg"}, "defg", true},
		{[]string{strings.Repeat("x", 10), "1234"}, "1234", true},
		{[]string{"ab", "cd"}, "abcd", false},
	}
	for _, tt := range tests {
		b := New(4)
		for _, w := range tt.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
		got, truncated := b.Tail()
		if got != tt.want || truncated != tt.truncated || b.String() != tt.want {
			t.Errorf("after %q: Tail() = %q, %v; want %q, %v", tt.writes, got, truncated, tt.want, tt.truncated)
		}
	}
}
