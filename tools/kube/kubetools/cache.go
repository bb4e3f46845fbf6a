package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// cacheBase is the directory that holds the cached binaries.
func cacheBase() (string, error) {
	if base := os.Getenv("PAVED_TOOLS_CACHE"); base != "" {
		return base, nil
	}
	uc, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set PAVED_TOOLS_CACHE): %w", err)
	}
	return filepath.Join(uc, "paved-tools"), nil
}

// cachePath is where binary b is cached: its name and a key made of the Go
// version, the platform, the build flags and its wrapper module's go.mod
// and go.sum.
func cachePath(base, goVersion string, b binary) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "kubetools 1\n%s %s/%s\n%s %s\n", goVersion, runtime.GOOS, runtime.GOARCH, b.pkg, b.ldflags)
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(b.module, f))
		if err != nil {
			return "", fmt.Errorf("%w (run kubetools from tools/kube)", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	return filepath.Join(base, b.name+"-"+hex.EncodeToString(h.Sum(nil))[:16]), nil
}
