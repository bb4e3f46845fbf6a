package scaffold

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/mod/module"
)

// NewOptions is what `paved new` is asked to do.
type NewOptions struct {
	Module   string // module path of the new repository
	Dir      string // target directory; empty means the module's last element
	Template string // source spec: built-in name, directory[@REF], MODULE[@VERSION][//SUBDIR]
	To       string // version of the template; empty means the spec's, else the newest
	Answers  AnswerInput
	NoHooks  bool // skip the template's tasks
	Trust    bool // run tasks of a template that is not built in
	// PavedVersion is paved's own version, visible to templates as .Paved.Version.
	PavedVersion string
	Resolver     *Resolver
	Log          io.Writer // progress and task output; nil discards
}

// NewResult says what New made.
type NewResult struct {
	Dir      string
	Template *Template
	Answers  map[string]any
	Files    int
	// SkippedTasks are the tasks not run because the template is not trusted.
	SkippedTasks [][]string
	// Committed: the new repository got its first commit. Otherwise
	// CommitHint, if set, says why not and how to make it.
	Committed  bool
	CommitHint string
	// Warnings are things the user should know about the repository made:
	// it was made from uncommitted template changes, or it cannot be updated.
	Warnings []string
}

// TaskError is a post-generation task that failed. The repository stays in
// place: it was written before the tasks ran.
type TaskError struct {
	Task   []string
	Err    error
	Dir    string
	NotRun [][]string // the tasks after it, not run
}

func (e *TaskError) Error() string {
	msg := fmt.Sprintf("task %q failed: %v (the repository was written)", strings.Join(e.Task, " "), e.Err)
	if len(e.NotRun) > 0 {
		var rest []string
		for _, t := range e.NotRun {
			rest = append(rest, strings.Join(t, " "))
		}
		msg += fmt.Sprintf("; not run: %s; fix it, then run them by hand in %s", strings.Join(rest, "; "), e.Dir)
	}
	return msg
}

func (e *TaskError) Unwrap() error { return e.Err }

// Plan is a template opened and answered, ready to render: what New,
// Update and tests share.
type Plan struct {
	Template *Template
	Manifest *Manifest // nil for a plain Go module
	Data     map[string]any
	Answers  map[string]any
	Paved    string // the paved version templates see
	Limits   Limits // bound the render
}

