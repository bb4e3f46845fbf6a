package scaffold

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// stagingDir holds an update's new files and its journal while it is applied.
const stagingDir = ".paved-update"

// journal lists an update's operations. Once it is written the update is
// decided: an interrupted apply is finished by replaying it.
type journal struct {
	Ops []journalOp `json:"ops"`
}

type journalOp struct {
	Path   string      `json:"path"`
	Remove bool        `json:"remove,omitempty"`
	Staged string      `json:"staged,omitempty"` // new content, in the staging dir
	Backup string      `json:"backup,omitempty"` // previous content, for a rollback
	Mode   fs.FileMode `json:"mode,omitempty"`
	Link   bool        `json:"link,omitempty"` // Staged holds a link target
}

// applier writes a planned update into a directory, all or nothing.
type applier struct {
	dir string
	// beforeOp, when set, runs before operation i; an error stops the apply
	// there. Tests use it to inject failures; errKilled stops without a
	// rollback, as a kill would.
	beforeOp func(i int) error
}

var errKilled = errors.New("killed")

// apply stages every new file beside the tree, writes the journal, then
// renames the files into place. A failure rolls back what was applied; a
// kill leaves the journal, which finishInterrupted replays.
func (a *applier) apply(files []File, removes []string) (err error) {
	staging := filepath.Join(a.dir, stagingDir)
	if err := os.Mkdir(staging, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: an update was interrupted; rerun paved update to finish it", staging)
		}
		return err
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(staging)
		}
	}()
	var j journal
	add := func(op journalOp) error {
		i := strconv.Itoa(len(j.Ops))
		target := filepath.Join(a.dir, filepath.FromSlash(op.Path))
		if _, err := os.Lstat(target); err == nil {
			op.Backup = "old-" + i
			if err := os.Link(target, filepath.Join(staging, op.Backup)); err != nil {
				return fmt.Errorf("backing up %s: %w", op.Path, err)
			}
		}
		j.Ops = append(j.Ops, op)
		return nil
	}
	for _, f := range files {
		op := journalOp{Path: f.Path, Staged: "new-" + strconv.Itoa(len(j.Ops)), Mode: f.Mode.Perm()}
		data := f.Data
		if f.Mode&fs.ModeSymlink != 0 {
			op.Link, data = true, []byte(f.Link)
		}
		if err := os.WriteFile(filepath.Join(staging, op.Staged), data, 0o600); err != nil {
			return err
		}
		if err := add(op); err != nil {
			return err
		}
	}
	for _, p := range removes {
		if err := add(journalOp{Path: p, Remove: true}); err != nil {
			return err
		}
	}
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(staging, "journal.json"), data); err != nil {
		return err
	}
	committed = true
	for i, op := range j.Ops {
		if a.beforeOp != nil {
			if err := a.beforeOp(i); errors.Is(err, errKilled) {
				return err
			} else if err != nil {
				return a.rollback(j.Ops[:i], err)
			}
		}
		if err := applyOp(a.dir, staging, op); err != nil {
			return a.rollback(j.Ops[:i+1], fmt.Errorf("%s: %w", op.Path, err))
		}
	}
	return os.RemoveAll(staging)
}

// rollback restores the paths of ops from their backups and removes the staging dir.
func (a *applier) rollback(ops []journalOp, cause error) error {
	staging := filepath.Join(a.dir, stagingDir)
	var errs []error
	for i := len(ops) - 1; i >= 0; i-- {
		op := ops[i]
		target := filepath.Join(a.dir, filepath.FromSlash(op.Path))
		if op.Backup == "" {
			if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Rename(filepath.Join(staging, op.Backup), target); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("update failed (%w) and its rollback too (%w); the staged files are in %s", cause, errors.Join(errs...), staging)
	}
	os.RemoveAll(staging)
	return fmt.Errorf("update failed, the tree is as it was: %w", cause)
}

// applyOp performs one operation; it may run twice (when an interrupted
// update is finished), so it tolerates work already done.
func applyOp(dir, staging string, op journalOp) error {
	target := filepath.Join(dir, filepath.FromSlash(op.Path))
	if op.Remove {
		if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	staged := filepath.Join(staging, op.Staged)
	if _, err := os.Lstat(staged); errors.Is(err, fs.ErrNotExist) {
		return nil // moved into place before the interruption
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	if op.Link {
		linkTarget, err := os.ReadFile(staged)
		if err != nil {
			return err
		}
		os.Remove(target)
		if err := os.Symlink(string(linkTarget), target); err != nil {
			return err
		}
		return os.Remove(staged)
	}
	if err := os.Chmod(staged, op.Mode); err != nil {
		return err
	}
	return os.Rename(staged, target)
}

// finishInterrupted replays the journal of an update that was killed while
// it applied, and reports whether there was one.
func finishInterrupted(dir string) (bool, error) {
	staging := filepath.Join(dir, stagingDir)
	data, err := os.ReadFile(filepath.Join(staging, "journal.json"))
	if errors.Is(err, fs.ErrNotExist) {
		// Killed before the journal was written: nothing was applied.
		if _, statErr := os.Stat(staging); statErr == nil {
			return false, os.RemoveAll(staging)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Join(staging, "journal.json"), err)
	}
	for _, op := range j.Ops {
		if err := applyOp(dir, staging, op); err != nil {
			return true, fmt.Errorf("finishing the interrupted update: %s: %w", op.Path, err)
		}
	}
	return true, os.RemoveAll(staging)
}

func writeFileAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
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
	return os.Rename(tmp, name)
}
