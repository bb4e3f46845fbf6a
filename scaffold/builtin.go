package scaffold

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/mod/semver"
)

// develPrefix starts the version a development build of paved records for
// its built-in templates: a semantic version older than every release,
// naming the template's content digest, so a development build never
// records a version a release would take for its own, and the render lock
// and its fallback work for it.
const develPrefix = "v0.0.0-devel.d"

// builtinSource is a template compiled into paved. Its versions are paved's
// releases; older ones are read from the paved module at that version,
// through the module proxy.
type builtinSource struct {
	r       *Resolver
	name    string
	fsys    fs.FS
	version string // this paved's version of the template
}

func (r *Resolver) builtinSource(name string) *builtinSource {
	s := &builtinSource{r: r, name: name, fsys: r.Builtins[name], version: r.BuiltinVersion}
	if !isRelease(s.version) {
		s.version = develPrefix + contentDigest(s.fsys)
	}
	return s
}

// isRelease reports whether v is a release version of paved (not a
// development build's).
func isRelease(v string) bool {
	return semver.IsValid(v) && !strings.HasPrefix(v, develPrefix)
}

// IsDevelVersion reports whether a recorded built-in version was written by
// a development build of paved.
func IsDevelVersion(v string) bool { return strings.HasPrefix(v, develPrefix) }

func (s *builtinSource) Spec() string { return s.name }

func (s *builtinSource) Kind() SourceKind { return SourceBuiltin }

// Versions are the releases of paved, which carry the built-in templates.
func (s *builtinSource) Versions(ctx context.Context) ([]Version, error) {
	release, err := s.release()
	if err != nil {
		return nil, err
	}
	return release.Versions(ctx)
}

// release is the module source of paved's releases.
func (s *builtinSource) release() (*moduleSource, error) {
	if s.r.Release.Module == "" || s.r.Release.Zip == nil {
		return nil, fmt.Errorf("%w: built-in %s: no release of paved to read versions from (Resolver.Release is not set)", ErrVersionUnavailable, s.name)
	}
	return &moduleSource{r: s.r, mod: s.r.Release.Module}, nil
}

func (s *builtinSource) Latest(context.Context) (string, error) { return s.version, nil }

func (s *builtinSource) Newer(_ context.Context, current, candidate string) (bool, error) {
	switch {
	case current == candidate:
		return false, nil
	case !isRelease(current) && !isRelease(candidate):
		// Two development builds' templates (or the "(devel)" of older
		// paveds) cannot be ordered; a different one is taken as an update.
		return true, nil
	case current == "(devel)":
		return true, nil // any release is newer than an old development build
	}
	if !semver.IsValid(current) || !semver.IsValid(candidate) {
		return false, fmt.Errorf("cannot compare built-in template versions %q and %q", current, candidate)
	}
	return semver.Compare(candidate, current) > 0, nil
}

func (s *builtinSource) Open(ctx context.Context, version string) (*Template, error) {
	if version == "" || version == s.version {
		return &Template{FS: s.fsys, Source: s.name, Version: s.version, PavedCheckout: s.r.BuiltinCheckout}, nil
	}
	if IsDevelVersion(version) {
		return nil, fmt.Errorf("%w: built-in %s %s was written by another development build of paved (this one carries %s)", ErrVersionUnavailable, s.name, version, s.version)
	}
	if !isRelease(version) {
		return nil, fmt.Errorf("%w: built-in %s at %q is not a released paved version", ErrVersionUnavailable, s.name, version)
	}
	release, err := s.release()
	if err != nil {
		return nil, err
	}
	t, err := release.Open(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("%w: built-in %s at %s: %w", ErrVersionUnavailable, s.name, version, err)
	}
	zipPath := s.r.Release.Zip(s.name)
	data, err := fs.ReadFile(t.FS, zipPath)
	if err != nil {
		return nil, fmt.Errorf("%w: paved %s has no built-in %s: %w", ErrVersionUnavailable, version, s.name, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("paved %s: %s: %w", version, zipPath, err)
	}
	return &Template{FS: zr, Source: s.name, Version: version}, nil
}

// contentDigest names a template's content: its paths, modes and bytes.
func contentDigest(fsys fs.FS) string {
	h := sha256.New()
	_ = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%v\x00%d\x00", name, d.Type(), len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
