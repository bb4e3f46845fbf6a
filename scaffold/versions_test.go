package scaffold

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// Every scenario here once gave a silently wrong update.

const portManifest = "questions:\n  - name: Port\n    type: int\n    default: 9090\n"

func portTemplate(t *testing.T) *templateRepo {
	t.Helper()
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", map[string]string{"paved.yaml": portManifest, "config.yaml.tmpl": "port: {{ .Port }}\nname: app\n"})
	tr.tag(t, "v1.1.0", map[string]string{"paved.yaml": portManifest, "config.yaml.tmpl": "port: {{ .Port }}\nname: app\nlevel: info\n"})
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	return tr
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestUpdateToBranchRecordsCommit: --to main once recorded "main"; when
// main moved, BASE came from where main points now and the template's new
// lines never arrived.
func TestUpdateToBranchRecordsCommit(t *testing.T) {
	tr := portTemplate(t)
	dir, r := generated(t, tr, "v1.0.0")
	if _, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, To: "master"}); err != nil {
		t.Fatal(err)
	}
	af, err := ReadAnswers(dir)
	if err != nil {
		t.Fatal(err)
	}
	head := strings.TrimSpace(scaffoldtest.Git(t, tr.dir, "rev-parse", "HEAD"))
	if af.Version != "v1.1.0" || af.Commit != head {
		t.Fatalf("recorded %q %q, want v1.1.0 at %s", af.Version, af.Commit, head)
	}
	commitAll(t, dir)
	// The template moves on: master gets a commit and a tag.
	scaffoldtest.WriteTree(t, tr.dir, map[string]string{"config.yaml.tmpl": "port: {{ .Port }}\nname: app\nlevel: info\nnew: line\n", "added.txt": "new file\n"})
	scaffoldtest.Git(t, tr.dir, "add", "-A")
	scaffoldtest.Git(t, tr.dir, "commit", "-qm", "v1.2.0")
	scaffoldtest.Git(t, tr.dir, "tag", "v1.2.0")
	if _, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "config.yaml")); got != "port: 9090\nname: app\nlevel: info\nnew: line\n" {
		t.Errorf("config.yaml = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "added.txt")); got != "new file\n" {
		t.Errorf("added.txt = %q", got)
	}
}

// TestUpdateAppliesEditedAnswer: the answers file says to edit answers
// there; doing so once gave "0 change(s)".
func TestUpdateAppliesEditedAnswer(t *testing.T) {
	tr := portTemplate(t)
	dir, r := generated(t, tr, "v1.1.0")
	answers := filepath.Join(dir, AnswersFileName)
	os.WriteFile(answers, []byte(strings.Replace(readFile(t, answers), "Port: 9090", "Port: 6060", 1)), 0o644)
	commitAll(t, dir)
	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Edited) != 1 || res.Edited[0] != "Port" {
		t.Errorf("edited answers = %v, want Port", res.Edited)
	}
	if got := readFile(t, filepath.Join(dir, "config.yaml")); got != "port: 6060\nname: app\nlevel: info\n" {
		t.Errorf("config.yaml = %q", got)
	}
	// The next update starts from the new answer: nothing more to do.
	commitAll(t, dir)
	res, err = Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err != nil || len(res.Changes) != 0 || len(res.Edited) != 0 {
		t.Fatalf("second update: %+v, %v", res, err)
	}
}

// TestUpdateStrictAnswersFile: mistakes in the answers file are errors, one
// line each, and nothing changes.
func TestUpdateStrictAnswersFile(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want string
	}{
		{"mistyped key", func(s string) string { return strings.Replace(s, "Port:", "Prot:", 1) }, "answer Prot: no version of the template asks it (did you mean Port?)"},
		{"wrong type", func(s string) string { return strings.Replace(s, "Port: 9090", "Port: lots", 1) }, `answer Port: "lots" is not an integer`},
		{"invalid module", func(s string) string {
			return regexp.MustCompile(`module: .*`).ReplaceAllString(s, "module: not a module")
		}, "module: malformed module path"},
		{"second document", func(s string) string { return s + "---\ntemplate: other\n" }, "a second YAML document"},
		{"unknown top-level key", func(s string) string { return s + "extra: 1\n" }, "field extra not found"},
	}
	tr := portTemplate(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, r := generated(t, tr, "v1.0.0")
			answers := filepath.Join(dir, AnswersFileName)
			os.WriteFile(answers, []byte(tt.edit(readFile(t, answers))), 0o644)
			commitAll(t, dir)
			before := scaffoldtest.ReadTree(t, dir)
			_, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Update = %v, want one line saying %q", err, tt.want)
			}
			if after := scaffoldtest.ReadTree(t, dir); !equalTrees(before, after) {
				t.Fatal("the tree changed")
			}
		})
	}
}

