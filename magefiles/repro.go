//go:build mage

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Repro builds paved's release binary twice, each from its own persistent
// build cache (kept in the user cache, keyed by Go version and platform,
// never the main GOCACHE), with exactly the flags of .goreleaser.yaml, and
// fails unless both are byte for byte the same. A warm run recompiles only
// what changed, and still compares two independent compilations.
// REPRO_COLD=1 starts both caches empty, the proof a release workflow runs.
func Repro() error {
	build, err := releaseBuild()
	if err != nil {
		return err
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return err
	}
	caches := filepath.Join(cacheRoot, "paved-tools", "repro", runtime.Version()+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	out, err := os.MkdirTemp("", "paved-repro-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	var sums [2]string
	for i, side := range []string{"a", "b"} {
		cache := filepath.Join(caches, side)
		if os.Getenv("REPRO_COLD") != "" {
			if err := os.RemoveAll(cache); err != nil {
				return err
			}
		}
		bin := filepath.Join(out, side, build.Binary)
		args := append([]string{"build", "-o", bin}, build.Flags...)
		args = append(args, "-ldflags="+strings.Join(build.Ldflags, " "), build.Main)
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), append(build.Env, "GOCACHE="+cache)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		fmt.Printf("repro: go %s (GOCACHE=%s)\n", strings.Join(args, " "), cache)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("repro: build %s: %w", side, err)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		h := sha256.Sum256(data)
		sums[i] = hex.EncodeToString(h[:])
	}
	if sums[0] != sums[1] {
		return fmt.Errorf("repro: two builds of %s differ: sha256 %s and %s", build.Main, sums[0], sums[1])
	}
	fmt.Printf("repro: %s sha256 %s, twice\n", build.Main, sums[0])
	return nil
}

// releaseFlags is the one build of .goreleaser.yaml, with its version template filled.
type releaseFlags struct {
	Main    string   `yaml:"main"`
	Binary  string   `yaml:"binary"`
	Env     []string `yaml:"env"`
	Flags   []string `yaml:"flags"`
	Ldflags []string `yaml:"ldflags"`
}

// releaseBuild reads the build flags from .goreleaser.yaml, the one place
// that defines them, and makes VCS stamping explicit: these machines set
// GOFLAGS=-buildvcs=false, while GoReleaser stamps whatever git tells.
func releaseBuild() (releaseFlags, error) {
	data, err := os.ReadFile(".goreleaser.yaml")
	if err != nil {
		return releaseFlags{}, err
	}
	var cfg struct {
		Builds []releaseFlags `yaml:"builds"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return releaseFlags{}, fmt.Errorf(".goreleaser.yaml: %w", err)
	}
	if len(cfg.Builds) != 1 {
		return releaseFlags{}, fmt.Errorf(".goreleaser.yaml: %d builds, repro knows one", len(cfg.Builds))
	}
	b := cfg.Builds[0]
	for i, f := range b.Ldflags {
		b.Ldflags[i] = strings.ReplaceAll(f, "{{ .Version }}", "v0.0.0-repro")
	}
	if strings.Contains(strings.Join(b.Ldflags, " "), "{{") {
		return releaseFlags{}, fmt.Errorf(".goreleaser.yaml: ldflags %q hold a template repro cannot fill", b.Ldflags)
	}
	b.Flags = append(b.Flags, "-buildvcs=auto")
	return b, nil
}
