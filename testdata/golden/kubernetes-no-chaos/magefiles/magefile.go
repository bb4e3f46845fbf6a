//go:build mage

// The build of this service. `go tool mage -l` lists the targets; `go tool
// mage` runs ci, every gate, independent ones in parallel (ci.go). Each
// target prints the commands it runs and fails with one line saying what
// failed, its gate first.
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

// Aliases: `mage lint` is the full lint, `mage repro` the warm repro.
var Aliases = map[string]any{
	"lint":  Lint.All,
	"repro": Repro.Warm,
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
	printf(ctx, "cover: total coverage %.1f%% (minimum %.1f%%); report in %s\n", total, minimum, coverHTML)
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

// Build builds each command under cmd/ into bin/ with the flags of the
// release build (builds[0] of .goreleaser.yaml: CGO_ENABLED=0, -trimpath,
// the version and commit linked in). GOOS and GOARCH are honoured (a cross
// build is named bin/NAME-GOOS-GOARCH). VERSION, COMMIT and COMMIT_DATE
// override what git says.
func Build(ctx context.Context) error {
	rb, err := readReleaseBuild(goreleaserConfig)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	ldflags, err := rb.ldflags(stamp(ctx).vars())
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	mains, err := output(ctx, "go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./cmd/...")
	if err != nil {
		return fmt.Errorf("build: cannot list the commands: %w", err)
	}
	goos, goarch := goEnv("GOOS", runtime.GOOS), goEnv("GOARCH", runtime.GOARCH)
	var written int
	for pkg := range strings.FieldsSeq(mains) {
		name := pkg[strings.LastIndex(pkg, "/")+1:]
		if goos != runtime.GOOS || goarch != runtime.GOARCH {
			name += "-" + goos + "-" + goarch
		}
		out := filepath.Join(binDir, name)
		args := append(append([]string{"build"}, rb.goFlags()...), "-ldflags="+ldflags, "-o", out, pkg)
		if err := runIn(ctx, "", rb.Env, "go", args...); err != nil {
			return fmt.Errorf("build: %s: %w", pkg, err)
		}
		printf(ctx, "build: wrote %s\n", out)
		written++
	}
	if written == 0 {
		return errors.New("build: no main package under cmd/")
	}
	return nil
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

// vars are the stamps as GoReleaser's template variables.
func (s stamps) vars() map[string]string {
	short := s.commit
	if len(short) > 7 {
		short = short[:7]
	}
	return map[string]string{
		"Version": s.version, "Tag": s.version, "FullCommit": s.commit, "Commit": s.commit,
		"ShortCommit": short, "CommitDate": s.date,
	}
}

func goEnv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
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
	if err := pavedPinned(ctx, "tools/paved/go.mod"); err != nil {
		return fmt.Errorf("deps: %w", err)
	}
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
		printf(ctx, "vuln: vuln.go.dev unreachable; using the offline database of %s@%s\n", vulnDBModule, vulnDBVersion)
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
		printf(ctx, "vuln: %s\n", v)
	}
	switch {
	case len(modules) > 0:
		return fmt.Errorf("vuln: the code calls %d known vulnerabilities in its dependencies; upgrade them (go get MODULE@FIXED)", len(modules))
	case len(stdlib) > 0 && os.Getenv("VULN_STDLIB") == "warn":
		printf(ctx, "vuln: WARNING: %d vulnerabilities of the Go standard library (%s) are reachable; install a newer Go\n", len(stdlib), runtime.Version())
	case len(stdlib) > 0:
		return fmt.Errorf("vuln: the code reaches %d vulnerabilities of the Go standard library in %s; install a newer Go (VULN_STDLIB=warn reports without failing)", len(stdlib), runtime.Version())
	default:
		printf(ctx, "vuln: no known vulnerability is called\n")
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
	if err := pavedPinned(ctx, "tools/paved/go.mod"); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	verifier, err := pinnedVerifier(ctx, 2*time.Second, 15*time.Second)
	if err != nil {
		return fmt.Errorf("verify: cannot build paved-verify as pinned in tools/paved/go.mod: %w", err)
	}
	env := []string{"PAVED_VERIFY=" + verifier}
	if err := runIn(ctx, "", env, "go", "tool", pavedModfile, "paved", "verify", "."); err != nil {
		return fmt.Errorf("verify: paved verify found problems: %w", err)
	}
	return nil
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
	printf(ctx, "docker: built %s\n", tag)
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
