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

	"github.com/aymanbagabas/go-udiff"
	"golang.org/x/mod/semver"
)

// UpdateOptions is what `paved update` (and `paved diff`) is asked to do.
type UpdateOptions struct {
	Dir            string
	To             string // target version; empty means the newest
	DryRun         bool   // print the diff, touch nothing
	AllowDirty     bool
	AllowDowngrade bool // let To name a version older than the recorded one
	Trust          bool // run migrations
	Answers        AnswerInput
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
	// TwoWay is set when the recorded version could not be read back and no
	// lock says which files are paved's: every file that differs from the
	// template was marked a conflict.
	TwoWay    bool
	TwoWayWhy string
	// LockFallback is set when the recorded version could not be read back,
	// and the lock told which files the team never changed: those took the
	// template's new version.
	LockFallback bool
	Finished     bool       // an interrupted update was finished first
	Migrations   [][]string // run, or skipped without --trust
	Skipped      bool       // migrations skipped for want of --trust
	Dropped      []string   // recorded answers to questions the template no longer asks
	// Edited lists answers changed by hand in the answers file since paved
	// last rendered: applied as answer changes.
	Edited []string
	// NewQuestions are the questions the target version asks for the first
	// time, with the answers they got.
	NewQuestions []NewQuestion
}

// NewQuestion is a question new in an update's target version.
type NewQuestion struct {
	Name   string
	Answer any
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

// readLock reads the render lock; nil when the repository has none (made by
// a paved before locks).
func readLock(w *workTree) (*Lock, error) {
	data, err := w.root.ReadFile(LockFileName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseLock(filepath.Join(w.dir, LockFileName), data)
}

// updateRun is one update, carried through its steps.
type updateRun struct {
	opts UpdateOptions
	log  io.Writer
	w    *workTree
	res  *UpdateResult

	af   *AnswersFile
	lock *Lock
	src  Source

	target, baseT     *Template
	targetM, baseM    *Manifest
	baseWhy           error // why the recorded version cannot be read
	newPlan           *Plan
	baseAnswers       map[string]any
	theirs, base      []File
	staged, committed bool
	applied           bool // applyJournal ran: the update stands
}

// Update brings the repository at opts.Dir to a template version by a
// three-way merge of the template's change into the working tree.
func Update(ctx context.Context, opts UpdateOptions) (*UpdateResult, error) {
	u := &updateRun{opts: opts, log: opts.Log, res: &UpdateResult{}}
	if u.log == nil {
		u.log = io.Discard
	}
	w, err := openWorkTree(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	u.w = w
	defer func() {
		if u.staged && !u.committed {
			_ = w.root.RemoveAll(stagingDir)
		}
	}()
	if finished, err := u.finishInterrupted(ctx); err != nil {
		return nil, err
	} else if finished {
		return u.res, nil
	}
	for _, step := range planSteps {
		if err := step.Run(ctx, u); err != nil {
			return nil, err
		}
	}
	if opts.DryRun {
		if err := writeDiff(opts.Diff, u.res.Changes); err != nil {
			return nil, err
		}
		return u.res, nil
	}
	u.committed = true // the apply removes the staging dir, or leaves its journal
	for _, step := range applySteps {
		if err := step.Run(ctx, u); err != nil {
			if u.applied {
				return u.res, err // the result stands
			}
			return nil, err
		}
	}
	return u.res, nil
}

// An updateStep is one step of an update, run on the update's state.
type updateStep interface {
	String() string
	Run(ctx context.Context, u *updateRun) error
}

// planSteps decide what an update changes, and serve paved diff and
// --dry-run as they are: they write nothing but the merge's scratch in the
// staging directory, which goes with them.
var planSteps = []updateStep{
	readRecord{},
	checkWorkTree{},
	chooseTarget{},
	openBase{},
	checkAnswers{},
	renderTarget{},
	renderBase{},
	mergeTrees{},
	recordVersion{},
}

// applySteps change the repository. Once applyJournal has run the update
// stands, whatever a later step does.
var applySteps = []updateStep{
	applyJournal{},
	runMigrations{},
}

// finishInterrupted finishes an update a kill interrupted, if any, and
// reports whether it did: that update is what the user asked for, and
// another would start from a tree the user has not seen yet. A dry run
// refuses to start over one.
func (u *updateRun) finishInterrupted(ctx context.Context) (bool, error) {
	if u.opts.DryRun {
		if _, err := u.w.root.Lstat(stagingDir); err == nil {
			return false, fmt.Errorf("%s exists: an update was interrupted; run paved update to finish it first", filepath.Join(u.opts.Dir, stagingDir))
		}
		return false, nil
	}
	conflicts, finished, err := u.opts.applier.finishInterrupted(ctx, u.w)
	if err != nil || !finished {
		return false, err
	}
	fmt.Fprintln(u.log, "paved: finished an update that was interrupted; review it, then run paved update again if needed")
	af, err := readAnswers(u.w)
	if err != nil {
		return true, err
	}
	u.res = &UpdateResult{From: af.Version, To: af.Version, Finished: true}
	for _, p := range conflicts {
		u.res.Changes = append(u.res.Changes, Change{Path: p, Action: ActionConflict, Why: "conflict of the interrupted update"})
	}
	return true, nil
}

// readRecord reads what the repository records: the answers file, the
// render lock, and the source the answers name.
type readRecord struct{}

func (readRecord) String() string { return "read the record" }

func (readRecord) Run(_ context.Context, u *updateRun) error {
	var err error
	if u.af, err = readAnswers(u.w); err != nil {
		return err
	}
	if u.lock, err = readLock(u.w); err != nil {
		return err
	}
	u.src, _, err = u.opts.Resolver.Source(u.af.Template)
	u.res.From = u.af.Version
	return err
}

// checkWorkTree refuses a git work tree with uncommitted changes (unless
// --allow-dirty): an update must never mix its changes with the team's.
type checkWorkTree struct{}

func (checkWorkTree) String() string { return "check the work tree" }

func (checkWorkTree) Run(ctx context.Context, u *updateRun) error {
	if u.opts.AllowDirty || u.opts.DryRun { // a dry run changes nothing
		return nil
	}
	return checkClean(ctx, u.opts.Dir)
}

// mergeTrees merges NEW's change from BASE into the work tree, file by
// file, into the list of changes.
type mergeTrees struct{}

func (mergeTrees) String() string { return "merge" }

func (mergeTrees) Run(ctx context.Context, u *updateRun) error {
	// From here on the update has a staging directory in the tree: the
	// merge's scratch, then the staged files and the journal. It goes when
	// the update ends, whatever the outcome.
	if err := u.w.root.Mkdir(stagingDir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: another update is running, or one was interrupted", filepath.Join(u.opts.Dir, stagingDir))
		}
		return err
	}
	u.staged = true
	labels := MergeLabels{Ours: "yours", Base: "template " + u.af.Version, Theirs: "template " + u.res.To}
	var err error
	u.res.Changes, err = MergeTree(ctx, u.w, u.base, u.theirs, labels, u.res.TwoWay)
	return err
}

// recordVersion adds paved's own files to the changes: the answers file with the
// new version, and the lock of what this update rendered.
type recordVersion struct{}

func (recordVersion) String() string { return "record the new version" }

func (recordVersion) Run(_ context.Context, u *updateRun) error {
	af := &AnswersFile{Template: u.af.Template, Version: u.res.To, Commit: u.target.Commit, Module: u.af.Module, Answers: u.newPlan.Answers, Verify: u.af.Verify}
	answers, err := af.Marshal(u.newPlan.questions())
	if err != nil {
		return err
	}
	lock, err := newLock(u.theirs, u.newPlan.Answers, u.opts.PavedVersion).Marshal()
	if err != nil {
		return err
	}
	for _, f := range []File{{Path: AnswersFileName, Data: answers}, {Path: LockFileName, Data: lock}} {
		old, _ := u.w.root.ReadFile(f.Path)
		if !bytes.Equal(old, f.Data) {
			u.res.Changes = append(u.res.Changes, Change{Path: f.Path, Action: ActionUpdate, Data: f.Data, Mode: 0o644, Old: old})
		}
	}
	if err := u.w.checkChanges(u.res.Changes); err != nil {
		return err
	}
	if u.newPlan.Manifest != nil {
		u.res.Migrations = migrationsBetween(u.newPlan.Manifest.Migrations, u.af.Version, u.res.To)
	}
	return nil
}

// applyJournal stages the changes, journals them and applies them, all or
// nothing; a kill leaves the journal for the next run to finish.
type applyJournal struct{}

func (applyJournal) String() string { return "apply" }

func (applyJournal) Run(ctx context.Context, u *updateRun) error {
	if err := u.opts.applier.apply(ctx, u.w, u.res.Changes); err != nil {
		return err
	}
	u.applied = true
	return nil
}

// runMigrations runs the migrations between the two versions, with
// --trust; without it they are reported as skipped.
type runMigrations struct{}

func (runMigrations) String() string { return "run migrations" }

func (runMigrations) Run(ctx context.Context, u *updateRun) error {
	if len(u.res.Migrations) == 0 {
		return nil
	}
	if !u.opts.Trust {
		u.res.Skipped = true
		return nil
	}
	return RunTasks(ctx, u.opts.Dir, u.res.Migrations, u.log)
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
