package scaffold

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"runtime"

	"golang.org/x/mod/module"
)

// Plan is a template opened and answered, ready to render: what New,
// Update and tests share.
type Plan struct {
	Source   Source // where Template came from; nil when it was given as is
	Template *Template
	Manifest *Manifest // nil for a plain Go module
	Data     map[string]any
	Answers  map[string]any
	Paved    string // the paved version templates see
	Limits   Limits // bound the render
}

// Prepare opens the template spec names (at the version it names, or the
// newest), reads its manifest and resolves the answers.
func Prepare(ctx context.Context, r *Resolver, spec, modPath, pavedVersion string, in AnswerInput) (*Plan, error) {
	return prepare(ctx, r, spec, "", modPath, pavedVersion, in)
}

// prepare is the one prepare path, of new, template test and Prepare: to
// is a version asked for beside spec ("" for the spec's, or the newest).
func prepare(ctx context.Context, r *Resolver, spec, to, modPath, pavedVersion string, in AnswerInput) (*Plan, error) {
	if err := module.CheckPath(modPath); err != nil {
		return nil, fmt.Errorf("invalid module path %q: %w", modPath, err)
	}
	src, version, err := r.Source(spec)
	if err != nil {
		return nil, err
	}
	if to != "" {
		if version != "" {
			return nil, fmt.Errorf("template %s names a version, and --to names %s: give one", spec, to)
		}
		version = to
	}
	t, err := src.Open(ctx, version)
	if err != nil {
		return nil, err
	}
	p, err := preparePlan(t, modPath, pavedVersion, in, r.RenderLimits)
	if err != nil {
		return nil, err
	}
	p.Source = src
	return p, nil
}

// preparePlan answers a template's questions: the one prepare path of new
// and update.
func preparePlan(t *Template, modPath, pavedVersion string, in AnswerInput, lim Limits) (*Plan, error) {
	m, err := ReadManifest(t.FS)
	if err != nil {
		return nil, err
	}
	return planWith(t, m, modPath, pavedVersion, in, lim)
}

// planWith is preparePlan with the manifest already read. lim bounds the
// template's whole evaluation, from its first default to its last file.
func planWith(t *Template, m *Manifest, modPath, pavedVersion string, in AnswerInput, lim Limits) (*Plan, error) {
	var err error
	p := &Plan{Template: t, Manifest: m, Data: RenderData(modPath, t, pavedVersion), Answers: map[string]any{}, Paved: pavedVersion, Limits: lim}
	if m == nil {
		if len(in.Set) > 0 || len(in.Given) > 0 {
			return nil, errors.New("answers given, but the template is a plain Go module with no questions")
		}
		return p, nil
	}
	m.bound(lim)
	if p.Answers, err = ResolveAnswers(m, p.Data, in); err != nil {
		return nil, err
	}
	return p, nil
}

// ReadManifest reads paved.yaml from a template's root; a template without
// one is a plain Go module and gets a nil manifest.
func ReadManifest(fsys fs.FS) (*Manifest, error) {
	// A link could make paved read a file of the host as the manifest.
	if fi, err := fs.Lstat(fsys, ManifestName); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (a template's manifest cannot be a link)", ManifestName)
	}
	data, err := fs.ReadFile(fsys, ManifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseManifest(ManifestName, data)
}

// Render renders the plan and adds paved's own files: the answers file
// and the render lock.
func (p *Plan) Render(ctx context.Context) ([]File, error) {
	files, err := p.renderTemplate(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Path == AnswersFileName || f.Path == LockFileName {
			return nil, fmt.Errorf("the template has its own %s; paved writes that file", f.Path)
		}
	}
	af := &AnswersFile{Template: p.Template.Source, Version: p.Template.Version, Commit: p.Template.Commit, Module: p.module(), Answers: p.Answers}
	answers, err := af.Marshal(p.questions())
	if err != nil {
		return nil, err
	}
	lock, err := lockOnAllCores(files, p.Answers, p.Paved).Marshal()
	if err != nil {
		return nil, err
	}
	return append(files,
		File{Path: AnswersFileName, Data: answers, Mode: 0o644},
		File{Path: LockFileName, Data: lock, Mode: 0o644}), nil
}

// lockOnAllCores is newLock with the files' digests taken on all cores:
// hashing is most of the lock's cost (gopls: 10 MB), and each part of the
// tree is its own.
func lockOnAllCores(files []File, answers map[string]any, pavedVersion string) *Lock {
	parts := min(runtime.GOMAXPROCS(0), len(files))
	if parts <= 1 {
		return newLock(files, answers, pavedVersion)
	}
	locks := make([]*Lock, parts)
	forEach(parts, func(k int) {
		locks[k] = newLock(files[k*len(files)/parts:(k+1)*len(files)/parts], answers, pavedVersion)
	})
	for _, l := range locks[1:] {
		maps.Copy(locks[0].Files, l.Files)
	}
	return locks[0]
}

// renderTemplate renders the template's files only.
func (p *Plan) renderTemplate(ctx context.Context) ([]File, error) {
	return Render(ctx, RenderInput{Template: p.Template, Manifest: p.Manifest, Module: p.module(), Data: p.Data, Limits: p.Limits})
}

func (p *Plan) module() string { return p.Data["Module"].(string) }

func (p *Plan) questions() []Question {
	if p.Manifest == nil {
		return nil
	}
	return p.Manifest.Questions
}
