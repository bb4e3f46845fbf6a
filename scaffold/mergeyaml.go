package scaffold

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// YAML merged by structure.
//
// When both sides changed a YAML file and the line-based merge conflicts,
// the change may still touch different keys or different list items: lines
// that are adjacent in the text are far apart in the tree. mergeYAML merges
// the three versions as trees of block mappings and sequences, and works on
// the team's bytes: each change the template made is spliced into the team's
// file at the position of the node it changed (re-indented to the team's
// column), so comments, key order, quoting and layout of everything else
// stay byte for byte. Nothing is ever re-encoded.
//
// A node is compared by its text (from its first token to its last content
// line, re-indented to column 0), so a change to a comment inside a node is a
// change to that node. Per node, three ways:
//   - the template left it alone, or both made the same change: the team's;
//   - the team left it alone: the template's text replaces it;
//   - both changed it: mappings merge key by key (a key added by the
//     template goes after the key that precedes it in the template), block
//     sequences item by item (the items are aligned as diff3 aligns lines),
//     and anything else is a conflict with markers around that node alone.
//
// The team's lines are removed only where their text equals the template's
// old version, so no line the team wrote is lost; a clean result that does
// not parse is not used. Files that are not a single block mapping or
// sequence, hold "{{" outside "${{" (Helm templates), carriage returns or a byte order
// mark are left to the text merge.

// isYAMLPath reports whether a path is merged by structure on conflict.
func isYAMLPath(p string) bool {
	ext := path.Ext(p)
	return ext == ".yaml" || ext == ".yml"
}

// mergeYAML merges three versions of a YAML file; ok is false when the
// files are not YAML this merge handles, and the text merge stands.
func mergeYAML(ours, base, theirs []byte, labels MergeLabels) (merged []byte, conflicts int, ok bool) {
	var files [3]*yamlFile
	for i, data := range [][]byte{base, ours, theirs} {
		f, err := parseYAMLTree(data)
		if err != nil {
			return nil, 0, false
		}
		files[i] = f
	}
	m := &yamlMerge{base: files[0], ours: files[1], theirs: files[2], labels: labels}
	if !m.root() {
		return nil, 0, false
	}
	merged, ok = m.apply()
	if !ok {
		return nil, 0, false
	}
	if m.conflicts == 0 {
		if _, err := parseYAMLTree(merged); err != nil {
			return nil, 0, false
		}
	}
	return merged, m.conflicts, true
}

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

// yamlMerge collects edits to the team's file.
type yamlMerge struct {
	base, ours, theirs *yamlFile
	labels             MergeLabels
	edits              []yamlEdit
	conflicts          int
}

// yamlEdit replaces ours[start:end] with text.
type yamlEdit struct {
	start, end int
	text       string
}

// root merges the top level; false means the trees cannot be merged here.
func (m *yamlMerge) root() bool {
	b, o, t := m.base.root, m.ours.root, m.theirs.root
	if b.seq != o.seq || o.seq != t.seq {
		return false
	}
	// The root's header is what precedes the first entry (comments, "---").
	head := func(f *yamlFile) string { return string(f.data[:f.lineStart(f.root.kids[0].start)]) }
	prefix := func(f *yamlFile) string {
		return string(f.data[f.lineStart(f.root.kids[0].start):f.root.kids[0].start])
	}
	if prefix(m.base) != prefix(m.ours) || prefix(m.base) != prefix(m.theirs) {
		return false
	}
	hb, ho, ht := head(m.base), head(m.ours), head(m.theirs)
	switch {
	case ht == hb || ho == ht:
	case ho == hb:
		m.edit(0, len(ho), ht)
	default:
		return false
	}
	if o.seq {
		return m.items(b, o, t)
	}
	return m.mapping(b, o, t)
}

