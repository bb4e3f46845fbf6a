package scaffold_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates"
)

// rendersOutEnv names the file a child process of
// TestRendersAreDeterministic writes its renders to.
const rendersOutEnv = "PAVED_TEST_RENDERS_OUT"

// TestRendersAreDeterministic holds a render to be a pure function of its
// inputs: the built-in templates (each case of their paved-tests.yaml)
// and testdata/funcs, a probe that calls every function that iterates a
// map and every one paved makes deterministic, are rendered in fresh
// processes of this test binary (each with its own map hash seed) under
// different GOMAXPROCS, several times in each, and every render must be
// the same bytes.
func TestRendersAreDeterministic(t *testing.T) {
	if out := os.Getenv(rendersOutEnv); out != "" {
		writeRenders(t, out)
		return
	}
	procs := []int{1, 2, 3, 8}
	if testing.Short() {
		procs = procs[:3]
	}
	dir := t.TempDir()
	var first map[string]string
	firstRun := ""
	for i, n := range procs {
		out := filepath.Join(dir, strconv.Itoa(i)+".json")
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRendersAreDeterministic$", "-test.count=1")
		cmd.Env = append(os.Environ(), rendersOutEnv+"="+out, "GOMAXPROCS="+strconv.Itoa(n))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("GOMAXPROCS=%d: %v\n%s", n, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var renders []map[string]string
		if err := json.Unmarshal(data, &renders); err != nil {
			t.Fatal(err)
		}
		for k, r := range renders {
			run := fmt.Sprintf("process %d (GOMAXPROCS=%d) render %d", i+1, n, k+1)
			if first == nil {
				first, firstRun = r, run
				continue
			}
			if diffs := renderDiffs(first, r); len(diffs) > 0 {
				t.Fatalf("%s differs from %s:\n%s", run, firstRun, strings.Join(diffs, "\n"))
			}
		}
	}
	if len(first) == 0 {
		t.Fatal("nothing was rendered")
	}
}

// renderDiffs lists the files that differ between two runs (the first few).
func renderDiffs(a, b map[string]string) []string {
	var diffs []string
	names := slices.Sorted(maps.Keys(a))
	for name := range b {
		if _, ok := a[name]; !ok {
			names = append(names, name)
		}
	}
	for _, name := range names {
		if a[name] != b[name] && len(diffs) < 3 {
			diffs = append(diffs, fmt.Sprintf("%s:\n%s", name, lineDiff(a[name], b[name])))
		}
	}
	return diffs
}

// lineDiff shows the first lines that differ.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 6; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("  line %d:\n  - %s\n  + %s", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}

// renderInput is one template and answer set to render.
type renderInput struct {
	name    string
	fsys    fs.FS
	module  string
	answers map[string]any
}

// writeRenders, in a child process, renders every input three times and
// writes the renders (case/path: mode, link and bytes) to out.
func writeRenders(t *testing.T, out string) {
	builtins, err := templates.Builtins()
	if err != nil {
		t.Fatal(err)
	}
	inputs := []renderInput{
		{name: "probe", fsys: os.DirFS(filepath.Join("testdata", "funcs")), module: "example.com/acme/probe"},
		{name: "probe-answers", fsys: os.DirFS(filepath.Join("testdata", "funcs")), module: "github.com/acme/other/v3",
			answers: map[string]any{"Name": "other", "Tags": []any{"gamma", "epsilon", "alpha", "zeta", "beta", "delta"}}},
	}
	for _, name := range slices.Sorted(maps.Keys(builtins)) {
		cases, err := scaffold.ReadTestCases(os.DirFS(filepath.Join("..", "templates", name)))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases.Cases {
			inputs = append(inputs, renderInput{name: name + "/" + c.Name, fsys: builtins[name], module: c.Module, answers: c.Answers})
		}
	}
	var renders []map[string]string
	for range 3 {
		r := map[string]string{}
		for _, in := range inputs {
			for _, f := range renderOnce(t, in) {
				r[in.name+"/"+f.Path] = fmt.Sprintf("%v %s\n%s", f.Mode, f.Link, f.Data)
			}
		}
		renders = append(renders, r)
	}
	data, err := json.Marshal(renders)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// renderOnce renders an input as paved new does, from a fresh read of its
// manifest (a manifest keeps the template set it rendered with).
func renderOnce(t *testing.T, in renderInput) []scaffold.File {
	m, err := scaffold.ReadManifest(in.fsys)
	if err != nil {
		t.Fatalf("%s: %v", in.name, err)
	}
	const version = "v0.0.0-determinism"
	tmpl := &scaffold.Template{FS: in.fsys, Source: in.name, Version: version}
	data := scaffold.RenderData(in.module, tmpl, version)
	if _, err := scaffold.ResolveAnswers(m, data, scaffold.AnswerInput{Given: in.answers}); err != nil {
		t.Fatalf("%s: %v", in.name, err)
	}
	files, err := scaffold.Render(t.Context(), scaffold.RenderInput{Template: tmpl, Manifest: m, Module: in.module, Data: data})
	if err != nil {
		t.Fatalf("%s: %v", in.name, err)
	}
	return files
}
