// Package verify checks, offline, that what a repository contains is valid
// for the tools that will read it: GitHub workflows, Dependabot, the
// golangci-lint and GoReleaser configurations, Dockerfiles, Helm charts,
// Istio and Chaos Mesh manifests, Prometheus rules, and their agreement with
// each other.
//
// Each check lives in its own file as a small type with a name and a Run
// method and registers itself in init; adding a check is adding a file.
// A check whose files do not exist returns ErrNoInput and is skipped, so
// verify works on any repository, not only generated ones.
package verify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// A Finding is one problem at one place: Path is slash-separated and
// relative to the verified directory; Line and Col are 1-based (0 when the
// place within the file is not known).
type Finding struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Check   string `json:"check"`
	Message string `json:"message"`
}

// String is the text form: path:line:col: check: message.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", f.Path, f.Line, f.Col, f.Check, f.Message)
}

// Compare orders findings by path, line, column, check and message.
func (f Finding) Compare(g Finding) int {
	return cmp.Or(
		strings.Compare(f.Path, g.Path),
		cmp.Compare(f.Line, g.Line),
		cmp.Compare(f.Col, g.Col),
		strings.Compare(f.Check, g.Check),
		strings.Compare(f.Message, g.Message),
	)
}

// A Check validates one kind of file. Run returns ErrNoInput when the
// repository has nothing for it to check, and any other error when it could
// not run at all (a broken environment, an unreadable file).
type Check interface {
	Name() string
	Run(ctx context.Context, r *Repo) ([]Finding, error)
}

// ErrNoInput is returned by a check that found none of its files.
var ErrNoInput = errors.New("no input")

var registry = map[string]Check{}

// register adds a check; each check's file calls it from init.
func register(c Check) {
	if _, dup := registry[c.Name()]; dup {
		panic("verify: duplicate check " + c.Name())
	}
	registry[c.Name()] = c
}

// Checks returns every registered check, sorted by name.
func Checks() []Check {
	cs := make([]Check, 0, len(registry))
	for _, c := range registry {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b Check) int { return strings.Compare(a.Name(), b.Name()) })
	return cs
}

// Options select what Run does.
type Options struct {
	// Checks restricts the run to these check names (all when empty).
	Checks []string
	// Shellcheck is the shellcheck executable for the workflow check; empty
	// means "shellcheck" when it is on PATH. "-" disables it.
	Shellcheck string
}

// A CheckError says that a check could not run.
type CheckError struct {
	Check string
	Err   error
}

func (e *CheckError) Error() string { return e.Check + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// Report is the outcome of Run.
type Report struct {
	Findings []Finding     // sorted, without duplicates
	Ran      []string      // checks that had input
	Skipped  []string      // checks that found nothing to check (or were skipped by configuration)
	Errors   []*CheckError // checks that could not run
}

// Run runs the checks on the repository in dir, concurrently.
func Run(ctx context.Context, dir string, opts Options) (*Report, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	repo, err := OpenRepo(abs)
	if err != nil {
		return nil, err
	}
	repo.shellcheck = opts.Shellcheck
	repo.ctx = ctx
	for _, name := range repo.Config.Skip {
		if _, ok := registry[name]; !ok {
			return nil, fmt.Errorf("%s: verify.skip names unknown check %q (known: %s)", AnswersFile, name, strings.Join(Names(), ", "))
		}
	}
	checks := Checks()
	if len(opts.Checks) > 0 {
		var sel []Check
		for _, name := range opts.Checks {
			c, ok := registry[name]
			if !ok {
				return nil, fmt.Errorf("unknown check %q (known: %s)", name, strings.Join(Names(), ", "))
			}
			sel = append(sel, c)
		}
		checks = sel
	}
	type result struct {
		name     string
		findings []Finding
		err      error
	}
	results := make([]result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		results[i].name = c.Name()
		if slices.Contains(repo.Config.Skip, c.Name()) {
			results[i].err = ErrNoInput
			continue
		}
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					results[i].err = fmt.Errorf("internal error: %v", p)
				}
			}()
			results[i].findings, results[i].err = c.Run(ctx, repo)
		})
	}
	wg.Wait()
	rep := &Report{}
	for _, res := range results {
		switch {
		case errors.Is(res.err, ErrNoInput):
			rep.Skipped = append(rep.Skipped, res.name)
		case res.err != nil:
			rep.Errors = append(rep.Errors, &CheckError{Check: res.name, Err: res.err})
			rep.Findings = append(rep.Findings, res.findings...)
		default:
			rep.Ran = append(rep.Ran, res.name)
			rep.Findings = append(rep.Findings, res.findings...)
		}
	}
	rep.Findings = Normalize(dropVariantRepeats(rep.Findings))
	return rep, ctx.Err()
}

