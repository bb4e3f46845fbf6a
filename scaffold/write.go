package scaffold

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// WriteTree writes files into dir, all or nothing, through an os.Root so no
// file can land outside it. When dir does not exist, the tree is written to
// a temporary sibling and renamed into place: a failure or a kill leaves no
// dir. When dir is an existing empty directory (`paved new MODULE .`), the
// directory itself is kept: the tree is staged in a hidden directory inside
// it and moved into place entry by entry, and a failure removes what was
// moved. Staging directories that a killed paved left are recognised by
// their name (paved's prefix and the dead process's id) and removed by the
// next WriteTree of the same dir.
func WriteTree(ctx context.Context, dir string, files []File) (err error) {
	if err := checkTree(files, enginePath); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	parent, base := filepath.Dir(abs), filepath.Base(abs)
	removeStale(parent, "."+base+stagingInfix)
	removeStale(abs, stagingInfix[1:])
	if err := CheckTarget(abs); err != nil {
		return err
	}
	if fi, statErr := os.Stat(abs); statErr == nil && fi.IsDir() {
		return hideStaging(dir, writeInto(ctx, abs, files))
	}
	created, err := mkdirAllTracked(parent)
	if err != nil {
		return hideStaging(dir, err)
	}
	tmp, err := makeStaging(parent, "."+base+stagingInfix)
	if err != nil {
		return hideStaging(dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			if created != "" {
				os.RemoveAll(created)
			}
		}
	}()
	if err := writeFiles(ctx, tmp, files); err != nil {
		return hideStaging(dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return hideStaging(dir, err)
	}
	return hideStaging(dir, os.Rename(tmp, abs))
}

// hideStaging words a file system error of the staging directory in terms
// of the directory the user named: its temporary name means nothing to them.
func hideStaging(dir string, err error) error {
	var pathErr *fs.PathError
	var linkErr *os.LinkError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &linkErr):
		return fmt.Errorf("cannot write %s: %w", dir, linkErr.Err)
	case errors.As(err, &pathErr) && strings.Contains(pathErr.Path, stagingInfix):
		return fmt.Errorf("cannot write %s: %w", dir, pathErr.Err)
	}
	return err
}

// writeInto writes the tree into the existing empty directory dir.
func writeInto(ctx context.Context, dir string, files []File) (err error) {
	tmp, err := makeStaging(dir, stagingInfix[1:])
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := writeFiles(ctx, tmp, files); err != nil {
		return err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	var moved []string
	defer func() {
		if err != nil {
			for _, name := range moved {
				os.RemoveAll(filepath.Join(dir, name))
			}
		}
	}()
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
		moved = append(moved, e.Name())
	}
	return nil
}

// writeFiles writes the files into the directory tmp through an os.Root.
func writeFiles(ctx context.Context, tmp string, files []File) error {
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
	return nil
}

// stagingInfix names paved's staging directories for new, followed by the
// process id and a random part: ".DIR.paved-new-PID-RANDOM" beside DIR, or
// ".paved-new-PID-RANDOM" inside it.
const stagingInfix = "." + "paved-new-"

func makeStaging(parent, prefix string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	name := filepath.Join(parent, prefix+strconv.Itoa(os.Getpid())+"-"+hex.EncodeToString(b[:]))
	if err := os.Mkdir(name, 0o700); err != nil {
		return "", err
	}
	return name, nil
}

// removeStale removes the staging directories in parent whose name starts
// with prefix and whose process is gone. Errors are ignored: what cannot be
// removed now is tried again next time.
func removeStale(parent, prefix string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, random, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || len(random) != 12 || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(parent, e.Name()))
	}
}

// processAlive reports whether a process with the id exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
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
