package scaffold

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// templateRepo is a local git template whose versions are tags.
type templateRepo struct {
	dir string
}

func newTemplateRepo(t testing.TB) *templateRepo {
	dir := t.TempDir()
	scaffoldtest.Git(t, dir, "init", "-q")
	return &templateRepo{dir: dir}
}

// tag replaces the template's files with files and tags the commit.
func (tr *templateRepo) tag(t testing.TB, version string, files map[string]string) {
	t.Helper()
	entries, _ := os.ReadDir(tr.dir)
	for _, e := range entries {
		if e.Name() != ".git" {
			os.RemoveAll(filepath.Join(tr.dir, e.Name()))
		}
	}
	scaffoldtest.WriteTree(t, tr.dir, files)
	scaffoldtest.Git(t, tr.dir, "add", "-A")
	scaffoldtest.Git(t, tr.dir, "commit", "-qm", version, "--allow-empty")
	scaffoldtest.Git(t, tr.dir, "tag", version)
}

const v1Manifest = "questions:\n  - name: Name\n    default: app\n  - name: Chaos\n    type: bool\n    default: true\nfiles:\n  - path: 'chaos/**'\n    when: '{{ .Chaos }}'\n"

var templateV1 = map[string]string{
	"paved.yaml":          v1Manifest,
	"README.md.tmpl":      "# {{ .Name }}\n\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n",
	"config.txt":          "a=1\nb=2\nc=3\n",
	"untouched.txt":       "same in both\n",
	"dropped.txt":         "the template drops this\n",
	"dropped-changed.txt": "the template drops this too\n",
	"deleted-by-user.txt": "the user deletes this\n",
	"chaos/pod-kill.yaml": "kind: PodChaos\n",
	"bin.dat":             "\x00binary v1",
	"go.mod":              "module example.com/tmpl\n\ngo 1.25\n\nrequire example.com/a v1.0.0\n",
}

var templateV2 = map[string]string{
	"paved.yaml":          v1Manifest + "migrations:\n  - version: v2.0.0\n    run: [[sh, -c, 'echo migrated > migrated.txt']]\n",
	"README.md.tmpl":      "# {{ .Name }}\n\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8 changed by the template\n",
	"config.txt":          "a=1\nb=template\nc=3\n",
	"untouched.txt":       "same in both\n",
	"dropped-changed.txt": "the template drops this too\n",
	"deleted-by-user.txt": "the user deletes this, and the template changed it\n",
	"added.txt":           "new in v2\n",
	"chaos/pod-kill.yaml": "kind: PodChaos\nspec: {}\n",
	"bin.dat":             "\x00binary v2",
	"go.mod":              "module example.com/tmpl\n\ngo 1.26\n\nrequire (\n\texample.com/a v1.2.0\n\texample.com/b v0.1.0\n)\n",
}

func init() {
	delete(templateV2, "dropped-changed.txt")
}

// generated makes a repository at version from a template repo and commits it.
func generated(t *testing.T, tr *templateRepo, version string, set ...string) (string, *Resolver) {
	t.Helper()
	r := &Resolver{Builtins: Builtins{}}
	dir := filepath.Join(t.TempDir(), "repo")
	_, err := New(context.Background(), NewOptions{Module: "example.com/acme/app", Dir: dir, Template: tr.dir, To: version, Resolver: r, Answers: AnswerInput{Set: set}})
	if err != nil {
		t.Fatal(err)
	}
	scaffoldtest.Git(t, dir, "init", "-q")
	scaffoldtest.Git(t, dir, "add", "-A")
	scaffoldtest.Git(t, dir, "commit", "-qm", "generated")
	return dir, r
}

func commitAll(t *testing.T, dir string) {
	scaffoldtest.Git(t, dir, "add", "-A")
	scaffoldtest.Git(t, dir, "commit", "-qm", "edit", "--allow-empty")
}

func userEdit(t *testing.T, dir, name, content string) {
	t.Helper()
	scaffoldtest.WriteTree(t, dir, map[string]string{name: content})
}

