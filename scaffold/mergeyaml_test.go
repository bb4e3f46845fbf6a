package scaffold

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var yamlLabels = MergeLabels{Ours: "yours", Base: "template v1", Theirs: "template v2"}

func TestMergeYAML(t *testing.T) {
	tests := []struct {
		name               string
		base, ours, theirs string
		want               string
		conflicts          int
		notStructural      bool // left to the text merge
	}{{
		name:   "adjacent keys",
		base:   "# values\na: 1 # the a\nb: 2\n",
		ours:   "# values\na: 10 # the a\nb: 2\n",
		theirs: "# values\na: 1 # the a\nb: 20\n",
		want:   "# values\na: 10 # the a\nb: 20\n",
	}, {
		name:   "nested keys, formatting kept",
		base:   "image:\n  repository: app   # aligned\n  tag: v1\nreplicas: 1\n",
		ours:   "image:\n  repository: mine   # aligned\n  tag: v1\nreplicas: 1\n",
		theirs: "image:\n  repository: app   # aligned\n  tag: v2\nreplicas: 1\n",
		want:   "image:\n  repository: mine   # aligned\n  tag: v2\nreplicas: 1\n",
	}, {
		name:   "template adds a key after its neighbour, team adds one at the end",
		base:   "a: 1\nb: 2\nc: 3\n",
		ours:   "a: 1\nb: 2\nc: 30\nmine: x\n",
		theirs: "a: 1\nb: 2\nnew:\n  deep: true\nc: 3\n",
		want:   "a: 1\nb: 2\nnew:\n  deep: true\nc: 30\nmine: x\n",
	}, {
		name:   "template adds a key to a mapping the team indents by four",
		base:   "spec:\n  a: 1\n  b: 2\n",
		ours:   "spec:\n    a: 1\n    b: 3\n",
		theirs: "spec:\n  a: 1\n  b: 2\n  c:\n    - x\n",
		want:   "spec:\n    a: 1\n    b: 3\n    c:\n      - x\n",
	}, {
		name:   "template removes a key the team did not change",
		base:   "a: 1\nb: 2\nc: 3\n",
		ours:   "a: 1\nb: 2\nc: 30\n",
		theirs: "a: 1\nc: 3\nd: 4\n",
		want:   "a: 1\nc: 30\nd: 4\n",
	}, {
		name:   "different list items",
		base:   "steps:\n  - name: one\n    run: a\n  - name: two\n    run: b\n",
		ours:   "steps:\n  - name: one\n    run: a --mine\n  - name: two\n    run: b\n",
		theirs: "steps:\n  - name: one\n    run: a\n  - name: two\n    run: b --template\n",
		want:   "steps:\n  - name: one\n    run: a --mine\n  - name: two\n    run: b --template\n",
	}, {
		name:   "list items added on both sides",
		base:   "- a\n- b\n- c\n",
		ours:   "- mine\n- a\n- b\n- c\n",
		theirs: "- a\n- b\n- c\n- template\n",
		want:   "- mine\n- a\n- b\n- c\n- template\n",
	}, {
		name:   "template inserts a step before the one the team changed",
		base:   "steps:\n  - name: build\n    run: make\n  # the tests\n  - name: test\n    run: go test\n",
		ours:   "steps:\n  - name: build\n    run: make\n  # the tests\n  - name: test\n    run: go test -race\n",
		theirs: "steps:\n  - name: build\n    run: make\n  - name: vet\n    run: go vet\n  # the tests\n  - name: test\n    run: go test\n",
		want:   "steps:\n  - name: build\n    run: make\n  - name: vet\n    run: go vet\n  # the tests\n  - name: test\n    run: go test -race\n",
	}, {
		name:   "template deletes an item, team changes the next",
		base:   "- a\n- b\n- c\n",
		ours:   "- a\n- b\n- c2\n",
		theirs: "- a\n- c\n",
		want:   "- a\n- c2\n",
	}, {
		name:      "both insert at one place",
		base:      "- a\n- b\n",
		ours:      "- a\n- mine\n- b\n",
		theirs:    "- a\n- template\n- b\n",
		want:      "- a\n<<<<<<< yours\n- mine\n=======\n- template\n>>>>>>> template v2\n- b\n",
		conflicts: 1,
	}, {
		name:   "a block scalar ending in a hash line",
		base:   "script: |\n  make\n  # not a comment\nother: 1\nb: 2\n",
		ours:   "script: |\n  make\n  # not a comment\nother: 1\nb: 3\n",
		theirs: "script: |\n  make\n  # not a comment either\nother: 2\nb: 2\n",
		want:   "script: |\n  make\n  # not a comment either\nother: 2\nb: 3\n",
	}, {
		name:   "different keys of one list item",
		base:   "- name: x\n  a: 1\n  b: 2\n",
		ours:   "- name: x\n  a: 10\n  b: 2\n",
		theirs: "- name: x\n  a: 1\n  b: 20\n",
		want:   "- name: x\n  a: 10\n  b: 20\n",
	}, {
		name:      "same key on both sides",
		base:      "a: 1\nb:\n  c: 2\n  d: 3\n",
		ours:      "a: 1\nb:\n  c: mine\n  d: 3\n",
		theirs:    "a: 1\nb:\n  c: template\n  d: 4\n",
		want:      "a: 1\nb:\n<<<<<<< yours\n  c: mine\n=======\n  c: template\n>>>>>>> template v2\n  d: 4\n",
		conflicts: 1,
	}, {
		name:      "team changed what the template removed",
		base:      "a: 1\nb: 2\n",
		ours:      "a: 1\nb: 3\n",
		theirs:    "a: 2\n",
		want:      "a: 2\n<<<<<<< yours\nb: 3\n=======\n>>>>>>> template v2\n",
		conflicts: 1,
	}, {
		name:          "helm template",
		base:          "a: {{ .Values.a }}\nb: 2\n",
		ours:          "a: {{ .Values.a }}\nb: 3\n",
		theirs:        "a: {{ .Values.b }}\nb: 2\n",
		notStructural: true,
	}, {
		name:   "workflow expressions are YAML",
		base:   "env:\n  A: ${{ github.sha }}\n  B: one\n",
		ours:   "env:\n  A: ${{ github.sha }} # mine\n  B: one\n",
		theirs: "env:\n  A: ${{ github.sha }}\n  B: two\n",
		want:   "env:\n  A: ${{ github.sha }} # mine\n  B: two\n",
	}, {
		name:          "helm template after a workflow expression",
		base:          "a: ${{ x }}\nb: {{ .Values.b }}\n",
		ours:          "a: ${{ y }}\nb: {{ .Values.b }}\n",
		theirs:        "a: ${{ x }}\nb: {{ .Values.c }}\n",
		notStructural: true,
	}, {
		name:          "not YAML",
		base:          "a: [\n",
		ours:          "a: [1\n",
		theirs:        "a: [2\n",
		notStructural: true,
	}, {
		name:          "flow mapping changed on both sides",
		base:          "{a: 1, b: 2}\n",
		ours:          "{a: 3, b: 2}\n",
		theirs:        "{a: 1, b: 3}\n",
		notStructural: true,
	}, {
		name:   "no newline at the end",
		base:   "a: 1\nb: 2",
		ours:   "a: 3\nb: 2",
		theirs: "a: 1\nb: 2\nc: 3",
		want:   "a: 3\nb: 2\nc: 3\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, conflicts, ok := mergeYAML([]byte(tt.ours), []byte(tt.base), []byte(tt.theirs), yamlLabels)
			if ok == tt.notStructural {
				t.Fatalf("merged by structure: %v, want %v (%q)", ok, !tt.notStructural, got)
			}
			if !ok {
				return
			}
			if string(got) != tt.want || conflicts != tt.conflicts {
				t.Errorf("got %d conflict(s):\n%s\nwant %d:\n%s", conflicts, got, tt.conflicts, tt.want)
			}
		})
	}
}

