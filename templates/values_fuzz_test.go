package templates

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"
)

// FuzzParseValues feeds arbitrary bytes to the parser of a values file (a
// -f file). It never panics; it returns a map or an error, never both or
// neither; every error names the file; and what it returns, encoded as YAML
// and parsed again, is parsed to the same values from then on (the first
// round may change types YAML cannot tell apart once written, such as a
// float -0 that comes back as the whole number 0).
func FuzzParseValues(f *testing.F) {
	for _, seed := range []string{
		"greeting: hello\ndb:\n  host: postgres\n  port: 5432\n  user: postgres\n",
		"", "# only a comment\n", "~\n", "---\n",
		"- a\n- b\n", "just text\n", "a: 1\n---\nb: 2\n",
		"a: [1, 2, {b: c}]\nd: {e: null, f: ~}\ng: !!binary aGVsbG8=\n",
		"base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
		"1: int key\ntrue: bool key\n? [a, b]\n: list key\n",
		"a: 1\na: 2\n", "a: [unclosed\n", "\ta: tab\n", "a: *nowhere\n",
		"big: 18446744073709551615\nneg: -9223372036854775808\nf: 1e400\nnan: .nan\nz: -0.0\n",
		"date: 2001-12-14t21:59:43.10-05:00\nver: 1.10\noct: 0o17\nhex: 0xff\n",
		"s: !!str 123\nq: \"\\u00e9\\t\"\nm: |\n  multi\n  line\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz/values.yaml"
		m, err := ParseValues(name, data)
		if err != nil {
			if m != nil {
				t.Fatalf("both values %v and an error %v", m, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, name+":") {
					t.Fatalf("error line %q does not name the file %s", line, name)
				}
			}
			return
		}
		if m == nil {
			t.Fatal("neither values nor an error")
		}
		once := reparse(t, name, m)
		twice := reparse(t, name, once)
		if diff := cmp.Diff(once, twice, cmpopts.EquateNaNs()); diff != "" {
			t.Fatalf("values change each time they are encoded and parsed (-once +twice):\n%s", diff)
		}
		if len(once) != len(m) {
			t.Fatalf("%d values became %d once encoded and parsed: %v → %v", len(m), len(once), m, once)
		}
		for k := range m {
			if _, ok := once[k]; !ok {
				t.Fatalf("value %q was lost once encoded and parsed", k)
			}
		}
	})
}

// reparse encodes values as YAML and parses them as a values file again.
func reparse(t *testing.T, name string, values map[string]any) map[string]any {
	t.Helper()
	out, err := yaml.Marshal(values)
	if err != nil {
		t.Fatalf("encode %v: %v", values, err)
	}
	again, err := ParseValues(name, out)
	if err != nil {
		t.Fatalf("the encoded values do not parse: %v\n%s", err, out)
	}
	return again
}
