package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"go.yaml.in/yaml/v3"
)

// ExampleModule is the module path `paved template check` and
// `paved template list` render defaults and conditions for.
const ExampleModule = "example.com/acme/example"

// Finding is one problem `paved template check` found, at a place in a
// template file (Line and Col count from 1).
type Finding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Col, f.Message)
}

// builtinData are the render data names every template may use.
var builtinData = []string{"Module", "Template", "Paved"}

// CheckTemplate lints the template in fsys without rendering a repository:
// the manifest, the answers its files, paths and conditions use, its
// globs, how its files parse, and the output-path policy. Findings are
// sorted; an error means the template could not be read at all.
func CheckTemplate(ctx context.Context, fsys fs.FS) ([]Finding, error) {
	data, err := fs.ReadFile(fsys, ManifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s: not a paved template (a plain Go module is copied as gonew does; there is nothing to check)", ManifestName)
	}
	if err != nil {
		return nil, err
	}
	c := &templateChecker{fsys: fsys}
	if fi, err := fs.Lstat(fsys, ManifestName); err == nil && !fi.Mode().IsRegular() {
		c.add(ManifestName, 1, 1, "not a regular file (a template's manifest cannot be a link)")
		return c.findings, nil
	}
	m, err := ParseManifest(ManifestName, data)
	if err != nil {
		var me *ManifestError
		if !errors.As(err, &me) {
			return nil, err
		}
		c.add(ManifestName, max(me.Line, 1), 1, "%s", me.Msg)
		return c.findings, nil
	}
	c.m = m
	c.pos = &m.pos
	if err := c.listFiles(ctx); err != nil {
		return nil, err
	}
	steps := []func(){
		c.questions,
		c.rules,
		c.unmatchedGlobs,
		c.files,
		c.cases,
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		step()
	}
	slices.SortFunc(c.findings, func(a, b Finding) int {
		if n := strings.Compare(a.File, b.File); n != 0 {
			return n
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Col != b.Col {
			return a.Col - b.Col
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(c.findings), nil
}

type templateChecker struct {
	fsys     fs.FS
	m        *Manifest
	pos      *manifestPos
	names    []string // template files, not paved's own
	entries  map[string]fs.DirEntry
	data     map[string]any // example render data, answers included
	dataOK   bool           // every default and condition rendered
	findings []Finding
}

func (c *templateChecker) add(file string, line, col int, format string, args ...any) {
	c.findings = append(c.findings, Finding{File: file, Line: line, Col: col, Message: fmt.Sprintf(format, args...)})
}

// addAt reports at a node of paved.yaml (or at line 1 when it is unknown).
func (c *templateChecker) addAt(n *yaml.Node, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	c.add(ManifestName, line, col, format, args...)
}

// listFiles lists the template's files as Render walks them.
func (c *templateChecker) listFiles(ctx context.Context) error {
	c.entries = map[string]fs.DirEntry{}
	return fs.WalkDir(c.fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case name == ".":
			return nil
		case d.Name() == ".git" && d.IsDir():
			return fs.SkipDir
		case d.Name() == ".git", d.IsDir(), name == ManifestName, name == TestsFileName:
			return nil
		}
		c.names = append(c.names, name)
		c.entries[name] = d
		return nil
	})
}

// questions checks what each question's default and condition refer to,
// and renders them, in order, for the example module.
func (c *templateChecker) questions() {
	asked := map[string]int{}
	for i, q := range c.m.Questions {
		asked[q.Name] = i
	}
	c.data = RenderData(ExampleModule, &Template{Source: "example", Version: "v0.0.0"}, "v0.0.0")
	c.dataOK = true
	for i, q := range c.m.Questions {
		qp := c.pos.question(i)
		badRefs := map[string]bool{}
		for _, part := range []struct {
			what string
			text string
			node *yaml.Node
		}{{"when", q.When, qp.when}, {"default", defaultText(q.Default), qp.dflt}} {
			if part.text == "" {
				continue
			}
			refs, ok := c.exprRefs(part.node, "question "+q.Name+": "+part.what, part.text)
			if !ok {
				badRefs[part.what] = true
			}
			for _, name := range refs {
				switch j, ok := asked[name]; {
				case slices.Contains(builtinData, name):
				case !ok:
					c.addAt(part.node, "question %s: %s uses .%s, which no question defines", q.Name, part.what, name)
					badRefs[part.what] = true
				case j >= i:
					c.addAt(part.node, "question %s: %s uses .%s, which is asked later (questions are asked in order)", q.Name, part.what, name)
					badRefs[part.what] = true
				}
			}
		}
		isAsked := true
		if q.When != "" {
			s, err := renderString(c.m, "when of "+q.Name, q.When, c.data)
			if err != nil {
				if !badRefs["when"] {
					c.addAt(qp.when, "question %s: when does not render for module %s: %s", q.Name, ExampleModule, manifestMsg(err))
				}
				c.dataOK = false
			}
			isAsked = isTrue(s)
		}
		value, err := q.defaultValue(c.m, c.data)
		if err != nil && badRefs["default"] {
			c.dataOK = false
			value = q.zero()
		} else if err != nil {
			n := qp.dflt
			if n == nil {
				n = qp.node
			}
			c.addAt(n, "question %s: default does not render for module %s: %s", q.Name, ExampleModule, manifestMsg(err))
			c.dataOK = false
			value = q.zero()
		}
		if !isAsked && q.Type == TypeBool {
			value = false
		}
		c.data[q.Name] = value
	}
}

// rules checks the files[].when conditions and rename targets.
func (c *templateChecker) rules() {
	for i, r := range c.m.Files {
		n := c.pos.filesWhen[i]
		refs, ok := c.exprRefs(n, fmt.Sprintf("files[%d] (%s): when", i, r.Path), r.When)
		bad := !ok
		c.undefined(refs, func(name string) {
			c.addAt(n, "files[%d] (%s): when uses .%s, which no question defines", i, r.Path, name)
			bad = true
		})
		if !c.dataOK || bad {
			continue
		}
		if _, err := renderString(c.m, "files["+r.Path+"].when", r.When, c.data); err != nil {
			c.addAt(n, "files[%d] (%s): when does not render for module %s: %s", i, r.Path, ExampleModule, manifestMsg(err))
		}
	}
	for from, to := range c.m.Rename {
		n := c.pos.renameTo[from]
		refs, _ := c.exprRefs(n, "rename "+from+": target", to)
		c.undefined(refs, func(name string) {
			c.addAt(n, "rename %s: target uses .%s, which no question defines", from, name)
		})
	}
}

// undefined calls report for each name that is neither built in nor a question.
func (c *templateChecker) undefined(names []string, report func(string)) {
	for _, name := range names {
		if !slices.Contains(builtinData, name) && c.m.question(name) == nil {
			report(name)
		}
	}
}

// unmatchedGlobs reports files globs, rename prefixes and exclude entries
// that match no template path: a typo, or a rule left behind.
func (c *templateChecker) unmatchedGlobs() {
	matches := func(glob string) bool {
		return slices.ContainsFunc(c.names, func(name string) bool { return doublestar.MatchUnvalidated(glob, name) })
	}
	for i, r := range c.m.Files {
		if !matches(r.Path) {
			c.addAt(c.pos.filesPath[i], "files[%d]: path %q matches no template file", i, r.Path)
		}
	}
	for from := range c.m.Rename {
		if !slices.ContainsFunc(c.names, func(name string) bool { return name == from || strings.HasPrefix(name, from+"/") }) {
			c.addAt(c.pos.renameFrom[from], "rename: %q is no template file or directory", from)
		}
	}
	for i, g := range c.m.Exclude {
		if !matches(g) {
			c.addAt(c.pos.exclude[i], "exclude: %q matches no template file", g)
		}
	}
}

// excluded reports whether exclude drops a template path.
func (c *templateChecker) excluded(name string) bool {
	return slices.ContainsFunc(c.m.Exclude, func(g string) bool { return doublestar.MatchUnvalidated(g, name) })
}

// cases checks the cases file, if any: that it parses, names only
// questions the template asks, and that golden trees inside the template
// are excluded from it.
func (c *templateChecker) cases() {
	data, err := fs.ReadFile(c.fsys, TestsFileName)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		c.add(TestsFileName, 1, 1, "unreadable: %v", err)
		return
	}
	tc, err := ParseTestCases(TestsFileName, data)
	if err != nil {
		line, col := errorPlace(err, TestsFileName)
		c.add(TestsFileName, line, col, "%s", templateMsg(err, TestsFileName))
		return
	}
	for _, tcase := range tc.Cases {
		for name := range tcase.Answers {
			if c.m.question(name) == nil {
				c.add(TestsFileName, tcase.Line, tcase.Col, "case %s: answer %s: the template has no such question", tcase.Name, name)
			}
		}
	}
	if !strings.HasPrefix(tc.Golden, "../") && tc.Golden != ".." {
		for _, name := range c.names {
			if strings.HasPrefix(name, tc.Golden+"/") && !c.excluded(name) {
				c.add(TestsFileName, 1, 1, "golden trees in %s would be rendered into repositories: add '%s/**' to exclude in %s", tc.Golden, tc.Golden, ManifestName)
				break
			}
		}
	}
}

// exprRefs lists the answers a template expression of paved.yaml (what)
// uses; ok is false when it does not parse or calls a refused function,
// which it reports.
func (c *templateChecker) exprRefs(n *yaml.Node, what, text string) (refs []string, ok bool) {
	if text == "" {
		return nil, true
	}
	t, err := parseTemplate(c.m, "expr", text)
	if err != nil {
		c.addAt(n, "does not parse: %s", templateMsg(err, "expr"))
		return nil, false
	}
	refused := reportRefused(t, func(call refusedCall) { c.addAt(n, "%s: %s", what, call.why) })
	return refNames(t), !refused
}

func defaultText(d any) string {
	if s, ok := d.(string); ok {
		return s
	}
	return ""
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

var placeRE = lazyRegexp(`^(?:template: )?(.*?):(\d+)(?::(\d+))?: `)

// errorPlace reads the line (and column) of a template or YAML error
// about name; 1, 1 when it names none.
func errorPlace(err error, name string) (int, int) {
	msg := err.Error()
	if m := placeRE().FindStringSubmatch(msg); m != nil && m[1] == name {
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		return max(line, 1), max(col, 1)
	}
	if m := regexp.MustCompile(`: line (\d+): `).FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return max(line, 1), 1
	}
	return 1, 1
}

// templateMsg is an error's message without the place it names.
func templateMsg(err error, name string) string {
	msg := err.Error()
	if m := placeRE().FindStringSubmatch(msg); m != nil && m[1] == name {
		return msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, name+": ")
	return regexp.MustCompile(`^line \d+: `).ReplaceAllString(msg, "")
}

// manifestMsg is a render error of paved.yaml without its "paved.yaml: " prefix.
func manifestMsg(err error) string {
	return strings.TrimPrefix(err.Error(), ManifestName+": ")
}

// notText reports whether content is not text: a NUL byte or invalid UTF-8.
func notText(content []byte) bool {
	return bytes.IndexByte(content, 0) >= 0 || !utf8.Valid(content)
}
