//go:build mage

// paved's own build. `go tool mage ci` is the gate CI runs.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
	"golang.org/x/mod/modfile"
)

var Default = CI

// CI runs every gate in order and stops at the first failure.
func CI() error {
	gates := []struct {
		name string
		run  func() error
	}{
		{"fmt", Fmt},
		{"vet", Vet},
		{"templates", TemplatesFresh},
		{"lint", Lint},
		{"test", Test},
		{"verify", Verify},
		{"vuln", Vuln},
		{"repro", Repro},
	}
	type result struct {
		name, status string
		took         time.Duration
	}
	var results []result
	defer func() {
		fmt.Println("\ngate        result  time")
		for _, r := range results {
			fmt.Printf("%-11s %-7s %s\n", r.name, r.status, r.took.Round(time.Millisecond))
		}
	}()
	for _, g := range gates {
		fmt.Printf("==> %s\n", g.name)
		start := time.Now()
		err := g.run()
		status := "ok"
		if err != nil {
			status = "FAIL"
		}
		results = append(results, result{g.name, status, time.Since(start)})
		if err != nil {
			return fmt.Errorf("gate %s failed: %w", g.name, err)
		}
	}
	return nil
}

// Fmt fails when gofmt would change a file, listing the files.
func Fmt() error {
	fmt.Println("gofmt -l .")
	out, err := sh.Output("gofmt", "-l", ".")
	if err != nil {
		return err
	}
	var bad []string
	for _, f := range strings.Fields(out) {
		if !strings.HasPrefix(filepath.ToSlash(f), "testdata/") {
			bad = append(bad, f)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("gofmt would reformat: %s (run gofmt -w)", strings.Join(bad, " "))
	}
	return nil
}

// Vet runs go vet on paved and on its magefiles.
func Vet() error {
	if err := sh.RunV("go", "vet", "./..."); err != nil {
		return err
	}
	return sh.RunV("go", "vet", "-tags", "mage", "./magefiles/...")
}

// TemplatesFresh fails when an embedded template zip is older than its directory.
func TemplatesFresh() error {
	return sh.RunV("go", "test", "-count=1", "-run", "TestEmbeddedZipsFresh", "./templates")
}

// Templates regenerates the embedded template zips.
func Templates() error {
	return sh.RunV("go", "generate", "./templates")
}

// Lint runs golangci-lint v2 at the version pinned in tools/go.mod.
func Lint() error {
	bin, err := golangciLint()
	if err != nil {
		return err
	}
	return sh.RunV(bin, "run", "./...")
}

// Test runs all tests with the race detector, end-to-end tests included.
func Test() error {
	// The end-to-end tests run every generated repository's mage ci: far
	// longer than go test's default ten-minute limit.
	return sh.RunV("go", "test", "-race", "-count=1", "-timeout", "75m", "./...")
}

// Verify runs paved verify on paved's own repository: its workflows,
// dependabot, golangci-lint and goreleaser configurations.
func Verify() error {
	return sh.RunV("go", "run", "./cmd/paved", "verify", ".")
}

// APIServer applies every generated chart and custom resource to a real
// kube-apiserver (built once per version into the user cache; the first
// build takes about 20 minutes), compares its verdicts with paved
// verify's on the corpus in testdata/apiserver, and installs and upgrades
// the chart with Helm while playing the Argo Rollouts controller
// (TestAPIServerTraffic: who owns the canary's weights).
func APIServer() error {
	if err := sh.RunV("go", "-C", "tools/kube", "run", "./kubetools", "binaries"); err != nil {
		return err
	}
	return sh.RunV("go", "test", "-tags", "apiserver", "-run", "^TestAPIServer(Traffic)?$", "-count=1", "-timeout", "30m", "-v", "./scaffold/verify/")
}

// Short runs the quick tests only.
func Short() error {
	return sh.RunV("go", "test", "-short", "./...")
}

// Golden rewrites golden files and embedded templates from the current code.
func Golden() error {
	mg.SerialDeps(Templates)
	return sh.RunV("go", "test", "./templates", "-run", "Golden|TestEmbeddedZipsFresh", "-update")
}

// Benchmarks runs paved's Go benchmarks in a benchstat-friendly form.
func Benchmarks() error {
	return sh.RunV("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "5", "./...")
}

// Install installs paved into GOBIN.
func Install() error {
	return sh.RunV("go", "install", "./cmd/...")
}

// golangciLint builds golangci-lint once per version and Go version into the
// user cache, so that CI pays its ten-minute compile only when tools/go.mod
// or the Go version changes.
func golangciLint() (string, error) {
	const mod = "github.com/golangci/golangci-lint/v2"
	data, err := os.ReadFile("tools/go.mod")
	if err != nil {
		return "", err
	}
	f, err := modfile.ParseLax("tools/go.mod", data, nil)
	if err != nil {
		return "", err
	}
	version := ""
	for _, r := range f.Require {
		if r.Mod.Path == mod {
			version = r.Mod.Version
		}
	}
	if version == "" {
		return "", errors.New("tools/go.mod does not require " + mod)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	// golangci-lint type-checks the standard library of the Go that runs it:
	// one built by an older Go fails on a newer Go's sources.
	goVersion, err := sh.Output("go", "env", "GOVERSION")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "paved-tools", "golangci-lint-"+version+"-"+goVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	fmt.Printf("building golangci-lint %s into %s (once per version)\n", version, bin)
	cmd := exec.Command("go", "build", "-o", bin, mod+"/cmd/golangci-lint")
	cmd.Dir = "tools"
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building golangci-lint %s: %w", version, err)
	}
	return bin, nil
}
