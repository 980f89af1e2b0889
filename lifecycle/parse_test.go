package lifecycle

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func b64(s string) string    { return base64.StdEncoding.EncodeToString([]byte(s)) }
func b64url(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
func b64raw(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

func TestLastLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"\n\n  \n", ""},
		{"a\nb\n", "b"},
		{"a\nb\n\n   \n\t\n", "b"},
		{"a\r\nb\r\n", "b"},
		{"  only  ", "only"},
	}
	for _, tt := range tests {
		if got := LastLine(tt.in); got != tt.want {
			t.Errorf("LastLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseCreate(t *testing.T) {
	meta := `{"backend_metadata": {"cpu": 1, "zone": "a"}, "endpoints": [{"name": "ssh", "url": "ssh://10.0.0.1"}, {"name": "web", "url": "https://vm.example"}]}`
	// A URL-safe encoding that differs from the standard one ('?' encodes to '/' or '_').
	urlMeta := `{"backend_metadata": {"q": "???>>>"}}`
	if !strings.ContainsAny(b64url(urlMeta), "-_") {
		t.Fatalf("the URL-safe test input %q must use - or _", b64url(urlMeta))
	}
	tests := []struct {
		name    string
		output  string
		want    *CreateOutput
		wantErr string // substring; "" for no error
	}{
		{name: "empty output gives an empty backend id", output: "", want: &CreateOutput{}},
		{name: "blank output gives an empty backend id", output: "\n  \n\t\n", want: &CreateOutput{}},
		{name: "one token is the backend id", output: "creating…\nvm-12345abcd\n", want: &CreateOutput{BackendID: "vm-12345abcd"}},
		{name: "last non-empty line counts", output: "12345abcd\n\n\n", want: &CreateOutput{BackendID: "12345abcd"}},
		{name: "earlier lines are ignored", output: "null\na b c\nid-1", want: &CreateOutput{BackendID: "id-1"}},
		{name: "two tokens: id and metadata with endpoints", output: "log line\nid-2 " + b64(meta) + "\n",
			want: &CreateOutput{BackendID: "id-2", BackendMetadata: map[string]any{"cpu": 1.0, "zone": "a"},
				Endpoints: []Endpoint{{Name: "ssh", URL: "ssh://10.0.0.1"}, {Name: "web", URL: "https://vm.example"}}}},
		{name: "metadata only", output: "id " + b64(`{"backend_metadata": {"cpu": 1}}`), want: &CreateOutput{BackendID: "id", BackendMetadata: map[string]any{"cpu": 1.0}}},
		{name: "endpoints only", output: "id " + b64(`{"endpoints": [{"name": "a", "url": "u"}]}`), want: &CreateOutput{BackendID: "id", Endpoints: []Endpoint{{Name: "a", URL: "u"}}}},
		{name: "a single endpoint object is accepted", output: "id " + b64(`{"endpoints": {"name": "a", "url": "u"}}`), want: &CreateOutput{BackendID: "id", Endpoints: []Endpoint{{Name: "a", URL: "u"}}}},
		{name: "an empty object is fine", output: "id " + b64(`{}`), want: &CreateOutput{BackendID: "id"}},
		{name: "unknown keys are ignored", output: "id " + b64(`{"other": 1}`), want: &CreateOutput{BackendID: "id"}},
		{name: "null metadata is nothing", output: "id " + b64(`{"backend_metadata": null, "endpoints": null}`), want: &CreateOutput{BackendID: "id"}},
		{name: "url-safe base64", output: "id " + b64url(urlMeta), want: &CreateOutput{BackendID: "id", BackendMetadata: map[string]any{"q": "???>>>"}}},
		{name: "unpadded base64", output: "id " + b64raw(`{"backend_metadata": {"a": 1}}`), want: &CreateOutput{BackendID: "id", BackendMetadata: map[string]any{"a": 1.0}}},
		{name: "tabs separate tokens", output: "id\t" + b64(`{}`), want: &CreateOutput{BackendID: "id"}},
		{name: "first token null is an error", output: "null", wantErr: "printed null"},
		{name: "first token null with metadata is an error", output: "null " + b64(`{}`), wantErr: "printed null"},
		{name: "three tokens", output: "a b c", wantErr: "unexpected structure of output"},
		{name: "a sentence", output: "Resource has been created successfully", wantErr: "unexpected structure of output"},
		{name: "second token not base64", output: "id not*base64", wantErr: "is not base64"},
		{name: "base64 of a python dict repr", output: "id " + b64(`{'backend_metadata': {'cpu': 1}}`), wantErr: "not of JSON"},
		{name: "base64 of a JSON list", output: "id " + b64(`[1]`), wantErr: "not of an object"},
		{name: "python 2 b'' repr is not base64", output: "id b'eyJ9'", wantErr: "is not base64"},
		{name: "backend_metadata not an object", output: "id " + b64(`{"backend_metadata": [1]}`), wantErr: "backend_metadata in the metadata must be a JSON object, not a list"},
		{name: "endpoints not a list", output: "id " + b64(`{"endpoints": "x"}`), wantErr: "endpoints in the metadata must be a list"},
		{name: "endpoint without url", output: "id " + b64(`{"endpoints": [{"name": "a"}]}`), wantErr: "endpoints[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCreate(tt.output)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCreate(%q) = %+v, %v; want an error with %q", tt.output, got, err, tt.wantErr)
				}
				if _, ok := err.(*OutputError); !ok {
					t.Errorf("error is %T, want *OutputError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCreate(%q): %v", tt.output, err)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("ParseCreate(%q) (-want +got):\n%s", tt.output, d)
			}
		})
	}
}

