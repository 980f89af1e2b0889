package commands

import (
	"flag"
	"io"
	"strconv"

	"github.com/urfave/cli/v2"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"

	"github.com/cscript-dev/cscript/redact"
)

// flagKubeVerbosity is client-go's log level (kubectl's -v). It is a global
// flag: `cscript --kube-verbosity 8 run …` (also accepted after the command).
var flagKubeVerbosity = &cli.IntFlag{
	Name:    "kube-verbosity",
	Usage:   "client-go's log verbosity `N` on stderr, like kubectl -v (6: requests, 8: request and response bodies, 10: everything); secrets are redacted",
	EnvVars: []string{"CSCRIPT_KUBE_VERBOSITY"},
}

// kubeLogging routes klog (client-go's logger) through w, redacted by secrets,
// at verbosity v, and returns a function that flushes what the redactor holds
// back and restores klog's defaults.
//
// klog is process-global; cscript runs one command per process. It is routed
// even at verbosity 0, because client-go logs some errors and warnings at
// every level, and at 8 and above it logs request and response bodies, among
// them the run Secret's data: every line must pass the redactor.
func kubeLogging(v int, w io.Writer, secrets *redact.Redactor) (restore func()) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	// klog.V checks (and client-go's debugging round tripper, chosen when a
	// transport is built) use klog's own level; contextual loggers use the
	// textlogger's.
	_ = fs.Set("v", strconv.Itoa(v))
	out := secrets.Writer(w)
	logger := textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(v), textlogger.Output(out)))
	klog.SetLoggerWithOptions(logger, klog.ContextualLogger(true))
	return func() {
		klog.Flush()
		klog.ClearLogger()
		_ = fs.Set("v", "0")
		_ = out.Close()
	}
}
