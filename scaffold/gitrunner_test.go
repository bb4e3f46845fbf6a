package scaffold

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// processStarters are the functions that start a program, by import path
// and name, with the index of the argument that names the program.
var processStarters = map[string]map[string]int{
	"os/exec":                     {"Command": 0, "CommandContext": 1},
	"os":                          {"StartProcess": 0},
	"syscall":                     {"Exec": 0, "ForkExec": 0, "StartProcess": 0},
	"github.com/magefile/mage/sh": {"Run": 0, "RunV": 0, "Output": 0, "RunWith": 1, "RunWithV": 1, "OutputWith": 1, "Exec": 3, "RunCmd": 0, "OutCmd": 0},
	"golang.org/x/sys/unix":       {"Exec": 0},
}

// startsOtherPrograms are the places outside the git runner that start a
// program whose name is not a literal, each with the reason it is not git.
var startsOtherPrograms = map[string]string{
	"scaffold/git.go:runCommand":                         "the runner itself: git through gitRepo.run, and the go command",
	"scaffold/tasks.go:RunTasks":                         "a template's tasks, run only for a built-in template or with --trust",
	"scaffold/templatetest.go:command":                   "a template's test commands, which its author runs on purpose",
	"cmd/paved/verify.go:cmdVerify":                      "paved-verify, found beside paved, on PATH or in the user cache",
	"cmd/paved/verify_build.go:runBuild":                 "the go command, building paved-verify",
	"scaffold/verify/golangcinames.go:GolangciNamesFile": "the golangci-lint binary the generator is given",
	"scaffold/verify/chartexec.go:runChartChild":         "paved-verify itself (its os.Executable), executing a chart's templates in a child process",
	"magefiles/magefile.go:Lint":                         "the golangci-lint binary built into the user cache",
	"magefiles/bench.go:command":                         "the bench's yardsticks: paved, the floor, gonew, cp, go and a do-nothing program",
}

// testSupportGit are the places in test support (the packages under
// testSupportDirs, which only tests import, so never part of paved) that
// start git themselves: they play the user, whose git builds fixture
// repositories.
var testSupportGit = map[string]string{
	"scaffold/scaffoldtest/proxy.go:Git":           "builds fixture repositories, as the user would",
	"scaffold/scaffoldtest/paved.go:checkoutFiles": "lists a checkout's files as the user's git does, to publish it as a module",
}

// TestOnlyTheRunnerStartsGit: no Go file of the module (library, command,
// build or test support; not its tests, not the nested modules) starts git
// except through scaffold/git.go. A program named by a variable must be
// listed in startsOtherPrograms, with the reason it is not git.
func TestOnlyTheRunnerStartsGit(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (d.Name() == "testdata" || d.Name() == ".git" || hasFile(filepath.Join(p, "go.mod"))) {
				return filepath.SkipDir // another module, or data
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		starts := programStarts(t, p)
		testSupport := slices.ContainsFunc(testSupportDirs, func(dir string) bool { return strings.HasPrefix(rel, dir) })
		for _, call := range starts {
			where := rel + ":" + call.fn
			switch {
			case call.program == "git" && testSupport && testSupportGit[where] != "":
				seen[where] = true
			case call.program == "git" && rel != "scaffold/git.go":
				t.Errorf("%s:%d starts git outside the runner: call scaffold's git runner", rel, call.line)
			case call.program == "" && startsOtherPrograms[where] == "":
				t.Errorf("%s:%d (in %s) starts a program named by a variable: if it can never be git, list %q in startsOtherPrograms with the reason", rel, call.line, call.fn, where)
			case call.program == "":
				seen[where] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for where := range mapsConcat(startsOtherPrograms, testSupportGit) {
		if !seen[where] {
			t.Errorf("startsOtherPrograms lists %s, which starts nothing now: remove it", where)
		}
	}
}

type programStart struct {
	fn, program string // the enclosing function; the literal program name, "" when not a literal
	line        int
}

// testSupportDirs hold the packages that only tests import.
var testSupportDirs = []string{"scaffold/scaffoldtest/", "templates/templatetest/"}

// programStarts lists the calls in a Go file that start a program.
func programStarts(t *testing.T, name string) []programStart {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]string{} // local name -> import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		local := path[strings.LastIndexByte(path, '/')+1:]
		if imp.Name != nil {
			local = imp.Name.Name
		}
		imports[local] = path
	}
	var calls []programStart
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok {
			continue
		}
		ast.Inspect(fd, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			arg, ok := processStarters[imports[pkg.Name]][sel.Sel.Name]
			if !ok || arg >= len(call.Args) {
				return true
			}
			start := programStart{fn: fd.Name.Name, line: fset.Position(call.Pos()).Line}
			if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				start.program, _ = strconv.Unquote(lit.Value)
				start.program = filepath.Base(start.program)
			}
			calls = append(calls, start)
			return true
		})
	}
	return calls
}

