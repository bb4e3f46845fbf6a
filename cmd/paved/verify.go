package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

// verifier is the program that runs the validators (scaffold/verify). It
// is separate from paved so that its libraries (Helm, Kubernetes,
// BuildKit, Prometheus, actionlint: about 70 MB and 40-60 ms of package
// initialisation) do not slow every paved command's start.
const verifierPkg = "github.com/paved-dev/paved/cmd/paved-verify"

// cmdVerify runs paved-verify with the arguments of `paved verify` and
// returns its exit code: 0 clean, 1 findings, 2 a check could not run or
// bad usage.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	bin, err := findVerifier(ctx, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "paved: verify:", err)
		return exitError
	}
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // runs paved-verify, found as findVerifier says, with the user's own arguments
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee) && ee.ExitCode() == exitFindings:
		return exitFindings
	case errors.As(err, &ee) && ee.ExitCode() == exitError:
		return exitError
	default:
		fmt.Fprintf(stderr, "paved: verify: %s: %v\n", bin, err)
		return exitError
	}
}

// findVerifier locates paved-verify: $PAVED_VERIFY, then beside the paved
// executable, then on PATH; failing those, a paved built from a checkout
// builds it from that checkout, and a paved installed at a release version
// builds the same version once; both into the user cache directory.
func findVerifier(ctx context.Context, stderr io.Writer) (string, error) {
	name := "paved-verify"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if p := os.Getenv("PAVED_VERIFY"); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	v := pavedVersion()
	if !semver.IsValid(v) {
		// A paved built from a checkout builds paved-verify from the same
		// checkout (go build is a no-op when it is up to date).
		if p, ok := buildFromCheckout(ctx, name, stderr); ok {
			return p, nil
		}
	}
	hint := fmt.Sprintf("install it beside paved: go install %s@%s (or go install ./cmd/paved-verify in a checkout)", verifierPkg, v)
	if !semver.IsValid(v) {
		return "", fmt.Errorf("paved-verify not found; %s", strings.Replace(hint, "@(devel)", "@latest", 1))
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("paved-verify not found; %s", hint)
	}
	dir := filepath.Join(cache, "paved", "verify", v)
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("paved-verify not found and no go command to build it; %s", hint)
	}
	notice := fmt.Sprintf("%s (%s@%s, once, into %s)", buildNotice, verifierPkg, v, dir)
	env := append(os.Environ(), "GOBIN="+dir)
	if err := runBuild(ctx, stderr, env, true, notice, 0, 15*time.Second, goBin, "install", "-v", verifierPkg+"@"+v); err != nil {
		return "", fmt.Errorf("building paved-verify: %w; %s", err, hint)
	}
	return p, nil
}

// buildFromCheckout builds paved-verify from the source tree this paved
// was compiled from, when that tree is still there (a build without
// -trimpath records it), into the user cache directory.
func buildFromCheckout(ctx context.Context, name string, stderr io.Writer) (string, bool) {
	root, ok := sourceCheckout()
	if !ok {
		return "", false
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", false
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256([]byte(root))
	out := filepath.Join(cache, "paved", "verify", "devel-"+hex.EncodeToString(sum[:6]), name)
	// go build is a no-op when the binary is up to date; it says nothing
	// then. A first build says so at once; a rebuild after the checkout
	// changed says so when it takes more than two seconds.
	_, statErr := os.Stat(out)
	notice := fmt.Sprintf("%s (from the checkout %s)", buildNotice, root)
	if err := runBuild(ctx, stderr, nil, statErr != nil, notice, 2*time.Second, 15*time.Second, goBin, "-C", root, "build", "-v", "-o", out, "./cmd/paved-verify"); err != nil {
		fmt.Fprintf(stderr, "paved: building paved-verify from %s: %v\n", root, err)
		return "", false
	}
	return out, true
}
