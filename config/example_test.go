package config_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/neighborbot/neighborbot/config"
)

const examplePath = "../config.example.yaml"

// The example an operator copies must load, validate and describe exactly the demo, so what
// they see on first start is what they find in the file.
func TestExampleIsTheDemo(t *testing.T) {
	c, err := config.Load(env(nil), examplePath)
	if err != nil {
		t.Fatalf("config.example.yaml does not load:\n%v", err)
	}
	got, want := marshal(t, c), marshal(t, config.Demo())
	if got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := at(gl, i), at(wl, i)
			if g != w {
				t.Fatalf("config.example.yaml differs from Demo() at line %d of their YAML:\n example: %q\n demo:    %q", i+1, g, w)
			}
		}
	}
}

func marshal(t *testing.T, c *config.Config) string {
	t.Helper()
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end>"
}

// Every key the config understands is shown in the example, set or (for keys the demo cannot
// use, like a WeCom robot key on a local group) in a commented-out sample.
func TestExampleShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	exampleKeys(t, doc.Content[0], reflect.TypeFor[config.Config](), used)

	known := map[string]bool{}
	structKeys(reflect.TypeFor[config.Config](), known)

	for k := range used {
		if !known[k] {
			t.Errorf("example uses %s, which the config does not know", k)
		}
	}
	var missing []string
	for k := range known {
		if used[k] {
			continue
		}
		name := k[strings.Index(k, ".")+1:]
		commented := regexp.MustCompile(`(?m)^\s*#\s*(- )?` + regexp.QuoteMeta(name) + `:`)
		if !commented.Match(data) {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	for _, k := range missing {
		t.Errorf("config.example.yaml does not show %s", k)
	}
}

// structKeys collects "Type.key" for every YAML key reachable from t.
func structKeys(t reflect.Type, into map[string]bool) {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for f := range t.Fields() {
		key := yamlKey(f)
		if key == "" {
			continue
		}
		k := t.Name() + "." + key
		if into[k] {
			continue // recursive types (OrgNode.children)
		}
		into[k] = true
		structKeys(f.Type, into)
	}
}

// exampleKeys collects "Type.key" for every key present in the YAML node, read as type t.
func exampleKeys(tb testing.TB, n *yaml.Node, t reflect.Type, into map[string]bool) {
	tb.Helper()
	switch {
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for _, item := range n.Content {
			exampleKeys(tb, item, t.Elem(), into)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			into[t.Name()+"."+key] = true
			for f := range t.Fields() {
				if yamlKey(f) == key {
					exampleKeys(tb, n.Content[i+1], f.Type, into)
				}
			}
		}
	}
}

func yamlKey(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	return name
}
