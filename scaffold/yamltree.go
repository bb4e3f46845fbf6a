package scaffold

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// A YAML file as a tree of block mappings and sequences whose nodes know
// their byte spans in the file, for mergeYAML to compare nodes by text and
// splice text into the file by position. github.com/goccy/go-yaml parses;
// only its token positions are used, nothing is re-encoded.

// holdsTemplate reports whether data holds a Go template action ("{{"), as
// a Helm chart's templates do; GitHub Actions expressions ("${{") are
// plain YAML strings.
func holdsTemplate(data []byte) bool {
	for i := bytes.Index(data, []byte("{{")); i >= 0; {
		if i == 0 || data[i-1] != '$' {
			return true
		}
		next := bytes.Index(data[i+2:], []byte("{{"))
		if next < 0 {
			return false
		}
		i += 2 + next
	}
	return false
}

// yamlNode is a mapping entry or sequence item, located in its file.
type yamlNode struct {
	start, end int    // bytes: its first token (key or "-") to the end of its last content line
	col        int    // column of start, in characters
	key        string // a mapping entry's key; "" for a sequence item
	kids       []*yamlNode
	seq        bool // kids are sequence items; otherwise mapping entries
}

// yamlFile is one version of the file and its tree.
type yamlFile struct {
	data       []byte
	lineStarts []int
	root       *yamlNode // spans the whole file; kids are the top-level entries
}

func parseYAMLTree(data []byte) (f *yamlFile, err error) {
	if holdsTemplate(data) || bytes.ContainsRune(data, '\r') || bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || !utf8.Valid(data) {
		return nil, fmt.Errorf("not plain YAML")
	}
	defer func() {
		// The parser is outside code fed with outside input: a panic
		// in it means "cannot merge by structure", never a crash.
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("YAML parser: %v", r)
		}
	}()
	parsed, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, err
	}
	if len(parsed.Docs) != 1 || parsed.Docs[0].Body == nil {
		return nil, fmt.Errorf("not a single YAML document")
	}
	f = &yamlFile{data: data, lineStarts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			f.lineStarts = append(f.lineStarts, i+1)
		}
	}
	f.root = &yamlNode{start: 0, end: len(data)}
	if !f.children(f.root, parsed.Docs[0].Body, -1) {
		return nil, fmt.Errorf("the document is not a block mapping or sequence")
	}
	return f, nil
}

// children fills n.kids from the collection node value, if it is a block
// mapping or sequence whose entries each start a line of their own.
// after is the line the entries must start after (-1: any).
func (f *yamlFile) children(n *yamlNode, value ast.Node, after int) bool {
	for {
		switch v := value.(type) {
		case *ast.AnchorNode:
			value = v.Value
			continue
		case *ast.TagNode:
			value = v.Value
			continue
		}
		break
	}
	var kids []*yamlNode
	var values []ast.Node
	add := func(line, col int, key string, v ast.Node) bool {
		off, ok := f.offset(line, col)
		if !ok || off < n.start || (len(kids) == 0 && line <= after) {
			return false
		}
		if len(kids) > 0 && f.line(kids[len(kids)-1].start) >= line {
			return false
		}
		kids = append(kids, &yamlNode{start: off, col: col - 1, key: key})
		values = append(values, v)
		return true
	}
	switch v := value.(type) {
	case *ast.MappingNode:
		if v.IsFlowStyle || len(v.Values) == 0 {
			return false
		}
		for _, mv := range v.Values {
			if mv == nil || mv.Key == nil || mv.IsFlowStyle {
				return false
			}
			tk := mv.Key.GetToken()
			if tk == nil || !add(tk.Position.Line, tk.Position.Column, mv.Key.String(), mv.Value) {
				return false
			}
		}
	case *ast.MappingValueNode:
		if v.Key == nil || v.IsFlowStyle {
			return false
		}
		tk := v.Key.GetToken()
		if tk == nil || !add(tk.Position.Line, tk.Position.Column, v.Key.String(), v.Value) {
			return false
		}
	case *ast.SequenceNode:
		if v.IsFlowStyle || len(v.Entries) == 0 {
			return false
		}
		for _, e := range v.Entries {
			if e == nil || e.Start == nil || !add(e.Start.Position.Line, e.Start.Position.Column, "", e.Value) {
				return false
			}
		}
		n.seq = true
	default:
		return false
	}
	if kids[0].start <= n.start && n.start != 0 {
		return false
	}
	for i, k := range kids {
		limit := n.end
		if i+1 < len(kids) {
			limit = f.lineStarts[f.line(kids[i+1].start)]
		}
		k.end = f.trimEnd(k.start, limit, k.col)
		if k.end <= k.start {
			return false
		}
		after := f.line(k.start)
		if n.seq {
			after = -1 // an item's mapping may start on the "-" line
		}
		if values[i] != nil && !f.children(k, values[i], after) {
			k.kids = nil
		}
	}
	n.kids = kids
	return true
}