// node merges one entry or item present on all three sides.
func (m *yamlMerge) node(b, o, t *yamlNode) {
	bt, ot, tt := m.base.text([]*yamlNode{b}), m.ours.text([]*yamlNode{o}), m.theirs.text([]*yamlNode{t})
	switch {
	case tt == bt || ot == tt:
		return
	case ot == bt:
		m.replace([]*yamlNode{o}, []*yamlNode{t})
		return
	}
	if b.kids != nil && o.kids != nil && t.kids != nil && b.seq == o.seq && o.seq == t.seq &&
		m.base.header(b) == m.theirs.header(t) {
		edits, conflicts := len(m.edits), m.conflicts
		if o.seq && m.items(b, o, t) || !o.seq && m.mapping(b, o, t) {
			return
		}
		// Not mergeable inside after all: undo, and conflict as a whole.
		m.edits, m.conflicts = m.edits[:edits], conflicts
	}
	m.conflict([]*yamlNode{o}, []*yamlNode{t}, -1, 0)
}

// mapping merges the entries of three mappings by key.
func (m *yamlMerge) mapping(b, o, t *yamlNode) bool {
	bk, ok1 := keyIndex(b)
	ourKeys, ok2 := keyIndex(o)
	tk, ok3 := keyIndex(t)
	if !ok1 || !ok2 || !ok3 {
		return false // duplicate keys: no meaning to merge by
	}
	for _, okid := range o.kids {
		bi, inBase := bk[okid.key]
		ti, inTheirs := tk[okid.key]
		one := []*yamlNode{okid}
		switch {
		case inBase && inTheirs:
			m.node(b.kids[bi], okid, t.kids[ti])
		case inBase: // the template removed it
			if m.ours.text(one) == m.base.text([]*yamlNode{b.kids[bi]}) {
				m.remove(one)
			} else {
				m.conflict(one, nil, -1, 0)
			}
		case inTheirs: // both added it
			if m.ours.text(one) != m.theirs.text([]*yamlNode{t.kids[ti]}) {
				m.conflict(one, []*yamlNode{t.kids[ti]}, -1, 0)
			}
		}
	}
	for i, tkid := range t.kids {
		if _, inOurs := ourKeys[tkid.key]; inOurs {
			continue
		}
		one := []*yamlNode{tkid}
		bi, inBase := bk[tkid.key]
		if inBase && m.theirs.text(one) == m.base.text([]*yamlNode{b.kids[bi]}) {
			continue // the team removed it; the template did not change it
		}
		pos := m.insertPos(o, t.kids[:i], t.kids[i+1:], ourKeys)
		if inBase { // the team removed what the template changed
			m.conflict(nil, one, pos, o.kids[0].col)
		} else {
			m.insert(pos, o.kids[0].col, one)
		}
	}
	return true
}

// insertPos is where a new entry goes in the team's mapping: after the
// nearest entry before it in the template that the team has, else before
// the nearest one after it, else at the end.
func (m *yamlMerge) insertPos(o *yamlNode, before, after []*yamlNode, ours map[string]int) int {
	for i := len(before) - 1; i >= 0; i-- {
		if j, ok := ours[before[i].key]; ok {
			return o.kids[j].end
		}
	}
	for _, n := range after {
		if j, ok := ours[n.key]; ok && m.ours.blankBefore(o.kids[j].start) {
			return m.ours.lineStart(o.kids[j].start)
		}
	}
	return o.kids[len(o.kids)-1].end
}

func keyIndex(n *yamlNode) (map[string]int, bool) {
	idx := make(map[string]int, len(n.kids))
	for i, k := range n.kids {
		if _, dup := idx[k.key]; dup {
			return nil, false
		}
		idx[k.key] = i
	}
	return idx, true
}

