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
	"path"
	"strconv"
	"strings"
	"testing/fstest"
)

// gitRepo runs every git command the engine makes, in one repository: a
// template's or the team's. Both are untrusted: their configuration may
// name commands (hooks, fsmonitor, filters, pagers, ssh), and their refs
// and arguments come from files an attacker can write. So every call
//   - overrides the configuration keys that run commands,
//   - runs with an environment cleared of GIT_* variables that redirect it,
//   - passes revisions only after --end-of-options, resolved to a hash,
//   - reads old versions as raw objects, never through attributes or filters.
type gitRepo struct {
	dir string
	env []string // nil: paved's own environment
	// known caches commit hashes already verified, when set.
	known map[string]string
}

// gitSafetyConfig neutralises configuration that makes git run commands.
// Filters are per driver name and are handled by neutralFilters.
var gitSafetyConfig = []string{
	"-c", "core.fsmonitor=false",
	"-c", "core.hooksPath=/dev/null",
	"-c", "core.pager=cat",
	"-c", "core.sshCommand=false",
	"-c", "core.askPass=",
	"-c", "credential.helper=",
	"-c", "protocol.allow=never",
	"-c", "diff.external=",
	"-c", "core.editor=false",
	"-c", "sequence.editor=false",
	"-c", "core.alternateRefsCommand=",
	"-c", "uploadpack.packObjectsHook=",
}

// gitKeptEnv are the GIT_* variables a user sets for identity and global
// configuration; every other GIT_* variable could point git elsewhere.
var gitKeptEnv = []string{
	"GIT_AUTHOR_NAME=", "GIT_AUTHOR_EMAIL=", "GIT_AUTHOR_DATE=",
	"GIT_COMMITTER_NAME=", "GIT_COMMITTER_EMAIL=", "GIT_COMMITTER_DATE=",
	"GIT_CONFIG_GLOBAL=", "GIT_CONFIG_NOSYSTEM=",
}

func gitEnv(base []string) []string {
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+4)
	for _, kv := range base {
		if strings.HasPrefix(kv, "GIT_") && !keptGitVar(kv) {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_PAGER=cat",
		"GIT_OPTIONAL_LOCKS=0",
		// Replace refs would let a repository show other content for a hash.
		"GIT_NO_REPLACE_OBJECTS=1",
	)
}

func keptGitVar(kv string) bool {
	for _, k := range gitKeptEnv {
		if strings.HasPrefix(kv, k) {
			return true
		}
	}
	return false
}

// run runs git with args in the repository and returns its standard output.
func (g gitRepo) run(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	full := append(append([]string{}, gitSafetyConfig...), args...)
	return runCommand(ctx, g.dir, gitEnv(g.env), stdin, "git", full...)
}

// runWorkTree runs a git command that reads or writes the work tree (status,
// add, commit), where configured filter drivers would run: each one is
// overridden to do nothing.
func (g gitRepo) runWorkTree(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	overrides, err := g.neutralFilters(ctx)
	if err != nil {
		return nil, err
	}
	return g.run(ctx, stdin, append(overrides, args...)...)
}

// neutralFilters lists -c overrides that empty every filter driver the
// repository's configuration defines. Reading configuration runs nothing.
func (g gitRepo) neutralFilters(ctx context.Context) ([]string, error) {
	out, err := g.run(ctx, nil, "config", "--null", "--name-only", "--get-regexp", `^filter\.`)
	if err != nil {
		if isExit(err, 1) { // no such key
			return nil, nil
		}
		return nil, err
	}
	seen := map[string]bool{}
	var args []string
	for _, key := range strings.Split(string(out), "\x00") {
		name, ok := strings.CutPrefix(key, "filter.")
		if !ok {
			continue
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 || seen[name[:i]] {
			continue
		}
		driver := name[:i]
		seen[driver] = true
		for _, k := range []string{"clean", "smudge", "process"} {
			args = append(args, "-c", "filter."+driver+"."+k+"=")
		}
		args = append(args, "-c", "filter."+driver+".required=false")
	}
	return args, nil
}

// ErrBadRevision is a revision paved refuses to pass to git.
var ErrBadRevision = errors.New("invalid revision")

// resolve turns a revision (a tag, a branch, a describe name, a hash) into
// the full hash of its commit. Nothing else reaches git as a revision.
func (g gitRepo) resolve(ctx context.Context, rev string) (string, error) {
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, "\x00\n") {
		return "", fmt.Errorf("%w %q: a revision cannot be empty or start with '-'", ErrBadRevision, rev)
	}
	if g.known[rev] != "" {
		return g.known[rev], nil
	}
	out, err := g.run(ctx, nil, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
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
func (g gitRepo) prefix(ctx context.Context) (string, error) {
	out, err := g.run(ctx, nil, "rev-parse", "--show-prefix")
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSpace(string(out)), "/"), nil
}

// hasTree reports whether commit has a directory at dir (repository-relative).
func (g gitRepo) hasTree(ctx context.Context, commit, dir string) bool {
	out, err := g.run(ctx, nil, "cat-file", "-t", "--end-of-options", commit+":"+dir)
	return err == nil && strings.TrimSpace(string(out)) == "tree"
}

// readTree reads the tree of commit below dir (repository-relative, "" for
// the top) into memory, as raw objects: attributes and filters play no part.
// Files over the limits are refused before they are read.
func (g gitRepo) readTree(ctx context.Context, commit, dir string, lim ReadLimits) (fs.FS, error) {
	treeish := commit
	if dir != "" {
		treeish += ":" + dir
	}
	// --full-tree: run in a subdirectory, ls-tree would list only the
	// entries of treeish whose path starts with that subdirectory, so a
	// template kept below a repository's top read as empty.
	out, err := g.run(ctx, nil, "ls-tree", "--full-tree", "-r", "-z", "-l", "--end-of-options", treeish)
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
	fsys := fstest.MapFS{}
	if len(entries) == 0 {
		return fsys, nil
	}
	blobs, err := g.run(ctx, batch.Bytes(), "cat-file", "--batch")
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
		fsys[path.Clean(e.name)] = &fstest.MapFile{Data: data[:size], Mode: e.mode}
	}
	return fsys, nil
}

// isExit reports whether err is a command's exit with the given code.
func isExit(err error, code int) bool {
	var exitErr interface{ ExitCode() int }
	return errors.As(err, &exitErr) && exitErr.ExitCode() == code
}