// TestUpdateDroppedQuestionIsANote: the target version no longer asks a
// question: its answer goes, with a note, and is no error.
func TestUpdateDroppedQuestionIsANote(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", map[string]string{"paved.yaml": portManifest + "  - name: Canary\n    type: int\n    default: 10\n", "a.txt.tmpl": "{{ .Port }}\n"})
	tr.tag(t, "v2.0.0", map[string]string{"paved.yaml": portManifest, "a.txt.tmpl": "{{ .Port }}\n"})
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err != nil || len(res.Dropped) != 1 || res.Dropped[0] != "Canary" {
		t.Fatalf("Update = %+v, %v; want Canary dropped", res, err)
	}
	if strings.Contains(readFile(t, filepath.Join(dir, AnswersFileName)), "Canary") {
		t.Error("the dropped answer is still recorded")
	}
}

// TestNewestVersionIsShared: a repository made from a commit past the
// newest tag is up to date, and update does not take it back to the tag; a
// downgrade needs its flag.
func TestNewestVersionIsShared(t *testing.T) {
	tr := portTemplate(t)
	scaffoldtest.WriteTree(t, tr.dir, map[string]string{"config.yaml.tmpl": "port: {{ .Port }}\nname: app\nlevel: info\nahead: yes\n"})
	scaffoldtest.Git(t, tr.dir, "add", "-A")
	scaffoldtest.Git(t, tr.dir, "commit", "-qm", "past v1.1.0")
	dir, r := generated(t, tr, "HEAD")
	af, _ := ReadAnswers(dir)
	if !strings.HasPrefix(af.Version, "v1.1.0-1-g") {
		t.Fatalf("recorded %q", af.Version)
	}
	if st, err := r.Status(context.Background(), dir); err != nil || st.Outdated {
		t.Fatalf("check: %+v, %v; want up to date", st, err)
	}
	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	if res.To != af.Version || len(res.Changes) != 0 {
		t.Fatalf("update went to %s with %d changes; want to stay at %s", res.To, len(res.Changes), af.Version)
	}
	if got := readFile(t, filepath.Join(dir, "config.yaml")); !strings.Contains(got, "ahead: yes") {
		t.Fatalf("the template's newer line was removed: %q", got)
	}
	_, err = Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, To: "v1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "downgrade") {
		t.Fatalf("update --to v1.0.0 = %v, want a refused downgrade", err)
	}
	if _, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, To: "v1.0.0", AllowDowngrade: true}); err != nil {
		t.Fatalf("--allow-downgrade: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "config.yaml")); strings.Contains(got, "level") {
		t.Fatalf("downgrade not applied: %q", got)
	}
}