// TestMergeFileYAML: a YAML conflict of the text merge goes to the
// structural merge, through mergeFile.
func TestMergeFileYAML(t *testing.T) {
	base, ours, theirs := "a: 1\nb: 2\n", "a: 10\nb: 2\n", "a: 1\nb: 20\n"
	for _, tt := range []struct {
		path string
		want Action
	}{{"values.yaml", ActionMerge}, {".github/workflows/ci.yml", ActionMerge}, {"values.txt", ActionConflict}} {
		c, err := mergeFile(context.Background(), scratchWorkTree(t), tt.path, &workFile{data: []byte(ours), mode: 0o644},
			File{Data: []byte(base), Mode: 0o644}, true, File{Data: []byte(theirs), Mode: 0o644}, true, yamlLabels)
		if err != nil {
			t.Fatal(err)
		}
		if c.Action != tt.want {
			t.Errorf("%s: %s, want %s:\n%s", tt.path, c.Action, tt.want, c.Data)
		}
		if tt.want == ActionMerge && string(c.Data) != "a: 10\nb: 20\n" {
			t.Errorf("%s merged to %q", tt.path, c.Data)
		}
	}
}

// FuzzMergeYAML: the structural merge never panics, and a clean result
// keeps every line the team wrote.
func FuzzMergeYAML(f *testing.F) {
	f.Add("a: 1\nb: 2\n", "a: 10\nb: 2\n", "a: 1\nb: 20\n")
	f.Add("steps:\n  - name: one\n    run: a\n  - name: two\n", "steps:\n  - name: one\n    run: b\n  - name: two\n", "steps:\n  - name: one\n    run: a\n  - name: three\n")
	f.Add("# c\nx:\n  y: [1, 2]\n  z: |\n    text\n", "# c\nx:\n  y: [1, 3]\n  z: |\n    text\n", "# c\nx:\n  y: [1, 2]\n  z: |\n    more\n")
	f.Add("- a: 1\n  b: 2\n- c\n", "- a: 1\n  b: 3\n- c\n- d\n", "- a: 2\n  b: 2\n- c\n")
	f.Add("k: &x\n  a: 1\nl: *x\n", "k: &x\n  a: 2\nl: *x\n", "k: &x\n  a: 1\nl: *x\nm: 1\n")
	f.Fuzz(func(t *testing.T, base, ours, theirs string) {
		got, conflicts, ok := mergeYAML([]byte(ours), []byte(base), []byte(theirs), yamlLabels)
		if !ok || conflicts > 0 {
			return
		}
		assertKeepsTeamLines(t, base, ours, string(got))
	})
}

