package verify

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

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
		if cur.Kind == yaml.DocumentNode && len(cur.Content) > 0 {
			cur = cur.Content[0]
		}
		if cur.Kind == yaml.AliasNode && cur.Alias != nil {
			cur = cur.Alias
		}
		switch {
		case e.Key != "" || e.Index < 0:
			if cur.Kind != yaml.MappingNode {
				return at, false
			}
			var next *yaml.Node
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == e.Key {
					at, next = cur.Content[i], cur.Content[i+1]
					break
				}
			}
			if next == nil {
				// Go field names (Spec.Duration) for JSON ones (spec.duration).
				for i := 0; i+1 < len(cur.Content); i += 2 {
					if strings.EqualFold(cur.Content[i].Value, e.Key) {
						at, next = cur.Content[i], cur.Content[i+1]
						break
					}
				}
			}
			if next == nil {
				return at, false
			}
			cur = next
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

// lookupValue follows path and returns the value node (not the key), or nil.
func lookupValue(n *yaml.Node, path ...string) *yaml.Node {
	cur := n
	for _, k := range path {
		cur = mapValue(cur, k)
		if cur == nil {
			return nil
		}
	}
	return cur
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mapKey returns the key node of key in a mapping node, or nil.
func mapKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// findAll returns every node reached by path, where an element "*" in a
// sequence position means every element; keys and indexes without [i] are
// walked through every sequence element (as encoding/json's type errors
// name a field path without indexes).
func findAll(n *yaml.Node, keys []string) []*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
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
		if v := mapValue(n, keys[0]); v != nil {
			return findAll(v, keys[1:])
		}
	}
	return nil
}

// yamlToJSON encodes a node as JSON, one mapping key per line, and returns
// for each JSON line the YAML node that starts on it, so that a JSON
// decoder's "line L" can be traced back to the YAML source. Scalars are
// typed by their resolved YAML tags.
func yamlToJSON(n *yaml.Node) ([]byte, map[int]*yaml.Node, error) {
	e := &jsonEnc{lines: map[int]*yaml.Node{}, line: 1}
	if err := e.node(n, 0); err != nil {
		return nil, nil, err
	}
	return e.buf.Bytes(), e.lines, nil
}

type jsonEnc struct {
	buf   bytes.Buffer
	lines map[int]*yaml.Node
	line  int
	nodes int // nodes written, aliases expanded: bounded against alias bombs
}

const maxJSONNodes = 1 << 20

func (e *jsonEnc) nl() {
	e.buf.WriteByte('\n')
	e.line++
}

func (e *jsonEnc) node(n *yaml.Node, depth int) error {
	if depth > 200 {
		return errors.New("YAML nested too deep")
	}
	if e.nodes++; e.nodes > maxJSONNodes {
		return errors.New("YAML too large once its aliases are expanded")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			e.buf.WriteString("null")
			return nil
		}
		return e.node(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return errors.New("unknown alias")
		}
		return e.node(n.Alias, depth+1)
	case yaml.MappingNode:
		e.buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				return errors.New("merge keys (<<) are not supported")
			}
			if i > 0 {
				e.buf.WriteByte(',')
			}
			e.nl()
			e.lines[e.line] = k
			kb, _ := jsonMarshalString(k.Value)
			e.buf.Write(kb)
			e.buf.WriteByte(':')
			if err := e.node(v, depth+1); err != nil {
				return err
			}
		}
		e.buf.WriteByte('}')
	case yaml.SequenceNode:
		e.buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			e.nl()
			e.lines[e.line] = c
			if err := e.node(c, depth+1); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			e.buf.WriteString("null")
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return err
			}
			e.buf.WriteString(strconv.FormatBool(b))
		case "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return err
			}
			switch x := v.(type) {
			case int:
				e.buf.WriteString(strconv.Itoa(x))
			case int64:
				e.buf.WriteString(strconv.FormatInt(x, 10))
			case uint64:
				e.buf.WriteString(strconv.FormatUint(x, 10))
			case float64:
				e.buf.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
			default:
				b, _ := jsonMarshalString(n.Value)
				e.buf.Write(b)
			}
		default:
			b, _ := jsonMarshalString(n.Value)
			e.buf.Write(b)
		}
	default:
		return fmt.Errorf("unexpected YAML node kind %d", n.Kind)
	}
	return nil
}

func jsonMarshalString(s string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x2028 || r == 0x2029 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.Bytes(), nil
}

var lastQuotedRE = regexp.MustCompile(`"([^"\n]{1,200})"[^"]*$`)

// locateQuoted finds where the last "quoted" value of a message is written
// in src (the value of a key, or a list item); 0 when it is not found.
func locateQuoted(src []byte, msg string) (int, int) {
	m := lastQuotedRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0
	}
	for i, l := range strings.Split(string(src), "\n") {
		for _, pre := range []string{": ", "- "} {
			if c := strings.Index(l, pre+m[1]); c >= 0 {
				rest := strings.TrimSpace(l[c+len(pre)+len(m[1]):])
				if rest == "" || strings.HasPrefix(rest, "#") {
					return i + 1, c + len(pre) + 1
				}
			}
		}
	}
	return 0, 0
}