// offset turns a token's line and column (1-based, in characters) into a
// byte offset.
func (f *yamlFile) offset(line, col int) (int, bool) {
	if line < 1 || line > len(f.lineStarts) || col < 1 {
		return 0, false
	}
	off := f.lineStarts[line-1]
	for range col - 1 {
		if off >= len(f.data) || f.data[off] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(f.data[off:])
		off += size
	}
	return off, true
}

// line is the 0-based line of a byte offset.
func (f *yamlFile) line(off int) int {
	i, found := slices.BinarySearch(f.lineStarts, off)
	if !found {
		i--
	}
	return i
}

// trimEnd moves limit back over blank lines and over comment lines no
// deeper than the node (col): those sit between nodes and belong to
// neither. A deeper "#" line may be the content of a block scalar.
func (f *yamlFile) trimEnd(start, limit, col int) int {
	first := f.line(start)
	for {
		l := f.line(limit - 1)
		if limit <= start || l <= first {
			return limit
		}
		line := string(f.data[f.lineStarts[l]:limit])
		text := strings.TrimLeft(line, " ")
		depth := len(line) - len(text)
		text = strings.TrimSpace(text)
		if text != "" && (!strings.HasPrefix(text, "#") || depth > col) {
			return limit
		}
		limit = f.lineStarts[l]
	}
}

// lineStart is the offset of the line holding off.
func (f *yamlFile) lineStart(off int) int { return f.lineStarts[f.line(off)] }

// blankBefore reports whether only spaces precede off on its line.
func (f *yamlFile) blankBefore(off int) bool {
	return strings.TrimLeft(string(f.data[f.lineStart(off):off]), " ") == ""
}

// text is the nodes' span (with what lies between them), re-indented to
// column 0, for comparing nodes wherever they sit.
func (f *yamlFile) text(nodes []*yamlNode) string {
	if len(nodes) == 0 {
		return ""
	}
	return dedent(string(f.data[nodes[0].start:nodes[len(nodes)-1].end]), nodes[0].col)
}

// header is a node's text before its first child.
func (f *yamlFile) header(n *yamlNode) string {
	return dedent(string(f.data[n.start:n.kids[0].start]), n.col)
}

// dedent removes up to col leading spaces from every line but the first
// (which starts at the node's first token).
func dedent(s string, col int) string {
	lines := strings.SplitAfter(s, "\n")
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		n := 0
		for n < col && n < len(l) && l[n] == ' ' {
			n++
		}
		lines[i] = l[n:]
	}
	return strings.Join(lines, "")
}

// indent is the inverse of dedent: text placed at column col, every line
// after the first prefixed with col spaces, ending in a newline.
func indent(s string, col int) string {
	lines := strings.SplitAfter(s, "\n")
	pad := strings.Repeat(" ", col)
	for i := 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			lines[i] = pad + lines[i]
		}
	}
	out := strings.Join(lines, "")
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return out
}
