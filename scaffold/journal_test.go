package scaffold

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// killTemplate is a template whose v2 changes every kind of path an
// update's journal handles: a file that becomes a directory, a directory
// that becomes a file, a file added where the team has an empty directory
// git does not track, a rename with a change, a delete, a mode change, a
// link retargeted and a link added, and a text conflict marked in the index.
func killTemplate(t *testing.T) *templateRepo {
	tr := newTemplateRepo(t)
	lines := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	v1 := map[string]string{
		"paved.yaml":    "questions: []\n",
		"conf":          "a file that becomes a directory\n",
		"tree/b.txt/x":  "x\n",
		"tree/b.txt/y":  "y\n",
		"old.txt":       lines,
		"gone.txt":      "dropped by v2\n",
		"run.sh":        "#!/bin/sh\necho run\n",
		"conflict.txt":  "a\nb\nc\n",
		"untouched.txt": "same\n",
	}
	writeTemplateVersion(t, tr, "v1.0.0", v1, map[string]string{"ln": "old.txt"}, nil)
	v2 := map[string]string{
		"paved.yaml":    "questions: []\n",
		"conf/a.txt":    "now below a directory\n",
		"tree/b.txt":    "now a file\n",
		"slot":          "a file where the team has an empty directory\n",
		"new.txt":       strings.Replace(lines, "10\n", "ten\n", 1),
		"run.sh":        "#!/bin/sh\necho run\n",
		"conflict.txt":  "a\nB from the template\nc\n",
		"untouched.txt": "same\n",
	}
	writeTemplateVersion(t, tr, "v2.0.0", v2, map[string]string{"ln": "new.txt", "ln2": "tree/b.txt"}, []string{"run.sh"})
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	return tr
}

