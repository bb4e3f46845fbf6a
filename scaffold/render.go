package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync/atomic"
	"text/template"

	"github.com/bmatcuk/doublestar/v4"
)

// File is one file of a rendered tree.
type File struct {
	Path string // slash-separated, relative to the repository root
	Data []byte
	Mode fs.FileMode // 0o644 or 0o755; for a symbolic link, fs.ModeSymlink
	Link string      // target of a symbolic link, relative
	// Source is the template file it was rendered from, for errors.
	Source string
}

// RenderInput is what a template is rendered with.
type RenderInput struct {
	Template *Template
	Manifest *Manifest // nil for a plain Go module
	Module   string
	Data     map[string]any // render data, answers included; see RenderData
	Limits   Limits         // zero fields take the defaults (DefaultLimits)
}

// RenderData is the data templates see: .Module, .Template.Source,
// .Template.Version, .Paved.Version, .Paved.Checkout (see
// Template.PavedCheckout); answers are added by ResolveAnswers.
func RenderData(modPath string, t *Template, pavedVersion string) map[string]any {
	return map[string]any{
		"Module":   modPath,
		"Template": map[string]any{"Source": t.Source, "Version": t.Version},
		"Paved":    map[string]any{"Version": pavedVersion, "Checkout": t.PavedCheckout},
	}
}

// Render renders a template into memory, sorted by path. It reads only the
// template's fs.FS and writes nothing.
//
// It is bounded by in.Limits: past the deadline or when ctx ends it returns
// at once, with an error naming the file it was rendering, although the
// render itself cannot be stopped (see runBounded): a program should exit
// soon after such an error. A file or the whole tree over its size cap, or a
// template function asked for more than its cap, is an error too.
func Render(ctx context.Context, in RenderInput) ([]File, error) {
	m := in.Manifest
	if m == nil {
		m = &Manifest{Delims: [2]string{"{{", "}}"}}
	}
	if !m.bounded() {
		m.bound(in.Limits)
	}
	e := m.evaluation()
	var current atomic.Pointer[string] // the template file being rendered
	files, err := evaluate(ctx, e, func(ctx context.Context) ([]File, error) {
		return renderTree(ctx, in, m, e, &current)
	})
	if errors.Is(err, errRenderTimeout) {
		name := ""
		if p := current.Load(); p != nil {
			name = *p
		}
		return nil, timeoutError(name, e.lim.Timeout)
	}
	return files, err
}

