package verify

import (
	"strconv"
	"strings"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
)

// A pathElem is a mapping key or, when Key is empty and Index >= 0, a
// sequence index.
type pathElem struct {
	Key   string
	Index int
}

// parseFieldPath parses a dotted path with [i] indexes, as Kubernetes
// strict-decoding errors print them: spec.containers[0].imagePullPolicyy.
// A key within [...] that is not a number ("metadata.labels[app.kubernetes.io/name]")
// is a key.
func parseFieldPath(s string) []pathElem {
	var out []pathElem
	for s != "" {
		switch s[0] {
		case '.':
			s = s[1:]
			continue
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				out = append(out, pathElem{Key: s, Index: -1})
				return out
			}
			in := s[1:end]
			if n, err := strconv.Atoi(in); err == nil && n >= 0 {
				out = append(out, pathElem{Index: n})
			} else {
				out = append(out, pathElem{Key: in, Index: -1})
			}
			s = s[end+1:]
			continue
		}
		end := strings.IndexAny(s, ".[")
		if end < 0 {
			end = len(s)
		}
		out = append(out, pathElem{Key: s[:end], Index: -1})
		s = s[end:]
	}
	return out
}

// lookup follows path from n. It returns the deepest node reached (the key
// node when the last element is a key, else the element), and whether the
// whole path was found. With a missing element, the node is the last one
// found on the way.
func lookup(n *yaml.Node, path []pathElem) (*yaml.Node, bool) {
	cur, at := n, n
	for _, e := range path {
		if cur == nil {
			return at, false
		}
		cur = yamlnode.Body(cur)
		if cur.Kind == yaml.AliasNode && cur.Alias != nil {
			cur = cur.Alias
		}
		switch {
		case e.Key != "" || e.Index < 0:
			if cur.Kind != yaml.MappingNode {
				return at, false
			}
			key, next := yamlnode.Key(cur, e.Key), yamlnode.Value(cur, e.Key)
			if next == nil {
				// Go field names (Spec.Duration) for JSON ones (spec.duration).
				for k, v := range yamlnode.Pairs(cur) {
					if strings.EqualFold(k.Value, e.Key) {
						key, next = k, v
						break
					}
				}
			}
			if next == nil {
				return at, false
			}
			at, cur = key, next
		default:
			if cur.Kind != yaml.SequenceNode || e.Index >= len(cur.Content) {
				return at, false
			}
			cur = cur.Content[e.Index]
			at = cur
		}
	}
	return at, true
}

// findAll returns every node reached by path, where an element "*" in a
// sequence position means every element; keys and indexes without [i] are
// walked through every sequence element (as encoding/json's type errors
// name a field path without indexes).
func findAll(n *yaml.Node, keys []string) []*yaml.Node {
	n = yamlnode.Body(n)
	if n == nil {
		return nil
	}
	if len(keys) == 0 {
		return []*yaml.Node{n}
	}
	switch n.Kind {
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			out = append(out, findAll(c, keys)...)
		}
		return out
	case yaml.MappingNode:
		if v := yamlnode.Value(n, keys[0]); v != nil {
			return findAll(v, keys[1:])
		}
	}
	return nil
}
