package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// buildNotice is what paved says when it must build paved-verify: what,
// why and roughly how long, before the first package compiles.
const buildNotice = "paved: building paved-verify, the validators (Helm, Kubernetes, BuildKit, Prometheus, actionlint); " +
	"the first build takes a few minutes (4-5 on two cores), later runs reuse it"

// quietPoll is how often a rebuild past its quiet time looks again whether
// it has begun to compile anything.
const quietPoll = 200 * time.Millisecond

// runBuild runs a go build or go install of paved-verify with -v and shows
// its progress on stderr: notice at once when first is true, else only
// when the build has not finished within quiet and has compiled a package
// (an up-to-date build says nothing, however long its check takes), then a
// line every interval with the packages compiled so far.
// The go command's own output is shown only when it fails; env is its
// environment (nil: this process's).
func runBuild(ctx context.Context, stderr io.Writer, env []string, first bool, notice string, quiet, interval time.Duration, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	pw := &buildProgress{}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	start := time.Now()
	announced := first
	if first {
		fmt.Fprintln(stderr, notice)
	}
	wait := quiet
	if first {
		wait = interval
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				_, _ = stderr.Write(pw.output()) // best effort: the error follows
				return err
			}
			if announced {
				fmt.Fprintf(stderr, "paved: built paved-verify (%d packages, %s)\n", pw.packages(), time.Since(start).Round(time.Second))
			}
			return nil
		case <-timer.C:
			if !announced && pw.packages() == 0 {
				// Only checking that everything is up to date, which on
				// a loaded machine can itself take seconds: nothing to say.
				timer.Reset(quietPoll)
				continue
			}
			if !announced {
				fmt.Fprintln(stderr, notice)
				announced = true
			}
			fmt.Fprintf(stderr, "paved: building paved-verify: %d packages compiled (%s)\n", pw.packages(), time.Since(start).Round(time.Second))
			timer.Reset(interval)
		}
	}
}

// buildProgress collects the go command's -v output: one package a line.
type buildProgress struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *buildProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *buildProgress) packages() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Count(p.buf.String(), "\n")
}

func (p *buildProgress) output() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.buf.Bytes())
}
