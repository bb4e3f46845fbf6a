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
	"sync"
	"syscall"
	"time"

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
  paved completion bash|zsh|fish   print a shell completion script
  paved version                    print paved's version (also --version, -v)

Run 'paved COMMAND -h' for a command's flags.
`

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exit codes
const (
	exitOK       = 0
	exitFindings = 1 // findings, conflicts, out of date, a failed task
	exitError    = 2 // bad usage, bad input, an operational error
	// A signal ends paved with 128 + its number, as a shell reports it.
	exitInterrupt = 130 // SIGINT
	exitTerminate = 143 // SIGTERM
)

// cleanupGrace is how long paved waits after a signal for the command to
// take back what it made before it exits anyway. The engine needs
// milliseconds: a render is abandoned at once (it has written nothing) and
// WriteTree removes its temporary directory as soon as ctx ends.
const cleanupGrace = 2 * time.Second

// runMain runs a command line and ends it at once on SIGINT or SIGTERM:
// ctx is cancelled, so the command stops and removes what it had begun,
// and paved exits 130 or 143 with one line on stderr as soon as the command
// has returned (or after cleanupGrace, or at a second signal). Whatever the
// stopped command would still print is dropped: it would only say that it
// was cancelled.
func runMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &mutableWriter{w: stdout}, &mutableWriter{w: stderr}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, stdin, out, errOut) }()
	var sig os.Signal
	select {
	case code := <-done:
		return code
	case sig = <-sigs:
	}
	out.mute()
	errOut.mute()
	cancel()
	select {
	case <-done:
	case <-sigs:
	case <-time.After(cleanupGrace):
	}
	code, name := exitInterrupt, "SIGINT"
	if sig == syscall.SIGTERM {
		code, name = exitTerminate, "SIGTERM"
	}
	fmt.Fprintf(stderr, "paved: stopped by %s\n", name)
	return code
}

// mutableWriter passes writes on until it is muted.
type mutableWriter struct {
	mu    sync.Mutex
	w     io.Writer
	muted bool
}

func (m *mutableWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.muted {
		return len(p), nil
	}
	return m.w.Write(p)
}

func (m *mutableWriter) mute() {
	m.mu.Lock()
	m.muted = true
	m.mu.Unlock()
}

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
	case "completion":
		err = cmdCompletion(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		if err = noArgs(args[0], args[1:]); err == nil {
			fmt.Fprintln(stdout, "paved", pavedVersion())
		}
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "paved: unknown command %q\n%s", args[0], usage)
		return exitError
	}
	var codeErr *exitCodeError
	var usage *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &usage):
		if !usage.flagged { // the flag package prints its own errors
			fmt.Fprintln(stderr, "paved:", usage.err)
		}
		return exitError
	case errors.As(err, &codeErr):
		if codeErr.msg != "" {
			fmt.Fprintln(stderr, "paved:", codeErr.msg)
		}
		return codeErr.code
	case errors.Is(err, errPromptInterrupted):
		// Ctrl-C at a prompt: the terminal was raw, so no SIGINT came.
		fmt.Fprintln(stderr, "paved: stopped by SIGINT")
		return exitInterrupt
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
	limits, err := scaffold.LimitsFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return &scaffold.Resolver{
		Builtins: b, BuiltinVersion: pavedVersion(), BuiltinCheckout: develCheckout(),
		Release:      scaffold.Release{Module: templates.Module, Zip: templates.ZipPath},
		Limits:       scaffold.ReadLimits{File: limits.MaxFile, Total: limits.MaxTotal}, // the same caps for reading a template
		RenderLimits: limits,
	}, nil
}

// lessGC lets the heap grow to five times what is live before a
// collection (GOGC=400), unless GOGC is set. paved new holds the template
// and the rendered tree in memory and exits once they are written: at the
// runtime's default (a first collection at 4 MB) the built-in template
// costs a collection that returns nothing worth having, for a process that
// lives a few milliseconds. The render's caps still bound what it can hold.
func lessGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// usageError is bad usage, after which the command's usage was printed;
// flagged errors were printed by the flag package too.
type usageError struct {
	err     error
	flagged bool
}

func (e *usageError) Error() string { return e.err.Error() }

// noArgs refuses arguments to a command that takes none.
func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments (got %q)", cmd, strings.Join(args, " "))
	}
	return nil
}

// newFlagSet makes a command's flag set with paved's usage style: the
// synopsis, what the command does, then its flags.
func newFlagSet(stderr io.Writer, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\n%s\n", synopsis, description)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(stderr, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseInterspersed parses flags that may come before or after positional
// arguments, as in `paved new MODULE --defaults`.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err: err, flagged: true}
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
	fs := newFlagSet(stderr, "paved new", "paved new [flags] MODULE [DIR]",
		"Create a repository for Go module MODULE from a template, in DIR (default: MODULE's\nlast element without /vN), and record the answers in .paved-answers.yaml.")
	tmpl := fs.String("template", templates.Names[0], `template: a built-in name, ./local/dir[@REF], or MODULE[@VERSION][//SUBDIR]`)
	to := fs.String("to", "", "version of a git or module template (default: the newest: a git template's newest tag, or HEAD)")
	answersFile := fs.String("answers", "", "YAML file of answers (question name: value)")
	var sets stringList
	fs.Var(&sets, "set", "answer KEY=VALUE (repeatable; overrides --answers)")
	defaults := fs.Bool("defaults", false, "never prompt: unanswered questions take their defaults")
	noHooks := fs.Bool("no-hooks", false, "skip the template's tasks (go mod tidy, git init)")
	trust := fs.Bool("trust", false, "run the tasks of a template that is not built in")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return &usageError{err: errors.New("new takes MODULE and an optional DIR")}
	}
	lessGC()
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
		opts.Answers.Prompter = terminalPrompter{}
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
	sayCheckoutPin(stderr, res.Dir, res.Template.PavedCheckout)
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
