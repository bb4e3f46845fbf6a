package templates_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates"
	"github.com/paved-dev/paved/templates/templatetest"
)

// builtinTest is `paved template test` of a built-in template as its
// embedded zip holds it (Zip's file selection), with the cases file of its
// directory: the code path the CLI runs, on what users get.
func builtinTest(t *testing.T, name string) *scaffold.TemplateTest {
	t.Helper()
	data, err := templatetest.Zip(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	tt, err := scaffold.OpenTemplateTest(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	tt.Template.FS = zr
	// The golden trees are paved's testdata, also when paved is not a git
	// checkout.
	if tt.GoldenRoot, err = filepath.Abs(".."); err != nil {
		t.Fatal(err)
	}
	return tt
}

// TestGolden renders every case of each built-in's paved-tests.yaml and
// compares it with testdata/golden/<case>, byte for byte; -update rewrites
// them. The cases' commands are TestServiceCaseCommands'.
func TestGolden(t *testing.T) {
	for _, name := range templates.Names {
		t.Run(name, func(t *testing.T) {
			tt := builtinTest(t, name)
			tt.Update = *templates.UpdateFlag
			for i := range tt.Cases.Cases {
				tt.Cases.Cases[i].Commands = nil
			}
			runTemplateTest(t, tt)
		})
	}
}

// TestServiceCaseCommands is `paved template test templates/service`:
// golden trees, then each case's commands (go vet, go test) in the
// rendered repository.
func TestServiceCaseCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests every case's repository")
	}
	runTemplateTest(t, builtinTest(t, "service"))
}

func runTemplateTest(t *testing.T, tt *scaffold.TemplateTest) {
	t.Helper()
	results, err := scaffold.RunTemplateTest(t.Context(), tt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		t.Run(r.Case.Name, func(t *testing.T) {
			for _, g := range r.Gates {
				if g.Err != nil {
					t.Errorf("%s: %v\n%s", g.Name, g.Err, g.Detail)
				}
			}
			if t.Failed() {
				t.Log("if the change is intended: go test ./templates -run TestGolden -update (or go tool mage golden)")
			}
		})
	}
}

// TestServiceCasesMatchFile keeps templatetest.ServiceCases (used by the
// end-to-end and API-server tests) the same as the cases file.
func TestServiceCasesMatchFile(t *testing.T) {
	tc, err := scaffold.ReadTestCases(os.DirFS("service"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Cases) != len(templatetest.ServiceCases) {
		t.Fatalf("%d cases in service/paved-tests.yaml, %d in ServiceCases", len(tc.Cases), len(templatetest.ServiceCases))
	}
	for i, c := range templatetest.ServiceCases {
		f := tc.Cases[i]
		if f.Name != c.Name || f.Module != c.Module || len(f.Answers) != len(c.Set) {
			t.Errorf("case %d: file has %s %s %v, ServiceCases %s %s %v", i, f.Name, f.Module, f.Answers, c.Name, c.Module, c.Set)
			continue
		}
		for _, kv := range c.Set {
			k, v, _ := strings.Cut(kv, "=")
			if got := fmt.Sprint(f.Answers[k]); got != v {
				t.Errorf("case %s: answer %s is %q in the file, %q in ServiceCases", c.Name, k, got, v)
			}
		}
	}
}

// TestGoldenDirOutsideTemplate: the service's golden trees are paved's
// testdata, never part of the template.
func TestGoldenDirOutsideTemplate(t *testing.T) {
	tt := builtinTest(t, "service")
	abs, _ := filepath.Abs(filepath.Join("..", "testdata", "golden"))
	if tt.GoldenDir != abs {
		t.Errorf("golden trees in %s, want %s", tt.GoldenDir, abs)
	}
}

// TestSameCodeCases: a case with SameCode renders the same files as the
// case it names, but for those only verify reads, so the end-to-end test
// may run only its verify gate.
func TestSameCodeCases(t *testing.T) {
	byName := map[string]templatetest.Case{}
	for _, c := range templatetest.ServiceCases {
		byName[c.Name] = c
	}
	render := func(c templatetest.Case) map[string]string {
		_, files, err := templatetest.RenderCase(t.Context(), "service", "service", c, "v0.0.0-golden")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, f := range files {
			if !templatetest.VerifyOnly(f.Path) {
				out[f.Path] = string(f.Data)
			}
		}
		return out
	}
	for _, c := range templatetest.ServiceCases {
		if c.SameCode == "" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			other, ok := byName[c.SameCode]
			if !ok || other.SameCode != "" {
				t.Fatalf("SameCode %q: no such case that runs every gate", c.SameCode)
			}
			got, want := render(c), render(other)
			for p, data := range want {
				if g, ok := got[p]; !ok {
					t.Errorf("%s renders %s, %s does not", other.Name, p, c.Name)
				} else if g != data {
					t.Errorf("%s differs between %s and %s, and gates other than verify read it", p, c.Name, other.Name)
				}
			}
			for p := range got {
				if _, ok := want[p]; !ok {
					t.Errorf("%s renders %s, %s does not", c.Name, p, other.Name)
				}
			}
		})
	}
}
