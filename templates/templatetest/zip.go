// Package templatetest is the test support of the built-in templates: the
// zip builder (which the freshness test and -update use), the answer sets
// the golden, end-to-end and API-server tests share, and RenderCase.
package templatetest

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/paved-dev/paved/scaffold"
)

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
