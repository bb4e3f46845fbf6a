package yamlnode

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func values(ns []*yaml.Node) string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Value)
	}
	return strings.Join(out, ",")
}

func TestReaders(t *testing.T) {
	doc := parse(t, "a: 1\nb: {c: {d: 4}}\na: 2\nl: [x, y]\n")
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"Keys of a document", values(Keys(doc)), "a,b,a,l"},
		{"Values of the body", values(Values(Body(doc))), "1,,2,"},
		{"Value takes the first of a repeated key", Value(doc, "a").Value, "1"},
		{"Key is the key node", strings.Join([]string{Key(doc, "l").Value, Key(doc, "l").Tag}, " "), "l !!str"},
		{"At follows mappings", At(doc, "b", "c", "d").Value, "4"},
		{"Items of a sequence", values(Items(Value(doc, "l"))), "x,y"},
		{"Items of a document holding a sequence", values(Items(parse(t, "[p, q]"))), "p,q"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestEmpty: nil, a missing key and a node of another kind read as empty.
func TestEmpty(t *testing.T) {
	doc := parse(t, "a: 1\nl: [x, y]\n")
	seq := Value(doc, "l")
	scalar := Value(doc, "a")
	for name, got := range map[string]any{
		"Value(nil)":          Value(nil, "a"),
		"Key(nil)":            Key(nil, "a"),
		"missing key":         Value(doc, "zz"),
		"At through a scalar": At(doc, "a", "b"),
		"At missing":          At(doc, "zz", "b"),
		"Value of a sequence": Value(seq, "x"),
		"Keys of a sequence":  Keys(seq),
		"Items of a mapping":  Items(doc),
		"Items of a scalar":   Items(scalar),
		"Items(nil)":          Items(nil),
	} {
		switch v := got.(type) {
		case *yaml.Node:
			if v != nil {
				t.Errorf("%s = %v, want nil", name, v.Value)
			}
		case []*yaml.Node:
			if len(v) != 0 {
				t.Errorf("%s = %s, want none", name, values(v))
			}
		}
	}
	if At(doc) != doc {
		t.Error("At with no keys is not the node itself")
	}
}

// TestPairsStops: breaking out of a range over Pairs stops it.
func TestPairsStops(t *testing.T) {
	var seen []string
	for k := range Pairs(parse(t, "a: 1\nb: 2\nc: 3\n")) {
		seen = append(seen, k.Value)
		if k.Value == "b" {
			break
		}
	}
	if !slices.Equal(seen, []string{"a", "b"}) {
		t.Errorf("saw %q", seen)
	}
}
