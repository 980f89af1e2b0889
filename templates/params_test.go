package templates

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cscript-dev/cscript/store"
)

func TestConvertValue(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "dump.sql.gz")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(unreadable, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	canReadAnyway := os.Geteuid() == 0 // root reads mode-000 files

	str := store.Param{Name: "s"}
	num := store.Param{Name: "n", Type: store.ParamInt}
	boo := store.Param{Name: "b", Type: store.ParamBool}
	fil := store.Param{Name: "f", Type: store.ParamFile}
	enu := store.Param{Name: "e", Type: store.ParamEnum, Values: []string{"full", "schema"}}
	pat := store.Param{Name: "db", Pattern: `[a-z][a-z0-9_]*`}
	intPat := store.Param{Name: "port", Type: store.ParamInt, Pattern: `[0-9]{4}`}
	sec := store.Param{Name: "pw", Secret: true, Pattern: `[a-z]+`}

	tests := []struct {
		name    string
		p       store.Param
		raw     any
		want    any
		wantErr string // substring; "" means success
	}{
		{"string", str, "hello", "hello", ""},
		{"string from int", str, int64(42), "42", ""},
		{"string from float", str, 1.5, "1.5", ""},
		{"string from bool", str, true, "true", ""},
		{"string from map", str, map[string]any{"a": 1}, nil, "param s: value \"map[a:1]\": is a map; expected a string"},
		{"int from int64", num, int64(7), int64(7), ""},
		{"int from int", num, 7, int64(7), ""},
		{"int from whole float", num, 3.0, int64(3), ""},
		{"int from fractional float", num, 3.5, nil, `param n: value "3.5": expected an integer`},
		{"int from digits", num, "0042", int64(42), ""},
		{"int from negative digits", num, "-5", int64(-5), ""},
		{"int from word", num, "many", nil, `param n: value "many": expected an integer`},
		{"int from hex", num, "0x10", nil, "expected an integer"},
		{"int from bool", num, true, nil, "expected an integer"},
		{"bool", boo, true, true, ""},
		{"bool from string", boo, "false", false, ""},
		{"bool from yes", boo, "Yes", true, ""},
		{"bool from 1", boo, int64(1), true, ""},
		{"bool from other", boo, "maybe", nil, `param b: value "maybe": expected true or false`},
		{"file", fil, file, file, ""},
		{"file missing", fil, filepath.Join(dir, "nope"), nil, "no such file; give the path of a readable local file"},
		{"file is dir", fil, dir, nil, "is a directory, not a file"},
		{"file not regular", fil, "/dev/null", nil, "is not a regular file"},
		{"enum", enu, "schema", "schema", ""},
		{"enum other", enu, "data", nil, `param e: value "data": expected one of full, schema`},
		{"pattern ok", pat, "app_1", "app_1", ""},
		{"pattern must match whole", pat, "app-1; rm -rf /", nil, "does not match the pattern [a-z][a-z0-9_]*"},
		{"pattern on int", intPat, int64(80), nil, `param port: value "80": does not match`},
		{"secret redacted", sec, "Hunter2", nil, `param pw: value "***": does not match`},
		{"bad pattern", store.Param{Name: "x", Pattern: "("}, "a", nil, "is not a valid regular expression"},
		{"unknown type", store.Param{Name: "x", Type: "float"}, "1", nil, `unknown type "float"`},
	}
	if !canReadAnyway {
		tests = append(tests, struct {
			name    string
			p       store.Param
			raw     any
			want    any
			wantErr string
		}{"file unreadable", fil, unreadable, nil, "cannot be read: permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConvertValue(tt.p, tt.raw)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ConvertValue(%v) error: %v", tt.raw, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ConvertValue(%v) (-want +got):\n%s", tt.raw, diff)
				}
				return
			}
			var pe *ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("ConvertValue(%v) = %v, %v; want a *ParamError", tt.raw, got, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "Hunter2") {
				t.Errorf("error shows a secret value: %q", err)
			}
		})
	}
}

