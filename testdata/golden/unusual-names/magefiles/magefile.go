//go:build mage

// The build of this service. `go tool mage -l` lists the targets; `go tool
// mage` runs ci, every gate in order. Each target prints the commands it
// runs and fails with one line saying what failed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/magefile/mage/mg"
)

// Pinned versions. Dependabot bumps the tools in tools/go.mod,
// tools/goreleaser/go.mod and tools/paved/go.mod; bump the vulnerability
// database here (a pseudo-version of golang.org/x/vulndb).
const (
	vulnDBModule   = "golang.org/x/vulndb"
	vulnDBVersion  = "v0.0.0-20261105234957-e22db6528018"
	vulnOnlineURL  = "https://vuln.go.dev/index/db.json"
	toolsModfile   = "-modfile=tools/go.mod"
	releaseModfile = "-modfile=tools/goreleaser/go.mod"
	pavedModfile   = "-modfile=tools/paved/go.mod"
	coverProfile   = "coverage.out"
	coverHTML      = "coverage.html"
	binDir         = "bin"
)

// Default runs every gate.
var Default = CI

// Aliases: `mage lint` is the full lint.
var Aliases = map[string]any{
	"lint": Lint.All,
}

// Lint runs golangci-lint (pinned in tools/go.mod).
type Lint mg.Namespace

// Fmt fails when a Go file is not gofmt-formatted, listing the files.
func Fmt(ctx context.Context) error {
	out, err := output(ctx, "gofmt", "-l", ".")
	if err != nil {
		return fmt.Errorf("fmt: gofmt failed: %w", err)
	}
	if files := strings.Fields(out); len(files) > 0 {
		return fmt.Errorf("fmt: %d file(s) need gofmt -w: %s", len(files), strings.Join(files, " "))
	}
	return nil
}

// Vet runs go vet on the service and on these magefiles.
func Vet(ctx context.Context) error {
	if err := run(ctx, "go", "vet", "./..."); err != nil {
		return fmt.Errorf("vet: %w", err)
	}
	if err := run(ctx, "go", "vet", "-tags", "mage", "./magefiles"); err != nil {
		return fmt.Errorf("vet (magefiles): %w", err)
	}
	return nil
}

// All checks .golangci.yml against the schema, then runs the full linter set.
func (Lint) All(ctx context.Context) error {
	return lint(ctx, ".golangci.yml")
}

// PR runs the fast tier (.golangci.pr.yml); with LINT_BASE=origin/main it
// reports only issues new since the merge base with that ref.
func (Lint) PR(ctx context.Context) error {
	var extra []string
	if base := os.Getenv("LINT_BASE"); base != "" {
		extra = append(extra, "--new-from-merge-base="+base)
	}
	return lint(ctx, ".golangci.pr.yml", extra...)
}

func lint(ctx context.Context, config string, extra ...string) error {
	if err := run(ctx, "go", "tool", toolsModfile, "golangci-lint", "config", "verify", "--config", config); err != nil {
		return fmt.Errorf("lint: %s does not match the golangci-lint schema: %w", config, err)
	}
	args := append([]string{"tool", toolsModfile, "golangci-lint", "run", "--config", config}, extra...)
	if err := run(ctx, "go", append(args, "./...")...); err != nil {
		return fmt.Errorf("lint: golangci-lint found issues (%s): %w", config, err)
	}
	return nil
}

// testRan records that the tests ran in this mage process, so cover after
// test (as in ci) does not run them again.
var testRan bool

// Test runs the tests with the race detector and writes coverage.out.
func Test(ctx context.Context) error {
	testRan = true
	err := run(ctx, "go", "test", "-race", "-shuffle=on", "-covermode=atomic", "-coverprofile="+coverProfile, "./...")
	if err != nil {
		return fmt.Errorf("test: tests failed: %w", err)
	}
	return nil
}

