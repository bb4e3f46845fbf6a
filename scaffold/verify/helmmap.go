package verify

import (
	"bytes"
	"slices"
	"strconv"
	"text/template/parse"
	"unicode/utf8"
)

// Helm renders a chart to text and keeps no record of which template line
// or which value wrote which part of it. A templateMap is that record for
// one template file, built from the template's parse tree: every text node
// of the file's main template is rendered between markers (private-use
// runes, which YAML and Helm pass through), so each byte of the output is
// known to come either from a text node (a template line) or from the
// actions between two text nodes, whose parse trees say which .Values they
// read. The markers are then removed; the output is Helm's own.
type templateMap struct {
	src     []byte
	texts   []mapText
	actions []mapAction
	origin  []byteOrigin // one per byte of the rendered output
}

type mapText struct {
	pos, end int // the text's bytes in src
}

type mapAction struct {
	pos   int        // in src
	paths [][]string // the .Values paths the action reads (without "Values")
}

// byteOrigin says where a rendered byte comes from: text node text at
// offset off, or (text < 0) the actions after text node after and before
// text node before.
type byteOrigin struct {
	text, off     int
	after, before int
}

const (
	markBegin = '\uE000' // then the text node's index in decimal, then markSep
	markSep   = '\uE001'
	markEnd   = '\uE002'
)

// instrumentTemplate parses a template file and returns its source with
// markers around every text node of its main template, and the map to
// fill from its rendering. It returns nil when the file does not parse (a
// template error is lint's to report) or already holds a marker rune.
func instrumentTemplate(name string, src []byte) ([]byte, *templateMap) {
	if bytes.ContainsAny(src, string([]rune{markBegin, markSep, markEnd})) {
		return nil, nil
	}
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck
	if _, err := t.Parse(string(src), "", "", map[string]*parse.Tree{}); err != nil || t.Root == nil {
		return nil, nil
	}
	m := &templateMap{src: src}
	w := &treeWalker{m: m}
	w.list(t.Root, []string{}, map[string][]string{})
	var out bytes.Buffer
	last := 0
	for i, tx := range m.texts {
		if tx.pos < last || tx.end > len(src) {
			return nil, nil
		}
		out.Write(src[last:tx.pos])
		out.WriteRune(markBegin)
		out.WriteString(strconv.Itoa(i))
		out.WriteRune(markSep)
		out.Write(src[tx.pos:tx.end])
		out.WriteRune(markEnd)
		last = tx.end
	}
	out.Write(src[last:])
	return out.Bytes(), m
}

// treeWalker collects a template's text nodes and actions in source
// order, with the .Values path of dot (nil: not a value) and of variables.
type treeWalker struct {
	m *templateMap
}

func (w *treeWalker) list(l *parse.ListNode, dot []string, vars map[string][]string) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, dot, vars)
	}
}

func (w *treeWalker) node(n parse.Node, dot []string, vars map[string][]string) {
	switch x := n.(type) {
	case *parse.TextNode:
		pos := int(x.Pos)
		if pos+len(x.Text) <= len(w.m.src) && bytes.Equal(w.m.src[pos:pos+len(x.Text)], x.Text) {
			w.m.texts = append(w.m.texts, mapText{pos: pos, end: pos + len(x.Text)})
		}
	case *parse.ActionNode:
		paths := pipePaths(x.Pipe, dot, vars)
		if len(x.Pipe.Decl) == 1 && len(paths) == 1 {
			vars[x.Pipe.Decl[0].Ident[0]] = paths[0]
		}
		w.m.actions = append(w.m.actions, mapAction{pos: int(x.Pos), paths: valuesOnly(paths)})
	case *parse.TemplateNode:
		w.m.actions = append(w.m.actions, mapAction{pos: int(x.Pos)})
	case *parse.IfNode:
		w.list(x.List, dot, maps(vars))
		w.list(x.ElseList, dot, maps(vars))
	case *parse.WithNode:
		var d []string
		if p := pipePaths(x.Pipe, dot, vars); len(p) == 1 {
			d = p[0]
		}
		w.list(x.List, d, maps(vars))
		w.list(x.ElseList, dot, maps(vars))
	case *parse.RangeNode:
		inner := maps(vars)
		var d []string
		if p := pipePaths(x.Pipe, dot, vars); len(p) == 1 {
			d = append(slices.Clone(p[0]), "*")
			if n := len(x.Pipe.Decl); n > 0 {
				inner[x.Pipe.Decl[n-1].Ident[0]] = d
			}
		}
		w.list(x.List, d, inner)
		w.list(x.ElseList, dot, maps(vars))
	case *parse.ListNode:
		w.list(x, dot, vars)
	}
}

