package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSayCheckoutPin: paved new says once that the repository runs paved
// from this checkout, and how to pin a release, exactly when its
// tools/paved/go.mod replaces paved with that checkout.
func TestSayCheckoutPin(t *testing.T) {
	const pinned = "module x/tools/paved\n\nrequire github.com/paved-dev/paved v1.2.0\n"
	replaced := func(dir string) string {
		return "module x/tools/paved\n\nrequire github.com/paved-dev/paved v0.0.0-00010101000000-000000000000\n\nreplace github.com/paved-dev/paved => " + dir + "\n"
	}
	tests := []struct {
		name, checkout, gomod string
		want                  bool
	}{
		{"checkout pinned", "/src/paved", replaced(`"/src/paved"`), true},
		{"release pinned", "/src/paved", pinned, false},
		{"another checkout", "/src/paved", replaced("/elsewhere/paved"), false},
		{"a release of paved", "", replaced("/src/paved"), false},
		{"no tools module", "/src/paved", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.gomod != "" {
				if err := os.MkdirAll(filepath.Join(dir, "tools", "paved"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "tools", "paved", "go.mod"), []byte(tt.gomod), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			sayCheckoutPin(&out, dir, tt.checkout)
			said := out.String()
			if got := strings.Count(said, "runs paved from this checkout"); got != map[bool]int{true: 1, false: 0}[tt.want] {
				t.Fatalf("said %q", said)
			}
			if tt.want && !strings.Contains(said, "-dropreplace=github.com/paved-dev/paved && go -C tools/paved get -tool github.com/paved-dev/paved/cmd/paved@VERSION") {
				t.Errorf("says no fix: %q", said)
			}
		})
	}
}
