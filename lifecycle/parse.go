package lifecycle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Endpoint is an address of a created resource, from the create output.
type Endpoint struct {
	Name string `json:"name" yaml:"name"`
	URL  string `json:"url" yaml:"url"`
}

// CreateOutput is what a create script's last line says.
type CreateOutput struct {
	BackendID       string         `json:"backend_id" yaml:"backend_id"`
	BackendMetadata map[string]any `json:"backend_metadata,omitempty" yaml:"backend_metadata,omitempty"`
	Endpoints       []Endpoint     `json:"endpoints,omitempty" yaml:"endpoints,omitempty"`
}

// Usage is one usage report of a pull script.
type Usage struct {
	Type   string  `json:"type" yaml:"type"`
	Amount float64 `json:"amount" yaml:"amount"`
}

// ReportSection is one section of a resource report from a pull script.
type ReportSection struct {
	Header string `json:"header" yaml:"header"`
	Body   string `json:"body" yaml:"body"`
}

// PullOutput is what a pull script's last line says. A key that is absent
// leaves what was recorded before; Warnings name everything that was wrong
// with the line (a bad line is never a failed pull).
type PullOutput struct {
	Usages    []Usage         `json:"usages,omitempty" yaml:"usages,omitempty"`
	HasUsages bool            `json:"-" yaml:"-"`
	Report    []ReportSection `json:"report,omitempty" yaml:"report,omitempty"`
	HasReport bool            `json:"-" yaml:"-"`
	Warnings  []string        `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// OutputError is a create output that breaks the convention.
type OutputError struct {
	Line    string // the last non-empty line, as it was
	Message string
}

func (e *OutputError) Error() string {
	line := e.Line
	if len(line) > 80 {
		line = line[:77] + "..."
	}
	if line == "" {
		return e.Message
	}
	return fmt.Sprintf("%s (last line: %q)", e.Message, line)
}

// LastLine is the last line of output that is not blank, without surrounding
// white space.
func LastLine(output string) string {
	lines := strings.Split(output, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// ParseCreate reads the output of a create script: its last non-empty line
// is one token (the backend id) or two (the backend id and a base64-encoded
// JSON object with backend_metadata and endpoints). No output means an empty
// backend id. A first token "null" and more than two tokens are errors, as is
// a second token that is not base64 of such an object. Errors are *OutputError.
func ParseCreate(output string) (*CreateOutput, error) {
	line := LastLine(output)
	tokens := strings.Fields(line)
	out := &CreateOutput{}
	switch {
	case len(tokens) == 0:
		return out, nil
	case tokens[0] == "null":
		return nil, &OutputError{Line: line, Message: "the create script printed null as the backend id: print the id of what it created"}
	case len(tokens) > 2:
		return nil, &OutputError{Line: line, Message: fmt.Sprintf("unexpected structure of output: the last line has %d words; print the backend id, optionally followed by base64-encoded JSON metadata", len(tokens))}
	}
	out.BackendID = tokens[0]
	if len(tokens) == 1 {
		return out, nil
	}
	obj, err := decodeObject(tokens[1])
	if err != nil {
		return nil, &OutputError{Line: line, Message: "the metadata after the backend id " + err.Error()}
	}
	for _, k := range sortedKeys(obj) {
		raw := obj[k]
		switch k {
		case "backend_metadata":
			if isJSONNull(raw) {
				continue
			}
			if err := json.Unmarshal(raw, &out.BackendMetadata); err != nil || out.BackendMetadata == nil {
				return nil, &OutputError{Line: line, Message: "backend_metadata in the metadata must be a JSON object, not " + jsonKind(raw)}
			}
		case "endpoints":
			if isJSONNull(raw) {
				continue
			}
			items, err := listOrObject(raw)
			if err != nil {
				return nil, &OutputError{Line: line, Message: "endpoints in the metadata " + err.Error()}
			}
			for i, it := range items {
				var ep struct {
					Name *string `json:"name" yaml:"name"`
					URL  *string `json:"url" yaml:"url"`
				}
				if err := json.Unmarshal(it, &ep); err != nil || ep.URL == nil {
					return nil, &OutputError{Line: line, Message: fmt.Sprintf("endpoints[%d] in the metadata must be an object with a text url (and name), not %s", i, jsonKind(it))}
				}
				e := Endpoint{URL: *ep.URL}
				if ep.Name != nil {
					e.Name = *ep.Name
				}
				out.Endpoints = append(out.Endpoints, e)
			}
		}
	}
	return out, nil
}

// ParsePull reads the output of a pull script: its last non-empty line is a
// base64-encoded JSON object with "usages" (a list of {type, amount}) and/or
// "report" (a list of {header, body}); a single object is accepted where a
// list is expected. What is wrong becomes a warning, and what is right is
// still returned.
func ParsePull(output string) *PullOutput {
	out := &PullOutput{}
	warn := func(format string, args ...any) { out.Warnings = append(out.Warnings, fmt.Sprintf(format, args...)) }
	line := LastLine(output)
	if line == "" {
		warn("the pull script printed nothing: nothing recorded")
		return out
	}
	if strings.ContainsAny(line, " \t") {
		warn("the last line of the pull output is several words, not one base64 text: nothing recorded")
		return out
	}
	obj, err := decodeObject(line)
	if err != nil {
		warn("the last line of the pull output %s: nothing recorded", err)
		return out
	}
	if _, ok := obj["usages"]; !ok {
		if _, ok := obj["report"]; !ok {
			warn("the pull output has neither usages nor report (keys: %s): nothing recorded", strings.Join(sortedKeys(obj), ", "))
			return out
		}
	}
	for _, k := range sortedKeys(obj) {
		raw := obj[k]
		switch k {
		case "usages":
			items, err := listOrObject(raw)
			if err != nil {
				warn("usages %s: usages not recorded", err)
				continue
			}
			out.HasUsages = true
			out.Usages = []Usage{}
			for i, it := range items {
				u, err := decodeUsage(it)
				if err != nil {
					warn("usages[%d] %s: skipped", i, err)
					continue
				}
				out.Usages = append(out.Usages, u)
			}
		case "report":
			items, err := listOrObject(raw)
			if err != nil {
				warn("report %s: report not recorded", err)
				continue
			}
			out.HasReport = true
			out.Report = []ReportSection{}
			for i, it := range items {
				var s struct {
					Header *string `json:"header" yaml:"header"`
					Body   *string `json:"body" yaml:"body"`
				}
				if err := json.Unmarshal(it, &s); err != nil || (s.Header == nil && s.Body == nil) {
					warn("report[%d] must be an object with text header and body, not %s: skipped", i, jsonKind(it))
					continue
				}
				var sec ReportSection
				if s.Header != nil {
					sec.Header = *s.Header
				}
				if s.Body != nil {
					sec.Body = *s.Body
				}
				out.Report = append(out.Report, sec)
			}
		default:
			warn("the pull output has an unknown key %q: ignored (known keys: usages, report)", k)
		}
	}
	return out
}

func decodeUsage(raw json.RawMessage) (Usage, error) {
	var u struct {
		Type   *string         `json:"type" yaml:"type"`
		Amount json.RawMessage `json:"amount" yaml:"amount"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return Usage{}, fmt.Errorf("must be an object with type and amount, not %s", jsonKind(raw))
	}
	if u.Type == nil || *u.Type == "" {
		return Usage{}, errors.New("has no type (a text such as \"cpu\")")
	}
	if len(u.Amount) == 0 || isJSONNull(u.Amount) {
		return Usage{}, fmt.Errorf("(type %q) has no amount", *u.Type)
	}
	var n float64
	if err := json.Unmarshal(u.Amount, &n); err != nil {
		var s string
		if json.Unmarshal(u.Amount, &s) != nil || json.Unmarshal([]byte(strings.TrimSpace(s)), &n) != nil {
			return Usage{}, fmt.Errorf("(type %q) has an amount that is not a number: %s", *u.Type, jsonKind(u.Amount))
		}
	}
	return Usage{Type: *u.Type, Amount: n}, nil
}

// decodeObject decodes base64 (standard or URL-safe, padded or not) of a
// JSON object. Its errors complete "the … ".
func decodeObject(token string) (map[string]json.RawMessage, error) {
	data, err := decodeBase64(token)
	if err != nil {
		return nil, errors.New("is not base64: encode it with base64.b64encode(json.dumps(m).encode()).decode()")
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&obj); err != nil || obj == nil {
		if !json.Valid(data) {
			return nil, errors.New("is base64 but not of JSON: encode json.dumps(m), not str(m)")
		}
		return nil, fmt.Errorf("is base64 of JSON %s, not of an object", jsonKind(data))
	}
	if dec.More() {
		return nil, errors.New("is base64 of more than one JSON value: encode one object")
	}
	return obj, nil
}

func decodeBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// listOrObject returns the items of a JSON list, or an object as a list of one.
func listOrObject(raw json.RawMessage) ([]json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '{' {
		return []json.RawMessage{raw}, nil
	}
	var items []json.RawMessage
	if len(t) == 0 || t[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, fmt.Errorf("must be a list of objects (or one object), not %s", jsonKind(raw))
	}
	return items, nil
}

func isJSONNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// jsonKind names the kind of a JSON value, for messages.
func jsonKind(raw []byte) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a text"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
