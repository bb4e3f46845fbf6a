//go:build mage

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPavedPinned: the verify and deps gates run a pinned release or a
// checkout this machine has; anything else fails naming the fix.
// Run with: go test -tags mage ./magefiles
func TestPavedPinned(t *testing.T) {
	t.Parallel()
	checkout := t.TempDir()
	if err := os.WriteFile(filepath.Join(checkout, "go.mod"), []byte("module github.com/paved-dev/paved\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const tools = "\ntool (\n\tgithub.com/paved-dev/paved/cmd/paved\n\tgithub.com/paved-dev/paved/cmd/paved-verify\n)\n"
	const develRequire = "\nrequire github.com/paved-dev/paved v0.0.0-00010101000000-000000000000\n"
	tests := []struct {
		name, gomod string
		wantErr     []string // in the error; none: no error
	}{
		{"release", tools + "\nrequire github.com/paved-dev/paved v1.2.0\n", nil},
		{"checkout on this machine", tools + develRequire + "\nreplace github.com/paved-dev/paved => " + checkout + "\n", nil},
		{"checkout relative to the tools module", tools + develRequire + "\nreplace github.com/paved-dev/paved => ./checkout\n", nil},
		{"checkout of another machine", tools + develRequire + "\nreplace github.com/paved-dev/paved => /nowhere/paved\n",
			[]string{"/nowhere/paved", "not on this machine", "mod edit -dropreplace=github.com/paved-dev/paved", pinRelease}},
		{"no paved", "", []string{"pins no paved", pinRelease}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.Symlink(checkout, filepath.Join(dir, "checkout")); err != nil {
				t.Fatal(err)
			}
			modfile := filepath.Join(dir, "go.mod")
			if err := os.WriteFile(modfile, []byte("module example.com/x/tools/paved\n\ngo 1.27.3\n"+tt.gomod), 0o644); err != nil {
				t.Fatal(err)
			}
			err := pavedPinned(t.Context(), modfile)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("pavedPinned: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("pavedPinned passed")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
