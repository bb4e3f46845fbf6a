package scaffold

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// applier writes a planned update into a work tree, all or nothing.
type applier struct {
	// beforeOp, when set, runs before operation i; an error stops the apply
	// there and rolls it back, errKilled stops it as a kill would. Tests
	// use it to inject failures.
	beforeOp func(i int) error
	// crash, when set, is told of every step that changes the tree or the
	// staging directory, before the step; errKilled stops there, as a kill
	// would: nothing rolled back, nothing cleaned up. Tests use it to stop
	// an apply, and a replay, at every step.
	crash func(step string) error
}

var errKilled = errors.New("killed")

// at says that step is next; errKilled means stop as if killed.
func (a *applier) at(step string) error {
	if a.crash == nil {
		return nil
	}
	return a.crash(step)
}

// apply stages every new file in the staging dir (which the update made),
// writes the journal, then moves the files into place and marks the
// conflicts in the git index. A failure rolls back what was applied; a kill
// leaves the journal, which finishInterrupted replays.
func (a *applier) apply(ctx context.Context, w *workTree, changes []Change) (err error) {
	var j journal
	add := func(op journalOp) error {
		name := filepath.FromSlash(op.Path)
		if fi, err := w.root.Lstat(name); err == nil {
			if fi.IsDir() {
				op.RmDir = op.Remove
			} else {
				op.Backup = "old-" + strconv.Itoa(len(j.Ops))
				if err := a.at("back up " + op.Path); err != nil {
					return err
				}
				if err := w.root.Link(name, stagedPath(op.Backup)); err != nil {
					return fmt.Errorf("backing up %s: %w", op.Path, err)
				}
			}
		}
		j.Ops = append(j.Ops, op)
		return nil
	}
	// Removes first, deepest first, so that a file can replace a directory
	// and a directory a file.
	var removes, writes []Change
	for _, c := range changes {
		switch {
		case !c.Writes() || c.KeepOurs:
		case c.Action == ActionRemove:
			removes = append(removes, c)
		default:
			writes = append(writes, c)
		}
	}
	slices.SortFunc(removes, func(x, y Change) int { return strings.Compare(y.Path, x.Path) })
	for _, c := range removes {
		if err := add(journalOp{Path: c.Path, Remove: true}); err != nil {
			return err
		}
	}
	for _, c := range writes {
		if c.ReplacesDir {
			if err := add(journalOp{Path: c.Path, Remove: true, RmDir: true}); err != nil {
				return err
			}
		}
		op := journalOp{Path: c.Path, Staged: "new-" + strconv.Itoa(len(j.Ops)), Mode: c.Mode.Perm(), Digest: fileDigest(c.Data, c.Mode&fs.ModeSymlink)}
		if c.Mode&fs.ModeSymlink != 0 {
			op.Link, op.Mode = true, 0
		}
		if err := a.at("stage " + op.Path); err != nil {
			return err
		}
		if err := w.root.WriteFile(stagedPath(op.Staged), c.Data, 0o600); err != nil {
			return err
		}
		if err := add(op); err != nil {
			return err
		}
	}
	for i, c := range changes {
		if c.Action != ActionConflict {
			continue
		}
		jc := journalConflict{Path: c.Path, Mode: c.Mode, Modes: c.StageModes}
		for s, data := range c.Stages {
			if data == nil {
				continue
			}
			jc.Stages[s] = fmt.Sprintf("stage-%d-%d", i, s)
			if err := a.at("stage " + jc.Stages[s]); err != nil {
				return err
			}
			if err := w.root.WriteFile(stagedPath(jc.Stages[s]), data, 0o600); err != nil {
				return err
			}
		}
		j.Conflicts = append(j.Conflicts, jc)
	}
	if len(j.Ops) == 0 && len(j.Conflicts) == 0 {
		return nil
	}
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := a.at("write the journal"); err != nil {
		return err
	}
	if err := writeFileAtomic(w, stagedPath(journalName), data); err != nil {
		return err
	}
	var made []string // directories this apply created, for a rollback
	for i := range j.Ops {
		if a.beforeOp != nil {
			if err := a.beforeOp(i); errors.Is(err, errKilled) {
				return err
			} else if err != nil {
				return a.rollback(w, j.Ops[:i], made, err)
			}
		}
		dirs, err := a.applyOp(w, j, i)
		made = append(made, dirs...)
		if errors.Is(err, errKilled) {
			return err
		}
		if err != nil {
			return a.rollback(w, j.Ops[:i+1], made, fmt.Errorf("%s: %w", j.Ops[i].Path, err))
		}
	}
	return a.finishJournal(ctx, w, j)
}

