package scaffold

import (
	"context"
	"fmt"
	"io"
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
	if err := CheckTarget(dir); err != nil {
		return nil, err
	}
	spec := opts.Template
	if spec == "" {
		spec = "service"
	}
	plan, err := prepare(ctx, opts.Resolver, spec, opts.To, opts.Module, opts.PavedVersion, opts.Answers)
	if err != nil {
		return nil, err
	}
	src, t := plan.Source, plan.Template
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
