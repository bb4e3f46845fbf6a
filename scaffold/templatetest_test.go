package scaffold

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestRenderSkipsCasesFile: paved-tests.yaml, like paved.yaml, is never
// rendered into a repository (but a plain module keeps it).
func TestRenderSkipsCasesFile(t *testing.T) {
	fsys := fstest.MapFS{
		ManifestName:  {Data: []byte("questions:\n  - name: Name\n    default: x\n")},
		TestsFileName: {Data: []byte("cases: []\n")},
		"a.txt":       {Data: []byte("a")},
	}
	files, err := renderMapFS(t, fsys, "example.com/x")
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(files, func(f File) bool { return f.Path == TestsFileName }) {
		t.Errorf("%s rendered into the repository", TestsFileName)
	}
	delete(fsys, ManifestName)
	files, err = renderMapFS(t, fsys, "example.com/x")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(files, func(f File) bool { return f.Path == TestsFileName }) {
		t.Errorf("a plain module lost its %s", TestsFileName)
	}
}

func TestParseTestCasesErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"empty", "", "paved-tests.yaml: empty cases file"},
		{"no cases", "golden: g\n", "paved-tests.yaml: no cases"},
		{"unknown top key", "case: []\n", "paved-tests.yaml: line 1: field case not found"},
		{"unknown case key", "cases:\n  - name: a\n    module: example.com/a\n    answer: {}\n", `paved-tests.yaml: line 4: unknown key "answer" in case`},
		{"bad name", "cases:\n  - name: ../x\n    module: example.com/a\n", `paved-tests.yaml:2: case name "../x" must be`},
		{"repeated", "cases:\n  - name: a\n    module: example.com/a\n  - name: a\n    module: example.com/b\n", `paved-tests.yaml:4: case "a" repeated`},
		{"bad module", "cases:\n  - name: a\n    module: 'Not A Module'\n", `paved-tests.yaml:2: case a: module "Not A Module"`},
		{"empty command", "cases:\n  - name: a\n    module: example.com/a\n    commands: [[]]\n", "paved-tests.yaml:2: case a: empty command"},
		{"bad timeout", "cases:\n  - name: a\n    module: example.com/a\n    timeout: soon\n", `paved-tests.yaml:2: case a: timeout "soon"`},
		{"absolute golden", "golden: /etc\ncases:\n  - name: a\n    module: example.com/a\n", `paved-tests.yaml: golden "/etc" must be`},
		{"two documents", "cases:\n  - name: a\n    module: example.com/a\n---\nx: 1\n", "paved-tests.yaml: line 4: a second YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTestCases(TestsFileName, []byte(tt.data))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to start with %q", err, tt.want)
			}
		})
	}
}