// renderTree is Render's work, run by runBounded. It walks the template
// and settles each file's output path, in walk order (path templates share
// the manifest's template set); reads the files, each on its own, so on
// all cores; then renders them in walk order.
func renderTree(ctx context.Context, in RenderInput, m *Manifest, e *evaluation, current *atomic.Pointer[string]) ([]File, error) {
	r := &renderer{m: m, data: in.Data, plain: in.Manifest == nil, ruleResults: map[int]bool{}, expanded: map[string]string{}, budget: e.output}
	fsys := in.Template.FS
	var jobs []fileJob
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		if d.Name() == ".git" {
			// The template repository's own git metadata (a directory, or a
			// file in a linked work tree) is never part of the template.
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !r.plain && (name == ManifestName || name == TestsFileName) {
			return nil
		}
		current.Store(&name)
		job, keep, err := r.plan(fsys, name, d)
		if err != nil || !keep {
			return err
		}
		jobs = append(jobs, job)
		return nil
	})
	if err != nil {
		return nil, err
	}
	forEach(len(jobs), func(k int) {
		j := &jobs[k]
		if j.file.Mode&fs.ModeSymlink != 0 {
			return
		}
		if j.err = ctx.Err(); j.err == nil {
			j.file.Data, j.file.Mode, j.err = readTemplateFile(fsys, j.file.Source)
		}
	})
	early, rewritten := rewriteCopied(jobs, in.Module)
	kept := make([]*fileJob, 0, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if j.err != nil {
			return nil, j.err // the first file's in walk order, as one loop would
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := j.file.Source
		current.Store(&name)
		// Without an action a template is its text (which the caps still
		// bound, below): parsing it would not change a byte.
		if j.template && bytes.Contains(j.file.Data, []byte(r.m.Delims[0])) {
			if j.file.Data, err = r.execute(name, string(j.file.Data)); err != nil {
				return nil, err
			}
		}
		if err := r.budget.add(name, int64(len(j.file.Data))); err != nil {
			return nil, err
		}
		kept = append(kept, j)
	}
	<-rewritten
	for _, j := range kept {
		if j.rewritten {
			j.file.Data = j.rewrittenData
		}
	}
	slices.SortFunc(kept, func(a, b *fileJob) int { return strings.Compare(a.file.Path, b.file.Path) })
	files := make([]File, len(kept))
	for i, j := range kept {
		files[i] = j.file
	}
	for i := 1; i < len(files); i++ {
		if files[i].Path == files[i-1].Path {
			return nil, fmt.Errorf("%s and %s both render to %s", files[i-1].Source, files[i].Source, files[i].Path)
		}
	}
	if err := CheckTree(files); err != nil {
		return nil, err
	}
	errs := make([]error, len(files))
	var todo []int
	for i, j := range kept {
		if j.rewritten {
			errs[i] = j.rewriteErr
		} else {
			todo = append(todo, i)
		}
	}
	rw := early
	if rw == nil {
		rw = newModuleRewrite(files, in.Module) // from the rendered root go.mod
	}
	if rw != nil {
		rw.applyAll(files, todo, errs)
	}
	for _, err := range errs {
		if err != nil {
			return nil, err // the first file's in path order
		}
	}
	return files, nil
}

type renderer struct {
	m           *Manifest
	data        map[string]any
	plain       bool              // a plain Go module: copy, gonew-style
	ruleResults map[int]bool      // evaluated files[].when, by rule index
	expanded    map[string]string // rendered path segments, by their text
	budget      *outputBudget
}

// fileJob is one template file on its way to the rendered tree: its
// output path settled, its bytes (read) and rendering to come.
type fileJob struct {
	file     File // Path, Source; for a link also Mode and Link
	template bool // a .tmpl file, to be rendered
	err      error
	// rewritten: the module path was rewritten while the templates
	// rendered, to rewrittenData, with rewriteErr.
	rewritten     bool
	rewrittenData []byte
	rewriteErr    error
}

// plan settles a template file's output path; keep is false when a rule
// drops it.
func (r *renderer) plan(fsys fs.FS, name string, d fs.DirEntry) (j fileJob, keep bool, err error) {
	if keep, err = r.wanted(name); err != nil || !keep {
		return fileJob{}, false, err
	}
	out := name
	if !r.plain {
		if out, keep, err = r.outputPath(name); err != nil || !keep {
			return fileJob{}, false, err
		}
	}
	if d.Type()&fs.ModeSymlink != 0 {
		target, err := fs.ReadLink(fsys, name)
		if err != nil {
			return fileJob{}, false, err
		}
		return fileJob{file: File{Path: out, Mode: fs.ModeSymlink, Link: target, Source: name}}, true, nil
	}
	if !d.Type().IsRegular() {
		return fileJob{}, false, fmt.Errorf("%s: not a regular file or link", name)
	}
	j = fileJob{file: File{Path: out, Source: name}}
	if !r.plain && strings.HasSuffix(out, ".tmpl") {
		j.file.Path, j.template = strings.TrimSuffix(out, ".tmpl"), true
		if err := CheckPath(j.file.Path); err != nil {
			return fileJob{}, false, fmt.Errorf("%s: %w", name, err)
		}
	}
	return j, true, nil
}

