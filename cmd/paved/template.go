package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates"
)

const templateUsage = `usage:
  paved template list [NAME]                       built-in templates, their questions and defaults
  paved template check [--format text|json] [DIR]  lint a template (exit 1: findings)
  paved template test [-update] [-run REGEX] [-golden-only] [DIR]
                                                   render paved-tests.yaml's cases, compare with golden trees, run their commands
  paved template versions SRC                      a template source's versions, newest first
`

// cmdTemplate is the `paved template` command group; `paved templates` is
// `paved template list`.
func cmdTemplate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, templateUsage)
		return &exitCodeError{code: exitError, msg: "template needs a subcommand: list, check, test or versions"}
	}
	switch args[0] {
	case "list":
		return cmdTemplateList(args[1:], stdout, stderr)
	case "check":
		return cmdTemplateCheck(ctx, args[1:], stdout, stderr)
	case "test":
		return cmdTemplateTest(ctx, args[1:], stdout, stderr)
	case "versions":
		return cmdTemplateVersions(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, templateUsage)
		return nil
	}
	fmt.Fprint(stderr, templateUsage)
	return &exitCodeError{code: exitError, msg: fmt.Sprintf("unknown template subcommand %q", args[0])}
}

// cmdTemplateList shows each built-in template's questions, with each
// default as it renders for an example module.
func cmdTemplateList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paved template list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: paved template list [NAME]") }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fs.Usage()
		return errors.New("template list takes at most one NAME")
	}
	names := templates.Names
	if len(pos) == 1 {
		if !slices.Contains(names, pos[0]) {
			return fmt.Errorf("no built-in template %q (built in: %s)", pos[0], strings.Join(names, ", "))
		}
		names = []string{pos[0]}
	}
	b, err := templates.Builtins()
	if err != nil {
		return err
	}
	for i, name := range names {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		info, err := scaffold.DescribeTemplate(&scaffold.Template{FS: b[name], Source: name, Version: pavedVersion()}, pavedVersion())
		if err != nil {
			return fmt.Errorf("built-in %s: %w", name, err)
		}
		fmt.Fprintf(stdout, "%s: %s\n", name, info.Description)
		fmt.Fprintf(stdout, "  defaults as for module %s:\n", scaffold.ExampleModule)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, q := range info.Questions {
			help := q.Help
			if len(q.Choices) > 0 {
				help += " [" + strings.Join(q.Choices, "|") + "]"
			}
			if q.When != "" {
				help += " (asked when " + q.When + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", q.Name, q.Type, q.Default, help)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// cmdTemplateCheck lints a template directory.
func cmdTemplateCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paved template check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text (FILE:LINE:COL: message) or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: paved template check [--format text|json] [DIR]")
		fs.PrintDefaults()
	}
	dir, err := optionalDir(fs, args)
	if err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("--format %q: want text or json", *format)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() { //nolint:gosec // G703: the directory to check is the user's own argument
		return fmt.Errorf("template directory %s: not a directory", dir)
	}
	fsys, err := scaffold.DirFS(dir)
	if err != nil {
		return err
	}
	findings, err := scaffold.CheckTemplate(ctx, fsys)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if *format == "json" {
		if findings == nil {
			findings = []scaffold.Finding{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(findings); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f)
		}
	}
	if len(findings) > 0 {
		return &exitCodeError{code: exitFindings, msg: fmt.Sprintf("%d finding(s) in %s", len(findings), dir)}
	}
	return nil
}

// cmdTemplateTest renders a template's cases and compares them with their
// golden trees, then runs their commands.
func cmdTemplateTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paved template test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	update := fs.Bool("update", false, "rewrite the golden trees from what the template renders")
	runRE := fs.String("run", "", "run only the cases whose name matches this regular expression")
	goldenOnly := fs.Bool("golden-only", false, "compare golden trees only; run no commands (the cases file's commands run as you: test only templates you trust)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: paved template test [-update] [-run REGEX] [-golden-only] [DIR]")
		fs.PrintDefaults()
	}
	dir, err := optionalDir(fs, args)
	if err != nil {
		return err
	}
	tt, err := scaffold.OpenTemplateTest(ctx, dir)
	if err != nil {
		return err
	}
	tt.Update = *update
	if *goldenOnly {
		for i := range tt.Cases.Cases {
			tt.Cases.Cases[i].Commands = nil
		}
	}
	if *runRE != "" {
		if tt.Run, err = regexp.Compile(*runRE); err != nil {
			return fmt.Errorf("-run: %w", err)
		}
	}
	start := time.Now()
	results, err := scaffold.RunTemplateTest(ctx, tt)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tGATE\tRESULT\tTIME")
	failed := 0
	for _, r := range results {
		if r.Failed() {
			failed++
		}
		for _, g := range r.Gates {
			result := "ok"
			if g.Err != nil {
				result = "FAIL"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Case.Name, g.Name, result, g.Duration.Round(time.Millisecond))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		for _, g := range r.Gates {
			if g.Err == nil {
				continue
			}
			fmt.Fprintf(stdout, "\n--- %s: %s: %v\n", r.Case.Name, g.Name, g.Err)
			if g.Detail != "" {
				fmt.Fprintln(stdout, strings.TrimRight(g.Detail, "\n"))
			}
		}
	}
	fmt.Fprintf(stderr, "paved: %d case(s), %d failed, in %s\n", len(results), failed, time.Since(start).Round(time.Millisecond))
	if failed > 0 {
		return &exitCodeError{code: exitFindings, msg: fmt.Sprintf("%d of %d case(s) failed", failed, len(results))}
	}
	return nil
}

// cmdTemplateVersions lists a template source's versions.
func cmdTemplateVersions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paved template versions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: paved template versions SRC  (a built-in name, ./dir, or MODULE[//SUBDIR])")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("template versions takes one SRC")
	}
	r, err := newResolver()
	if err != nil {
		return err
	}
	vs, src, err := r.Versions(ctx, pos[0])
	if err != nil {
		return err
	}
	af, marked, err := scaffold.MarkRecorded(vs, src, ".")
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		fmt.Fprintf(stderr, "paved: %s has no versions yet\n", src.Spec())
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, v := range vs {
		line := v.Name
		if v.Commit != "" {
			line += "\t" + v.Commit
		}
		if v.Recorded {
			line += "\t(recorded in " + scaffold.AnswersFileName + ")"
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if af != nil && af.Template == src.Spec() && !marked {
		fmt.Fprintf(stderr, "paved: this repository records %s, which is not among them\n", af.Version)
	}
	return nil
}

// templateArgs is the arguments of the template group: `paved templates
// ARGS` is `paved template list ARGS`.
func templateArgs(args []string) []string {
	if args[0] == "templates" {
		return append([]string{"list"}, args[1:]...)
	}
	return args[1:]
}
