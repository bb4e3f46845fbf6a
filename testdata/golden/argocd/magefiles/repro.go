//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/magefile/mage/mg"
)

// Repro proves that the release binary is reproducible: it builds it twice,
// with exactly the flags GoReleaser uses (read from .goreleaser.yaml, the one
// place that defines them), and fails unless both are byte for byte the same.
type Repro mg.Namespace

// Warm builds the release binary twice, each from its own persistent build
// cache (under the user cache directory, keyed by Go version and platform,
// never the main GOCACHE), so a run recompiles only what changed and still
// compares two independent compilations. REPRO_COLD=1 acts as repro:cold.
func (Repro) Warm(ctx context.Context) error {
	return repro(ctx, os.Getenv("REPRO_COLD") != "")
}

// Cold empties both caches first: the proof from nothing that the release
// workflow runs.
func (Repro) Cold(ctx context.Context) error {
	return repro(ctx, true)
}

// repro builds the release binary from caches a and b and compares them.
func repro(ctx context.Context, cold bool) error {
	rb, err := readReleaseBuild(goreleaserConfig)
	if err != nil {
		return fmt.Errorf("repro: %w", err)
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return fmt.Errorf("repro: no user cache directory for the build caches: %w", err)
	}
	caches := filepath.Join(cacheRoot, "paved-service", "repro", runtime.Version()+"-"+goEnv("GOOS", runtime.GOOS)+"-"+goEnv("GOARCH", runtime.GOARCH))
	out, err := os.MkdirTemp("", "repro-")
	if err != nil {
		return fmt.Errorf("repro: %w", err)
	}
	defer func() { _ = os.RemoveAll(out) }()
	ldflags, err := rb.ldflags(reproStamps)
	if err != nil {
		return fmt.Errorf("repro: %w", err)
	}
	var sums [2]string
	for i, side := range []string{"a", "b"} {
		cache := filepath.Join(caches, side)
		if cold {
			if err := os.RemoveAll(cache); err != nil {
				return fmt.Errorf("repro: empty %s: %w", cache, err)
			}
		}
		bin := filepath.Join(out, side, rb.Binary)
		args := append([]string{"build"}, rb.goFlags()...)
		args = append(args, "-ldflags="+ldflags, "-o", bin, rb.Main)
		env := append(append([]string{}, rb.Env...), "GOCACHE="+cache)
		if err := runIn(ctx, rb.Dir, env, "go", args...); err != nil {
			return fmt.Errorf("repro: build %s (GOCACHE=%s): %w", side, cache, err)
		}
		sum, err := sha256Files([]string{bin})
		if err != nil {
			return fmt.Errorf("repro: %w", err)
		}
		sums[i] = sum
	}
	if sums[0] != sums[1] {
		return fmt.Errorf("repro: two builds of %s differ: sha256 %s (cache a) and %s (cache b)", rb.Main, sums[0], sums[1])
	}
	how := "its two caches"
	if cold {
		how = "empty caches"
	}
	printf(ctx, "repro: %s built twice from %s in %s, both sha256 %s\n", rb.Main, how, caches, sums[0])
	return nil
}

// reproStamps are the fixed values repro gives GoReleaser's template
// variables: the binaries differ from a tagged release only in these.
var reproStamps = map[string]string{
	"Version":         "v0.0.0-repro",
	"Tag":             "v0.0.0-repro",
	"FullCommit":      "0000000000000000000000000000000000000000",
	"Commit":          "0000000000000000000000000000000000000000",
	"ShortCommit":     "0000000",
	"CommitDate":      "1970-01-01T00:00:00Z",
	"CommitTimestamp": "0",
}