func TestUpdateMergesBothSides(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	tr.tag(t, "v2.0.0", templateV2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")

	// The user's work: one file the template also changes (README, other
	// lines), one it does not (untouched.txt), a delete, a change to a file
	// the template drops, a binary change, and a go.mod requirement.
	userEdit(t, dir, "README.md", "# app\n\nline 2 by the user\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n")
	userEdit(t, dir, "untouched.txt", "same in both\nplus the user's line\n")
	userEdit(t, dir, "dropped-changed.txt", "the template drops this too\nbut the user changed it\n")
	userEdit(t, dir, "bin.dat", "\x00binary by the user")
	userEdit(t, dir, "go.mod", "module example.com/acme/app\n\ngo 1.25\n\nrequire (\n\texample.com/a v1.1.0\n\texample.com/mine v1.3.0\n)\n")
	os.Remove(filepath.Join(dir, "deleted-by-user.txt"))
	commitAll(t, dir)

	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, PavedVersion: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "v1.0.0" || res.To != "v2.0.0" {
		t.Errorf("from %s to %s", res.From, res.To)
	}
	got := scaffoldtest.ReadTree(t, dir)
	want := map[string]string{
		"README.md":           "# app\n\nline 2 by the user\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8 changed by the template\n",
		"config.txt":          "a=1\nb=template\nc=3\n",
		"untouched.txt":       "same in both\nplus the user's line\n",
		"dropped-changed.txt": "the template drops this too\nbut the user changed it\n",
		"added.txt":           "new in v2\n",
		"chaos/pod-kill.yaml": "kind: PodChaos\nspec: {}\n",
		"bin.dat":             "\x00binary by the user",
		"go.mod":              "module example.com/acme/app\n\ngo 1.26\n\nrequire (\n\texample.com/a v1.2.0\n\texample.com/b v0.1.0\n\texample.com/mine v1.3.0\n)\n",
	}
	for name, content := range want {
		if got[name] != content {
			t.Errorf("%s =\n%q\nwant\n%q", name, got[name], content)
		}
	}
	for _, gone := range []string{"dropped.txt", "deleted-by-user.txt", "migrated.txt"} {
		if _, ok := got[gone]; ok {
			t.Errorf("%s exists after the update", gone)
		}
	}
	if !strings.Contains(got[AnswersFileName], "version: v2.0.0\n") {
		t.Errorf("answers file not at v2:\n%s", got[AnswersFileName])
	}
	actions := map[string]Action{}
	for _, c := range res.Changes {
		actions[c.Path] = c.Action
	}
	wantActions := map[string]Action{
		"README.md": ActionMerge, "config.txt": ActionUpdate, "added.txt": ActionAdd, "dropped.txt": ActionRemove,
		"dropped-changed.txt": ActionKeep, "bin.dat": ActionConflict, "go.mod": ActionMerge,
		"chaos/pod-kill.yaml": ActionUpdate, AnswersFileName: ActionUpdate, LockFileName: ActionUpdate,
	}
	if diff := cmp.Diff(wantActions, actions); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
	if !res.Skipped || len(res.Migrations) != 1 {
		t.Errorf("migration without --trust: skipped=%v %v", res.Skipped, res.Migrations)
	}
	// The binary conflict is unmerged in the index, as git merge leaves it.
	if out := scaffoldtest.Git(t, dir, "ls-files", "-u"); !strings.Contains(out, " 2\tbin.dat") || !strings.Contains(out, " 3\tbin.dat") || !strings.Contains(out, " 1\tbin.dat") {
		t.Errorf("git ls-files -u:\n%s", out)
	}

	// The recorded version is now the newest: nothing to do.
	commitAll(t, dir)
	if st, err := r.Status(context.Background(), dir); err != nil || st.Latest != "v2.0.0" || st.Outdated {
		t.Errorf("status = %+v, %v; want v2.0.0, up to date", st, err)
	}
}

func TestUpdateConflictMarkers(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	tr.tag(t, "v2.0.0", templateV2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	userEdit(t, dir, "config.txt", "a=1\nb=user\nc=3\n")
	commitAll(t, dir)

	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, Trust: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"config.txt"}, res.Conflicts()); diff != "" {
		t.Errorf("conflicts (-want +got):\n%s", diff)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "config.txt"))
	want := "a=1\n<<<<<<< yours\nb=user\n=======\nb=template\n>>>>>>> template v2.0.0\nc=3\n"
	if string(got) != want {
		t.Errorf("config.txt =\n%s\nwant\n%s", got, want)
	}
	if out := scaffoldtest.Git(t, dir, "status", "--porcelain"); !strings.Contains(out, "UU config.txt") {
		t.Errorf("git status does not show the conflict:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "migrated.txt")); err != nil {
		t.Errorf("migration with --trust did not run: %v", err)
	}
}

