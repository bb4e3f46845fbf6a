package verify

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// strictYAML walks a YAML node alongside the Go type it decodes into (by
// the types' yaml tags) and reports, at the node, every key the type does
// not have and every value of the wrong kind: all of them, where a strict
// decoder stops or reports them as text. A type with its own UnmarshalYAML
// judges its node itself: the node is decoded alone into it.
func strictYAML(n *yaml.Node, t reflect.Type, report func(n *yaml.Node, msg string)) {
	strictWalk(n, t, "", report, 0)
}

func strictWalk(n *yaml.Node, t reflect.Type, at string, report func(*yaml.Node, string), depth int) {
	if n == nil || depth > 100 {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
		if n == nil {
			return
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "Node" && strings.HasSuffix(t.PkgPath(), "yaml/v3") || t.Kind() == reflect.Interface {
		return // a raw node, or anything
	}
	if _, ok := reflect.PointerTo(t).MethodByName("UnmarshalYAML"); ok {
		// A type with its own decoder judges its node: decode it alone.
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			name := at
			if name == "" {
				name = "(top level)"
			}
			report(n, name+": "+strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // null is the zero value of every type
	}
	name := at
	if name == "" {
		name = "(top level)"
	}
	want := func(kind string) {
		report(n, fmt.Sprintf("%s: want %s, got %s", name, kind, yamlKindName(n)))
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			want("a mapping")
			return
		}
		fields := yamlFields(t)
		for k, v := range yamlnode.Pairs(n) {
			f, ok := fields[k.Value]
			if !ok {
				report(k, fmt.Sprintf("%s: unknown key %q", name, k.Value))
				continue
			}
			strictWalk(v, f.Type, join(at, k.Value), report, depth+1)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			want("a mapping")
			return
		}
		for k, v := range yamlnode.Pairs(n) {
			strictWalk(v, t.Elem(), join(at, k.Value), report, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			want("a list")
			return
		}
		for i, c := range n.Content {
			strictWalk(c, t.Elem(), fmt.Sprintf("%s[%d]", name, i), report, depth+1)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			want("a string")
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			want("true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			want("an integer")
		}
	case reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
			want("a number")
		}
	}
}

// yamlFields maps a struct's YAML keys to its fields, inline fields
// included.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// yamlKindName says what a node is, for messages.
func yamlKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!int":
		return "the integer " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	}
	return fmt.Sprintf("the string %q", n.Value)
}
