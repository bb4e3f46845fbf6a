package scaffold_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates"
)

// BenchmarkNewBuiltin renders the built-in service template with defaults
// and writes it into a fresh directory, without tasks.
func BenchmarkNewBuiltin(b *testing.B) {
	builtins, err := templates.Builtins()
	if err != nil {
		b.Fatal(err)
	}
	r := &scaffold.Resolver{Builtins: builtins, BuiltinVersion: "v0.0.0-bench"}
	base := b.TempDir()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		_, err := scaffold.New(ctx, scaffold.NewOptions{
			Module:       "example.com/acme/payments",
			Dir:          filepath.Join(base, "r", string(rune('a'+i%26)), strconv.Itoa(i)),
			Resolver:     r,
			NoHooks:      true,
			PavedVersion: "v0.0.0-bench",
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
