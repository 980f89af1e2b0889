package templates

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

// ParamError is one param whose value is not acceptable.
type ParamError struct {
	Param   string
	Value   string // the offending value as text; "***" for a secret param
	Message string // what is expected
}

func (e *ParamError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("param %s: %s", e.Param, e.Message)
	}
	return fmt.Sprintf("param %s: value %q: %s", e.Param, e.Value, e.Message)
}

// Kind is fail.Invalid.
func (e *ParamError) Kind() fail.Kind { return fail.Invalid }

// MissingParamsError lists every required param that has no value and no
// default. A command on a terminal prompts for them (see ConvertParam) and
// resolves again; elsewhere it is the error to report.
type MissingParamsError struct {
	Names []string
}

func (e *MissingParamsError) Error() string {
	var sets, keys []string
	for _, n := range e.Names {
		sets = append(sets, "--set "+n+"=VALUE")
		keys = append(keys, n+": VALUE")
	}
	noun := "param"
	if len(e.Names) > 1 {
		noun = "params"
	}
	add := keys[len(keys)-1]
	if len(keys) > 1 {
		add = strings.Join(keys[:len(keys)-1], ", ") + " and " + add
	}
	return fmt.Sprintf("missing required %s %s: give %s, or add %s to the deck's values",
		noun, strings.Join(e.Names, ", "), strings.Join(sets, " "), add)
}

// Kind is fail.Invalid.
func (e *MissingParamsError) Kind() fail.Kind { return fail.Invalid }

// ParamErrors is every invalid param of one ResolveParams call, and the names
// of required params that were missing at the same time. It unwraps to the
// *ParamError values only, so errors.As(err, **MissingParamsError) is true only
// when missing params are the sole problem (and prompting can fix it).
type ParamErrors struct {
	Errors  []*ParamError
	Missing []string
}

func (e *ParamErrors) Error() string {
	msgs := make([]string, 0, len(e.Errors)+1)
	for _, pe := range e.Errors {
		msgs = append(msgs, pe.Error())
	}
	if len(e.Missing) > 0 {
		msgs = append(msgs, (&MissingParamsError{Names: e.Missing}).Error())
	}
	return strings.Join(msgs, "\n")
}

// Kind is fail.Invalid.
func (e *ParamErrors) Kind() fail.Kind { return fail.Invalid }

// Unwrap returns the *ParamError values.
func (e *ParamErrors) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, pe := range e.Errors {
		errs[i] = pe
	}
	return errs
}

// ResolveParams gives every declared param of s its typed value:
// values[param.Name] when present and not nil, else param.Default, else (for
// an optional param) the zero value of its type ("" or 0 or false); an empty
// string counts as no value. Values are
// converted and checked as ConvertValue does. It returns the params, the text
// of every non-empty secret param value (to redact), and either nil, a
// *MissingParamsError (only required params are missing), or a *ParamErrors
// (some values are invalid; all of them are listed).
func ResolveParams(s *store.Script, values map[string]any) (map[string]any, []string, error) {
	params := make(map[string]any, len(s.Params))
	var secrets []string
	var errs []*ParamError
	var missing []string
	for _, p := range s.Params {
		raw, ok := values[p.Name]
		if !ok || raw == nil {
			raw = p.Default
		}
		if raw == nil || raw == "" {
			if p.Required {
				missing = append(missing, p.Name)
			} else {
				params[p.Name] = zeroValue(p) // an empty optional param is unset
			}
			continue
		}
		v, err := ConvertValue(p, raw)
		if err != nil {
			var pe *ParamError
			if errors.As(err, &pe) {
				errs = append(errs, pe)
				continue
			}
			return nil, nil, err
		}
		params[p.Name] = v
		if p.Secret {
			if t := paramText(v); t != "" {
				secrets = append(secrets, t)
			}
		}
	}
	switch {
	case len(errs) > 0:
		return nil, nil, &ParamErrors{Errors: errs, Missing: missing}
	case len(missing) > 0:
		return nil, nil, &MissingParamsError{Names: missing}
	}
	return params, secrets, nil
}

func zeroValue(p store.Param) any {
	switch paramType(p) {
	case store.ParamInt:
		return int64(0)
	case store.ParamBool:
		return false
	default:
		return ""
	}
}

func paramType(p store.Param) string {
	if p.Type == "" {
		return store.ParamString
	}
	return p.Type
}

// ConvertParam converts and checks one answer typed at a prompt. An empty
// answer is an error for a required param.
func ConvertParam(p store.Param, raw string) (any, error) {
	if raw == "" && p.Required {
		return nil, &ParamError{Param: p.Name, Message: "a value is required; " + expected(p)}
	}
	return ConvertValue(p, raw)
}