// Cover fails when statement coverage is below COVER_MIN percent (default
// set at generation) and writes coverage.html. It runs the tests first unless
// they ran already.
func Cover(ctx context.Context) error {
	if !testRan {
		if err := Test(ctx); err != nil {
			return err
		}
	}
	minimum := float64(defaultCoverMin)
	if v := os.Getenv("COVER_MIN"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 100 {
			return fmt.Errorf("cover: COVER_MIN=%q is not a percentage from 0 to 100", v)
		}
		minimum = f
	}
	if err := run(ctx, "go", "tool", "cover", "-html="+coverProfile, "-o", coverHTML); err != nil {
		return fmt.Errorf("cover: cannot write %s: %w", coverHTML, err)
	}
	out, err := output(ctx, "go", "tool", "cover", "-func="+coverProfile)
	if err != nil {
		return fmt.Errorf("cover: cannot read %s: %w", coverProfile, err)
	}
	total, err := totalCoverage(out)
	if err != nil {
		return fmt.Errorf("cover: %w", err)
	}
	if total < minimum {
		return fmt.Errorf("cover: total coverage %.1f%% is below the %.1f%% minimum (COVER_MIN); see %s", total, minimum, coverHTML)
	}
	fmt.Printf("cover: total coverage %.1f%% (minimum %.1f%%); report in %s\n", total, minimum, coverHTML)
	return nil
}

// totalCoverage reads the "total:" line of `go tool cover -func`.
func totalCoverage(funcOutput string) (float64, error) {
	for line := range strings.Lines(funcOutput) {
		fields := strings.Fields(line)
		if len(fields) == 3 && fields[0] == "total:" {
			return strconv.ParseFloat(strings.TrimSuffix(fields[2], "%"), 64)
		}
	}
	return 0, errors.New("no total line in the coverage report")
}

// Build builds each command under cmd/ into bin/ with CGO_ENABLED=0,
// -trimpath and the version and build id stamped in. GOOS and GOARCH are
// honoured (a cross build is named bin/NAME-GOOS-GOARCH). VERSION, COMMIT,
// COMMIT_DATE and BUILD_ID override what git says.
func Build(ctx context.Context) error {
	bins, err := build(ctx, ".", binDir, nil)
	if err != nil {
		return err
	}
	for _, b := range bins {
		fmt.Println("build: wrote", b)
	}
	return nil
}

// build builds every main package under dir/cmd into dir/outDir and returns
// the paths written.
func build(ctx context.Context, dir, outDir string, env []string) ([]string, error) {
	module, err := outputIn(ctx, dir, env, "go", "list", "-m")
	if err != nil {
		return nil, fmt.Errorf("build: cannot read the module path: %w", err)
	}
	module = strings.TrimSpace(module)
	mains, err := outputIn(ctx, dir, env, "go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./cmd/...")
	if err != nil {
		return nil, fmt.Errorf("build: cannot list the commands: %w", err)
	}
	ldflags := stamp(ctx).ldflags(module)
	goos, goarch := goEnv("GOOS", runtime.GOOS), goEnv("GOARCH", runtime.GOARCH)
	env = append([]string{"CGO_ENABLED=0"}, env...)
	var written []string
	for pkg := range strings.FieldsSeq(mains) {
		name := pkg[strings.LastIndex(pkg, "/")+1:]
		if goos != runtime.GOOS || goarch != runtime.GOARCH {
			name += "-" + goos + "-" + goarch
		}
		out := filepath.Join(outDir, name)
		if err := runIn(ctx, dir, env, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, pkg); err != nil {
			return nil, fmt.Errorf("build: %s: %w", pkg, err)
		}
		written = append(written, filepath.Join(dir, out))
	}
	if len(written) == 0 {
		return nil, errors.New("build: no main package under cmd/")
	}
	return written, nil
}

// stamps is what a build links in.
type stamps struct{ version, commit, date, buildID string }

// stamp reads $VERSION, $COMMIT, $COMMIT_DATE and $BUILD_ID, else asks git
// (describe, HEAD, its commit date; the build id defaults to the commit),
// else uses dev and unknown. Nothing depends on the clock, so builds repeat.
func stamp(ctx context.Context) stamps {
	git := func(fallback string, args ...string) string {
		if out, err := quietOutput(ctx, "git", args...); err == nil && out != "" {
			return out
		}
		return fallback
	}
	s := stamps{os.Getenv("VERSION"), os.Getenv("COMMIT"), os.Getenv("COMMIT_DATE"), os.Getenv("BUILD_ID")}
	if s.version == "" {
		s.version = git("dev", "describe", "--tags", "--always", "--dirty")
	}
	if s.commit == "" {
		s.commit = git("unknown", "rev-parse", "HEAD")
	}
	if s.date == "" {
		s.date = git("unknown", "log", "-1", "--format=%cI")
	}
	if s.buildID == "" {
		s.buildID = s.commit
	}
	return s
}