// readTemplateFile reads a template file (as fs.ReadFile does) and says the mode
// it gets in the tree: 0o755 when any execute bit is set, else 0o644. The
// mode is the opened file's: no second look-up of the name.
func readTemplateFile(fsys fs.FS, name string) ([]byte, fs.FileMode, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	data := make([]byte, 0, max(info.Size(), 0)+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, err
		}
	}
	mode := fs.FileMode(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	return data, mode, nil
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
			s, err := r.expand("files["+rule.Path+"].when", rule.When)
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

// execute renders one template file through a limitWriter, so that it
// stops at the first write past the per-file or the total cap.
func (r *renderer) execute(name, text string) ([]byte, error) {
	t, err := r.m.parse(name, text)
	if err != nil {
		return nil, templateError(err)
	}
	w := &limitWriter{budget: r.budget}
	if err := t.Execute(w, r.data); err != nil {
		return nil, executeError(name, err)
	}
	return w.buf.Bytes(), nil
}

// expand renders a path, a path segment or a files[].when condition of
// the render; what names it in errors. It runs in the render's goroutine,
// bound by the render's deadline and caps, and renders each distinct text
// once: the render data do not change during a render, so the segment
// "<% .Name %>" of a directory's fifty files renders as one.
func (r *renderer) expand(what, text string) (string, error) {
	if s, ok := r.expanded[text]; ok {
		return s, nil
	}
	if r.budget == nil {
		// Not a render (CheckTemplate's renderer): bounded on its own.
		return renderString(r.m, what, text, r.data)
	}
	t, err := r.m.parse(what, text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ManifestName, templateError(err))
	}
	w := &limitWriter{budget: r.budget}
	if err := t.Execute(w, r.data); err != nil {
		return "", fmt.Errorf("%s: %w", ManifestName, executeError(what, err))
	}
	if err := r.budget.add(ManifestName+": "+what, int64(w.buf.Len())); err != nil {
		return "", err
	}
	s := w.buf.String()
	if r.expanded != nil {
		r.expanded[text] = s
	}
	return s, nil
}

// newTemplate starts a template in the manifest's template set. Templates
// of one set share their function map, so a render makes it once, not once
// per file; the functions are bound to the manifest's evaluation, whose
// caps hold for the whole set (the render and the manifest's expressions).
func newTemplate(m *Manifest, name string) *template.Template {
	if m.templates == nil {
		e := m.evaluation()
		m.templates = template.New(ManifestName).Delims(m.Delims[0], m.Delims[1]).
			Funcs(funcMap(e.funcs)).Option("missingkey=error")
	}
	return m.templates.New(name)
}

// renderString renders a short template of the manifest (a default, a
// condition, a path); what names it in errors. It is part of the
// manifest's evaluation: the time and the bytes it takes count against
// the template's one deadline and caps.
func renderString(m *Manifest, what, text string, data map[string]any) (string, error) {
	e := m.evaluation()
	t, err := m.parse(what, text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ManifestName, templateError(err))
	}
	// No ctx reaches here (answers are resolved without one); the deadline
	// bounds the expression, and cmd/paved exits on a signal by itself.
	out, err := evaluate(context.Background(), e, func(ctx context.Context) (string, error) {
		w := &limitWriter{budget: e.output}
		if err := t.Execute(w, data); err != nil {
			return "", executeError(what, err)
		}
		if err := e.output.add(what, int64(w.buf.Len())); err != nil {
			return "", err
		}
		return w.buf.String(), nil
	})
	if errors.Is(err, errRenderTimeout) {
		err = timeoutError(what, e.lim.Timeout)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", ManifestName, err)
	}
	return out, nil
}

// executeError is the one line an execution ends with: text/template's
// message (it names the file and line), or the limit it ran into, named
// with the file.
func executeError(name string, err error) error {
	var size *sizeError
	switch {
	case errors.As(err, &size):
		return fmt.Errorf("%s: %w", name, size)
	case errors.Is(err, errAbandoned):
		return err
	}
	return templateError(err)
}

// templateError drops text/template's "template: " prefix so errors read
// file:line: message, and says why a refused function is refused.
func templateError(err error) error {
	return errors.New(explainRefused(strings.TrimPrefix(err.Error(), "template: ")))
}
