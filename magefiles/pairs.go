//go:build mage

package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// A benchSide is one command of a pair: prepare readies run i (removes
// the directory the last run wrote, makes a one-line change), untimed;
// cmd is the command timed.
type benchSide struct {
	name    string
	prepare func(i int) error
	cmd     func(i int) *exec.Cmd
}

// A pairResult is what a paired comparison measured: the median wall time
// of each side, and the ratio A/B of each pair.
type pairResult struct {
	a, b   time.Duration
	ratios []float64
}

// paired runs a and b in pairs, one warm-up pair first, then n counted
// ones, alternating which side goes first so neither always finds the
// caches the other left. Each pair's ratio is taken between runs seconds
// apart, so a load that comes and goes weighs on both sides alike.
func paired(n int, a, b benchSide) (pairResult, error) {
	var as, bs []time.Duration
	var res pairResult
	for i := -1; i < n; i++ {
		first, second := a, b
		if i%2 != 0 {
			first, second = b, a
		}
		t1, err := timeRun(first, i)
		if err != nil {
			return res, err
		}
		t2, err := timeRun(second, i)
		if err != nil {
			return res, err
		}
		if i < 0 {
			continue // warm-up
		}
		ta, tb := t1, t2
		if first.name != a.name {
			ta, tb = t2, t1
		}
		as, bs = append(as, ta), append(bs, tb)
		res.ratios = append(res.ratios, float64(ta)/float64(tb))
	}
	res.a, res.b = medianDuration(as), medianDuration(bs)
	return res, nil
}

// timeRun prepares and runs one side, timing the command alone.
func timeRun(s benchSide, i int) (time.Duration, error) {
	if s.prepare != nil {
		if err := s.prepare(i); err != nil {
			return 0, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	cmd := s.cmd(i)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w\n%s", s.name, strings.Join(cmd.Args, " "), err, out.String())
	}
	return took, nil
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func median(fs []float64) float64 {
	s := slices.Clone(fs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// load is what uptime says of the machine's load, or /proc/loadavg.
func load() string {
	if out, err := exec.Command("uptime").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		return "loadavg " + strings.TrimSpace(string(data))
	}
	return "load unknown"
}

// benchRow is one printed yardstick.
type benchRow struct {
	name, a, b string
	res        pairResult
	goal       float64 // A/B at most; 0: reported beside the others, no goal
}

func printRows(rows []benchRow) {
	fmt.Printf("\n%-44s %10s %10s  %-28s %s\n", "yardstick (A vs B)", "A median", "B median", "A/B: median of pairs (range)", "goal")
	for _, r := range rows {
		goal := "(no goal: the physical floor)"
		switch {
		case r.goal == 0:
		case median(r.res.ratios) <= r.goal:
			goal = fmt.Sprintf("≤ %.2f met", r.goal)
		default:
			goal = fmt.Sprintf("≤ %.2f NOT met", r.goal)
		}
		fmt.Printf("%-44s %10s %10s  %5.2f (%4.2f-%4.2f, %2d pairs)     %s\n",
			r.name, roundDuration(r.res.a), roundDuration(r.res.b), median(r.res.ratios),
			slices.Min(r.res.ratios), slices.Max(r.res.ratios), len(r.res.ratios), goal)
		fmt.Printf("    A: %s\n    B: %s\n", r.a, r.b)
	}
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(10 * time.Microsecond)
	}
}
