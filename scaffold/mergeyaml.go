package scaffold

import (
	"bytes"
	"path"
	"slices"
	"strings"
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
