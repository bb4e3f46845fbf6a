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

	"golang.org/x/mod/modfile"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
	"github.com/paved-dev/paved/templates/templatetest"
)

// e2e is what an end-to-end test runs a generated repository with: the
// paved under test and the environment of its commands.
type e2e struct {
	paved   string   // paved built from this checkout, at the version the proxy serves
	version string   // that version
	env     []string // the whole environment of paved and of the repository's commands
}

// setupE2E publishes this checkout as paved's module in a file:// proxy,
// builds paved at that version, and makes an environment in which a
// generated repository resolves its pinned paved (tools/paved/go.mod)
// through that proxy, everything else through the machine's proxy, and
// finds no paved installed: PAVED, PAVED_VERIFY and VULN_STDLIB are unset
// and PATH holds no directory with a paved or paved-verify in it.
//
// The generated go.mod names go 1.27.3. With Go's default GOTOOLCHAIN=auto
// the go command switches to it; a machine that pins GOTOOLCHAIN=local has
// to export GOTOOLCHAIN=go1.27.3 (as .ci/run does), or the test stops at
// the first go command in the repository, saying so.
func setupE2E(t *testing.T) e2e {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	proxy := scaffoldtest.NewProxy(t)
	version := proxy.AddCheckout(t, scaffoldtest.PavedModule, root)
	t.Logf("paved from this checkout published as %s@%s in %s", scaffoldtest.PavedModule, version, proxy.URL())

	env := e2eEnv(t, proxy.URL())
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "go", "build", "-ldflags", "-X main.version="+version, "-o", dir, "../cmd/paved")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building paved: %v\n%s", err, out)
	}
	e := e2e{paved: filepath.Join(dir, "paved"), version: version, env: env}
	if out, err := run(t, ".", env, e.paved, "version"); err != nil || out != "paved "+version+"\n" {
		t.Fatalf("paved version: %v, %q; want %q", err, out, "paved "+version)
	}
	return e
}

// e2eEnv is this process's environment with the proxy first in GOPROXY,
// paved's module exempt from the checksum database (the proxy's zip exists
// nowhere else), and every trace of an installed paved removed.
func e2eEnv(t *testing.T, proxyURL string) []string {
	t.Helper()
	goenv := func(key string) string {
		out, err := exec.CommandContext(t.Context(), "go", "env", key).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", key, err)
		}
		return strings.TrimSpace(string(out))
	}
	upstream, nosumdb := goenv("GOPROXY"), goenv("GONOSUMDB")
	goproxy := proxyURL
	if upstream != "" && upstream != "off" {
		goproxy += "," + upstream
	}
	if nosumdb != "" {
		nosumdb += ","
	}
	nosumdb += scaffoldtest.PavedModule

	var env []string
	for _, kv := range os.Environ() {
		key, value, _ := strings.Cut(kv, "=")
		switch key {
		case "PAVED", "PAVED_VERIFY", "VULN_STDLIB", "GOPROXY", "GONOSUMDB":
			continue
		case "PATH":
			kv = "PATH=" + pathWithoutPaved(value)
		}
		env = append(env, kv)
	}
	return append(env, "GOPROXY="+goproxy, "GONOSUMDB="+nosumdb)
}

// pathWithoutPaved drops the directories of PATH that hold a paved or a
// paved-verify, so nothing installed can stand in for the pinned one.
func pathWithoutPaved(path string) string {
	var keep []string
	for _, dir := range filepath.SplitList(path) {
		installed := false
		for _, name := range []string{"paved", "paved-verify"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
				installed = true
			}
		}
		if !installed {
			keep = append(keep, dir)
		}
	}
	return strings.Join(keep, string(filepath.ListSeparator))
}

// run runs a command in dir with env and returns its combined output and error.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s (in %s): %v, %s", name, strings.Join(args, " "), filepath.Base(dir), err, time.Since(start).Round(time.Millisecond))
	return out.String(), err
}

// generate makes the case's repository with the paved under test, tasks
// included (go mod tidy in the repository and in tools/paved, git init).
func (e e2e) generate(t *testing.T, c templatetest.Case) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	args := []string{"new", "--defaults"}
	for _, s := range c.Set {
		args = append(args, "--set", s)
	}
	args = append(args, c.Module, dir)
	if out, err := run(t, ".", e.env, e.paved, args...); err != nil {
		if strings.Contains(out, "GOTOOLCHAIN=local") {
			t.Fatalf("paved new: the generated go.mod needs go 1.27.3 and this machine pins GOTOOLCHAIN=local; export GOTOOLCHAIN=go1.27.3\n%s", out)
		}
		t.Fatalf("paved new: %v\n%s", err, out)
	}
	return dir
}

