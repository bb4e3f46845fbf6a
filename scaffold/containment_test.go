package scaffold

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// Every test here is an attack on containment, built in the test from a
// template or a file an attacker controls, with no --trust.

func TestCheckPath(t *testing.T) {
	refused := []string{
		"", ".", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", "a\\b", "a\x00b",
		".git", ".git/config", "sub/.git/hooks/pre-commit", ".GIT/config", ".Git", ".git.", ".git ", ".git. . ",
		"git~1/config", "GIT~1", ".git::$INDEX_ALLOCATION/config", ".g\u200cit/config", "\ufeff.git",
		".paved-update/journal.json", ".PAVED-update/x", ".paved-answers.yaml", ".paved-new-1-abcdefabcdef",
		"\xff",
	}
	for _, p := range refused {
		if err := CheckPath(p); err == nil {
			t.Errorf("CheckPath(%q) = nil, want refused", p)
		}
	}
	allowed := []string{"README.md", ".github/workflows/ci.yml", ".gitignore", ".gitattributes", "a/.gitkeep", "git", ".gitx/y", "sub/.paved-update", "cmd/git~2"}
	for _, p := range allowed {
		if err := CheckPath(p); err != nil {
			t.Errorf("CheckPath(%q) = %v, want allowed", p, err)
		}
	}
}

func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"a/b", ".git", "../x", "a/.GIT./b", ".paved-update/x", "a\\b", "git~1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if CheckPath(p) != nil {
			return
		}
		// What the policy lets through is relative, clean, and never .git.
		if filepath.IsAbs(p) || filepath.Clean(p) != p || strings.Contains(p, "..") && hasDotDotSegment(p) {
			t.Fatalf("CheckPath(%q) allowed an unclean path", p)
		}
		for _, seg := range strings.Split(p, "/") {
			if strings.EqualFold(strings.TrimRight(stripIgnorable(seg), ". "), ".git") {
				t.Fatalf("CheckPath(%q) allowed a .git segment", p)
			}
		}
		if CheckTree([]File{{Path: p, Mode: 0o644}}) != nil {
			t.Fatalf("CheckTree refused %q, which CheckPath allows", p)
		}
	})
}

// FuzzCheckTreeAll: for any tree of up to four files and links, the
// engine's CheckTree refuses exactly when CheckTreeAll finds something,
// with CheckTreeAll's first refusal, and neither hangs nor panics on paths
// the policy refuses (CheckTreeAll goes on past them).
func FuzzCheckTreeAll(f *testing.F) {
	f.Add("a.txt", "A.txt", "l", "../x", "d/e")
	f.Add("/abs", "d", "d/f", "..", "")
	f.Add("x/y", "x", "x/y/z", "x/y", ".git/c")
	f.Fuzz(func(t *testing.T, a, b, link, target, c string) {
		files := []File{{Path: a, Mode: 0o644}, {Path: b, Mode: 0o644}, {Path: link, Mode: fs.ModeSymlink | 0o777, Link: target}, {Path: c, Mode: 0o755}}
		all := CheckTreeAll(files)
		first := CheckTree(files)
		switch {
		case len(all) == 0 && first != nil:
			t.Fatalf("CheckTree refused (%v) what CheckTreeAll allows", first)
		case len(all) > 0 && (first == nil || first.Error() != all[0].Error()):
			t.Fatalf("CheckTree = %v, CheckTreeAll's first = %v", first, all[0])
		}
	})
}

func hasDotDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

func TestCheckTreeRefuses(t *testing.T) {
	link := func(p, target string) File { return File{Path: p, Mode: os.ModeSymlink, Link: target} }
	file := func(p string) File { return File{Path: p, Mode: 0o644} }
	tests := []struct {
		name  string
		files []File
		want  string
	}{
		{"case collision", []File{file("README.md"), file("readme.md")}, "case-insensitive"},
		{"case collision of a directory", []File{file("Docs/a"), file("docs")}, "case-insensitive"},
		{"file under a file", []File{file("a"), file("a/b")}, "which is a file"},
		{"link chain through a link", []File{link("a/b/up", "../../0c"), link("a/b/up/l", "../..")}, "passes through the symbolic link a/b/up"},
		{"link chain resolving out", []File{link("a/up", "../c"), file("c/f"), link("b", "a/up/../..")}, "leaves the repository"},
		{"absolute link", []File{link("l", "/etc/passwd")}, "absolute"},
		{"link to .git", []File{link("l", ".git/config")}, "policy refuses"},
		{"link loop", []File{link("a", "b"), link("b", "a")}, "loop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTree(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckTree = %v, want %q", err, tt.want)
			}
		})
	}
	if err := CheckTree([]File{link("docs/latest", "../v2"), file("v2/index.md"), link("top", "docs/latest/index.md")}); err != nil {
		t.Fatalf("links inside the tree refused: %v", err)
	}
}