func TestParsePull(t *testing.T) {
	tests := []struct {
		name     string
		output   string
		want     *PullOutput
		warnings []string // substrings, one per warning, in order
	}{
		{name: "usages list", output: "x\n" + b64(`{"usages": [{"type": "cpu", "amount": 10}, {"type": "ram", "amount": 2.5}]}`),
			want: &PullOutput{HasUsages: true, Usages: []Usage{{"cpu", 10}, {"ram", 2.5}}}},
		{name: "usages as one object, as the seed shows", output: b64(`{"usages": {"type": "cpu", "amount": 10}}`),
			want: &PullOutput{HasUsages: true, Usages: []Usage{{"cpu", 10}}}},
		{name: "report list", output: b64(`{"report": [{"header": "h1", "body": "b1"}, {"header": "h2", "body": "b2"}]}`),
			want: &PullOutput{HasReport: true, Report: []ReportSection{{"h1", "b1"}, {"h2", "b2"}}}},
		{name: "report as one object, as the seed shows", output: b64(`{"report": {"header": "header", "body": "body"}}`),
			want: &PullOutput{HasReport: true, Report: []ReportSection{{"header", "body"}}}},
		{name: "both", output: b64(`{"usages": [{"type": "cpu", "amount": 1}], "report": [{"header": "h", "body": "b"}]}`),
			want: &PullOutput{HasUsages: true, Usages: []Usage{{"cpu", 1}}, HasReport: true, Report: []ReportSection{{"h", "b"}}}},
		{name: "empty lists are recorded as empty", output: b64(`{"usages": [], "report": []}`),
			want: &PullOutput{HasUsages: true, Usages: []Usage{}, HasReport: true, Report: []ReportSection{}}},
		{name: "amount as a numeric text", output: b64(`{"usages": {"type": "cpu", "amount": "3.5"}}`),
			want: &PullOutput{HasUsages: true, Usages: []Usage{{"cpu", 3.5}}}},
		{name: "url-safe and unpadded", output: base64.RawURLEncoding.EncodeToString([]byte(`{"report": {"header": "???", "body": ">>>"}}`)),
			want: &PullOutput{HasReport: true, Report: []ReportSection{{"???", ">>>"}}}},
		{name: "trailing blank lines", output: b64(`{"usages": []}`) + "\n\n \n", want: &PullOutput{HasUsages: true, Usages: []Usage{}}},
		{name: "no output", output: "", want: &PullOutput{}, warnings: []string{"printed nothing"}},
		{name: "not base64", output: "all good", want: &PullOutput{}, warnings: []string{"several words"}},
		{name: "one word, not base64", output: "done!", want: &PullOutput{}, warnings: []string{"is not base64"}},
		{name: "base64 of a dict repr", output: b64(`{'usages': []}`), want: &PullOutput{}, warnings: []string{"not of JSON"}},
		{name: "base64 of a list", output: b64(`[]`), want: &PullOutput{}, warnings: []string{"not of an object"}},
		{name: "neither key", output: b64(`{"usage": []}`), want: &PullOutput{}, warnings: []string{"neither usages nor report (keys: usage)"}},
		{name: "usages not a list", output: b64(`{"usages": 5, "report": {"header": "h", "body": "b"}}`),
			want: &PullOutput{HasReport: true, Report: []ReportSection{{"h", "b"}}}, warnings: []string{"usages must be a list of objects (or one object), not a number"}},
		{name: "bad usage items are skipped, good ones kept", output: b64(`{"usages": [{"type": "cpu", "amount": 1}, {"amount": 2}, {"type": "ram"}, {"type": "gpu", "amount": "x"}, 7]}`),
			want:     &PullOutput{HasUsages: true, Usages: []Usage{{"cpu", 1}}},
			warnings: []string{"usages[1] has no type", "usages[2] (type \"ram\") has no amount", "usages[3] (type \"gpu\") has an amount that is not a number", "usages[4] must be an object"}},
		{name: "bad report item", output: b64(`{"report": [{"header": "h", "body": "b"}, "text"]}`),
			want: &PullOutput{HasReport: true, Report: []ReportSection{{"h", "b"}}}, warnings: []string{"report[1] must be an object with text header and body, not a text"}},
		{name: "report not a list", output: b64(`{"report": "x"}`), want: &PullOutput{}, warnings: []string{"report must be a list"}},
		{name: "unknown key", output: b64(`{"usages": [], "extra": 1}`), want: &PullOutput{HasUsages: true, Usages: []Usage{}}, warnings: []string{`unknown key "extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParsePull(tt.output)
			warnings := got.Warnings
			got.Warnings = nil
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParsePull(%q) (-want +got):\n%s", tt.output, d)
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d matching %q", warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, warnings[i], w)
				}
			}
		})
	}
}

// FuzzParseCreate checks the create parser never panics and that what it
// accepts follows the rules: one or two tokens, never "null", and the id is
// the first token of the last non-empty line.
func FuzzParseCreate(f *testing.F) {
	f.Add("")
	f.Add("id")
	f.Add("null")
	f.Add("a b c")
	f.Add("id " + b64(`{"backend_metadata": {"a": 1}, "endpoints": [{"name": "n", "url": "u"}]}`))
	f.Add("id " + b64(`{"endpoints": {"url": 1}}`))
	f.Add("x\n\nid " + b64url(`{"backend_metadata": null}`) + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCreate(s)
		if (got == nil) == (err == nil) {
			t.Fatalf("ParseCreate(%q) = %v, %v: want exactly one of result and error", s, got, err)
		}
		tokens := strings.Fields(LastLine(s))
		if err != nil {
			if len(tokens) == 0 {
				t.Fatalf("ParseCreate(%q): error %v for empty output", s, err)
			}
			return
		}
		switch len(tokens) {
		case 0:
			if got.BackendID != "" {
				t.Fatalf("ParseCreate(%q).BackendID = %q for empty output", s, got.BackendID)
			}
		case 1, 2:
			if got.BackendID != tokens[0] || got.BackendID == "null" {
				t.Fatalf("ParseCreate(%q).BackendID = %q, want %q", s, got.BackendID, tokens[0])
			}
		default:
			t.Fatalf("ParseCreate(%q) accepted %d tokens", s, len(tokens))
		}
		if _, err := json.Marshal(got); err != nil && utf8.ValidString(s) {
			t.Fatalf("the result does not encode: %v", err)
		}
	})
}

// FuzzParsePull checks the pull parser never panics, always returns a
// result, and records nothing without saying why.
func FuzzParsePull(f *testing.F) {
	f.Add("")
	f.Add("not base64")
	f.Add(b64(`{"usages": [{"type": "cpu", "amount": 10}], "report": {"header": "h", "body": "b"}}`))
	f.Add(b64(`{"usages": {"type": "cpu", "amount": "1e3"}}`))
	f.Add(b64(`{"usages": [1, null, {"type": ""}]}`))
	f.Fuzz(func(t *testing.T, s string) {
		got := ParsePull(s)
		if got == nil {
			t.Fatal("nil result")
		}
		if !got.HasUsages && !got.HasReport && len(got.Warnings) == 0 {
			t.Fatalf("ParsePull(%q) recorded nothing and gave no warning", s)
		}
		if len(got.Usages) > 0 && !got.HasUsages || len(got.Report) > 0 && !got.HasReport {
			t.Fatalf("ParsePull(%q) = %+v: items without the key", s, got)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("the result does not encode: %v", err)
		}
	})
}
