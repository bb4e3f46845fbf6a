package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/paved-dev/paved/scaffold"
)

// exitCodeError ends the command with a given exit code; its message, if
// any, has been printed already.
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string { return e.msg }

func optionalDir(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", err
	}
	switch len(pos) {
	case 0:
		return ".", nil
	case 1:
		return pos[0], nil
	}
	fs.Usage()
	return "", fmt.Errorf("%s takes at most one DIR", fs.Name())
}

func cmdUpdate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, dryRunOnly bool) error {
	name := "paved update"
	if dryRunOnly {
		name = "paved diff"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var to string
	var dryRun, allowDirty, allowDowngrade, defaults, trust bool
	var sets stringList
	if !dryRunOnly {
		fs.StringVar(&to, "to", "", "template version to update to (default: the newest)")
		fs.BoolVar(&dryRun, "dry-run", false, "print the unified diff of what would change; change nothing")
		fs.BoolVar(&allowDirty, "allow-dirty", false, "update although the git work tree has uncommitted changes")
		fs.BoolVar(&allowDowngrade, "allow-downgrade", false, "let --to name a version older than the recorded one")
		fs.Var(&sets, "set", "change an answer KEY=VALUE (repeatable)")
		fs.BoolVar(&defaults, "defaults", false, "never prompt: questions new in the target version take their defaults")
		fs.BoolVar(&trust, "trust", false, "run the template's migrations")
	}
	fs.Usage = func() {
		if dryRunOnly {
			fmt.Fprintln(stderr, "usage: paved diff [DIR]")
		} else {
			fmt.Fprintln(stderr, "usage: paved update [flags] [DIR]")
		}
		fs.PrintDefaults()
	}
	dir, err := optionalDir(fs, args)
	if err != nil {
		return err
	}
	r, err := newResolver()
	if err != nil {
		return err
	}
	opts := scaffold.UpdateOptions{
		Dir: dir, To: to, DryRun: dryRun || dryRunOnly, AllowDirty: allowDirty, AllowDowngrade: allowDowngrade, Trust: trust,
		Answers:      scaffold.AnswerInput{Set: sets},
		PavedVersion: pavedVersion(), Resolver: r, Log: stderr, Diff: stdout,
	}
	if f, ok := stdin.(*os.File); ok && !defaults && !opts.DryRun && term.IsTerminal(int(f.Fd())) {
		opts.Answers.Prompter = surveyPrompter{}
	}
	res, err := scaffold.Update(ctx, opts)
	if err != nil {
		return err
	}
	if dryRunOnly {
		return nil
	}
	printSummary(stderr, res, opts.DryRun)
	if conflicts := res.Conflicts(); len(conflicts) > 0 && !opts.DryRun {
		return &exitCodeError{code: exitFindings, msg: fmt.Sprintf("%d conflict(s): resolve the markers, then git add the files", len(conflicts))}
	}
	return nil
}

func printSummary(w io.Writer, res *scaffold.UpdateResult, dry bool) {
	verb := "updated"
	if dry {
		verb = "would update"
	}
	fmt.Fprintf(w, "paved: %s %s -> %s: %d change(s)\n", verb, res.From, res.To, len(res.Changes))
	for _, c := range res.Changes {
		line := fmt.Sprintf("  %-8s %s", c.Action, c.Path)
		switch c.Action {
		case scaffold.ActionConflict:
			line += " (" + c.Why + ")"
		case scaffold.ActionKeep:
			line += " (the template dropped it; you changed it)"
		}
		fmt.Fprintln(w, line)
	}
	for _, q := range res.NewQuestions {
		fmt.Fprintf(w, "paved: %s asks a new question, %s: answered %v\n", res.To, q.Name, q.Answer)
	}
	if len(res.Edited) > 0 {
		fmt.Fprintf(w, "paved: applied the answers you edited in %s: %s\n", scaffold.AnswersFileName, strings.Join(res.Edited, ", "))
	}
	if len(res.Dropped) > 0 {
		fmt.Fprintf(w, "paved: the template no longer asks %s; those answers were dropped\n", strings.Join(res.Dropped, ", "))
	}
	if res.Skipped {
		fmt.Fprintln(w, "paved: skipped the template's migrations (rerun them with --trust):")
		for _, m := range res.Migrations {
			fmt.Fprintf(w, "  %s\n", strings.Join(m, " "))
		}
	}
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("paved check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	dir, err := optionalDir(fs, args)
	if err != nil {
		return err
	}
	af, err := scaffold.ReadAnswers(dir)
	if err != nil {
		return err
	}
	r, err := newResolver()
	if err != nil {
		return err
	}
	latest, err := r.Latest(ctx, af.Template)
	if err != nil {
		return fmt.Errorf("cannot tell whether %s is up to date: %w", af.Template, err)
	}
	current := af.Version
	if af.Commit != "" {
		current = af.Commit
	}
	if scaffold.IsDevelVersion(latest) && !scaffold.IsDevelVersion(af.Version) {
		return fmt.Errorf("cannot tell whether %s %s is up to date: this paved is a development build; use a paved release", af.Template, af.Version)
	}
	newer, err := r.IsNewer(ctx, af.Template, current, latest)
	if err != nil {
		return fmt.Errorf("cannot tell whether %s is up to date: %w", af.Template, err)
	}
	if *asJSON {
		out, _ := json.Marshal(map[string]any{"template": af.Template, "current": af.Version, "latest": latest, "outdated": newer})
		fmt.Fprintln(stdout, string(out))
	} else if newer {
		fmt.Fprintf(stdout, "%s: %s -> %s available; run paved update\n", af.Template, af.Version, latest)
	} else {
		fmt.Fprintf(stdout, "%s: %s is up to date\n", af.Template, af.Version)
	}
	if newer {
		return &exitCodeError{code: exitFindings}
	}
	return nil
}
