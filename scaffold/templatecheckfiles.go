package scaffold

import (
	"bytes"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"unicode/utf8"
)

// The template check of each template file: its output path, how it parses, what it uses.

// files checks every file that can be rendered: its path (answers used,
// the output-path policy) and its content.
func (c *templateChecker) files() {
	r := &renderer{m: c.m, data: c.data, ruleResults: map[int]bool{}}
	var tree []File
	for _, name := range c.names {
		if c.excluded(name) {
			continue
		}
		d := c.entries[name]
		out, ok := c.path(r, name)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := fs.ReadLink(c.fsys, name)
			if err != nil {
				c.add(name, 1, 1, "unreadable link: %v", err)
				continue
			}
			if ok {
				tree = append(tree, File{Path: out, Mode: fs.ModeSymlink, Link: target, Source: name})
			}
			continue
		}
		if !d.Type().IsRegular() {
			c.add(name, 1, 1, "not a regular file or link: render refuses it")
			continue
		}
		content, err := fs.ReadFile(c.fsys, name)
		if err != nil {
			c.add(name, 1, 1, "unreadable: %v", err)
			continue
		}
		if strings.HasSuffix(name, ".tmpl") {
			c.tmplFile(name, content)
		} else {
			c.plainFile(name, content)
		}
		if ok {
			tree = append(tree, File{Path: strings.TrimSuffix(out, ".tmpl"), Mode: 0o644, Source: name})
		}
	}
	if !c.dataOK {
		return
	}
	slices.SortFunc(tree, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(tree); i++ {
		if tree[i].Path == tree[i-1].Path {
			c.add(tree[i].Source, 1, 1, "renders to %s for module %s, as %s does", tree[i].Path, ExampleModule, tree[i-1].Source)
		}
	}
	for _, err := range CheckTreeAll(tree) {
		file := ManifestName
		var pe *PathError
		if errors.As(err, &pe) {
			for _, f := range tree {
				if f.Path == pe.Path {
					file = f.Source
				}
			}
		}
		c.add(file, 1, 1, "the output-path policy refuses it: %s", strings.TrimPrefix(err.Error(), file+": "))
	}
}

// path checks a template path's answers and renders it for the example
// module; ok is false when it has no output path to check further.
func (c *templateChecker) path(r *renderer, name string) (string, bool) {
	if strings.Contains(name, c.m.Delims[0]) {
		if t, err := parseTemplate(c.m, name, name); err == nil {
			bad := reportRefused(t, func(call refusedCall) { c.add(name, 1, 1, "path: %s", call.why) })
			c.undefined(refNames(t), func(ref string) {
				c.add(name, 1, 1, "path uses .%s, which no question defines", ref)
				bad = true
			})
			if bad {
				return "", false
			}
		} else {
			c.add(name, 1, 1, "path does not parse: %s", templateMsg(err, name))
			return "", false
		}
	}
	if !c.dataOK {
		return "", false
	}
	out, keep, err := r.outputPath(name)
	switch {
	case err != nil && errors.As(err, new(*PathError)):
		c.add(name, 1, 1, "the output-path policy refuses it (module %s): %s", ExampleModule, strings.TrimPrefix(err.Error(), name+": "))
		return "", false
	case err != nil:
		c.add(name, 1, 1, "path does not render for module %s: %s", ExampleModule, manifestMsg(err))
		return "", false
	case !keep:
		return "", false
	}
	if strings.HasSuffix(out, ".tmpl") {
		if err := CheckPath(strings.TrimSuffix(out, ".tmpl")); err != nil {
			c.add(name, 1, 1, "the output-path policy refuses it: %v", err)
			return "", false
		}
	}
	return out, true
}

// tmplFile checks a file that is rendered.
func (c *templateChecker) tmplFile(name string, content []byte) {
	if notText(content) {
		c.add(name, 1, 1, "is binary but ends in .tmpl: it would be rendered as text; drop the .tmpl suffix")
		return
	}
	t, err := parseTemplate(c.m, name, string(content))
	if err != nil {
		line, col := errorPlace(err, name)
		c.add(name, line, col, "does not parse with delims %s %s: %s", c.m.Delims[0], c.m.Delims[1], templateMsg(err, name))
		return
	}
	reportRefused(t, func(call refusedCall) { c.add(name, call.line, call.col, "%s", call.why) })
	for _, ref := range fieldRefs(t.Tree) {
		if slices.Contains(builtinData, ref.name) || c.m.question(ref.name) != nil {
			continue
		}
		line, col := nodePlace(t.Tree, ref.node)
		c.add(name, line, col, "uses .%s, which no question defines", ref.name)
	}
	// A .tmpl.tmpl file makes a .tmpl file: a template for a later render,
	// which may well hold no action of this one.
	if !hasAction(t.Root) && !strings.HasSuffix(name, ".tmpl.tmpl") {
		c.add(name, 1, 1, "ends in .tmpl but holds no %s action: drop the .tmpl suffix (it is copied as it is)", c.m.Delims[0])
	}
}

// plainFile checks a file that is copied byte for byte.
func (c *templateChecker) plainFile(name string, content []byte) {
	if c.m.Delims != [2]string{"{{", "}}"} || notText(content) {
		return
	}
	i := bytes.Index(content, []byte("{{"))
	if i < 0 {
		return
	}
	line := 1 + bytes.Count(content[:i], []byte("\n"))
	col := 1 + utf8.RuneCount(content[bytes.LastIndexByte(content[:i], '\n')+1:i])
	c.add(name, line, col, `holds {{ but is not a .tmpl file, so it is copied as it is; if it is a Helm or Actions file, set delims: ["<%%", "%%>"] in paved.yaml so that it can be a .tmpl file and keep its {{ }}; if it should be rendered, add .tmpl`)
}
