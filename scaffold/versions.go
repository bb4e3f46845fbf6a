package scaffold

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// ErrVersionUnavailable means a template version cannot be read back, e.g.
// the built-in template of a development build of paved.
var ErrVersionUnavailable = errors.New("template version unavailable")

// PavedModule is the module whose releases carry the built-in templates.
const PavedModule = "github.com/paved-dev/paved"

// OpenVersion reads the template that source (as recorded in
// .paved-answers.yaml) had at version.
func (r *Resolver) OpenVersion(ctx context.Context, source, version string) (*Template, error) {
	src, err := r.recordedSource(source)
	if err != nil {
		return nil, err
	}
	switch src.Kind {
	case SourceBuiltin:
		return r.openBuiltinVersion(ctx, src.Name, version)
	case SourceDir:
		return r.openDirVersion(ctx, src.Name, version)
	default:
		src.Version = version
		return r.openModule(ctx, src)
	}
}

// Latest names the newest version of a recorded source: for a built-in, the
// running paved's; for a git directory, its highest semver tag; for a
// module, what @latest resolves to.
func (r *Resolver) Latest(ctx context.Context, source string) (string, error) {
	src, err := r.recordedSource(source)
	if err != nil {
		return "", err
	}
	switch src.Kind {
	case SourceBuiltin:
		return r.BuiltinVersion, nil
	case SourceDir:
		return r.latestTag(ctx, src.Name)
	default:
		out, err := r.goOutsideModule(ctx, "list", "-m", "-json", src.Module+"@latest")
		if err != nil {
			return "", err
		}
		var info struct{ Version string }
		if err := json.Unmarshal(out, &info); err != nil {
			return "", fmt.Errorf("go list -m %s@latest: %w", src.Module, err)
		}
		return info.Version, nil
	}
}

// IsNewer reports whether version latest of source is newer than current.
func (r *Resolver) IsNewer(ctx context.Context, source, current, latest string) (bool, error) {
	if current == latest {
		return false, nil
	}
	src, err := r.recordedSource(source)
	if err != nil {
		return false, err
	}
	if src.Kind == SourceDir {
		// A describe name (v1.2.0-3-gabc1234) is ahead of its tag: newer only
		// when it does not already contain the latest tag.
		g := r.git(src.Name)
		cur, err := g.resolve(ctx, current)
		if err != nil {
			return false, fmt.Errorf("template %s: recorded version %s is not in its git history", source, current)
		}
		lat, err := g.resolve(ctx, latest)
		if err != nil {
			return false, err
		}
		if _, err := g.run(ctx, nil, "merge-base", "--is-ancestor", lat, cur); err == nil {
			return false, nil
		} else if !isExit(err, 1) {
			return false, err
		}
		return true, nil
	}
	if !semver.IsValid(current) || !semver.IsValid(latest) {
		return false, fmt.Errorf("cannot compare template versions %q and %q: not semantic versions", current, latest)
	}
	return semver.Compare(latest, current) > 0, nil
}

// recordedSource parses the template field of an answers file.
func (r *Resolver) recordedSource(source string) (ParsedSource, error) {
	if _, ok := r.Builtins[source]; ok {
		return ParsedSource{Kind: SourceBuiltin, Name: source}, nil
	}
	if filepath.IsAbs(source) || strings.HasPrefix(source, ".") {
		return ParsedSource{Kind: SourceDir, Name: source}, nil
	}
	mod, subdir, _ := strings.Cut(source, "//")
	if err := module.CheckPath(mod); err != nil {
		return ParsedSource{}, fmt.Errorf("recorded template %q: %w", source, err)
	}
	return ParsedSource{Kind: SourceModule, Module: mod, Subdir: subdir}, nil
}

func (r *Resolver) openBuiltinVersion(ctx context.Context, name, version string) (*Template, error) {
	if version == r.BuiltinVersion {
		return &Template{FS: r.Builtins[name], Source: name, Version: version}, nil
	}
	if !semver.IsValid(version) {
		return nil, fmt.Errorf("%w: built-in %s at %q is not a released paved version", ErrVersionUnavailable, name, version)
	}
	t, err := r.openModule(ctx, ParsedSource{Kind: SourceModule, Module: PavedModule, Version: version})
	if err != nil {
		return nil, fmt.Errorf("%w: built-in %s at %s: %w", ErrVersionUnavailable, name, version, err)
	}
	data, err := fs.ReadFile(t.FS, "templates/"+name+".zip")
	if err != nil {
		return nil, fmt.Errorf("%w: paved %s has no built-in %s: %w", ErrVersionUnavailable, version, name, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("paved %s: templates/%s.zip: %w", version, name, err)
	}
	return &Template{FS: zr, Source: name, Version: version}, nil
}

// openDirVersion reads a git directory template at a revision, as the raw
// objects of its commit.
func (r *Resolver) openDirVersion(ctx context.Context, dir, version string) (*Template, error) {
	g := r.git(dir)
	prefix, err := g.prefix(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: template %s is not in a git repository: %w", ErrVersionUnavailable, dir, err)
	}
	commit, err := g.resolve(ctx, version)
	if errors.Is(err, ErrBadRevision) && strings.HasPrefix(version, "-") {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: template %s at %s: %w", ErrVersionUnavailable, dir, version, err)
	}
	fsys, err := g.readTree(ctx, commit, prefix, DefaultReadLimits)
	if err != nil {
		return nil, fmt.Errorf("template %s at %s: %w", dir, version, err)
	}
	return &Template{FS: fsys, Source: dir, Version: version}, nil
}

func (r *Resolver) latestTag(ctx context.Context, dir string) (string, error) {
	out, err := r.git(dir).run(ctx, nil, "tag", "--list")
	if err != nil {
		return "", err
	}
	latest, latestPre := "", ""
	for tag := range strings.FieldsSeq(string(out)) {
		if !semver.IsValid(tag) {
			continue
		}
		best := &latest
		if semver.Prerelease(tag) != "" {
			best = &latestPre
		}
		if *best == "" || semver.Compare(tag, *best) > 0 {
			*best = tag
		}
	}
	switch {
	case latest != "":
		return latest, nil
	case latestPre != "":
		return latestPre, nil
	}
	return "", fmt.Errorf("template %s has no semantic version tags (v1.2.3); name a revision with --to", dir)
}
