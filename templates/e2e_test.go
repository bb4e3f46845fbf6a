package templates_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/templates"
)

// buildPaved builds the paved under test, and paved-verify beside it where
// paved looks for it first.
func buildPaved(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir, "../cmd/paved", "../cmd/paved-verify")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building paved: %v\n%s", err, out)
	}
	return filepath.Join(dir, "paved")
}

// run runs a command in dir and returns its combined output and error.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s (in %s): %v, %s", name, strings.Join(args, " "), filepath.Base(dir), err, time.Since(start).Round(time.Millisecond))
	return out.String(), err
}

// generate makes the case's repository with the paved under test, tasks
// included (go mod tidy, git init).
func generate(t *testing.T, paved string, c templates.Case) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	args := []string{"new", "--defaults"}
	for _, s := range c.Set {
		args = append(args, "--set", s)
	}
	args = append(args, c.Module, dir)
	if out, err := run(t, ".", nil, paved, args...); err != nil {
		t.Fatalf("paved new: %v\n%s", err, out)
	}
	return dir
}

// gateEnv is the environment of a generated repository's gates: its verify
// gate runs the paved under test. This machine's Go (1.26.8) has standard
// library vulnerabilities fixed in later patch releases that cannot be
// installed here, so the vuln gate reports those as warnings; every other
// finding still fails it.
func gateEnv(paved string) []string {
	return []string{"PAVED=" + paved, "VULN_STDLIB=warn"}
}

// TestEndToEnd generates every golden case and runs its own `mage ci`, with
// the verify gate pointed at the paved under test. Every gate must pass.
// The Go module and build caches are the user's, shared by all cases.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("generates repositories and runs their mage ci")
	}
	paved := buildPaved(t)
	env := gateEnv(paved)
	for _, c := range templates.ServiceCases {
		t.Run(c.Name, func(t *testing.T) {
			dir := generate(t, paved, c)
			out, err := run(t, dir, env, "go", "tool", "mage", "ci")
			if err != nil {
				t.Fatalf("mage ci failed in the generated repository: %v\n%s", err, out)
			}
		})
	}
}

// TestEndToEndGatesBite proves the gates fail on what they guard.
func TestEndToEndGatesBite(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a repository and runs its gates")
	}
	paved := buildPaved(t)
	env := gateEnv(paved)
	tests := []struct {
		name    string
		files   map[string]string
		targets []string
		want    []string // in the output
	}{
		{
			name:    "unformatted file fails fmt",
			files:   map[string]string{"internal/ugly/ugly.go": "package ugly\nfunc  Ugly( ) {}\n"},
			targets: []string{"ci"},
			want:    []string{"internal/ugly/ugly.go"},
		},
		{
			name:    "broken manifest fails verify",
			files:   map[string]string{"deploy/istio/virtualservice.yaml": "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: payments\nspec:\n  hosts: [payments]\n  http:\n    - route:\n        - destination: {host: payments, subset: stable}\n          weight: 60\n        - destination: {host: payments, subset: canary}\n          weight: 50\n"},
			targets: []string{"verify"},
			want:    []string{"deploy/istio/virtualservice.yaml"},
		},
		{
			name:    "coverage drop fails cover",
			files:   map[string]string{"internal/uncovered/uncovered.go": uncoveredSource()},
			targets: []string{"test", "cover"},
			want:    []string{"coverage"},
		},
	}
	base := generate(t, paved, templates.Case{Module: "example.com/acme/payments"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			if out, err := exec.Command("cp", "-a", base, dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			for name, content := range tt.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := run(t, dir, env, "go", append([]string{"tool", "mage"}, tt.targets...)...)
			if err == nil {
				t.Fatalf("mage %v passed although it must fail:\n%s", tt.targets, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not name %q:\n%s", w, out)
				}
			}
		})
	}
}

// uncoveredSource is a package big enough, and untested, to pull coverage
// under the 85% threshold.
func uncoveredSource() string {
	var b strings.Builder
	b.WriteString("// Package uncovered is code without tests.\npackage uncovered\n")
	for i := range 60 {
		fmt.Fprintf(&b, "\n// F%d adds or subtracts.\nfunc F%d(a, b int) int {\n\tif a > b {\n\t\treturn a - b\n\t}\n\treturn a + b\n}\n", i, i)
	}
	return b.String()
}
