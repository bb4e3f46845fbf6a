package scaffold_test

import (
	"testing"
	"testing/fstest"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestPavedCheckout: the checkout a development build came from reaches the
// built-in templates it carries as .Paved.Checkout, and no other template.
func TestPavedCheckout(t *testing.T) {
	files := fstest.MapFS{
		"paved.yaml":   {Data: []byte("description: x\n")},
		"pin.txt.tmpl": {Data: []byte("[{{ .Paved.Checkout }}]")},
	}
	dir := t.TempDir()
	scaffoldtest.WriteTree(t, dir, map[string]string{"paved.yaml": "description: x\n", "pin.txt.tmpl": "[{{ .Paved.Checkout }}]"})
	tests := []struct {
		name, spec, version, checkout, want string
	}{
		{"development build from a checkout", "service", "(devel)", "/src/paved", "[/src/paved]"},
		{"development build without one", "service", "(devel)", "", "[]"},
		{"a directory template", dir, "(devel)", "/src/paved", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &scaffold.Resolver{Builtins: scaffold.Builtins{"service": files}, BuiltinVersion: tt.version, BuiltinCheckout: tt.checkout}
			plan, err := scaffold.Prepare(t.Context(), r, tt.spec, "example.com/acme/x", tt.version, scaffold.AnswerInput{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := plan.Render(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := "(not rendered)"
			for _, f := range out {
				if f.Path == "pin.txt" {
					got = string(f.Data)
				}
			}
			if got != tt.want {
				t.Errorf("pin.txt = %q, want %q", got, tt.want)
			}
		})
	}
}