// TestEndToEnd generates every golden case and runs its own `mage ci` with
// nothing installed: the verify gate runs the paved pinned in the
// repository's tools/paved/go.mod, which the go command builds from this
// checkout as the file:// proxy serves it. Every gate must pass, the vuln
// gate included (no VULN_STDLIB). The Go module and build caches are the
// user's, shared by all cases. A case with the code of another
// (Case.SameCode, proved by TestSameCodeCases) differs only in files the
// verify gate reads, so it runs `mage verify` alone: every other gate would
// repeat the other case's work on the same files.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("generates repositories and runs their mage ci")
	}
	e := setupE2E(t)
	for _, c := range templatetest.ServiceCases {
		t.Run(c.Name, func(t *testing.T) {
			dir := e.generate(t, c)
			if got := pinnedPaved(t, dir); got != e.version {
				t.Errorf("tools/paved/go.mod pins paved %q, not %s, the paved that made it", got, e.version)
			}
			target, wants := "ci", []string{"go tool -modfile=tools/paved/go.mod paved verify .", "vuln: no known vulnerability is called"}
			if c.SameCode != "" {
				target, wants = "verify", wants[:1]
			}
			out, err := run(t, dir, e.env, "go", "tool", "mage", target)
			if err != nil {
				t.Fatalf("mage %s failed in the generated repository: %v\n%s", target, err, out)
			}
			for _, want := range wants {
				if !strings.Contains(out, want) {
					t.Errorf("mage ci output lacks %q:\n%s", want, out)
				}
			}
			if c.Name == "defaults" {
				measureWarmCI(t, e, dir)
			}
		})
	}
}

// measureWarmCI measures what a developer waits for after a one-line
// change: `go tool mage ci` against the repository's own `go test -race
// -count=1 ./...`, paired (a new one-line change in internal/app before
// each command, twice), and logs both and their ratio (the goal is at most
// 3). It is a measurement, not a timing test: only a failing command fails
// the test.
func measureWarmCI(t *testing.T, e e2e, dir string) {
	t.Helper()
	app := filepath.Join(dir, "internal", "app", "app.go")
	original, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "\npackage app\n"
	if !bytes.Contains(original, []byte(anchor)) {
		t.Fatalf("%s has no %q line to put a one-line change before", app, strings.TrimSpace(anchor))
	}
	edit := 0
	oneLineChange := func() {
		edit++
		line := fmt.Sprintf("\n// One-line change %d, timed by paved's end-to-end test.%s", edit, anchor)
		if err := os.WriteFile(app, bytes.Replace(original, []byte(anchor), []byte(line), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	timed := func(name string, args ...string) time.Duration {
		oneLineChange()
		start := time.Now()
		out, err := run(t, dir, e.env, name, args...)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s %s failed after a one-line change in internal/app: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		if _, table, ok := strings.Cut(out, "\ngate "); ok {
			t.Logf("its gates:\ngate %s", table)
		}
		return took
	}
	var ci, test time.Duration
	for range 2 {
		ci += timed("go", "tool", "mage", "ci")
		test += timed("go", "test", "-race", "-count=1", "./...")
	}
	if out, err := run(t, dir, e.env, "go", "test", "-count=1", "-tags", "mage", "./magefiles"); err != nil {
		t.Errorf("the magefiles' own tests failed: %v\n%s", err, out)
	}
	t.Logf("after a one-line change in internal/app (mean of 2, paired): go tool mage ci %s, go test -race -count=1 ./... %s: %.2fx (goal: at most 3x)",
		(ci / 2).Round(100*time.Millisecond), (test / 2).Round(100*time.Millisecond), float64(ci)/float64(test))
}

// pinnedPaved is the version of paved that tools/paved/go.mod requires.
func pinnedPaved(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "tools", "paved", "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax(path, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == scaffoldtest.PavedModule {
			return r.Mod.Version
		}
	}
	return ""
}

// TestEndToEndGatesBite proves the gates fail on what they guard.
func TestEndToEndGatesBite(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a repository and runs its gates")
	}
	e := setupE2E(t)
	tests := []struct {
		name    string
		files   map[string]string
		links   map[string]string // name: target, "$OUTSIDE" a file outside the repository
		targets []string
		want    []string // in the output
		absent  []string // not in the output
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
			// A pull request's chart that prints a CI secret through a
			// link and loops for ever: the gate fails at the link and
			// at the chart, within verify's bound, and prints no byte
			// of the secret.
			name: "hostile chart fails verify, bounded and without leaking",
			files: map[string]string{
				"deploy/helm/payments/templates/leak.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  k: {{ .Files.Get \"files/id_rsa\" | quote }}\n",
				"deploy/helm/payments/templates/loop.yaml": "{{ range until 100000 }}{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}{{ end }}\n",
			},
			links:   map[string]string{"deploy/helm/payments/files/id_rsa": "$OUTSIDE"},
			targets: []string{"verify"},
			want: []string{
				"deploy/helm/payments/files/id_rsa:1:1: helm: symbolic link to a file outside the repository",
				"deploy/helm/payments/Chart.yaml:1:1: helm: chart payments: its templates ran longer than 20s and were stopped",
			},
			absent: []string{hostileSecret},
		},
		{
			name:    "coverage drop fails cover",
			files:   map[string]string{"internal/uncovered/uncovered.go": uncoveredSource()},
			targets: []string{"test", "cover"},
			want:    []string{"coverage"},
		},
	}
	base := e.generate(t, templatetest.Case{Module: "example.com/acme/payments"})
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
			for name, target := range tt.links {
				if target == "$OUTSIDE" {
					target = filepath.Join(t.TempDir(), "id_rsa")
					if err := os.WriteFile(target, []byte(hostileSecret+"\n"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			out, err := run(t, dir, e.env, "go", append([]string{"tool", "mage"}, tt.targets...)...)
			if err == nil {
				t.Fatalf("mage %v passed although it must fail:\n%s", tt.targets, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not name %q:\n%s", w, out)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("output holds %q:\n%s", a, out)
				}
			}
		})
	}
}

// hostileSecret stands for a CI secret a pull request's link points at.
const hostileSecret = "SECRET-KEY-MATERIAL-e2e-0123456789"

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
