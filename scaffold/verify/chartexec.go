package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/engine"
)

// Helm executes a chart's templates with text/template, which has no
// deadline and no bound on memory: a template in a pull request can loop
// for ever (a range over until, nested) or build a string of gigabytes,
// and Helm's linter executes the templates as well as its renderer. So
// verify runs both in a child process (paved-verify itself, started with
// ChartChildArg) that it kills at a deadline and that exits when its heap
// passes a budget; only rendered text and lint messages come back, and a
// chart that hits a bound is a finding that names it.

// ChartChildArg, as a program's only argument, makes it the child that
// executes a chart's templates (see ServeChartChild).
const ChartChildArg = "-paved-verify-chart-child"

// ChartLimits bound the execution of one chart's templates: every lint and
// rendering of the chart, with each of its values files.
type ChartLimits struct {
	// Command is the program that executes them: one that calls
	// ServeChartChild when its only argument is ChartChildArg. Empty
	// executes them in this process, bounded in time only: an execution
	// stopped at the deadline runs on, unseen, until it ends.
	Command string
	Timeout time.Duration // 0: 20s
	Memory  int64         // the child's heap, in bytes; 0: 1 GiB
}

const (
	defaultChartTimeout = 20 * time.Second
	defaultChartMemory  = 1 << 30
	// chartOutputLimit bounds what the child may send back: more rendered
	// text than any deployable chart holds.
	chartOutputLimit = 16 << 20
	exitOverMemory   = 3
)

func (l ChartLimits) withDefaults() ChartLimits {
	if l.Timeout <= 0 {
		l.Timeout = defaultChartTimeout
	}
	if l.Memory <= 0 {
		l.Memory = defaultChartMemory
	}
	return l
}

// A chartJob is what the child executes: the templates of a staged chart
// copy, once per values file ("" for values.yaml alone).
type chartJob struct {
	Dir      string
	Variants []string
	Memory   int64
}

// A chartOutcome is one variant's lint messages and rendered files, or
// why it did not render.
type chartOutcome struct {
	Lint  []lintMessage     `json:",omitempty"`
	Files map[string]string `json:",omitempty"`
	Err   string            `json:",omitempty"`
}

// lintMessage is Helm's support.Message as text.
type lintMessage struct {
	Severity int
	Path     string
	Err      string
}

// runChart executes job within the repository's chart limits.
func (r *Repo) runChart(ctx context.Context, job chartJob) ([]chartOutcome, error) {
	lim := r.chartLimits.withDefaults()
	job.Memory = lim.Memory
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	var outs []chartOutcome
	var err error
	if lim.Command == "" {
		outs, err = runChartHere(ctx, job)
	} else {
		outs, err = runChartChild(ctx, lim, job)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("its templates ran longer than %s and were stopped (a template that loops?)", lim.Timeout)
	}
	return outs, err
}

func runChartHere(ctx context.Context, job chartJob) ([]chartOutcome, error) {
	done := make(chan []chartOutcome, 1)
	go func() { done <- executeChart(ctx, job) }()
	select {
	case outs := <-done:
		return outs, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func runChartChild(ctx context.Context, lim ChartLimits, job chartJob) ([]chartOutcome, error) {
	in, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stdout := &cappedBuffer{limit: chartOutputLimit, over: cancel}
	stderr := &cappedBuffer{limit: 4 << 10}
	cmd := exec.CommandContext(ctx, lim.Command, ChartChildArg)
	cmd.Env = childEnv(os.Environ())
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case stdout.overflowed:
		return nil, fmt.Errorf("its templates wrote more than %d MiB and were stopped", chartOutputLimit>>20)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.As(err, &exit) && exit.ExitCode() == exitOverMemory:
		return nil, fmt.Errorf("its templates used more than %d MiB of memory and were stopped", lim.Memory>>20)
	case err != nil:
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.buf.String()), "\n")
		return nil, fmt.Errorf("executing its templates: %w: %s", err, msg)
	}
	var outs []chartOutcome
	if err := json.Unmarshal(stdout.buf.Bytes(), &outs); err != nil || len(outs) != len(job.Variants) {
		return nil, fmt.Errorf("executing its templates: %s %s answered no outcome for each of %d values files", lim.Command, ChartChildArg, len(job.Variants))
	}
	return outs, nil
}

