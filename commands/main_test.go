package commands

import (
	"context"
	"os"
	"testing"
)

// TestMain lets the test binary stand in for cscript: tests that need a
// real process (a shell completing, a pseudo-terminal) run it again with
// CSCRIPT_TEST_AS_CLI=1 (or CSCRIPT_TEST_AS_CSCRIPT=1), signals handled
// as main.go handles them.
func TestMain(m *testing.M) {
	if os.Getenv("CSCRIPT_TEST_AS_CLI") == "1" || os.Getenv("CSCRIPT_TEST_AS_CSCRIPT") == "1" {
		ctx, force, _ := HandleSignals(context.Background()) // caught until exit, as in main.go
		code := Main(ctx, BuildInfo{Version: "test", Force: force}, os.Args, os.Stdin, os.Stdout, os.Stderr)
		os.Exit(code)
	}
	os.Exit(m.Run())
}
