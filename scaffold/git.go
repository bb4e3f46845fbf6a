package scaffold

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// gitRepo is the one git runner: every git process the module starts, in
// a template's repository or the team's, goes through run. Both
// repositories are untrusted: their configuration may name commands
// (hooks, fsmonitor, filters, diff and merge drivers, pagers, ssh), their
// submodules have configuration of their own, and revisions and paths come
// from files an attacker can write. So every call
//   - is a subcommand of gitCommands, whose entry says what it may touch;
//   - gets its configuration overrides through GIT_CONFIG_COUNT, which git
//     takes key by key, with no "=" to split a driver's name at: the fixed
//     gitSafetyConfig, and for a command that reads the work tree an empty
//     command for every filter, diff and merge driver the repository defines;
//   - never enters a submodule, where other drivers would be defined;
//   - runs with an environment cleared of GIT_* variables that redirect it;
//   - puts caller-supplied operands after --end-of-options (pathspecs after
//     --), so none is taken as an option.
type gitRepo struct {
	dir string
	env []string // nil: paved's own environment
	// known caches commit hashes already verified, when set.
	known map[string]string
	// drivers holds the overrides for the repository's own drivers, read
	// once, on the first command that reads the work tree.
	drivers *[][2]string
}

// newGitRepo is the runner for the repository that holds dir; env nil
// means paved's own environment.
func newGitRepo(dir string, env []string) *gitRepo {
	return &gitRepo{dir: dir, env: env}
}

// gitCommand is what the runner knows of a subcommand.
type gitCommand struct {
	// workTree: the command reads or writes the work tree or the index,
	// where attributes name drivers; every configured driver is emptied.
	// The others read objects and refs only.
	workTree bool
	// pathspecs: the operands are pathspecs and follow "--"; otherwise
	// they follow --end-of-options.
	pathspecs bool
	// always are options the runner adds to every call.
	always []string
}

// gitCommands are the only subcommands paved runs. A subcommand missing
// here is refused, so a new call site has to say what it touches.
var gitCommands = map[string]gitCommand{
	"add":          {workTree: true},
	"cat-file":     {}, // never --filters or --textconv
	"commit":       {workTree: true},
	"config":       {}, // reads configuration; runs nothing
	"describe":     {}, // never --dirty
	"for-each-ref": {},
	"hash-object":  {always: []string{"--no-filters"}},
	"ls-files":     {workTree: true, pathspecs: true},
	"ls-tree":      {},
	"merge-base":   {},
	"merge-file":   {}, // three files paved wrote; no attributes
	"rev-parse":    {},
	"status":       {workTree: true, pathspecs: true, always: []string{"--ignore-submodules=all"}},
	"tag":          {}, // --list only
	"update-index": {workTree: true},
	"var":          {},
}

// gitSafetyConfig neutralises configuration that makes git run commands or
// enter submodules. The repository's own drivers are per name: see drivers.
var gitSafetyConfig = [][2]string{
	{"core.fsmonitor", "false"},
	{"core.hooksPath", "/dev/null"},
	{"core.pager", "cat"},
	{"core.sshCommand", "false"},
	{"core.askPass", ""},
	{"credential.helper", ""},
	{"protocol.allow", "never"},
	{"diff.external", ""},
	{"core.editor", "false"},
	{"sequence.editor", "false"},
	{"core.alternateRefsCommand", ""},
	{"uploadpack.packObjectsHook", ""},
	{"submodule.recurse", "false"},
	{"diff.ignoreSubmodules", "all"},
	{"status.submoduleSummary", "false"},
	{"gc.auto", "0"},
	{"maintenance.auto", "false"},
}

// gitKeptEnv are the GIT_* variables a user sets for identity and global
// configuration; every other GIT_* variable could point git elsewhere.
var gitKeptEnv = []string{
	"GIT_AUTHOR_NAME=", "GIT_AUTHOR_EMAIL=", "GIT_AUTHOR_DATE=",
	"GIT_COMMITTER_NAME=", "GIT_COMMITTER_EMAIL=", "GIT_COMMITTER_DATE=",
	"GIT_CONFIG_GLOBAL=", "GIT_CONFIG_NOSYSTEM=",
}

// gitEnv is base (nil: os.Environ()) without the GIT_* variables that
// redirect git, and with config as GIT_CONFIG_COUNT pairs.
func gitEnv(base []string, config [][2]string) []string {
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+5+2*len(config))
	for _, kv := range base {
		if strings.HasPrefix(kv, "GIT_") && !keptGitVar(kv) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_PAGER=cat",
		"GIT_OPTIONAL_LOCKS=0",
		// Replace refs would let a repository show other content for a hash.
		"GIT_NO_REPLACE_OBJECTS=1",
		"GIT_CONFIG_COUNT="+strconv.Itoa(len(config)),
	)
	for i, kv := range config {
		n := strconv.Itoa(i)
		env = append(env, "GIT_CONFIG_KEY_"+n+"="+kv[0], "GIT_CONFIG_VALUE_"+n+"="+kv[1])
	}
	return env
}

