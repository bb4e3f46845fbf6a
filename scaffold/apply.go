package scaffold

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// stagingDir holds an update's merge scratch, its new files, backups and
// journal while it is planned and applied. It lives in the repository so
// that renames into place are atomic, and goes when the update ends.
const stagingDir = ".paved-update"

const journalName = "journal.json"

// journal lists an update's operations and the conflicts to mark in the git
// index after them. Once it is written the update is decided: an interrupted
// apply is finished by replaying it.
type journal struct {
	Ops       []journalOp       `json:"ops"`
	Conflicts []journalConflict `json:"conflicts,omitempty"`
}

type journalOp struct {
	Path   string      `json:"path"`
	Remove bool        `json:"remove,omitempty"`
	RmDir  bool        `json:"rmdir,omitempty"`  // remove an empty directory (it becomes a file)
	Staged string      `json:"staged,omitempty"` // new content, in the staging dir
	Backup string      `json:"backup,omitempty"` // previous content, for a rollback
	Mode   fs.FileMode `json:"mode,omitempty"`
	Link   bool        `json:"link,omitempty"` // Staged holds a link target
}

// journalConflict is a conflicted path and the staged files holding its
// base, ours and theirs ("" where a side has none).
type journalConflict struct {
	Path   string      `json:"path"`
	Mode   fs.FileMode `json:"mode"`
	Stages [3]string   `json:"stages"`
	// Modes are the stages' modes; zero means Mode.
	Modes [3]fs.FileMode `json:"modes,omitempty"`
}

// The staged names paved makes; a journal naming anything else is not paved's.
var (
	stagedName = lazyRegexp(`^new-[0-9]{1,9}$`)
	backupName = lazyRegexp(`^old-[0-9]{1,9}$`)
	stageName  = lazyRegexp(`^stage-[0-9]{1,9}-[0-2]$`)
)

// applier writes a planned update into a work tree, all or nothing.
type applier struct {
	// beforeOp, when set, runs before operation i; an error stops the apply
	// there. Tests use it to inject failures; errKilled stops without a
	// rollback, as a kill would.
	beforeOp func(i int) error
}

var errKilled = errors.New("killed")

func stagedPath(name string) string { return filepath.Join(stagingDir, name) }

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
		op := journalOp{Path: c.Path, Staged: "new-" + strconv.Itoa(len(j.Ops)), Mode: c.Mode.Perm()}
		if c.Mode&fs.ModeSymlink != 0 {
			op.Link, op.Mode = true, 0
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
	if err := writeFileAtomic(w, stagedPath(journalName), data); err != nil {
		return err
	}
	var made []string // directories this apply created, for a rollback
	for i, op := range j.Ops {
		if a.beforeOp != nil {
			if err := a.beforeOp(i); errors.Is(err, errKilled) {
				return err
			} else if err != nil {
				return a.rollback(w, j.Ops[:i], made, err)
			}
		}
		dirs, err := applyOp(w, op)
		made = append(made, dirs...)
		if err != nil {
			return a.rollback(w, j.Ops[:i+1], made, fmt.Errorf("%s: %w", op.Path, err))
		}
	}
	return finishJournal(ctx, w, j)
}

