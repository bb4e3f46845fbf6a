package scaffold

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/module"
)

// Template is a template's files and where they came from.
type Template struct {
	FS fs.FS
	// Source is what the answers file records: "service" for a built-in, an
	// absolute directory, or MODULE[//SUBDIR] for a module template.
	Source string
	// Version names the revision: paved's release (or development digest)
	// for a built-in, the describe name of the commit for a git directory,
	// the module version otherwise. "" for a directory outside git.
	Version string
	// Commit is the full hash of a git directory template's revision.
	Commit string
	// Dirty: read from a git working tree with uncommitted changes.
	Dirty bool
	// PavedCheckout is, for the built-in templates of a paved built from a
	// checkout, that checkout's directory (.Paved.Checkout), which the
	// repositories they make can pin; "" otherwise.
	PavedCheckout string
}

// Source is where templates come from: the built-in ones, a local git
// directory, a Go module. Versions are the source's own names; every
// version it returns names one immutable revision.
type Source interface {
	// Spec is the source as the answers file records it.
	Spec() string
	// Kind says what the source is: a built-in template is paved's own,
	// trusted to run its tasks; the others run them only with --trust.
	Kind() SourceKind
	// Open reads the template at version; "" means the newest.
	Open(ctx context.Context, version string) (*Template, error)
	// Latest names the newest version, the one `new`, `check`, `diff` and
	// `update` all mean when none is given.
	Latest(ctx context.Context) (string, error)
	// Newer reports whether version candidate is newer than current.
	Newer(ctx context.Context, current, candidate string) (bool, error)
	// Versions lists the source's versions, newest first.
	Versions(ctx context.Context) ([]Version, error)
}

// ErrVersionUnavailable means a template version cannot be read back, e.g.
// a release of paved that the module proxy does not serve.
var ErrVersionUnavailable = errors.New("template version unavailable")

// Builtins is the set of templates compiled into paved, by name.
type Builtins map[string]fs.FS

// Resolver turns source specs into Sources. cmd/paved hands it the
// built-in templates and paved's version; the engine hard-codes neither.
type Resolver struct {
	Builtins Builtins
	// BuiltinVersion is paved's release version, or "" / "(devel)" for a
	// development build, whose built-in templates are then named by digest.
	BuiltinVersion string
	// Release says where a release of paved carries its built-in
	// templates, to read an older version back (and list the versions);
	// without it, no version but the one compiled in is available.
	Release Release
	// BuiltinCheckout is the directory of the checkout this paved was
	// built from, for a development build that has one; templates see it
	// as .Paved.Checkout. "" for a release.
	BuiltinCheckout string
	// Env is the environment for the go and git commands; nil means os.Environ().
	Env []string
	// Go is the go command to run; "" means go on PATH.
	Go string
	// Limits caps what is read of a template; zero means the defaults (defaultReadLimits).
	Limits ReadLimits
	// RenderLimits bound the renders of its templates; zero fields take the
	// defaults (DefaultLimits).
	RenderLimits Limits
}

func (r *Resolver) limits() ReadLimits {
	if r.Limits == (ReadLimits{}) {
		return defaultReadLimits()
	}
	return r.Limits
}

// Release is the module whose releases carry the built-in templates, and
// the path in that module of a built-in template's zip.
type Release struct {
	Module string
	Zip    func(name string) string
}

// SourceKind says how a template source spec is read.
type SourceKind int

const (
	SourceBuiltin SourceKind = iota
	SourceDir
	SourceModule
)

// ParsedSource is a source spec split into its parts.
type ParsedSource struct {
	Kind    SourceKind
	Name    string // built-in name or directory
	Module  string // module path, for SourceModule
	Version string // version asked for in the spec (@VERSION); "" for the newest
	Subdir  string // directory inside the module, for SourceModule
}

