// Package templates holds paved's built-in templates, as data: it embeds
// and lists them, and imports nothing of paved.
//
// Each built-in template is a directory here that is a working Go module
// (service/ builds, tests and lints in place). //go:embed cannot reach into a
// directory holding a go.mod, so the binary embeds a zip of each one, made by
// templatetest.Zip; a test fails when a zip is stale, and -update rewrites it:
//
//	go test ./templates -run TestEmbeddedZipsFresh -update
package templates

import (
	"archive/zip"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
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