func keptGitVar(kv string) bool {
	for _, k := range gitKeptEnv {
		if strings.HasPrefix(kv, k) {
			return true
		}
	}
	return false
}

// run runs git with args (a subcommand of gitCommands and the options
// paved's code writes) and operands (revisions, objects or paths that come
// from outside), feeding it stdin, and returns its standard output.
func (g *gitRepo) run(ctx context.Context, stdin []byte, args []string, operands ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("git: no subcommand")
	}
	cmd, ok := gitCommands[args[0]]
	if !ok {
		return nil, fmt.Errorf("git %s: not a command paved runs", args[0])
	}
	config := gitSafetyConfig
	if cmd.workTree {
		drivers, err := g.driverConfig(ctx)
		if err != nil {
			return nil, err
		}
		config = append(slices.Clip(config), drivers...)
	}
	argv := make([]string, 0, 2+len(args)+len(cmd.always)+len(operands))
	argv = append(argv, "--no-pager")
	argv = append(argv, args...)
	argv = append(argv, cmd.always...)
	if len(operands) > 0 {
		if cmd.pathspecs {
			argv = append(argv, "--")
		} else {
			argv = append(argv, "--end-of-options")
		}
		argv = append(argv, operands...)
	}
	return runCommand(ctx, g.dir, gitEnv(g.env, config), stdin, "git", argv...)
}

// driverConfig empties every filter, diff and merge driver the
// repository's configuration defines (under any name: git takes
// GIT_CONFIG_KEY_n whole), read once. Reading configuration runs nothing.
func (g *gitRepo) driverConfig(ctx context.Context) ([][2]string, error) {
	if g.drivers != nil {
		return *g.drivers, nil
	}
	out, err := g.run(ctx, nil, []string{"config", "--null", "--name-only", "--list"})
	if err != nil && !isExit(err, 1) { // 1: no configuration at all
		return nil, err
	}
	drivers := neutralDrivers(strings.Split(string(out), "\x00"))
	g.drivers = &drivers
	return drivers, nil
}

// driverKeys are the keys of a driver that name a command, with the value
// that makes each do nothing (an empty command is no filter; an empty diff
// or merge command cannot be started and fails the git call).
var driverKeys = map[string][][2]string{
	"filter": {{"clean", ""}, {"smudge", ""}, {"process", ""}, {"required", "false"}},
	"diff":   {{"command", ""}, {"textconv", ""}, {"cachetextconv", "false"}},
	"merge":  {{"driver", ""}},
}

// neutralDrivers returns the overrides for every driver named in keys,
// configuration names as `git config --name-only` prints them
// (SECTION.SUBSECTION.KEY; the subsection is the driver's name, which may
// hold any character but a newline, dots and "=" included).
func neutralDrivers(keys []string) [][2]string {
	seen := map[string]bool{}
	var config [][2]string
	for _, key := range keys {
		section, rest, ok := strings.Cut(key, ".")
		neutral := driverKeys[strings.ToLower(section)]
		i := strings.LastIndexByte(rest, '.')
		if !ok || neutral == nil || i < 0 {
			continue
		}
		prefix := strings.ToLower(section) + "." + rest[:i] + "."
		if seen[prefix] {
			continue
		}
		seen[prefix] = true
		for _, kv := range neutral {
			config = append(config, [2]string{prefix + kv[0], kv[1]})
		}
	}
	return config
}

// ErrBadRevision is a revision paved refuses to pass to git.
var ErrBadRevision = errors.New("invalid revision")

// resolve turns a revision (a tag, a branch, a describe name, a hash) into
// the full hash of its commit. Nothing else reaches git as a revision.
func (g *gitRepo) resolve(ctx context.Context, rev string) (string, error) {
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, "\x00\n") {
		return "", fmt.Errorf("%w %q: a revision cannot be empty or start with '-'", ErrBadRevision, rev)
	}
	if g.known[rev] != "" {
		return g.known[rev], nil
	}
	out, err := g.run(ctx, nil, []string{"rev-parse", "--verify", "--quiet"}, rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%w %q: no such commit in %s", ErrBadRevision, rev, g.dir)
	}
	commit := strings.TrimSpace(string(out))
	if g.known != nil && isHash(rev) {
		g.known[rev] = commit // a hash names one commit for ever
	}
	return commit, nil
}

