//go:build mage

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
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

// TestPinnedVerifier: a slow first build of paved-verify says what it
// builds and how long it took; a cached one says nothing.
// Not parallel: it puts a stand-in go command first on PATH.
func TestPinnedVerifier(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in go command is a shell script")
	}
	tests := []struct {
		name, script string
		want         []string // in the output, in order; none: no output
	}{
		{"cached", "echo /cache/paved-verify\n", nil},
		{"first build", "sleep 1\necho /cache/paved-verify\n", []string{"verify: building paved and paved-verify as tools/paved/go.mod pins them", "verify: building paved-verify (", "verify: built paved-verify in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\n"+tt.script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			var out gateOutput
			got, err := pinnedVerifier(withOutput(t.Context(), &out), 100*time.Millisecond, 300*time.Millisecond)
			if err != nil || got != "/cache/paved-verify" {
				t.Fatalf("pinnedVerifier = %q, %v", got, err)
			}
			printed := out.buf.String()
			if _, cmd, _ := strings.Cut(printed, "\n"); len(tt.want) == 0 && cmd != "" {
				t.Errorf("a cached verifier printed more than the command:\n%s", printed)
			}
			rest := printed
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, printed)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
