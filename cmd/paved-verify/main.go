// Command paved-verify runs paved's offline validators; `paved verify`
// runs it. It is a program of its own so that the libraries behind the
// checks (Helm, Kubernetes, BuildKit, Prometheus, ...) and their start-up
// cost stay out of the paved binary.
//
//	paved-verify [--format text|json] [--check NAME]... [--shellcheck PATH|-] [DIR]
//
// Findings go to stdout, sorted, as text (path:line:col: check: message) or
// as a JSON array; errors and a summary go to stderr. Exit codes are
// paved's: 0 no findings, 1 findings, 2 a check could not run or bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/paved-dev/paved/scaffold/verify"
)

// Exit codes, the same as paved's.
const (
	exitOK       = 0 // no findings
	exitFindings = 1 // findings
	exitError    = 2 // a check could not run, or bad usage
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var code int
	if len(os.Args) == 2 && os.Args[1] == verify.ChartChildArg {
		code = verify.ServeChartChild(ctx, os.Stdin, os.Stdout, os.Stderr)
	} else if exe, err := os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, "paved: verify: cannot find its own executable, which executes charts' templates in a child process:", err)
		code = exitError
	} else {
		code = run(ctx, os.Args[1:], os.Stdout, os.Stderr, verify.Checks(), verify.ChartLimits{Command: exe})
	}
	stop()
	os.Exit(code)
}

// run is the command line, with the checks to choose from and the bounds
// of charts' templates (paved-verify executes them in a child process of
// itself, which verify can stop at a deadline and a memory budget).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, checks []verify.Check, charts verify.ChartLimits) int {
	var names []string
	for _, c := range checks {
		names = append(names, c.Name())
	}
	fs := flag.NewFlagSet("paved verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text (path:line:col: check: message) or json")
	var only []string
	fs.Func("check", "run only this check (repeatable, or comma-separated): "+strings.Join(names, ", "), func(s string) error {
		only = append(only, strings.Split(s, ",")...)
		return nil
	})
	shellcheck := fs.String("shellcheck", "", `shellcheck for the workflows check (default: "shellcheck" when on PATH; "-": none)`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: paved verify [--format text|json] [--check NAME] [DIR]")
		fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitError
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) > 1 {
		fs.Usage()
		fmt.Fprintln(stderr, "paved: verify takes at most one DIR")
		return exitError
	}
	write, ok := writers[*format]
	if !ok {
		fmt.Fprintf(stderr, "paved: verify: unknown --format %q: use text or json\n", *format)
		return exitError
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	rep, err := verify.Run(ctx, dir, verify.Options{Checks: only, List: checks, Shellcheck: *shellcheck, Charts: charts})
	if err != nil {
		fmt.Fprintf(stderr, "paved: verify %s: %v\n", dir, err)
		return exitError
	}
	if err := write(stdout, rep.Findings); err != nil {
		fmt.Fprintln(stderr, "paved: verify:", err)
		return exitError
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(stderr, "paved: verify: check %s could not run: %v\n", e.Check, e.Err)
	}
	fmt.Fprintln(stderr, summary(rep))
	switch {
	case len(rep.Errors) > 0:
		return exitError
	case len(rep.Findings) > 0:
		return exitFindings
	}
	return exitOK
}

// summary is the last line on stderr: how many findings, what was checked
// and what had nothing to check.
func summary(rep *verify.Report) string {
	if len(rep.Ran) == 0 && len(rep.Errors) == 0 {
		return "paved: verify: nothing to check: no file any check reads (" + strings.Join(rep.Skipped, ", ") + ")"
	}
	s := fmt.Sprintf("paved: verify: %d finding(s); checked: %s", len(rep.Findings), strings.Join(rep.Ran, ", "))
	if len(rep.Skipped) > 0 {
		s += "; nothing to check for: " + strings.Join(rep.Skipped, ", ")
	}
	return s
}

// writers are the output formats.
var writers = map[string]func(io.Writer, []verify.Finding) error{
	"text": writeText,
	"json": writeJSON,
}

// writeText writes one finding per line.
func writeText(w io.Writer, fs []verify.Finding) error {
	for _, f := range fs {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	return nil
}

// writeJSON writes the findings as a JSON array ([] when there are none),
// with <, > and & as themselves: the output is read by people and tools,
// never embedded in HTML.
func writeJSON(w io.Writer, fs []verify.Finding) error {
	if fs == nil {
		fs = []verify.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(fs)
}
