package main

import (
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCompletionFlags keeps the completion table true to each command's -h.
func TestCompletionFlags(t *testing.T) {
	flagLine := regexp.MustCompile(`(?m)^  (-[a-z-]+)`)
	for _, c := range completionCommands {
		if c.name == "completion" || c.name == "help" || c.name == "version" || c.name == "templates" || c.name == "template" || c.name == "verify" { // verify: paved-verify's flags, tested there
			continue
		}
		_, _, stderr := runPaved(t, t.TempDir(), c.name, "-h")
		var got []string
		for _, m := range flagLine.FindAllStringSubmatch(stderr, -1) {
			got = append(got, "-"+m[1])
		}
		slices.Sort(got)
		if !slices.Equal(got, c.flags) {
			t.Errorf("%s: -h lists %v, the completion table %v", c.name, got, c.flags)
		}
	}
}

// TestBashCompletion completes in a real bash.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	_, script, _ := runPaved(t, t.TempDir(), "completion", "bash")
	for _, tt := range []struct{ words, want string }{
		{"paved up", "update"},
		{"paved update --allow-d", "--allow-dirty --allow-downgrade"},
		{"paved completion f", "fish"},
		{"paved template c", "check"},
	} {
		words := strings.Fields(tt.words)
		prog := script + "\nCOMP_WORDS=(" + tt.words + ")\nCOMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n_paved\necho \"${COMPREPLY[*]}\"\n"
		out, err := exec.Command("bash", "-c", prog).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tt.want {
			t.Errorf("complete %q = %q, %v; want %q", tt.words, out, err, tt.want)
		}
	}
}

// TestConventionalCLI: version flags, flag errors printed once with the
// usage, unknown arguments refused.
func TestConventionalCLI(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}} {
		code, stdout, _ := runPaved(t, t.TempDir(), args...)
		if code != 0 || !strings.HasPrefix(stdout, "paved ") {
			t.Errorf("paved %v: exit %d, %q", args, code, stdout)
		}
	}
	code, _, stderr := runPaved(t, t.TempDir(), "version", "extra")
	if code != 2 || !strings.Contains(stderr, "version takes no arguments") {
		t.Errorf("version extra: exit %d, %q", code, stderr)
	}
	code, _, stderr = runPaved(t, t.TempDir(), "new", "--nope", "example.com/x")
	if code != 2 || strings.Count(stderr, "--nope") != 0 && strings.Count(stderr, "-nope") != 1 || !strings.Contains(stderr, "usage: paved new [flags] MODULE [DIR]") {
		t.Errorf("an unknown flag: exit %d, stderr:\n%s", code, stderr)
	}
	if strings.Count(stderr, "flag provided but not defined") != 1 {
		t.Errorf("the flag error is not printed exactly once:\n%s", stderr)
	}
	code, _, stderr = runPaved(t, t.TempDir(), "completion", "tcsh")
	if code != 2 || !strings.Contains(stderr, `unknown shell "tcsh"`) {
		t.Errorf("completion tcsh: exit %d, %q", code, stderr)
	}
}
