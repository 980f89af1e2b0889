package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testToken = "s3cr3t-t0k3n-42"

// secretScript adds tok, a script with a required secret param.
func (e *env) secretScript() {
	e.t.Helper()
	body := "name: tok\nimage: debian\ninterpreter: sh\nparams:\n  - name: token\n    secret: true\n    required: true\n    pattern: \"s3cr3t-.*\"\n" +
		"script: |\n  curl -H \"Authorization: Bearer {{ .Params.token }}\" https://example.com\n"
	if err := os.WriteFile(filepath.Join(e.lib(), "tok.yaml"), []byte(body), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// render shows a secret param's value as *** (in the script and in -o yaml)
// unless --show-secrets asks for it.
func TestRenderMasksSecretParams(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.secretScript()
	for _, args := range [][]string{{}, {"-o", "yaml"}, {"-o", "json"}} {
		args = append([]string{"render", "tok", "--deck", "local", "--set", "token=" + testToken}, args...)
		r := e.mustRun(args...)
		if strings.Contains(r.out, testToken) || !strings.Contains(r.out, "Bearer ***") {
			t.Errorf("%s:\n%s\nwant the token masked", strings.Join(args, " "), r.out)
		}
		r = e.mustRun(append(args, "--show-secrets")...)
		if !strings.Contains(r.out, "Bearer "+testToken) {
			t.Errorf("%s --show-secrets:\n%s\nwant the token shown", strings.Join(args, " "), r.out)
		}
	}
}

// A secret param typed at the prompt: a wrong answer is not repeated back.
func TestSecretPromptDoesNotRepeatTheAnswer(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.secretScript()
	r := e.runTTY("wrong-answer-1\n"+testToken+"\n", "render", "tok", "--deck", "local")
	if r.code != 0 || strings.Contains(r.err, "wrong-answer-1") || strings.Count(r.err, "token") < 2 {
		t.Errorf("exit %d, stderr %q; want the param asked again without the wrong answer", r.code, r.err)
	}
}
