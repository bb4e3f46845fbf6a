//go:build unix

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

// TestSignalDuringRunawayRender runs the paved binary (this test binary
// under the name paved, see TestMain) on a template whose render never
// ends, signals it, and checks that it exits at once with 128+signal, one
// line on stderr, and no DIR nor temporary sibling left.
func TestSignalDuringRunawayRender(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	paved := filepath.Join(bin, "paved")
	if err := os.Symlink(exe, paved); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
		line string
	}{
		{syscall.SIGINT, 130, "paved: stopped by SIGINT\n"},
		{syscall.SIGTERM, 143, "paved: stopped by SIGTERM\n"},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			work := t.TempDir()
			scaffoldtest.WriteTree(t, work, map[string]string{
				"bomb/paved.yaml":    "description: a render that never ends\n",
				"bomb/a.txt":         "a\n",
				"bomb/loop.txt.tmpl": "{{ range 100000000000000 }}{{ end }}",
			})
			// The answers come from stdin, so the test knows when paved is
			// past its start (its signal handlers are set before it reads
			// them) and about to render.
			cmd := exec.Command(paved, "new", "--answers", "/dev/stdin", "--template", "./bomb", "example.com/acme/out", "out")
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "PAVED_RENDER_TIMEOUT=1h")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(stdin, "{}\n"); err != nil {
				t.Fatal(err)
			}
			stdin.Close()
			time.Sleep(200 * time.Millisecond) // let it reach the render; any point after the start is fine
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err = <-exited:
			case <-time.After(time.Minute): // not a speed check: a hang fails here, not at go test's timeout
				cmd.Process.Kill()
				t.Fatalf("paved did not exit after %v; stderr:\n%s", tt.sig, stderr.String())
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tt.code {
				t.Errorf("paved after %v: %v, want exit code %d", tt.sig, err, tt.code)
			}
			if stderr.String() != tt.line {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.line)
			}
			entries, _ := os.ReadDir(work)
			for _, e := range entries {
				if e.Name() != "bomb" {
					t.Errorf("%s left behind", e.Name())
				}
			}
		})
	}
}
