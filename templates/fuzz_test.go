package templates

import (
	"errors"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/store"
)

// FuzzParseSet: any expression parses or fails with a *SetError; never panics.
// A successful parse of an expression is also stable when parsed again.
func FuzzParseSet(f *testing.F) {
	for _, seed := range []string{
		"a=b", "a.b.c=d,e=1", `a\.b=c\,d`, "l[0]=x,l[3].k=true", "m[1][2]=null", "l={a,b,3}", "l={}",
		"a", "=", ",", "a..b=c", "l[-1]=x", "l[99999999999]=x", `a=\`, "l[0", "l={a", "a[0]x", "ü=日本",
		strings.Repeat("a.", 300) + "b=c", strings.Repeat("l[0]", 300) + "=x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		dst := map[string]any{}
		err := ParseSet(dst, expr)
		if err != nil {
			var se *SetError
			if !errors.As(err, &se) || se.Expr != expr {
				t.Fatalf("ParseSet(%q) error %v is not a *SetError for the expression", expr, err)
			}
			return
		}
		again := map[string]any{}
		if err := ParseSet(again, expr); err != nil {
			t.Fatalf("second parse of %q failed: %v", expr, err)
		}
		if err := ParseSetString(map[string]any{}, expr); err != nil {
			t.Fatalf("ParseSetString(%q) failed where ParseSet succeeded: %v", expr, err)
		}
		_ = Merge(dst, again)
	})
}

// FuzzRender: any body, image and value render or fail with an error value;
// never panics; secret values never appear in errors.
func FuzzRender(f *testing.F) {
	for _, seed := range []struct{ body, image, value string }{
		{"echo {{ .Values.x | shellquote }}", "alpine", "hi"},
		{"{{ .Values.missing.deep }}", "{{ .Values.x }}", "x"},
		{"{{ env `HOME` }}", "alpine", ""},
		{"{{ fail .Params.pw }}", "alpine", "secret"},
		{"{{ range until 3 }}{{ . }}{{ end }}", "{{", "'"},
		{"{{ define \"x\" }}{{ template \"x\" }}{{ end }}{{ template \"x\" }}", "alpine", "a"},
		{"{{ .Deck.Nope }}", "", "\x00"},
		{"{{ required \"need it\" .Values.x }}", "{{ .Params.pw }}", ""},
	} {
		f.Add(seed.body, seed.image, seed.value)
	}
	f.Fuzz(func(t *testing.T, body, image, value string) {
		s := &store.Script{
			Name:   "fuzz",
			Image:  image,
			Params: []store.Param{{Name: "pw", Secret: true}},
			Env:    map[string]string{"E": body},
			Source: store.Source{Body: body, BodyPath: "fuzz.sh", BodyLine: 3},
		}
		secret := "S3CR3T-" + value
		data := Data{
			Params: map[string]any{"pw": secret},
			Values: map[string]any{"x": value, "l": []any{value, int64(1)}},
		}
		r, err := Render(s, map[string]string{"alpine": "alpine:3"}, data)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
			return
		}
		if r == nil || r.Script == nil {
			t.Fatalf("Render returned no result and no error")
		}
	})
}