// ldflags strips the binary and links the stamps into internal/buildinfo.
func (s stamps) ldflags(module string) string {
	pkg := module + "/internal/buildinfo."
	return fmt.Sprintf("-s -w -X %[1]sVersion=%[2]s -X %[1]sCommit=%[3]s -X %[1]sDate=%[4]s -X %[1]sBuildID=%[5]s",
		pkg, s.version, s.commit, s.date, s.buildID)
}

func goEnv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// Repro builds twice, from copies of the source in two directories with two
// empty build caches, and fails unless the binaries are identical.
func Repro(ctx context.Context) error {
	first, err := reproBuild(ctx, 1)
	if err != nil {
		return err
	}
	second, err := reproBuild(ctx, 2)
	if err != nil {
		return err
	}
	if first != second {
		return fmt.Errorf("repro: the two builds differ: sha256 %s (build 1) vs %s (build 2)", first, second)
	}
	fmt.Printf("repro: both builds identical, sha256 %s\n", first)
	return nil
}

// reproBuild copies the source to a new directory and builds it there with
// an empty GOCACHE, returning the sha256 of the result.
func reproBuild(ctx context.Context, n int) (string, error) {
	tmp, err := os.MkdirTemp("", "repro-")
	if err != nil {
		return "", fmt.Errorf("repro: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	src := filepath.Join(tmp, fmt.Sprintf("src%d", n))
	if cpErr := copyTree(".", src); cpErr != nil {
		return "", fmt.Errorf("repro: copy the source: %w", cpErr)
	}
	fmt.Printf("repro: build %d in %s with an empty GOCACHE\n", n, src)
	bins, err := build(ctx, src, binDir, []string{"GOCACHE=" + filepath.Join(tmp, "gocache")})
	if err != nil {
		return "", fmt.Errorf("repro: %w", err)
	}
	sum, err := sha256Files(bins)
	if err != nil {
		return "", fmt.Errorf("repro: %w", err)
	}
	fmt.Printf("repro: build %d sha256 %s\n", n, sum)
	return sum, nil
}

// Deps checks the module cache against go.sum and that go.mod and go.sum
// (also tools/go.mod and tools/paved/go.mod) are tidy.
func Deps(ctx context.Context) error {
	if err := run(ctx, "go", "mod", "verify"); err != nil {
		return fmt.Errorf("deps: downloaded modules do not match go.sum: %w", err)
	}
	if err := run(ctx, "go", "mod", "tidy", "-diff"); err != nil {
		return fmt.Errorf("deps: go.mod/go.sum are not tidy; run go mod tidy: %w", err)
	}
	// tools/goreleaser is left to `mage release`: tidying it means
	// downloading all of goreleaser's modules.
	for _, dir := range []string{"tools", "tools/paved"} {
		if err := runIn(ctx, dir, nil, "go", "mod", "tidy", "-diff"); err != nil {
			return fmt.Errorf("deps: %s/go.mod is not tidy; run go -C %s mod tidy: %w", dir, dir, err)
		}
	}
	return nil
}

// Vuln runs govulncheck (pinned in tools/go.mod) and fails when the code
// calls a known vulnerability. When vuln.go.dev cannot be reached it uses a
// database built from golang.org/x/vulndb at the pinned version, cached in
// the user cache directory; VULN_DB names another one. Vulnerabilities of
// the Go standard library are fixed by a newer Go: VULN_STDLIB=warn reports
// them without failing, for machines that cannot upgrade yet.
func Vuln(ctx context.Context) error {
	db := os.Getenv("VULN_DB")
	if db == "" && !reachable(ctx, vulnOnlineURL) {
		dir, err := offlineVulnDB(ctx)
		if err != nil {
			return fmt.Errorf("vuln: %w", err)
		}
		db = "file://" + filepath.ToSlash(dir)
		fmt.Printf("vuln: vuln.go.dev unreachable; using the offline database of %s@%s\n", vulnDBModule, vulnDBVersion)
	}
	args := []string{"tool", toolsModfile, "govulncheck", "-format", "json"}
	if db != "" {
		args = append(args, "-db", db)
	}
	out, err := output(ctx, "go", append(args, "./...")...)
	if err != nil {
		return fmt.Errorf("vuln: govulncheck could not run: %w", err)
	}
	stdlib, modules, err := calledVulns(out)
	if err != nil {
		return fmt.Errorf("vuln: %w", err)
	}
	for _, v := range append(stdlib, modules...) {
		fmt.Println("vuln:", v)
	}
	switch {
	case len(modules) > 0:
		return fmt.Errorf("vuln: the code calls %d known vulnerabilities in its dependencies; upgrade them (go get MODULE@FIXED)", len(modules))
	case len(stdlib) > 0 && os.Getenv("VULN_STDLIB") == "warn":
		fmt.Printf("vuln: WARNING: %d vulnerabilities of the Go standard library (%s) are reachable; install a newer Go\n", len(stdlib), runtime.Version())
	case len(stdlib) > 0:
		return fmt.Errorf("vuln: the code reaches %d vulnerabilities of the Go standard library in %s; install a newer Go (VULN_STDLIB=warn reports without failing)", len(stdlib), runtime.Version())
	default:
		fmt.Println("vuln: no known vulnerability is called")
	}
	return nil
}

// calledVulns reads govulncheck's JSON stream and lists the vulnerabilities
// the code calls, split into standard library and modules, one line each.
func calledVulns(stream string) (stdlib, modules []string, err error) {
	type frame struct{ Module, Version, Package, Function, Receiver string }
	type finding struct {
		OSV          string
		FixedVersion string `json:"fixed_version"`
		Trace        []frame
	}
	seen := map[string]bool{}
	dec := json.NewDecoder(strings.NewReader(stream))
	for {
		var msg struct{ Finding *finding }
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("cannot read govulncheck output: %w", err)
		}
		f := msg.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" || seen[f.OSV+" "+f.Trace[0].Module] {
			continue // not a finding, or only imported/required, not called
		}
		top := f.Trace[0]
		seen[f.OSV+" "+top.Module] = true
		symbol := top.Package + "." + top.Function
		if top.Receiver != "" {
			symbol = top.Package + "." + top.Receiver + "." + top.Function
		}
		fixed := f.FixedVersion
		if fixed == "" {
			fixed = "no fix yet"
		}
		line := fmt.Sprintf("%s in %s@%s, calls %s, fixed in %s", f.OSV, top.Module, top.Version, symbol, fixed)
		if top.Module == "stdlib" {
			stdlib = append(stdlib, line)
		} else {
			modules = append(modules, line)
		}
	}
	return stdlib, modules, nil
}

