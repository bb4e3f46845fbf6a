//go:build mage

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	pavedModule   = "github.com/paved-dev/paved"
	pavedVerifier = pavedModule + "/cmd/paved-verify"
	// pinRelease is how tools/paved/go.mod comes to pin a release of paved.
	pinRelease = "go -C tools/paved get -tool " + pavedModule + "/cmd/paved@VERSION " + pavedVerifier + "@VERSION"
)

// pavedPinned fails, saying how to pin a release, when modfile (the tools
// module of paved) has no paved to run: it declares no paved-verify tool (a
// development build of paved made the repository and had nothing to pin), or
// it replaces paved with the checkout of the development build that made the
// repository and this machine does not have that checkout (the repository
// was pushed before a release was pinned). On the machine that made it, the
// checkout is there and the pin is good.
func pavedPinned(ctx context.Context, modfile string) error {
	out, err := quietOutput(ctx, "go", "mod", "edit", "-json", modfile)
	if err != nil {
		return fmt.Errorf("no pinned paved: reading %s: %w", modfile, err)
	}
	var mod struct {
		Tool    []struct{ Path string }
		Replace []struct {
			Old struct{ Path string }
			New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal([]byte(out), &mod); err != nil {
		return fmt.Errorf("no pinned paved: reading %s: %w", modfile, err)
	}
	if !slices.ContainsFunc(mod.Tool, func(t struct{ Path string }) bool { return t.Path == pavedVerifier }) {
		return fmt.Errorf("%s pins no paved (a development build of paved made this repository); pin a release: %s", modfile, pinRelease)
	}
	for _, r := range mod.Replace {
		if r.Old.Path != pavedModule || r.New.Version != "" {
			continue
		}
		dir := r.New.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(modfile), dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			return fmt.Errorf("%s runs paved from %s, the checkout of the development build of paved that made this repository, which is not on this machine; pin a release: "+
				"go -C tools/paved mod edit -dropreplace=%s && %s", modfile, r.New.Path, pavedModule, pinRelease)
		}
	}
	return nil
}

// pinnedVerifier builds paved-verify as tools/paved/go.mod pins it and
// returns the binary's path: `go tool -n` builds the tool into the go
// command's cache and prints where it is; paved runs that verifier instead
// of looking for one beside itself. The first build compiles Helm,
// Kubernetes, BuildKit and Prometheus, minutes on two cores, in which the
// go command prints nothing: when it has not answered within quiet, this
// says what it is building, then every interval how long it has taken.
func pinnedVerifier(ctx context.Context, quiet, interval time.Duration) (string, error) {
	cmd := command(ctx, "", nil, "go", "tool", pavedModfile, "-n", "paved-verify")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	start := time.Now()
	timer := time.NewTimer(quiet)
	defer timer.Stop()
	announced := false
	for {
		select {
		case err := <-done:
			if err != nil {
				return "", err
			}
			if announced {
				printf(ctx, "verify: built paved-verify in %s\n", time.Since(start).Round(time.Second))
			}
			return strings.TrimSpace(out.String()), nil
		case <-timer.C:
			if !announced {
				printf(ctx, "verify: building paved and paved-verify as tools/paved/go.mod pins them: the first build compiles their validators "+
					"(Helm, Kubernetes, BuildKit, Prometheus), a few minutes on two cores; later runs reuse the go command's cache\n")
				announced = true
			} else {
				printf(ctx, "verify: building paved-verify (%s)\n", time.Since(start).Round(time.Second))
			}
			timer.Reset(interval)
		}
	}
}
