package scaffold

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestNewFirstCommit: with tasks, the new repository is on branch main with
// a first commit, so the first update finds a clean tree; without a git
// identity, paved says how to make the commit.
func TestNewFirstCommit(t *testing.T) {
	tmpl := fstest.MapFS{
		"paved.yaml": {Data: []byte("questions: []\ntasks:\n  - [git, init, --quiet, --initial-branch=main]\n")},
		"a.txt":      {Data: []byte("a\n")},
	}
	r := &Resolver{Builtins: Builtins{"service": tmpl}, BuiltinVersion: "v1.0.0"}
	dir := filepath.Join(t.TempDir(), "repo")
	res, err := New(context.Background(), NewOptions{Module: "example.com/x", Dir: dir, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed {
		t.Fatalf("no first commit: %q", res.CommitHint)
	}
	if got := scaffoldtest.Git(t, dir, "log", "--format=%s", "-1"); strings.TrimSpace(got) != "paved: service v1.0.0" {
		t.Errorf("commit message %q", got)
	}
	if got := scaffoldtest.Git(t, dir, "branch", "--show-current"); strings.TrimSpace(got) != "main" {
		t.Errorf("branch %q", got)
	}
	if _, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r}); err != nil {
		t.Fatalf("the first update: %v", err)
	}

	// No identity: nothing committed, and the hint says how.
	global := filepath.Join(t.TempDir(), "gitconfig")
	os.WriteFile(global, []byte("[user]\n\tuseConfigOnly = true\n"), 0o644)
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	dir2 := filepath.Join(t.TempDir(), "repo")
	res, err = New(context.Background(), NewOptions{Module: "example.com/x", Dir: dir2, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed || !strings.Contains(res.CommitHint, "git has no identity") || !strings.Contains(res.CommitHint, "commit -m") {
		t.Fatalf("committed %v, hint %q", res.Committed, res.CommitHint)
	}
}
