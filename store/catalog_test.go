package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// twoLibraries makes libraries "org" and "mine" with overlapping names.
func twoLibraries(t *testing.T) (*Config, string, string) {
	t.Helper()
	org, mine := t.TempDir(), t.TempDir()
	writeFiles(t, org, map[string]string{
		"db-dump.yaml":       script("db-dump"),
		"shared.yaml":        script("shared"),
		"broken.yaml":        "name: broken\nimage: shell\ninterpreter: zsh\nscript: x\n",
		"decks/staging.yaml": "namespace: org-staging\n",
		"decks/prod.yaml":    "namespace: prod\n",
	})
	writeFiles(t, mine, map[string]string{
		"hello.yaml":         script("hello"),
		"shared.yaml":        script("shared"),
		"decks/staging.yaml": "namespace: my-staging\n",
		"decks/local.yaml":   "namespace: local\n",
		"decks/only.yaml":    "namespace: only\n",
	})
	writeFiles(t, org, map[string]string{"decks/only.yaml": "namespace: org-only\n"})
	cfg := &Config{Libraries: []LibraryRef{{Name: "org", Path: org}, {Name: "mine", Path: mine}}}
	return cfg, org, mine
}

func TestCatalogScript(t *testing.T) {
	cfg, _, _ := twoLibraries(t)
	c, err := OpenCatalog(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref     string
		wantLib string
		wantErr func(error) string // returns "" when err is as expected
	}{
		{ref: "db-dump", wantLib: "org"},
		{ref: "hello", wantLib: "mine"},
		{ref: "org/shared", wantLib: "org"},
		{ref: "mine/shared", wantLib: "mine"},
		{ref: "shared", wantErr: func(err error) string {
			var ae *AmbiguousError
			if !errors.As(err, &ae) || !cmp.Equal(ae.Libraries, []string{"org", "mine"}) {
				return "want *AmbiguousError for org and mine"
			}
			if !strings.Contains(err.Error(), "use LIB/NAME, e.g. org/shared") {
				return "want the message to say use LIB/NAME"
			}
			return ""
		}},
		{ref: "helo", wantErr: func(err error) string {
			var nf *NotFoundError
			if !errors.As(err, &nf) || !errors.Is(err, ErrNotFound) || nf.What != "script" {
				return "want a script *NotFoundError"
			}
			if !cmp.Equal(nf.Suggestions, []string{"hello"}) {
				return "want the suggestion hello"
			}
			return ""
		}},
		{ref: "org/hello", wantErr: func(err error) string {
			if !errors.Is(err, ErrNotFound) {
				return "want ErrNotFound: hello is not in org"
			}
			return ""
		}},
		{ref: "nolib/hello", wantErr: func(err error) string {
			var nf *NotFoundError
			if !errors.As(err, &nf) || nf.What != "library" {
				return "want a library *NotFoundError"
			}
			return ""
		}},
		{ref: "broken", wantErr: func(err error) string {
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), `interpreter "zsh" is not supported`) {
				return "want the *ValidationError of broken.yaml"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			s, err := c.Script(tt.ref)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Script(%q) = %s, want an error", tt.ref, s.Name)
				}
				if msg := tt.wantErr(err); msg != "" {
					t.Fatalf("Script(%q) error = %v (%T): %s", tt.ref, err, err, msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Script(%q): %v", tt.ref, err)
			}
			if s.Source.Library != tt.wantLib {
				t.Errorf("Script(%q) is from %q, want %q", tt.ref, s.Source.Library, tt.wantLib)
			}
		})
	}
}

func TestCatalogDeck(t *testing.T) {
	cfg, _, _ := twoLibraries(t)
	c, err := OpenCatalog(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := c.Script("hello") // in mine
	if err != nil {
		t.Fatal(err)
	}
	dump, err := c.Script("db-dump") // in org
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		script *Script
		ref    string
		wantNS string
		wantIs error
	}{
		{"own library first", hello, "staging", "my-staging", nil},
		{"own library first, other library", dump, "staging", "org-staging", nil},
		{"found in the other library", dump, "local", "local", nil},
		{"found in the other library too", hello, "prod", "prod", nil},
		{"explicit library", hello, "org/staging", "org-staging", nil},
		{"unknown", hello, "stagin", "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := c.DeckFor(tt.script, tt.ref)
			if tt.wantIs != nil {
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("DeckFor(%q) error = %v, want %v", tt.ref, err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatalf("DeckFor(%q): %v", tt.ref, err)
			}
			if d.Namespace != tt.wantNS {
				t.Errorf("DeckFor(%q) namespace = %q, want %q", tt.ref, d.Namespace, tt.wantNS)
			}
		})
	}
	var ae *AmbiguousError
	if _, err := c.Deck("staging"); !errors.As(err, &ae) || ae.What != "deck" {
		t.Errorf("Deck(staging) error = %v, want an *AmbiguousError", err)
	}
	var nf *NotFoundError
	if _, err := c.Deck("stagin"); !errors.As(err, &nf) || !cmp.Equal(nf.Suggestions, []string{"staging"}) {
		t.Errorf("Deck(stagin) error = %v, want a suggestion of staging", err)
	}
}

func TestCatalogLists(t *testing.T) {
	cfg, _, _ := twoLibraries(t)
	c, err := OpenCatalog(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.Scripts() {
		got = append(got, s.Source.Library+"/"+s.Name+"="+c.Ref(s))
	}
	want := []string{"org/db-dump=db-dump", "mine/hello=hello", "org/shared=org/shared", "mine/shared=mine/shared"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scripts (-want +got):\n%s", diff)
	}
	got = nil
	for _, d := range c.Decks() {
		got = append(got, d.Source.Library+"/"+d.Name)
	}
	want = []string{"mine/local", "org/only", "mine/only", "org/prod", "org/staging", "mine/staging"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decks (-want +got):\n%s", diff)
	}
	if len(c.Problems()) != 1 || c.Err() == nil {
		t.Errorf("Problems() = %v, want the one of broken.yaml", c.Problems())
	}
}

func TestOpenCatalogMissingLibrary(t *testing.T) {
	cfg, org, _ := twoLibraries(t)
	if err := os.RemoveAll(org); err != nil {
		t.Fatal(err)
	}
	_, err := OpenCatalog(cfg)
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.What != "library" || nf.Name != "org" {
		t.Fatalf("err = %v, want a *NotFoundError for library org", err)
	}
	if !strings.Contains(err.Error(), filepath.Clean(org)) || !strings.Contains(err.Error(), "cscript init") {
		t.Errorf("err = %q, want it to name the directory and cscript init", err)
	}
	cfg.Libraries[0].URL = "https://example.invalid/org.git"
	_, err = OpenCatalog(cfg)
	if err == nil || !strings.Contains(err.Error(), "cscript library add org https://example.invalid/org.git") {
		t.Errorf("err = %v, want it to say how to clone again", err)
	}
}

// EditDistance is the one distance of every "did you mean": a swap of two
// neighbours is one edit, as a typo is.
func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"run", "run", 0},
		{"rnu", "run", 1},
		{"rnu", "rm", 2},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"hlelo", "hello", 1},
		{"ça", "aç", 1},
		{"ca", "abc", 3},
	} {
		if got := EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
