package scaffold

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// moduleSource is a template published as a Go module, read with the go
// command (so GOPROXY, GOPRIVATE, GOFLAGS and GONOSUMDB apply).
type moduleSource struct {
	r      *Resolver
	mod    string
	subdir string
}

func (s *moduleSource) Kind() SourceKind { return SourceModule }

func (s *moduleSource) Spec() string {
	if s.subdir != "" {
		return s.mod + "//" + s.subdir
	}
	return s.mod
}

// goModDownload is the part of `go mod download -json` output we read.
type goModDownload struct {
	Path    string
	Version string
	Dir     string
	Error   string
}

func (s *moduleSource) Open(ctx context.Context, version string) (*Template, error) {
	if version == "" {
		version = "latest"
	}
	if dir, ok := s.cached(version); ok {
		return s.template(dir, version)
	}
	out, err := s.r.goOutsideModule(ctx, "mod", "download", "-json", s.mod+"@"+version)
	var dl goModDownload
	if jsonErr := json.Unmarshal(out, &dl); jsonErr != nil {
		if err != nil {
			return nil, fmt.Errorf("go mod download %s@%s: %w", s.mod, version, err)
		}
		return nil, fmt.Errorf("go mod download %s@%s: reading its output: %w", s.mod, version, jsonErr)
	}
	if dl.Error != "" {
		return nil, fmt.Errorf("template %s@%s: %s", s.mod, version, dl.Error)
	}
	if err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %w", s.mod, version, err)
	}
	return s.template(dl.Dir, dl.Version)
}

// template is the module's extracted directory (or its subdirectory) as a template.
func (s *moduleSource) template(dir, version string) (*Template, error) {
	root := dir
	if s.subdir != "" {
		root = filepath.Join(dir, filepath.FromSlash(s.subdir))
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("template %s@%s: no directory %s in the module", s.mod, version, s.subdir)
		}
	}
	fsys, err := DirFS(root)
	if err != nil {
		return nil, fmt.Errorf("template %s@%s: %w", s.mod, version, err)
	}
	if err := checkSizes(fsys, s.r.limits()); err != nil {
		return nil, fmt.Errorf("template %s@%s: %w", s.mod, version, err)
	}
	return &Template{FS: LimitFS(fsys, s.r.limits()), Source: s.Spec(), Version: version}, nil
}

// cached returns the module's directory in the module cache when the go
// command has already downloaded, verified and extracted that exact
// version: `go mod download` would then only print that directory, so
// paved reads it without starting go. Only a canonical version qualifies
// (a query such as "latest" or a branch needs the proxy).
func (s *moduleSource) cached(version string) (string, bool) {
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return "", false
	}
	cache := modCache(s.r.Env)
	escPath, err := module.EscapePath(s.mod)
	if err != nil || cache == "" {
		return "", false
	}
	escVersion, err := module.EscapeVersion(version)
	if err != nil {
		return "", false
	}
	dir := filepath.Join(cache, escPath+"@"+escVersion)
	download := filepath.Join(cache, "cache", "download", escPath, "@v", escVersion)
	_, hashErr := os.Stat(download + ".ziphash") // written once the zip was verified
	_, partialErr := os.Stat(dir + ".partial")   // present while extraction is unfinished
	fi, dirErr := os.Stat(dir)
	if hashErr != nil || partialErr == nil || dirErr != nil || !fi.IsDir() {
		return "", false
	}
	return dir, true
}

// modCache is the module cache directory the go command would use with env:
// GOMODCACHE, else the first GOPATH entry's pkg/mod, else ~/go/pkg/mod.
func modCache(env []string) string {
	if env == nil {
		env = os.Environ()
	}
	get := func(key string) string {
		v := ""
		for _, kv := range env {
			if k, val, ok := strings.Cut(kv, "="); ok && k == key {
				v = val // the last one wins, as in exec
			}
		}
		return v
	}
	if c := get("GOMODCACHE"); c != "" {
		return c
	}
	if gopath := get("GOPATH"); gopath != "" {
		return filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	if home := get("HOME"); home != "" {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

func (s *moduleSource) Latest(ctx context.Context) (string, error) {
	out, err := s.r.goOutsideModule(ctx, "list", "-m", "-json", s.mod+"@latest")
	if err != nil {
		return "", err
	}
	var info struct{ Version string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go list -m %s@latest: %w", s.mod, err)
	}
	return info.Version, nil
}

func (s *moduleSource) Newer(_ context.Context, current, candidate string) (bool, error) {
	if current == candidate {
		return false, nil
	}
	if !semver.IsValid(current) || !semver.IsValid(candidate) {
		return false, fmt.Errorf("cannot compare template versions %q and %q: not semantic versions", current, candidate)
	}
	return semver.Compare(candidate, current) > 0, nil
}

// checkSizes refuses a template whose files pass the read limits, before
// any is read.
func checkSizes(fsys fs.FS, lim ReadLimits) error {
	var total int64
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return lim.check(name, info.Size(), total)
	})
}