func TestUpdateDryRunAndDirty(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	tr.tag(t, "v2.0.0", templateV2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	userEdit(t, dir, "untouched.txt", "dirty\n")
	before := scaffoldtest.ReadTree(t, dir)

	_, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err == nil || !strings.Contains(err.Error(), "uncommitted changes") {
		t.Fatalf("dirty tree: %v", err)
	}
	var diff bytes.Buffer
	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, DryRun: true, Diff: &diff})
	if err != nil {
		t.Fatal(err)
	}
	if after := scaffoldtest.ReadTree(t, dir); !cmp.Equal(before, after) {
		t.Errorf("dry run changed the tree:\n%s", cmp.Diff(before, after))
	}
	for _, want := range []string{"--- a/config.txt\n+++ b/config.txt\n", "-b=2\n+b=template\n", "--- /dev/null\n+++ b/added.txt\n", "--- a/dropped.txt\n+++ /dev/null\n", "-version: v1.0.0\n", "+version: v2.0.0\n"} {
		if !strings.Contains(diff.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, diff.String())
		}
	}
	if len(res.Changes) == 0 {
		t.Error("dry run planned no changes")
	}
	if _, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, AllowDirty: true}); err != nil {
		t.Errorf("--allow-dirty: %v", err)
	}
}

func TestUpdateChangedAnswer(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, To: "v1.0.0", Answers: AnswerInput{Set: []string{"Chaos=false"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "chaos", "pod-kill.yaml")); err == nil {
		t.Error("chaos/pod-kill.yaml kept although Chaos=false")
	}
	af, _ := ReadAnswers(dir)
	if af.Answers["Chaos"] != false || af.Version != "v1.0.0" {
		t.Errorf("answers after --set: %+v", af)
	}
	if len(res.Conflicts()) != 0 {
		t.Errorf("conflicts: %v", res.Conflicts())
	}
}

