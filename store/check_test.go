package store

import (
	"strings"
	"testing"
)

func TestCheckScriptReportsPositions(t *testing.T) {
	good := "name: ok\nimage: debian\ninterpreter: bash\nscript: echo hi\n"
	if s, ps := CheckScript("lib/ok.yaml", []byte(good)); len(ps) != 0 || s == nil || s.Name != "ok" || s.Source.Body != "echo hi" {
		t.Fatalf("a valid definition: %v, %+v", ps, s)
	}
	bad := "name: ok\nimage: debian\ninterpreter: bash\nparams:\n  - name: n\n    type: integer\nscript: echo hi\n"
	_, ps := CheckScript("lib/ok.yaml", []byte(bad))
	if len(ps) != 1 || ps[0].Line != 6 || ps[0].File != "lib/ok.yaml" || !strings.Contains(ps[0].Message, "integer") {
		t.Fatalf("an unknown param type on line 6: %v", ps)
	}
	_, ps = CheckScript("lib/ok.yaml", []byte("name: ok\n  image: [\n"))
	if len(ps) == 0 || ps[0].Line == 0 {
		t.Fatalf("a YAML syntax error: %v, want a problem with its line", ps)
	}
}
