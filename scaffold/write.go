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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
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

// writeFiles writes the files into the directory tmp. Each directory is
// made once, then opened by the writers that need it, and its files are
// created relative to it: nothing is resolved but a single name in a
// directory paved just made, and O_NOFOLLOW refuses a link in the place
// of any of them, so, as through an os.Root, nothing can land outside tmp;
// a file costs four system calls (open, write, fchmod, close) however deep
// it is. Through an os.Root and os.File it costs about twelve: each
// directory of its path resolved anew, for the write and again for the
// chmod, and fcntl and epoll calls that try the file with the network
// poller. The directories are made in one pass; the files are written on
// all cores, each writer taking a run of them in path order.
func writeFiles(ctx context.Context, tmp string, files []File) error {
	root, err := openat(unix.AT_FDCWD, tmp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: tmp, Err: err}
	}
	defer unix.Close(root)
	// The files of one directory are contiguous in path order, so an open
	// directory is done with once a file outside it comes: only the
	// directories leading to the current file are open at a time.
	order := make([]*File, len(files))
	for i := range files {
		order[i] = &files[i]
	}
	slices.SortFunc(order, func(a, b *File) int { return strings.Compare(a.Path, b.Path) })
	dirs := dirStack{dirs: []openDir{{path: ".", fd: root}}, create: true}
	for _, f := range order {
		if _, err := dirs.enter(path.Dir(f.Path)); err != nil {
			dirs.closeAll()
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	dirs.closeAll()
	// A writer's share is worth a goroutine from a few dozen files on.
	parts := min(runtime.GOMAXPROCS(0), (len(order)+31)/32)
	errs := make([]error, parts)
	forEach(parts, func(k int) {
		errs[k] = writeRun(ctx, root, order[k*len(order)/parts:(k+1)*len(order)/parts])
	})
	for _, err := range errs {
		if err != nil {
			return err // the first file's in path order, as one writer would
		}
	}
	return nil
}

// writeRun writes a run of files, in path order, into the tree at root,
// whose directories exist.
func writeRun(ctx context.Context, root int, files []*File) error {
	dirs := dirStack{dirs: []openDir{{path: ".", fd: root}}}
	defer dirs.closeAll()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir, err := dirs.enter(path.Dir(f.Path))
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		if err := writeFile(dir, path.Base(f.Path), f); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	return nil
}

// dirStack holds the open directories from the tree's root (first) down
// to the directory of the file at hand.
type dirStack struct {
	dirs   []openDir
	create bool // make the directories it enters; else they exist
}

type openDir struct {
	path string // slash-separated, "." for the tree's root
	fd   int
}

// enter returns the open directory dir, closing the open directories that
// do not contain it and opening (making, if s.create) those it lacks below
// the deepest one that does.
func (s *dirStack) enter(dir string) (int, error) {
	for len(s.dirs) > 1 && !within(dir, s.dirs[len(s.dirs)-1].path) {
		s.pop()
	}
	top := s.dirs[len(s.dirs)-1]
	if top.path == dir {
		return top.fd, nil
	}
	rest := dir
	if top.path != "." {
		rest = strings.TrimPrefix(dir, top.path+"/")
	}
	for name := range strings.SplitSeq(rest, "/") {
		parent := s.dirs[len(s.dirs)-1]
		p := path.Join(parent.path, name)
		if err := checkName(name); err != nil {
			return -1, &fs.PathError{Op: "mkdir", Path: p, Err: err}
		}
		// The staging directory was empty and each directory is made
		// once, so anything already there (a file or link of the tree
		// where a directory should be) is an error, never followed.
		if s.create {
			if err := ignoringEINTR(func() error { return unix.Mkdirat(parent.fd, name, 0o755) }); err != nil {
				return -1, &fs.PathError{Op: "mkdir", Path: p, Err: err}
			}
		}
		fd, err := openat(parent.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: p, Err: err}
		}
		s.dirs = append(s.dirs, openDir{path: p, fd: fd})
	}
	return s.dirs[len(s.dirs)-1].fd, nil
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

func (s *dirStack) pop() {
	unix.Close(s.dirs[len(s.dirs)-1].fd)
	s.dirs = s.dirs[:len(s.dirs)-1]
}

// closeAll closes the directories it opened (not the tree's root).
func (s *dirStack) closeAll() {
	for len(s.dirs) > 1 {
		s.pop()
	}
}

// checkName refuses what is not one name in a directory. The tree's paths
// passed checkTree, so none of them holds such a name; writeFiles relies
// on it for containment, so it says so itself.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fs.ErrInvalid
	}
	return nil
}

// writeFile creates f in the directory dir under the name base; nothing
// may be there yet. The mode is set on the open file as well: the one
// given to open is masked by the umask, and the template's mode is the
// truth.
func writeFile(dir int, base string, f *File) error {
	if err := checkName(base); err != nil {
		return &fs.PathError{Op: "open", Path: f.Path, Err: err}
	}
	if f.Mode&fs.ModeSymlink != 0 {
		if err := ignoringEINTR(func() error { return unix.Symlinkat(filepath.FromSlash(f.Link), dir, base) }); err != nil {
			return &fs.PathError{Op: "symlink", Path: f.Path, Err: err}
		}
		return nil
	}
	perm := uint32(f.Mode.Perm())
	fd, err := openat(dir, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return &fs.PathError{Op: "open", Path: f.Path, Err: err}
	}
	err = writeAll(fd, f.Data)
	if err == nil {
		err = ignoringEINTR(func() error { return unix.Fchmod(fd, perm) })
	}
	if closeErr := unix.Close(fd); err == nil {
		err = closeErr
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: f.Path, Err: err}
	}
	return nil
}

func openat(dir int, name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dir, name, flags, perm)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
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
