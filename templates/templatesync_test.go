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

// syncScript is the generated repository's template-sync logic.
const syncScript = "service/.github/scripts/template-sync.sh"

// stubGH stands in for the GitHub CLI: it logs each call (and the bodies
// it is given) and remembers whether a pull request was opened.
const stubGH = `#!/bin/sh
echo "gh $*" >> "$GH_LOG"
prev=
for a in "$@"; do
	if [ "$prev" = --body-file ]; then cat "$a" >> "$GH_LOG.body"; fi
	prev=$a
done
case "$1 $2" in
"pr view") if [ -f "$GH_LOG.pr" ]; then echo OPEN; else echo 'no pull requests found' >&2; exit 1; fi ;;
"pr create") touch "$GH_LOG.pr" ;;
esac
`

// TestTemplateSync runs the template-sync script against a local bare
// remote with a stub gh, twice, with a person's commit on the sync branch
// in between: the commit survives, the second update lands on top of it,
// and nothing is ever force-pushed. A later failure of paved that is not a
// conflict fails the script, and is not reported as conflicts.
func TestTemplateSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds paved and runs git")
	}
	for _, tool := range []string{"git", "jq", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	script, err := filepath.Abs(syncScript)
	if err != nil {
		t.Fatal(err)
	}
	paved := buildPavedForSync(t)
	root := t.TempDir()
	gitIn := func(dir string, args ...string) string { t.Helper(); return scaffoldtest.Git(t, dir, args...) }

	// A local git template, v1.
	tmpl := filepath.Join(root, "tmpl")
	scaffoldtest.WriteTree(t, tmpl, map[string]string{
		"paved.yaml":        "questions:\n  - name: Who\n    default: world\n",
		"greeting.txt.tmpl": "hello {{ .Who }}\nline 2\nline 3\nline 4\nline 5\n",
		"values.yaml":       "replicas: 1\nimage: app\n",
		"docs/guide.md":     "# Guide\n\none\ntwo\nthree\n",
		".gitignore.tmpl":   "/bin/\n",
		"version.txt.tmpl":  "{{ .Template.Version }}\n",
		"README.md":         "# app\n",
	})
	gitIn(tmpl, "init", "-q", "-b", "main")
	tag := func(v string) {
		gitIn(tmpl, "add", "-A")
		gitIn(tmpl, "commit", "-qm", v, "--allow-empty")
		gitIn(tmpl, "tag", v)
	}
	tag("v1.0.0")

	// The repository made from it, pushed to its remote's main.
	remote := filepath.Join(root, "remote.git")
	gitIn(root, "init", "-q", "--bare", "-b", "main", remote)
	gitIn(remote, "config", "receive.denyNonFastForwards", "true") // a force push fails the run
	app := filepath.Join(root, "app")
	runOK(t, root, nil, paved, "new", "--defaults", "--no-hooks", "--template", tmpl, "example.com/acme/app", app)
	copyFile(t, script, filepath.Join(app, ".github", "scripts", "template-sync.sh"), 0o755)
	gitIn(app, "init", "-q", "-b", "main")
	gitIn(app, "add", "-A")
	gitIn(app, "commit", "-qm", "generated")
	gitIn(app, "remote", "add", "origin", remote)
	gitIn(app, "push", "-q", "origin", "main")

	bin := filepath.Join(root, "bin")
	copyFileData(t, []byte(stubGH), filepath.Join(bin, "gh"), 0o755)
	ghLog := filepath.Join(root, "gh.log")
	env := []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PAVED=" + paved, "BASE=main", "GH_LOG=" + ghLog, "GH_TOKEN=", "RUNNER_TEMP=" + root,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t",
	}
	// sync runs the script in a fresh clone, as the workflow's checkout.
	n := 0
	sync := func() (string, error) {
		n++
		clone := filepath.Join(root, "run", string(rune('0'+n)))
		gitIn(root, "clone", "-q", remote, clone)
		cmd := exec.Command("bash", filepath.Join(clone, ".github", "scripts", "template-sync.sh"))
		cmd.Dir = clone
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		t.Logf("run %d: %v\n%s", n, err, out)
		return string(out), err
	}
	branchFile := func(name string) string {
		return gitIn(remote, "show", "paved/template-update:"+name)
	}

	// v2, with a new question: the first run opens the pull request.
	scaffoldtest.WriteTree(t, tmpl, map[string]string{
		"paved.yaml":        "questions:\n  - name: Who\n    default: world\n  - name: Color\n    default: blue\n",
		"greeting.txt.tmpl": "hello {{ .Who }}\nline 2\nline 3\nline 4\nline 5 by v2\n",
	})
	tag("v2.0.0")
	if out, err := sync(); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	if got := branchFile("version.txt"); got != "v2.0.0\n" {
		t.Fatalf("branch after the first run: version.txt = %q", got)
	}
	if log := readFile(t, ghLog); !strings.Contains(log, "gh pr create --base main --head paved/template-update") || strings.Contains(log, "--draft") {
		t.Errorf("first run did not open a ready pull request:\n%s", log)
	}
	if body := readFile(t, ghLog+".body"); !strings.Contains(body, "- `Color`: `blue`") || !strings.Contains(body, "- updated `greeting.txt`") {
		t.Errorf("the pull request does not list the new question and the changes:\n%s", body)
	}

	// A person fixes something on the sync branch.
	person := filepath.Join(root, "person")
	gitIn(root, "clone", "-q", "-b", "paved/template-update", remote, person)
	scaffoldtest.WriteTree(t, person, map[string]string{"greeting.txt": "hello world\nline 2 by a person\nline 3\nline 4\nline 5 by v2\n"})
	gitIn(person, "commit", "-qam", "a person's fix")
	personCommit := strings.TrimSpace(gitIn(person, "rev-parse", "HEAD"))
	gitIn(person, "push", "-q", "origin", "HEAD")

	// v3: the second run keeps the person's commit and merges on top; the
	// template's change to the line the person changed is a conflict.
	scaffoldtest.WriteTree(t, tmpl, map[string]string{
		"greeting.txt.tmpl": "hello {{ .Who }}\nline 2 by v3\nline 3\nline 4\nline 5 by v2\n",
		"values.yaml":       "replicas: 1\nimage: app:v3\n",
	})
	tag("v3.0.0")
	out, err := sync()
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if _, err := runIn(remote, nil, "git", "merge-base", "--is-ancestor", personCommit, "paved/template-update"); err != nil {
		t.Fatalf("the person's commit %s is not on the sync branch after the second run", personCommit)
	}
	if got := branchFile("version.txt"); got != "v3.0.0\n" {
		t.Errorf("branch after the second run: version.txt = %q", got)
	}
	greeting := branchFile("greeting.txt")
	if !strings.Contains(greeting, "line 2 by a person\n") || !strings.Contains(greeting, "<<<<<<< yours") {
		t.Errorf("greeting.txt should hold the person's line in a conflict:\n%s", greeting)
	}
	log := readFile(t, ghLog)
	if !strings.Contains(log, "gh pr comment paved/template-update --body-file") || !strings.Contains(log, "gh pr ready paved/template-update --undo") {
		t.Errorf("second run did not comment on the open pull request and mark it a draft:\n%s", log)
	}
	if body := readFile(t, ghLog+".body"); !strings.Contains(body, "- `greeting.txt` (text): resolve the conflict markers in greeting.txt, then git add greeting.txt") {
		t.Errorf("the comment does not list the conflict with its advice:\n%s", body)
	}
	if !strings.Contains(out, "1 conflict(s)") {
		t.Errorf("second run does not report its conflict:\n%s", out)
	}

	// v4 cannot render: a failure, not conflicts; nothing pushed, no comment.
	before := strings.TrimSpace(gitIn(remote, "rev-parse", "paved/template-update"))
	scaffoldtest.WriteTree(t, tmpl, map[string]string{"greeting.txt.tmpl": "hello {{ .Who \n"})
	tag("v4.0.0")
	logBefore := readFile(t, ghLog)
	out, err = sync()
	if err == nil {
		t.Fatalf("a broken template version did not fail the script:\n%s", out)
	}
	if !strings.Contains(out, "paved update failed (not a conflict)") || strings.Contains(out, "conflict(s)") {
		t.Errorf("failure not reported as a failure:\n%s", out)
	}
	if after := strings.TrimSpace(gitIn(remote, "rev-parse", "paved/template-update")); after != before {
		t.Errorf("a failed run moved the sync branch from %s to %s", before, after)
	}
	if readFile(t, ghLog) != logBefore {
		t.Errorf("a failed run called gh about the pull request:\n%s", strings.TrimPrefix(readFile(t, ghLog), logBefore))
	}

	// The default branch changes the line the branch holds in a conflict:
	// it no longer merges, so the branch is left as it is, with a comment.
	mainline := filepath.Join(root, "mainline")
	gitIn(root, "clone", "-q", remote, mainline)
	scaffoldtest.WriteTree(t, mainline, map[string]string{"greeting.txt": "hello world\nline 2 on main\nline 3\nline 4\nline 5 by v2\n"})
	gitIn(mainline, "commit", "-qam", "main moves on")
	gitIn(mainline, "push", "-q", "origin", "main")
	out, err = sync()
	if err != nil {
		t.Fatalf("a default branch that does not merge should leave the branch, not fail: %v\n%s", err, out)
	}
	if after := strings.TrimSpace(gitIn(remote, "rev-parse", "paved/template-update")); after != before {
		t.Errorf("the sync branch moved from %s to %s although main does not merge into it", before, after)
	}
	if log := readFile(t, ghLog); !strings.Contains(log, "gh pr comment paved/template-update --body template-sync: main no longer merges cleanly") {
		t.Errorf("no comment on the pull request about main:\n%s", log)
	}
}

// buildPavedForSync builds the paved under test.
func buildPavedForSync(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir, "../cmd/paved")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building paved: %v\n%s", err, out)
	}
	return filepath.Join(dir, "paved")
}

func runOK(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	if out, err := runIn(dir, env, name, args...); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func runIn(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	copyFileData(t, data, to, mode)
}

func copyFileData(t *testing.T, data []byte, to string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}
