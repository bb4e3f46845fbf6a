// Command gencrd extracts the OpenAPI schemas of the CRDs that verify
// validates custom resources with (Argo Rollouts, Argo CD) from their Go
// module zips in the module cache, for scaffold/verify to embed:
//
//	go mod download -json github.com/argoproj/argo-rollouts@v1.10.2 github.com/argoproj/argo-cd/v3@v3.6.1
//	go run ./scaffold/verify/internal/gencrd scaffold/verify/schema
//
// (go mod download reports that those modules need a newer Go, and
// downloads their zips anyway.) The modules and versions are listed in
// scaffold/verify/crdschema.go.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/paved-dev/paved/scaffold/verify"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gencrd DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gencrd:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	modCache, err := exec.CommandContext(context.Background(), "go", "env", "GOMODCACHE").Output()
	if err != nil {
		return fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	files, err := verify.GenerateCRDSchemas(strings.TrimSpace(string(modCache)))
	if err != nil {
		return err
	}
	for name, b := range files {
		// name is one of crdModules' Out names, not input.
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil { //nolint:gosec // as above
			return err
		}
	}
	return nil
}