// TestNewFromTemplateStates: uncommitted template changes, a template
// outside git, and a chosen version.
func TestNewFromTemplateStates(t *testing.T) {
	ctx := context.Background()
	r := &Resolver{Builtins: Builtins{}}
	newAt := func(spec, to string) (*NewResult, error) {
		return New(ctx, NewOptions{Module: "example.com/x", Dir: filepath.Join(t.TempDir(), "repo"), Template: spec, To: to, Resolver: r})
	}

	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", map[string]string{"paved.yaml": portManifest, "a.txt": "one\n"})
	scaffoldtest.WriteTree(t, tr.dir, map[string]string{"a.txt": "uncommitted\n"})
	res, err := newAt(tr.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Template.Version != "v1.0.0" || len(res.Warnings) != 0 || readFile(t, filepath.Join(res.Dir, "a.txt")) != "one\n" {
		t.Errorf("tagged template: %s %v; the newest tag, not the work tree, is the default", res.Template.Version, res.Warnings)
	}

	untagged := newTemplateRepo(t)
	scaffoldtest.WriteTree(t, untagged.dir, map[string]string{"paved.yaml": portManifest, "a.txt": "one\n"})
	scaffoldtest.Git(t, untagged.dir, "add", "-A")
	scaffoldtest.Git(t, untagged.dir, "commit", "-qm", "one")
	scaffoldtest.WriteTree(t, untagged.dir, map[string]string{"a.txt": "uncommitted\n"})
	res, err = newAt(untagged.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Template.Dirty || !strings.HasSuffix(res.Template.Version, "-dirty") || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "uncommitted changes") {
		t.Errorf("dirty template: version %q dirty %v warnings %v", res.Template.Version, res.Template.Dirty, res.Warnings)
	}

	outside := t.TempDir()
	scaffoldtest.WriteTree(t, outside, map[string]string{"paved.yaml": portManifest})
	res, err = newAt(outside, "")
	if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "cannot be updated") {
		t.Errorf("outside git: %+v, %v", res, err)
	}

	tr.tag(t, "v2.0.0", map[string]string{"paved.yaml": portManifest, "a.txt": "two\n"})
	for _, c := range []struct{ spec, to string }{{tr.dir, "v1.0.0"}, {tr.dir + "@v1.0.0", ""}} {
		res, err := newAt(c.spec, c.to)
		if err != nil || res.Template.Version != "v1.0.0" || readFile(t, filepath.Join(res.Dir, "a.txt")) != "one\n" {
			t.Errorf("new %s --to %q: %+v, %v", c.spec, c.to, res, err)
		}
	}
	if _, err := newAt(tr.dir, "--upload-pack=touch"); !errors.Is(err, ErrBadRevision) {
		t.Errorf("--to an option: %v", err)
	}
	// A ref with slashes after DIR@, and an option there, which is refused.
	if res, err := newAt(tr.dir+"@refs/tags/v1.0.0", ""); err != nil || res.Template.Version != "v1.0.0" {
		t.Errorf("DIR@refs/tags/v1.0.0: %+v, %v", res, err)
	}
	if _, err := newAt(tr.dir+"@--output=/tmp/x", ""); !errors.Is(err, ErrBadRevision) {
		t.Errorf("DIR@--output=/tmp/x: %v, want ErrBadRevision", err)
	}
}

// TestUpdateRefusesMovedVersion: a tag moved (or a template rewritten)
// since the repository was made no longer renders what the lock says:
// update refuses rather than merging from a wrong BASE.
func TestUpdateRefusesMovedVersion(t *testing.T) {
	tr := portTemplate(t)
	dir, r := generated(t, tr, "v1.0.0")
	// Drop the commit, so the recorded tag is what is read back; then move it.
	answers := filepath.Join(dir, AnswersFileName)
	os.WriteFile(answers, []byte(regexp.MustCompile(`(?m)^commit: .*\n`).ReplaceAllString(readFile(t, answers), "")), 0o644)
	commitAll(t, dir)
	scaffoldtest.Git(t, tr.dir, "tag", "-f", "v1.0.0", "v1.1.0")
	before := scaffoldtest.ReadTree(t, dir)
	_, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, To: "v1.1.0"})
	if err == nil || !strings.Contains(err.Error(), "no longer renders what paved wrote (1 file(s) differ: config.yaml)") {
		t.Fatalf("Update = %v, want a refusal", err)
	}
	if after := scaffoldtest.ReadTree(t, dir); !equalTrees(before, after) {
		t.Fatal("the tree changed")
	}
}

