package scaffold

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// CheckTarget reports whether dir can receive a new repository: it must not
// exist, or be an empty directory.
func CheckTarget(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("target %s exists and is not a directory", dir)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Readdirnames(1); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return fmt.Errorf("target directory %s is not empty; choose a new DIR", dir)
	}
	return nil
}

// WriteTree writes files into a new directory dir, all or nothing: they go
// into a temporary sibling first, which is renamed into place at the end, so
// a failure or a kill leaves no dir behind. Writes go through os.Root, so no
// file can land outside it.
func WriteTree(ctx context.Context, dir string, files []File) (err error) {
	if err := CheckTarget(dir); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	parent := filepath.Dir(abs)
	created, err := mkdirAllTracked(parent)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(abs)+".paved-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			if created != "" {
				os.RemoveAll(created)
			}
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return err
	}
	defer root.Close()
	made := map[string]bool{".": true} // directories created so far
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if dir := path.Dir(f.Path); !made[dir] {
			if err := root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
				return fmt.Errorf("writing %s: %w", f.Path, err)
			}
			made[dir] = true
		}
		if err := writeFile(root, f); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	// os.Rename refuses to replace a directory, even an empty one; os.Remove
	// removes only an empty one, so nothing of the user's can be lost here.
	if fi, statErr := os.Stat(abs); statErr == nil && fi.IsDir() {
		if err := os.Remove(abs); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				_ = os.Mkdir(abs, fi.Mode().Perm()) // give the user back the empty directory
			}
		}()
	}
	return os.Rename(tmp, abs)
}

// writeFile writes one file into root; its directory exists.
func writeFile(root *os.Root, f File) error {
	name := filepath.FromSlash(f.Path)
	if f.Mode&fs.ModeSymlink != 0 {
		return root.Symlink(filepath.FromSlash(f.Link), name)
	}
	if err := root.WriteFile(name, f.Data, f.Mode.Perm()); err != nil {
		return err
	}
	// WriteFile's mode is masked by the umask; the template's mode is the truth.
	return root.Chmod(name, f.Mode.Perm())
}

// mkdirAllTracked creates dir and its missing parents and returns the
// topmost directory it created ("" if none), so a failure can remove it.
func mkdirAllTracked(dir string) (string, error) {
	top := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if top == "" {
		return "", nil
	}
	return top, os.MkdirAll(dir, 0o755)
}
