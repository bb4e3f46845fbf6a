//go:build mage

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// The real module gonew and paved new copy from the module cache: gopls,
// about 630 Go files, at a version this Go can read.
const (
	realModule  = "golang.org/x/tools/gopls"
	realVersion = "v0.23.0"
)

// Bench prints paved's speed against the yardsticks of design.md
// ("Performance yardsticks"), each the median of paired runs (A then B,
// then B then A, ...; BENCH_PAIRS pairs, default 15, and BENCH_CI_PAIRS
// for the generated repository's mage ci, default 3), with the machine's
// load before and after:
//
//   - paved new --no-hooks --defaults of a 60-file form vs the floor
//     (../shared/bench/floor, or BENCH_FLOOR: text/template + sprig and
//     nothing else) and vs cp -r of the tree paved wrote;
//   - paved new of a plain Go module vs gonew of the same exact version: a
//     synthetic module in a file:// GOPROXY, and gopls from GOMODCACHE;
//   - paved version vs a program that imports cmd/paved's packages and does
//     nothing (their initialisation included);
//   - a generated repository's go tool mage ci after a one-line change vs
//     its go test -race -count=1 ./... after one.
//
// paved is built as the release builds it (.goreleaser.yaml's flags).
func Bench() error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "paved-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	pairs, err := envInt("BENCH_PAIRS", 15)
	if err != nil {
		return err
	}
	ciPairs, err := envInt("BENCH_CI_PAIRS", 3)
	if err != nil {
		return err
	}
	fmt.Println("load before:", load())

	b := &bench{root: root, work: work}
	if err := b.build(); err != nil {
		return err
	}
	var rows []benchRow
	for _, yardstick := range []func(int) ([]benchRow, error){b.newVsFloor, b.newVsGonew, b.versionVsNothing} {
		rs, err := yardstick(pairs)
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	rs, err := b.ciVsTest(ciPairs)
	if err != nil {
		return err
	}
	rows = append(rows, rs...)
	printRows(rows)
	fmt.Println("\nload after:", load())
	return nil
}

// bench holds the programs built for the yardsticks.
type bench struct {
	root, work string
	paved      string // as released
	develPaved string // built from this checkout, as go install ./cmd/... builds it
	floor      string
	gonew      string
	nothing    string
}

func envInt(key string, def int) (int, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q is not a positive number", key, v)
	}
	return n, nil
}

// build builds paved (with the release's flags, and as a checkout build),
// the floor, gonew and the do-nothing program.
func (b *bench) build() error {
	builds, err := releaseBuilds()
	if err != nil {
		return err
	}
	rb := builds[0]
	b.paved = filepath.Join(b.work, "bin", "paved")
	args := append([]string{"build", "-o", b.paved}, rb.Flags...)
	if err := goIn(b.root, rb.Env, append(args, "-ldflags="+strings.Join(rb.Ldflags, " "), rb.Main)...); err != nil {
		return fmt.Errorf("bench: building paved: %w", err)
	}
	b.develPaved = filepath.Join(b.work, "bin", "devel", "paved")
	if err := goIn(b.root, nil, "build", "-o", b.develPaved, "./cmd/paved"); err != nil {
		return fmt.Errorf("bench: building paved from the checkout: %w", err)
	}

	floorDir := os.Getenv("BENCH_FLOOR")
	if floorDir == "" {
		floorDir = filepath.Join(b.root, "..", "shared", "bench", "floor")
	}
	b.floor = filepath.Join(b.work, "bin", "floor")
	if err := goIn(floorDir, nil, "build", "-o", b.floor, "."); err != nil {
		return fmt.Errorf("bench: building the floor in %s (BENCH_FLOOR names another): %w", floorDir, err)
	}

	out, err := exec.Command("go", "tool", "-n", "gonew").Output()
	if err != nil {
		return fmt.Errorf("bench: building gonew (a tool of go.mod): %w", err)
	}
	b.gonew = strings.TrimSpace(string(out))

	// The do-nothing program: cmd/paved's imports, in a directory of this
	// module that exists only in an overlay, built with the same flags.
	imports, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, rb.Main).Output()
	if err != nil {
		return fmt.Errorf("bench: listing %s's imports: %w", rb.Main, err)
	}
	var src strings.Builder
	src.WriteString("// Command nothing imports what paved imports and does nothing.\npackage main\n\nimport (\n")
	for _, imp := range strings.Fields(string(imports)) {
		fmt.Fprintf(&src, "\t_ %q\n", imp)
	}
	src.WriteString(")\n\nfunc main() {}\n")
	mainGo := filepath.Join(b.work, "nothing.go")
	if err := os.WriteFile(mainGo, []byte(src.String()), 0o644); err != nil {
		return err
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(b.root, "cmd", "paved-bench-nothing", "main.go"): mainGo}})
	if err != nil {
		return err
	}
	overlayFile := filepath.Join(b.work, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		return err
	}
	b.nothing = filepath.Join(b.work, "bin", "nothing")
	args = append([]string{"build", "-overlay=" + overlayFile, "-o", b.nothing}, rb.Flags...)
	if err := goIn(b.root, rb.Env, append(args, "-ldflags="+strings.Join(rb.Ldflags, " "), "./cmd/paved-bench-nothing")...); err != nil {
		return fmt.Errorf("bench: building the do-nothing program: %w", err)
	}
	return nil
}

