package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/bmatcuk/doublestar/v4"
	"golang.org/x/mod/modfile"
)

// File is one file of a rendered tree.
type File struct {
	Path string // slash-separated, relative to the repository root
	Data []byte
	Mode fs.FileMode // 0o644 or 0o755; for a symbolic link, fs.ModeSymlink
	Link string      // target of a symbolic link, relative
}

// RenderInput is what a template is rendered with.
type RenderInput struct {
	Template *Template
	Manifest *Manifest // nil for a plain Go module
	Module   string
	Data     map[string]any // render data, answers included; see RenderData
}

// RenderData is the data templates see: .Module, .Template.Source,
// .Template.Version, .Paved.Version; answers are added by ResolveAnswers.
func RenderData(modPath string, t *Template, pavedVersion string) map[string]any {
	return map[string]any{
		"Module":   modPath,
		"Template": map[string]any{"Source": t.Source, "Version": t.Version},
		"Paved":    map[string]any{"Version": pavedVersion},
	}
}

// Render renders a template into memory, sorted by path. It reads only the
// template's fs.FS and writes nothing.
func Render(ctx context.Context, in RenderInput) ([]File, error) {
	m := in.Manifest
	if m == nil {
		m = &Manifest{Delims: [2]string{"{{", "}}"}}
	}
	r := &renderer{m: m, data: in.Data, plain: in.Manifest == nil, ruleResults: map[int]bool{}}
	var files []File
	err := fs.WalkDir(in.Template.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !r.plain && name == ManifestName {
			return nil
		}
		f, keep, err := r.file(in.Template.FS, name, d)
		if err != nil || !keep {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for i := 1; i < len(files); i++ {
		if files[i].Path == files[i-1].Path {
			return nil, fmt.Errorf("two template files render to %s", files[i].Path)
		}
	}
	if err := rewriteModulePath(files, in.Module); err != nil {
		return nil, err
	}
	return files, nil
}

type renderer struct {
	m           *Manifest
	data        map[string]any
	plain       bool         // a plain Go module: copy, gonew-style
	ruleResults map[int]bool // evaluated files[].when, by rule index
}

// file renders one template file; keep is false when a rule drops it.
func (r *renderer) file(fsys fs.FS, name string, d fs.DirEntry) (f File, keep bool, err error) {
	if keep, err = r.wanted(name); err != nil || !keep {
		return File{}, false, err
	}
	out := name
	if !r.plain {
		if out, keep, err = r.outputPath(name); err != nil || !keep {
			return File{}, false, err
		}
	}
	if d.Type()&fs.ModeSymlink != 0 {
		target, err := fs.ReadLink(fsys, name)
		if err != nil {
			return File{}, false, err
		}
		if path.IsAbs(target) || !validTemplatePath(path.Join(path.Dir(out), target)) {
			return File{}, false, fmt.Errorf("%s: symbolic link to %s leaves the repository", name, target)
		}
		return File{Path: out, Mode: fs.ModeSymlink, Link: target}, true, nil
	}
	if !d.Type().IsRegular() {
		return File{}, false, fmt.Errorf("%s: not a regular file or link", name)
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return File{}, false, err
	}
	info, err := d.Info()
	if err != nil {
		return File{}, false, err
	}
	mode := fs.FileMode(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	if !r.plain && strings.HasSuffix(out, ".tmpl") {
		out = strings.TrimSuffix(out, ".tmpl")
		if !validTemplatePath(out) {
			return File{}, false, fmt.Errorf("%s: renders to the empty name", name)
		}
		if data, err = r.execute(name, string(data)); err != nil {
			return File{}, false, err
		}
	}
	return File{Path: out, Data: data, Mode: mode}, true, nil
}

// wanted applies exclude and files rules to a template path.
func (r *renderer) wanted(name string) (bool, error) {
	for _, g := range r.m.Exclude {
		if doublestar.MatchUnvalidated(g, name) {
			return false, nil
		}
	}
	for i, rule := range r.m.Files {
		if !doublestar.MatchUnvalidated(rule.Path, name) {
			continue
		}
		keep, done := r.ruleResults[i]
		if !done {
			s, err := renderString(r.m, "files["+rule.Path+"].when", rule.When, r.data)
			if err != nil {
				return false, err
			}
			keep = isTrue(s)
			r.ruleResults[i] = keep
		}
		if !keep {
			return false, nil
		}
	}
	return true, nil
}

// outputPath applies rename and renders the path's segments. A segment that
// renders empty drops the file.
func (r *renderer) outputPath(name string) (string, bool, error) {
	out := name
	best := ""
	for from := range r.m.Rename {
		if (name == from || strings.HasPrefix(name, from+"/")) && len(from) > len(best) {
			best = from
		}
	}
	if best != "" {
		out = r.m.Rename[best] + strings.TrimPrefix(name, best)
	}
	if strings.Contains(out, r.m.Delims[0]) {
		rendered, err := renderString(r.m, "path "+name, out, r.data)
		if err != nil {
			return "", false, err
		}
		out = rendered
	}
	for seg := range strings.SplitSeq(out, "/") {
		if seg == "" {
			return "", false, nil
		}
	}
	if !validTemplatePath(out) {
		return "", false, fmt.Errorf("%s: output path %q leaves the repository", name, out)
	}
	return out, true, nil
}

func (r *renderer) execute(name, text string) ([]byte, error) {
	t, err := newTemplate(r.m, name).Parse(text)
	if err != nil {
		return nil, templateError(err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, r.data); err != nil {
		return nil, templateError(err)
	}
	return buf.Bytes(), nil
}

// newTemplate starts a template in the manifest's template set. Templates
// of one set share their function map, so a render copies it once, not once
// per file.
func newTemplate(m *Manifest, name string) *template.Template {
	if m.templates == nil {
		m.templates = template.New(ManifestName).Delims(m.Delims[0], m.Delims[1]).Funcs(templateFuncs()).Option("missingkey=error")
	}
	return m.templates.New(name)
}

// renderString renders a short template (a default, a condition, a path);
// what names it in errors.
func renderString(m *Manifest, what, text string, data map[string]any) (string, error) {
	t, err := newTemplate(m, what).Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ManifestName, templateError(err))
	}
	var buf strings.Builder
	if err := t.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("%s: %w", ManifestName, templateError(err))
	}
	return buf.String(), nil
}

// templateError drops text/template's "template: " prefix so errors read
// file:line: message.
func templateError(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "template: "))
}

// rewriteModulePath renames the template's module to modPath, as gonew does:
// the module line of go.mod (and of nested modules below it) and every import
// of the old path in .go files.
func rewriteModulePath(files []File, modPath string) error {
	i := slices.IndexFunc(files, func(f File) bool { return f.Path == "go.mod" })
	if i < 0 {
		return nil
	}
	srcMod := modfile.ModulePath(files[i].Data)
	if srcMod == "" || srcMod == modPath {
		return nil
	}
	for i := range files {
		f := &files[i]
		var err error
		switch {
		case f.Mode&fs.ModeSymlink != 0:
			continue
		case path.Base(f.Path) == "go.mod":
			f.Data, err = rewriteGoMod(f.Path, f.Data, srcMod, modPath)
		case strings.HasSuffix(f.Path, ".go"):
			f.Data, err = rewriteGoImports(f.Path, f.Data, srcMod, modPath, !strings.Contains(f.Path, "/"))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