// assertKeepsTeamLines fails when a line of ours that base lacks (ignoring
// indentation, which a merge may move with its block) is not in merged.
func assertKeepsTeamLines(t *testing.T, base, ours, merged string) {
	t.Helper()
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for l := range strings.SplitSeq(s, "\n") {
			m[strings.TrimSpace(l)] = true
		}
		return m
	}
	inBase, inMerged := set(base), set(merged)
	for l := range strings.SplitSeq(ours, "\n") {
		if l := strings.TrimSpace(l); !inBase[l] && !inMerged[l] {
			t.Fatalf("lost the team's line %q\nbase:\n%s\nours:\n%s\nmerged:\n%s", l, base, ours, merged)
		}
	}
}

// TestMergeYAMLRandom merges random edits of random nested documents
// (mappings, lists of scalars, lists of mappings, comments): no user value
// is ever lost, and a clean merge parses and holds every change of both
// sides that the other side did not also touch.
func TestMergeYAMLRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	iterations := 400
	if testing.Short() {
		iterations = 60
	}
	structural := 0
	for it := range iterations {
		seq := 0
		base := randomTree(rng, 0, &seq)
		ours := mutateTree(rng, base, fmt.Sprintf("user%d", it))
		theirs := mutateTree(rng, base, fmt.Sprintf("tmpl%d", it))
		b, o, th := renderTNode(base, 0), renderTNode(ours, 0), renderTNode(theirs, 0)
		got, conflicts, ok := mergeYAML([]byte(o), []byte(b), []byte(th), yamlLabels)
		if !ok {
			continue
		}
		structural++
		for _, word := range strings.Fields(o) {
			if strings.HasPrefix(word, "user") && !strings.Contains(string(got), word) {
				t.Fatalf("iteration %d lost %q\nbase:\n%s\nours:\n%s\ntheirs:\n%s\nmerged:\n%s", it, word, b, o, th, got)
			}
		}
		if conflicts > 0 {
			continue
		}
		if _, err := parseYAMLTree(got); err != nil {
			t.Fatalf("iteration %d: clean merge does not parse: %v\n%s", it, err, got)
		}
		for _, word := range strings.Fields(th) {
			if strings.HasPrefix(word, "tmpl") && !strings.Contains(string(got), word) {
				t.Fatalf("iteration %d dropped the template's %q\nbase:\n%s\nours:\n%s\ntheirs:\n%s\nmerged:\n%s", it, word, b, o, th, got)
			}
		}
	}
	t.Logf("%d of %d merged by structure", structural, iterations)
	if structural < iterations/2 {
		t.Errorf("only %d of %d merges went by structure", structural, iterations)
	}
}

