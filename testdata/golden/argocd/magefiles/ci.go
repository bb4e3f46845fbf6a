//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// gate is one check of ci. A gate that needs another starts after it, and
// is skipped when that one fails.
type gate struct {
	name  string
	fn    func(context.Context) error
	needs string
}

// ciGates are ci's checks in the order of its table. They are
// independent, but for cover, which reads the profile that test writes.
// The start order runs fmt (instant, and the commonest failure) first, then
// the longest, so the run ends soonest.
func ciGates() ([]gate, []string) {
	return []gate{
		{name: "fmt", fn: Fmt},
		{name: "vet", fn: Vet},
		{name: "lint", fn: Lint{}.All},
		{name: "test", fn: Test},
		{name: "cover", fn: Cover, needs: "test"},
		{name: "build", fn: Build},
		{name: "repro", fn: Repro{}.Warm},
		{name: "deps", fn: Deps},
		{name: "vuln", fn: Vuln},
		{name: "verify", fn: Verify},
	}, []string{"fmt", "test", "lint", "vuln", "verify", "repro", "vet", "build", "deps", "cover"}
}

// prGates are the fast tier that pull requests run: no full lint, repro or
// vuln, which run once, on main.
func prGates() ([]gate, []string) {
	return []gate{
		{name: "fmt", fn: Fmt},
		{name: "vet", fn: Vet},
		{name: "lint:pr", fn: Lint{}.PR},
		{name: "test", fn: Test},
		{name: "cover", fn: Cover, needs: "test"},
		{name: "deps", fn: Deps},
		{name: "verify", fn: Verify},
	}, []string{"fmt", "test", "lint:pr", "verify", "vet", "deps", "cover"}
}

// CI runs every gate (fmt, vet, lint, test, cover, build, repro, deps, vuln,
// verify), CI_JOBS at a time (default: the number of CPUs, at least 2),
// each gate's output printed in one piece when it ends. The first failure
// stops the gates still running, and ends the run, after a table of each
// gate's result and time, with that failure in one line, its gate first.
func CI(ctx context.Context) error {
	all, order := ciGates()
	return runGates(ctx, "ci", all, order)
}

// PR runs the fast tier of pull requests the way ci runs its gates: fmt,
// vet, lint:pr (LINT_BASE=origin/main: new issues only), test, cover, deps
// and verify.
func PR(ctx context.Context) error {
	all, order := prGates()
	return runGates(ctx, "pr", all, order)
}

// runGates runs the gates, CI_JOBS at a time, starting them in order, and
// prints the table.
func runGates(ctx context.Context, what string, all []gate, order []string) error {
	jobs := max(2, runtime.NumCPU())
	if v := os.Getenv("CI_JOBS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%s: CI_JOBS=%q is not a positive number", what, v)
		}
		jobs = n
	}
	byName := make(map[string]int, len(all))
	for i, g := range all {
		byName[g.name] = i
	}
	results := make([]gateResult, len(all))
	done := make([]chan struct{}, len(all))
	for i := range done {
		done[i] = make(chan struct{})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex // guards failed and printing
		failed error
	)
	queue := make(chan int, len(all))
	for _, name := range order {
		queue <- byName[name]
	}
	close(queue)
	fmt.Printf("%s: %d gates, %d at a time (CI_JOBS)\n", what, len(all), jobs)
	start := time.Now()
	var wg sync.WaitGroup
	for range min(jobs, len(all)) {
		wg.Go(func() {
			for i := range queue {
				results[i] = runGate(ctx, all[i], results, done, byName, func(r gateResult, out []byte, err error) {
					mu.Lock()
					defer mu.Unlock()
					fmt.Printf("\n==> %s: %s in %s\n%s", r.name, r.status, r.took.Round(100*time.Millisecond), out)
					if err != nil && failed == nil {
						failed = err
						cancel() // the gates still running stop; the rest are skipped
					}
				})
				close(done[i])
			}
		})
	}
	wg.Wait()
	printTable(results, time.Since(start))
	return failed
}

// runGate runs g once what it needs has passed, and reports its result and
// output. A gate that fails because another failure stopped it is
// "stopped", not a failure of its own.
func runGate(ctx context.Context, g gate, results []gateResult, done []chan struct{}, byName map[string]int,
	report func(gateResult, []byte, error)) gateResult {
	r := gateResult{name: g.name, status: "skipped"}
	if g.needs != "" {
		<-done[byName[g.needs]]
		if results[byName[g.needs]].status != "ok" {
			return r
		}
	}
	if ctx.Err() != nil {
		return r
	}
	out := &gateOutput{}
	t0 := time.Now()
	err := g.fn(withOutput(ctx, out))
	r.took = time.Since(t0)
	switch {
	case err == nil:
		r.status = "ok"
	case ctx.Err() != nil:
		r.status, err = "stopped", nil
	default:
		r.status = "FAILED"
		if !strings.HasPrefix(err.Error(), g.name+":") && !strings.HasPrefix(err.Error(), g.name+" ") {
			err = fmt.Errorf("%s: %w", g.name, err)
		}
	}
	report(r, out.buf.Bytes(), err)
	return r
}

type gateResult struct {
	name, status string
	took         time.Duration
}

func printTable(results []gateResult, total time.Duration) {
	fmt.Printf("\n%-8s %-8s %9s\n", "gate", "result", "time")
	for _, r := range results {
		took := "-"
		if r.status != "skipped" {
			took = r.took.Round(100 * time.Millisecond).String()
		}
		fmt.Printf("%-8s %-8s %9s\n", r.name, r.status, took)
	}
	fmt.Printf("%-8s %-8s %9s\n", "total", "", total.Round(100*time.Millisecond).String())
}