func goIn(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// command is name args... with env added to this process's environment.
func command(env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// fresh is a prepare step that removes the directory a run writes.
func fresh(dir string) func(int) error {
	return func(int) error { return os.RemoveAll(dir) }
}

// newVsFloor: paved new of a 60-file form against the floor that renders
// the same files, and against cp -r of what paved wrote.
func (b *bench) newVsFloor(pairs int) ([]benchRow, error) {
	form := filepath.Join(b.work, "form")
	if err := writeForm(form, 60); err != nil {
		return nil, err
	}
	const mod = "example.com/acme/bench"
	pavedOut, floorOut, cpOut := filepath.Join(b.work, "new-paved"), filepath.Join(b.work, "new-floor"), filepath.Join(b.work, "new-cp")
	pavedSide := benchSide{name: "paved", prepare: fresh(pavedOut), cmd: func(int) *exec.Cmd {
		return command(nil, b.paved, "new", "--no-hooks", "--defaults", "--template", form, mod, pavedOut)
	}}
	floorSide := benchSide{name: "floor", prepare: fresh(floorOut), cmd: func(int) *exec.Cmd {
		return command(nil, b.floor, form, floorOut, "Module="+mod, "Name=bench")
	}}
	vsFloor, err := paired(pairs, pavedSide, floorSide)
	if err != nil {
		return nil, err
	}
	// Both wrote the same files; paved its answers file and lock besides.
	if err := sameTrees(pavedOut, floorOut, ".paved-answers.yaml", ".paved-lock"); err != nil {
		return nil, fmt.Errorf("bench: paved and the floor rendered the form differently: %w", err)
	}
	rendered := filepath.Join(b.work, "rendered")
	if err := os.Rename(pavedOut, rendered); err != nil {
		return nil, err
	}
	cpSide := benchSide{name: "cp", prepare: fresh(cpOut), cmd: func(int) *exec.Cmd { return command(nil, "cp", "-r", rendered, cpOut) }}
	vsCp, err := paired(pairs, pavedSide, cpSide)
	if err != nil {
		return nil, err
	}
	return []benchRow{
		{name: "paved new vs the floor (60-file form)", a: strings.Join(pavedSide.cmd(0).Args, " "), b: strings.Join(floorSide.cmd(0).Args, " "), res: vsFloor, goal: 1.0},
		{name: "paved new vs cp -r of its output", a: "the same", b: strings.Join(cpSide.cmd(0).Args, " "), res: vsCp},
	}, nil
}

// newVsGonew: paved new of a plain module against gonew of the same
// version, on a synthetic module served by a file:// GOPROXY and on gopls
// from the module cache. Time ratios: at most 1.0 is at least gonew's speed.
func (b *bench) newVsGonew(pairs int) ([]benchRow, error) {
	proxy := filepath.Join(b.work, "proxy")
	const synth, synthVersion = "example.com/bench/synth", "v1.0.0"
	if err := writeSynthModule(proxy, synth, synthVersion, 60); err != nil {
		return nil, err
	}
	synthEnv := []string{"GOPROXY=file://" + filepath.ToSlash(proxy), "GOSUMDB=off", "GOFLAGS=-modcacherw", "GOMODCACHE=" + filepath.Join(b.work, "modcache")}
	if out, err := command(nil, "go", "mod", "download", realModule+"@"+realVersion).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench: go mod download %s@%s: %w\n%s", realModule, realVersion, err, out)
	}
	var rows []benchRow
	for _, c := range []struct {
		name, mod, version string
		env                []string
	}{
		{"paved new vs gonew (synthetic, file:// GOPROXY)", synth, synthVersion, synthEnv},
		{"paved new vs gonew (gopls, from GOMODCACHE)", realModule, realVersion, nil},
	} {
		pavedOut, gonewOut := filepath.Join(b.work, "mod-paved"), filepath.Join(b.work, "mod-gonew")
		dst := "example.com/acme/copy"
		pavedSide := benchSide{name: "paved", prepare: fresh(pavedOut), cmd: func(int) *exec.Cmd {
			return command(c.env, b.paved, "new", "--no-hooks", "--defaults", "--template", c.mod+"@"+c.version, dst, pavedOut)
		}}
		gonewSide := benchSide{name: "gonew", prepare: fresh(gonewOut), cmd: func(int) *exec.Cmd {
			return command(c.env, b.gonew, c.mod+"@"+c.version, dst, gonewOut)
		}}
		res, err := paired(pairs, pavedSide, gonewSide)
		if err != nil {
			return nil, err
		}
		rows = append(rows, benchRow{name: c.name, a: strings.Join(pavedSide.cmd(0).Args, " "), b: strings.Join(gonewSide.cmd(0).Args, " "), res: res, goal: 1.0})
	}
	return rows, nil
}

// versionVsNothing: paved's start, against a program of the same imports
// that does nothing.
func (b *bench) versionVsNothing(pairs int) ([]benchRow, error) {
	pavedSide := benchSide{name: "paved", cmd: func(int) *exec.Cmd { return command(nil, b.paved, "version") }}
	nothingSide := benchSide{name: "nothing", cmd: func(int) *exec.Cmd { return command(nil, b.nothing) }}
	res, err := paired(pairs*2, pavedSide, nothingSide)
	if err != nil {
		return nil, err
	}
	return []benchRow{{name: "paved version vs do-nothing, same imports", a: "paved version", b: "a main that imports cmd/paved's packages, empty", res: res, goal: 1.2}}, nil
}

// ciVsTest: a repository generated by the checkout's paved (which pins
// the checkout), its go tool mage ci run once to warm every cache, then
// pairs of a one-line change followed by mage ci, and one followed by its
// go test -race -count=1 ./...
func (b *bench) ciVsTest(pairs int) ([]benchRow, error) {
	repo := filepath.Join(b.work, "payments")
	env := []string{}
	if out, err := exec.Command("go", "env", "GOTOOLCHAIN").Output(); err == nil && strings.TrimSpace(string(out)) == "local" {
		env = append(env, "GOTOOLCHAIN=go1.27.3") // the generated go.mod's go line
	}
	gen := command(env, b.develPaved, "new", "--defaults", "example.com/acme/payments", repo)
	if out, err := gen.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench: paved new: %w\n%s", err, out)
	}
	app := filepath.Join(repo, "internal", "app", "app.go")
	original, err := os.ReadFile(app)
	if err != nil {
		return nil, err
	}
	const anchor = "\npackage app\n"
	if !bytes.Contains(original, []byte(anchor)) {
		return nil, fmt.Errorf("bench: %s has no %q line to change", app, strings.TrimSpace(anchor))
	}
	edits := 0
	oneLineChange := func(int) error {
		edits++
		line := fmt.Sprintf("\n// One-line change %d of paved's bench.%s", edits, anchor)
		return os.WriteFile(app, bytes.Replace(original, []byte(anchor), []byte(line), 1), 0o644)
	}
	inRepo := func(name string, args ...string) func(int) *exec.Cmd {
		return func(int) *exec.Cmd {
			cmd := command(env, name, args...)
			cmd.Dir = repo
			return cmd
		}
	}
	fmt.Println("bench: warming the generated repository's caches (go tool mage ci)")
	if _, err := timeRun(benchSide{name: "mage ci", cmd: inRepo("go", "tool", "mage", "ci")}, 0); err != nil {
		return nil, err
	}
	ci := benchSide{name: "mage ci", prepare: oneLineChange, cmd: inRepo("go", "tool", "mage", "ci")}
	test := benchSide{name: "go test", prepare: oneLineChange, cmd: inRepo("go", "test", "-race", "-count=1", "./...")}
	res, err := paired(pairs, ci, test)
	if err != nil {
		return nil, err
	}
	return []benchRow{{name: "generated repo: mage ci vs go test -race", a: "go tool mage ci, after a one-line change", b: "go test -race -count=1 ./..., after one", res: res, goal: 2.0}}, nil
}

