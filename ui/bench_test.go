package ui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/store"
)

// benchScript is a generated definition (the shape of tools/bench's).
const benchScript = `name: gen-%04[1]d
description: Generated script number %[1]d for the benchmark.
image: postgres
interpreter: bash
params:
  - name: database
    default: app
  - name: mode
    type: enum
    values: [fast, safe]
    default: safe
tags: [database, generated]
script: |
  echo "dumping {{ .Params.database }} ({{ .Params.mode }})"
`

// BenchmarkScriptsPage is the scripts page of a 1,000-script library, the
// server's side (the request does not leave the process).
func BenchmarkScriptsPage(b *testing.B) {
	root := b.TempDir()
	for k, v := range map[string]string{"HOME": root, "XDG_CONFIG_HOME": filepath.Join(root, "config"), "XDG_DATA_HOME": filepath.Join(root, "data"),
		"XDG_STATE_HOME": filepath.Join(root, "state"), "XDG_CACHE_HOME": filepath.Join(root, "cache")} {
		b.Setenv(k, v)
	}
	lib := filepath.Join(root, "data", "cscript", "library")
	for i := range 1000 {
		dir := filepath.Join(lib, fmt.Sprintf("group-%d", i%10))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("gen-%04d.yaml", i))
		if err := os.WriteFile(p, fmt.Appendf(nil, benchScript, i), 0o644); err != nil {
			b.Fatal(err)
		}
		// Not just written: the load cache keeps files that are older
		// than the racy window, as in a library that was synced before.
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			b.Fatal(err)
		}
	}
	srv, err := New(Config{Paths: store.DefaultPaths})
	if err != nil {
		b.Fatal(err)
	}
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		srv.scriptsPage(w, httptest.NewRequest("GET", "/scripts", nil))
		return w
	}
	if w := get(); w.Code != http.StatusOK || strings.Count(w.Body.String(), "gen-") < 1000 {
		b.Fatalf("scripts page: %d, %d scripts", w.Code, strings.Count(w.Body.String(), "gen-"))
	}
	b.ResetTimer()
	for b.Loop() {
		get()
	}
}
