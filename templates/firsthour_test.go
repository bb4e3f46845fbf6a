package templates_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestFirstHour does what README.md tells a newcomer, reading its words
// from the files rather than copying them: in a copy of this checkout, the
// GOTOOLCHAIN export and the block that creates a service (`go run
// ./cmd/paved new ...`, then `cd` into it); then, in the new repository,
// the first command of its own README's Quick start, which must pass. HOME
// is new and empty (no git identity, no go env file, no paved installed,
// GOTOOLCHAIN unset, so only the README's export sets it); the go
// command's build and module caches and the user cache directory are the
// machine's, given explicitly, since a cold cache changes how long this
// takes, not what it does (the cold CI run measures that).
//
// A development build made the repository, so its tools/paved/go.mod runs
// paved from the copy of the checkout; paved new must say so once. Then the
// checkout moves away, as on another machine, and the verify gate must
// fail naming the change that pins a release.
func TestFirstHour(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands and the generated repository's mage ci")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	readme := mustRead(t, filepath.Join(root, "README.md"))
	export := exportLine(t, "README.md", readme)
	create := shBlockWith(t, "README.md", readme, "paved new")

	work := t.TempDir()
	checkout := filepath.Join(work, "paved")
	scaffoldtest.CopyCheckout(t, root, checkout)
	env := cleanHome(t, filepath.Join(work, "home"))

	// The block ends in the new repository: pwd says where that is.
	out, stderr := bash(t, checkout, env, export+"\n"+create+"\npwd")
	repo := lastLine(out)
	if n := strings.Count(stderr, "runs paved from this checkout"); n != 1 {
		t.Errorf("paved new said %d times that the repository runs paved from this checkout, want once:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "-dropreplace=github.com/paved-dev/paved") {
		t.Errorf("paved new did not say how to pin a release before pushing:\n%s", stderr)
	}

	generated := mustRead(t, filepath.Join(repo, "README.md"))
	first := firstCommand(t, repo+"/README.md", sectionOf(generated, "## Quick start"))
	script := first
	if line, ok := findExport(generated); ok {
		script = line + "\n" + first
	}
	out, _ = bash(t, repo, env, script)
	if !strings.Contains(out, "verify   ok") || !strings.Contains(out, "vuln     ok") {
		t.Errorf("%s passed without a verify and a vuln gate in its table:\n%s", first, out)
	}

	// Elsewhere: the checkout the pin names is gone.
	if err := os.Rename(checkout, checkout+"-elsewhere"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "bash", "-c", "set -e\n"+export+"\ngo tool mage verify")
	cmd.Dir, cmd.Env = repo, env
	failed, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("mage verify passed with the pinned checkout gone:\n%s", failed)
	}
	for _, want := range []string{checkout, "not on this machine", "go -C tools/paved mod edit -dropreplace=github.com/paved-dev/paved", "get -tool github.com/paved-dev/paved/cmd/paved@VERSION"} {
		if !strings.Contains(string(failed), want) {
			t.Errorf("mage verify without the checkout does not say %q:\n%s", want, failed)
		}
	}
}

// cleanHome is this process's environment with a new, empty HOME, nothing
// of an installed paved and no GOTOOLCHAIN, but the machine's go caches
// and user cache directory named explicitly.
func cleanHome(t *testing.T, home string) []string {
	t.Helper()
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]string{"XDG_CACHE_HOME": cache}
	for _, key := range []string{"GOCACHE", "GOMODCACHE"} {
		out, err := exec.CommandContext(t.Context(), "go", "env", key).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", key, err)
		}
		keep[key] = strings.TrimSpace(string(out))
	}
	var env []string
	for _, kv := range os.Environ() {
		key, value, _ := strings.Cut(kv, "=")
		switch key {
		case "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "GOCACHE", "GOMODCACHE", "GOPATH", "GOBIN", "GOENV",
			"GOTOOLCHAIN", "PAVED", "PAVED_VERIFY", "VULN_STDLIB", "VULN_DB",
			"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_CONFIG_GLOBAL":
			continue
		case "PATH":
			kv = "PATH=" + pathWithoutPaved(value)
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home)
	for key, value := range keep {
		env = append(env, key+"="+value)
	}
	return env
}

// bash runs a script of README lines with bash -e in dir and returns its
// standard output and error; a failure fails the test.
func bash(t *testing.T, dir string, env []string, script string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "bash", "-e", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("in %s:\n%s\n%v\nstdout:\n%s\nstderr:\n%s", dir, script, err, out.Bytes(), errb.Bytes())
	}
	t.Logf("in %s:\n%s\n%s", dir, script, lastLines(out.String()+errb.String(), 20))
	return out.String(), errb.String()
}

// shBlocks are the contents of the ```sh fences of a Markdown text.
func shBlocks(text string) []string {
	var blocks []string
	for {
		_, rest, ok := strings.Cut(text, "```sh\n")
		if !ok {
			return blocks
		}
		block, after, _ := strings.Cut(rest, "```")
		blocks = append(blocks, strings.TrimSpace(block))
		text = after
	}
}

// shBlockWith is the first sh block of a Markdown file that holds substr.
func shBlockWith(t *testing.T, name, text, substr string) string {
	t.Helper()
	for _, b := range shBlocks(text) {
		if strings.Contains(b, substr) {
			return b
		}
	}
	t.Fatalf("%s has no sh block with %q", name, substr)
	return ""
}

// findExport is the line of a Markdown text's sh blocks that exports
// GOTOOLCHAIN.
func findExport(text string) (string, bool) {
	for _, b := range shBlocks(text) {
		for line := range strings.Lines(b) {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "export GOTOOLCHAIN=") {
				return line, true
			}
		}
	}
	return "", false
}

func exportLine(t *testing.T, name, text string) string {
	t.Helper()
	line, ok := findExport(text)
	if !ok {
		t.Fatalf("%s exports no GOTOOLCHAIN in an sh block", name)
	}
	return line
}

// sectionOf is the part of a Markdown text from heading to the next
// heading of any level.
func sectionOf(text, heading string) string {
	_, rest, ok := strings.Cut(text, "\n"+heading+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, "\n#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// firstCommand is the first line of a section's first sh block, without a
// trailing comment.
func firstCommand(t *testing.T, name, section string) string {
	t.Helper()
	blocks := shBlocks(section)
	if len(blocks) == 0 {
		t.Fatalf("%s: the section has no sh block", name)
	}
	line, _, _ := strings.Cut(blocks[0], "\n")
	line, _, _ = strings.Cut(line, " #")
	return strings.TrimSpace(line)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