// writeForm writes a template of n files (a manifest asking Name, the
// rest .tmpl files in a few directories using .Module, .Name and sprig),
// as the floor renders it: default delimiters, no conditions or renames.
func writeForm(dir string, n int) error {
	files := map[string]string{"paved.yaml": "description: a form for paved's bench\nquestions:\n  - name: Name\n    type: string\n    default: bench\n"}
	for i := range n {
		var body strings.Builder
		fmt.Fprintf(&body, "# {{ .Name | title }}: file %d of the form\n\nmodule: {{ .Module }}\n", i)
		for j := range 30 {
			fmt.Fprintf(&body, "line %d: {{ .Name }}-%d {{ .Name | upper | quote }} {{ printf \"%%s/%%d\" .Module %d }}{{ if gt %d 15 }} late{{ end }}\n", j, j, j, j)
		}
		files[fmt.Sprintf("part%d/file%02d.txt.tmpl", i%6, i)] = body.String()
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeSynthModule publishes a module of n Go files in 6 packages, each
// importing the one before it, in a file:// GOPROXY layout at dir.
func writeSynthModule(dir, mod, version string, n int) error {
	src := filepath.Join(dir, "src")
	files := map[string]string{"go.mod": "module " + mod + "\n\ngo 1.22\n"}
	for i := range n {
		pkg := i % 6
		var body strings.Builder
		fmt.Fprintf(&body, "package p%d\n\n", pkg)
		if pkg > 0 {
			fmt.Fprintf(&body, "import prev %q\n\nvar _ = prev.F%d\n\n", fmt.Sprintf("%s/p%d", mod, pkg-1), i-1)
		}
		for j := range 20 {
			fmt.Fprintf(&body, "// F%d_%d returns its argument plus %d.\nfunc F%d_%d(x int) int { return x + %d }\n\n", i, j, j, i, j, j)
		}
		fmt.Fprintf(&body, "// F%d is the file's entry.\nfunc F%d() int { return F%d_0(1) }\n", i, i, i)
		files[fmt.Sprintf("p%d/f%02d.go", pkg, i)] = body.String()
	}
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	at := filepath.Join(dir, filepath.FromSlash(mod), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	var zip bytes.Buffer
	if err := modzip.CreateFromDir(&zip, module.Version{Path: mod, Version: version}, src); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		version + ".zip":  zip.Bytes(),
		version + ".mod":  []byte(files["go.mod"]),
		version + ".info": []byte(`{"Version":"` + version + `","Time":"2026-01-02T03:04:05Z"}`),
		"list":            []byte(version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sameTrees fails unless two directories hold the same files with the same
// contents, but for the names (at the root of a) in extra.
func sameTrees(a, b string, extra ...string) error {
	read := func(root string) (map[string]string, error) {
		files := map[string]string{}
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			data, err := os.ReadFile(p)
			files[filepath.ToSlash(rel)] = string(data)
			return err
		})
		return files, err
	}
	fa, err := read(a)
	if err != nil {
		return err
	}
	fb, err := read(b)
	if err != nil {
		return err
	}
	for _, e := range extra {
		delete(fa, e)
	}
	if len(fa) != len(fb) {
		return fmt.Errorf("%d files against %d", len(fa), len(fb))
	}
	for name, data := range fa {
		if fb[name] != data {
			return errors.New(name + " differs")
		}
	}
	return nil
}
