package verify

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// An injection is one defect written into a generated repository (a
// golden tree under testdata/golden) by replacing text in one file. The
// defect must be found where the user edits: every finding of the run must
// be one of want, and every want must be found.
type injection struct {
	name   string
	golden string // testdata/golden case: "defaults", "argocd", ...
	file   string // repository path of the file to change
	old    string // text that occurs exactly once in file ...
	new    string // ... and what replaces it
	// want lists the findings, each "path:line: check: text" where the
	// finding's message must contain text; a path with no line
	// ("path: check: text") matches any line of that file.
	want []string
	// more are further edits made with the first (a defect that needs two
	// files to change, or a second change in the same file).
	more []edit
}

type edit struct{ file, old, new string }

// goldenRepo copies a golden tree into a temporary directory.
func goldenRepo(t testing.TB, golden string) string {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, filepath.Join("..", "..", "testdata", "golden", golden), dir)
	return dir
}

// applyEdit replaces the one occurrence of e.old in e.file under dir.
func applyEdit(t testing.TB, dir string, e edit) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(e.file))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte(e.old)); n != 1 {
		t.Fatalf("%s: %q occurs %d times, want once", e.file, e.old, n)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(e.old), []byte(e.new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantFinding is one parsed want line.
type wantFinding struct {
	path  string
	line  int // 0: any line
	check string
	text  string
}

func parseWant(t testing.TB, s string) wantFinding {
	t.Helper()
	loc, rest, ok := strings.Cut(s, ": ")
	check, text, ok2 := strings.Cut(rest, ": ")
	if !ok || !ok2 {
		t.Fatalf("want %q: not path[:line]: check: text", s)
	}
	w := wantFinding{path: loc, check: check, text: text}
	if p, l, ok := strings.Cut(loc, ":"); ok {
		n, err := strconv.Atoi(l)
		if err != nil {
			t.Fatalf("want %q: line %q", s, l)
		}
		w.path, w.line = p, n
	}
	return w
}

func (w wantFinding) matches(f Finding) bool {
	return f.Path == w.path && (w.line == 0 || f.Line == w.line) && f.Check == w.check && strings.Contains(f.Message, w.text)
}

// runInjections injects each defect into a fresh copy of its golden tree,
// runs every check, and compares the findings with the injection's want.
func runInjections(t *testing.T, injections []injection) {
	t.Helper()
	for _, in := range injections {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			if len(in.want) == 0 {
				t.Fatal("an injection must be found somewhere: want is empty")
			}
			dir := goldenRepo(t, in.golden)
			applyEdit(t, dir, edit{in.file, in.old, in.new})
			for _, e := range in.more {
				applyEdit(t, dir, e)
			}
			rep, err := Run(t.Context(), dir, Options{Shellcheck: "-"})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range rep.Errors {
				t.Errorf("check %s could not run: %v", e.Check, e.Err)
			}
			matched := make([]bool, len(rep.Findings))
			for _, s := range in.want {
				w := parseWant(t, s)
				found := false
				for i, f := range rep.Findings {
					if w.matches(f) {
						matched[i], found = true, true
					}
				}
				if !found {
					t.Errorf("missing finding: %s", s)
				}
			}
			for i, f := range rep.Findings {
				if !matched[i] {
					t.Errorf("unexpected finding: %s", f)
				}
			}
		})
	}
}

// TestGoldenReposAreClean: every golden tree, as generated, has no finding.
func TestGoldenReposAreClean(t *testing.T) {
	cases, err := os.ReadDir(filepath.Join("..", "..", "testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			runClean(t, goldenRepo(t, c.Name()))
		})
	}
}

// TestInjectionHarness: the harness finds an injected defect and refuses
// an edit that does not apply.
func TestInjectionHarness(t *testing.T) {
	runInjections(t, []injection{{
		name:   "chart-version",
		golden: "defaults",
		file:   "deploy/helm/payments/Chart.yaml",
		old:    "apiVersion: v2",
		new:    "apiVersion: v9",
		want:   []string{"deploy/helm/payments/Chart.yaml: helm: "},
	}})
}