// items merges three block sequences item by item. Each side's items are
// aligned with the base's as a line diff aligns lines (equal items along a
// longest common subsequence; a run replaced by as many items is those
// items changed; other runs are inserted or deleted); then every base item
// merges as a node, and items inserted at one place merge as a chunk.
func (m *yamlMerge) items(b, o, t *yamlNode) bool {
	bs := m.texts(m.base, b)
	ao, ok1 := alignItems(bs, m.texts(m.ours, o))
	at, ok2 := alignItems(bs, m.texts(m.theirs, t))
	if !ok1 || !ok2 {
		return false
	}
	for i := 0; i <= len(bs); i++ {
		mine, theirs := pick(o.kids, ao.ins[i]), pick(t.kids, at.ins[i])
		switch {
		case len(theirs) == 0 || m.ours.text(mine) == m.theirs.text(theirs):
		case len(mine) == 0:
			pos, ok := m.itemPos(o, ao.before(i))
			if !ok {
				return false
			}
			m.insert(pos, o.kids[0].col, theirs)
		default: // both inserted here, differently
			m.conflict(mine, theirs, -1, 0)
		}
		if i == len(bs) {
			return true
		}
		oj, tj := ao.at[i], at.at[i]
		base := []*yamlNode{b.kids[i]}
		switch {
		case oj >= 0 && tj >= 0:
			m.node(b.kids[i], o.kids[oj], t.kids[tj])
		case oj >= 0: // the template deleted it
			if m.ours.text(o.kids[oj:oj+1]) == m.base.text(base) {
				m.remove(o.kids[oj : oj+1])
			} else {
				m.conflict(o.kids[oj:oj+1], nil, -1, 0)
			}
		case tj >= 0: // the team deleted it
			if m.theirs.text(t.kids[tj:tj+1]) != m.base.text(base) {
				pos, ok := m.itemPos(o, ao.before(i))
				if !ok {
					return false
				}
				m.conflict(nil, t.kids[tj:tj+1], pos, o.kids[0].col)
			}
		}
	}
	return true
}

// itemAlignment is one side's sequence against the base's: at[i] is the
// side's index of base item i (-1: deleted); ins[i] the side's items
// inserted before base item i (ins[len(base)]: at the end).
type itemAlignment struct {
	at  []int
	ins [][]int
}

func alignItems(base, side []string) (itemAlignment, bool) {
	match, ok := lcsMatch(base, side)
	if !ok {
		return itemAlignment{}, false
	}
	a := itemAlignment{at: make([]int, len(base)), ins: make([][]int, len(base)+1)}
	i, j := 0, 0
	for next := 0; next <= len(base); next++ {
		if next < len(base) && match[next] < 0 {
			continue
		}
		to := len(side)
		if next < len(base) {
			to = match[next]
		}
		// The run base[i:next] became side[j:to].
		switch nb, ns := next-i, to-j; {
		case nb == ns:
			for x := range nb {
				a.at[i+x] = j + x
			}
		case nb == 0:
			for x := j; x < to; x++ {
				a.ins[i] = append(a.ins[i], x)
			}
		case ns == 0:
			for x := i; x < next; x++ {
				a.at[x] = -1
			}
		default:
			return itemAlignment{}, false // no item-by-item alignment
		}
		if next < len(base) {
			a.at[next] = to
		}
		i, j = next+1, to+1
	}
	return a, true
}

// before is the side's last item before base item i's place (-1: none).
func (a itemAlignment) before(i int) int {
	last := -1
	for k := 0; k < i && k < len(a.at); k++ {
		last = max(last, a.at[k])
	}
	for k := 0; k <= i && k < len(a.ins); k++ {
		for _, x := range a.ins[k] {
			last = max(last, x)
		}
	}
	return last
}

func pick(nodes []*yamlNode, idx []int) []*yamlNode {
	out := make([]*yamlNode, len(idx))
	for i, x := range idx {
		out[i] = nodes[x]
	}
	return out
}

// itemPos is where items go that follow the team's item after (-1: they
// go first).
func (m *yamlMerge) itemPos(o *yamlNode, after int) (int, bool) {
	if after >= 0 {
		return o.kids[after].end, true
	}
	if !m.ours.blankBefore(o.kids[0].start) {
		return 0, false
	}
	return m.ours.lineStart(o.kids[0].start), true
}

func (m *yamlMerge) texts(f *yamlFile, n *yamlNode) []string {
	out := make([]string, len(n.kids))
	for i, k := range n.kids {
		out[i] = f.text([]*yamlNode{k})
	}
	return out
}

