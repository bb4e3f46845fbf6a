package verify

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes of Main, the same as paved's.
const (
	ExitOK       = 0 // no findings
	ExitFindings = 1 // findings
	ExitError    = 2 // a check could not run, or bad usage
)

// Main is the verify command line:
//
//	verify [--format text|json] [--check NAME]... [--shellcheck PATH|-] [DIR]
//
// Findings go to stdout, sorted, as text (path:line:col: check: message) or
// as a JSON array; errors and a summary go to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("paved verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text (path:line:col: check: message) or json")
	var checks []string
	fs.Func("check", "run only this check (repeatable, or comma-separated): "+strings.Join(Names(), ", "), func(s string) error {
		checks = append(checks, strings.Split(s, ",")...)
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
				return ExitOK
			}
			return ExitError
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
		return ExitError
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "paved: verify: unknown --format %q: use text or json\n", *format)
		return ExitError
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	rep, err := Run(ctx, dir, Options{Checks: checks, Shellcheck: *shellcheck})
	if err != nil {
		fmt.Fprintf(stderr, "paved: verify %s: %v\n", dir, err)
		return ExitError
	}
	if *format == "json" {
		err = WriteJSON(stdout, rep.Findings)
	} else {
		err = WriteText(stdout, rep.Findings)
	}
	if err != nil {
		fmt.Fprintln(stderr, "paved: verify:", err)
		return ExitError
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(stderr, "paved: verify: check %s could not run: %v\n", e.Check, e.Err)
	}
	summary := fmt.Sprintf("paved: verify: %d finding(s); checked: %s", len(rep.Findings), strings.Join(rep.Ran, ", "))
	if len(rep.Skipped) > 0 {
		summary += "; nothing to check for: " + strings.Join(rep.Skipped, ", ")
	}
	fmt.Fprintln(stderr, summary)
	switch {
	case len(rep.Errors) > 0:
		return ExitError
	case len(rep.Findings) > 0:
		return ExitFindings
	}
	return ExitOK
}
