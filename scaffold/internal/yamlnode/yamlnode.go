// Package yamlnode reads go.yaml.in/yaml/v3 node trees: a mapping's pairs,
// a key's value, a sequence's items. It is the one set of node helpers
// that the engine (paved.yaml, answers, test cases) and verify share, so
// that no caller walks a mapping's Content two by two itself.
//
// Every function takes a nil node, or a node of another kind, as empty:
// it returns nil or yields nothing. A document node stands for its body.
package yamlnode

import (
	"iter"

	"go.yaml.in/yaml/v3"
)

// Body is the node a document holds, or n itself when n is not a document.
func Body(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

// Pairs yields the key and value of each entry of a mapping, in order.
func Pairs(n *yaml.Node) iter.Seq2[*yaml.Node, *yaml.Node] {
	return func(yield func(*yaml.Node, *yaml.Node) bool) {
		n = Body(n)
		if n == nil || n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

// Keys returns the key nodes of a mapping, in order.
func Keys(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for k := range Pairs(n) {
		out = append(out, k)
	}
	return out
}

// Values returns the value nodes of a mapping, in order.
func Values(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for _, v := range Pairs(n) {
		out = append(out, v)
	}
	return out
}

// Value returns the value of key in a mapping, or nil. With a repeated
// key, the first entry's.
func Value(n *yaml.Node, key string) *yaml.Node {
	for k, v := range Pairs(n) {
		if k.Value == key {
			return v
		}
	}
	return nil
}

// Key returns the key node of key in a mapping, or nil.
func Key(n *yaml.Node, key string) *yaml.Node {
	for k := range Pairs(n) {
		if k.Value == key {
			return k
		}
	}
	return nil
}

// At follows a path of keys through nested mappings and returns the value
// at its end, or nil when a key is missing on the way.
func At(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		if n = Value(n, key); n == nil {
			return nil
		}
	}
	return n
}

// Items returns the items of a sequence.
func Items(n *yaml.Node) []*yaml.Node {
	n = Body(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}
