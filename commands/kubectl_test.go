package commands

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// kubectl's --context, -n/--namespace and --kubeconfig go behind the
// command words, wherever the user put them; a command that cannot take
// them is told so.
func TestPluginArgs(t *testing.T) {
	app := newApp(BuildInfo{}, strings.NewReader(""), io.Discard, io.Discard).cli()
	for _, tc := range []struct{ in, want, err string }{
		{in: "run hello -n team", want: "run hello -n team"},
		{in: "-n team --context=prod run hello --set a=b", want: "run -n team --context=prod hello --set a=b"},
		{in: "--kube-verbosity 6 --namespace team resource create r1", want: "--kube-verbosity 6 resource create --namespace team r1"},
		{in: "--kubeconfig /k runs attach ID", want: "runs attach --kubeconfig /k ID"},
		{in: "-n x runs attach ID", err: "cscript runs attach takes no -n"},
		{in: "-n team list", err: "cscript list takes no -n"},
		{in: "-n team", err: "cscript without a command takes no -n"},
	} {
		args := append([]string{"/usr/local/bin/kubectl-cscript"}, strings.Fields(tc.in)...)
		got, err := pluginArgs(app, args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) == 0 || !slices.Equal(got[1:], strings.Fields(tc.want)) {
			t.Errorf("%q → %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for in, want := range map[string]bool{"kubectl-cscript": true, "/p/kubectl-cscript.exe": true, "cscript": false, "/bin/kubectl-cscript-x": false} {
		if isKubectlPlugin([]string{in}) != want {
			t.Errorf("isKubectlPlugin(%q) = %v", in, !want)
		}
	}
}