// lcsMatch pairs equal items of a and b along a longest common
// subsequence: match[i] is b's index for a[i], or -1.
func lcsMatch(a, b []string) ([]int, bool) {
	if len(a)*len(b) > 1<<20 {
		return nil, false
	}
	n, w := len(a), len(b)+1
	dp := make([]int, (n+1)*w)
	for i := n - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i*w+j] = dp[(i+1)*w+j+1] + 1
			} else {
				dp[i*w+j] = max(dp[(i+1)*w+j], dp[i*w+j+1])
			}
		}
	}
	match := make([]int, n)
	i, j := 0, 0
	for i < n {
		switch {
		case j < len(b) && a[i] == b[j]:
			match[i] = j
			i, j = i+1, j+1
		case j < len(b) && dp[i*w+j+1] >= dp[(i+1)*w+j]:
			j++
		default:
			match[i] = -1
			i++
		}
	}
	return match, true
}

// replace puts the template's nodes where the team's are.
func (m *yamlMerge) replace(os, ts []*yamlNode) {
	start, end := os[0].start, os[len(os)-1].end
	text := indent(m.theirs.text(ts), os[0].col)
	if !bytes.HasSuffix(m.ours.data[start:end], []byte("\n")) {
		text = strings.TrimSuffix(text, "\n")
	}
	m.edit(start, end, text)
}

// insert adds the template's nodes at pos, a line start of the team's file.
func (m *yamlMerge) insert(pos, col int, ts []*yamlNode) {
	m.edit(pos, pos, m.lineBreak(pos)+strings.Repeat(" ", col)+indent(m.theirs.text(ts), col))
}

// remove deletes the team's nodes, whole lines.
func (m *yamlMerge) remove(os []*yamlNode) {
	if !m.ours.blankBefore(os[0].start) {
		m.conflict(os, nil, -1, 0)
		return
	}
	m.edit(m.ours.lineStart(os[0].start), os[len(os)-1].end, "")
}

// conflict puts markers around the team's nodes os (or, when os is empty,
// at pos with column col) and the template's ts.
func (m *yamlMerge) conflict(os, ts []*yamlNode, pos, col int) {
	m.conflicts++
	start, end, prefix := pos, pos, strings.Repeat(" ", col)
	var mine string
	if len(os) > 0 {
		start, end = m.ours.lineStart(os[0].start), os[len(os)-1].end
		prefix, col = string(m.ours.data[start:os[0].start]), os[0].col
		mine = string(m.ours.data[start:end])
		if !strings.HasSuffix(mine, "\n") {
			mine += "\n"
		}
	}
	var theirs string
	if len(ts) > 0 {
		theirs = prefix + indent(m.theirs.text(ts), col)
	}
	m.edit(start, end, m.lineBreak(start)+"<<<<<<< "+m.labels.Ours+"\n"+mine+"=======\n"+theirs+">>>>>>> "+m.labels.Theirs+"\n")
}

// lineBreak is the newline text needs before it at pos: at the end of a
// file that does not end in one.
func (m *yamlMerge) lineBreak(pos int) string {
	if pos > 0 && pos == len(m.ours.data) && m.ours.data[pos-1] != '\n' {
		return "\n"
	}
	return ""
}

func (m *yamlMerge) edit(start, end int, text string) {
	m.edits = append(m.edits, yamlEdit{start: start, end: end, text: text})
}

// apply splices the edits into the team's file; false if two overlap.
func (m *yamlMerge) apply() ([]byte, bool) {
	// By position; at one position, insertions before a replacement.
	slices.SortStableFunc(m.edits, func(a, b yamlEdit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return boolInt(a.end != a.start) - boolInt(b.end != b.start)
	})
	var out bytes.Buffer
	last := 0
	for _, e := range m.edits {
		if e.start < last || e.end < e.start {
			return nil, false
		}
		out.Write(m.ours.data[last:e.start])
		out.WriteString(e.text)
		last = e.end
	}
	out.Write(m.ours.data[last:])
	return out.Bytes(), true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
