package templates

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSet(t *testing.T) {
	tests := []struct {
		name string
		expr []string // applied in order to one map
		want map[string]any
	}{
		{"simple", []string{"a=b"}, map[string]any{"a": "b"}},
		{"empty expression", []string{""}, map[string]any{}},
		{"several", []string{"a=1,b=2"}, map[string]any{"a": int64(1), "b": int64(2)}},
		{"trailing comma", []string{"a=x,"}, map[string]any{"a": "x"}},
		{"dotted", []string{"a.b.c=d"}, map[string]any{"a": map[string]any{"b": map[string]any{"c": "d"}}}},
		{"dotted siblings", []string{"db.host=h,db.port=5432"}, map[string]any{"db": map[string]any{"host": "h", "port": int64(5432)}}},
		{"two expressions merge", []string{"db.host=h", "db.user=u"}, map[string]any{"db": map[string]any{"host": "h", "user": "u"}}},
		{"later wins", []string{"a=1", "a=2"}, map[string]any{"a": int64(2)}},
		{"map replaces scalar", []string{"a=1,a.b=2"}, map[string]any{"a": map[string]any{"b": int64(2)}}},
		{"bool true", []string{"a=true"}, map[string]any{"a": true}},
		{"bool any case", []string{"a=TRUE,b=False"}, map[string]any{"a": true, "b": false}},
		{"null", []string{"a=null"}, map[string]any{"a": nil}},
		{"null any case", []string{"a=NULL"}, map[string]any{"a": nil}},
		{"zero", []string{"a=0"}, map[string]any{"a": int64(0)}},
		{"negative", []string{"a=-12"}, map[string]any{"a": int64(-12)}},
		{"leading zero stays string", []string{"a=007"}, map[string]any{"a": "007"}},
		{"float stays string", []string{"a=1.5"}, map[string]any{"a": "1.5"}},
		{"int64 overflow stays string", []string{"a=99999999999999999999"}, map[string]any{"a": "99999999999999999999"}},
		{"empty value", []string{"a="}, map[string]any{"a": ""}},
		{"value with equals", []string{"a=b=c"}, map[string]any{"a": "b=c"}},
		{"escaped comma", []string{`a=x\,y,b=z`}, map[string]any{"a": "x,y", "b": "z"}},
		{"escaped dot in key", []string{`nodeSelector.kubernetes\.io/role=db`}, map[string]any{"nodeSelector": map[string]any{"kubernetes.io/role": "db"}}},
		{"escaped backslash", []string{`a=c:\\dir`}, map[string]any{"a": `c:\dir`}},
		{"escaped equals in key", []string{`a\=b=c`}, map[string]any{"a=b": "c"}},
		{"list index", []string{"l[0]=x,l[1]=y"}, map[string]any{"l": []any{"x", "y"}}},
		{"list gap filled with nil", []string{"l[2]=x"}, map[string]any{"l": []any{nil, nil, "x"}}},
		{"list element overwritten", []string{"l[0]=x", "l[0]=y"}, map[string]any{"l": []any{"y"}}},
		{"list of maps", []string{"s[0].name=a,s[0].port=80,s[1].name=b"}, map[string]any{"s": []any{
			map[string]any{"name": "a", "port": int64(80)}, map[string]any{"name": "b"}}}},
		{"nested lists", []string{"m[1][0]=x"}, map[string]any{"m": []any{nil, []any{"x"}}}},
		{"list literal", []string{"l={a,2,true}"}, map[string]any{"l": []any{"a", int64(2), true}}},
		{"list literal then more", []string{"l={a,b},c=d"}, map[string]any{"l": []any{"a", "b"}, "c": "d"}},
		{"empty list literal", []string{"l={}"}, map[string]any{"l": []any{}}},
		{"list literal escaped comma", []string{`l={a\,b,c}`}, map[string]any{"l": []any{"a,b", "c"}}},
		{"unicode", []string{"grüße=日本"}, map[string]any{"grüße": "日本"}},
		{"spaces kept", []string{"a= b "}, map[string]any{"a": " b "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]any{}
			for _, e := range tt.expr {
				if err := ParseSet(got, e); err != nil {
					t.Fatalf("ParseSet(%q): %v", e, err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSet(%q) (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func TestParseSetString(t *testing.T) {
	got := map[string]any{}
	if err := ParseSetString(got, "a=true,b=007,c=12,d=null,l={1,x}"); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "true", "b": "007", "c": "12", "d": "null", "l": []any{"1", "x"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseSetErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // substring of the message
	}{
		{"a", `--set "a": key "a" has no value; write a=VALUE`},
		{"a,b=c", `key "a" has no value`},
		{"a=1,,b=2", "empty assignment between commas"},
		{"=x", `empty key before "="`},
		{"a..b=c", `empty key before "."`},
		{"a.", `key "a." ends with a dot`},
		{`a=x\`, "lone backslash"},
		{"l[x]=1", `list index "x" of "l" is not a number`},
		{"l[-1]=1", "negative"},
		{"l[70000]=1", "greater than the maximum of 65536"},
		{"l[0", "no closing ]"},
		{"l[0]", "l[0] has no value"},
		{"l[0]x", `unexpected "x" after l[0]`},
		{"l={a,b", "no closing }"},
		{"l={a}x", "must end at a comma"},
		{strings.Repeat("a.", 200) + "b=c", "more than 128 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			err := ParseSet(map[string]any{}, tt.expr)
			var se *SetError
			if !errors.As(err, &se) {
				t.Fatalf("ParseSet(%q) = %v, want a *SetError", tt.expr, err)
			}
			if se.Expr != tt.expr || se.Flag != "--set" {
				t.Errorf("SetError = %+v, want Expr %q and Flag --set", se, tt.expr)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseSet(%q) error = %q, want it to contain %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	lib := map[string]any{"db": map[string]any{"host": "lib-host", "port": 5432}, "region": "eu", "tags": []any{"a"}}
	deck := map[string]any{"db": map[string]any{"host": "deck-host"}, "tags": []any{"b", "c"}, "drop": "x"}
	file1 := map[string]any{"db": map[string]any{"user": "file1"}, "region": "us"}
	file2 := map[string]any{"db": map[string]any{"user": "file2"}}
	sets := map[string]any{"db": map[string]any{"port": int64(6543)}, "drop": nil, "new": map[string]any{"k": nil, "j": 1}}

	libCopy, deckCopy := Merge(lib), Merge(deck)
	got := Layers(lib, deck, []map[string]any{file1, file2}, sets)
	want := map[string]any{
		"db":     map[string]any{"host": "deck-host", "port": int64(6543), "user": "file2"},
		"region": "us",
		"tags":   []any{"b", "c"}, // lists are replaced, not merged
		"new":    map[string]any{"j": 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Layers (-want +got):\n%s", diff)
	}
	// The inputs are unchanged and share nothing with the result.
	got["db"].(map[string]any)["host"] = "changed"
	got["tags"].([]any)[0] = "changed"
	if diff := cmp.Diff(libCopy, lib); diff != "" {
		t.Errorf("lib changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(deckCopy, deck); diff != "" {
		t.Errorf("deck changed (-before +after):\n%s", diff)
	}
	if _, ok := sets["drop"]; !ok {
		t.Errorf("sets lost its null marker")
	}
}

func TestMergePrecedenceTable(t *testing.T) {
	// Each layer sets "v" to its own name; the highest one that sets it wins.
	layer := func(name string) map[string]any { return map[string]any{"v": name} }
	tests := []struct {
		name                   string
		lib, deck, f1, f2, set map[string]any
		want                   any
	}{
		{"only lib", layer("lib"), nil, nil, nil, nil, "lib"},
		{"deck over lib", layer("lib"), layer("deck"), nil, nil, nil, "deck"},
		{"file over deck", layer("lib"), layer("deck"), layer("f1"), nil, nil, "f1"},
		{"later file over earlier", layer("lib"), layer("deck"), layer("f1"), layer("f2"), nil, "f2"},
		{"set over all", layer("lib"), layer("deck"), layer("f1"), layer("f2"), layer("set"), "set"},
		{"set null deletes", layer("lib"), layer("deck"), nil, nil, map[string]any{"v": nil}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Layers(tt.lib, tt.deck, []map[string]any{tt.f1, tt.f2}, tt.set)
			if got["v"] != tt.want {
				t.Errorf("v = %v, want %v", got["v"], tt.want)
			}
		})
	}
}

func TestMergeNormalizesAnyKeys(t *testing.T) {
	got := Merge(map[string]any{"m": map[any]any{1: "one", "k": map[any]any{"x": true}}})
	want := map[string]any{"m": map[string]any{"1": "one", "k": map[string]any{"x": true}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadValuesFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "db:\n  host: h\n  port: 5432\nlist: [a, 1]\n")
	got, err := ReadValuesFile(good)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"db": map[string]any{"host": "h", "port": 5432}, "list": []any{"a", 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	empty := write("empty.yaml", "# nothing\n")
	if got, err := ReadValuesFile(empty); err != nil || len(got) != 0 || got == nil {
		t.Errorf("empty file = %v, %v; want an empty map", got, err)
	}

	bad := []struct {
		name, body, want string
	}{
		{"syntax.yaml", "a: 1\nb: [1, 2\nc: 3\n", "syntax.yaml:2: did not find expected ',' or ']'"}, // the line of the unclosed [ (yaml.v3 says 1)
		{"list.yaml", "\n- a\n- b\n", "list.yaml:2: a values file must be a mapping"},
		{"scalar.yaml", "hello\n", "scalar.yaml:1: a values file must be a mapping"},
		{"dup.yaml", "a: 1\na: 2\n", `dup.yaml:2: mapping key "a" already defined`},
		{"two.yaml", "a: 1\n---\nb: 2\n", "two.yaml:2: a values file holds one YAML document"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := write(tt.name, tt.body)
			_, err := ReadValuesFile(p)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tt.want)) {
				t.Errorf("ReadValuesFile = %v, want an error containing %q", err, filepath.Join(dir, tt.want))
			}
		})
	}

	_, err = ReadValuesFile(filepath.Join(dir, "absent.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v, want os.ErrNotExist", err)
	}
}

func TestParseSetFileAndJSON(t *testing.T) {
	files := map[string]string{"/a,b.txt": "comma", "/x.pem": "-----BEGIN-----\n"}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("open %s: no such file", p)
	}
	got := map[string]any{}
	if err := ParseSetFile(got, `tls.cert=/x.pem,note=/a\,b.txt`, read); err != nil {
		t.Fatal(err)
	}
	if err := ParseSetJSON(got, `obj={"a":[1,2.5,"x"],"b":{"c":null}},n=7 ,list[1]=true`); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"tls":  map[string]any{"cert": "-----BEGIN-----\n"},
		"note": "comma",
		"obj":  map[string]any{"a": []any{int64(1), 2.5, "x"}, "b": map[string]any{"c": nil}},
		"n":    int64(7),
		"list": []any{nil, true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, tt := range []struct {
		err  error
		want string
	}{
		{ParseSetFile(map[string]any{}, "a=/nope", read), `--set-file "a=/nope": cannot read /nope`},
		{ParseSetFile(map[string]any{}, "a=", read), "no file name"},
		{ParseSetJSON(map[string]any{}, "a={x"), "not JSON"},
		{ParseSetJSON(map[string]any{}, "a=1 2"), "must end at a comma"},
		{ParseSetJSON(map[string]any{}, "a="), "no JSON value"},
	} {
		var se *SetError
		if !errors.As(tt.err, &se) || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("error %v, want a *SetError containing %q", tt.err, tt.want)
		}
	}
}