// prefix is the repository-relative directory of g.dir ("" at the top).
func (g *gitRepo) prefix(ctx context.Context) (string, error) {
	out, err := g.run(ctx, nil, []string{"rev-parse", "--show-prefix"})
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSpace(string(out)), "/"), nil
}

// hasTree reports whether commit has a directory at dir (repository-relative).
func (g *gitRepo) hasTree(ctx context.Context, commit, dir string) bool {
	out, err := g.run(ctx, nil, []string{"cat-file", "-t"}, commit+":"+dir)
	return err == nil && strings.TrimSpace(string(out)) == "tree"
}

// readTree reads the tree of commit below dir (repository-relative, "" for
// the top) into memory, as raw objects: attributes and filters play no part.
// Files over the limits are refused before they are read.
func (g *gitRepo) readTree(ctx context.Context, commit, dir string, lim ReadLimits) (fs.FS, error) {
	treeish := commit
	if dir != "" {
		treeish += ":" + dir
	}
	// --full-tree: run in a subdirectory, ls-tree would list only the
	// entries of treeish whose path starts with that subdirectory, so a
	// template kept below a repository's top read as empty.
	out, err := g.run(ctx, nil, []string{"ls-tree", "--full-tree", "-r", "-z", "-l"}, treeish)
	if err != nil {
		return nil, err
	}
	type entry struct {
		name, hash string
		mode       fs.FileMode
	}
	var entries []entry
	var total int64
	var batch bytes.Buffer
	for _, rec := range strings.Split(string(out), "\x00") {
		if rec == "" {
			continue
		}
		meta, name, ok := strings.Cut(rec, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 4 {
			return nil, fmt.Errorf("git ls-tree: unexpected line %q", rec)
		}
		var mode fs.FileMode
		switch fields[0] {
		case "100644":
			mode = 0o644
		case "100755":
			mode = 0o755
		case "120000":
			mode = fs.ModeSymlink | 0o777
		default:
			continue // submodules (160000) are not part of a template
		}
		if !fs.ValidPath(name) {
			return nil, fmt.Errorf("template %s: invalid path %q in commit %s", g.dir, name, commit)
		}
		size, err := strconv.ParseInt(fields[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("git ls-tree: size of %s: %w", name, err)
		}
		total += size
		if err := lim.check(name, size, total); err != nil {
			return nil, err
		}
		entries = append(entries, entry{name: name, hash: fields[2], mode: mode})
		batch.WriteString(fields[2] + "\n")
	}
	fsys := memFS{}
	if len(entries) == 0 {
		return fsys, nil
	}
	blobs, err := g.run(ctx, batch.Bytes(), []string{"cat-file", "--batch"})
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(bytes.NewReader(blobs))
	for _, e := range entries {
		header, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		f := strings.Fields(header)
		if len(f) != 3 || f[0] != e.hash || f[1] != "blob" {
			return nil, fmt.Errorf("git cat-file: unexpected header %q for %s", strings.TrimSpace(header), e.name)
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		data := make([]byte, size+1) // the content and its trailing newline
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("git cat-file: %s: %w", e.name, err)
		}
		fsys[path.Clean(e.name)] = memFile{data: data[:size], mode: e.mode}
	}
	return fsys, nil
}

// isExit reports whether err is a command's exit with the given code.
func isExit(err error, code int) bool {
	var exitErr interface{ ExitCode() int }
	return errors.As(err, &exitErr) && exitErr.ExitCode() == code
}

// runCommand runs a command in dir with env (nil: paved's own) and stdin,
// and returns its standard output, also on failure (go mod download -json
// reports errors there); a failure's error carries the command's stderr.
// It starts every git process (through gitRepo.run) and the go command.
func runCommand(ctx context.Context, dir string, env []string, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return out, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// ListFiles lists what a checkout of dir holds: in a git work tree the
// files git tracks or would track (.gitignore honoured, tracked files since
// deleted left out), else every file below dir but .git. Paths are
// slash-separated, relative to dir, sorted. The zip of a built-in template
// and a checkout published as a module are both made from this list.
func ListFiles(ctx context.Context, dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	if _, inGit := gitTop(abs); inGit {
		out, err := newGitRepo(abs, nil).run(ctx, nil, []string{"ls-files", "-z", "--cached", "--others", "--exclude-standard"}, ".")
		if err != nil {
			return nil, err
		}
		for name := range strings.SplitSeq(string(out), "\x00") {
			if _, err := os.Lstat(filepath.Join(abs, filepath.FromSlash(name))); name != "" && err == nil {
				names = append(names, name)
			}
		}
	} else {
		err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && d.Name() == ".git":
				return fs.SkipDir
			case d.IsDir():
				return nil
			}
			rel, err := filepath.Rel(abs, p)
			names = append(names, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