// tnode is a random YAML value: a scalar, a mapping or a list.
type tnode struct {
	key     string // in a mapping
	scalar  string
	kids    []*tnode
	list    bool
	comment string // a comment line before it
	compact bool   // as a list item: "- key: value" on the dash's line
}

func randomTree(rng *rand.Rand, depth int, seq *int) *tnode {
	n := &tnode{list: depth > 0 && rng.IntN(3) == 0}
	for i := range 2 + rng.IntN(4) {
		*seq++
		k := &tnode{scalar: fmt.Sprintf("v%d", *seq)}
		if !n.list {
			k.key = fmt.Sprintf("k%d", i)
		}
		if depth < 2 && rng.IntN(3) == 0 {
			c := randomTree(rng, depth+1, seq)
			c.key, c.compact = k.key, rng.IntN(2) == 0
			k = c
		}
		if rng.IntN(5) == 0 {
			k.comment = fmt.Sprintf("# note %d", *seq)
		}
		n.kids = append(n.kids, k)
	}
	return n
}

func cloneTree(n *tnode) *tnode {
	c := *n
	c.kids = nil
	for _, k := range n.kids {
		c.kids = append(c.kids, cloneTree(k))
	}
	return &c
}

// mutateTree changes, adds and removes a few values anywhere, tagging what
// it writes.
func mutateTree(rng *rand.Rand, base *tnode, tag string) *tnode {
	root := cloneTree(base)
	var all []*tnode
	var walk func(*tnode)
	walk = func(n *tnode) {
		if n.kids != nil {
			all = append(all, n)
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(root)
	for x := range 1 + rng.IntN(3) {
		n := all[rng.IntN(len(all))]
		i := rng.IntN(len(n.kids))
		switch rng.IntN(3) {
		case 0:
			k := &tnode{scalar: fmt.Sprintf("%s-add%d", tag, x)}
			if !n.list {
				k.key = fmt.Sprintf("%s-key%d", tag, x)
			}
			n.kids = slices.Insert(n.kids, i, k)
		case 1:
			if n.kids[i].kids == nil {
				n.kids[i].scalar = fmt.Sprintf("%s-chg%d", tag, x)
			}
		case 2:
			if len(n.kids) > 1 && n.kids[i].kids == nil && !strings.HasPrefix(n.kids[i].scalar, tag) {
				n.kids = slices.Delete(n.kids, i, i+1)
			}
		}
	}
	return root
}

func renderTNode(n *tnode, indent int) string {
	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for _, k := range n.kids {
		if k.comment != "" {
			b.WriteString(pad + k.comment + "\n")
		}
		head := pad + k.key + ":"
		if n.list {
			head = pad + "-"
		}
		if k.kids == nil {
			b.WriteString(head + " " + k.scalar + "\n")
			continue
		}
		inner := renderTNode(k, indent+2)
		if n.list && k.compact {
			b.WriteString(pad + "- " + inner[indent+2:])
			continue
		}
		b.WriteString(head + "\n" + inner)
	}
	return b.String()
}
