package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
)

// workTree is a generated repository as update reads and writes it: every
// file operation goes through an os.Root of its directory, so no link can
// take a read or a write outside it, and paths that pass through a link
// inside it are refused before anything is touched.
type workTree struct {
	dir  string
	root *os.Root
}

func openWorkTree(dir string) (*workTree, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &workTree{dir: dir, root: root}, nil
}

func (w *workTree) Close() error { return w.root.Close() }

// enginePath reports whether the engine may touch p: its own files, or a
// path the output-path policy allows.
func enginePath(p string) error {
	if p == AnswersFileName || p == LockFileName {
		return nil
	}
	return CheckPath(p)
}

// checkParents refuses a path whose parent directories include a symbolic
// link or a file in the work tree.
func (w *workTree) checkParents(p string) error {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		fi, err := w.root.Lstat(filepath.FromSlash(dir))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return &PathError{Path: p, Rule: "passes through the symbolic link " + dir + " in the repository"}
		}
	}
	return nil
}

// read returns the work tree's file at p; nil when absent. A directory is
// returned as such, for the merge to decide.
func (w *workTree) read(p string) (*workFile, error) {
	if err := enginePath(p); err != nil {
		return nil, err
	}
	if err := w.checkParents(p); err != nil {
		return nil, err
	}
	name := filepath.FromSlash(p)
	fi, err := w.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil // absent, or a parent is a file
	}
	if err != nil {
		return nil, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := w.root.Readlink(name)
		return &workFile{data: []byte(target), mode: fs.ModeSymlink}, err
	case fi.IsDir():
		return &workFile{mode: fs.ModeDir}, nil
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	data, err := w.root.ReadFile(name)
	mode := fs.FileMode(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	return &workFile{data: data, mode: mode}, err
}

// linkAt is the target of the work tree's link at p, if p is one.
func (w *workTree) linkAt(p string) (string, bool) {
	fi, err := w.root.Lstat(filepath.FromSlash(p))
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return "", false
	}
	target, err := w.root.Readlink(filepath.FromSlash(p))
	return target, err == nil
}

// checkChanges checks the planned changes against the tree they will make:
// every path is the engine's to touch, none passes through a link, and every
// link written resolves inside the tree as it will be.
func (w *workTree) checkChanges(changes []Change) error {
	planned := map[string]*Change{}
	for i := range changes {
		c := &changes[i]
		if err := enginePath(c.Path); err != nil {
			return err
		}
		if err := w.checkParents(c.Path); err != nil {
			return err
		}
		planned[c.Path] = c
	}
	linkAt := func(p string) (string, bool) {
		if c, ok := planned[p]; ok && c.Writes() {
			if c.Action == ActionRemove || c.Mode&fs.ModeSymlink == 0 {
				return "", false
			}
			return string(c.Data), true
		}
		return w.linkAt(p)
	}
	for _, c := range changes {
		if c.Writes() && c.Action != ActionRemove && c.Mode&fs.ModeSymlink != 0 {
			if _, err := ResolveLink(c.Path, string(c.Data), linkAt); err != nil {
				return err
			}
		}
	}
	return nil
}