// opAction is what an operation of the journal still has to do.
type opAction int

const (
	opDone      opAction = iota // nothing: done before a kill, or nothing to do
	opRemove                    // remove the file or link the backup links to
	opRemoveDir                 // remove an empty directory
	opWrite                     // move the staged content into place
)

// decide says what operation i of j still has to do in the tree as it is.
// A backup is a hard link to what a remove removes, and a write's staged
// file goes when it is moved into place, so an operation can tell its own
// work (not begun, half done, done) from a later operation's, and from
// anything else, which it refuses to touch.
func decide(w *workTree, j journal, i int) (opAction, error) {
	op := j.Ops[i]
	name := filepath.FromSlash(op.Path)
	if op.writes() {
		if stagedExists(w, op) {
			return opWrite, nil
		}
		if op.Digest != "" {
			if ok, why := holds(w, op); !ok {
				return opDone, &errUnfinishable{path: op.Path, why: "its new content is no longer staged, and the tree " + why}
			}
		}
		return opDone, nil // moved into place before the interruption
	}
	fi, err := lstatIn(w, name)
	switch {
	case err != nil:
		return opDone, err
	case fi == nil:
		return opDone, nil // removed, or a directory above it became a file
	case op.RmDir && fi.IsDir():
		return opRemoveDir, nil
	case op.RmDir && laterWriteDone(w, j, i):
		return opDone, nil // the write that follows put its file here
	case op.RmDir:
		return opDone, &errUnfinishable{path: op.Path, why: "the update removes a directory there, and finds a file it did not write"}
	case op.Backup == "":
		return opDone, nil // nothing was there when the journal was written
	}
	backup, err := w.root.Lstat(stagedPath(op.Backup))
	switch {
	case err != nil:
		return opDone, &errUnfinishable{path: op.Path, why: "the backup of what the update removes is gone"}
	case os.SameFile(fi, backup):
		return opRemove, nil
	case fi.IsDir() && laterWriteBelow(j, i):
		return opDone, nil // removed; a later write made a directory here
	}
	return opDone, &errUnfinishable{path: op.Path, why: "the update removes it, and finds something there it did not leave"}
}

// applyOp performs what operation i of j still has to do (decide) and
// returns the directories it made. Run again after a kill at any of its
// steps, it leaves the same tree as one run.
func (a *applier) applyOp(w *workTree, j journal, i int) ([]string, error) {
	op := j.Ops[i]
	name := filepath.FromSlash(op.Path)
	step := fmt.Sprintf("op %d (%s): ", i, op.Path)
	action, err := decide(w, j, i)
	switch {
	case err != nil || action == opDone:
		return nil, err
	case action == opRemove:
		if err := a.at(step + "remove"); err != nil {
			return nil, err
		}
		return nil, removeAny(w, name)
	case action == opRemoveDir:
		if err := a.at(step + "remove the directory"); err != nil {
			return nil, err
		}
		err := w.root.Remove(name)
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return nil, fmt.Errorf("directory %s is not empty, and the template now has a file there", op.Path)
		}
		return nil, err
	}
	staged := stagedPath(op.Staged)
	made, err := a.mkdirAllIn(w, path.Dir(op.Path), step)
	if err != nil {
		return made, err
	}
	if op.Link {
		target, err := w.root.ReadFile(staged)
		if err != nil {
			return made, err
		}
		if err := a.at(step + "remove what the link replaces"); err != nil {
			return made, err
		}
		if err := removeAny(w, name); err != nil {
			return made, err
		}
		if err := a.at(step + "make the link"); err != nil {
			return made, err
		}
		if err := w.root.Symlink(string(target), name); err != nil {
			return made, err
		}
		if err := a.at(step + "remove the staged link"); err != nil {
			return made, err
		}
		return made, w.root.Remove(staged)
	}
	if err := a.at(step + "set the mode"); err != nil {
		return made, err
	}
	if err := w.root.Chmod(staged, op.Mode); err != nil {
		return made, err
	}
	if err := a.at(step + "move into place"); err != nil {
		return made, err
	}
	return made, w.root.Rename(staged, name)
}

