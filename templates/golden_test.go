package templates_test

import (
	"archive/zip"
	"bytes"
	"context"
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

// GoldenCase is one answer set of the built-in service template.
type GoldenCase struct {
	Name   string
	Module string
	Set    []string
}

// GoldenCases cover every question and every conditional file.
var GoldenCases = []GoldenCase{
	{Name: "defaults", Module: "example.com/acme/payments"},
	{Name: "no-kubernetes", Module: "example.com/acme/ledger", Set: []string{"Kubernetes=false"}},
	{Name: "kubernetes-no-chaos", Module: "github.com/acme/orders", Set: []string{"Chaos=false", "CanaryWeight=10", "SLOTarget=99.95", "Coverage=90"}},
	{Name: "unusual-names", Module: "example.com/acme/billing-api-gateway-for-eu2-region/v2",
		Set: []string{"Name=b2b-billing-api-gateway-for-eu2-region1", "Description=Billing API: \"quoted\" & <escaped>", "Registry=registry.example.com:5000/team-9/apps", "GitHubRepo=acme-9/billing.api"}},
}

// renderCase renders the template directory, as the embedded zip would hold it.
func renderCase(t *testing.T, name string, c GoldenCase) []scaffold.File {
	t.Helper()
	data, err := templates.Zip(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	r := &scaffold.Resolver{Builtins: scaffold.Builtins{name: zr}, BuiltinVersion: goldenVersion}
	plan, err := scaffold.Prepare(context.Background(), r, name, c.Module, goldenVersion, scaffold.AnswerInput{Set: c.Set})
	if err != nil {
		t.Fatal(err)
	}
	files, err := plan.Render(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGolden compares the rendered built-in template with
// testdata/golden/<case>, byte for byte; -update rewrites them.
func TestGolden(t *testing.T) {
	for _, c := range GoldenCases {
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