// TestUpdateFailureLeavesTree injects a failure before each operation in
// turn: the tree must be exactly as it was. A kill at each operation must be
// finished by the next run, with the same result as an uninterrupted update.
func TestUpdateFailureLeavesTree(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", templateV1)
	tr.tag(t, "v2.0.0", templateV2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	userEdit(t, dir, "untouched.txt", "user\n")
	commitAll(t, dir)
	before := scaffoldtest.ReadTree(t, dir)

	clean := copyDir(t, dir)
	res, err := Update(context.Background(), UpdateOptions{Dir: clean, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	want := scaffoldtest.ReadTree(t, clean)
	nops := len(res.Changes) // one operation per change at most

	for i := 0; i < nops; i++ {
		t.Run(fmt.Sprintf("fail before op %d", i), func(t *testing.T) {
			work := copyDir(t, dir)
			opts := UpdateOptions{Dir: work, Resolver: r}
			opts.applier.beforeOp = func(n int) error {
				if n == i {
					return errors.New("injected")
				}
				return nil
			}
			_, err := Update(context.Background(), opts)
			after := scaffoldtest.ReadTree(t, work)
			if err == nil {
				if !cmp.Equal(want, after, cmpIgnoreGit) {
					t.Fatalf("update ran to the end but differs:\n%s", cmp.Diff(want, after, cmpIgnoreGit))
				}
				return
			}
			if !cmp.Equal(before, after, cmpIgnoreGit) {
				t.Errorf("tree changed by a failed update (%v):\n%s", err, cmp.Diff(before, after, cmpIgnoreGit))
			}
		})
		t.Run(fmt.Sprintf("kill before op %d", i), func(t *testing.T) {
			work := copyDir(t, dir)
			opts := UpdateOptions{Dir: work, Resolver: r}
			opts.applier.beforeOp = func(n int) error {
				if n == i {
					return errKilled
				}
				return nil
			}
			if _, err := Update(context.Background(), opts); err == nil {
				return // fewer operations than i
			}
			res, err := Update(context.Background(), UpdateOptions{Dir: work, Resolver: r})
			if err != nil {
				t.Fatalf("rerun after a kill: %v", err)
			}
			if !res.Finished {
				t.Error("rerun did not say it finished an interrupted update")
			}
			if after := scaffoldtest.ReadTree(t, work); !cmp.Equal(want, after, cmpIgnoreGit) {
				t.Errorf("after kill and rerun (-want +got):\n%s", cmp.Diff(want, after, cmpIgnoreGit))
			}
		})
	}
}

var cmpIgnoreGit = cmp.FilterPath(func(p cmp.Path) bool {
	if mi, ok := p.Last().(cmp.MapIndex); ok {
		return strings.HasPrefix(mi.Key().String(), ".git/")
	}
	return false
}, cmp.Ignore())

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return dst
}

func TestUpdateModuleSource(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	proxy := scaffoldtest.NewProxy(t)
	for i, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0"} {
		src := t.TempDir()
		scaffoldtest.WriteTree(t, src, map[string]string{
			"go.mod":               "module example.com/tmpl\n\ngo 1.26\n",
			"tmpl.go":              "package tmpl\n",
			"svc/paved.yaml":       "questions:\n  - name: Name\n    default: app\n",
			"svc/version.txt.tmpl": fmt.Sprintf("{{ .Name }} %d\n", i),
			"svc/user.txt":         "template line\n",
		})
		proxy.Add(t, "example.com/tmpl", v, src)
	}
	r := &Resolver{Builtins: Builtins{}, Env: proxy.GoEnv(t)}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := New(ctx, NewOptions{Module: "example.com/acme/app", Dir: dir, Template: "example.com/tmpl@v1.0.0//svc", Resolver: r}); err != nil {
		t.Fatal(err)
	}
	userEdit(t, dir, "user.txt", "template line\nuser line\n")

	if st, err := r.Status(ctx, dir); err != nil || !st.Outdated || st.Latest != "v1.2.0" || st.Current != "v1.0.0" {
		t.Fatalf("status %+v, %v; want v1.0.0 -> v1.2.0", st, err)
	}
	if _, err := Update(ctx, UpdateOptions{Dir: dir, Resolver: r, To: "v1.1.0"}); err != nil {
		t.Fatal(err)
	}
	got := scaffoldtest.ReadTree(t, dir)
	if got["version.txt"] != "app 1\n" || got["user.txt"] != "template line\nuser line\n" {
		t.Errorf("after --to v1.1.0: %q %q", got["version.txt"], got["user.txt"])
	}
	if _, err := Update(ctx, UpdateOptions{Dir: dir, Resolver: r}); err != nil {
		t.Fatal(err)
	}
	if af, _ := ReadAnswers(dir); af.Version != "v1.2.0" {
		t.Errorf("recorded %s after updating to the newest", af.Version)
	}
	if st, err := r.Status(ctx, dir); err != nil || st.Outdated {
		t.Errorf("still out of date after the update: %+v, %v", st, err)
	}
}

// TestUpdateFallbacks: the recorded version cannot be read back (here: the
// built-in template of another development build). With the render lock,
// only the file the team changed conflicts; without one, every file that
// differs does.
func TestUpdateFallbacks(t *testing.T) {
	for _, tt := range []struct {
		name      string
		dropLock  bool
		conflicts []string
	}{
		{"lock", false, []string{"a.txt"}},
		{"no lock: two-way", true, []string{"a.txt", "b.txt"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			scaffoldtest.WriteTree(t, src, map[string]string{"paved.yaml": "questions:\n  - name: Name\n    default: app\n", "a.txt": "template\n", "b.txt": "same\n", "c.txt": "unchanged\n"})
			r := &Resolver{Builtins: Builtins{"service": os.DirFS(src)}, BuiltinVersion: "(devel)"}
			dir := filepath.Join(t.TempDir(), "repo")
			if _, err := New(context.Background(), NewOptions{Module: "example.com/x", Dir: dir, Resolver: r}); err != nil {
				t.Fatal(err)
			}
			userEdit(t, dir, "a.txt", "mine\n")
			if tt.dropLock {
				os.Remove(filepath.Join(dir, LockFileName))
			}
			// The next development build carries a changed template.
			scaffoldtest.WriteTree(t, src, map[string]string{"a.txt": "template v2\n", "b.txt": "same, changed by the template\n"})
			res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
			if err != nil {
				t.Fatal(err)
			}
			if res.TwoWay != tt.dropLock || res.LockFallback == tt.dropLock {
				t.Errorf("fallback: two-way %v, lock %v", res.TwoWay, res.LockFallback)
			}
			if diff := cmp.Diff(tt.conflicts, res.Conflicts()); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); !bytes.Contains(got, []byte("mine\n")) || !bytes.Contains(got, []byte("<<<<<<<")) {
				t.Errorf("a.txt = %q", got)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "c.txt")); string(got) != "unchanged\n" {
				t.Errorf("c.txt = %q", got)
			}
			if !tt.dropLock {
				if got, _ := os.ReadFile(filepath.Join(dir, "b.txt")); string(got) != "same, changed by the template\n" {
					t.Errorf("b.txt, which the team never touched = %q", got)
				}
			}
		})
	}
}