// writeTemplateVersion replaces the template's files with files, links and
// executables, and tags the commit as version (moving the tag).
func writeTemplateVersion(t *testing.T, tr *templateRepo, version string, files, links map[string]string, executables []string) {
	t.Helper()
	entries, _ := os.ReadDir(tr.dir)
	for _, e := range entries {
		if e.Name() != ".git" {
			os.RemoveAll(filepath.Join(tr.dir, e.Name()))
		}
	}
	scaffoldtest.WriteTree(t, tr.dir, files)
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(tr.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range executables {
		if err := os.Chmod(filepath.Join(tr.dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	scaffoldtest.Git(t, tr.dir, "add", "-A")
	scaffoldtest.Git(t, tr.dir, "commit", "-qm", version, "--allow-empty")
	scaffoldtest.Git(t, tr.dir, "tag", "-f", version)
}

// killRepo is the team's repository at v1, with an edit the rename carries,
// a conflicting edit, and an empty directory where v2 adds a file.
func killRepo(t *testing.T, tr *templateRepo) (string, *Resolver) {
	dir, r := generated(t, tr, "v1.0.0")
	userEdit(t, dir, "old.txt", "one, the team's\n2\n3\n4\n5\n6\n7\n8\n9\n10\n")
	userEdit(t, dir, "conflict.txt", "a\nB from the team\nc\n")
	commitAll(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "slot"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, r
}

// repoState is what an update leaves: every path of the tree with its kind,
// mode and content (empty directories too), and the git index's stages.
func repoState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		switch {
		case err != nil:
			return err
		case rel == ".git":
			return filepath.SkipDir
		case d.IsDir():
			state[rel] = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			state[rel] = "link -> " + target
			return err
		default:
			data, err := os.ReadFile(p)
			state[rel] = fmt.Sprintf("%v %q", fi.Mode().Perm(), data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	state["(git index)"] = scaffoldtest.Git(t, dir, "ls-files", "--stage")
	return state
}

// TestUpdateResumesFromEveryKill: an update stopped before any step that
// changes the tree or its staging (and so in the middle of every journal
// operation), then run again, leaves the tree, the index stages and the
// lock exactly as one uninterrupted update does; so does a replay stopped
// at any of its own steps and run once more.
func TestUpdateResumesFromEveryKill(t *testing.T) {
	tr := killTemplate(t)
	pristine, r := killRepo(t, tr)
	ctx := context.Background()

	clean := copyDir(t, pristine)
	var steps []string
	opts := UpdateOptions{Dir: clean, Resolver: r}
	opts.applier.crash = func(step string) error { steps = append(steps, step); return nil }
	res, err := Update(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicts()) != 1 {
		t.Fatalf("conflicts %v, want conflict.txt", res.Conflicts())
	}
	want := repoState(t, clean)
	for _, p := range []string{"conf/a.txt", "tree/b.txt", "slot", "new.txt", "ln2"} {
		if _, ok := want[p]; !ok {
			t.Fatalf("the uninterrupted update did not write %s: %v", p, want)
		}
	}
	if want["run.sh"] == "" || !strings.HasPrefix(want["run.sh"], "-rwxr-xr-x") {
		t.Fatalf("run.sh = %s, want it executable", want["run.sh"])
	}
	journalAt := slices.Index(steps, "write the journal")
	if journalAt < 0 || len(steps)-journalAt < 20 {
		t.Fatalf("steps %q: the test stops too few", steps)
	}

	killAt := func(step int) func(string) error {
		n := 0
		return func(string) error {
			n++
			if n == step+1 {
				return errKilled
			}
			return nil
		}
	}
	for k, step := range steps {
		t.Run(fmt.Sprintf("%02d %s", k, step), func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, pristine)
			opts := UpdateOptions{Dir: dir, Resolver: r}
			opts.applier.crash = killAt(k)
			if _, err := Update(ctx, opts); !errors.Is(err, errKilled) {
				t.Fatalf("update = %v, want it killed", err)
			}
			killed := copyDir(t, dir)
			rerun(t, dir, r, want)
			if k < journalAt || (k-journalAt)%3 != 0 || testing.Short() {
				return
			}
			// Killed again, at each step of the replay (of every third
			// step of the first run: the replays of its neighbours are
			// the same but for one operation).
			var replay []string
			probe := copyDir(t, killed)
			opts = UpdateOptions{Dir: probe, Resolver: r}
			opts.applier.crash = func(step string) error { replay = append(replay, step); return nil }
			if _, err := Update(ctx, opts); err != nil {
				t.Fatal(err)
			}
			for k2 := range replay {
				dir := copyDir(t, killed)
				opts := UpdateOptions{Dir: dir, Resolver: r}
				opts.applier.crash = killAt(k2)
				if _, err := Update(ctx, opts); !errors.Is(err, errKilled) {
					t.Fatalf("replay stopped at %q: %v, want it killed", replay[k2], err)
				}
				rerun(t, dir, r, want)
			}
		})
	}
}

// rerun runs update on a killed repository and checks that it finished
// the update it found, leaving want.
func rerun(t *testing.T, dir string, r *Resolver, want map[string]string) {
	t.Helper()
	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.Finished && (len(res.Conflicts()) != 1 || res.Conflicts()[0] != "conflict.txt") {
		t.Errorf("rerun finished the update with conflicts %v, want conflict.txt", res.Conflicts())
	}
	if got := repoState(t, dir); !cmp.Equal(want, got) {
		t.Fatalf("after the rerun (-uninterrupted +rerun):\n%s", cmp.Diff(want, got))
	}
}

// TestUpdateRefusesAnUnfinishableJournal: when what the journal meant can
// no longer be made (the team changed the tree after the kill, or a staged
// file is gone), the rerun changes nothing, says in one line what is wrong
// and how to get out, and never reports success.
func TestUpdateRefusesAnUnfinishableJournal(t *testing.T) {
	tr := killTemplate(t)
	pristine, r := killRepo(t, tr)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		killAt string                         // the step the first run stops at (its end)
		meddle func(t *testing.T, dir string) // what happens before the rerun
		want   string
	}{
		{"staged files lost", "(new.txt): set the mode", func(t *testing.T, dir string) {
			staged, _ := filepath.Glob(filepath.Join(dir, stagingDir, "new-*"))
			for _, f := range staged {
				os.Remove(f)
			}
		}, "its new content is no longer staged, and the tree has"},
		{"a written file deleted by the team", "mark the conflicts", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "new.txt"))
		}, "new.txt: its new content is no longer staged, and the tree has nothing there"},
		{"a written file changed by the team", "mark the conflicts", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "slot"), []byte("the team's\n"), 0o644)
		}, "slot: its new content is no longer staged, and the tree has other content there"},
		{"a written file's mode changed by the team", "mark the conflicts", func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, "run.sh"), 0o644)
		}, "run.sh: its new content is no longer staged, and the tree has it with mode -rw-r--r--, not -rwxr-xr-x"},
		{"a file where the update removes a directory", "(tree/b.txt): remove the directory", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "tree", "b.txt"))
			os.WriteFile(filepath.Join(dir, "tree", "b.txt"), []byte("the team's\n"), 0o644)
		}, "tree/b.txt: the update removes a directory there, and finds a file it did not write"},
		{"a file the update removes replaced by the team", "(old.txt): remove", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "old.txt"))
			os.WriteFile(filepath.Join(dir, "old.txt"), []byte("the team's\n"), 0o644)
		}, "old.txt: the update removes it, and finds something there it did not leave"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, pristine)
			opts := UpdateOptions{Dir: dir, Resolver: r}
			var seen []string
			opts.applier.crash = func(step string) error {
				seen = append(seen, step)
				if strings.HasSuffix(step, tc.killAt) {
					return errKilled
				}
				return nil
			}
			if _, err := Update(ctx, opts); !errors.Is(err, errKilled) {
				t.Fatalf("update = %v, want it killed at %q (steps: %q)", err, tc.killAt, seen)
			}
			tc.meddle(t, dir)
			before := repoState(t, dir)
			res, err := Update(ctx, UpdateOptions{Dir: dir, Resolver: r})
			if err == nil {
				t.Fatalf("rerun succeeded (%+v) over a tree the journal cannot finish", res)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "git -C") || !strings.Contains(msg, "stash --include-untracked") || strings.Contains(msg, "\n") {
				t.Errorf("rerun error = %q, want one line with %q and the way out", msg, tc.want)
			}
			if after := repoState(t, dir); !cmp.Equal(before, after) {
				t.Errorf("the refused rerun changed the tree:\n%s", cmp.Diff(before, after))
			}
		})
	}
}

