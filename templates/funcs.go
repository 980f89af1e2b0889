package templates

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// removedFuncs are sprig functions that read the machine rendering the
// template, so a template renders the same everywhere (Helm removes the same;
// Helm also turns getHostByName off unless DNS is enabled).
var removedFuncs = []string{"env", "expandenv", "getHostByName"}

// FuncMap is sprig's text functions without env, expandenv and getHostByName,
// plus shellquote and required.
func FuncMap() template.FuncMap {
	m := sprig.TxtFuncMap()
	for _, name := range removedFuncs {
		delete(m, name)
	}
	m["shellquote"] = ShellQuote
	m["required"] = required
	return m
}

// ShellQuote quotes each argument as one POSIX shell word in single quotes
// ('it'\”s'), so the shell takes it literally: no expansion, no word
// splitting, no command substitution. Strings, numbers and bools are one word;
// a list (or array) is its elements quoted and joined with spaces; nil is ”.
// A NUL byte is an error: no shell word can hold one.
func ShellQuote(args ...any) (string, error) {
	var words []string
	for _, a := range args {
		w, err := quoteValue(a)
		if err != nil {
			return "", err
		}
		words = append(words, w...)
	}
	return strings.Join(words, " "), nil
}

func quoteValue(a any) ([]string, error) {
	if a == nil {
		return []string{"''"}, nil
	}
	if s, ok := a.(string); ok {
		w, err := quoteString(s)
		return []string{w}, err
	}
	if s, ok := scalarText(a); ok {
		w, err := quoteString(s)
		return []string{w}, err
	}
	rv := reflect.ValueOf(a)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if b, ok := a.([]byte); ok {
			w, err := quoteString(string(b))
			return []string{w}, err
		}
		var words []string
		for i := 0; i < rv.Len(); i++ {
			w, err := quoteValue(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			words = append(words, w...)
		}
		return words, nil
	case reflect.Map, reflect.Struct, reflect.Func, reflect.Chan:
		return nil, fmt.Errorf("shellquote cannot quote a %s; quote its entries one by one", rv.Kind())
	}
	if s, ok := a.(fmt.Stringer); ok {
		w, err := quoteString(s.String())
		return []string{w}, err
	}
	w, err := quoteString(fmt.Sprint(a))
	return []string{w}, err
}

func quoteString(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", errors.New("shellquote: the value holds a NUL byte, which no shell word can hold")
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
}

// required returns val, or an error with msg when val is nil or "" (Helm's
// required). With missingkey=error an absent map key fails before required
// runs; write `required "msg" (index .Values "key")` to give your own message.
func required(msg string, val any) (any, error) {
	if val == nil {
		return nil, errors.New(msg)
	}
	if s, ok := val.(string); ok && s == "" {
		return val, errors.New(msg)
	}
	return val, nil
}