func mapsConcat(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// TestGitRunnerRefusesUnknownCommands: a subcommand the runner does not
// know (and so cannot say what it touches) never reaches git.
func TestGitRunnerRefusesUnknownCommands(t *testing.T) {
	g := newGitRepo(t.TempDir(), nil)
	for _, args := range [][]string{{"checkout", "HEAD"}, {"archive", "HEAD"}, {"diff"}, {"-c", "core.pager=x", "status"}, {}} {
		if _, err := g.run(context.Background(), nil, args); err == nil {
			t.Errorf("git %v ran", args)
		}
	}
}

// TestGitRunnerOperandsAreNeverOptions: an operand that looks like an
// option is taken as a revision or a path, never as an option.
func TestGitRunnerOperandsAreNeverOptions(t *testing.T) {
	dir := t.TempDir()
	g := newGitRepo(dir, nil)
	ctx := context.Background()
	if _, err := g.run(ctx, nil, []string{"init"}); err == nil {
		t.Fatal("init is not a command paved runs")
	}
	if err := os.WriteFile(filepath.Join(dir, "--output=x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitInit(t, dir)
	out, err := g.run(ctx, nil, []string{"ls-files", "--others"}, "--output=x")
	if err != nil || strings.TrimSpace(string(out)) != "--output=x" {
		t.Errorf("ls-files of a path named like an option: %q, %v", out, err)
	}
	if _, err := g.run(ctx, nil, []string{"rev-parse", "--verify"}, "--git-dir"); err == nil {
		t.Error("rev-parse --verify --git-dir: an operand was taken as an option")
	}
}

// TestNeutralDrivers: every filter, diff and merge driver, whatever its
// name, gets an empty command; other keys get nothing.
func TestNeutralDrivers(t *testing.T) {
	got := neutralDrivers([]string{"filter.a=b.clean", "filter.a=b.smudge", "FILTER.x.y.process", `diff.q"uote.textconv`, "merge.sp ace.driver", "core.fsmonitor", "filter.clean", "user.name", ""})
	want := [][2]string{
		{"filter.a=b.clean", ""}, {"filter.a=b.smudge", ""}, {"filter.a=b.process", ""}, {"filter.a=b.required", "false"},
		{"filter.x.y.clean", ""}, {"filter.x.y.smudge", ""}, {"filter.x.y.process", ""}, {"filter.x.y.required", "false"},
		{`diff.q"uote.command`, ""}, {`diff.q"uote.textconv`, ""}, {`diff.q"uote.cachetextconv`, "false"},
		{"merge.sp ace.driver", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("neutralDrivers =\n%q\nwant\n%q", got, want)
	}
}

func gitInit(t *testing.T, dir string) {
	t.Helper()
	if _, err := runCommand(context.Background(), dir, nil, nil, "git", "init", "-q"); err != nil {
		t.Fatal(err)
	}
}

func hasFile(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// FuzzNeutralDrivers: whatever configuration names git prints, every
// override is for a driver section, ends in one of its command keys, and
// names a driver that a listed key named.
func FuzzNeutralDrivers(f *testing.F) {
	f.Add("filter.a=b.clean\x00diff.x.y.textconv\x00core.fsmonitor\x00merge.sp ace.driver")
	f.Add("filter..clean\x00FILTER.Q.process\x00filter.\x00.")
	f.Fuzz(func(t *testing.T, out string) {
		keys := strings.Split(out, "\x00")
		for _, kv := range neutralDrivers(keys) {
			section, rest, _ := strings.Cut(kv[0], ".")
			i := strings.LastIndexByte(rest, '.')
			if driverKeys[section] == nil || i < 0 {
				t.Fatalf("override %q is not a driver's", kv[0])
			}
			if !slices.ContainsFunc(driverKeys[section], func(k [2]string) bool { return k[0] == rest[i+1:] && k[1] == kv[1] }) {
				t.Fatalf("override %q=%q is not a neutral value", kv[0], kv[1])
			}
			if !slices.ContainsFunc(keys, func(k string) bool {
				return strings.EqualFold(strings.SplitN(k, ".", 2)[0], section) && strings.HasPrefix(k[len(section):], "."+rest[:i]+".")
			}) {
				t.Fatalf("override %q names a driver no key named", kv[0])
			}
		}
	})
}
