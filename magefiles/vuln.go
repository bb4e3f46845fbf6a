//go:build mage

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The vulnerability database govulncheck reads here: built from
// golang.org/x/vulndb at this pseudo-version (the one the generated
// repositories pin), since the machines that run CI reach the module proxy
// only. VULN_DB names another database (a directory or URL).
const (
	vulnDBModule  = "golang.org/x/vulndb"
	vulnDBVersion = "v0.0.0-20261105234957-e22db6528018"
)

// Vuln runs govulncheck (pinned in tools/vuln/go.mod) over paved's own code
// and dependencies (Helm, Kubernetes, BuildKit, Prometheus: large attack
// surfaces) and fails when the code calls a known vulnerability. A finding
// in the Go standard library fails too (install a newer Go), unless
// VULN_STDLIB=warn, as in the generated repositories' gate.
func Vuln() error {
	db := os.Getenv("VULN_DB")
	if db == "" {
		dir, err := offlineVulnDB()
		if err != nil {
			return fmt.Errorf("vuln: %w", err)
		}
		db = "file://" + dir
	}
	cmd := exec.Command("go", "tool", "-modfile=tools/vuln/go.mod", "govulncheck", "-db", db, "-format", "json", "./...")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("vuln: govulncheck could not run: %w", err)
	}
	stdlib, modules, err := calledVulns(out)
	if err != nil {
		return fmt.Errorf("vuln: %w", err)
	}
	for _, v := range append(modules, stdlib...) {
		fmt.Println("vuln:", v)
	}
	switch {
	case len(modules) > 0:
		return fmt.Errorf("vuln: paved calls %d known vulnerabilities in its dependencies; upgrade them (go get MODULE@FIXED)", len(modules))
	case len(stdlib) > 0 && os.Getenv("VULN_STDLIB") == "warn":
		fmt.Printf("vuln: WARNING: %d vulnerabilities of the Go standard library (%s) are reachable; install a newer Go\n", len(stdlib), runtime.Version())
	case len(stdlib) > 0:
		return fmt.Errorf("vuln: paved reaches %d vulnerabilities of the Go standard library in its Go; install a newer Go (VULN_STDLIB=warn reports without failing)", len(stdlib))
	default:
		fmt.Println("vuln: no known vulnerability is called")
	}
	return nil
}

// calledVulns reads govulncheck's JSON stream: the vulnerabilities the code
// calls (a trace ending in a function), split into the standard library's
// and the modules'.
func calledVulns(stream []byte) (stdlib, modules []string, err error) {
	type frame struct{ Module, Version, Package, Function, Receiver string }
	seen := map[string]bool{}
	dec := json.NewDecoder(strings.NewReader(string(stream)))
	for {
		var msg struct {
			Finding *struct {
				OSV          string
				FixedVersion string `json:"fixed_version"`
				Trace        []frame
			}
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return stdlib, modules, nil
		} else if err != nil {
			return nil, nil, fmt.Errorf("reading govulncheck's output: %w", err)
		}
		f := msg.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" || seen[f.OSV+" "+f.Trace[0].Module] {
			continue // not a finding, or a module only required, not called
		}
		top := f.Trace[0]
		seen[f.OSV+" "+top.Module] = true
		fixed := f.FixedVersion
		if fixed == "" {
			fixed = "no fix yet"
		}
		line := fmt.Sprintf("%s in %s@%s, calls %s.%s, fixed in %s", f.OSV, top.Module, top.Version, top.Package, top.Function, fixed)
		if top.Module == "stdlib" {
			stdlib = append(stdlib, line)
		} else {
			modules = append(modules, line)
		}
	}
}

// offlineVulnDB builds the database from golang.org/x/vulndb at the pinned
// version once, into the user cache, and returns its directory.
func offlineVulnDB() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "govulncheck-db", vulnDBVersion)
	if _, err := os.Stat(filepath.Join(dir, "index", "db.json")); err == nil {
		return dir, nil
	}
	fmt.Printf("vuln: building the vulnerability database of %s@%s in %s (once per version)\n", vulnDBModule, vulnDBVersion, dir)
	out, err := exec.Command("go", "mod", "download", "-json", vulnDBModule+"@"+vulnDBVersion).Output()
	if err != nil {
		return "", fmt.Errorf("downloading %s@%s: %w", vulnDBModule, vulnDBVersion, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download gave no directory for %s", vulnDBModule)
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	build := exec.Command("go", "run", vulnDBModule+"/cmd/indexdb@"+vulnDBVersion, "-vulns", filepath.Join(mod.Dir, "data", "osv"), "-out", tmp)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building the database with %s/cmd/indexdb: %w", vulnDBModule, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	return dir, os.Rename(tmp, dir)
}