func TestConvertParam(t *testing.T) {
	p := store.Param{Name: "n", Type: store.ParamInt, Required: true}
	if v, err := ConvertParam(p, "12"); err != nil || v != int64(12) {
		t.Errorf("ConvertParam(12) = %v, %v", v, err)
	}
	if _, err := ConvertParam(p, ""); err == nil || !strings.Contains(err.Error(), "param n: a value is required; expected an integer") {
		t.Errorf("ConvertParam(\"\") = %v", err)
	}
	if _, err := ConvertParam(p, "x"); err == nil {
		t.Errorf("ConvertParam(x) succeeded")
	}
}

func TestResolveParams(t *testing.T) {
	s := &store.Script{Name: "db-restore", Params: []store.Param{
		{Name: "dbname", Required: true},
		{Name: "jobs", Type: store.ParamInt, Default: 4},
		{Name: "clean", Type: store.ParamBool},
		{Name: "mode", Type: store.ParamEnum, Values: []string{"full", "schema"}, Default: "full"},
		{Name: "note"},
		{Name: "password", Secret: true, Default: "s3cret"},
	}}
	tests := []struct {
		name        string
		values      map[string]any
		want        map[string]any
		wantSecrets []string
	}{
		{
			name:        "defaults and zero values",
			values:      map[string]any{"dbname": "app"},
			want:        map[string]any{"dbname": "app", "jobs": int64(4), "clean": false, "mode": "full", "note": "", "password": "s3cret"},
			wantSecrets: []string{"s3cret"},
		},
		{
			name: "values override defaults, converted",
			values: Layers(map[string]any{"dbname": "lib"}, map[string]any{"dbname": "deck", "jobs": 2},
				nil, map[string]any{"jobs": "8", "clean": true, "mode": "schema", "note": int64(5), "password": "pw"}),
			want:        map[string]any{"dbname": "deck", "jobs": int64(8), "clean": true, "mode": "schema", "note": "5", "password": "pw"},
			wantSecrets: []string{"pw"},
		},
		{
			name:   "empty optional is unset, null falls back to default",
			values: map[string]any{"dbname": "a", "jobs": nil, "note": "", "password": ""},
			want:   map[string]any{"dbname": "a", "jobs": int64(4), "clean": false, "mode": "full", "note": "", "password": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, secrets, err := ResolveParams(s, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSecrets, secrets); diff != "" {
				t.Errorf("secrets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveParamsErrors(t *testing.T) {
	s := &store.Script{Name: "x", Params: []store.Param{
		{Name: "a", Required: true},
		{Name: "b", Required: true},
		{Name: "n", Type: store.ParamInt},
		{Name: "e", Type: store.ParamEnum, Values: []string{"x"}},
		{Name: "pw", Secret: true, Pattern: "[0-9]+"},
	}}

	// Only missing params: a *MissingParamsError listing all of them.
	_, _, err := ResolveParams(s, map[string]any{"b": ""})
	var missing *MissingParamsError
	if !errors.As(err, &missing) {
		t.Fatalf("err = %v, want *MissingParamsError", err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, missing.Names); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	if want := "missing required params a, b: give --set a=VALUE --set b=VALUE, or add a: VALUE and b: VALUE to the deck's values"; err.Error() != want {
		t.Errorf("message = %q\nwant %q", err, want)
	}

	// Invalid values: every one is listed, missing params named too, and the
	// error is not a *MissingParamsError (prompting would not help).
	_, _, err = ResolveParams(s, map[string]any{"a": "ok", "n": "ten", "e": "y", "pw": "letmein"})
	var pes *ParamErrors
	if !errors.As(err, &pes) {
		t.Fatalf("err = %v, want *ParamErrors", err)
	}
	if errors.As(err, &missing) {
		t.Errorf("a *ParamErrors unwraps to *MissingParamsError")
	}
	var names []string
	for _, pe := range pes.Errors {
		names = append(names, pe.Param)
	}
	if diff := cmp.Diff([]string{"n", "e", "pw"}, names); diff != "" {
		t.Errorf("params with errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b"}, pes.Missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Param != "n" {
		t.Errorf("errors.As(*ParamError) = %v", pe)
	}
	if strings.Contains(err.Error(), "letmein") {
		t.Errorf("error shows a secret: %s", err)
	}
	for _, want := range []string{`param n: value "ten": expected an integer`, `param e: value "y": expected one of x`, `param pw: value "***"`, "missing required param b"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
