package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cmdAPIServerMod writes apiserver/go.mod for a k8s.io/kubernetes release:
// kubernetes' go.mod replaces each staging module (k8s.io/api, ...) with
// ./staging/src/..., which a dependent module cannot use; the wrapper
// replaces each with its published v0.X.Y instead. Then go mod tidy.
func cmdAPIServerMod(version string) error {
	out, err := output("", "go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	var info struct{ GoMod, Error string }
	if jerr := json.Unmarshal([]byte(out), &info); jerr != nil && err == nil {
		err = jerr
	}
	if info.Error != "" {
		err = errors.New(info.Error)
	}
	if err != nil {
		return err
	}
	gomod, err := os.ReadFile(info.GoMod)
	if err != nil {
		return err
	}
	staging := "v0." + strings.TrimPrefix(version, "v1.")
	var b strings.Builder
	b.WriteString(`// Wrapper module that pins the kube-apiserver built for the apiserver test
// tier (scaffold/verify/apiserver_test.go). The replace block maps every
// staging module of k8s.io/kubernetes to its published version, as
// kubernetes' own go.mod maps them to ./staging. Regenerate with
// ` + "`go run ./kubetools apiserver-mod VERSION`" + ` in tools/kube.
module github.com/paved-dev/paved/tools/kube/apiserver

go 1.24.0

tool k8s.io/kubernetes/cmd/kube-apiserver

`)
	fmt.Fprintf(&b, "require k8s.io/kubernetes %s\n\nreplace (\n", version)
	n := 0
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[1] == "=>" && strings.HasPrefix(f[0], "k8s.io/") && strings.HasPrefix(f[2], "./staging/") {
			fmt.Fprintf(&b, "\t%s => %s %s\n", f[0], f[0], staging)
			n++
		}
	}
	b.WriteString(")\n")
	if n == 0 {
		return fmt.Errorf("k8s.io/kubernetes@%s: no ./staging replace directives in its go.mod", version)
	}
	if err := os.WriteFile(filepath.Join("apiserver", "go.mod"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join("apiserver", "go.sum")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	c := exec.Command("go", "mod", "tidy")
	c.Dir = "apiserver"
	c.Env = append(os.Environ(), "GOWORK=off")
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("go mod tidy: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kubetools: apiserver/go.mod now requires k8s.io/kubernetes %s with %d staging replacements; set KubeVersion = %q\n", version, n, version)
	return nil
}
