// Command paved creates Go service repositories from templates and keeps
// them up to date. See README.md for the command reference.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/paved-dev/paved/scaffold"
	"github.com/paved-dev/paved/templates"
)

// version is paved's version; release builds set it with -ldflags -X, other
// builds read it from the module's build information.
var version = ""

const usage = `usage:
  paved new [flags] MODULE [DIR]   create a repository from a template
  paved update [flags] [DIR]       apply what changed in the template, by three-way merge
  paved diff [DIR]                 what update would change, as a unified diff
  paved check [--json] [DIR]       exit 1 when a newer template version exists
  paved verify [flags] [DIR]       validate the repository's files offline (exit 1: findings)
  paved template list|check|test|versions   write and test templates (paved templates = template list)
  paved version                    print paved's version

Run 'paved COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exit codes
const (
	exitOK       = 0
	exitFindings = 1 // findings, conflicts, out of date, a failed task
	exitError    = 2 // bad usage, bad input, an operational error
)

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	var err error
	switch args[0] {
	case "new":
		err = cmdNew(ctx, args[1:], stdin, stderr)
	case "update":
		err = cmdUpdate(ctx, args[1:], stdin, stdout, stderr, false)
	case "diff":
		err = cmdUpdate(ctx, args[1:], stdin, stdout, stderr, true)
	case "check":
		err = cmdCheck(ctx, args[1:], stdout, stderr)
	case "verify":
		return cmdVerify(ctx, args[1:], stdout, stderr)
	case "template", "templates": // templates: an alias of template list
		err = cmdTemplate(ctx, templateArgs(args), stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "paved", pavedVersion())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "paved: unknown command %q\n%s", args[0], usage)
		return exitError
	}
	var codeErr *exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &codeErr):
		if codeErr.msg != "" {
			fmt.Fprintln(stderr, "paved:", codeErr.msg)
		}
		return codeErr.code
	case errors.As(err, new(*scaffold.TaskError)):
		fmt.Fprintln(stderr, "paved:", err)
		return exitFindings
	default:
		fmt.Fprintln(stderr, "paved:", err)
		return exitError
	}
}

// pavedVersion is the version recorded for built-in templates: the -X value,
// else the module version from the build information ("(devel)" for a
// build from a checkout).
func pavedVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func newResolver() (*scaffold.Resolver, error) {
	b, err := templates.Builtins()
	if err != nil {
		return nil, err
	}
	return &scaffold.Resolver{Builtins: b, BuiltinVersion: pavedVersion()}, nil
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// parseInterspersed parses flags that may come before or after positional
// arguments, as in `paved new MODULE --defaults`.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func cmdNew(ctx context.Context, args []string, stdin io.Reader, stderr io.Writer) error {
	fs := flag.NewFlagSet("paved new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tmpl := fs.String("template", templates.Names[0], `template: a built-in name, ./local/dir[@REF], or MODULE[@VERSION][//SUBDIR]`)
	to := fs.String("to", "", "version of a git or module template (default: the newest: a git template's newest tag, or HEAD)")
	answersFile := fs.String("answers", "", "YAML file of answers (question name: value)")
	var sets stringList
	fs.Var(&sets, "set", "answer KEY=VALUE (repeatable; overrides --answers)")
	defaults := fs.Bool("defaults", false, "never prompt: unanswered questions take their defaults")
	noHooks := fs.Bool("no-hooks", false, "skip the template's tasks (go mod tidy, git init)")
	trust := fs.Bool("trust", false, "run the tasks of a template that is not built in")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: paved new [flags] MODULE [DIR]")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return errors.New("new takes MODULE and an optional DIR")
	}
	opts := scaffold.NewOptions{
		Module: pos[0], Template: *tmpl, To: *to, NoHooks: *noHooks, Trust: *trust,
		PavedVersion: pavedVersion(), Log: stderr,
	}
	if len(pos) == 2 {
		opts.Dir = pos[1]
	}
	if opts.Resolver, err = newResolver(); err != nil {
		return err
	}
	opts.Answers.Set = sets
	if *answersFile != "" {
		data, err := os.ReadFile(*answersFile)
		if err != nil {
			return err
		}
		if opts.Answers.Given, err = scaffold.ParseAnswersInput(*answersFile, data); err != nil {
			return err
		}
	}
	if f, ok := stdin.(*os.File); ok && !*defaults && term.IsTerminal(int(f.Fd())) {
		opts.Answers.Prompter = surveyPrompter{}
	}
	res, err := scaffold.New(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "paved: created %s in %s from %s %s (%d files)\n",
		opts.Module, res.Dir, res.Template.Source, res.Template.Version, res.Files)
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "paved: warning:", w)
	}
	switch {
	case res.Committed:
		fmt.Fprintf(stderr, "paved: made the first commit in %s\n", res.Dir)
	case res.CommitHint != "":
		fmt.Fprintln(stderr, "paved: no first commit:", res.CommitHint)
	}
	if len(res.SkippedTasks) > 0 {
		fmt.Fprintf(stderr, "paved: skipped %d task(s) of a template that is not built in (pass --trust to run them, or run them by hand in %s):\n", len(res.SkippedTasks), res.Dir)
		for _, t := range res.SkippedTasks {
			fmt.Fprintf(stderr, "  %s\n", strings.Join(t, " "))
		}
	}
	return nil
}
