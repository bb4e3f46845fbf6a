package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"golang.org/x/mod/semver"
)

// UpdateOptions is what `paved update` (and `paved diff`) is asked to do.
type UpdateOptions struct {
	Dir        string
	To         string // target version; empty means the newest
	DryRun     bool   // print the diff, touch nothing
	AllowDirty bool
	Trust      bool // run migrations
	Answers    AnswerInput
	// PavedVersion is paved's own version, visible to templates as .Paved.Version.
	PavedVersion string
	Resolver     *Resolver
	Log          io.Writer // progress, migration output; nil discards
	Diff         io.Writer // the unified diff of a dry run; nil discards

	applier applier // fault injection in tests
}

// UpdateResult says what an update did (or, dry, would do).
type UpdateResult struct {
	From, To string
	Changes  []Change
	// TwoWay is set when the recorded version could not be read back, so
	// every file that differs from the template was marked a conflict.
	TwoWay     bool
	TwoWayWhy  string
	Finished   bool       // an interrupted update was finished first
	Migrations [][]string // run, or skipped without --trust
	Skipped    bool       // migrations skipped for want of --trust
	Dropped    []string   // recorded answers to questions the template no longer asks
}

// Conflicts lists the paths with conflicts.
func (r *UpdateResult) Conflicts() []string {
	var out []string
	for _, c := range r.Changes {
		if c.Action == ActionConflict {
			out = append(out, c.Path)
		}
	}
	return out
}