var variantSuffixRE = regexp.MustCompile(` \(with [^()]+\)$`)

// dropVariantRepeats drops a finding made with a chart's values-*.yaml
// ("... (with values-prod.yaml)") when the chart's defaults already make
// the same one.
func dropVariantRepeats(fs []Finding) []Finding {
	plain := map[Finding]bool{}
	for _, f := range fs {
		if !variantSuffixRE.MatchString(f.Message) {
			plain[f] = true
		}
	}
	out := fs[:0]
	for _, f := range fs {
		if loc := variantSuffixRE.FindStringIndex(f.Message); loc != nil {
			g := f
			g.Message = f.Message[:loc[0]]
			if plain[g] {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// Names lists the registered check names.
func Names() []string {
	var names []string
	for _, c := range Checks() {
		names = append(names, c.Name())
	}
	return names
}

// Normalize sorts findings and drops exact duplicates.
func Normalize(fs []Finding) []Finding {
	for i := range fs {
		if strings.ContainsAny(fs[i].Message, "\n\r\t") {
			fs[i].Message = strings.Join(strings.Fields(fs[i].Message), " ")
		}
	}
	slices.SortFunc(fs, Finding.Compare)
	return slices.Compact(fs)
}

// WriteText writes one finding per line.
func WriteText(w io.Writer, fs []Finding) error {
	for _, f := range fs {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the findings as a JSON array ([] when there are none).
func WriteJSON(w io.Writer, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(fs)
}

// ParseText reads findings in the text form written by WriteText. It is the
// inverse of WriteText for messages without a newline.
func ParseText(data string) ([]Finding, error) {
	var out []Finding
	for n, line := range strings.Split(data, "\n") {
		if line == "" {
			continue
		}
		f, err := parseFinding(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// parseFinding parses "path:line:col: check: message". The path may itself
// contain colons, so the line and column are found from the right of the
// first ": " that follows two numbers.
func parseFinding(s string) (Finding, error) {
	for i := 0; i < len(s); i++ {
		j := strings.Index(s[i:], ": ")
		if j < 0 {
			break
		}
		head, rest := s[:i+j], s[i+j+2:]
		i += j
		c2 := strings.LastIndexByte(head, ':')
		if c2 < 0 {
			continue
		}
		c1 := strings.LastIndexByte(head[:c2], ':')
		if c1 <= 0 {
			continue
		}
		line, ok1 := atoi(head[c1+1 : c2])
		col, ok2 := atoi(head[c2+1:])
		if !ok1 || !ok2 {
			continue
		}
		check, msg, ok := strings.Cut(rest, ": ")
		if !ok || check == "" || strings.ContainsAny(check, " \t") {
			return Finding{}, fmt.Errorf("missing check name in %q", s)
		}
		return Finding{Path: head[:c1], Line: line, Col: col, Check: check, Message: msg}, nil
	}
	return Finding{}, fmt.Errorf("not path:line:col: check: message: %q", s)
}

// atoi parses a small non-negative decimal number.
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
