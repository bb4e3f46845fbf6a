package templates_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aymanbagabas/go-udiff"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates"
)

// goldenVersion stands in for paved's version, so golden files do not
// change with every commit.
const goldenVersion = "v0.0.0-golden"

// renderCase renders the template directory as the embedded zip would hold it.
func renderCase(t *testing.T, name string, c templates.Case) []scaffold.File {
	t.Helper()
	_, files, err := templates.RenderCase(t.Context(), name, name, c, goldenVersion)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGolden compares the rendered built-in template with
// testdata/golden/<case>, byte for byte; -update rewrites them.
func TestGolden(t *testing.T) {
	for _, c := range templates.ServiceCases {
		t.Run(c.Name, func(t *testing.T) {
			files := renderCase(t, "service", c)
			dir := filepath.Join("..", "testdata", "golden", c.Name)
			if *templates.UpdateFlag {
				writeGolden(t, dir, files)
				return
			}
			want := readGolden(t, dir)
			got := map[string]string{}
			for _, f := range files {
				got[f.Path] = string(f.Data)
			}
			var names []string
			for name := range want {
				names = append(names, name)
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			for _, name := range names {
				w, inWant := want[name]
				g, inGot := got[name]
				switch {
				case !inWant:
					t.Errorf("%s: rendered but not in the golden files", name)
				case !inGot:
					t.Errorf("%s: in the golden files but no longer rendered", name)
				case w != g:
					t.Errorf("%s differs from its golden file (-golden +rendered):\n%s", name, udiff.Unified("golden/"+name, "rendered/"+name, w, g))
				}
			}
			if t.Failed() {
				t.Log("if the change is intended: go test ./templates -run TestGolden -update (or go tool mage golden)")
			}
		})
	}
}

func writeGolden(t *testing.T, dir string, files []scaffold.File) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readGolden(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatalf("reading golden files: %v (create them with -update)", err)
	}
	return out
}