const updateKillEnv = "PAVED_TEST_UPDATE_KILL"

// runUpdateForKill is the child of TestUpdateSIGKILL: it updates the
// repository in the current directory from the template at $PAVED_TEST_UPDATE_KILL,
// saying "journal" on stdout when the journal is written and slowing each
// later step, so that a kill lands inside the apply.
func runUpdateForKill() error {
	r := &Resolver{Builtins: Builtins{}}
	opts := UpdateOptions{Dir: ".", Resolver: r}
	journal := false
	opts.applier.crash = func(step string) error {
		if step == "write the journal" {
			fmt.Println("journal")
			journal = true
		}
		if journal {
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	}
	_, err := Update(context.Background(), opts)
	return err
}

// TestUpdateSIGKILL: real kills, at random moments of the apply, of a
// process running update; the next update finishes it, as in
// TestUpdateResumesFromEveryKill.
func TestUpdateSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	tr := killTemplate(t)
	pristine, r := killRepo(t, tr)
	clean := copyDir(t, pristine)
	if _, err := Update(context.Background(), UpdateOptions{Dir: clean, Resolver: r}); err != nil {
		t.Fatal(err)
	}
	want := repoState(t, clean)
	rng := rand.New(rand.NewPCG(5, 6))
	landed := 0
	for i := range 12 {
		dir := copyDir(t, pristine)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), updateKillEnv+"=1")
		cmd.Dir = dir
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "journal\n" {
			t.Fatalf("kill %d: child said %q, %v", i, line, err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(60 * time.Millisecond))))
		_ = cmd.Process.Kill()
		if err := cmd.Wait(); err != nil {
			landed++
		}
		rerun(t, dir, r, want)
	}
	t.Logf("%d of 12 kills landed before the update ended", landed)
	if landed == 0 {
		t.Fatal("no kill landed inside the apply: the test proves nothing")
	}
}
