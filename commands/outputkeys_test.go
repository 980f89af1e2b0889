package commands

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
)

// Every type that -o json and -o yaml print has the same keys in both:
// each is filled in completely (every field, nested ones too), written
// both ways as writeStructured writes them, and the key paths compared.
func TestJSONAndYAMLUseTheSameKeys(t *testing.T) {
	for _, v := range []any{
		action.ScriptSummary{},        // list
		store.Script{},                // show, render -o
		deckView{},                    // deck list, deck show
		store.LibraryRef{},            // library list
		lifecycleView{},               // lifecycle list, lifecycle show
		renderedDefinition{},          // render -o
		resourceRow{},                 // resource list
		lifecycle.Resource{},          // resource show, a --dry-run's record
		history.Record{},              // runs, runs show
		kube.TeamRecord{},             // runs --cluster, runs show of a team record
		action.ContainerManifest{},    // render --pod on a Docker deck
		[]history.TransferRecord{},    // (a list)
		map[string]store.Credential{}, // (a map of structs)
	} {
		p := reflect.New(reflect.TypeOf(v))
		fill(p.Elem(), 0)
		if rd, ok := p.Interface().(*renderedDefinition); ok {
			var s store.Script
			fill(reflect.ValueOf(&s).Elem(), 0)
			rd.Definition = s
		}
		var jb, yb strings.Builder
		if err := writeStructured(&jb, outputJSON, p.Interface()); err != nil {
			t.Fatalf("%T as JSON: %v", v, err)
		}
		if err := writeStructured(&yb, outputYAML, p.Interface()); err != nil {
			t.Fatalf("%T as YAML: %v", v, err)
		}
		var j, y any
		if err := json.Unmarshal([]byte(jb.String()), &j); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal([]byte(yb.String()), &y); err != nil {
			t.Fatal(err)
		}
		jk, yk := keyPaths("", j), keyPaths("", y)
		if strings.Join(jk, " ") != strings.Join(yk, " ") {
			t.Errorf("%T: JSON and YAML keys differ:\n only JSON: %v\n only YAML: %v", v, minus(jk, yk), minus(yk, jk))
		}
		if len(jk) < 2 {
			t.Errorf("%T: filled in, it has only the keys %v", v, jk)
		}
	}
}

// fill sets every settable field of v, recursively, to a value that is not
// empty (so that omitempty keeps it).
func fill(v reflect.Value, depth int) {
	if depth > 6 {
		return
	}
	if v.Type() == reflect.TypeOf(time.Time{}) {
		v.Set(reflect.ValueOf(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		if v.NumMethod() == 0 {
			v.Set(reflect.ValueOf("x"))
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	}
}

// keyPaths are the paths of every key of a decoded document, sorted
// (a.b, a.list[].c).
func keyPaths(prefix string, v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			out = append(out, prefix+k)
			out = append(out, keyPaths(prefix+k+".", e)...)
		}
	case []any:
		for _, e := range v {
			out = append(out, keyPaths(strings.TrimSuffix(prefix, ".")+"[].", e)...)
		}
	}
	sort.Strings(out)
	return dedup(out)
}

func dedup(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}
