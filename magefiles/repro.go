//go:build mage

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Repro builds each of paved's release binaries (paved, paved-verify)
// twice, each time from its own persistent build cache (kept in the user
// cache, keyed by Go version and platform, never the main GOCACHE), with
// exactly the flags of .goreleaser.yaml, and fails unless both builds are
// byte for byte the same. A warm run recompiles only what changed, and
// still compares two independent compilations. REPRO_COLD=1 starts both
// caches empty, the proof a release workflow runs.
func Repro() error {
	builds, err := releaseBuilds()
	if err != nil {
		return err
	}
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return err
	}
	caches := filepath.Join(cacheRoot, "paved-tools", "repro", runtime.Version()+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	if os.Getenv("REPRO_COLD") != "" {
		if err := os.RemoveAll(caches); err != nil {
			return err
		}
	}
	out, err := os.MkdirTemp("", "paved-repro-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	for _, build := range builds {
		var sums [2]string
		for i, side := range []string{"a", "b"} {
			if sums[i], err = reproBuild(build, filepath.Join(caches, side), filepath.Join(out, side)); err != nil {
				return fmt.Errorf("repro: build %s (%s): %w", build.Binary, side, err)
			}
		}
		if sums[0] != sums[1] {
			return fmt.Errorf("repro: two builds of %s differ: sha256 %s and %s", build.Main, sums[0], sums[1])
		}
		fmt.Printf("repro: %s sha256 %s, twice\n", build.Main, sums[0])
	}
	return nil
}

// reproBuild builds one release binary into dir with cache as its GOCACHE
// and returns the binary's sha256.
func reproBuild(build releaseFlags, cache, dir string) (string, error) {
	bin := filepath.Join(dir, build.Binary)
	args := append([]string{"build", "-o", bin}, build.Flags...)
	args = append(args, "-ldflags="+strings.Join(build.Ldflags, " "), build.Main)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), append(build.Env, "GOCACHE="+cache)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Printf("repro: go %s (GOCACHE=%s)\n", strings.Join(args, " "), cache)
	if err := cmd.Run(); err != nil {
		return "", err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:]), nil
}

// releaseFlags is one build of .goreleaser.yaml, with its version template filled.
type releaseFlags struct {
	ID      string   `yaml:"id"`
	Main    string   `yaml:"main"`
	Binary  string   `yaml:"binary"`
	Env     []string `yaml:"env"`
	Flags   []string `yaml:"flags"`
	Ldflags []string `yaml:"ldflags"`
}

// releaseBuilds reads the builds from .goreleaser.yaml, the one place that
// defines their flags, refuses builds whose settings differ in anything but
// their id, main package and binary (every binary of a release is built
// alike), and makes VCS stamping explicit: these machines set
// GOFLAGS=-buildvcs=false, while GoReleaser stamps whatever git tells.
func releaseBuilds() ([]releaseFlags, error) {
	data, err := os.ReadFile(".goreleaser.yaml")
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Builds []releaseFlags `yaml:"builds"`
	}
	var raw struct {
		Builds []map[string]any `yaml:"builds"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf(".goreleaser.yaml: %w", err)
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf(".goreleaser.yaml: %w", err)
	}
	if len(cfg.Builds) == 0 {
		return nil, errors.New(".goreleaser.yaml: no builds")
	}
	for _, b := range raw.Builds {
		delete(b, "id")
		delete(b, "main")
		delete(b, "binary")
	}
	for i, b := range cfg.Builds {
		if !reflect.DeepEqual(raw.Builds[0], raw.Builds[i]) {
			return nil, fmt.Errorf(".goreleaser.yaml: builds[%d] (%s) is not built like builds[0] (%s): only id, main and binary may differ", i, b.ID, cfg.Builds[0].ID)
		}
		for j, f := range b.Ldflags {
			b.Ldflags[j] = strings.ReplaceAll(f, "{{ .Version }}", "v0.0.0-repro")
		}
		if strings.Contains(strings.Join(b.Ldflags, " "), "{{") {
			return nil, fmt.Errorf(".goreleaser.yaml: builds[%d]: ldflags %q hold a template repro cannot fill", i, b.Ldflags)
		}
		b.Flags = append(b.Flags, "-buildvcs=auto")
		cfg.Builds[i] = b
	}
	return cfg.Builds, nil
}
