package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"paved": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "../../testdata/script"})
}

// runPaved runs the CLI in process, in dir.
func runPaved(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(dir)
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestNewBadInput(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // written in the working directory first
		args  []string
		want  string // in the first line of stderr
	}{
		{name: "invalid module path", args: []string{"new", "--defaults", "Not A Module"}, want: `invalid module path "Not A Module"`},
		{name: "non-empty dir", files: map[string]string{"payments/mine.txt": "x"}, args: []string{"new", "--defaults", "example.com/acme/payments"}, want: "target directory payments is not empty"},
		{name: "unknown question in --set", args: []string{"new", "--set", "Nmae=x", "example.com/acme/payments"}, want: "--set Nmae=x: the template has no question Nmae"},
		{name: "value failing validate", args: []string{"new", "--set", "Name=Bad_Name", "example.com/acme/payments"}, want: `answer Name: "Bad_Name" is not valid: want service name, a DNS-1123 label (binary, image, chart and metric prefix) (pattern ^[a-z]`},
		{name: "wrong type", args: []string{"new", "--set", "Kubernetes=yes please", "example.com/acme/payments"}, want: `answer Kubernetes: "yes please" is not a bool`},
		{name: "unknown template", args: []string{"new", "--template", "servise", "example.com/acme/payments"}, want: `unknown template "servise"`},
		{name: "malformed paved.yaml", files: map[string]string{"tmpl/paved.yaml": "questions:\n  - name: A\n    tpye: bool\n"},
			args: []string{"new", "--template", "./tmpl", "example.com/acme/payments"}, want: `paved.yaml:3: unknown key "tpye" in question`},
		{name: "template path escaping DIR", files: map[string]string{"tmpl/paved.yaml": "questions:\n  - name: D\n    default: '..'\n", "tmpl/{{ .D }}/evil.txt": "x"},
			args: []string{"new", "--template", "./tmpl", "example.com/acme/payments"}, want: `path "../evil.txt": segment ..`},
		{name: "bad answers file", files: map[string]string{"a.yaml": "Name: [\n"}, args: []string{"new", "--answers", "a.yaml", "example.com/acme/payments"}, want: "a.yaml:"},
		{name: "unknown flag", args: []string{"new", "--nope", "example.com/acme/payments"}, want: "flag provided but not defined: -nope"},
		{name: "missing module", args: []string{"new", "--defaults"}, want: "usage: paved new"},
		{name: "unknown command", args: []string{"nwe"}, want: `unknown command "nwe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			scaffoldtest.WriteTree(t, dir, tt.files)
			before := scaffoldtest.ReadTree(t, dir)
			code, _, stderr := runPaved(t, dir, tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, stderr)
			}
			if after := scaffoldtest.ReadTree(t, dir); !cmp.Equal(before, after) {
				t.Errorf("files changed although new failed:\n%s", cmp.Diff(before, after))
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".paved-") {
					t.Errorf("temporary directory %s left behind", e.Name())
				}
			}
		})
	}
}

func TestNewFailingTask(t *testing.T) {
	dir := t.TempDir()
	scaffoldtest.WriteTree(t, dir, map[string]string{
		"tmpl/paved.yaml": "tasks:\n  - [sh, -c, 'echo ran > ran.txt']\n  - [sh, -c, 'exit 3']\n  - [sh, -c, 'echo never > never.txt']\n",
		"tmpl/a.txt":      "a",
	})
	code, _, stderr := runPaved(t, dir, "new", "--template", "./tmpl", "example.com/x", "out")
	if code != 0 || !strings.Contains(stderr, "skipped 3 task(s)") {
		t.Fatalf("untrusted template: exit %d, stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "ran.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an untrusted task ran")
	}
	code, _, stderr = runPaved(t, dir, "new", "--trust", "--template", "./tmpl", "example.com/x", "out2")
	if code != 1 || !strings.Contains(stderr, `task "sh -c exit 3" failed`) {
		t.Fatalf("failing task: exit %d, stderr:\n%s", code, stderr)
	}
	got := scaffoldtest.ReadTree(t, filepath.Join(dir, "out2"))
	if got["a.txt"] != "a" || got["ran.txt"] != "ran\n" || got["never.txt"] != "" {
		t.Errorf("repository after a failed task: %v", got)
	}
	code, _, _ = runPaved(t, dir, "new", "--trust", "--no-hooks", "--template", "./tmpl", "example.com/x", "out3")
	if _, err := os.Stat(filepath.Join(dir, "out3", "ran.txt")); code != 0 || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("--no-hooks: exit %d, task ran: %v", code, err)
	}
}

// TestGonewParity checks that a plain Go module (no paved.yaml) fetched
// through GOPROXY gives byte for byte what gonew gives.
func TestGonewParity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs gonew")
	}
	work := t.TempDir()
	gonew := filepath.Join(work, "gonew")
	build := exec.Command("go", "build", "-o", gonew, "golang.org/x/tools/cmd/gonew")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building gonew: %v\n%s", err, out)
	}

	src := filepath.Join(work, "src")
	scaffoldtest.WriteTree(t, src, map[string]string{
		"go.mod":             "module example.com/basic\n\ngo 1.26\n\nrequire  example.com/dep v1.0.0\n",
		"basic.go":           "package basic\n\nimport \"example.com/basic/internal/util\"\n\nvar X = util.Y\n",
		"basic_test.go":      "package basic_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/basic\"\n)\n\nfunc TestX(t *testing.T) { _ = basic.X }\n",
		"internal/util/u.go": "// Package util says example.com/basic in a comment.\npackage util\n\nimport _ \"example.com/basic\"\n\nconst Y = \"example.com/basic\"\n",
		"cmd/tool/main.go":   "package main\n\nimport (\n\tb \"example.com/basic\"\n\t\"fmt\"\n)\n\nfunc main() { fmt.Println(b.X) }\n",
		"README.md":          "example.com/basic is not rewritten here\n",
		"testdata/in.txt":    "data\n",
	})
	proxy := scaffoldtest.NewProxy(t)
	proxy.Add(t, "example.com/basic", "v1.3.0", src)
	env := proxy.GoEnv(t)

	gonewOut := filepath.Join(work, "by-gonew")
	cmd := exec.Command(gonew, "example.com/basic@v1.3.0", "example.com/acme/payments", gonewOut)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gonew: %v\n%s", err, out)
	}

	for k, v := range map[string]string{"GOPROXY": "", "GOSUMDB": "", "GONOSUMDB": "", "GOFLAGS": "", "GOMODCACHE": "", "GOTOOLCHAIN": ""} {
		_ = v
		for _, kv := range env {
			if strings.HasPrefix(kv, k+"=") {
				t.Setenv(k, strings.TrimPrefix(kv, k+"="))
			}
		}
	}
	pavedOut := filepath.Join(work, "by-paved")
	code, _, stderr := runPaved(t, work, "new", "--template", "example.com/basic@v1.3.0", "example.com/acme/payments", pavedOut)
	if code != 0 {
		t.Fatalf("paved new: exit %d\n%s", code, stderr)
	}
	want := scaffoldtest.ReadTree(t, gonewOut)
	got := scaffoldtest.ReadTree(t, pavedOut)
	answers := got[".paved-answers.yaml"]
	delete(got, ".paved-answers.yaml")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paved differs from gonew (-gonew +paved):\n%s", diff)
	}
	if !strings.Contains(answers, "template: example.com/basic\nversion: v1.3.0\nmodule: example.com/acme/payments\n") {
		t.Errorf("answers file:\n%s", answers)
	}
}

// TestNewBuiltinBuilds generates the default service and builds it.
func TestNewBuiltinBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads the service's modules and builds it")
	}
	dir := t.TempDir()
	code, _, stderr := runPaved(t, dir, "new", "--defaults", "--no-hooks", "example.com/acme/payments")
	if code != 0 {
		t.Fatalf("paved new: exit %d\n%s", code, stderr)
	}
	repo := filepath.Join(dir, "payments")
	got := scaffoldtest.ReadTree(t, repo)
	if !strings.HasPrefix(got["go.mod"], "module example.com/acme/payments\n") {
		t.Errorf("go.mod:\n%s", got["go.mod"])
	}
	for _, want := range []string{"template: service\n", "module: example.com/acme/payments\n", "  Name: payments\n", "  Kubernetes: true\n", "version: "} {
		if !strings.Contains(got[".paved-answers.yaml"], want) {
			t.Errorf(".paved-answers.yaml lacks %q:\n%s", want, got[".paved-answers.yaml"])
		}
	}
	build := exec.Command("go", "build", "./...")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./... in the new repository: %v\n%s", err, out)
	}
}
