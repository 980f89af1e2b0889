package templates

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// shells are the POSIX shells the quoting is proven against; /bin/sh must exist.
func shells(t *testing.T) []string {
	t.Helper()
	out := []string{"/bin/sh"}
	seen := map[string]bool{}
	if p, err := filepath.EvalSymlinks("/bin/sh"); err == nil {
		seen[filepath.Base(p)] = true
	}
	for _, sh := range []string{"bash", "dash"} {
		if p, err := exec.LookPath(sh); err == nil && !seen[sh] {
			out = append(out, p)
		}
	}
	return out
}

// runShell runs `sh -c script` in dir and returns its stdout.
func runShell(t *testing.T, sh, dir, script string) string {
	t.Helper()
	cmd := exec.Command(sh, "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -c %q: %v", sh, script, err)
	}
	return string(out)
}

func TestShellQuoteInShell(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "pwned")
	hostile := []string{
		"",
		"plain",
		"it's",
		"'",
		"''",
		`"`,
		`\`,
		`\'`,
		"'\\''",
		"$(touch " + marker + ")",
		"`touch " + marker + "`",
		"; touch " + marker,
		"| touch " + marker,
		"&& touch " + marker,
		"' ; touch " + marker + " ; '",
		"'$(touch " + marker + ")'",
		"\"$(touch " + marker + ")\"",
		"x\ntouch " + marker + "\n",
		"$HOME ${HOME} $0 $$ $? $@ $*",
		"*", "?", "[a-z]", "~", "~root",
		"a b\tc",
		"> " + marker,
		"< /etc/passwd",
		"#not a comment",
		"!!",
		"{a,b}",
		"grüße 日本語 🚀",
		"\x01\x7f\xff\xfe",
		"%s %d %%",
		"-n",
		"--",
		"\r\n",
	}
	for _, sh := range shells(t) {
		for _, s := range hostile {
			q, err := ShellQuote(s)
			if err != nil {
				t.Fatalf("ShellQuote(%q): %v", s, err)
			}
			got := runShell(t, sh, dir, "printf %s "+q)
			if got != s {
				t.Errorf("%s: printf %%s %s printed %q, want %q", sh, q, got, s)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("%s: quoting %q ran a command (the marker file exists)", sh, s)
			}
		}
	}
}

func TestShellQuoteRandomInShell(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab '\"\\$`;|&()<>*?[]{}~#!\n\t\r%-=\xc3\xa9\xff")
	for i := 0; i < 150; i++ {
		b := make([]byte, rng.IntN(24))
		for j := range b {
			if rng.IntN(4) == 0 {
				b[j] = byte(1 + rng.IntN(255))
			} else {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		s := string(b)
		q, err := ShellQuote(s)
		if err != nil {
			t.Fatalf("ShellQuote(%q): %v", s, err)
		}
		if got := runShell(t, "/bin/sh", dir, "printf %s "+q); got != s {
			t.Fatalf("printf %%s %s printed %q, want %q", q, got, s)
		}
	}
}

func TestShellQuoteValues(t *testing.T) {
	tests := []struct {
		name string
		args []any
		want string
	}{
		{"string", []any{"a b"}, "'a b'"},
		{"quote", []any{"it's"}, `'it'\''s'`},
		{"empty", []any{""}, "''"},
		{"nil", []any{nil}, "''"},
		{"int64", []any{int64(-42)}, "'-42'"},
		{"int", []any{7}, "'7'"},
		{"float", []any{1.5}, "'1.5'"},
		{"bool", []any{true}, "'true'"},
		{"list", []any{[]any{"a b", int64(1), false}}, "'a b' '1' 'false'"},
		{"string list", []any{[]string{"x", "y'z"}}, `'x' 'y'\''z'`},
		{"empty list", []any{[]any{}}, ""},
		{"several args", []any{"a", []any{"b", "c"}}, "'a' 'b' 'c'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ShellQuote(tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ShellQuote(%#v) = %s, want %s", tt.args, got, tt.want)
			}
		})
	}
	// A list becomes separate words in the shell.
	q, _ := ShellQuote([]any{"a b", "$(x)", "c"})
	if got := runShell(t, "/bin/sh", t.TempDir(), "printf '<%s>' "+q); got != "<a b><$(x)><c>" {
		t.Errorf("list words = %q", got)
	}
	for _, bad := range []any{"a\x00b", map[string]any{"a": 1}, []any{"ok", "\x00"}} {
		if q, err := ShellQuote(bad); err == nil {
			t.Errorf("ShellQuote(%q) = %s, want an error", bad, q)
		}
	}
}

func execTemplate(t *testing.T, text string, data any) (string, error) {
	t.Helper()
	tpl, err := template.New("t").Option("missingkey=error").Funcs(FuncMap()).Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = tpl.Execute(&b, data)
	return b.String(), err
}

func TestFuncMapHermetic(t *testing.T) {
	t.Setenv("CSCRIPT_TEST_SECRET", "leaked")
	m := FuncMap()
	for _, name := range []string{"env", "expandenv", "getHostByName"} {
		if _, ok := m[name]; ok {
			t.Errorf("FuncMap has %s", name)
		}
	}
	for _, name := range []string{"shellquote", "required", "quote", "squote", "default", "dig", "b64enc", "upper"} {
		if _, ok := m[name]; !ok {
			t.Errorf("FuncMap lacks %s", name)
		}
	}
	for _, text := range []string{`{{ env "CSCRIPT_TEST_SECRET" }}`, `{{ expandenv "$CSCRIPT_TEST_SECRET" }}`} {
		out, err := execTemplate(t, text, nil)
		if err == nil || !strings.Contains(err.Error(), "not defined") {
			t.Errorf("%s = %q, %v; want a 'not defined' error", text, out, err)
		}
	}
}

func TestRequired(t *testing.T) {
	data := map[string]any{"Values": map[string]any{"set": "x", "empty": "", "zero": int64(0)}}
	tests := []struct {
		text, want, wantErr string
	}{
		{`{{ required "need set" .Values.set }}`, "x", ""},
		{`{{ required "need zero" .Values.zero }}`, "0", ""},
		{`{{ required "set empty with --set empty=X" .Values.empty }}`, "", "set empty with --set empty=X"},
		{`{{ required "need absent" (index .Values "absent") }}`, "", "need absent"},
		{`{{ .Values.set | required "piped" }}`, "x", ""},
	}
	for _, tt := range tests {
		got, err := execTemplate(t, tt.text, data)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("%s = %q, %v; want %q", tt.text, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s = %q, %v; want error %q", tt.text, got, err, tt.wantErr)
		}
	}
}