// TestUpdateNeverLosesUserLines edits random lines on both sides, of text
// and YAML files, some of which the template renames: every line the user
// added must survive the merge, merged or inside a conflict, at the old
// path or the new.
func TestUpdateNeverLosesUserLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	iterations := 60
	if testing.Short() {
		iterations = 10
	}
	join := func(l []string) []byte { return []byte(strings.Join(l, "\n") + "\n") }
	for it := range iterations {
		for _, kind := range []string{"txt", "yaml"} {
			var base, ours, theirs []byte
			switch kind {
			case "txt":
				var lines []string
				for i := range 12 {
					lines = append(lines, fmt.Sprintf("line %d", i))
				}
				base = join(lines)
				ours = join(mutate(rng, lines, fmt.Sprintf("user-%d", it)))
				theirs = join(mutate(rng, lines, fmt.Sprintf("tmpl-%d", it)))
			case "yaml":
				doc := yamlDoc(rng)
				base = renderYAMLDoc(doc)
				ours = renderYAMLDoc(mutateYAMLDoc(rng, doc, fmt.Sprintf("user-%d", it)))
				theirs = renderYAMLDoc(mutateYAMLDoc(rng, doc, fmt.Sprintf("tmpl-%d", it)))
			}
			oldPath, newPath := "f."+kind, "f."+kind
			if rng.IntN(2) == 0 {
				newPath = "renamed/g." + kind
			}
			w := scratchWorkTree(t)
			scaffoldtest.WriteTree(t, w.dir, map[string]string{oldPath: string(ours)})
			changes, err := MergeTree(context.Background(), w,
				[]File{{Path: oldPath, Data: base, Mode: 0o644}},
				[]File{{Path: newPath, Data: theirs, Mode: 0o644}},
				MergeLabels{"yours", "base", "theirs"}, false)
			if err != nil {
				t.Fatal(err)
			}
			tree := map[string]string{oldPath: string(ours)}
			for _, c := range changes {
				switch c.Action {
				case ActionRemove:
					delete(tree, c.Path)
				case ActionKeep:
				default:
					tree[c.Path] = string(c.Data)
				}
			}
			var result strings.Builder
			for _, p := range slices.Sorted(maps.Keys(tree)) {
				result.WriteString(tree[p])
			}
			for _, word := range strings.Fields(string(ours)) {
				if strings.HasPrefix(word, "user-") && !strings.Contains(result.String(), word) {
					t.Fatalf("iteration %d (%s -> %s) lost the user's %q\nbase:\n%s\nours:\n%s\ntheirs:\n%s\nresult:\n%s", it, oldPath, newPath, word, base, ours, theirs, result.String())
				}
			}
		}
	}
}

// yamlEntry is a top-level key with a scalar value or a list.
type yamlEntry struct {
	key, value string
	list       []string
}

func yamlDoc(rng *rand.Rand) []yamlEntry {
	var doc []yamlEntry
	for i := range 8 {
		e := yamlEntry{key: fmt.Sprintf("key%d", i), value: fmt.Sprintf("value%d", i)}
		if rng.IntN(3) == 0 {
			e.value = ""
			for j := range 3 {
				e.list = append(e.list, fmt.Sprintf("item%d-%d", i, j))
			}
		}
		doc = append(doc, e)
	}
	return doc
}

// mutateYAMLDoc changes, adds and removes keys and list items, tagging
// what it writes.
func mutateYAMLDoc(rng *rand.Rand, doc []yamlEntry, tag string) []yamlEntry {
	out := make([]yamlEntry, len(doc))
	for i, e := range doc {
		out[i] = yamlEntry{key: e.key, value: e.value, list: slices.Clone(e.list)}
	}
	for n := range 1 + rng.IntN(4) {
		i := rng.IntN(len(out))
		e := &out[i]
		switch rng.IntN(4) {
		case 0:
			out = slices.Insert(out, i, yamlEntry{key: fmt.Sprintf("%s-key-%d", tag, n), value: "x"})
		case 1:
			if e.list == nil {
				e.value = fmt.Sprintf("%s-chg-%d", tag, n)
			} else {
				j := rng.IntN(len(e.list))
				e.list[j] = fmt.Sprintf("%s-item-%d", tag, n)
			}
		case 2:
			if e.list != nil {
				e.list = slices.Insert(e.list, rng.IntN(len(e.list)+1), fmt.Sprintf("%s-add-%d", tag, n))
			}
		case 3:
			if len(out) > 1 && !strings.HasPrefix(e.key, tag) && !strings.HasPrefix(e.value, tag) {
				out = slices.Delete(out, i, i+1)
			}
		}
	}
	return out
}

