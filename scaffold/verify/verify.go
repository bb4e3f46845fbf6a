// Package verify checks, offline, that what a repository contains is valid
// for the tools that will read it: GitHub workflows, Dependabot, the
// golangci-lint and GoReleaser configurations, Dockerfiles, Helm charts,
// Istio, Chaos Mesh, Argo Rollouts and Argo CD manifests, Prometheus rules,
// and their agreement with each other.
//
// Each check lives in its own file as a small type with a name and a Run
// method; Checks lists them in order. A check whose files do not exist
// returns ErrNoInput and is skipped, so verify works on any repository, not
// only generated ones. The command line is cmd/paved-verify.
package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
)

// A Finding is one problem at one place: Path is slash-separated and
// relative to the verified directory; Line and Col are 1-based (0 when the
// place within the file is not known). Variant names the values files a
// chart was rendered with when the problem shows only with them
// ("values-prod.yaml"); it is empty for the chart's defaults and for
// everything that is not a chart.
type Finding struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Check   string `json:"check"`
	Message string `json:"message"`
	Variant string `json:"variant,omitempty"`
}

// String is the text form: path:line:col: check: message, followed by
// " (with VARIANT)" when the finding has a variant.
func (f Finding) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s: %s", f.Path, f.Line, f.Col, f.Check, f.Message)
	if f.Variant != "" {
		s += " (with " + f.Variant + ")"
	}
	return s
}

// Compare orders findings by path, line, column, check, message and variant.
func (f Finding) Compare(g Finding) int {
	return cmp.Or(
		strings.Compare(f.Path, g.Path),
		cmp.Compare(f.Line, g.Line),
		cmp.Compare(f.Col, g.Col),
		strings.Compare(f.Check, g.Check),
		strings.Compare(f.Message, g.Message),
		strings.Compare(f.Variant, g.Variant),
	)
}

// A Check validates one kind of file. Run returns ErrNoInput when the
// repository has nothing for it to check, and any other error when it could
// not run at all (a broken environment, an unreadable file). A finding
// whose Check is empty is the check's own: Run names it. A check reads its
// input through the Repo's helpers (inputs.go: files by pattern, objects
// by API group, charts rendered once), which say ErrNoInput for it.
type Check interface {
	Name() string
	Run(ctx context.Context, r *Repo) ([]Finding, error)
}

// ErrNoInput is returned by a check that found none of its files.
var ErrNoInput = errors.New("no input")

// Options select what Run does.
type Options struct {
	// Checks restricts the run to these check names (all when empty).
	Checks []string
	// List is the checks to choose from; nil means Checks().
	List []Check
	// Shellcheck is the shellcheck executable for the workflow check; empty
	// means "shellcheck" when it is on PATH. "-" disables it.
	Shellcheck string
	// Charts bounds the execution of each chart's templates; paved-verify
	// runs them in a child process of itself.
	Charts ChartLimits
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
	repo.chartLimits = opts.Charts
	all := opts.List
	if all == nil {
		all = Checks()
	}
	byName := func(name string) (Check, bool) {
		i := slices.IndexFunc(all, func(c Check) bool { return c.Name() == name })
		if i < 0 {
			return nil, false
		}
		return all[i], true
	}
	names := func() string {
		var ns []string
		for _, c := range all {
			ns = append(ns, c.Name())
		}
		return strings.Join(ns, ", ")
	}
	for _, name := range repo.Config.Skip {
		if _, ok := byName(name); !ok {
			return nil, fmt.Errorf("%s: verify.skip names unknown check %q (known: %s)", AnswersFile, name, names())
		}
	}
	checks := all
	if len(opts.Checks) > 0 {
		checks = nil
		for _, name := range opts.Checks {
			c, ok := byName(name)
			if !ok {
				return nil, fmt.Errorf("unknown check %q (known: %s)", name, names())
			}
			if !slices.Contains(checks, c) {
				checks = append(checks, c)
			}
		}
	}
	type result struct {
		findings []Finding
		err      error
	}
	results := make([]result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
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
			for j := range results[i].findings {
				if results[i].findings[j].Check == "" {
					results[i].findings[j].Check = c.Name()
				}
			}
		})
	}
	wg.Wait()
	rep := &Report{}
	for i, res := range results {
		name := checks[i].Name()
		switch {
		case errors.Is(res.err, ErrNoInput):
			rep.Skipped = append(rep.Skipped, name)
		case res.err != nil:
			rep.Errors = append(rep.Errors, &CheckError{Check: name, Err: res.err})
			rep.Findings = append(rep.Findings, res.findings...)
		default:
			rep.Ran = append(rep.Ran, name)
			rep.Findings = append(rep.Findings, res.findings...)
		}
	}
	rep.Findings = Normalize(rep.Findings)
	return rep, ctx.Err()
}

// Normalize sorts findings and removes repeats, by structure: one finding
// per place, check and message. A problem the chart's defaults already
// show is not repeated for each values file; one that only some values
// files show is reported once, with all of them as its variant; a finding
// in a values file itself needs no variant.
func Normalize(fs []Finding) []Finding {
	type key struct {
		Path, Check, Message string
		Line, Col            int
	}
	variants := map[key][]string{}
	var order []key
	for _, f := range fs {
		if strings.ContainsAny(f.Message, "\n\r\t") {
			f.Message = strings.Join(strings.Fields(f.Message), " ")
		}
		k := key{f.Path, f.Check, f.Message, f.Line, f.Col}
		vs, seen := variants[k]
		if !seen {
			order = append(order, k)
		}
		if f.Variant == "" || strings.HasSuffix(f.Path, "/"+f.Variant) || f.Path == f.Variant {
			variants[k] = []string{""} // the defaults (or the file itself): no variant
			continue
		}
		if len(vs) == 1 && vs[0] == "" && seen {
			continue
		}
		for _, v := range strings.Split(f.Variant, ", ") {
			if !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		variants[k] = vs
	}
	out := make([]Finding, 0, len(order))
	for _, k := range order {
		vs := variants[k]
		slices.Sort(vs)
		v := strings.Join(vs, ", ")
		out = append(out, Finding{Path: k.Path, Line: k.Line, Col: k.Col, Check: k.Check, Message: k.Message, Variant: v})
	}
	slices.SortFunc(out, Finding.Compare)
	return out
}

// ParseText reads findings in their text form (Finding.String, one a
// line). It is the inverse of String for messages without a newline.
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
		f := Finding{Path: head[:c1], Line: line, Col: col, Check: check, Message: msg}
		if strings.HasSuffix(msg, ")") {
			if i := strings.LastIndex(msg, " (with "); i >= 0 {
				f.Message, f.Variant = msg[:i], msg[i+len(" (with "):len(msg)-1]
			}
		}
		return f, nil
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