// ParseSource classifies a template source: what --template takes and what
// the answers file records. A built-in name; a local directory (starts
// with ".", "/" or names an existing directory), optionally DIR@REF; or
// MODULE[@VERSION][//SUBDIR] (no version means the newest, as gonew).
func ParseSource(spec string, builtins Builtins) (ParsedSource, error) {
	if spec == "" {
		return ParsedSource{}, errors.New("empty template source")
	}
	if _, ok := builtins[spec]; ok {
		return ParsedSource{Kind: SourceBuiltin, Name: spec}, nil
	}
	if strings.HasPrefix(spec, ".") || filepath.IsAbs(spec) {
		// DIR@REF: REF may hold slashes (release/1.2, refs/tags/v1); the
		// split is taken when DIR is a directory and the whole spec is not.
		dir, ref := spec, ""
		if i := strings.LastIndexByte(spec, '@'); i > 0 && !dirExists(spec) && dirExists(spec[:i]) {
			dir, ref = spec[:i], spec[i+1:]
		}
		return ParsedSource{Kind: SourceDir, Name: dir, Version: ref}, nil
	}
	modAndVersion, subdir, hasSub := strings.Cut(spec, "//")
	mod, version, hasVersion := strings.Cut(modAndVersion, "@")
	if hasVersion || hasSub || module.CheckPath(mod) == nil && !dirExists(spec) {
		if err := module.CheckPath(mod); err != nil {
			if !hasVersion && !hasSub {
				return ParsedSource{}, unknownTemplate(spec, builtins)
			}
			return ParsedSource{}, fmt.Errorf("template %s: %w", spec, err)
		}
		if hasVersion && version == "" {
			return ParsedSource{}, fmt.Errorf("template %s: empty version after @", spec)
		}
		if hasSub && !validTemplatePath(subdir) {
			return ParsedSource{}, fmt.Errorf("template %s: subdirectory %q must be a relative path inside the module", spec, subdir)
		}
		return ParsedSource{Kind: SourceModule, Module: mod, Version: version, Subdir: subdir}, nil
	}
	if dirExists(spec) {
		return ParsedSource{Kind: SourceDir, Name: spec}, nil
	}
	return ParsedSource{}, unknownTemplate(spec, builtins)
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func unknownTemplate(spec string, builtins Builtins) error {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return fmt.Errorf(
		"unknown template %q: want a built-in (%s), a directory (./path), or MODULE[@VERSION][//SUBDIR]",
		spec, strings.Join(names, ", "))
}

// Source resolves a spec to its Source and the version the spec asks for
// ("" when it names none).
func (r *Resolver) Source(spec string) (Source, string, error) {
	p, err := ParseSource(spec, r.Builtins)
	if err != nil {
		return nil, "", err
	}
	switch p.Kind {
	case SourceBuiltin:
		return r.builtinSource(p.Name), "", nil
	case SourceDir:
		abs, err := filepath.Abs(p.Name)
		if err != nil {
			return nil, "", err
		}
		g := r.git(abs)
		g.known = map[string]string{}
		return &gitDirSource{dir: abs, git: g, limits: r.limits()}, p.Version, nil
	default:
		return &moduleSource{r: r, mod: p.Module, subdir: p.Subdir}, p.Version, nil
	}
}

// Open resolves spec to a Template at the version the spec names, or the newest.
func (r *Resolver) Open(ctx context.Context, spec string) (*Template, error) {
	src, version, err := r.Source(spec)
	if err != nil {
		return nil, err
	}
	return src.Open(ctx, version)
}

// git is the hardened git runner for a template repository at dir.
func (r *Resolver) git(dir string) *gitRepo { return newGitRepo(dir, r.Env) }

// goOutsideModule runs the go command in an empty directory, so that the
// user's current go.mod plays no part.
func (r *Resolver) goOutsideModule(ctx context.Context, args ...string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "paved-go-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	goCmd := r.Go
	if goCmd == "" {
		goCmd = "go"
	}
	return runCommand(ctx, tmp, r.Env, nil, goCmd, args...)
}