func maps(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// pipePaths returns the data paths a pipeline reads: fields of dot, of $
// and of variables, and index calls with constant keys.
func pipePaths(p *parse.PipeNode, dot []string, vars map[string][]string) [][]string {
	if p == nil {
		return nil
	}
	var out [][]string
	for _, c := range p.Cmds {
		for i, a := range c.Args {
			var got []string
			switch x := a.(type) {
			case *parse.FieldNode:
				if dot != nil {
					got = append(slices.Clone(dot), x.Ident...)
				}
			case *parse.VariableNode:
				base, ok := vars[x.Ident[0]]
				if x.Ident[0] == "$" {
					base, ok = []string{}, true
				}
				if ok && base != nil {
					got = append(slices.Clone(base), x.Ident[1:]...)
				}
			case *parse.DotNode:
				if len(dot) > 0 {
					got = slices.Clone(dot)
				}
			case *parse.PipeNode:
				out = append(out, pipePaths(x, dot, vars)...)
			}
			if got == nil {
				continue
			}
			// index .Values.x "key" "sub": the constant keys go on the path.
			if i == 1 {
				if id, ok := c.Args[0].(*parse.IdentifierNode); ok && id.Ident == "index" {
					for _, k := range c.Args[2:] {
						s, ok := k.(*parse.StringNode)
						if !ok {
							break
						}
						got = append(got, s.Text)
					}
				}
			}
			out = append(out, got)
		}
	}
	return out
}

// valuesOnly keeps the paths into .Values, without their "Values".
func valuesOnly(paths [][]string) [][]string {
	var out [][]string
	for _, p := range paths {
		if len(p) > 1 && p[0] == "Values" {
			out = append(out, p[1:])
		}
	}
	return out
}

// strip removes the markers from a rendering of the instrumented template,
// recording each remaining byte's origin. It returns the output as Helm
// renders the original template.
func (m *templateMap) strip(out []byte) []byte {
	plain := make([]byte, 0, len(out))
	m.origin = make([]byteOrigin, 0, len(out))
	cur, last := -1, -1
	var off int
	pending := 0 // index in origin of the first action byte since last
	for i := 0; i < len(out); {
		r, size := utf8.DecodeRune(out[i:])
		switch r {
		case markBegin:
			j := bytes.IndexRune(out[i:], markSep)
			n, err := strconv.Atoi(string(out[i+size : i+max(j, size)]))
			if j < 0 || err != nil || n < 0 || n >= len(m.texts) {
				return m.fail(out)
			}
			for k := pending; k < len(m.origin); k++ {
				m.origin[k].before = n
			}
			cur, off = n, 0
			i += j + utf8.RuneLen(markSep)
			continue
		case markEnd:
			last, cur = cur, -1
			pending = len(m.origin)
			i += size
			continue
		}
		for k := range size {
			plain = append(plain, out[i+k])
			if cur >= 0 {
				m.origin = append(m.origin, byteOrigin{text: cur, off: off})
				off++
			} else {
				m.origin = append(m.origin, byteOrigin{text: -1, after: last, before: len(m.texts)})
			}
		}
		i += size
	}
	return plain
}

// fail gives up on the map (a marker was mangled, e.g. by a function that
// cut the text it was in) and returns the output without markers.
func (m *templateMap) fail(out []byte) []byte {
	m.origin = nil
	return bytes.Map(func(r rune) rune {
		if r == markBegin || r == markSep || r == markEnd {
			return -1
		}
		return r
	}, out)
}

// An origin is where a rendered byte comes from: the template position
// (1-based line and column) and the .Values paths of the actions that may
// have written it (none for template text).
type origin struct {
	line, col int
	paths     [][]string
}

// at returns the origin of rendered byte offset i.
func (m *templateMap) at(i int) (origin, bool) {
	if m == nil || i < 0 || i >= len(m.origin) {
		return origin{}, false
	}
	o := m.origin[i]
	if o.text >= 0 {
		line, col := lineCol(m.src, m.texts[o.text].pos+o.off)
		return origin{line: line, col: col}, true
	}
	// The actions between text node after and the next text node in the
	// source, and between text node before and the one preceding it: the
	// same stretch of source, unless a range went round again.
	gap := func(i int) (int, int) { // the source between text i-1 and text i
		from, to := 0, len(m.src)
		if i > 0 {
			from = m.texts[i-1].end
		}
		if i < len(m.texts) {
			to = m.texts[i].pos
		}
		return from, to
	}
	a1, b1 := gap(o.after + 1)
	a2, b2 := gap(o.before)
	var or origin
	for _, a := range m.actions {
		if (a.pos < a1 || a.pos > b1) && (a.pos < a2 || a.pos > b2) {
			continue
		}
		if or.line == 0 {
			or.line, or.col = lineCol(m.src, a.pos)
		}
		or.paths = append(or.paths, a.paths...)
	}
	if or.line == 0 {
		return origin{}, false
	}
	return or, true
}

// lineCol is the 1-based line and column (in runes) of byte offset i.
func lineCol(src []byte, i int) (int, int) {
	i = min(max(i, 0), len(src))
	line := bytes.Count(src[:i], []byte("\n")) + 1
	start := bytes.LastIndexByte(src[:i], '\n') + 1
	return line, utf8.RuneCount(src[start:i]) + 1
}

// offsetOf is the byte offset of a 1-based line and rune column in data,
// or -1.
func offsetOf(data []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		j := bytes.IndexByte(data[off:], '\n')
		if j < 0 {
			return -1
		}
		off += j + 1
	}
	for c := 1; c < col && off < len(data); c++ {
		if data[off] == '\n' {
			return -1
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off
}