// Prepare opens the template at version ("" for the spec's or the newest),
// reads its manifest and resolves the answers.
func Prepare(ctx context.Context, r *Resolver, spec, modPath, pavedVersion string, in AnswerInput) (*Plan, error) {
	if err := module.CheckPath(modPath); err != nil {
		return nil, fmt.Errorf("invalid module path %q: %w", modPath, err)
	}
	t, err := r.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	return preparePlan(t, modPath, pavedVersion, in, r.RenderLimits)
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

// New creates a repository from a template: it checks the target, resolves
// the template and answers, renders in memory, writes all or nothing, then
// runs the template's tasks.
func New(ctx context.Context, opts NewOptions) (*NewResult, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	dir := opts.Dir
	if dir == "" {
		dir = DefaultDir(opts.Module)
	}
	if err := module.CheckPath(opts.Module); err != nil {
		return nil, fmt.Errorf("invalid module path %q: %w", opts.Module, err)
	}
	if err := CheckTarget(dir); err != nil {
		return nil, err
	}
	spec := opts.Template
	if spec == "" {
		spec = "service"
	}
	src, version, err := opts.Resolver.Source(spec)
	if err != nil {
		return nil, err
	}
	if opts.To != "" {
		if version != "" {
			return nil, fmt.Errorf("template %s names a version, and --to names %s: give one", spec, opts.To)
		}
		version = opts.To
	}
	t, err := src.Open(ctx, version)
	if err != nil {
		return nil, err
	}
	plan, err := preparePlan(t, opts.Module, opts.PavedVersion, opts.Answers, opts.Resolver.RenderLimits)
	if err != nil {
		return nil, err
	}
	files, err := plan.Render(ctx)
	if err != nil {
		return nil, err
	}
	if err := WriteTree(ctx, dir, files); err != nil {
		return nil, err
	}
	res := &NewResult{Dir: dir, Template: t, Answers: plan.Answers, Files: len(files)}
	res.Warnings = newWarnings(src, t)
	if plan.Manifest == nil || opts.NoHooks || len(plan.Manifest.Tasks) == 0 {
		return res, nil
	}
	if src.Kind() != SourceBuiltin && !opts.Trust {
		res.SkippedTasks = plan.Manifest.Tasks
		return res, nil
	}
	if err := RunTasks(ctx, dir, plan.Manifest.Tasks, log); err != nil {
		return res, err
	}
	if err := relock(dir, files, plan); err != nil {
		return res, err
	}
	res.Committed, res.CommitHint = firstCommit(ctx, dir, plan.Template)
	return res, nil
}

// newWarnings says what is wrong with the version a repository was made from.
func newWarnings(src Source, t *Template) []string {
	switch {
	case src.Kind() != SourceDir:
		return nil
	case t.Dirty:
		return []string{fmt.Sprintf("the template %s has uncommitted changes: the repository was made from them and records version %s; commit and tag the template so that paved update can read this version back", t.Source, t.Version)}
	case t.Version == "":
		return []string{fmt.Sprintf("the template %s is not in a git repository: the repository cannot be updated from it (keep templates in git, with tags)", t.Source)}
	}
	return nil
}

// relock records in the lock the files the tasks changed (go mod tidy may
// rewrite go.sum), so that a later update knows them for paved's.
func relock(dir string, files []File, plan *Plan) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	lock := newLock(files, plan.Answers, plan.Paved)
	changed := false
	for _, f := range files {
		e, ok := lock.Files[f.Path]
		if !ok || f.Mode&fs.ModeSymlink != 0 {
			continue
		}
		p := f.Path
		data, err := root.ReadFile(filepath.FromSlash(p))
		if err != nil {
			continue // a link, or removed by a task
		}
		if d := fileDigest(data, 0); d != e.Rendered {
			e.Written = d
			lock.Files[p] = e
			changed = true
		}
	}
	if !changed {
		return nil
	}
	data, err := lock.Marshal()
	if err != nil {
		return err
	}
	return root.WriteFile(LockFileName, data, 0o644)
}

// RunTasks runs commands in dir, in order, stopping at the first failure.
func RunTasks(ctx context.Context, dir string, tasks [][]string, log io.Writer) error {
	for i, task := range tasks {
		fmt.Fprintf(log, "paved: running %s\n", strings.Join(task, " "))
		cmd := exec.CommandContext(ctx, task[0], task[1:]...)
		cmd.Dir = dir
		cmd.Stdout = log
		cmd.Stderr = log
		cmd.Env = os.Environ()
		if err := cmd.Run(); err != nil {
			return &TaskError{Task: task, Err: err, Dir: dir, NotRun: tasks[i+1:]}
		}
	}
	return nil
}

// firstCommit commits the new tree when the tasks made dir a git
// repository without commits, so that the first `paved update` starts from
// a clean tree. Without a git identity it commits nothing and returns the
// commands that would.
func firstCommit(ctx context.Context, dir string, t *Template) (bool, string) {
	g := newGitRepo(dir, nil)
	top, err := g.run(ctx, nil, []string{"rev-parse", "--show-toplevel"})
	if err != nil {
		return false, ""
	}
	abs, _ := filepath.Abs(dir)
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	if strings.TrimSpace(string(top)) != abs {
		return false, "" // inside another repository: leave its history alone
	}
	if _, err := g.run(ctx, nil, []string{"rev-parse", "--verify", "--quiet"}, "HEAD"); err == nil {
		return false, "" // the tasks committed already
	}
	msg := "paved: " + t.Source + " " + t.Version
	hint := fmt.Sprintf("git -C %s add -A && git -C %s commit -m %q", dir, dir, msg)
	if _, err := g.run(ctx, nil, []string{"var", "GIT_COMMITTER_IDENT"}); err != nil {
		return false, "git has no identity (git config --global user.name/user.email); then make the first commit: " + hint
	}
	if _, err := g.run(ctx, nil, []string{"add", "-A"}); err != nil {
		return false, fmt.Sprintf("git add failed (%v); make the first commit: %s", err, hint)
	}
	if _, err := g.run(ctx, nil, []string{"commit", "--quiet", "--no-verify", "-m", msg}); err != nil {
		return false, fmt.Sprintf("git commit failed (%v); make the first commit: %s", err, hint)
	}
	return true, ""
}