// ReadAnswers reads the answers file of a generated repository.
func ReadAnswers(dir string) (*AnswersFile, error) {
	w, err := openWorkTree(dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return readAnswers(w)
}

// readAnswers reads the answers file through the work tree's root: it may
// be a link, but not to a file outside the repository.
func readAnswers(w *workTree) (*AnswersFile, error) {
	data, err := w.root.ReadFile(AnswersFileName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: not a repository made by paved (no %s)", w.dir, AnswersFileName)
	}
	if err != nil {
		return nil, err
	}
	return ParseAnswersFile(filepath.Join(w.dir, AnswersFileName), data)
}

// Update brings the repository at opts.Dir to a template version by a
// three-way merge of the template's change into the working tree.
func Update(ctx context.Context, opts UpdateOptions) (*UpdateResult, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	w, err := openWorkTree(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	res := &UpdateResult{}
	if !opts.DryRun {
		conflicts, finished, err := finishInterrupted(ctx, w)
		if err != nil {
			return nil, err
		}
		if finished {
			// That update is what the user asked for; another would start
			// from a tree the user has not seen yet.
			fmt.Fprintln(log, "paved: finished an update that was interrupted; review it, then run paved update again if needed")
			af, err := readAnswers(w)
			if err != nil {
				return nil, err
			}
			res = &UpdateResult{From: af.Version, To: af.Version, Finished: true}
			for _, p := range conflicts {
				res.Changes = append(res.Changes, Change{Path: p, Action: ActionConflict, Why: "conflict of the interrupted update"})
			}
			return res, nil
		}
	} else if _, err := w.root.Lstat(stagingDir); err == nil {
		return nil, fmt.Errorf("%s exists: an update was interrupted; run paved update to finish it first", filepath.Join(opts.Dir, stagingDir))
	}
	af, err := readAnswers(w)
	if err != nil {
		return nil, err
	}
	if !opts.AllowDirty && !opts.DryRun {
		if err := checkClean(ctx, opts.Dir); err != nil {
			return nil, err
		}
	}
	r := opts.Resolver
	res.From, res.To = af.Version, opts.To
	if res.To == "" {
		if res.To, err = r.Latest(ctx, af.Template); err != nil {
			return nil, fmt.Errorf("finding the newest version of %s: %w", af.Template, err)
		}
	}

	newT, err := r.OpenVersion(ctx, af.Template, res.To)
	if err != nil {
		return nil, err
	}
	newPlan, err := planFor(newT, af, opts.Answers, opts.PavedVersion)
	if err != nil {
		return nil, err
	}
	res.Dropped = newPlan.dropped
	theirs, err := Render(ctx, RenderInput{Template: newT, Manifest: newPlan.Manifest, Module: af.Module, Data: newPlan.Data})
	if err != nil {
		return nil, fmt.Errorf("rendering %s %s: %w", af.Template, res.To, err)
	}

	var base []File
	baseT, err := r.OpenVersion(ctx, af.Template, af.Version)
	switch {
	case errors.Is(err, ErrVersionUnavailable):
		res.TwoWay, res.TwoWayWhy = true, err.Error()
		fmt.Fprintf(log, "paved: %v\npaved: updating two-way: every file that differs from the template is marked a conflict\n", err)
	case err != nil:
		return nil, err
	default:
		basePavedVersion := opts.PavedVersion
		if _, builtin := r.Builtins[af.Template]; builtin {
			basePavedVersion = af.Version // the paved that made it carried this template
		}
		basePlan, err := planFor(baseT, af, AnswerInput{}, basePavedVersion)
		if err != nil {
			return nil, fmt.Errorf("the recorded version %s: %w", af.Version, err)
		}
		base, err = Render(ctx, RenderInput{Template: baseT, Manifest: basePlan.Manifest, Module: af.Module, Data: basePlan.Data})
		if err != nil {
			return nil, fmt.Errorf("rendering the recorded version %s: %w", af.Version, err)
		}
	}

	// From here on the update has a staging directory in the tree: the
	// merge's scratch, then the staged files and the journal. It goes when
	// the update ends, whatever the outcome.
	if err := w.root.Mkdir(stagingDir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s exists: another update is running, or one was interrupted", filepath.Join(opts.Dir, stagingDir))
		}
		return nil, err
	}
	applied := false
	defer func() {
		if !applied {
			_ = w.root.RemoveAll(stagingDir)
		}
	}()
	labels := MergeLabels{Ours: "yours", Base: "template " + af.Version, Theirs: "template " + res.To}
	res.Changes, err = MergeTree(ctx, w, base, theirs, labels, res.TwoWay)
	if err != nil {
		return nil, err
	}
	newAF := &AnswersFile{Template: af.Template, Version: res.To, Module: af.Module, Answers: newPlan.Answers, Verify: af.Verify}
	var questions []Question
	if newPlan.Manifest != nil {
		questions = newPlan.Manifest.Questions
	}
	answersData, err := newAF.Marshal(questions)
	if err != nil {
		return nil, err
	}
	oldAnswers, _ := w.root.ReadFile(AnswersFileName)
	if !bytes.Equal(oldAnswers, answersData) {
		res.Changes = append(res.Changes, Change{Path: AnswersFileName, Action: ActionUpdate, Data: answersData, Mode: 0o644, Old: oldAnswers})
	}
	if err := w.checkChanges(res.Changes); err != nil {
		return nil, err
	}
	if newPlan.Manifest != nil {
		res.Migrations = migrationsBetween(newPlan.Manifest.Migrations, af.Version, res.To)
	}

	if opts.DryRun {
		return res, writeDiff(opts.Diff, res.Changes)
	}
	applied = true // the apply removes the staging dir, or leaves its journal
	if err := opts.applier.apply(ctx, w, res.Changes); err != nil {
		return nil, err
	}
	if len(res.Migrations) > 0 {
		if !opts.Trust {
			res.Skipped = true
		} else if err := RunTasks(ctx, opts.Dir, res.Migrations, log); err != nil {
			return res, err
		}
	}
	return res, nil
}

// updatePlan is a template version with the repository's answers.
type updatePlan struct {
	*Plan
	dropped []string
}

// planFor answers a template version's questions from the recorded answers,
// plus in (--set, prompts for questions new in this version).
func planFor(t *Template, af *AnswersFile, in AnswerInput, pavedVersion string) (*updatePlan, error) {
	m, err := ReadManifest(t.FS)
	if err != nil {
		return nil, err
	}
	p := &updatePlan{Plan: &Plan{Template: t, Manifest: m, Data: RenderData(af.Module, t, pavedVersion), Answers: map[string]any{}}}
	if m == nil {
		return p, nil
	}
	given := map[string]any{}
	for name, v := range af.Answers {
		if m.question(name) == nil {
			p.dropped = append(p.dropped, name)
			continue
		}
		given[name] = v
	}
	slices.Sort(p.dropped)
	in.Given = given
	if p.Answers, err = ResolveAnswers(m, p.Data, in); err != nil {
		return nil, err
	}
	return p, nil
}

// migrationsBetween lists the commands of migrations whose version is in
// (from, to], in version order.
func migrationsBetween(migs []Migration, from, to string) [][]string {
	if !semver.IsValid(to) {
		return nil
	}
	slices.SortStableFunc(migs, func(a, b Migration) int { return semver.Compare(a.Version, b.Version) })
	var out [][]string
	for _, m := range migs {
		if (semver.IsValid(from) && semver.Compare(m.Version, from) <= 0) || semver.Compare(m.Version, to) > 0 {
			continue
		}
		out = append(out, m.Run...)
	}
	return out
}

// checkClean refuses a git work tree with uncommitted changes.
func checkClean(ctx context.Context, dir string) error {
	out, err := gitRepo{dir: dir}.runWorkTree(ctx, nil, "status", "--porcelain")
	if err != nil {
		return nil //nolint:nilerr // not a git repository: nothing to compare against
	}
	if len(bytes.TrimSpace(out)) > 0 {
		return fmt.Errorf("%s has uncommitted changes; commit or stash them (or pass --allow-dirty)", dir)
	}
	return nil
}

// markConflicts records conflicted files as unmerged in the git index
// (stages 1, 2 and 3), as git merge does, so git status and merge tools
// see them. The stages' contents are the journal's staged files.
func markConflicts(ctx context.Context, w *workTree, conflicts []journalConflict) error {
	if len(conflicts) == 0 {
		return nil
	}
	g := gitRepo{dir: w.dir}
	prefix, err := g.run(ctx, nil, "rev-parse", "--show-prefix")
	if err != nil {
		return nil //nolint:nilerr // not in git: no index to mark
	}
	var info strings.Builder
	for _, c := range conflicts {
		name := strings.TrimSpace(string(prefix)) + c.Path
		fmt.Fprintf(&info, "0 %s\t%s\n", strings.Repeat("0", 40), name)
		mode := "100644"
		switch {
		case c.Mode&fs.ModeSymlink != 0:
			mode = "120000"
		case c.Mode&0o111 != 0:
			mode = "100755"
		}
		for stage, staged := range c.Stages {
			if staged == "" {
				continue
			}
			data, err := w.root.ReadFile(stagedPath(staged))
			if err != nil {
				return err
			}
			sha, err := g.run(ctx, data, "hash-object", "-w", "--no-filters", "--stdin")
			if err != nil {
				return err
			}
			fmt.Fprintf(&info, "%s %s %d\t%s\n", mode, strings.TrimSpace(string(sha)), stage+1, name)
		}
	}
	_, err = g.run(ctx, []byte(info.String()), "update-index", "--index-info")
	return err
}

// writeDiff prints the changes as a unified diff.
func writeDiff(w io.Writer, changes []Change) error {
	if w == nil {
		return nil
	}
	for _, c := range changes {
		if !c.Writes() {
			continue
		}
		from, to := "a/"+c.Path, "b/"+c.Path
		if c.Old == nil {
			from = "/dev/null"
		}
		if c.Action == ActionRemove {
			to = "/dev/null"
		}
		d := udiff.Unified(from, to, string(c.Old), string(c.Data))
		if _, err := io.WriteString(w, d); err != nil {
			return err
		}
	}
	return nil
}
