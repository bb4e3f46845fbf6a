package templates

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/paved-dev/paved/templates/templatetest"
)

// UpdateFlag is -update: rewrite the embedded template zips and the golden
// files. Exported for the external golden test, in this one test binary.
var UpdateFlag = flag.Bool("update", false, "rewrite embedded template zips and golden files")

// TestEmbeddedZipsFresh fails when a template directory changed but its
// embedded zip was not regenerated.
func TestEmbeddedZipsFresh(t *testing.T) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			want, err := templatetest.Zip(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(name + ".zip")
			if bytes.Equal(got, want) {
				return
			}
			if *UpdateFlag {
				if err := os.WriteFile(name+".zip", want, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Fatalf("templates/%s.zip is stale: run `go generate ./templates` (or `go tool mage templates`)", name)
		})
	}
}

func TestBuiltinsOpen(t *testing.T) {
	b, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		if _, err := b[name].Open("paved.yaml"); err != nil {
			t.Errorf("built-in %s has no paved.yaml: %v", name, err)
		}
	}
}
