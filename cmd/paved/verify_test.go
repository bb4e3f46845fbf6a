package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
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

// TestRunBuildProgress: a first build says what it builds at once and how
// it went; an up-to-date build says nothing; a slow rebuild says so; a
// failed build shows the go command's output.
func TestRunBuildProgress(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as the go command")
	}
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fast := script("fast", "exit 0\n")
	slow := script("slow", "echo a/b >&2\necho c/d >&2\nsleep 1\necho e/f >&2\n")
	check := script("check", "sleep 1\n")
	fail := script("fail", "echo 'x.go:1: undefined: y' >&2\nexit 1\n")
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		bin     string
		first   bool
		quiet   time.Duration
		wantErr bool
		want    []string // in stderr, in order
		none    bool     // stderr empty
	}{
		{"first", slow, true, time.Hour, false, []string{buildNotice, "built paved-verify (3 packages"}, false},
		{"up to date", fast, false, 5 * time.Second, false, nil, true},
		{"slow up-to-date check", check, false, 10 * time.Millisecond, false, nil, true},
		{"slow rebuild", slow, false, 10 * time.Millisecond, false, []string{buildNotice, "packages compiled", "built paved-verify"}, false},
		{"failure", fail, true, time.Hour, true, []string{buildNotice, "undefined: y"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errb bytes.Buffer
			err := runBuild(ctx, &errb, nil, tc.first, buildNotice, tc.quiet, time.Hour, tc.bin)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			s := errb.String()
			if tc.none && s != "" {
				t.Fatalf("stderr %q, want nothing", s)
			}
			for _, w := range tc.want {
				i := strings.Index(s, w)
				if i < 0 {
					t.Fatalf("stderr %q lacks %q", errb.String(), w)
				}
				s = s[i+len(w):]
			}
		})
	}
}