// ConvertValue converts a value from any layer (YAML, --set, a prompt) to the
// param's type and checks it: string (any scalar, as text), int (an integer,
// a float without a fraction, or a string of digits; as int64), bool (true or
// false, yes/no, on/off, 1/0), file (the path of an existing, readable, regular
// local file), enum (one of p.Values). Pattern, when set, must match the whole
// value as text. Errors are *ParamError and never show a secret value.
func ConvertValue(p store.Param, raw any) (any, error) {
	bad := func(format string, args ...any) error {
		val := paramText(raw)
		if p.Secret && val != "" {
			val = "***"
		}
		return &ParamError{Param: p.Name, Value: val, Message: fmt.Sprintf(format, args...)}
	}
	var v any
	switch t := paramType(p); t {
	case store.ParamString, store.ParamFile, store.ParamEnum:
		s, ok := scalarText(raw)
		if !ok {
			return nil, bad("is a %s; %s", kindName(raw), expected(p))
		}
		v = s
		switch t {
		case store.ParamFile:
			if err := checkFile(s); err != nil {
				return nil, bad("%v; give the path of a readable local file", err)
			}
		case store.ParamEnum:
			if !contains(p.Values, s) {
				return nil, bad("%s", expected(p))
			}
		}
	case store.ParamInt:
		i, ok := toInt(raw)
		if !ok {
			return nil, bad("%s", expected(p))
		}
		v = i
	case store.ParamBool:
		b, ok := toBool(raw)
		if !ok {
			return nil, bad("%s", expected(p))
		}
		v = b
	default:
		return nil, &ParamError{Param: p.Name, Message: fmt.Sprintf("has unknown type %q; use one of string, int, bool, file, enum", p.Type)}
	}
	if p.Pattern != "" {
		re, err := regexp.Compile(`^(?:` + p.Pattern + `)$`)
		if err != nil {
			return nil, &ParamError{Param: p.Name, Message: fmt.Sprintf("pattern %q is not a valid regular expression: %v; fix it in the script definition", p.Pattern, err)}
		}
		if !re.MatchString(paramText(v)) {
			return nil, bad("does not match the pattern %s", p.Pattern)
		}
	}
	return v, nil
}

// expected says what a param accepts.
func expected(p store.Param) string {
	switch paramType(p) {
	case store.ParamInt:
		return "expected an integer"
	case store.ParamBool:
		return "expected true or false"
	case store.ParamFile:
		return "expected the path of a local file"
	case store.ParamEnum:
		if len(p.Values) == 0 {
			return "expected one of the enum's values, but the definition lists none; add values to the param"
		}
		return "expected one of " + strings.Join(p.Values, ", ")
	default:
		return "expected a string"
	}
}

func checkFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such file")
		}
		return fmt.Errorf("cannot be read: %w", unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return errors.New("is a directory, not a file")
		}
		return errors.New("is not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot be read: %w", unwrapPath(err))
	}
	return f.Close()
}

// unwrapPath drops the *PathError's path (the message already shows it).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalarText is the text of a string, number or bool.
func scalarText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	case int:
		return strconv.Itoa(t), true
	case int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(t), true
	case float32:
		return strconv.FormatFloat(float64(t), 'f', -1, 32), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	}
	return "", false
}

// paramText is a value as text, for patterns, secrets and messages.
func paramText(v any) string {
	if s, ok := scalarText(v); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func kindName(v any) string {
	switch v.(type) {
	case map[string]any, map[any]any:
		return "map"
	case []any, []string:
		return "list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func toInt(v any) (int64, bool) {
	switch t := v.(type) {
	case int:
		return int64(t), true
	case int8:
		return int64(t), true
	case int16:
		return int64(t), true
	case int32:
		return int64(t), true
	case int64:
		return t, true
	case uint:
		return int64(t), uint64(t) <= math.MaxInt64
	case uint8:
		return int64(t), true
	case uint16:
		return int64(t), true
	case uint32:
		return int64(t), true
	case uint64:
		return int64(t), t <= math.MaxInt64
	case float32:
		return toInt(float64(t))
	case float64:
		if t != math.Trunc(t) || t < math.MinInt64 || t >= math.MaxInt64 || math.IsNaN(t) {
			return 0, false
		}
		return int64(t), true
	case string:
		s := strings.TrimSpace(t)
		digits := strings.TrimLeft(s, "+-")
		if digits == "" || len(s)-len(digits) > 1 || strings.Trim(digits, "0123456789") != "" {
			return 0, false
		}
		i, err := strconv.ParseInt(s, 10, 64)
		return i, err == nil
	}
	return 0, false
}

func toBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case int, int64:
		i, _ := toInt(t)
		switch i {
		case 0:
			return false, true
		case 1:
			return true, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true", "yes", "on", "1":
			return true, true
		case "false", "no", "off", "0":
			return false, true
		}
	}
	return false, false
}