// TestDevelBuildNeverOverwritesRelease: a development build does not
// record its own version over a release's.
func TestDevelBuildNeverOverwritesRelease(t *testing.T) {
	src := t.TempDir()
	scaffoldtest.WriteTree(t, src, map[string]string{"paved.yaml": portManifest, "a.txt": "one\n"})
	release := &Resolver{Builtins: Builtins{"service": os.DirFS(src)}, BuiltinVersion: "v0.1.0"}
	dir := filepath.Join(t.TempDir(), "repo")
	if _, err := New(context.Background(), NewOptions{Module: "example.com/x", Dir: dir, Resolver: release}); err != nil {
		t.Fatal(err)
	}
	devel := &Resolver{Builtins: Builtins{"service": os.DirFS(src)}, BuiltinVersion: "(devel)"}
	st, err := devel.Status(context.Background(), dir)
	if err == nil || st.Latest == "" {
		t.Fatalf("Status = %+v, %v: want the development version and a refusal", st, err)
	}
	// The newest as Status names it, and the development version named by --to.
	for _, to := range []string{"", st.Latest} {
		_, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: devel, To: to})
		if err == nil || !strings.Contains(err.Error(), "development build") || !strings.Contains(err.Error(), "records release v0.1.0") {
			t.Fatalf("Update --to %q = %v, want a refusal", to, err)
		}
		if af, _ := ReadAnswers(dir); af.Version != "v0.1.0" {
			t.Fatalf("version now %q", af.Version)
		}
	}
}

// TestLockFallbackProperty: with BASE unreadable, random template and team
// edits never lose a line the team wrote, and a file the team did not touch
// never conflicts.
func TestLockFallbackProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	iterations := 20
	if testing.Short() {
		iterations = 4
	}
	for it := range iterations {
		src := t.TempDir()
		files := map[string]string{"paved.yaml": "questions: []\n"}
		var names []string
		for i := range 8 {
			name := fmt.Sprintf("f%d.txt", i)
			names = append(names, name)
			var lines []string
			for l := range 6 {
				lines = append(lines, fmt.Sprintf("%s line %d", name, l))
			}
			files[name] = strings.Join(lines, "\n") + "\n"
		}
		scaffoldtest.WriteTree(t, src, files)
		r := &Resolver{Builtins: Builtins{"service": os.DirFS(src)}, BuiltinVersion: "(devel)"}
		dir := filepath.Join(t.TempDir(), "repo")
		if _, err := New(context.Background(), NewOptions{Module: "example.com/x", Dir: dir, Resolver: r}); err != nil {
			t.Fatal(err)
		}
		touched := map[string][]string{}
		for _, name := range names {
			lines := strings.Split(strings.TrimSuffix(files[name], "\n"), "\n")
			if rng.IntN(2) == 0 {
				mine := mutate(rng, lines, fmt.Sprintf("user-%d-%s", it, name))
				touched[name] = mine
				userEdit(t, dir, name, strings.Join(mine, "\n")+"\n")
			}
			if rng.IntN(2) == 0 {
				theirs := mutate(rng, lines, fmt.Sprintf("tmpl-%d-%s", it, name))
				scaffoldtest.WriteTree(t, src, map[string]string{name: strings.Join(theirs, "\n") + "\n"})
			}
		}
		res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Conflicts() {
			if _, ok := touched[c]; !ok {
				t.Fatalf("iteration %d: %s conflicts, but the team never touched it", it, c)
			}
		}
		for name, mine := range touched {
			got := readFile(t, filepath.Join(dir, name))
			for _, line := range mine {
				if strings.HasPrefix(line, "user-") && !strings.Contains(got, line+"\n") {
					t.Fatalf("iteration %d: lost the team's line %q in %s:\n%s", it, line, name, got)
				}
			}
		}
		for _, name := range names {
			if _, ok := touched[name]; !ok {
				want, _ := os.ReadFile(filepath.Join(src, name))
				if got := readFile(t, filepath.Join(dir, name)); got != string(want) {
					t.Fatalf("iteration %d: untouched %s = %q, want the template's %q", it, name, got, want)
				}
			}
		}
	}
}