// Verify runs `paved verify .`, every offline validator of workflows,
// Dockerfile, chart, Istio, Chaos Mesh, SLO rules, dependabot and goreleaser,
// with the paved pinned in tools/paved/go.mod: the go command builds paved
// and its verifier from that module (checked against tools/paved/go.sum)
// and caches both, so nothing needs installing and PATH is not consulted.
func Verify(ctx context.Context) error {
	if err := pavedPinned("tools/paved/go.mod"); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	// `go tool -n` builds the tool and prints where the binary is; paved
	// runs that verifier instead of looking for one beside itself.
	verifier, err := output(ctx, "go", "tool", pavedModfile, "-n", "paved-verify")
	if err != nil {
		return fmt.Errorf("verify: cannot build paved-verify as pinned in tools/paved/go.mod: %w", err)
	}
	env := []string{"PAVED_VERIFY=" + strings.TrimSpace(verifier)}
	if err := runIn(ctx, "", env, "go", "tool", pavedModfile, "paved", "verify", "."); err != nil {
		return fmt.Errorf("verify: paved verify found problems: %w", err)
	}
	return nil
}

// pavedPinned fails, saying how to pin one, when the tools module declares
// no paved-verify tool (a development build of paved made the repository).
func pavedPinned(modfile string) error {
	data, err := os.ReadFile(modfile) //nolint:gosec // this repository's own go.mod
	if err != nil {
		return fmt.Errorf("no pinned paved: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		if code, _, _ := strings.Cut(line, "//"); strings.Contains(code, "github.com/paved-dev/paved/cmd/paved-verify") {
			return nil
		}
	}
	return fmt.Errorf("%s pins no paved (a development build of paved made this repository); pin a release: "+
		"go -C tools/paved get -tool github.com/paved-dev/paved/cmd/paved@VERSION github.com/paved-dev/paved/cmd/paved-verify@VERSION", modfile)
}

