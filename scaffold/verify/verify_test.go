package verify

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite each case's want.txt from what the checks find")

// base is a small repository (trimmed from what `paved new --defaults`
// generates) on which every check passes; each case overlays files on it.
const base = "../../testdata/verify/_repo"

// copyTree copies the files under src into dst, except the case's own
// want.txt and delete.txt.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() || rel == "want.txt" || rel == "delete.txt" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// caseRepo builds a case's repository in a temporary directory: the base,
// the case's files over it, minus the paths its delete.txt lists.
func caseRepo(t testing.TB, caseDir string) string {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, base, dir)
	if caseDir != "" {
		copyTree(t, caseDir, dir)
		if b, err := os.ReadFile(filepath.Join(caseDir, "delete.txt")); err == nil {
			for _, l := range strings.Fields(string(b)) {
				if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(l))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return dir
}

// runClean runs every check on dir and fails t for each check that could
// not run and each finding.
func runClean(t *testing.T, dir string) *Report {
	t.Helper()
	rep, err := Run(context.Background(), dir, Options{Shellcheck: "-"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Errors {
		t.Errorf("check %s could not run: %v", e.Check, e.Err)
	}
	for _, f := range rep.Findings {
		t.Errorf("unexpected finding: %s", f)
	}
	return rep
}

func TestBaseIsClean(t *testing.T) {
	rep := runClean(t, caseRepo(t, ""))
	if len(rep.Skipped) > 0 {
		t.Errorf("checks skipped on the base repository: %v", rep.Skipped)
	}
}

// TestCases runs each case under testdata/verify/CHECK/CASE with only
// CHECK and compares with the case's want.txt: one line per finding,
// "path:line:col: check: text", where the finding's message must contain
// text. Every finding must be wanted and every wanted line found.
func TestCases(t *testing.T) {
	verifyNames := Names()
	checks, err := os.ReadDir("../../testdata/verify")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if !c.IsDir() || strings.HasPrefix(c.Name(), "_") {
			continue
		}
		if !slices.Contains(verifyNames, c.Name()) {
			t.Errorf("testdata/verify/%s: no such check", c.Name())
			continue
		}
		cases, _ := os.ReadDir(filepath.Join("../../testdata/verify", c.Name()))
		for _, cs := range cases {
			if !cs.IsDir() {
				continue
			}
			caseDir := filepath.Join("../../testdata/verify", c.Name(), cs.Name())
			t.Run(c.Name()+"/"+cs.Name(), func(t *testing.T) {
				t.Parallel()
				dir := caseRepo(t, caseDir)
				rep, err := Run(context.Background(), dir, Options{Checks: []string{c.Name()}, Shellcheck: "-"})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range rep.Errors {
					t.Errorf("check could not run: %v", e)
				}
				wantFile := filepath.Join(caseDir, "want.txt")
				if *update {
					var b strings.Builder
					old, _ := os.ReadFile(wantFile)
					for _, l := range strings.SplitAfter(string(old), "\n") {
						if !strings.HasPrefix(l, "#") {
							break
						}
						b.WriteString(l) // the case's comment stays
					}
					for _, f := range rep.Findings {
						b.WriteString(f.String() + "\n")
					}
					if err := os.WriteFile(wantFile, []byte(b.String()), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				data, err := os.ReadFile(wantFile)
				if err != nil {
					t.Fatal(err)
				}
				var wantLines []string
				for _, l := range strings.Split(string(data), "\n") {
					if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
						wantLines = append(wantLines, l)
					}
				}
				want, err := ParseText(strings.Join(wantLines, "\n"))
				if err != nil {
					t.Fatalf("want.txt: %v", err)
				}
				if len(want) == 0 {
					t.Fatal("want.txt lists no finding: a case must break something")
				}
				matched := make([]bool, len(rep.Findings))
				for _, w := range want {
					found := false
					for i, f := range rep.Findings {
						if !matched[i] && f.Path == w.Path && f.Line == w.Line && f.Col == w.Col && f.Check == w.Check && f.Variant == w.Variant && strings.Contains(f.Message, w.Message) {
							matched[i], found = true, true
							break
						}
					}
					if !found {
						t.Errorf("missing finding: %s", w)
					}
				}
				for i, f := range rep.Findings {
					if !matched[i] {
						t.Errorf("unexpected finding: %s", f)
					}
				}
				if t.Failed() {
					var all []string
					for _, f := range rep.Findings {
						all = append(all, f.String())
					}
					sort.Strings(all)
					t.Logf("all findings:\n%s", strings.Join(all, "\n"))
				}
			})
		}
	}
}

func TestParseTextRoundTrip(t *testing.T) {
	in := []Finding{
		{Path: "a/b.yaml", Line: 3, Col: 7, Check: "helm", Message: "x: y: z"},
		{Path: "c:d/e", Line: 10, Col: 1, Check: "workflows", Message: `"actions/checkout@v4" is not pinned`},
		{Path: "deploy/chart/templates/hpa.yaml", Line: 3, Col: 2, Check: "helm", Message: "m (x)", Variant: "values-prod.yaml, values-staging.yaml"},
	}
	var b strings.Builder
	for _, f := range in {
		b.WriteString(f.String() + "\n")
	}
	out, err := ParseText(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("got %d findings, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("got %+v, want %+v", out[i], in[i])
		}
	}
}

func TestNormalizeSortsAndDedupes(t *testing.T) {
	fs := Normalize([]Finding{
		{Path: "b", Line: 1, Check: "x", Message: "m"},
		{Path: "a", Line: 2, Check: "x", Message: "m"},
		{Path: "a", Line: 2, Check: "x", Message: "m"},
		{Path: "a", Line: 1, Col: 5, Check: "x", Message: "m"},
	})
	if len(fs) != 3 || fs[0].Line != 1 || fs[1].Line != 2 || fs[2].Path != "b" {
		t.Fatalf("got %v", fs)
	}
}

// TestNormalizeVariants: a finding the defaults make is not repeated per
// values file; one only values files make is reported once with them all;
// one in the values file itself carries no variant.
func TestNormalizeVariants(t *testing.T) {
	t1 := Finding{Path: "c/templates/a.yaml", Line: 4, Col: 3, Check: "helm", Message: "m"}
	withV := func(f Finding, v string) Finding { f.Variant = v; return f }
	t2 := Finding{Path: "c/templates/b.yaml", Line: 9, Col: 1, Check: "helm", Message: "n"}
	inFile := Finding{Path: "c/values-prod.yaml", Line: 7, Col: 3, Check: "helm", Message: "o", Variant: "values-prod.yaml"}
	got := Normalize([]Finding{withV(t1, "values-prod.yaml"), t1, withV(t2, "values-staging.yaml"), withV(t2, "values-prod.yaml"), inFile})
	want := []Finding{t1, withV(t2, "values-prod.yaml, values-staging.yaml"), withV(inFile, "")}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestUnknownCheck(t *testing.T) {
	if _, err := Run(context.Background(), t.TempDir(), Options{Checks: []string{"nope"}}); err == nil {
		t.Fatal("want an error for an unknown check")
	}
}

func TestEmptyRepositorySkipsEverything(t *testing.T) {
	rep, err := Run(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings)+len(rep.Errors)+len(rep.Ran) != 0 || len(rep.Skipped) != len(Checks()) {
		t.Fatalf("got %+v", rep)
	}
}

// BenchmarkVerify runs every check on the base repository (a generated
// service, trimmed), as `paved verify` does after the binary is built.
func BenchmarkVerify(b *testing.B) {
	dir := caseRepo(b, "")
	for b.Loop() {
		rep, err := Run(context.Background(), dir, Options{})
		if err != nil || len(rep.Errors) > 0 {
			b.Fatal(err, rep.Errors)
		}
	}
}

func TestAnswersFileSkip(t *testing.T) {
	dir := caseRepo(t, "")
	answers := filepath.Join(dir, AnswersFile)
	b, err := os.ReadFile(answers)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(answers, append(b, "verify:\n  skip: [helm, chaos]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), dir, Options{Checks: []string{"helm", "chaos", "istio"}, Shellcheck: "-"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Skipped, ",") != "helm,chaos" || strings.Join(rep.Ran, ",") != "istio" {
		t.Fatalf("ran %v, skipped %v", rep.Ran, rep.Skipped)
	}
	if err := os.WriteFile(answers, append(b, "verify:\n  skip: [helmm]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), `unknown check "helmm"`) {
		t.Fatalf("got %v, want an unknown check error", err)
	}
}
