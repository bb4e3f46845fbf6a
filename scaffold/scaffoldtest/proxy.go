// Package scaffoldtest builds fixtures for tests of paved: a GOPROXY in a
// directory, served through a file:// URL, and an environment that makes the
// go command use it and nothing else.
package scaffoldtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// Proxy is a module proxy laid out in a directory, as GOPROXY=file:// reads it.
type Proxy struct {
	Dir string
}

// NewProxy makes an empty proxy in a temporary directory.
func NewProxy(t TB) *Proxy {
	return &Proxy{Dir: t.TempDir()}
}

// URL is the GOPROXY value for the proxy.
func (p *Proxy) URL() string {
	u := filepath.ToSlash(p.Dir)
	if runtime.GOOS == "windows" {
		u = "/" + u
	}
	return "file://" + u
}

// Add publishes the module in srcDir (which holds its go.mod) as modPath@version.
func (p *Proxy) Add(t TB, modPath, version, srcDir string) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(srcDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]string{"Version": version, "Time": "2026-01-02T03:04:05Z"})
	var zipData bytes.Buffer
	if err := modzip.CreateFromDir(&zipData, module.Version{Path: modPath, Version: version}, srcDir); err != nil {
		t.Fatal(err)
	}
	p.publish(t, modPath, version, gomod, info, zipData.Bytes())
}

// GoEnv returns an environment in which the go command reads modules from
// the proxy only, with checksum verification off and a fresh module cache
// that is removed (despite its read-only files) when the test ends.
func (p *Proxy) GoEnv(t TB) []string {
	t.Helper()
	modcache := filepath.Join(t.TempDir(), "modcache")
	t.Cleanup(func() { MakeWritable(modcache) })
	env := os.Environ()
	return append(env,
		"GOPROXY="+p.URL(),
		"GOSUMDB=off",
		"GONOSUMDB=*",
		"GOFLAGS=-modcacherw",
		"GOMODCACHE="+modcache,
		"GOTOOLCHAIN=local",
	)
}

// MakeWritable makes a tree writable so t.TempDir's cleanup can remove it.
func MakeWritable(dir string) {
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			_ = os.Chmod(p, fi.Mode()|0o200)
		}
		return nil
	})
}

// WriteTree writes files (slash paths to contents) under dir.
func WriteTree(t TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ReadTree reads every file below dir into a map of slash path to content;
// symbolic links read as "-> target".
func ReadTree(t TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		}
		data, err := os.ReadFile(p)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Must fails the test on err, saying what was being done.
func Must(t TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", what, err))
	}
}

// Git runs git in dir with a fixed identity and returns its output; a
// failure fails the test.
func Git(t TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}
