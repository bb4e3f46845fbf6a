package main

import (
	"context"
	"encoding/json"
	"errors"
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
	return "", &usageError{err: fmt.Errorf("%s takes at most one DIR", fs.Name())}
}

func cmdUpdate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, dryRunOnly bool) error {
	fs := newFlagSet(stderr, "paved update", "paved update [flags] [DIR]",
		"Apply what changed in the template since the version DIR (default: .) records, by\nthree-way merge into your files; conflicts get markers and exit 1.")
	if dryRunOnly {
		fs = newFlagSet(stderr, "paved diff", "paved diff [DIR]",
			"Print what paved update would change in DIR (default: .), as a unified diff; change nothing.")
	}
	var to string
	var dryRun, allowDirty, allowDowngrade, defaults, trust, asJSON bool
	var sets stringList
	if !dryRunOnly {
		fs.StringVar(&to, "to", "", "template version to update to (default: the newest)")
		fs.BoolVar(&dryRun, "dry-run", false, "print the unified diff of what would change; change nothing")
		fs.BoolVar(&asJSON, "json", false, "print a summary of changes and conflicts as JSON on stdout (also on failure, with an error field)")
		fs.BoolVar(&allowDirty, "allow-dirty", false, "update although the git work tree has uncommitted changes")
		fs.BoolVar(&allowDowngrade, "allow-downgrade", false, "let --to name a version older than the recorded one")
		fs.Var(&sets, "set", "change an answer KEY=VALUE (repeatable)")
		fs.BoolVar(&defaults, "defaults", false, "never prompt: questions new in the target version take their defaults")
		fs.BoolVar(&trust, "trust", false, "run the template's migrations")
	}
	dir, err := optionalDir(fs, args)
	if err != nil {
		if asJSON && !errors.Is(err, flag.ErrHelp) {
			writeUpdateJSON(stdout, newUpdateReport(nil, dryRun, false, err))
		}
		return err
	}
	res, err := func() (*scaffold.UpdateResult, error) {
		r, err := newResolver()
		if err != nil {
			return nil, err
		}
		opts := scaffold.UpdateOptions{
			Dir: dir, To: to, DryRun: dryRun || dryRunOnly, AllowDirty: allowDirty, AllowDowngrade: allowDowngrade, Trust: trust,
			Answers:      scaffold.AnswerInput{Set: sets},
			PavedVersion: pavedVersion(), Resolver: r, Log: stderr, Diff: stdout,
		}
		if asJSON {
			opts.Diff = nil // stdout holds the JSON alone
		}
		if f, ok := stdin.(*os.File); ok && !defaults && !opts.DryRun && term.IsTerminal(int(f.Fd())) {
			opts.Answers.Prompter = terminalPrompter{}
		}
		return scaffold.Update(ctx, opts)
	}()
	inGit := res != nil && scaffold.InGit(ctx, dir)
	if asJSON {
		writeUpdateJSON(stdout, newUpdateReport(res, dryRun, inGit, err))
	}
	if err != nil {
		return err
	}
	if dryRunOnly {
		return nil
	}
	printSummary(stderr, res, dryRun, inGit)
	if conflicts := res.Conflicts(); len(conflicts) > 0 && !dryRun {
		return &exitCodeError{code: exitFindings, msg: fmt.Sprintf("%d conflict(s): resolve them as said above", len(conflicts))}
	}
	return nil
}