// Docker builds the container image NAME:VERSION from the Dockerfile when a
// Docker engine answers.
func Docker(ctx context.Context) error {
	if _, err := lookPath("docker"); err != nil {
		return errors.New("docker: no docker command on PATH; install Docker to build the image (the release workflow builds it too)")
	}
	infoCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := quietOutput(infoCtx, "docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
		return errors.New("docker: no Docker engine answers (docker info failed); start one, or set DOCKER_HOST")
	}
	mains, err := output(ctx, "go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./cmd/...")
	if err != nil || strings.TrimSpace(mains) == "" {
		return errors.New("docker: cannot find the command under cmd/")
	}
	pkg := strings.Fields(mains)[0]
	name := pkg[strings.LastIndex(pkg, "/")+1:]
	st := stamp(ctx)
	tag := name + ":" + strings.ReplaceAll(st.version, "+", "-")
	if err := run(ctx, "docker", "build", "--build-arg", "VERSION="+st.version, "--build-arg", "COMMIT="+st.commit,
		"--build-arg", "COMMIT_DATE="+st.date, "--build-arg", "BUILD_ID="+st.buildID, "-t", tag, "."); err != nil {
		return fmt.Errorf("docker: build failed: %w", err)
	}
	fmt.Println("docker: built", tag)
	return nil
}

// Release runs goreleaser (pinned in tools/goreleaser/go.mod) on the current
// tag; SNAPSHOT=1 builds a local snapshot without publishing.
func Release(ctx context.Context) error {
	args := []string{"tool", releaseModfile, "goreleaser", "release", "--clean"}
	if os.Getenv("SNAPSHOT") != "" {
		args = append(args, "--snapshot")
	}
	if err := run(ctx, "go", args...); err != nil {
		return fmt.Errorf("release: goreleaser failed: %w", err)
	}
	return nil
}

// CI runs every gate in order, stops at the first failure and prints a table
// of each gate's result and time: fmt, vet, lint, test, cover, build, repro,
// deps, vuln, verify.
func CI(ctx context.Context) error {
	gates := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"fmt", Fmt},
		{"vet", Vet},
		{"lint", Lint{}.All},
		{"test", Test},
		{"cover", Cover},
		{"build", Build},
		{"repro", Repro},
		{"deps", Deps},
		{"vuln", Vuln},
		{"verify", Verify},
	}
	results := make([]gateResult, 0, len(gates))
	start := time.Now()
	var failed error
	for _, g := range gates {
		if failed != nil {
			results = append(results, gateResult{name: g.name, status: "skipped"})
			continue
		}
		fmt.Printf("\n==> %s\n", g.name)
		t0 := time.Now()
		err := g.fn(ctx)
		r := gateResult{name: g.name, status: "ok", took: time.Since(t0)}
		if err != nil {
			r.status, failed = "FAILED", err
		}
		results = append(results, r)
	}
	printTable(results, time.Since(start))
	if failed != nil {
		return fmt.Errorf("ci: %w", failed)
	}
	return nil
}

type gateResult struct {
	name, status string
	took         time.Duration
}

func printTable(results []gateResult, total time.Duration) {
	fmt.Printf("\n%-8s %-8s %9s\n", "gate", "result", "time")
	for _, r := range results {
		took := "-"
		if r.status != "skipped" {
			took = r.took.Round(100 * time.Millisecond).String()
		}
		fmt.Printf("%-8s %-8s %9s\n", r.name, r.status, took)
	}
	fmt.Printf("%-8s %-8s %9s\n", "total", "", total.Round(100*time.Millisecond).String())
}
