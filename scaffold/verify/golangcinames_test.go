package verify

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// golangciVersion is the golangci-lint whose schema and names are embedded.
const golangciVersion = "v2.15.0"

// TestGolangciSchemaFresh: the embedded schema is the one of the
// golangci-lint that tools/go.mod pins (compared with the module's own
// file when the module is in the module cache).
func TestGolangciSchemaFresh(t *testing.T) {
	b, err := os.ReadFile("../../tools/go.mod")
	if err != nil {
		t.Skip("no tools/go.mod")
	}
	mf, err := modfile.Parse("tools/go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	pinned := ""
	for _, r := range mf.Require {
		if r.Mod.Path == "github.com/golangci/golangci-lint/v2" {
			pinned = r.Mod.Version
		}
	}
	if pinned != golangciVersion {
		t.Fatalf("tools/go.mod pins golangci-lint %s; the embedded schema is %s's: copy jsonschema/golangci.next.jsonschema.json of %s to schema/ and update golangciVersion", pinned, golangciVersion, pinned)
	}
	out, err := exec.CommandContext(t.Context(), "go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skip("no go env")
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "github.com/golangci/golangci-lint/v2@"+pinned, "jsonschema", "golangci.next.jsonschema.json")
	mod, err := os.ReadFile(src)
	if err != nil {
		t.Skipf("golangci-lint %s is not in the module cache", pinned)
	}
	if !bytes.Equal(mod, golangciSchema) {
		t.Fatalf("schema/golangci.%s.jsonschema.json differs from %s", golangciVersion, src)
	}
}

// TestGolangciNamesFresh: the embedded names are the ones the pinned
// golangci-lint knows, when that binary is built (go tool mage lint builds
// it into the user cache; $GOLANGCI_LINT names another).
func TestGolangciNamesFresh(t *testing.T) {
	bin := os.Getenv("GOLANGCI_LINT")
	if bin == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Skip("no user cache directory")
		}
		// Where go tool mage lint builds it, per Go version.
		bin = filepath.Join(cache, "paved-tools", "golangci-lint-"+golangciVersion+"-"+runtime.Version())
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("golangci-lint %s is not built (%s)", golangciVersion, bin)
	}
	got, err := GolangciNamesFile(t.Context(), bin)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != golangciNamesTxt {
		t.Fatalf("schema/golangci-names.txt is stale: go run ./scaffold/verify/internal/gengolangci %s > scaffold/verify/schema/golangci-names.txt", bin)
	}
}

func TestGolangciNames(t *testing.T) {
	linters, formatters := golangciNames()
	if slices.Contains(linters, "gosimple") || !slices.Contains(linters, "spancheck") {
		t.Errorf("gosimple (gone in v2) or spancheck (in v2.15.0) wrong in %v", linters)
	}
	for _, n := range []string{"errcheck", "govet", "gosec", "staticcheck", "bodyclose"} {
		if !slices.Contains(linters, n) {
			t.Errorf("linter %s missing from %d names", n, len(linters))
		}
	}
	if !slices.Contains(formatters, "gofumpt") || slices.Contains(linters, "gosecc") {
		t.Errorf("formatters %v", formatters)
	}
}
