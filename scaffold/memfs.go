package scaffold

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// memFS is a tree of files held in memory, by slash path: what a git
// revision of a template reads into. Directories are implied by the paths
// below them. A file whose mode has fs.ModeSymlink holds its link's
// target. It implements fs.FS, fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and
// fs.ReadLinkFS. Opening a link opens what it names inside the tree:
// nothing in a memFS can name anything outside it.
type memFS map[string]memFile

type memFile struct {
	data []byte
	mode fs.FileMode
}

func (m memFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	name, err := m.resolve(name)
	if err != nil {
		return nil, err
	}
	if f, ok := m[name]; ok {
		return &memOpenFile{info: memInfo{name: path.Base(name), size: int64(len(f.data)), mode: f.mode}, r: strings.NewReader(string(f.data))}, nil
	}
	entries, ok := m.dir(name)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memOpenFile{info: memInfo{name: path.Base(name), mode: fs.ModeDir | 0o755}, entries: entries}, nil
}

// resolve follows the links name passes through, inside the tree.
func (m memFS) resolve(name string) (string, error) {
	for range 40 {
		f, ok := m[name]
		if !ok || f.mode&fs.ModeSymlink == 0 {
			return name, nil
		}
		target := string(f.data)
		next := path.Join(path.Dir(name), target)
		if path.IsAbs(target) || !fs.ValidPath(next) {
			return "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		name = next
	}
	return "", &fs.PathError{Op: "open", Path: name, Err: errors.New("too many links")}
}

// dir lists the entries of directory name, sorted; ok is false when no
// path lies below it.
func (m memFS) dir(name string) ([]fs.DirEntry, bool) {
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	seen := map[string]fs.DirEntry{}
	for p, f := range m {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || rest == "" {
			continue
		}
		if child, _, below := strings.Cut(rest, "/"); below {
			seen[child] = fs.FileInfoToDirEntry(memInfo{name: child, mode: fs.ModeDir | 0o755})
		} else {
			seen[child] = fs.FileInfoToDirEntry(memInfo{name: child, size: int64(len(f.data)), mode: f.mode})
		}
	}
	if len(seen) == 0 && name != "." {
		return nil, false
	}
	entries := make([]fs.DirEntry, 0, len(seen))
	for _, e := range seen {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, true
}

func (m memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	entries, ok := m.dir(name)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return entries, nil
}

func (m memFS) ReadFile(name string) ([]byte, error) {
	f, err := m.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (m memFS) Stat(name string) (fs.FileInfo, error) {
	f, err := m.Open(name)
	if err != nil {
		return nil, err
	}
	return f.Stat()
}

func (m memFS) Lstat(name string) (fs.FileInfo, error) {
	if f, ok := m[name]; ok && f.mode&fs.ModeSymlink != 0 {
		return memInfo{name: path.Base(name), size: int64(len(f.data)), mode: f.mode}, nil
	}
	return m.Stat(name)
}

func (m memFS) ReadLink(name string) (string, error) {
	f, ok := m[name]
	if !ok || f.mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return string(f.data), nil
}

type memInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return i.mode }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.mode.IsDir() }
func (i memInfo) Sys() any           { return nil }

// memOpenFile is an open file or directory of a memFS.
type memOpenFile struct {
	info    memInfo
	r       *strings.Reader
	entries []fs.DirEntry // a directory's, consumed by ReadDir
}

func (f *memOpenFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memOpenFile) Close() error               { return nil }

func (f *memOpenFile) Read(p []byte) (int, error) {
	if f.r == nil {
		return 0, &fs.PathError{Op: "read", Path: f.info.name, Err: fs.ErrInvalid}
	}
	return f.r.Read(p)
}

func (f *memOpenFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if f.r != nil {
		return nil, &fs.PathError{Op: "readdir", Path: f.info.name, Err: fs.ErrInvalid}
	}
	if n <= 0 {
		out := f.entries
		f.entries = nil
		return out, nil
	}
	if len(f.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(f.entries))
	out := f.entries[:n]
	f.entries = f.entries[n:]
	return out, nil
}