// finishJournal marks the journal's conflicts in the git index and removes
// the staging directory: the last steps of an apply, and of a replay.
func finishJournal(ctx context.Context, w *workTree, j journal) error {
	if err := markConflicts(ctx, w, j.Conflicts); err != nil {
		return fmt.Errorf("marking conflicts in the git index: %w", err)
	}
	// The journal goes first: without it, what is left is only scratch.
	if err := w.root.Remove(stagedPath(journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return w.root.RemoveAll(stagingDir)
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

// removeAny removes a file, link or empty directory; absent is fine.
func removeAny(w *workTree, name string) error {
	if err := w.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// applyOp performs one operation and returns the directories it created.
// It may run twice (when an interrupted update is finished), so it
// tolerates work already done.
func applyOp(w *workTree, op journalOp) ([]string, error) {
	name := filepath.FromSlash(op.Path)
	if op.Remove {
		err := removeAny(w, name)
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return nil, fmt.Errorf("directory %s is not empty, and the template now has a file there", op.Path)
		}
		return nil, err
	}
	staged := stagedPath(op.Staged)
	if _, err := w.root.Lstat(staged); errors.Is(err, fs.ErrNotExist) {
		return nil, nil // moved into place before the interruption
	}
	made, err := mkdirAllIn(w, path.Dir(op.Path))
	if err != nil {
		return made, err
	}
	if op.Link {
		target, err := w.root.ReadFile(staged)
		if err != nil {
			return made, err
		}
		if err := removeAny(w, name); err != nil {
			return made, err
		}
		if err := w.root.Symlink(string(target), name); err != nil {
			return made, err
		}
		return made, w.root.Remove(staged)
	}
	if err := w.root.Chmod(staged, op.Mode); err != nil {
		return made, err
	}
	return made, w.root.Rename(staged, name)
}

// mkdirAllIn creates dir and its missing parents in the work tree and
// returns the ones it created, outermost first.
func mkdirAllIn(w *workTree, dir string) ([]string, error) {
	var missing []string
	for d := dir; d != "."; d = path.Dir(d) {
		if _, err := w.root.Lstat(filepath.FromSlash(d)); err == nil {
			break
		}
		missing = append(missing, filepath.FromSlash(d))
	}
	slices.Reverse(missing)
	for i, d := range missing {
		if err := w.root.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return missing[:i], err
		}
	}
	return missing, nil
}

// finishInterrupted replays the journal of an update that was killed while
// it applied, and returns its conflicts; ok reports whether there was one.
// The journal is checked whole before anything is done: a journal that is
// not paved's (a path the policy refuses, a staged name paved does not make,
// a link leaving the tree) aborts the replay and changes nothing.
func finishInterrupted(ctx context.Context, w *workTree) (conflicts []string, ok bool, err error) {
	fi, err := w.root.Lstat(stagingDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !fi.IsDir() {
		return nil, false, fmt.Errorf("%s is not a directory paved made; remove it and rerun", filepath.Join(w.dir, stagingDir))
	}
	data, err := w.root.ReadFile(stagedPath(journalName))
	if errors.Is(err, fs.ErrNotExist) {
		// Killed before the journal was written: nothing was applied.
		return nil, false, w.root.RemoveAll(stagingDir)
	}
	if err != nil {
		return nil, false, err
	}
	j, err := parseJournal(data)
	if err == nil {
		err = checkJournal(w, j)
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w; it is not an update paved can finish: remove %s and rerun", filepath.Join(w.dir, stagingDir, journalName), err, stagingDir)
	}
	for _, op := range j.Ops {
		if _, err := applyOp(w, op); err != nil {
			return nil, true, fmt.Errorf("finishing the interrupted update: %s: %w", op.Path, err)
		}
	}
	if err := finishJournal(ctx, w, j); err != nil {
		return nil, true, err
	}
	for _, c := range j.Conflicts {
		conflicts = append(conflicts, c.Path)
	}
	return conflicts, true, nil
}

func parseJournal(data []byte) (journal, error) {
	var j journal
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return journal{}, err
	}
	return j, nil
}

// checkJournal validates every entry of a journal read from disk.
func checkJournal(w *workTree, j journal) error {
	links := map[string]string{}
	for _, op := range j.Ops {
		if err := enginePath(op.Path); err != nil {
			return err
		}
		if err := w.checkParents(op.Path); err != nil {
			return err
		}
		switch {
		case op.Backup != "" && !backupName().MatchString(op.Backup):
			return fmt.Errorf("backup name %q is not paved's", op.Backup)
		case op.Remove && (op.Staged != "" || op.Link):
			return fmt.Errorf("%s: a remove with content", op.Path)
		case op.Remove:
		case !stagedName().MatchString(op.Staged):
			return fmt.Errorf("staged name %q is not paved's", op.Staged)
		case op.Link && op.Mode != 0, !op.Link && op.Mode != 0o644 && op.Mode != 0o755:
			return fmt.Errorf("%s: mode %v is not one paved writes", op.Path, op.Mode)
		}
		if !op.Remove {
			// A staged file is a regular file paved wrote; a link there
			// would be renamed into the tree as it is.
			fi, err := w.root.Lstat(stagedPath(op.Staged))
			if err == nil && !fi.Mode().IsRegular() {
				return fmt.Errorf("staged %s is not a regular file", op.Staged)
			}
		}
		if op.Link {
			target, err := w.root.ReadFile(stagedPath(op.Staged))
			if errors.Is(err, fs.ErrNotExist) {
				continue // already in place
			}
			if err != nil {
				return err
			}
			links[op.Path] = string(target)
		}
	}
	linkAt := func(p string) (string, bool) {
		if t, ok := links[p]; ok {
			return t, true
		}
		return w.linkAt(p)
	}
	for p, target := range links {
		if _, err := ResolveLink(p, target, linkAt); err != nil {
			return err
		}
	}
	for _, c := range j.Conflicts {
		if err := enginePath(c.Path); err != nil {
			return err
		}
		for _, s := range c.Stages {
			if s != "" && !stageName().MatchString(s) {
				return fmt.Errorf("stage name %q is not paved's", s)
			}
		}
		for _, m := range append(c.Modes[:], c.Mode) {
			if m != 0 && m != 0o644 && m != 0o755 && m&^0o777 != fs.ModeSymlink {
				return fmt.Errorf("%s: mode %v is not one paved writes", c.Path, m)
			}
		}
	}
	return nil
}

func writeFileAtomic(w *workTree, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := w.root.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return w.root.Rename(tmp, name)
}