// laterWriteDone reports whether a write after operation i, to the same
// path, has been moved into place.
func laterWriteDone(w *workTree, j journal, i int) bool {
	for _, op := range j.Ops[i+1:] {
		if op.Path == j.Ops[i].Path && op.writes() && !stagedExists(w, op) {
			return true
		}
	}
	return false
}

// laterWriteBelow reports whether a write after operation i is below its
// path, which then becomes a directory.
func laterWriteBelow(j journal, i int) bool {
	for _, op := range j.Ops[i+1:] {
		if op.writes() && strings.HasPrefix(op.Path, j.Ops[i].Path+"/") {
			return true
		}
	}
	return false
}

// finishJournal marks the journal's conflicts in the git index and removes
// the staging directory: the last steps of an apply, and of a replay. The
// journal becomes finished.json once the conflicts are marked, and that
// file goes last, so a run after a kill here knows the update is done and
// which conflicts it had.
func (a *applier) finishJournal(ctx context.Context, w *workTree, j journal) error {
	if err := a.at("mark the conflicts"); err != nil {
		return err
	}
	if err := markConflicts(ctx, w, j.Conflicts); err != nil {
		return fmt.Errorf("marking conflicts in the git index: %w", err)
	}
	if err := a.at("mark the journal finished"); err != nil {
		return err
	}
	if err := w.root.Rename(stagedPath(journalName), stagedPath(finishedName)); err != nil {
		return err
	}
	if err := a.at("remove the staged files"); err != nil {
		return err
	}
	entries, err := fs.ReadDir(w.root.FS(), stagingDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != finishedName {
			if err := w.root.RemoveAll(stagedPath(e.Name())); err != nil {
				return err
			}
		}
	}
	if err := a.at("remove the staging directory"); err != nil {
		return err
	}
	if err := w.root.Remove(stagedPath(finishedName)); err != nil {
		return err
	}
	return w.root.Remove(stagingDir)
}

// rollback restores the paths of ops from their backups, removes the
// directories the apply made, and removes the staging dir.
func (a *applier) rollback(w *workTree, ops []journalOp, made []string, cause error) error {
	var errs []error
	for i := len(ops) - 1; i >= 0; i-- {
		op := ops[i]
		name := filepath.FromSlash(op.Path)
		if !op.Remove || op.Backup != "" {
			if err := removeAny(w, name); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		switch {
		case op.Backup != "":
			if err := w.root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				errs = append(errs, err)
			} else if err := w.root.Rename(stagedPath(op.Backup), name); err != nil {
				errs = append(errs, err)
			}
		case op.RmDir:
			if err := w.root.MkdirAll(name, 0o755); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for i := len(made) - 1; i >= 0; i-- {
		_ = w.root.Remove(made[i]) // only if still empty
	}
	if len(errs) > 0 {
		return fmt.Errorf("update failed (%w) and its rollback too (%w); the staged files are in %s", cause, errors.Join(errs...), filepath.Join(w.dir, stagingDir))
	}
	_ = w.root.RemoveAll(stagingDir)
	return fmt.Errorf("update failed, the tree is as it was: %w", cause)
}

// removeAny removes a file, link or empty directory; absent is fine, and
// so is a parent that is a file now.
func removeAny(w *workTree, name string) error {
	if err := w.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return err
	}
	return nil
}

// mkdirAllIn creates dir and its missing parents in the work tree and
// returns the ones it created, outermost first.
func (a *applier) mkdirAllIn(w *workTree, dir, step string) ([]string, error) {
	var missing []string
	for d := dir; d != "."; d = path.Dir(d) {
		if _, err := w.root.Lstat(filepath.FromSlash(d)); err == nil {
			break
		}
		missing = append(missing, filepath.FromSlash(d))
	}
	slices.Reverse(missing)
	for i, d := range missing {
		if err := a.at(step + "make directory " + filepath.ToSlash(d)); err != nil {
			return missing[:i], err
		}
		if err := w.root.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return missing[:i], err
		}
	}
	return missing, nil
}