// TestBuiltinOfflineUpdate: the release that made the repository cannot be
// downloaded (offline); only the file the team changed conflicts.
func TestBuiltinOfflineUpdate(t *testing.T) {
	v1 := map[string]string{"paved.yaml": portManifest, "README.md.tmpl": "made by {{ .Paved.Version }}\n", "a.txt": "one\n", "b.txt": "two\n", "c.txt": "three\n"}
	src := t.TempDir()
	scaffoldtest.WriteTree(t, src, v1)
	dir := filepath.Join(t.TempDir(), "repo")
	old := &Resolver{Builtins: Builtins{"service": os.DirFS(src)}, BuiltinVersion: "v0.1.0"}
	if _, err := New(context.Background(), NewOptions{Module: "example.com/x", Dir: dir, Resolver: old, PavedVersion: "v0.1.0"}); err != nil {
		t.Fatal(err)
	}
	userEdit(t, dir, "a.txt", "one, the team's\n")
	scaffoldtest.WriteTree(t, src, map[string]string{"a.txt": "one, v0.2.0\n", "b.txt": "two, v0.2.0\n"})
	offline := append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	r := &Resolver{Builtins: Builtins{"service": os.DirFS(src)}, BuiltinVersion: "v0.2.0", Env: offline}
	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, PavedVersion: "v0.2.0"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.LockFallback || len(res.Conflicts()) != 1 || res.Conflicts()[0] != "a.txt" {
		t.Fatalf("fallback %v, conflicts %v; want only a.txt", res.LockFallback, res.Conflicts())
	}
	for name, want := range map[string]string{"b.txt": "two, v0.2.0\n", "c.txt": "three\n", "README.md": "made by v0.2.0\n"} {
		if got := readFile(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// recordingPrompter answers every question with its default and keeps
// what it was asked.
type recordingPrompter struct{ asked []Question }

func (p *recordingPrompter) Ask(q Question, def any) (any, error) {
	p.asked = append(p.asked, q)
	return def, nil
}

// TestUpdateMarksNewQuestions: a question new in the target version is
// asked as new, naming the version that added it.
func TestUpdateMarksNewQuestions(t *testing.T) {
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", map[string]string{"paved.yaml": portManifest, "a.txt.tmpl": "{{ .Port }}\n"})
	tr.tag(t, "v2.0.0", map[string]string{"paved.yaml": portManifest + "  - name: Level\n    default: info\n", "a.txt.tmpl": "{{ .Port }} {{ .Level }}\n"})
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	p := &recordingPrompter{}
	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r, Answers: AnswerInput{Prompter: p}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.asked) != 1 || p.asked[0].Name != "Level" || p.asked[0].NewIn != "v2.0.0" {
		t.Fatalf("asked %+v, want only Level, marked new in v2.0.0", p.asked)
	}
	if len(res.NewQuestions) != 1 || res.NewQuestions[0].Answer != "info" {
		t.Fatalf("new questions = %+v", res.NewQuestions)
	}
}

// TestUpdateFromDirtyVersion: a repository made from uncommitted template
// changes has no commit to read back; update takes the lock's fallback
// (files the team never touched take the new version), not the clean
// commit as if it were BASE.
func TestUpdateFromDirtyVersion(t *testing.T) {
	tr := newTemplateRepo(t)
	scaffoldtest.WriteTree(t, tr.dir, map[string]string{"paved.yaml": portManifest, "a.txt": "one\n", "b.txt": "two\n"})
	scaffoldtest.Git(t, tr.dir, "add", "-A")
	scaffoldtest.Git(t, tr.dir, "commit", "-qm", "one")
	scaffoldtest.WriteTree(t, tr.dir, map[string]string{"a.txt": "one, uncommitted\n"})
	r := &Resolver{Builtins: Builtins{}}
	dir := filepath.Join(t.TempDir(), "repo")
	res, err := New(context.Background(), NewOptions{Module: "example.com/x", Dir: dir, Template: tr.dir, Resolver: r})
	if err != nil || !res.Template.Dirty {
		t.Fatalf("new: %+v, %v", res, err)
	}
	commitDir := func() {
		scaffoldtest.Git(t, dir, "init", "-q")
		commitAll(t, dir)
	}
	commitDir()
	// The template commits its change, and changes b.txt too.
	scaffoldtest.WriteTree(t, tr.dir, map[string]string{"b.txt": "two, later\n"})
	scaffoldtest.Git(t, tr.dir, "add", "-A")
	scaffoldtest.Git(t, tr.dir, "commit", "-qm", "two")
	up, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	if !up.LockFallback || len(up.Conflicts()) != 0 {
		t.Fatalf("fallback %v, conflicts %v; want the lock's fallback and no conflict", up.LockFallback, up.Conflicts())
	}
	if got := readFile(t, filepath.Join(dir, "b.txt")); got != "two, later\n" {
		t.Errorf("b.txt = %q", got)
	}
}

// TestNewFromTemplateInSubdirectory: a template kept below the top of a git
// repository (templates/service) is read from the commit at its own path,
// clean and tagged, clean and untagged, and at a named version; a directory
// the commit does not have yet is refused, not rendered as nothing.
func TestNewFromTemplateInSubdirectory(t *testing.T) {
	ctx := context.Background()
	r := &Resolver{Builtins: Builtins{}}
	repo := newTemplateRepo(t)
	sub := filepath.Join(repo.dir, "templates", "svc")
	scaffoldtest.WriteTree(t, repo.dir, map[string]string{
		"README.md":                  "the repository, not the template\n",
		"templates/svc/paved.yaml":   portManifest,
		"templates/svc/a.txt":        "one\n",
		"templates/svc/deep/b.txt":   "bee\n",
		"templates/other/paved.yaml": portManifest,
	})
	scaffoldtest.Git(t, repo.dir, "add", "-A")
	scaffoldtest.Git(t, repo.dir, "commit", "-qm", "one")
	check := func(name, spec, to, wantVersion string) {
		t.Helper()
		res, err := New(ctx, NewOptions{Module: "example.com/x", Dir: filepath.Join(t.TempDir(), "repo"), Template: spec, To: to, Resolver: r})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if wantVersion != "" && res.Template.Version != wantVersion {
			t.Errorf("%s: version %q, want %q", name, res.Template.Version, wantVersion)
		}
		if got := readFile(t, filepath.Join(res.Dir, "deep", "b.txt")); got != "bee\n" {
			t.Errorf("%s: deep/b.txt = %q", name, got)
		}
		if _, err := os.Stat(filepath.Join(res.Dir, "README.md")); err == nil {
			t.Errorf("%s: the repository's top was rendered", name)
		}
	}
	check("untagged", sub, "", "")
	scaffoldtest.Git(t, repo.dir, "tag", "v1.0.0")
	check("tagged", sub, "", "v1.0.0")
	check("at a version", sub+"@v1.0.0", "", "v1.0.0")

	// update reads BASE (v1.0.0) and the new version from the same path.
	dir, _ := generated(t, &templateRepo{dir: sub}, "v1.0.0")
	userEdit(t, dir, "deep/b.txt", "bee\nthe team's line\n")
	commitAll(t, dir)
	scaffoldtest.WriteTree(t, sub, map[string]string{"a.txt": "one\ntwo\n"})
	scaffoldtest.Git(t, repo.dir, "commit", "-qam", "two")
	scaffoldtest.Git(t, repo.dir, "tag", "v1.1.0")
	if _, err := Update(ctx, UpdateOptions{Dir: dir, Resolver: r, To: "v1.1.0"}); err != nil {
		t.Fatalf("update from a subdirectory template: %v", err)
	}
	if a, b := readFile(t, filepath.Join(dir, "a.txt")), readFile(t, filepath.Join(dir, "deep", "b.txt")); a != "one\ntwo\n" || b != "bee\nthe team's line\n" {
		t.Errorf("after update: a.txt %q, deep/b.txt %q", a, b)
	}

	later := filepath.Join(repo.dir, "templates", "later")
	scaffoldtest.WriteTree(t, later, map[string]string{"paved.yaml": portManifest})
	_, err := New(ctx, NewOptions{Module: "example.com/x", Dir: filepath.Join(t.TempDir(), "repo"), Template: later, Resolver: r})
	if err == nil || !strings.Contains(err.Error(), "the commit has no files in this directory") {
		t.Errorf("a directory not in the newest tag: %v, want a refusal", err)
	}
}
