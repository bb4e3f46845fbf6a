package scaffold

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
)

// stagingDir holds an update's merge scratch, its new files, backups and
// journal while it is planned and applied. It lives in the repository so
// that renames into place are atomic, and goes when the update ends.
const stagingDir = ".paved-update"

const journalName = "journal.json"

// finishedName is the journal once every operation is done and the
// conflicts are marked: what is left is only to be removed.
const finishedName = "finished.json"

// journal lists an update's operations and the conflicts to mark in the git
// index after them. Once it is written the update is decided: an interrupted
// apply is finished by replaying it. Every operation is idempotent (see
// applier.applyOp), and each write records the digest of what it leaves,
// so a replay can tell done from not done, and checks the tree it made.
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
	// Digest is fileDigest of what a write leaves at Path (a link's
	// target for a link); "" in the journal of an older paved, which is
	// replayed without the checks it allows.
	Digest string `json:"digest,omitempty"`
}

func (op journalOp) writes() bool { return !op.Remove }

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

func stagedPath(name string) string { return filepath.Join(stagingDir, name) }

// errUnfinishable is an operation of a journal whose replay cannot leave
// the tree the update meant: the tree was changed after the kill.
type errUnfinishable struct {
	path, why string
}

func (e *errUnfinishable) Error() string { return e.path + ": " + e.why }

// unfinishable says what is wrong, and how to get out, in one line.
func unfinishable(ctx context.Context, w *workTree, e *errUnfinishable) error {
	out := fmt.Sprintf("remove %s and compare the tree with the template by hand (outside git there is no undo)", filepath.Join(w.dir, stagingDir))
	if InGit(ctx, w.dir) {
		out = fmt.Sprintf("remove %s, then take the tree back as it was before the update with git -C %s stash --include-untracked (the stash keeps what the interrupted update did) and run paved update again",
			filepath.Join(w.dir, stagingDir), shellQuote(w.dir))
	}
	return fmt.Errorf("the interrupted update cannot be finished: %w; %s", e, out)
}

// finishInterrupted replays the journal of an update that was killed while
// it applied, and returns its conflicts; ok reports whether there was one.
// The journal is checked whole before anything is done: a journal that is
// not paved's (a path the policy refuses, a staged name paved does not make,
// a link leaving the tree) aborts the replay and changes nothing; so does
// a tree that holds neither what an operation found nor what it leaves.
// After the replay every write is checked against its digest: a replay
// never reports success over a tree that differs from the journal.
func (a *applier) finishInterrupted(ctx context.Context, w *workTree) (conflicts []string, ok bool, err error) {
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
		return a.finishFinished(w)
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
	// Every operation decides before any acts: a journal that cannot be
	// finished is refused with the tree as it is.
	for i := range j.Ops {
		if _, err := decide(w, j, i); err != nil {
			return nil, false, replayError(ctx, w, j.Ops[i], err)
		}
	}
	for i := range j.Ops {
		if _, err := a.applyOp(w, j, i); err != nil {
			return nil, true, replayError(ctx, w, j.Ops[i], err)
		}
	}
	if err := checkWritten(w, j); err != nil {
		return nil, true, replayError(ctx, w, journalOp{}, err)
	}
	if err := a.finishJournal(ctx, w, j); err != nil {
		return nil, true, err
	}
	for _, c := range j.Conflicts {
		conflicts = append(conflicts, c.Path)
	}
	return conflicts, true, nil
}

// finishFinished removes the staging directory of an update that was
// killed after its journal was finished (all done; it lists the conflicts)
// or before it was written (nothing done: what is left is scratch).
func (a *applier) finishFinished(w *workTree) (conflicts []string, ok bool, err error) {
	data, err := w.root.ReadFile(stagedPath(finishedName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, w.root.RemoveAll(stagingDir)
	}
	if err != nil {
		return nil, false, err
	}
	j, err := parseJournal(data)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w; it is not an update paved made: remove %s and rerun", filepath.Join(w.dir, stagingDir, finishedName), err, stagingDir)
	}
	for _, c := range j.Conflicts {
		if err := enginePath(c.Path); err != nil {
			return nil, false, fmt.Errorf("%s: %w; it is not an update paved made: remove %s and rerun", filepath.Join(w.dir, stagingDir, finishedName), err, stagingDir)
		}
		conflicts = append(conflicts, c.Path)
	}
	return conflicts, true, w.root.RemoveAll(stagingDir)
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
		case op.Remove && (op.Staged != "" || op.Link || op.Digest != ""):
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

// replayError is how a replay's failure at op reads.
func replayError(ctx context.Context, w *workTree, op journalOp, err error) error {
	var e *errUnfinishable
	switch {
	case errors.Is(err, errKilled):
		return err
	case errors.As(err, &e):
		return unfinishable(ctx, w, e)
	}
	return fmt.Errorf("finishing the interrupted update: %s: %w", op.Path, err)
}

// checkWritten checks, after a replay, that every write of the journal is
// in the tree as it recorded it: a replay never reports success over a
// tree that differs from what the update meant.
func checkWritten(w *workTree, j journal) error {
	for _, op := range j.Ops {
		if !op.writes() || op.Digest == "" {
			continue
		}
		if ok, why := holds(w, op); !ok {
			return &errUnfinishable{path: op.Path, why: "after the replay the tree " + why}
		}
	}
	return nil
}

func stagedExists(w *workTree, op journalOp) bool {
	_, err := w.root.Lstat(stagedPath(op.Staged))
	return err == nil
}

// holds reports whether the tree has at op.Path what write op leaves
// there, and if not, what it has instead.
func holds(w *workTree, op journalOp) (bool, string) {
	f, err := w.read(op.Path)
	switch {
	case err != nil:
		return false, "cannot be read there (" + err.Error() + ")"
	case f == nil:
		return false, "has nothing there"
	case f.mode&fs.ModeDir != 0:
		return false, "has a directory there"
	case op.Link != (f.mode&fs.ModeSymlink != 0):
		return false, "has a file of another type there"
	case !op.Link && f.mode != op.Mode:
		return false, fmt.Sprintf("has it with mode %v, not %v", f.mode, op.Mode)
	case fileDigest(f.data, f.mode&fs.ModeSymlink) != op.Digest:
		return false, "has other content there"
	}
	return true, ""
}

// lstatIn is w's Lstat of name, nil when nothing is there: absent, or a
// parent is a file now (a directory that became a file).
func lstatIn(w *workTree, name string) (fs.FileInfo, error) {
	fi, err := w.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	return fi, err
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
