package verify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/paved-dev/paved/scaffold"
)

// Repo is the repository being verified: its files, read once, and facts
// that several checks share (rendered charts, the service's name), each
// computed once on first use.
type Repo struct {
	Dir    string   // absolute
	Files  []string // every file, slash-separated, relative to Dir, sorted
	Config Config   // the verify section of .paved-answers.yaml

	// Service is the service's name: the answers file's Name, else the last
	// element of go.mod's module path; empty when neither exists.
	Service string

	shellcheck  string
	chartLimits ChartLimits

	// Links are the symbolic links of the repository whose target is not
	// a file inside it (outside, or nowhere). No check reads through them:
	// a pull request's link to ~/.ssh/id_rsa or /proc/self/environ must not
	// reach a finding's text.
	Links []string

	mu   sync.Mutex
	data map[string][]byte

	// Facts that several checks share, each computed once by whichever
	// check asks first.
	chartDirs func() []string
	manifests func() (*manifestSet, error)
	metrics   func() *metricSet
	chartSet  onceCtx[[]*chartInfo]
}

// onceCtx computes a value once, with the context of the first caller
// (every caller is a check of the same run, sharing the run's context).
type onceCtx[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (o *onceCtx[T]) get(ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	o.once.Do(func() { o.v, o.err = f(ctx) })
	return o.v, o.err
}

// Config is the optional verify section of .paved-answers.yaml:
//
//	verify:
//	  skip: [goreleaser]                     # checks not to run
//	  invariant-values: [image.repository]   # values that no values-*.yaml may change
type Config struct {
	Skip            []string `yaml:"skip"`
	InvariantValues []string `yaml:"invariant-values"`
}

// DefaultInvariantValues are the chart values that per-environment values
// files must not change unless the answers file says otherwise.
var DefaultInvariantValues = []string{
	"podSecurityContext",
	"securityContext",
	"containerSecurityContext",
	"tls.minVersion",
	"image.repository",
}

// AnswersFile is where paved records a repository's answers.
const AnswersFile = scaffold.AnswersFileName

// skipDirs are never descended into: VCS data, vendored and generated trees,
// and Go's testdata (which by convention holds deliberately broken input).
var skipDirs = map[string]bool{
	".git": true, "vendor": true, "node_modules": true, "testdata": true, "dist": true,
}

// OpenRepo lists the files under dir and reads the answers file.
func OpenRepo(dir string) (*Repo, error) {
	r := &Repo{Dir: dir, data: map[string][]byte{}}
	r.chartDirs = sync.OnceValue(r.findChartDirs)
	r.manifests = sync.OnceValues(r.readManifests)
	r.metrics = sync.OnceValue(r.scanMetrics)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && (skipDirs[name] || strings.HasPrefix(name, ".") && name != ".github") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type().IsRegular():
			r.Files = append(r.Files, rel)
		case d.Type()&fs.ModeSymlink != 0:
			// A link to a file of the repository is that file; any other
			// link is listed apart and never followed.
			if st, err := statInRoot(dir, rel); err == nil && st.Mode().IsRegular() {
				r.Files = append(r.Files, rel)
			} else if err != nil {
				r.Links = append(r.Links, rel)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(r.Files)
	r.Config.InvariantValues = DefaultInvariantValues
	if b, err := r.Read(AnswersFile); err == nil {
		// The answers file's format is the engine's: one parser for both.
		af, err := scaffold.ParseAnswersFile(AnswersFile, b)
		if err != nil {
			return nil, err
		}
		if af.Verify.Kind != 0 {
			var cfg Config
			if err := af.Verify.Decode(&cfg); err != nil {
				return nil, fmt.Errorf("%s: verify: %w", AnswersFile, err)
			}
			r.Config.Skip = cfg.Skip
			if cfg.InvariantValues != nil {
				r.Config.InvariantValues = cfg.InvariantValues
			}
		}
		if name, ok := af.Answers["Name"].(string); ok {
			r.Service = name
		}
	}
	if r.Service == "" {
		if b, err := r.Read("go.mod"); err == nil {
			if mod := modulePath(b); mod != "" {
				r.Service = path.Base(mod)
			}
		}
	}
	return r, nil
}

// modulePath returns the module path of a go.mod file, or "".
func modulePath(gomod []byte) string {
	for _, line := range bytes.Split(gomod, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// Glob returns the files matching any of the doublestar patterns, sorted.
func (r *Repo) Glob(patterns ...string) []string {
	var out []string
	for _, f := range r.Files {
		for _, p := range patterns {
			if ok, _ := doublestar.Match(p, f); ok {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// Exists reports whether the file exists (among the files listed).
func (r *Repo) Exists(rel string) bool {
	_, ok := slices.BinarySearch(r.Files, rel)
	return ok
}

// IsDir reports whether rel (slash-separated, relative) is a directory of
// the repository; "" and "." are the root.
func (r *Repo) IsDir(rel string) bool {
	st, err := statInRoot(r.Dir, rel)
	return err == nil && st.IsDir()
}

// statInRoot stats rel within dir, following links only while they stay
// inside dir.
func statInRoot(dir, rel string) (fs.FileInfo, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if rel == "" {
		rel = "."
	}
	return root.Stat(filepath.FromSlash(rel))
}

// Read returns a file's content, read once, through the repository's
// root: a link that leaves the repository is an error, not its target.
func (r *Repo) Read(rel string) ([]byte, error) {
	r.mu.Lock()
	b, ok := r.data[rel]
	r.mu.Unlock()
	if ok {
		return b, nil
	}
	f, err := os.OpenInRoot(r.Dir, filepath.FromSlash(rel))
	if err != nil {
		return nil, err
	}
	b, err = io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.data[rel] = b
	r.mu.Unlock()
	return b, nil
}

// Abs is the absolute OS path of a repository file.
func (r *Repo) Abs(rel string) string { return filepath.Join(r.Dir, filepath.FromSlash(rel)) }
