package scaffold

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteTreeDirectories: writeFiles opens each directory once and keeps
// open only those leading to the current file; files in any order, sibling
// directories whose names share a prefix, deep paths and returns to a
// shallower directory all land where their paths say, with their modes.
func TestWriteTreeDirectories(t *testing.T) {
	files := []File{
		{Path: "z.txt", Data: []byte("z"), Mode: 0o644}, // out of order, as paved's own files come last
		{Path: "a/b/c/d/e.txt", Data: []byte("e"), Mode: 0o644},
		{Path: "a/b-c", Data: []byte("b-c"), Mode: 0o755},
		{Path: "a/b/x.sh", Data: []byte("x"), Mode: 0o755},
		{Path: "a/b.txt", Data: []byte("b"), Mode: 0o644},
		{Path: "a/bc/y", Data: []byte("y"), Mode: 0o644},
		{Path: "a/b/c/link", Mode: fs.ModeSymlink, Link: "d/e.txt"},
		{Path: "a/top", Data: []byte("top"), Mode: 0o644},
		{Path: "m/n", Data: []byte("n"), Mode: 0o644},
		{Path: "b", Data: []byte("root b"), Mode: 0o644},
	}
	dir := filepath.Join(t.TempDir(), "repo")
	if err := WriteTree(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", f.Path, err)
			continue
		}
		if f.Mode&fs.ModeSymlink != 0 {
			if target, err := os.Readlink(p); err != nil || target != f.Link {
				t.Errorf("%s: link to %q (%v), want %q", f.Path, target, err, f.Link)
			}
			continue
		}
		if fi.Mode() != f.Mode {
			t.Errorf("%s: mode %v, want %v", f.Path, fi.Mode(), f.Mode)
		}
		if data, _ := os.ReadFile(p); string(data) != string(f.Data) {
			t.Errorf("%s: %q, want %q", f.Path, data, f.Data)
		}
	}
	var got []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		got = append(got, filepath.ToSlash(rel))
		return err
	})
	if len(got) != len(files)+1+6 { // the files, the root, a a/b a/b/c a/b/c/d a/bc m
		t.Errorf("tree holds %d entries, want %d: %v", len(got), len(files)+7, got)
	}
}

// TestWriteTreeDirectoryWhereFileIs: a directory is never made through
// something of the tree already at its name; the write fails and leaves
// nothing (CheckTree refuses such a tree first; writeFiles does not rely
// on it).
func TestWriteTreeDirectoryWhereFileIs(t *testing.T) {
	root := t.TempDir()
	for _, first := range []File{
		{Path: "a", Data: []byte("file"), Mode: 0o644},
		{Path: "a", Mode: fs.ModeSymlink, Link: "real"},
	} {
		tmp, err := os.MkdirTemp(root, "w")
		if err != nil {
			t.Fatal(err)
		}
		os.Mkdir(filepath.Join(tmp, "real"), 0o755)
		err = writeFiles(context.Background(), tmp, []File{first, {Path: "a/b", Data: []byte("b"), Mode: 0o644}})
		if err == nil {
			t.Errorf("%v then a/b: written", first.Mode)
		}
		if _, err := os.Lstat(filepath.Join(tmp, "real", "b")); err == nil {
			t.Errorf("%v then a/b: written through the link", first.Mode)
		}
	}
}
