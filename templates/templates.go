// Package templates holds paved's built-in templates.
//
// Each built-in template is a directory here that is a working Go module
// (service/ builds, tests and lints in place). //go:embed cannot reach into a
// directory holding a go.mod, so the binary embeds a zip of each one, made by
// Zip; a test fails when a zip is stale, and -update rewrites it:
//
//	go test ./templates -run TestEmbeddedZipsFresh -update
package templates

import (
	"archive/zip"
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/paved-dev/paved/scaffold"
)

//go:generate go test -run TestEmbeddedZipsFresh -update .

// Names lists the built-in templates; the first is the default.
var Names = []string{"service", "template"}

// Module is the module whose releases carry the built-in templates: an
// older version of one is read back from that release's zip.
const Module = "github.com/paved-dev/paved"

// ZipPath is the path, in Module, of the zip of the built-in template name.
func ZipPath(name string) string { return "templates/" + name + ".zip" }

//go:embed *.zip
var zips embed.FS

// Builtins returns each built-in template's files by name.
func Builtins() (map[string]fs.FS, error) {
	out := map[string]fs.FS{}
	for _, name := range Names {
		data, err := zips.ReadFile(name + ".zip")
		if err != nil {
			return nil, err
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("built-in template %s: %w", name, err)
		}
		out[name] = zr
	}
	return out, nil
}

// Zip packs a template directory deterministically: files in path order,
// no timestamps, file modes kept. In a git checkout only the files git
// tracks or would track (.gitignore honoured) are packed, so build outputs
// and coverage reports in the directory never leak into the binary.
func Zip(ctx context.Context, dir string) ([]byte, error) {
	names, err := templateFiles(ctx, dir)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range names {
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: built-in templates hold regular files only", name)
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, err
		}
		mode := fs.FileMode(0o644)
		if fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		// Stored, not deflated: compress/flate's output changes between Go
		// releases, and the zip must be the same bytes whichever Go made it
		// (CI checks it is fresh).
		h := &zip.FileHeader{Name: name, Method: zip.Store}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// templateFiles lists the files of dir, slash-separated and sorted. The
// cases file of `paved template test` stays out: it is never rendered, so
// users would get nothing from it.
func templateFiles(ctx context.Context, dir string) ([]string, error) {
	names, err := scaffold.ListFiles(ctx, dir)
	return slices.DeleteFunc(names, func(name string) bool { return name == scaffold.TestsFileName }), err
}
