package templates_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates/templatetest"
)

// TestTemplateTemplate makes a template repository with the built-in
// `template` template (as embedded) and proves its first template: check
// is clean and test passes, golden tree and commands (go vet, go build;
// not in -short); a one-byte change in a rendered file fails naming it.
func TestTemplateTemplate(t *testing.T) {
	for _, name := range []string{"hello", "greeter"} {
		t.Run(name, func(t *testing.T) {
			c := templatetest.Case{Module: "example.com/acme/templates", Set: []string{"Name=" + name}}
			_, files, err := templatetest.RenderCase(t.Context(), "template", "template", c, "v1.4.0")
			if err != nil {
				t.Fatal(err)
			}
			repo := filepath.Join(t.TempDir(), "templates")
			if err := scaffold.WriteTree(t.Context(), repo, files); err != nil {
				t.Fatal(err)
			}
			gomod, _ := os.ReadFile(filepath.Join(repo, "tools", "paved", "go.mod"))
			if !strings.Contains(string(gomod), "require github.com/paved-dev/paved v1.4.0\n") || !strings.Contains(string(gomod), "tool (\n\tgithub.com/paved-dev/paved/cmd/paved\n\tgithub.com/paved-dev/paved/cmd/paved-verify\n)") {
				t.Errorf("tools/paved/go.mod does not pin paved v1.4.0 as the contract says:\n%s", gomod)
			}
			dir := filepath.Join(repo, name)
			findings, err := scaffold.CheckTemplate(t.Context(), os.DirFS(dir))
			if err != nil || len(findings) > 0 {
				t.Fatalf("paved template check %s: %v %v", name, err, findings)
			}
			tt, err := scaffold.OpenTemplateTest(t.Context(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if testing.Short() {
				for i := range tt.Cases.Cases {
					tt.Cases.Cases[i].Commands = nil
				}
			}
			failures := func() []string {
				results, err := scaffold.RunTemplateTest(t.Context(), tt)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, r := range results {
					for _, g := range r.Gates {
						if g.Err != nil {
							out = append(out, r.Case.Name+": "+g.Name+": "+g.Err.Error()+"\n"+g.Detail)
						}
					}
				}
				return out
			}
			if f := failures(); len(f) > 0 {
				t.Fatalf("paved template test %s:\n%s", name, strings.Join(f, "\n"))
			}
			// A one-byte change in a rendered file fails, naming it.
			mainTmpl := filepath.Join(dir, "main.go.tmpl")
			data, _ := os.ReadFile(mainTmpl)
			if err := os.WriteFile(mainTmpl, []byte(strings.Replace(string(data), "fmt.Println", "fmt.Print", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			f := failures()
			if len(f) != 1 || !strings.Contains(f[0], "golden: differs from") || !strings.Contains(f[0], "main.go differs from its golden file") {
				t.Errorf("after a change in main.go.tmpl: %q", f)
			}
			// -update takes the change; then the test passes again.
			tt.Update = true
			if f := failures(); len(f) > 0 {
				t.Fatalf("-update: %q", f)
			}
			tt.Update = false
			if f := failures(); len(f) > 0 {
				t.Errorf("after -update: %q", f)
			}
		})
	}
}