func printSummary(w io.Writer, res *scaffold.UpdateResult, dry, inGit bool) {
	verb := "updated"
	if dry {
		verb = "would update"
	}
	fmt.Fprintf(w, "paved: %s %s -> %s: %d change(s)\n", verb, res.From, res.To, len(res.Changes))
	for _, c := range res.Changes {
		line := fmt.Sprintf("  %-8s %s", c.Action, c.Path)
		switch {
		case c.Action == scaffold.ActionConflict:
			line += " (" + c.Why + ")"
		case c.Action == scaffold.ActionKeep:
			line += " (the template dropped it; you changed it)"
		case c.Why != "":
			line += " (" + c.Why + ")"
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
	if dry {
		return
	}
	for _, c := range res.Changes {
		if c.Action == scaffold.ActionConflict {
			fmt.Fprintf(w, "paved: %s: %s\n", c.Path, scaffold.ConflictAdvice(c, inGit))
		}
	}
}

// updateReport is `paved update --json`: what changed, what conflicts,
// and on failure the error. A consumer tells conflicts (conflicts not
// empty, no error) from a failure (error set) without reading exit codes.
type updateReport struct {
	From      string           `json:"from,omitempty"`
	To        string           `json:"to,omitempty"`
	DryRun    bool             `json:"dry_run"`
	Changes   []changeReport   `json:"changes"`
	Conflicts []conflictReport `json:"conflicts"`
	// TwoWay: the recorded version could not be read back; every file
	// that differs from the template is a conflict.
	TwoWay            bool                `json:"two_way,omitempty"`
	Finished          bool                `json:"finished_interrupted,omitempty"`
	DroppedAnswers    []string            `json:"dropped_answers,omitempty"`
	EditedAnswers     []string            `json:"edited_answers,omitempty"`
	NewQuestions      []newQuestionReport `json:"new_questions,omitempty"`
	SkippedMigrations [][]string          `json:"skipped_migrations,omitempty"`
	Error             string              `json:"error,omitempty"`
}

type newQuestionReport struct {
	Name   string `json:"name"`
	Answer any    `json:"answer"`
}

type changeReport struct {
	Path   string `json:"path"`
	Action string `json:"action"`
	From   string `json:"from,omitempty"` // a rename's old path
	Why    string `json:"why,omitempty"`
}

type conflictReport struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"` // text (markers in the file), binary or link (yours kept)
	Why    string `json:"why"`
	Advice string `json:"advice"`
}

func newUpdateReport(res *scaffold.UpdateResult, dry, inGit bool, err error) updateReport {
	rep := updateReport{DryRun: dry, Changes: []changeReport{}, Conflicts: []conflictReport{}}
	if err != nil {
		rep.Error = err.Error()
	}
	if res == nil {
		return rep
	}
	rep.From, rep.To, rep.TwoWay, rep.Finished, rep.DroppedAnswers, rep.EditedAnswers = res.From, res.To, res.TwoWay, res.Finished, res.Dropped, res.Edited
	for _, q := range res.NewQuestions {
		rep.NewQuestions = append(rep.NewQuestions, newQuestionReport{Name: q.Name, Answer: q.Answer})
	}
	if res.Skipped {
		rep.SkippedMigrations = res.Migrations
	}
	for _, c := range res.Changes {
		rep.Changes = append(rep.Changes, changeReport{Path: c.Path, Action: string(c.Action), From: c.From, Why: c.Why})
		if c.Action == scaffold.ActionConflict {
			rep.Conflicts = append(rep.Conflicts, conflictReport{Path: c.Path, Kind: string(c.Kind), Why: c.Why, Advice: scaffold.ConflictAdvice(c, inGit)})
		}
	}
	return rep
}

func writeUpdateJSON(w io.Writer, rep updateReport) {
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Fprintln(w, string(out))
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(stderr, "paved check", "paved check [--json] [DIR]",
		"Exit 0 when DIR (default: .) is at its template's newest version, 1 when a newer\none exists (printed), 2 when paved cannot tell (said why).")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout (also on failure, with an error field)")
	dir, err := optionalDir(fs, args)
	if err != nil {
		return err
	}
	st, err := checkStatus(ctx, dir)
	if *asJSON {
		rep := struct {
			*scaffold.Status
			Error string `json:"error,omitempty"`
		}{Status: st}
		if err != nil {
			rep.Error = err.Error()
		}
		out, _ := json.Marshal(rep)
		fmt.Fprintln(stdout, string(out))
	}
	switch {
	case err != nil:
		return err
	case *asJSON:
	case st.Outdated:
		fmt.Fprintf(stdout, "%s: %s -> %s available; run paved update\n", st.Template, st.Current, st.Latest)
	default:
		fmt.Fprintf(stdout, "%s: %s is up to date\n", st.Template, st.Current)
	}
	if st.Outdated {
		return &exitCodeError{code: exitFindings}
	}
	return nil
}

// checkStatus is the repository's Status, or why paved cannot tell it.
func checkStatus(ctx context.Context, dir string) (*scaffold.Status, error) {
	r, err := newResolver()
	if err != nil {
		return &scaffold.Status{}, err
	}
	st, err := r.Status(ctx, dir)
	if st == nil {
		return &scaffold.Status{}, err
	}
	if err != nil {
		return st, fmt.Errorf("cannot tell whether %s %s is up to date: %w", st.Template, st.Current, err)
	}
	return st, nil
}
