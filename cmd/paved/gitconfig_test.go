package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestGitConfigRunsNothing: no command of paved, without --trust, runs a
// command that git configuration names, in the team's repository or the
// template's, in either one's submodules, whatever the driver is called.
// Each hostile command touches a marker; every paved command must still do
// its job and leave no marker.
func TestGitConfigRunsNothing(t *testing.T) {
	for _, tt := range []struct {
		name string
		// arm configures the attack after every git command the test
		// itself runs (which would trigger it). tmpl and app are the
		// template's repository and the generated one.
		arm func(t *testing.T, tmpl, app, hostile string)
	}{
		{"a submodule's filter in the generated repository", func(t *testing.T, _, app, hostile string) {
			armSubmodule(t, app, hostile)
		}},
		{"a submodule's filter in the template's repository", func(t *testing.T, tmpl, _, hostile string) {
			armSubmodule(t, tmpl, hostile)
		}},
		{"a submodule's fsmonitor and hooks in the generated repository", func(t *testing.T, _, app, hostile string) {
			sub := addSubmodule(t, app)
			gitConfig(t, sub, "core.fsmonitor", hostile)
			gitConfig(t, sub, "core.hooksPath", filepath.Dir(hostile))
			touchAll(t, sub)
		}},
		{`filters named a=b, a.b, q"uote and "sp ace"`, func(t *testing.T, tmpl, app, hostile string) {
			for _, repo := range []string{tmpl, app} {
				writeFile(t, filepath.Join(repo, ".git", "info", "attributes"), "*.txt filter=a=b\n*.md filter=a.b\n*.tmpl filter=q\"uote\n")
				for _, name := range []string{"a=b", "a.b", `q"uote`, "sp ace"} {
					gitConfig(t, repo, "filter."+name+".clean", hostile)
					gitConfig(t, repo, "filter."+name+".process", hostile)
					gitConfig(t, repo, "filter."+name+".required", "true")
				}
				touchAll(t, repo)
			}
		}},
		{"a filter and a diff driver from an included file", func(t *testing.T, tmpl, app, hostile string) {
			for _, repo := range []string{tmpl, app} {
				inc := filepath.Join(t.TempDir(), "included")
				writeFile(t, inc, "[filter \"x=y.z\"]\n\tclean = "+hostile+"\n\tsmudge = "+hostile+"\n[diff \"d\"]\n\ttextconv = "+hostile+"\n\tcommand = "+hostile+"\n")
				gitConfig(t, repo, "include.path", inc)
				writeFile(t, filepath.Join(repo, ".git", "info", "attributes"), "* filter=x=y.z diff=d\n")
				touchAll(t, repo)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			tmpl := filepath.Join(work, "tmpl")
			app := filepath.Join(work, "app")
			marker := filepath.Join(t.TempDir(), "ran")
			hostile := "touch " + marker + "; cat"
			// An untagged template: paved asks whether its tree is dirty.
			writeFile(t, filepath.Join(tmpl, "paved.yaml"), "questions: []\n")
			writeFile(t, filepath.Join(tmpl, "a.txt"), "one\n")
			writeFile(t, filepath.Join(tmpl, "paved-tests.yaml"), "cases:\n  - name: plain\n    module: example.com/acme/app\n")
			scaffoldtest.Git(t, tmpl, "init", "-q")
			scaffoldtest.Git(t, tmpl, "add", "-A")
			scaffoldtest.Git(t, tmpl, "commit", "-qm", "one")
			if code, _, stderr := runPaved(t, work, "new", "--template", "./tmpl", "example.com/acme/app", "app"); code != 0 {
				t.Fatalf("new: exit %d\n%s", code, stderr)
			}
			scaffoldtest.Git(t, app, "init", "-q")
			scaffoldtest.Git(t, app, "add", "-A")
			scaffoldtest.Git(t, app, "commit", "-qm", "generated")
			writeFile(t, filepath.Join(tmpl, "a.txt"), "two\n")
			scaffoldtest.Git(t, tmpl, "commit", "-qam", "two")
			tt.arm(t, tmpl, app, hostile)

			steps := []struct {
				args []string
				code int
				want string // in stdout or stderr
			}{
				{[]string{"new", "--template", "./tmpl", "example.com/acme/other", "other"}, 0, ""},
				{[]string{"template", "versions", "./tmpl"}, 0, ""},
				{[]string{"check", "app"}, 1, "available"},
				{[]string{"diff", "app"}, 0, "+two"},
				{[]string{"update", "--dry-run", "app"}, 0, "would update"},
				{[]string{"update", "app"}, 0, ""},
				{[]string{"template", "test", "-golden-only", "-update", "tmpl"}, 0, "plain"},
			}
			for _, s := range steps {
				code, stdout, stderr := runPaved(t, work, s.args...)
				if code != s.code || !strings.Contains(stdout+stderr, s.want) {
					t.Errorf("paved %s: exit %d (want %d), want %q in its output:\n%s%s", strings.Join(s.args, " "), code, s.code, s.want, stdout, stderr)
				}
				if _, err := os.Stat(marker); err == nil {
					t.Fatalf("paved %s ran a command from git configuration", strings.Join(s.args, " "))
				}
			}
			for dir, want := range map[string]string{app: "two\n", filepath.Join(work, "other"): "two\n"} {
				if got, err := os.ReadFile(filepath.Join(dir, "a.txt")); err != nil || string(got) != want {
					t.Errorf("%s/a.txt = %q, %v; want %q", dir, got, err, want)
				}
			}
		})
	}
}

// armSubmodule adds a submodule to repo whose own configuration holds a
// filter for every file, and leaves its files stat-dirty, so that a status
// that entered it would run the filter.
func armSubmodule(t *testing.T, repo, hostile string) {
	t.Helper()
	sub := addSubmodule(t, repo)
	gitConfig(t, sub, "filter.evil.clean", hostile)
	gitConfig(t, sub, "filter.evil.process", hostile)
	gitConfig(t, sub, "filter.evil.required", "true")
	touchAll(t, sub)
}

// addSubmodule commits a submodule "sub" (with .gitattributes naming the
// filter "evil" for every file) into repo and returns its work tree.
func addSubmodule(t *testing.T, repo string) string {
	t.Helper()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "s.txt"), "sub\n")
	writeFile(t, filepath.Join(src, ".gitattributes"), "* filter=evil\n")
	scaffoldtest.Git(t, src, "init", "-q")
	scaffoldtest.Git(t, src, "add", "-A")
	scaffoldtest.Git(t, src, "commit", "-qm", "sub")
	scaffoldtest.Git(t, repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", src, "sub")
	scaffoldtest.Git(t, repo, "commit", "-qm", "submodule")
	return filepath.Join(repo, "sub")
}

func gitConfig(t *testing.T, repo, key, value string) {
	t.Helper()
	scaffoldtest.Git(t, repo, "config", key, value)
}

// touchAll moves every file's modification time, keeping its content: git
// must then read the file (through its filter) to tell whether it changed.
func touchAll(t *testing.T, dir string) {
	t.Helper()
	later := time.Now().Add(time.Hour)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && d.Name() == ".git" {
			if err == nil {
				return filepath.SkipDir
			}
			return err
		}
		if d.Type().IsRegular() {
			return os.Chtimes(p, later, later)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
