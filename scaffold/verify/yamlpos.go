package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// A yamlDoc is one document of a YAML stream, with node positions relative
// to the whole stream (line numbers are the file's).
type yamlDoc struct {
	Root      *yaml.Node // the document's content (mapping, sequence or scalar)
	Raw       []byte     // the document's own text
	StartLine int        // the file line of Raw's first line
}

// splitYAML splits a stream into documents the way Kubernetes tools do (a
// line starting with "---" followed by nothing but blanks or a comment) and
// parses each with positions that are the stream's. Empty documents are
// dropped. A document that does not parse yields its error, with the line
// made absolute.
func splitYAML(data []byte) ([]yamlDoc, []posError) {
	var docs []yamlDoc
	var errs []posError
	for _, chunk := range splitDocs(data) {
		if len(bytes.TrimSpace(stripComments(chunk.text))) == 0 {
			continue
		}
		var n yaml.Node
		if err := yaml.Unmarshal(chunk.text, &n); err != nil {
			pe := yamlSyntaxError(chunk.text, err)
			for i := range pe {
				if pe[i].Line > 0 {
					pe[i].Line += chunk.line - 1
				} else {
					pe[i].Line = chunk.line
				}
			}
			errs = append(errs, pe...)
			continue
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if chunk.line > 1 {
			shiftLines(root, chunk.line-1)
		}
		docs = append(docs, yamlDoc{Root: root, Raw: chunk.text, StartLine: chunk.line})
	}
	return docs, errs
}

type docChunk struct {
	text []byte
	line int // 1-based line of text's first line in the stream
}

// splitDocs cuts a stream at document separators.
func splitDocs(data []byte) []docChunk {
	var out []docChunk
	start, startLine, line := 0, 1, 1
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		l := data[off:next]
		if isSeparator(l) {
			out = append(out, docChunk{text: data[start:off], line: startLine})
			start, startLine = next, line+1
		}
		off = next
		line++
	}
	out = append(out, docChunk{text: data[start:], line: startLine})
	return out
}

func isSeparator(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := bytes.TrimSpace(line[3:])
	return len(rest) == 0 || rest[0] == '#'
}

// stripComments blanks out full-line comments, to tell an empty document.
func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		out = append(out, t...)
		out = append(out, '\n')
	}
	return out
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// A posError is a message at a line (0: unknown) and column of a file.
type posError struct {
	Line, Col int
	Msg       string
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlSyntaxError positions a yaml.v3 error for data. yaml.v3 reports some
// syntax errors at the line before the problem (its context line, counted
// from 0); yaml.v2, the parser Kubernetes tools use, reports the line of
// the problem, so syntax errors take v2's line.
func yamlSyntaxError(data []byte, err error) []posError {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return yamlError(err)
	}
	var v any
	if err2 := yaml2.Unmarshal(data, &v); err2 != nil {
		if pe := parseYAMLErrorLine(err2.Error()); pe.Line > 0 {
			return []posError{pe}
		}
	}
	return yamlError(err)
}

// yamlError turns a yaml.v3 error into positioned messages. yaml.v3 reports
// syntax errors as "yaml: line N: msg" and decoding errors as a list of
// "line N: msg" under "yaml: unmarshal errors:".
func yamlError(err error) []posError {
	var te *yaml.TypeError
	var lines []string
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	var out []posError
	for _, l := range lines {
		out = append(out, parseYAMLErrorLine(l))
	}
	return out
}

// parseYAMLErrorLine parses one "[yaml: ]line N: msg" message; anything else
// is returned whole at line 0.
func parseYAMLErrorLine(s string) posError {
	s = strings.TrimSpace(s)
	if m := yamlLineRE.FindStringSubmatch(s); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			return posError{Line: n, Msg: m[2]}
		}
	}
	return posError{Msg: strings.TrimPrefix(s, "yaml: ")}
}

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

// decodeKnown decodes a YAML document into v with unknown fields rejected,
// returning every decoding error with its line.
func decodeKnown(data []byte, v any) []posError {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return yamlSyntaxError(data, err)
}

// colOfKey finds the column of the first key on a line that names key (or
// of the first non-blank character) in data; 1 when unknown.
func colOf(data []byte, line int, word string) int {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 1
	}
	l := lines[line-1]
	if word != "" {
		if i := bytes.Index(l, []byte(word)); i >= 0 {
			return i + 1
		}
	}
	for i, c := range l {
		if c != ' ' && c != '\t' && c != '-' {
			return i + 1
		}
	}
	return 1
}

// quotedField returns the first "double-quoted" or 'single-quoted' word of a
// message (e.g. the field of "field intervall not found"), or "".
var fieldInMsgRE = regexp.MustCompile(`field ([A-Za-z0-9_.-]+) not found`)

func fieldInMsg(msg string) string {
	if m := fieldInMsgRE.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// keyAtLine returns the mapping key written on a line ("  open-pull-requests-limit: five"
// -> "open-pull-requests-limit"), or "".
func keyAtLine(src []byte, line int) string {
	lines := bytes.Split(src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return ""
	}
	l := strings.TrimSpace(string(lines[line-1]))
	l = strings.TrimPrefix(l, "- ")
	k, _, ok := strings.Cut(l, ":")
	if !ok || k == "" || strings.ContainsAny(k, " \"'{[") {
		return ""
	}
	return k
}

// withKey prefixes a decoding message that names no field ("cannot
// unmarshal !!str `five` into int") with the key written on its line.
func withKey(src []byte, e posError) posError {
	if strings.HasPrefix(e.Msg, "cannot unmarshal") {
		if k := keyAtLine(src, e.Line); k != "" {
			e.Msg = k + ": " + e.Msg
			e.Col = colOf(src, e.Line, k)
		}
	}
	return e
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
