package scaffold

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
)

// Template is a template's files and where they came from.
type Template struct {
	FS fs.FS
	// Source is what the user named, normalised: "service" for a built-in,
	// an absolute directory, or MODULE[//SUBDIR] for a module template.
	Source string
	// Version is the resolved version: paved's version for a built-in, `git
	// describe` for a local directory in git, the module version otherwise.
	Version string
}

// Builtins is the set of templates compiled into paved, by name.
type Builtins map[string]fs.FS

// Resolver opens templates by the source spec a user gives to --template.
type Resolver struct {
	Builtins Builtins
	// BuiltinVersion is recorded as the version of built-in templates.
	BuiltinVersion string
	// Env is the environment for the go and git commands; nil means os.Environ().
	Env []string
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
	Version string // module version query, for SourceModule
	Subdir  string // directory inside the module, for SourceModule
}

// ParseSource classifies a --template value: a built-in name, a local
// directory (starts with ".", "/" or "~", or names an existing directory), or
// MODULE@VERSION[//SUBDIR].
func ParseSource(spec string, builtins Builtins) (ParsedSource, error) {
	if spec == "" {
		return ParsedSource{}, errors.New("empty template source")
	}
	if _, ok := builtins[spec]; ok {
		return ParsedSource{Kind: SourceBuiltin, Name: spec}, nil
	}
	if strings.HasPrefix(spec, ".") || filepath.IsAbs(spec) {
		return ParsedSource{Kind: SourceDir, Name: spec}, nil
	}
	if modAndVersion, subdir, hasSub := strings.Cut(spec, "//"); strings.Contains(modAndVersion, "@") {
		mod, version, _ := strings.Cut(modAndVersion, "@")
		if err := module.CheckPath(mod); err != nil {
			return ParsedSource{}, fmt.Errorf("template %s: %w", spec, err)
		}
		if version == "" {
			return ParsedSource{}, fmt.Errorf("template %s: empty version after @", spec)
		}
		if hasSub && !validTemplatePath(subdir) {
			return ParsedSource{}, fmt.Errorf("template %s: subdirectory %q must be a relative path inside the module", spec, subdir)
		}
		return ParsedSource{Kind: SourceModule, Module: mod, Version: version, Subdir: subdir}, nil
	}
	if fi, err := os.Stat(spec); err == nil && fi.IsDir() {
		return ParsedSource{Kind: SourceDir, Name: spec}, nil
	}
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	return ParsedSource{}, fmt.Errorf(
		"unknown template %q: want a built-in (%s), a directory (./path), or MODULE@VERSION[//SUBDIR]",
		spec, strings.Join(names, ", "))
}

// Open resolves spec to a Template.
func (r *Resolver) Open(ctx context.Context, spec string) (*Template, error) {
	src, err := ParseSource(spec, r.Builtins)
	if err != nil {
		return nil, err
	}
	switch src.Kind {
	case SourceBuiltin:
		return &Template{FS: r.Builtins[src.Name], Source: src.Name, Version: r.BuiltinVersion}, nil
	case SourceDir:
		return r.openDir(ctx, src.Name)
	default:
		return r.openModule(ctx, src)
	}
}

func (r *Resolver) openDir(ctx context.Context, dir string) (*Template, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("template directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("template %s is not a directory", dir)
	}
	t := &Template{FS: os.DirFS(abs), Source: abs}
	// A directory outside git, or in a repository without commits, has no version.
	g := r.git(abs)
	if commit, err := g.resolve(ctx, "HEAD"); err == nil {
		if out, err := g.run(ctx, nil, "describe", "--tags", "--always", "--end-of-options", commit); err == nil {
			t.Version = strings.TrimSpace(string(out))
		}
	}
	return t, nil
}

// goModDownload is the part of `go mod download -json` output we read.
type goModDownload struct {
	Path    string
	Version string
	Dir     string
	Error   string
}

func (r *Resolver) openModule(ctx context.Context, src ParsedSource) (*Template, error) {
	out, err := r.goOutsideModule(ctx, "mod", "download", "-json", src.Module+"@"+src.Version)
	var dl goModDownload
	if jsonErr := json.Unmarshal(out, &dl); jsonErr != nil {
		if err != nil {
			return nil, fmt.Errorf("go mod download %s@%s: %w", src.Module, src.Version, err)
		}
		return nil, fmt.Errorf("go mod download %s@%s: reading its output: %w", src.Module, src.Version, jsonErr)
	}
	if dl.Error != "" {
		return nil, fmt.Errorf("template %s@%s: %s", src.Module, src.Version, dl.Error)
	}
	if err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %w", src.Module, src.Version, err)
	}
	root := dl.Dir
	source := src.Module
	if src.Subdir != "" {
		root = filepath.Join(dl.Dir, filepath.FromSlash(src.Subdir))
		source += "//" + src.Subdir
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("template %s@%s: no directory %s in the module", src.Module, dl.Version, src.Subdir)
		}
	}
	return &Template{FS: os.DirFS(root), Source: source, Version: dl.Version}, nil
}

// goOutsideModule runs the go command in an empty directory, so that the
// user's current go.mod plays no part.
func (r *Resolver) goOutsideModule(ctx context.Context, args ...string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "paved-go-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	return r.run(ctx, tmp, "go", args...)
}

// git is the hardened git runner for a template repository at dir.
func (r *Resolver) git(dir string) gitRepo { return gitRepo{dir: dir, env: r.Env} }

// run runs a command in dir and returns its standard output; a failure's
// error carries the command's standard error.
func (r *Resolver) run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	return runCommand(ctx, dir, r.Env, nil, name, args...)
}

// runCommand runs a command in dir with env (nil: paved's own) and stdin,
// and returns its standard output, also on failure (go mod download -json
// reports errors there); a failure's error carries the command's stderr.
func runCommand(ctx context.Context, dir string, env []string, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return out, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// DefaultDir is where `paved new MODULE` writes when no DIR is given: the
// module path's last element, without a major version suffix
// (example.com/acme/orders/v2 -> orders, where gonew would say v2).
func DefaultDir(modPath string) string {
	return moduleBase(modPath)
}
