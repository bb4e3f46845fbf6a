package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aymanbagabas/go-udiff"
)

// GoldenVersion stands in for the template's and paved's version in golden
// trees, so that they do not change with every commit.
const GoldenVersion = "v0.0.0-golden"

// TemplateTest is what `paved template test` runs: every case of a cases
// file rendered from one template, compared with its golden tree, then its
// commands run in the rendered repository.
type TemplateTest struct {
	// Template is rendered for each case; its Source and Version are what
	// the golden answers files record.
	Template *Template
	Cases    *TestCases
	// GoldenDir holds a directory per case, on disk.
	GoldenDir string
	// GoldenRoot confines every read and write of golden trees: a cases
	// file may put them beside the template (golden: ../testdata/golden),
	// but -update never removes or writes anything outside GoldenRoot.
	GoldenRoot string
	// Update rewrites the golden trees instead of comparing with them.
	Update bool
	// Run selects the cases whose name it matches; nil runs all.
	Run *regexp.Regexp
	// Parallel is how many cases run at once; 0 means GOMAXPROCS.
	Parallel int
	// Env is the commands' environment; nil means paved's own.
	Env []string
}

// CaseResult is one case's outcome, gate by gate.
type CaseResult struct {
	Case  TestCase
	Gates []GateResult
}

// Failed reports whether any gate of the case failed.
func (r CaseResult) Failed() bool {
	return slices.ContainsFunc(r.Gates, func(g GateResult) bool { return g.Err != nil })
}

// GateResult is one step of a case: "golden" (or "update"), or a command.
type GateResult struct {
	Name     string
	Err      error
	Detail   string // a failure's diff or command output
	Duration time.Duration
}

// OpenTemplateTest reads the template in dir, as it is on disk, and its
// cases file, for `paved template test DIR`. Golden trees are looked up
// relative to dir and must stay inside dir's git repository (or dir, when
// it is not in one).
func OpenTemplateTest(ctx context.Context, dir string) (*TemplateTest, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fsys, err := DirFS(abs)
	if err != nil {
		return nil, err
	}
	if err := checkSizes(fsys, defaultReadLimits()); err != nil {
		return nil, fmt.Errorf("template %s: %w", dir, err)
	}
	cases, err := ReadTestCases(fsys)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no %s: write one with the cases to test (see paved's README, Writing a template)", dir, TestsFileName)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	// The bound is found here, not asked of git: the repository's own
	// configuration (core.worktree) would decide where -update may write.
	root, ok := gitTop(abs)
	if !ok {
		root = abs
	}
	return &TemplateTest{
		Template:   &Template{FS: fsys, Source: filepath.Base(abs), Version: GoldenVersion},
		Cases:      cases,
		GoldenDir:  filepath.Join(abs, filepath.FromSlash(cases.Golden)),
		GoldenRoot: root,
	}, nil
}

// goldenPath is a case's golden directory relative to GoldenRoot.
func (tt *TemplateTest) goldenPath(name string) (string, error) {
	rel, err := filepath.Rel(tt.GoldenRoot, filepath.Join(tt.GoldenDir, name))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("golden trees in %s are outside %s (the template's repository): paved reads and writes golden trees only inside it", tt.GoldenDir, tt.GoldenRoot)
	}
	return rel, nil
}

// RunTemplateTest runs the cases, in parallel, and returns their results
// in the cases file's order. An error means the template could not be
// tested at all (no manifest, a bad one).
func RunTemplateTest(ctx context.Context, tt *TemplateTest) ([]CaseResult, error) {
	// Read once here to fail early; each case reads its own copy, since a
	// manifest holds its render's template set and function budget.
	if _, err := ReadManifest(tt.Template.FS); err != nil {
		return nil, err
	}
	var cases []TestCase
	for _, c := range tt.Cases.Cases {
		if tt.Run == nil || tt.Run.MatchString(c.Name) {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("no case matches -run %s", tt.Run)
	}
	parallel := tt.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	results := make([]CaseResult, len(cases))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			m, err := ReadManifest(tt.Template.FS)
			if err != nil {
				results[i] = CaseResult{Case: c, Gates: []GateResult{{Name: "manifest", Err: err}}}
				return
			}
			results[i] = tt.runCase(ctx, m, c)
		})
	}
	wg.Wait()
	return results, ctx.Err()
}

