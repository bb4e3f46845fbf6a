package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/paved-dev/paved/templates"
)

// sourceCheckout is the checkout of paved this program was compiled from,
// when it still exists: the build recorded its source paths (no -trimpath)
// and they lie in a directory whose go.mod is paved's module, which is not
// the module cache's copy of a version (paved@VERSION), as `go install
// github.com/paved-dev/paved/cmd/paved@VERSION` compiles.
func sourceCheckout() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", false
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // cmd/paved/checkout.go
	if strings.HasPrefix(filepath.Base(root), "paved@") {
		return "", false
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || modfile.ModulePath(gomod) != templates.Module {
		return "", false
	}
	return root, true
}

// develCheckout is the checkout that the repositories this paved makes
// pin: a paved compiled from a checkout without a version set at link
// time (go run ./cmd/paved, go install ./cmd/...). A release build sets
// its version; so do the end-to-end tests, which pin what they publish.
func develCheckout() string {
	if version != "" {
		return ""
	}
	root, _ := sourceCheckout()
	return root
}

// sayCheckoutPin tells, once, at creation, that the new repository in dir
// runs paved from checkout, which only this machine has, and what to change
// before pushing it. It says nothing when the repository pins no checkout
// (a template other than the built-in ones, or a release of paved).
func sayCheckoutPin(stderr io.Writer, dir, checkout string) {
	if checkout == "" {
		return
	}
	path := filepath.Join(dir, "tools", "paved", "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		return
	}
	for _, r := range f.Replace {
		if r.Old.Path == templates.Module && r.New.Path == checkout {
			fmt.Fprintf(stderr, "paved: note: tools/paved/go.mod runs paved from this checkout, %s (a development build made the repository), "+
				"so its verify gate works on this machine only; before pushing it, pin a release: "+
				"go -C tools/paved mod edit -dropreplace=%[2]s && go -C tools/paved get -tool %[2]s/cmd/paved@VERSION %[2]s/cmd/paved-verify@VERSION\n",
				checkout, templates.Module)
			return
		}
	}
}
