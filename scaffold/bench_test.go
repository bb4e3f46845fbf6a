package scaffold_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/scaffold/scaffoldtest"
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

// BenchmarkNewModule makes a repository from a plain Go module (gonew's
// case) of 60 files at an exact version through a file:// GOPROXY; after
// the first download the module is read from the module cache.
func BenchmarkNewModule(b *testing.B) { benchmarkNewModule(b, 60, 100) }

// BenchmarkNewModuleLarge is BenchmarkNewModule with a module of gopls's
// size: 1200 .go files of 8 KB.
func BenchmarkNewModuleLarge(b *testing.B) { benchmarkNewModule(b, 1200, 8<<10) }

func benchmarkNewModule(b *testing.B, n, size int) {
	src := b.TempDir()
	files := map[string]string{"go.mod": "module example.com/tmpl\n\ngo 1.26\n"}
	body := "// " + strings.Repeat("x", size) + "\n"
	for i := range n {
		files["pkg"+strconv.Itoa(i%60)+"/f"+strconv.Itoa(i)+".go"] = "package pkg" + strconv.Itoa(i%60) + "\n\nimport _ \"example.com/tmpl/pkg0\"\n" + body
	}
	scaffoldtest.WriteTree(b, src, files)
	proxy := scaffoldtest.NewProxy(b)
	proxy.Add(b, "example.com/tmpl", "v1.0.0", src)
	r := &scaffold.Resolver{Builtins: scaffold.Builtins{}, Env: proxy.GoEnv(b)}
	base := b.TempDir()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		_, err := scaffold.New(ctx, scaffold.NewOptions{
			Module:   "example.com/acme/payments",
			Dir:      filepath.Join(base, strconv.Itoa(i)),
			Template: "example.com/tmpl@v1.0.0",
			Resolver: r,
			NoHooks:  true,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