// newFromMap runs New on a template held in memory, as a built-in.
func newFromMap(t *testing.T, files fstest.MapFS, set ...string) (string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r := &Resolver{Builtins: Builtins{"hostile": files}, BuiltinVersion: "v1.0.0"}
	_, err := New(context.Background(), NewOptions{Module: "example.com/acme/app", Dir: dir, Template: "hostile", Resolver: r, NoHooks: true, Answers: AnswerInput{Set: set}})
	return dir, err
}

func TestNewRefusesHostileTemplates(t *testing.T) {
	const delims = "delims: ['<%', '%>']\n"
	tests := []struct {
		name  string
		files fstest.MapFS
		set   []string
		want  string
	}{
		{"planted update journal", fstest.MapFS{".paved-update/journal.json": {Data: []byte(`{"ops":[]}`)}}, nil, "reserved for paved"},
		{"planted .git by rename", fstest.MapFS{
			"paved.yaml":      {Data: []byte("rename:\n  dotgit: .git\n")},
			"dotgit/config":   {Data: []byte("[core]\n\tfsmonitor = touch pwned\n")},
			"dotgit/hooks/pc": {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		}, nil, "names .git"},
		{"planted .git by an answer", fstest.MapFS{
			"paved.yaml":            {Data: []byte(delims + "questions:\n  - name: D\n    default: x\n")},
			"<% .D %>/config":       {Data: []byte("[core]\n")},
			"<% .D %>/hooks/commit": {Data: []byte("#!/bin/sh\n")},
		}, []string{"D=.GIT"}, "names .git"},
		{"planted .git by NTFS short name", fstest.MapFS{"git~1/config": {Data: []byte("x")}}, nil, "names .git"},
		{"answers file planted", fstest.MapFS{".paved-answers.yaml": {Data: []byte("x")}}, nil, "reserved for paved"},
		{"absolute rename target", fstest.MapFS{
			"paved.yaml": {Data: []byte("rename:\n  a: /tmp/evil\n")},
			"a/x":        {Data: []byte("x")},
		}, nil, "absolute path"},
		{"absolute path from an answer", fstest.MapFS{
			"paved.yaml":  {Data: []byte(delims + "questions:\n  - name: D\n    default: x\n")},
			"<% .D %>/f":  {Data: []byte("x")},
			"keep/me.txt": {Data: []byte("x")},
		}, []string{"D=/tmp/evil"}, "leading or trailing /"},
		{"README twice", fstest.MapFS{"README.md": {Data: []byte("a")}, "readme.md": {Data: []byte("b")}}, nil, "case-insensitive"},
		{"link chain", fstest.MapFS{
			"paved.yaml":     {Data: []byte(delims + "questions:\n  - name: U\n    default: up\n")},
			"a/b/up":         {Data: []byte("../../0c"), Mode: os.ModeSymlink},
			"0c/keep":        {Data: []byte("x")},
			"a/b/<% .U %>/l": {Data: []byte("../.."), Mode: os.ModeSymlink},
		}, nil, "passes through the symbolic link"},
		{"manifest is a link", fstest.MapFS{"paved.yaml": {Data: []byte("/etc/passwd"), Mode: os.ModeSymlink}}, nil, "cannot be a link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := newFromMap(t, tt.files, tt.set...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error saying %q", err, tt.want)
			}
			if _, statErr := os.Lstat(dir); !errors.Is(statErr, os.ErrNotExist) {
				t.Fatalf("%s was written", dir)
			}
			entries, _ := os.ReadDir(filepath.Dir(dir))
			if len(entries) != 0 {
				t.Fatalf("left behind: %v", entries)
			}
		})
	}
}

