package scaffold

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/semver"
)

// moduleSource is a template published as a Go module, read with the go
// command (so GOPROXY, GOPRIVATE, GOFLAGS and GONOSUMDB apply).
type moduleSource struct {
	r      *Resolver
	mod    string
	subdir string
}

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
	root := dl.Dir
	if s.subdir != "" {
		root = filepath.Join(dl.Dir, filepath.FromSlash(s.subdir))
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("template %s@%s: no directory %s in the module", s.mod, dl.Version, s.subdir)
		}
	}
	fsys := os.DirFS(root)
	if err := checkSizes(fsys, s.r.limits()); err != nil {
		return nil, fmt.Errorf("template %s@%s: %w", s.mod, dl.Version, err)
	}
	return &Template{FS: fsys, Source: s.Spec(), Version: dl.Version}, nil
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
