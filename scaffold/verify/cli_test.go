package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMainExitCodes(t *testing.T) {
	clean := caseRepo(t, "")
	broken := caseRepo(t, "../../testdata/verify/istio/weights-110")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // contained in stdout
		stderr string // contained in stderr
	}{
		{"clean", []string{"--shellcheck", "-", clean}, ExitOK, "", "0 finding(s)"},
		{"findings", []string{"--shellcheck=-", "--check", "istio", broken}, ExitFindings,
			"deploy/istio/virtualservice.yaml:36:7: istio: VirtualService payments: route weights of spec.http[1] (\"weighted\") sum to 110, not 100\n", "1 finding(s)"},
		{"json", []string{"--format", "json", "--check", "istio", broken}, ExitFindings, `"check": "istio"`, ""},
		{"json clean", []string{"--format", "json", "--check", "dependabot", clean}, ExitOK, "[]\n", ""},
		{"bad format", []string{"--format", "xml", clean}, ExitError, "", `unknown --format "xml"`},
		{"unknown check", []string{"--check", "nope", clean}, ExitError, "", `unknown check "nope"`},
		{"two dirs", []string{clean, clean}, ExitError, "", "at most one DIR"},
		{"missing dir", []string{filepath.Join(clean, "nope")}, ExitError, "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.stdout)
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.stderr)
			}
			if strings.Contains(strings.Join(tc.args, " "), "json") && code != ExitError {
				var fs []Finding
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
func (broken) Run(context.Context, *Repo) ([]Finding, error) {
	return nil, errors.New("the frobnicator is not installed")
}

// TestCheckCannotRun: a check that cannot run makes exit 2 with a clear
// line on stderr, and the other checks' findings are still printed.
func TestCheckCannotRun(t *testing.T) {
	register(broken{})
	defer delete(registry, "broken")
	dir := caseRepo(t, "../../testdata/verify/istio/weights-110")
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"--shellcheck", "-", dir}, &out, &errb)
	if code != ExitError {
		t.Fatalf("exit %d, want %d", code, ExitError)
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
	rep, err := Run(context.Background(), dir, Options{Checks: []string{"workflows"}, Shellcheck: sc})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Message, "SC2086") || rep.Findings[0].Line != 39 {
		t.Fatalf("want one SC2086 finding at line 39, got %v", rep.Findings)
	}
}
