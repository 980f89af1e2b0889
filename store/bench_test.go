package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// generatedScript is a realistic definition of about 40 lines.
const generatedScript = `# generated script %[1]d
name: gen-%04[1]d
description: Generated script number %[1]d for the benchmark.
image: postgres
interpreter: bash
author: Bench Mark <bench@example.com>
created: 2024-05-01T12:00:00Z
modified: 2024-05-02T12:00:00Z
serviceAccount: runner
credentials:
  - name: PGPASSWORD
    secret: {name: db-credentials, key: password}
  - name: API_TOKEN
    fromEnv: API_TOKEN
params:
  - name: database
    type: string
    default: app
    pattern: "[a-z_]+"
  - name: jobs
    type: int
    default: 4
  - name: mode
    type: enum
    values: [fast, safe]
    default: safe
files:
  download:
    - from: /tmp/out-{{ .Params.database }}.dump
      to: ./out.dump
env:
  LOG_LEVEL: info
timeout: 10m
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {cpu: "1", memory: 512Mi}
tags: [database, generated]
script: |
  set -euo pipefail
  echo "dumping {{ .Params.database }}"
  pg_dump -j {{ .Params.jobs }} {{ .Params.database | shellquote }} > /tmp/out.dump
`

// writeGeneratedLibrary writes n scripts (in 10 folders) and two decks below dir.
func writeGeneratedLibrary(tb testing.TB, dir string, n int) {
	tb.Helper()
	for i := 0; i < n; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("group-%d", i%10))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("gen-%04d.yaml", i)), []byte(fmt.Sprintf(generatedScript, i)), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, DecksDir), 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, d := range []string{"local", "staging"} {
		if err := os.WriteFile(filepath.Join(dir, DecksDir, d+".yaml"), []byte("namespace: "+d+"\nvalues: {a: 1}\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestGeneratedLibraryIsValid(t *testing.T) {
	dir := t.TempDir()
	writeGeneratedLibrary(t, dir, 50)
	ix, err := LoadLibrary("gen", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ix.Scripts) != 50 || len(ix.Decks) != 2 {
		t.Fatalf("got %d scripts and %d decks, want 50 and 2", len(ix.Scripts), len(ix.Decks))
	}
}

// BenchmarkLoadLibrary1000 loads a generated library of 1,000 scripts,
// parsing every file.
func BenchmarkLoadLibrary1000(b *testing.B) {
	benchmarkLoad(b, LoadOptions{}, false)
}

// BenchmarkLoadLibrary1000Cached loads it with a warm load cache.
func BenchmarkLoadLibrary1000Cached(b *testing.B) {
	benchmarkLoad(b, LoadOptions{CacheDir: b.TempDir()}, true)
}

func benchmarkLoad(b *testing.B, opts LoadOptions, warm bool) {
	dir := b.TempDir()
	writeGeneratedLibrary(b, dir, 1000)
	if warm {
		ageFiles(b, dir, -time.Hour)
		if _, err := LoadLibraryWith("gen", dir, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		ix, err := LoadLibraryWith("gen", dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(ix.Scripts) != 1000 || len(ix.Problems) != 0 {
			b.Fatalf("got %d scripts, %d problems", len(ix.Scripts), len(ix.Problems))
		}
	}
	// CPU time is steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
}

// ageFiles moves the modification time of every file below dir by d, so the
// load cache does not treat them as just written.
func ageFiles(tb testing.TB, dir string, d time.Duration) {
	tb.Helper()
	err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		t := fi.ModTime().Add(d)
		return os.Chtimes(p, t, t)
	})
	if err != nil {
		tb.Fatal(err)
	}
}
