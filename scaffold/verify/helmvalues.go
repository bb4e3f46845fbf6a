package verify

import (
	"path"
	"slices"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Where a chart's values are set, for findings at the line the user edits.
// goccy/go-yaml parses here, not yaml.v3: its AST places a scalar after
// its anchor or tag, where the value the user edits starts.

// valuesFiles are a chart's values files as one rendering uses them: the
// environment file (a values-*.yaml, when the rendering has one) over
// values.yaml. They answer where a value the chart reads is set.
type valuesFiles struct {
	dir     string // the chart's repository path
	variant string // "values-prod.yaml", or "" for the defaults
	docs    map[string]ast.Node
}

// newValuesFiles parses the values files of one rendering with positions.
// A file that does not parse has no positions (its YAML error is reported
// where Helm reads it).
func newValuesFiles(r *Repo, dir, variant string) *valuesFiles {
	vf := &valuesFiles{dir: dir, variant: variant, docs: map[string]ast.Node{}}
	for _, name := range vf.order() {
		src, err := r.Read(path.Join(dir, name))
		if err != nil {
			continue
		}
		f, err := parser.ParseBytes(src, 0)
		if err != nil || len(f.Docs) == 0 || f.Docs[0].Body == nil {
			continue
		}
		vf.docs[name] = f.Docs[0].Body
	}
	return vf
}

// order is the files in the order they win: the environment file first.
func (vf *valuesFiles) order() []string {
	if vf.variant == "" {
		return []string{"values.yaml"}
	}
	return []string{vf.variant, "values.yaml"}
}

// A valuePos is where a values file sets a value.
type valuePos struct {
	File      string // repository path of the values file
	Line, Col int    // the key's position
	ValLine   int    // the value's position (the key's for a map or list)
	ValCol    int
	value     ast.Node // the value set there (nil: not known)
}

// holding returns where the value at pos, or a scalar below it, prints as
// text: the value a rendered scalar came from. A value that prints
// otherwise did not write it as it stands: the template changed it
// ({{ mul .weight 10 }}), or a range element wrote it, which one unknown.
// A position without its value holds anything.
func (pos valuePos) holding(text string) (valuePos, bool) {
	if pos.value == nil {
		return pos, true
	}
	var found *token.Token
	ast.Walk(walkFunc(func(n ast.Node) bool {
		if found != nil {
			return false
		}
		switch unwrap(n).(type) {
		case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode, *ast.AnchorNode, *ast.TagNode, *ast.DocumentNode:
			return true
		}
		if tk := n.GetToken(); tk != nil && tk.Value == text {
			found = tk
		}
		return false
	}), pos.value)
	if found == nil {
		return pos, false
	}
	pos.ValLine, pos.ValCol = found.Position.Line, found.Position.Column
	if pos.value.GetToken() != found {
		pos.Line, pos.Col = pos.ValLine, pos.ValCol
	}
	return pos, true
}

// walkFunc is an ast.Visitor of one function: true walks into the node.
type walkFunc func(ast.Node) bool

func (f walkFunc) Visit(n ast.Node) ast.Visitor {
	if f(n) {
		return f
	}
	return nil
}

// find returns where the winning values file sets the value at p (map keys;
// a list index as its decimal number): the first file, in order, that sets
// the whole path.
func (vf *valuesFiles) find(p []string) (valuePos, bool) {
	for _, name := range vf.order() {
		if pos, ok := valueNodeAt(vf.docs[name], p); ok {
			pos.File = path.Join(vf.dir, name)
			return pos, true
		}
	}
	return valuePos{}, false
}

// origin picks, among the .Values paths an action reads, the value that
// wrote a rendered node whose path in its object is rendered: the value at
// the path itself, or below it when the action wrote a whole map or list
// (toYaml .Values.resources writes limits.cpu at resources.limits.cpu). A
// value the environment file sets wins over one only values.yaml sets.
func (vf *valuesFiles) origin(paths [][]string, rendered []string) (valuePos, bool) {
	if vf == nil {
		return valuePos{}, false
	}
	var best valuePos
	found := false
	for _, p := range paths {
		if i := slices.Index(p, "*"); i >= 0 {
			p = p[:i] // a range element: which one is not known
		}
		for k := min(len(rendered), 8); k >= 0; k-- {
			pos, ok := vf.find(append(slices.Clone(p), rendered[len(rendered)-k:]...))
			if !ok {
				continue
			}
			if vf.variant != "" && pos.File == path.Join(vf.dir, vf.variant) {
				return pos, true
			}
			if !found {
				best, found = pos, true
			}
			break
		}
	}
	return best, found
}

// valueNodeAt follows p from n through mappings and sequences.
func valueNodeAt(n ast.Node, p []string) (valuePos, bool) {
	var at valuePos
	if n == nil {
		return at, false
	}
	if len(p) == 0 {
		tk := n.GetToken()
		if tk == nil {
			return at, false
		}
		return valuePos{Line: tk.Position.Line, Col: tk.Position.Column, ValLine: tk.Position.Line, ValCol: tk.Position.Column, value: n}, true
	}
	n = unwrap(n)
	switch m := n.(type) {
	case *ast.MappingNode:
		for _, mv := range m.Values {
			if keyString(mv.Key) == p[0] {
				return entryAt(mv, p[1:])
			}
		}
	case *ast.MappingValueNode:
		if keyString(m.Key) == p[0] {
			return entryAt(m, p[1:])
		}
	case *ast.SequenceNode:
		if i, err := strconv.Atoi(p[0]); err == nil && i >= 0 && i < len(m.Values) {
			return valueNodeAt(m.Values[i], p[1:])
		}
	}
	return at, false
}

// entryAt is valueNodeAt below a mapping entry; with nothing left to follow, it
// is the entry: its key's position and its value's.
func entryAt(mv *ast.MappingValueNode, rest []string) (valuePos, bool) {
	if len(rest) > 0 {
		return valueNodeAt(mv.Value, rest)
	}
	kt := mv.Key.GetToken()
	pos := valuePos{Line: kt.Position.Line, Col: kt.Position.Column, ValLine: kt.Position.Line, ValCol: kt.Position.Column, value: mv.Value}
	switch v := unwrap(mv.Value).(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode, nil:
	default:
		if vt := v.GetToken(); vt != nil {
			pos.ValLine, pos.ValCol = vt.Position.Line, vt.Position.Column
		}
	}
	return pos, true
}

// unwrap looks through anchors and tags to the node they mark.
func unwrap(n ast.Node) ast.Node {
	for range 100 {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		default:
			return n
		}
	}
	return n
}

// keyString is a mapping key's text, without quotes.
func keyString(k ast.MapKeyNode) string {
	switch x := k.(type) {
	case *ast.StringNode:
		return x.Value
	case nil:
		return ""
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}