func FuzzParseTestCases(f *testing.F) {
	f.Add([]byte("cases:\n  - name: a\n    module: example.com/a\n    answers: {X: 1}\n    commands: [[go, build]]\n    timeout: 1m\n"))
	f.Add([]byte("golden: ../g\ncases: [{name: b, module: example.com/b}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tc, err := ParseTestCases(TestsFileName, data)
		if err != nil {
			return
		}
		for _, c := range tc.Cases {
			if !caseNameRE().MatchString(c.Name) || strings.ContainsAny(c.Name, `/\`) || c.Timeout <= 0 {
				t.Fatalf("accepted case %+v", c)
			}
		}
	})
}

// TestRunTemplateTest covers the gates of a case: golden (missing, equal,
// different, updated) and commands (passing, failing, timing out).
func TestRunTemplateTest(t *testing.T) {
	dir := t.TempDir()
	scaffoldtest.WriteTree(t, dir, map[string]string{
		"tmpl/paved.yaml": "questions:\n  - name: Name\n    default: '{{ .Module | moduleBase }}'\nexclude: ['testdata/golden/**']\n",
		"tmpl/a.txt.tmpl": "hi {{ .Name }}\n",
		"tmpl/bin/x":      "#!/bin/sh\n",
		"tmpl/paved-tests.yaml": "cases:\n  - name: ok\n    module: example.com/acme/one\n    commands: [[sh, -c, 'test -f a.txt']]\n" +
			"  - name: fails\n    module: example.com/acme/two\n    commands: [[sh, -c, 'echo nope; exit 4'], [touch, never]]\n" +
			"  - name: slow\n    module: example.com/acme/three\n    commands: [[sleep, '30']]\n    timeout: 200ms\n",
	})
	tt, err := OpenTemplateTest(t.Context(), filepath.Join(dir, "tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	run := func() map[string][]GateResult {
		t.Helper()
		results, err := RunTemplateTest(t.Context(), tt)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]GateResult{}
		for _, r := range results {
			out[r.Case.Name] = r.Gates
		}
		return out
	}
	got := run()
	if g := got["ok"]; len(g) != 1 || g[0].Err == nil || !strings.Contains(g[0].Err.Error(), "no golden tree") || !strings.Contains(g[0].Err.Error(), "-update") {
		t.Fatalf("without golden trees: %+v", g)
	}
	tt.Update = true
	got = run()
	tt.Update = false
	if g := got["ok"]; len(g) != 2 || g[0].Name != "update" || g[0].Err != nil || g[1].Err != nil {
		t.Fatalf("-update: %+v", g)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "tmpl", "testdata", "golden", "fails", "a.txt")); string(data) != "hi two\n" {
		t.Errorf("golden fails/a.txt = %q", data)
	}
	got = run()
	if g := got["ok"]; len(g) != 2 || g[0].Err != nil || g[1].Err != nil {
		t.Errorf("ok: %+v", g)
	}
	if g := got["fails"]; len(g) != 2 || g[1].Err == nil || g[1].Detail != "nope" {
		t.Errorf("a failing command must fail its case and stop it, with its output: %+v", g)
	}
	if g := got["slow"]; len(g) != 2 || g[1].Err == nil || !strings.Contains(g[1].Err.Error(), "timed out after 200ms") || g[1].Duration > 10*time.Second {
		t.Errorf("slow: %+v", g)
	}
	// One byte changed in a golden file fails that case, naming the file.
	scaffoldtest.WriteTree(t, filepath.Join(dir, "tmpl", "testdata", "golden", "ok"), map[string]string{"a.txt": "hi onE\n", "extra.txt": "x"})
	tt.Run = regexp.MustCompile("^ok$")
	got = run()
	if len(got) != 1 {
		t.Fatalf("-run ^ok$ ran %d cases", len(got))
	}
	g := got["ok"]
	if len(g) != 1 || g[0].Err == nil || !strings.Contains(g[0].Err.Error(), "in a.txt, extra.txt (if intended: -update)") ||
		!strings.Contains(g[0].Detail, "-hi onE\n+hi one\n") || !strings.Contains(g[0].Detail, "extra.txt: in the golden tree but no longer rendered") {
		t.Errorf("changed golden: %+v", g)
	}
}

// TestRunTemplateTestGoldenOutside: a cases file cannot make -update write
// or remove anything outside the template's repository, whatever the
// repository's git configuration says its work tree is.
func TestRunTemplateTestGoldenOutside(t *testing.T) {
	for _, tc := range []struct {
		name   string
		golden string
		setup  func(t *testing.T, dir string) // dir holds victim/ and tmpl/
	}{
		{"no git", "../victim", func(*testing.T, string) {}},
		{"core.worktree names the parent", "../victim", func(t *testing.T, dir string) {
			tmpl := filepath.Join(dir, "tmpl")
			scaffoldtest.Git(t, tmpl, "init", "-q")
			scaffoldtest.Git(t, tmpl, "config", "core.worktree", dir)
		}},
		{"a .git file whose repository's core.worktree names the parent", "../victim", func(t *testing.T, dir string) {
			repo := filepath.Join(t.TempDir(), "repo.git")
			scaffoldtest.Git(t, filepath.Dir(repo), "init", "-q", "--bare", repo)
			scaffoldtest.Git(t, repo, "config", "core.bare", "false")
			scaffoldtest.Git(t, repo, "config", "core.worktree", dir)
			scaffoldtest.WriteTree(t, filepath.Join(dir, "tmpl"), map[string]string{".git": "gitdir: " + repo + "\n"})
		}},
		{"a link in the template to outside", "out/g", func(t *testing.T, dir string) {
			tmpl := filepath.Join(dir, "tmpl")
			scaffoldtest.Git(t, tmpl, "init", "-q")
			if err := os.Symlink(filepath.Join(dir, "victim"), filepath.Join(tmpl, "out")); err != nil {
				t.Fatal(err)
			}
			scaffoldtest.WriteTree(t, dir, map[string]string{"victim/g/a/keep.txt": "keep"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			scaffoldtest.WriteTree(t, dir, map[string]string{
				"victim/a/keep.txt":     "keep",
				"tmpl/paved.yaml":       "questions:\n  - name: Name\n    default: x\n",
				"tmpl/x.txt":            "x",
				"tmpl/paved-tests.yaml": "golden: " + tc.golden + "\ncases:\n  - name: a\n    module: example.com/acme/a\n",
			})
			tc.setup(t, dir)
			before := scaffoldtest.ReadTree(t, filepath.Join(dir, "victim"))
			tt, err := OpenTemplateTest(t.Context(), filepath.Join(dir, "tmpl"))
			if err != nil {
				t.Fatal(err)
			}
			tt.Update = true
			results, err := RunTemplateTest(t.Context(), tt)
			if err != nil {
				t.Fatal(err)
			}
			if !results[0].Failed() {
				t.Errorf("golden outside the template: %+v", results[0].Gates)
			}
			if after := scaffoldtest.ReadTree(t, filepath.Join(dir, "victim")); !maps.Equal(before, after) {
				t.Errorf("files outside the template were removed or changed: %q, was %q", after, before)
			}
		})
	}
}