// childEnv is the child's environment: the Go runtime's own settings and
// nothing else (what a template could read is no secret of the CI's).
func childEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GOMAXPROCS", "GOGC", "GODEBUG", "GOTRACEBACK", "GOCOVERDIR", "TMPDIR":
			out = append(out, kv)
		}
	}
	return append(out, "HOME=/nonexistent")
}

// cappedBuffer keeps at most limit bytes; a write past it fails and calls
// over. (It has no ReadFrom: io.Copy must come through Write.)
type cappedBuffer struct {
	buf        bytes.Buffer
	limit      int
	over       func()
	overflowed bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.limit {
		b.overflowed = true
		if b.over != nil {
			b.over()
		}
		return 0, errors.New("output over its limit")
	}
	return b.buf.Write(p)
}

// ServeChartChild is the child's side of runChart: it reads one job from
// in, executes it and writes the outcomes to out. It owns the process: when
// the heap passes the job's budget it exits with exitOverMemory. It returns
// the process's exit code.
func ServeChartChild(ctx context.Context, in io.Reader, out, stderr io.Writer) int {
	var job chartJob
	if err := json.NewDecoder(io.LimitReader(in, 1<<20)).Decode(&job); err != nil {
		fmt.Fprintln(stderr, "paved-verify: reading the chart job:", err)
		return 2
	}
	stop := watchHeap(max(job.Memory, 64<<20), stderr)
	defer stop()
	if err := json.NewEncoder(out).Encode(executeChart(ctx, job)); err != nil {
		fmt.Fprintln(stderr, "paved-verify: writing the chart's outcome:", err)
		return 2
	}
	return 0
}

// watchHeap exits the process when its heap objects pass budget. The
// runtime's memory limit makes the collector work hard before that, so
// garbage does not count.
func watchHeap(budget int64, stderr io.Writer) (stop func()) {
	debug.SetMemoryLimit(budget)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	tick := time.NewTicker(5 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				metrics.Read(sample)
				if v := sample[0].Value; v.Kind() == metrics.KindUint64 && float64(v.Uint64()) > float64(budget) {
					fmt.Fprintf(stderr, "paved-verify: the chart's templates passed the memory budget (%d MiB)\n", budget>>20)
					os.Exit(exitOverMemory)
				}
			}
		}
	}()
	return func() { tick.Stop(); close(done) }
}

// executeChart lints and renders the staged chart with each variant, all
// at once.
func executeChart(ctx context.Context, job chartJob) []chartOutcome {
	outs := make([]chartOutcome, len(job.Variants))
	var wg sync.WaitGroup
	for i, variant := range job.Variants {
		wg.Go(func() { outs[i] = executeVariant(ctx, job.Dir, variant) })
	}
	wg.Wait()
	return outs
}

// executeVariant is `helm lint --strict [-f values-X.yaml]` and the
// rendering of `helm install --dry-run=client`, with the templates'
// text marked for templateMap.
func executeVariant(ctx context.Context, dir, variant string) chartOutcome {
	vals, err := readVariant(dir, variant)
	if err != nil {
		return chartOutcome{Err: err.Error()}
	}
	var out chartOutcome
	for _, m := range lint.RunAll(dir, vals, renderNamespace, lint.WithKubeVersion(kubeVersion())).Messages {
		msg := ""
		if m.Err != nil {
			msg = m.Err.Error()
		}
		out.Lint = append(out.Lint, lintMessage{Severity: m.Severity, Path: m.Path, Err: msg})
	}
	ch, _, rv, err := prepareRender(dir, vals)
	if err == nil {
		instrumentChart(ch)
		var e engine.Engine
		out.Files, err = e.RenderWithContext(ctx, ch, rv)
	}
	if err != nil {
		out.Err = err.Error()
	}
	return out
}

// readVariant reads the values of a variant from the staged chart (the
// defaults alone: none).
func readVariant(dir, variant string) (map[string]any, error) {
	if variant == "" {
		return map[string]any{}, nil
	}
	f, err := os.OpenInRoot(dir, variant)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return common.ReadValues(b)
}