// runCase renders one case, compares or updates its golden tree, and runs
// its commands; a gate that fails stops the case.
func (tt *TemplateTest) runCase(ctx context.Context, m *Manifest, c TestCase) CaseResult {
	res := CaseResult{Case: c}
	start := time.Now()
	gate := "golden"
	if tt.Update {
		gate = "update"
	}
	files, err := tt.render(ctx, m, c)
	var rel string
	if err == nil {
		rel, err = tt.goldenPath(c.Name)
	}
	if err == nil {
		if tt.Update {
			err = writeGolden(tt.GoldenRoot, rel, files)
		} else {
			var detail string
			if detail, err = compareGolden(tt.GoldenRoot, rel, files); err != nil {
				res.Gates = append(res.Gates, GateResult{Name: gate, Err: err, Detail: detail, Duration: time.Since(start)})
				return res
			}
		}
	}
	res.Gates = append(res.Gates, GateResult{Name: gate, Err: err, Duration: time.Since(start)})
	if err != nil || len(c.Commands) == 0 {
		return res
	}
	work, err := os.MkdirTemp("", "paved-test-"+c.Name+"-")
	if err != nil {
		res.Gates = append(res.Gates, GateResult{Name: "write", Err: err})
		return res
	}
	defer os.RemoveAll(work)
	repo := filepath.Join(work, "repo")
	if err := WriteTree(ctx, repo, files); err != nil {
		res.Gates = append(res.Gates, GateResult{Name: "write", Err: err})
		return res
	}
	for _, argv := range c.Commands {
		g := tt.command(ctx, repo, c.Timeout, argv)
		res.Gates = append(res.Gates, g)
		if g.Err != nil {
			break
		}
	}
	return res
}

// render renders a case as `paved new` would, without tasks.
func (tt *TemplateTest) render(ctx context.Context, m *Manifest, c TestCase) ([]File, error) {
	plan, err := planWith(tt.Template, m, c.Module, GoldenVersion, AnswerInput{Given: c.Answers}, Limits{})
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	files, err := plan.Render(ctx)
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	return files, nil
}

// command runs one command of a case in the rendered repository.
func (tt *TemplateTest) command(ctx context.Context, dir string, timeout time.Duration, argv []string) GateResult {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = tt.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	g := GateResult{Name: strings.Join(argv, " "), Duration: time.Since(start)}
	switch {
	case err != nil && ctx.Err() == context.DeadlineExceeded:
		g.Err, g.Detail = fmt.Errorf("timed out after %s", timeout), tail(out.String(), 60)
	case err != nil:
		g.Err, g.Detail = err, tail(out.String(), 60)
	}
	return g
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// compareGolden compares a rendered tree with its golden directory, file by
// file; detail holds a unified diff per differing file.
func compareGolden(root, dir string, files []File) (detail string, err error) {
	want, err := readGolden(root, dir)
	if err != nil {
		return "", err
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = goldenContent(f)
	}
	names := unionKeys(want, got)
	var b strings.Builder
	var differ []string
	for _, name := range names {
		w, inWant := want[name]
		g, inGot := got[name]
		switch {
		case !inWant:
			fmt.Fprintf(&b, "%s: rendered but not in the golden tree\n", name)
		case !inGot:
			fmt.Fprintf(&b, "%s: in the golden tree but no longer rendered\n", name)
		case w != g:
			fmt.Fprintf(&b, "%s differs from its golden file (-golden +rendered):\n%s", name, udiff.Unified("golden/"+name, "rendered/"+name, w, g))
		default:
			continue
		}
		differ = append(differ, name)
	}
	if len(differ) == 0 {
		return "", nil
	}
	return b.String(), fmt.Errorf("differs from %s in %s (if intended: -update)", filepath.Join(root, dir), strings.Join(differ, ", "))
}

// goldenContent is what a golden tree holds for a file: its bytes, or for
// a link, "link -> TARGET".
func goldenContent(f File) string {
	if f.Mode&fs.ModeSymlink != 0 {
		return "link -> " + f.Link
	}
	return string(f.Data)
}

// readGolden reads a golden tree, dir relative to root, through root.
func readGolden(root, dir string) (map[string]string, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]string{}
	err = fs.WalkDir(r.FS(), filepath.ToSlash(dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, filepath.ToSlash(dir)+"/")
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := r.Readlink(filepath.FromSlash(p))
			out[rel] = "link -> " + target
			return err
		}
		data, err := r.ReadFile(filepath.FromSlash(p))
		out[rel] = string(data)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no golden tree %s (create it with -update)", filepath.Join(root, dir))
	}
	return out, err
}

// writeGolden replaces a golden tree (dir, relative to root) with a
// rendered one, through root. Files are written 0o644 (golden trees are
// data; modes are not compared), links as links.
func writeGolden(root, dir string, files []File) error {
	if err := CheckTree(filesWithoutState(files)); err != nil {
		return err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.RemoveAll(dir); err != nil {
		return err
	}
	if err := r.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := r.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if f.Mode&fs.ModeSymlink != 0 {
			if err := r.Symlink(f.Link, name); err != nil {
				return err
			}
			continue
		}
		if err := r.WriteFile(name, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// filesWithoutState drops paved's own files, which the policy keeps from
// templates but a golden tree holds.
func filesWithoutState(files []File) []File {
	return slices.DeleteFunc(slices.Clone(files), func(f File) bool { return f.Path == AnswersFileName || f.Path == LockFileName })
}
