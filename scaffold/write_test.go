package scaffold

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "repo")
	files := []File{
		{Path: "go.mod", Data: []byte("module x\n"), Mode: 0o644},
		{Path: "bin/run.sh", Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		{Path: "docs/link", Mode: fs.ModeSymlink, Link: "../go.mod"},
	}
	if err := WriteTree(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "bin", "run.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v %v", fi, err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "docs", "link")); err != nil || string(data) != "module x\n" {
		t.Errorf("link: %q %v", data, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("temporary directory left beside the target: %v", entries)
	}
}

func TestWriteTreeTarget(t *testing.T) {
	parent := t.TempDir()
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	if err := WriteTree(context.Background(), empty, []File{{Path: "a", Mode: 0o644}}); err != nil {
		t.Errorf("empty target refused: %v", err)
	}
	full := filepath.Join(parent, "full")
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "keep"), []byte("mine"), 0o644)
	err := WriteTree(context.Background(), full, []File{{Path: "a", Mode: 0o644}})
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("non-empty target: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(full, "keep")); string(data) != "mine" {
		t.Error("non-empty target touched")
	}
}

// A failure part way leaves no target directory, no temporary directory and
// no parent directories that the write created.
func TestWriteTreeFailureLeavesNothing(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		ctx   func() context.Context
	}{
		{"file where a directory must go", []File{{Path: "a", Mode: 0o644}, {Path: "a/b", Mode: 0o644}}, context.Background},
		{"cancelled", []File{{Path: "a", Mode: 0o644}}, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "new", "repo")
			if err := WriteTree(tt.ctx(), dir, tt.files); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(filepath.Join(base, "new")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("left %s behind: %v", filepath.Join(base, "new"), err)
			}
		})
	}
}