func renderYAMLDoc(doc []yamlEntry) []byte {
	var b strings.Builder
	b.WriteString("# a values file\n")
	for _, e := range doc {
		if e.list == nil {
			fmt.Fprintf(&b, "%s: %s\n", e.key, e.value)
			continue
		}
		fmt.Fprintf(&b, "%s:\n", e.key)
		for _, item := range e.list {
			fmt.Fprintf(&b, "  - %s\n", item)
		}
	}
	return []byte(b.String())
}

// mutate changes, inserts and deletes random lines, tagging new ones.
func mutate(rng *rand.Rand, lines []string, tag string) []string {
	out := append([]string(nil), lines...)
	for n := range 1 + rng.IntN(4) {
		i := rng.IntN(len(out) + 1)
		switch rng.IntN(3) {
		case 0:
			out = append(out[:i], append([]string{fmt.Sprintf("%s-ins-%d", tag, n)}, out[i:]...)...)
		case 1:
			if i < len(out) {
				out[i] = fmt.Sprintf("%s-chg-%d", tag, n)
			}
		case 2:
			if i < len(out) && !strings.HasPrefix(out[i], tag) {
				out = append(out[:i], out[i+1:]...)
			}
		}
	}
	return out
}

// TestUpdateBuiltinFromProxy reads the built-in template of the paved
// release that made the repository back through GOPROXY, as the release
// module's zip of it: both named by the Resolver (the engine hard-codes
// neither; here a fork's module and path).
func TestUpdateBuiltinFromProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	v1 := map[string]string{"paved.yaml": "questions:\n  - name: Name\n    default: app\n", "a.txt": "one\ntwo\nthree\n"}
	v2 := map[string]string{"paved.yaml": v1["paved.yaml"], "a.txt": "one\ntwo\nthree by the template\n"}
	zipOf := func(files map[string]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, content := range files {
			w, _ := zw.Create(name)
			w.Write([]byte(content))
		}
		zw.Close()
		return buf.Bytes()
	}
	proxy := scaffoldtest.NewProxy(t)
	release := t.TempDir()
	const fork = "example.com/acme/paved-fork"
	scaffoldtest.WriteTree(t, release, map[string]string{"go.mod": "module " + fork + "\n\ngo 1.26\n", "bundled/service.zip": string(zipOf(v1))})
	proxy.Add(t, fork, "v0.1.0", release)
	forkRelease := Release{Module: fork, Zip: func(name string) string { return "bundled/" + name + ".zip" }}

	fsOf := func(files map[string]string) fs.FS {
		data := zipOf(files)
		zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		return zr
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "repo")
	old := &Resolver{Builtins: Builtins{"service": fsOf(v1)}, BuiltinVersion: "v0.1.0"}
	if _, err := New(ctx, NewOptions{Module: "example.com/x", Dir: dir, Resolver: old}); err != nil {
		t.Fatal(err)
	}
	userEdit(t, dir, "a.txt", "one by the user\ntwo\nthree\n")

	r := &Resolver{Builtins: Builtins{"service": fsOf(v2)}, BuiltinVersion: "v0.2.0", Env: proxy.GoEnv(t), Release: forkRelease}
	res, err := Update(ctx, UpdateOptions{Dir: dir, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	if res.TwoWay || res.From != "v0.1.0" || res.To != "v0.2.0" {
		t.Fatalf("result %+v", res)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(got) != "one by the user\ntwo\nthree by the template\n" {
		t.Errorf("a.txt = %q", got)
	}
}

// scratchWorkTree is an empty work tree with an update's staging directory,
// for merges outside a whole update.
func scratchWorkTree(t *testing.T) *workTree {
	t.Helper()
	w, err := openWorkTree(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := w.root.Mkdir(stagingDir, 0o700); err != nil {
		t.Fatal(err)
	}
	return w
}
