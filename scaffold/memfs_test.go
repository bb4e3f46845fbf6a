package scaffold

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
)

// TestMemFS: memFS is a file system by fs's own conformance test; a link
// in it is a link (ReadLink, Lstat), opened as what it names inside the
// tree and never as anything outside.
func TestMemFS(t *testing.T) {
	m := memFS{
		"a.txt":           {data: []byte("a"), mode: 0o644},
		"dir/b.sh":        {data: []byte("#!/bin/sh\n"), mode: 0o755},
		"dir/sub/c":       {data: []byte("c"), mode: 0o644},
		"dir/link":        {data: []byte("../a.txt"), mode: fs.ModeSymlink | 0o777},
		"dir/sub/d/e.txt": {data: nil, mode: 0o644},
	}
	if err := fstest.TestFS(m, "a.txt", "dir/b.sh", "dir/sub/c", "dir/sub/d/e.txt"); err != nil {
		t.Fatal(err)
	}
	if target, err := fs.ReadLink(m, "dir/link"); err != nil || target != "../a.txt" {
		t.Errorf("ReadLink = %q, %v", target, err)
	}
	if fi, err := fs.Lstat(m, "dir/link"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat = %v, %v; want a link", fi, err)
	}
	if data, err := fs.ReadFile(m, "dir/link"); err != nil || string(data) != "a" {
		t.Errorf("reading dir/link = %q, %v; want a.txt's", data, err)
	}
	for _, target := range []string{"../../outside", "/etc/passwd", "loop"} {
		m["l"] = memFile{data: []byte(target), mode: fs.ModeSymlink | 0o777}
		m["loop"] = memFile{data: []byte("l"), mode: fs.ModeSymlink | 0o777}
		if _, err := fs.ReadFile(m, "l"); err == nil {
			t.Errorf("a link to %s opened", target)
		}
	}
	if _, err := m.Open("../a.txt"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open(../a.txt) = %v, want invalid", err)
	}
	if _, err := m.Open("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want not exist", err)
	}
}
