package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVerifyRunsVerifier checks that `paved verify` hands its arguments to
// paved-verify and passes its output and exit code through. The verifier
// here is a stand-in script; scaffold/verify tests the real one.
func TestVerifyRunsVerifier(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as the verifier")
	}
	script := filepath.Join(t.TempDir(), "paved-verify")
	// Prints its arguments, then exits with the code named by the last one.
	src := "#!/bin/sh\necho \"args: $*\"\necho oops >&2\nfor a; do last=$a; done\nexit \"$last\"\n"
	if err := os.WriteFile(script, []byte(src), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PAVED_VERIFY", script)
	for _, tc := range []struct {
		code, want int
	}{{0, exitOK}, {1, exitFindings}, {2, exitError}, {3, exitError}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"verify", "--format", "json", itoa(tc.code)}, strings.NewReader(""), &out, &errb)
		if code != tc.want {
			t.Errorf("verifier exit %d: paved exit %d, want %d (stderr %q)", tc.code, code, tc.want, errb.String())
		}
		if got := out.String(); got != "args: --format json "+itoa(tc.code)+"\n" {
			t.Errorf("stdout %q", got)
		}
		if !strings.Contains(errb.String(), "oops") {
			t.Errorf("stderr %q lacks the verifier's", errb.String())
		}
	}
}

func TestVerifyWithoutVerifier(t *testing.T) {
	t.Setenv("PAVED_VERIFY", filepath.Join(t.TempDir(), "missing"))
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"verify"}, strings.NewReader(""), &out, &errb); code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.HasPrefix(errb.String(), "paved: verify: ") {
		t.Fatalf("stderr %q", errb.String())
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