// TestUpdateRefusesPlantedJournal plants a journal an attacker wrote (in a
// repository's history, or by hand) and checks the replay changes nothing.
func TestUpdateRefusesPlantedJournal(t *testing.T) {
	tests := []struct {
		name string
		ops  string
		want string
	}{
		{"creates beside DIR", `[{"path":"../beside.txt","staged":"new-0","mode":420}]`, "segment .."},
		{"removes beside DIR", `[{"path":"../victim.txt","remove":true}]`, "segment .."},
		{"moves from two levels up", `[{"path":"stolen","staged":"../../../victim.txt","mode":420}]`, "not paved's"},
		{"backup from outside", `[{"path":"x","staged":"new-0","backup":"../../victim.txt","mode":420}]`, "not paved's"},
		{"writes .git", `[{"path":".git/hooks/pre-commit","staged":"new-0","mode":493}]`, "names .git"},
		{"link out", `[{"path":"l","staged":"new-0","link":true}]`, "leaves the repository"},
		{"odd mode", `[{"path":"x","staged":"new-0","mode":2541}]`, "mode"},
		{"unknown field", `[{"path":"x","staged":"new-0","mode":420,"exec":"sh"}]`, "unknown field"},
		{"staged link out", `[{"path":"planted","staged":"new-0","mode":420}]`, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := t.TempDir()
			dir := filepath.Join(top, "a", "repo")
			scaffoldtest.WriteTree(t, top, map[string]string{
				"victim.txt":                        "keep me\n",
				"a/victim.txt":                      "keep me too\n",
				"a/repo/.paved-answers.yaml":        "template: /nowhere\nversion: v1.0.0\nmodule: example.com/x\nanswers: {}\n",
				"a/repo/.paved-update/new-0":        "../..\n",
				"a/repo/.paved-update/journal.json": `{"ops":` + tt.ops + `}`,
			})
			os.WriteFile(filepath.Join(dir, stagingDir, "new-0"), []byte("../.."), 0o600)
			if tt.name == "staged link out" {
				os.Remove(filepath.Join(dir, stagingDir, "new-0"))
				os.Symlink("../../victim.txt", filepath.Join(dir, stagingDir, "new-0"))
			}
			before := scaffoldtest.ReadTree(t, top)
			_, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: &Resolver{}})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "not an update paved can finish") {
				t.Fatalf("Update = %v, want a refusal saying %q", err, tt.want)
			}
			if after := scaffoldtest.ReadTree(t, top); !equalTrees(before, after) {
				t.Fatalf("the replay changed files:\nbefore %v\nafter  %v", keys(before), keys(after))
			}
		})
	}
}

