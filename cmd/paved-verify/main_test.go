package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold/verify"
)

func TestMainExitCodes(t *testing.T) {
	clean := caseRepo(t, "")
	broken := caseRepo(t, "../../testdata/verify/istio/weights-110")
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("<a> & <b>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // contained in stdout
		stderr string // contained in stderr
	}{
		{"clean", []string{"--shellcheck", "-", clean}, exitOK, "", "0 finding(s)"},
		{"findings", []string{"--shellcheck=-", "--check", "istio", broken}, exitFindings,
			"deploy/istio/virtualservice.yaml:36:7: istio: VirtualService payments: route weights of spec.http[1] (\"weighted\") sum to 110, not 100\n", "1 finding(s)"},
		{"json", []string{"--format", "json", "--check", "istio", broken}, exitFindings, `"check": "istio"`, ""},
		{"json clean", []string{"--format", "json", "--check", "dependabot", clean}, exitOK, "[]\n", ""},
		{"bad format", []string{"--format", "xml", clean}, exitError, "", `unknown --format "xml"`},
		{"unknown check", []string{"--check", "nope", clean}, exitError, "", `unknown check "nope"`},
		{"two dirs", []string{clean, clean}, exitError, "", "at most one DIR"},
		{"nothing to check", []string{empty}, exitOK, "", "nothing to check: no file any check reads"},
		{"missing dir", []string{filepath.Join(clean, "nope")}, exitError, "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb, verify.Checks(), testCharts(t))
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.stdout)
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.stderr)
			}
			if strings.Contains(strings.Join(tc.args, " "), "json") && code != exitError {
				var fs []verify.Finding
				if err := json.Unmarshal(out.Bytes(), &fs); err != nil {
					t.Errorf("stdout is not a JSON array of findings: %v", err)
				}
			}
		})
	}
}

// broken is a check whose environment is broken.
type broken struct{}

func (broken) Name() string { return "broken" }
func (broken) Run(context.Context, *verify.Repo) ([]verify.Finding, error) {
	return nil, errors.New("the frobnicator is not installed")
}

// TestCheckCannotRun: a check that cannot run makes exit 2 with a clear
// line on stderr, and the other checks' findings are still printed.
func TestCheckCannotRun(t *testing.T) {
	dir := caseRepo(t, "../../testdata/verify/istio/weights-110")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--shellcheck", "-", dir}, &out, &errb, append(verify.Checks(), broken{}), testCharts(t))
	if code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(errb.String(), "paved: verify: check broken could not run: the frobnicator is not installed\n") || !strings.Contains(out.String(), "istio:") {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}
}

// TestShellcheck: with shellcheck on PATH, the workflows check reports its
// findings through actionlint.
func TestShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not on PATH")
	}
	dir := caseRepo(t, "")
	wf := filepath.Join(dir, ".github/workflows/ci.yml")
	b, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("        run: go tool mage ci\n"), []byte("        run: cd $HOME/src && go tool mage ci\n"), 1)
	if err := os.WriteFile(wf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(context.Background(), dir, verify.Options{Checks: []string{"workflows"}, Shellcheck: sc})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Message, "SC2086") || rep.Findings[0].Line != 39 {
		t.Fatalf("want one SC2086 finding at line 39, got %v", rep.Findings)
	}
}

// TestJSONNotHTMLEscaped: < > & stay as they are in --format json.
func TestJSONNotHTMLEscaped(t *testing.T) {
	var b bytes.Buffer
	if err := writeJSON(&b, []verify.Finding{{Path: "a.yaml", Line: 1, Col: 1, Check: "prometheus", Message: "expr: rate(x[5m]) > 14.4 & <y>"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"expr: rate(x[5m]) > 14.4 & <y>"`) {
		t.Fatalf("got %s", b.String())
	}
}

// caseRepo builds a case's repository in a temporary directory: the base
// repository of scaffold/verify's tests with the case's files over it.
func caseRepo(t *testing.T, caseDir string) string {
	t.Helper()
	dir := t.TempDir()
	for _, src := range []string{"../../testdata/verify/_repo", caseDir} {
		if src == "" {
			continue
		}
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			if rel == "want.txt" {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			return os.WriteFile(out, b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestMain makes the test binary the child that executes charts'
// templates, as main makes paved-verify.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == verify.ChartChildArg {
		os.Exit(verify.ServeChartChild(context.Background(), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// testCharts has charts' templates executed by a child process of the
// test binary, as paved-verify executes them in one of itself.
func testCharts(t *testing.T) verify.ChartLimits {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return verify.ChartLimits{Command: exe}
}
