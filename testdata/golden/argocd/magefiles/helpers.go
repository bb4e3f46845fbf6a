//go:build mage

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// outputKey holds the writers of a gate that runs beside others (ci), so
// its output is printed in one piece when it ends; without it, a target
// writes to standard output and standard error.
type outputKey struct{}

type gateOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (g *gateOutput) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func withOutput(ctx context.Context, w *gateOutput) context.Context {
	return context.WithValue(ctx, outputKey{}, w)
}

func outputOf(ctx context.Context) io.Writer {
	if w, ok := ctx.Value(outputKey{}).(*gateOutput); ok {
		return w
	}
	return os.Stdout
}

func errorsOf(ctx context.Context) io.Writer {
	if w, ok := ctx.Value(outputKey{}).(*gateOutput); ok {
		return w
	}
	return os.Stderr
}

// printf prints to the target's output.
func printf(ctx context.Context, format string, args ...any) {
	_, _ = fmt.Fprintf(outputOf(ctx), format, args...)
}

// run prints and runs a command in the current directory.
func run(ctx context.Context, name string, args ...string) error {
	return runIn(ctx, "", nil, name, args...)
}

// runIn prints and runs a command in dir with extra environment variables,
// its output going to ours.
func runIn(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := command(ctx, dir, env, name, args...)
	cmd.Stdout = outputOf(ctx)
	return cmd.Run()
}

// output prints and runs a command, returning its standard output.
func output(ctx context.Context, name string, args ...string) (string, error) {
	return outputIn(ctx, "", nil, name, args...)
}

func outputIn(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := command(ctx, dir, env, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return out.String(), err
}

func command(ctx context.Context, dir string, env []string, name string, args ...string) *exec.Cmd {
	where := ""
	if dir != "" && dir != "." {
		where = "(in " + dir + ") "
	}
	words := append(append(append([]string{}, env...), name), args...)
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\"'{}$*?;&|<>()") {
			words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		}
	}
	printf(ctx, "%s$ %s\n", where, strings.Join(words, " "))
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // runs this build's own tools, with arguments from this file
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = errorsOf(ctx)
	return cmd
}

// quietOutput runs a command without printing it or its errors, and returns
// its trimmed standard output.
func quietOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output() //nolint:gosec // git and docker with fixed arguments
	return strings.TrimSpace(string(out)), err
}

func lookPath(name string) (string, error) { return exec.LookPath(name) }

// reachable says whether url answers within a few seconds.
func reachable(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, http.NoBody)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode < http.StatusInternalServerError
}

// offlineVulnDB returns the directory of a govulncheck database built from
// golang.org/x/vulndb at the pinned version, building it once per version
// under the user cache directory.
func offlineVulnDB(ctx context.Context) (string, error) {
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory for the vulnerability database: %w", err)
	}
	dir := filepath.Join(cacheRoot, "govulncheck-db", vulnDBVersion)
	if _, statErr := os.Stat(filepath.Join(dir, "index", "db.json")); statErr == nil {
		return dir, nil
	}
	printf(ctx, "vuln: building the offline database in %s (once per version)\n", dir)
	out, err := output(ctx, "go", "mod", "download", "-json", vulnDBModule+"@"+vulnDBVersion)
	if err != nil {
		return "", fmt.Errorf("download %s@%s: %w", vulnDBModule, vulnDBVersion, err)
	}
	var mod struct{ Dir string }
	if json.Unmarshal([]byte(out), &mod) != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download gave no directory for %s", vulnDBModule)
	}
	if mkErr := os.MkdirAll(filepath.Dir(dir), 0o750); mkErr != nil {
		return "", mkErr
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "building-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := run(ctx, "go", "run", vulnDBModule+"/cmd/indexdb@"+vulnDBVersion,
		"-vulns", filepath.Join(mod.Dir, "data", "osv"), "-out", tmp); err != nil {
		return "", fmt.Errorf("build the database with %s/cmd/indexdb: %w", vulnDBModule, err)
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	return dir, nil
}

// sha256Files is the sha256 of one file, or of the list "sum  name" of several.
func sha256Files(paths []string) (string, error) {
	var lines []string
	for _, p := range paths {
		b, err := os.ReadFile(p) //nolint:gosec // a binary this build just wrote
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		lines = append(lines, hex.EncodeToString(sum[:])+"  "+filepath.Base(p))
	}
	if len(lines) == 1 {
		sum, _, _ := strings.Cut(lines[0], " ")
		return sum, nil
	}
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:]), nil
}