func FuzzJournalReplay(f *testing.F) {
	f.Add(`{"ops":[{"path":"a.txt","staged":"new-0","mode":420}]}`)
	f.Add(`{"ops":[{"path":"../x","remove":true}],"conflicts":[{"path":"a","mode":420,"stages":["stage-0-0","",""]}]}`)
	f.Add(`{"ops":[{"path":"l","staged":"new-0","link":true}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		top := t.TempDir()
		dir := filepath.Join(top, "repo")
		scaffoldtest.WriteTree(t, top, map[string]string{"outside.txt": "x", "repo/.paved-update/new-0": "../../outside.txt"})
		os.WriteFile(filepath.Join(dir, stagingDir, journalName), []byte(data), 0o600)
		w, err := openWorkTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		_, _, _ = new(applier).finishInterrupted(context.Background(), w)
		// Whatever the journal says, nothing outside the repository changes.
		got, err := os.ReadFile(filepath.Join(top, "outside.txt"))
		if err != nil || string(got) != "x" {
			t.Fatalf("outside.txt = %q, %v", got, err)
		}
		entries, _ := os.ReadDir(top)
		if len(entries) != 2 {
			t.Fatalf("the replay created files beside the repository: %v", entries)
		}
	})
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestUpdateVersionIsNoOption: a version in the answers file or --to that
// looks like an option never reaches git as one (git archive --output once
// emptied a file).
func TestUpdateVersionIsNoOption(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	tr.tag(t, "v2.0.0", templateV2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	victim := filepath.Join(t.TempDir(), "victim.txt")
	os.WriteFile(victim, []byte("precious\n"), 0o644)
	inject := "--output=" + victim

	answers := filepath.Join(dir, AnswersFileName)
	data, _ := os.ReadFile(answers)
	hostile := regexp.MustCompile(`(?m)^commit: .*\n`).ReplaceAllString(strings.Replace(string(data), "version: v1.0.0", "version: "+inject, 1), "")
	os.WriteFile(answers, []byte(hostile), 0o644)
	commitAll(t, dir)
	for _, opts := range []UpdateOptions{
		{Dir: dir, Resolver: r, DryRun: true},
		{Dir: dir, Resolver: r, To: inject, DryRun: true},
	} {
		_, err := Update(context.Background(), opts)
		if err == nil || !errors.Is(err, ErrBadRevision) {
			t.Errorf("Update(to %q) = %v, want ErrBadRevision", opts.To, err)
		}
		if got, _ := os.ReadFile(victim); string(got) != "precious\n" {
			t.Fatalf("victim file changed: %q", got)
		}
	}
}

// TestGitConfigRunsNothing: a template repository's (or the team's) git
// configuration names commands for filters and fsmonitor; reading versions
// and checking the tree must run none of them.
func TestGitConfigRunsNothing(t *testing.T) {
	tr := newTemplateRepo(t)
	marker := filepath.Join(t.TempDir(), "pwned")
	hostile := "touch " + marker
	v1 := map[string]string{"paved.yaml": "questions: []\n", "a.txt": "one\n", ".gitattributes": "* filter=evil\n"}
	tr.tag(t, "v1.0.0", v1)
	v2 := map[string]string{"paved.yaml": "questions: []\n", "a.txt": "two\n", ".gitattributes": "* filter=evil\n"}
	tr.tag(t, "v2.0.0", v2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	// Configured last: the test's own git commands would run them.
	for _, repo := range []string{tr.dir, dir} {
		for _, kv := range [][2]string{{"filter.evil.smudge", hostile}, {"filter.evil.clean", hostile}, {"filter.evil.process", hostile}, {"filter.evil.required", "true"}, {"core.fsmonitor", hostile}} {
			scaffoldtest.Git(t, repo, "config", kv[0], kv[1])
		}
	}
	os.WriteFile(filepath.Join(tr.dir, "a.txt"), []byte("dirty\n"), 0o644)
	if _, err := New(context.Background(), NewOptions{Module: "example.com/x", Dir: filepath.Join(t.TempDir(), "n"), Template: tr.dir, Resolver: r}); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a command from git configuration ran")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "two\n" {
		t.Fatalf("a.txt = %q", got)
	}
}

// TestUpdateRefusesWritingThroughLinks: a link in the work tree (planted by
// an earlier version, or the team's) never carries a later write outside.
func TestUpdateRefusesWritingThroughLinks(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", map[string]string{"paved.yaml": "questions: []\n", "keep.txt": "x\n"})
	tr.tag(t, "v2.0.0", map[string]string{"paved.yaml": "questions: []\n", "keep.txt": "x\n", "out/evil.txt": "planted\n"})
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	commitAll(t, dir)
	_, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err == nil || !strings.Contains(err.Error(), "passes through the symbolic link out") {
		t.Fatalf("Update = %v, want a refusal", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote outside: %v", entries)
	}
	if _, err := os.Lstat(filepath.Join(dir, stagingDir)); err == nil {
		t.Fatal("the staging directory was left behind")
	}
}

// TestUpdateWritesLinksAndTypeChanges: a version may add or change a link,
// turn a file into a directory and back.
func TestUpdateWritesLinksAndTypeChanges(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", map[string]string{"paved.yaml": "questions: []\n", "docs": "a file\n", "conf/a.txt": "a\n", "mine.txt": "1\n2\n3\n"})
	v2 := map[string]string{"paved.yaml": "questions: []\n", "docs/index.md": "now a directory\n", "conf": "now a file\n", "mine.txt": "1\n2\n3 template\n", "target.txt": "t\n"}
	tr.tag(t, "v2.0.0", v2)
	if err := os.Symlink("target.txt", filepath.Join(tr.dir, "latest")); err != nil {
		t.Fatal(err)
	}
	scaffoldtest.Git(t, tr.dir, "add", "-A")
	scaffoldtest.Git(t, tr.dir, "commit", "-qm", "link")
	scaffoldtest.Git(t, tr.dir, "tag", "v2.1.0")
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	// The team made mine.txt a link; the template changes the file.
	os.Remove(filepath.Join(dir, "mine.txt"))
	os.Symlink("conf/a.txt", filepath.Join(dir, "mine.txt"))
	commitAll(t, dir)

	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	got := scaffoldtest.ReadTree(t, dir)
	if got["docs/index.md"] != "now a directory\n" || got["conf"] != "now a file\n" {
		t.Fatalf("type changes not applied: %v", keys(got))
	}
	if target, err := os.Readlink(filepath.Join(dir, "latest")); err != nil || target != "target.txt" {
		t.Fatalf("link latest = %q, %v", target, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "mine.txt")); err != nil || target != "conf/a.txt" {
		t.Fatalf("the team's link was not kept: %q, %v", target, err)
	}
	if c := res.Conflicts(); len(c) != 1 || c[0] != "mine.txt" {
		t.Fatalf("conflicts = %v, want mine.txt", c)
	}
	// Each stage in the index has its own side's mode: the team's link,
	// the template's file.
	stages := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(scaffoldtest.Git(t, dir, "ls-files", "-u", "mine.txt")), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 {
			stages[f[2]] = f[0]
		}
	}
	if stages["1"] != "100644" || stages["2"] != "120000" || stages["3"] != "100644" {
		t.Fatalf("index stages of mine.txt = %v, want base and theirs 100644, ours 120000", stages)
	}
}

// TestUpdateKilledMarksConflicts: after a kill at any operation, the rerun
// finishes the update, leaves the conflicts unmerged in the index and lists them.
func TestUpdateKilledMarksConflicts(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	tr.tag(t, "v2.0.0", templateV2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	for kill := 0; ; kill++ {
		dir, r := generated(t, tr, "v1.0.0")
		userEdit(t, dir, "config.txt", "a=1\nb=mine\nc=3\n")
		commitAll(t, dir)
		opts := UpdateOptions{Dir: dir, Resolver: r}
		opts.applier.beforeOp = func(i int) error {
			if i == kill {
				return errKilled
			}
			return nil
		}
		_, err := Update(context.Background(), opts)
		if err == nil {
			if kill < 3 {
				t.Fatalf("only %d operations: the test kills nothing", kill)
			}
			break // past the last operation: nothing to kill
		}
		if !errors.Is(err, errKilled) {
			t.Fatal(err)
		}
		res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Finished || len(res.Conflicts()) != 1 || res.Conflicts()[0] != "config.txt" {
			t.Fatalf("kill %d: rerun = %+v, want config.txt listed as a conflict", kill, res)
		}
		if out := scaffoldtest.Git(t, dir, "ls-files", "-u", "config.txt"); strings.Count(out, "config.txt") != 3 {
			t.Fatalf("kill %d: config.txt not unmerged in the index: %q", kill, out)
		}
	}
}

// TestUpdateScratchStaysInStaging: merges leave nothing in the system temp dir.
func TestUpdateScratchStaysInStaging(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	tr.tag(t, "v2.0.0", templateV2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	userEdit(t, dir, "config.txt", "a=1\nb=mine\nc=3\n")
	commitAll(t, dir)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if _, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("left in TMPDIR: %v", entries)
	}
	if _, err := os.Lstat(filepath.Join(dir, stagingDir)); err == nil {
		t.Fatal("staging directory left behind")
	}
}

// TestWriteTreeRemovesStaleStaging: what a killed `new` left beside DIR (or
// inside it) goes with the next `new` of that DIR; a live process's stays.
func TestWriteTreeRemovesStaleStaging(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	parent := t.TempDir()
	stale := filepath.Join(parent, ".repo.paved-new-"+itoa(dead)+"-abcdefabcdef")
	live := filepath.Join(parent, ".repo.paved-new-"+itoa(os.Getpid())+"-abcdefabcdef")
	other := filepath.Join(parent, ".repo.paved-new-notmine")
	for _, d := range []string{stale, live, other} {
		scaffoldtest.WriteTree(t, d, map[string]string{"big": "x"})
	}
	if err := WriteTree(context.Background(), filepath.Join(parent, "repo"), []File{{Path: "a", Data: []byte("a"), Mode: 0o644}}); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{stale: false, live: true, other: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestWriteTreeIntoEmptyDir: `paved new MODULE .` keeps the directory the
// user's shell is in.
func TestWriteTreeIntoEmptyDir(t *testing.T) {
	dir := t.TempDir()
	before, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := []File{{Path: "a/b.txt", Data: []byte("b"), Mode: 0o644}, {Path: "c", Data: []byte("c"), Mode: 0o755}}
	if err := WriteTree(context.Background(), dir, files); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(dir)
	if err != nil || !os.SameFile(before, after) {
		t.Fatal("the directory was replaced")
	}
	if got := scaffoldtest.ReadTree(t, dir); len(got) != 2 || got["a/b.txt"] != "b" {
		t.Fatalf("tree = %v", got)
	}
	// A failure part way leaves the directory empty again.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	empty := t.TempDir()
	if err := WriteTree(ctx, empty, files); err == nil {
		t.Fatal("cancelled WriteTree succeeded")
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("left in the directory: %v", entries)
	}
}

// TestNewKillLoop kills `new` at random moments while it writes: DIR is
// never partial, and the next `new` of DIR leaves no staging sibling.
func TestNewKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 30 child processes")
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "repo")
	// A child process of this test binary prepares and renders as New
	// does, says "writing" on stdout, writes the tree with WriteTree and
	// says how long that took; see TestMain. Kills are aimed inside the
	// write, however slow the machine is at starting processes.
	start := func() (*exec.Cmd, *bufio.Reader) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), killLoopEnv+"=1")
		cmd.Dir = parent // the child writes ./repo there
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		if line, err := r.ReadString('\n'); err != nil || line != "writing\n" {
			t.Fatalf("child said %q, %v", line, err)
		}
		return cmd, r
	}
	cmd, r := start()
	line, _ := r.ReadString('\n')
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	ns, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(line), "wrote "), 10, 64)
	if err != nil {
		t.Fatalf("child said %q", line)
	}
	write := time.Duration(ns)
	os.RemoveAll(dir)
	rng := rand.New(rand.NewPCG(3, 4))
	leftovers := 0
	for i := range 30 {
		cmd, _ := start()
		time.Sleep(time.Duration(rng.Int64N(int64(write) + 1)))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if _, err := os.Stat(dir); err == nil {
			if _, err := os.Stat(filepath.Join(dir, AnswersFileName)); err != nil {
				t.Fatalf("kill %d: %s exists without its answers file: a partial tree", i, dir)
			}
			if n := len(scaffoldtest.ReadTree(t, dir)); n != killLoopFiles+2 { // and the answers file and the lock
				t.Fatalf("kill %d: %d files in %s, want %d", i, n, dir, killLoopFiles+2)
			}
			os.RemoveAll(dir)
		}
		if entries, _ := os.ReadDir(parent); len(entries) > 0 {
			leftovers++
		}
		// The next run of the same DIR cleans up after the killed one.
		if err := runKillLoopNew(dir, io.Discard); err != nil {
			t.Fatalf("kill %d: the next new: %v", i, err)
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("kill %d: left beside DIR: %v", i, entries)
		}
		os.RemoveAll(dir)
	}
	t.Logf("a whole write took %v; %d of 30 kills left a staging directory, each removed by the next new", write, leftovers)
	if leftovers == 0 {
		t.Fatal("no kill landed while new was writing: the test proves nothing")
	}
}

const (
	killLoopEnv   = "PAVED_TEST_KILL_LOOP_DIR"
	killLoopFiles = 400
)

func TestMain(m *testing.M) {
	if os.Getenv(updateKillEnv) != "" {
		if err := runUpdateForKill(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	if os.Getenv(killLoopEnv) != "" {
		if err := runKillLoopNew("repo", os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runKillLoopNew makes a 400-file repository in dir as New does: prepare,
// render, then WriteTree, saying on progress when the write starts and how
// long it took.
func runKillLoopNew(dir string, progress io.Writer) error {
	files := fstest.MapFS{}
	body := []byte(strings.Repeat("kill loop line\n", 2000))
	for i := range killLoopFiles {
		files[fmt.Sprintf("d%d/f%d.txt", i%20, i)] = &fstest.MapFile{Data: body}
	}
	r := &Resolver{Builtins: Builtins{"big": files}, BuiltinVersion: "v1.0.0"}
	ctx := context.Background()
	plan, err := Prepare(ctx, r, "big", "example.com/acme/app", "v1.0.0", AnswerInput{})
	if err != nil {
		return err
	}
	tree, err := plan.Render(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(progress, "writing")
	start := time.Now()
	if err := WriteTree(ctx, dir, tree); err != nil {
		return err
	}
	fmt.Fprintln(progress, "wrote", time.Since(start).Nanoseconds())
	return nil
}

// TestWriteTreeErrorsNameDIR: an error writing the staging directory names
// the directory the user gave, never the temporary one.
func TestWriteTreeErrorsNameDIR(t *testing.T) {
	// DIR's name is legal, the staging sibling's is too long.
	dir := filepath.Join(t.TempDir(), strings.Repeat("r", 240))
	err := WriteTree(context.Background(), dir, []File{{Path: "a", Data: []byte("a"), Mode: 0o644}})
	if err == nil || strings.Contains(err.Error(), "paved-new") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("WriteTree = %v, want an error naming %s and no staging name", err, dir)
	}
}
