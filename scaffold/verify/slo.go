package verify

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
)

// SLO burn-rate alerts, after the Google SRE Workbook's "Alerting on SLOs"
// (multiwindow, multi-burn-rate): an alert fires when the error ratio over
// a long window and over a short one (1/12 of it) both exceed factor ×
// error budget. The workbook's pairs spend a fixed fraction of the budget:
// 2% in 1h (14.4 for 30 days), 5% in 6h (6), 10% in 1d (3), 10% in 3d (1);
// for another SLO period the same fractions give other factors.
var workbookWindows = map[time.Duration]float64{
	time.Hour:      0.02,
	6 * time.Hour:  0.05,
	24 * time.Hour: 0.10,
	72 * time.Hour: 0.10,
}

// A recordingRule is one rule's output series: name, labels and the
// longest range its expression reads (its window).
type recordingRule struct {
	name   string
	labels map[string]string
	window time.Duration
}

// recordingRules lists the recording rules of parsed rule groups.
func recordingRules(p parser.Parser, groups []*rulefmt.RuleGroups) []recordingRule {
	var out []recordingRule
	for _, rgs := range groups {
		for _, g := range rgs.Groups {
			for _, rl := range g.Rules {
				if rl.Record == "" {
					continue
				}
				rr := recordingRule{name: rl.Record, labels: rl.Labels}
				if e, err := p.ParseExpr(rl.Expr); err == nil {
					rr.window = longestRange(e)
				}
				out = append(out, rr)
			}
		}
	}
	return out
}

func longestRange(e parser.Expr) time.Duration {
	var d time.Duration
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch x := n.(type) {
		case *parser.MatrixSelector:
			d = max(d, x.Range)
		case *parser.SubqueryExpr:
			d = max(d, x.Range)
		}
		return nil
	})
	return d
}

// unrecordedReads reports each series a rule reads that is named as a
// recording rule's output (level:metric:operations) and that no recording
// rule of the repository records with the selected labels.
func unrecordedReads(name string, expr parser.Expr, rules []recordingRule) []sloProblem {
	var out []sloProblem
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && strings.Contains(vs.Name, ":") && len(matchingRules(vs, rules)) == 0 {
			out = append(out, sloProblem{int(vs.PosRange.Start), fmt.Sprintf("rule %q reads %s, which no recording rule records", name, selectorString(vs))})
		}
		return nil
	})
	return out
}

// A burnComparison is "series > threshold" in an alert's expression.
type burnComparison struct {
	sel       *parser.VectorSelector
	threshold float64
	thrPos    posrange.PositionRange
	target    float64 // the SLO target the threshold is written with (0.999), 0 if none
	window    time.Duration
}

// An sloProblem is a message at a byte offset of an alert's expression.
type sloProblem struct {
	off int
	msg string
}

// burnRateProblems checks one alerting rule against the workbook. It
// applies to alerts that compare recorded error ratios with a threshold
// written as factor × (1 - target); others are not burn-rate alerts.
func burnRateProblems(rl rulefmt.Rule, expr parser.Expr, rules []recordingRule) []sloProblem {
	var out []sloProblem
	pairs, singles := burnPairs(expr, rules)
	isBurn := false
	for _, p := range append(pairs, singles...) {
		for _, c := range p {
			if c.target > 0 && c.window > 0 {
				isBurn = true
			}
		}
	}
	if !isBurn {
		return out
	}
	stated, period := statedSLO(rl)
	for _, single := range singles {
		c := single[0]
		out = append(out, sloProblem{int(c.sel.PosRange.Start), fmt.Sprintf("alert %q: %s has no short window beside it (multiwindow: long and short windows joined with and)", rl.Alert, selectorString(c.sel))})
	}
	for _, p := range pairs {
		long, short := p[0], p[1]
		if short.window > long.window {
			long, short = short, long
		}
		for _, c := range p {
			if stated > 0 && c.target > 0 && math.Abs(c.target-stated) > 1e-9 {
				out = append(out, sloProblem{int(c.thrPos.Start), fmt.Sprintf("alert %q: threshold is written for an SLO of %s%%, the rule states %s%%", rl.Alert, pct(c.target), pct(stated))})
			}
		}
		target := stated
		if target == 0 {
			target = long.target
		}
		if target <= 0 || target >= 1 || long.window == 0 || short.window == 0 {
			continue
		}
		budget := 1 - target
		fraction, known := workbookWindows[long.window]
		if !known {
			out = append(out, sloProblem{int(long.sel.PosRange.Start), fmt.Sprintf("alert %q: long window %s is none of the workbook's 1h, 6h, 1d, 3d", rl.Alert, model.Duration(long.window))})
			continue
		}
		if want := long.window / 12; short.window != want {
			out = append(out, sloProblem{int(short.sel.PosRange.Start), fmt.Sprintf("alert %q: short window %s beside long window %s: want %s (1/12 of the long window)", rl.Alert, model.Duration(short.window), model.Duration(long.window), model.Duration(want))})
		}
		want := fraction * float64(period) / float64(long.window)
		for _, c := range p {
			b := budget
			if c.target > 0 {
				b = 1 - c.target // a wrong target is reported above, not twice
			}
			got := c.threshold / b
			if math.Abs(got-want) > want*0.01 {
				out = append(out, sloProblem{int(c.thrPos.Start), fmt.Sprintf("alert %q: burn rate %s over %s: for a %s SLO period the workbook's factor is %s (%s%% of the error budget in %s)",
					rl.Alert, num(got), model.Duration(c.window), model.Duration(period), num(want), num(fraction*100), model.Duration(long.window))})
			}
		}
	}
	return out
}

// burnPairs collects the and-joined comparison pairs of an expression
// (each or branch one pair), and the comparisons that stand alone.
func burnPairs(e parser.Expr, rules []recordingRule) (pairs, singles [][]burnComparison) {
	var walk func(e parser.Expr)
	walk = func(e parser.Expr) {
		e = unparen(e)
		b, ok := e.(*parser.BinaryExpr)
		if !ok {
			return
		}
		switch b.Op {
		case parser.LOR:
			walk(b.LHS)
			walk(b.RHS)
		case parser.LAND:
			l, lok := comparison(b.LHS, rules)
			r, rok := comparison(b.RHS, rules)
			if lok && rok {
				pairs = append(pairs, []burnComparison{l, r})
			}
		default:
			if c, ok := comparison(b, rules); ok {
				singles = append(singles, []burnComparison{c})
			}
		}
	}
	walk(e)
	return pairs, singles
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// comparison reads "selector > number" (or >=).
func comparison(e parser.Expr, rules []recordingRule) (burnComparison, bool) {
	b, ok := unparen(e).(*parser.BinaryExpr)
	if !ok || (b.Op != parser.GTR && b.Op != parser.GTE) {
		return burnComparison{}, false
	}
	sel, ok := unparen(b.LHS).(*parser.VectorSelector)
	if !ok {
		return burnComparison{}, false
	}
	thr, ok := numValue(b.RHS)
	if !ok {
		return burnComparison{}, false
	}
	c := burnComparison{sel: sel, threshold: thr, thrPos: b.RHS.PositionRange(), target: writtenTarget(b.RHS)}
	for _, rr := range matchingRules(sel, rules) {
		c.window = max(c.window, rr.window)
	}
	return c, true
}

// numValue evaluates a constant arithmetic expression.
func numValue(e parser.Expr) (float64, bool) {
	switch x := unparen(e).(type) {
	case *parser.NumberLiteral:
		return x.Val, true
	case *parser.BinaryExpr:
		l, ok1 := numValue(x.LHS)
		r, ok2 := numValue(x.RHS)
		if !ok1 || !ok2 {
			return 0, false
		}
		switch x.Op {
		case parser.ADD:
			return l + r, true
		case parser.SUB:
			return l - r, true
		case parser.MUL:
			return l * r, true
		case parser.DIV:
			if r == 0 {
				return 0, false
			}
			return l / r, true
		}
	}
	return 0, false
}

// writtenTarget finds the SLO target in a threshold written as
// factor * (100 - 99.9) / 100 or factor * (1 - 0.999): the number
// subtracted from 100 (a percentage) or from 1.
func writtenTarget(e parser.Expr) float64 {
	var t float64
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		b, ok := n.(*parser.BinaryExpr)
		if !ok || b.Op != parser.SUB || t != 0 {
			return nil
		}
		l, ok1 := unparen(b.LHS).(*parser.NumberLiteral)
		r, ok2 := numValue(b.RHS)
		switch {
		case ok1 && ok2 && l.Val == 100 && r > 0 && r < 100:
			t = r / 100
		case ok1 && ok2 && l.Val == 1 && r > 0 && r < 1:
			t = r
		}
		return nil
	})
	return t
}

// matchingRules are the recording rules whose series a selector selects:
// the same name, and each equality matcher on a label the rule sets
// agreeing with it.
func matchingRules(vs *parser.VectorSelector, rules []recordingRule) []recordingRule {
	var out []recordingRule
	for _, rr := range rules {
		if rr.name != vs.Name {
			continue
		}
		ok := true
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				continue
			}
			if v, set := rr.labels[m.Name]; set && !m.Matches(v) {
				ok = false
			}
		}
		if ok {
			out = append(out, rr)
		}
	}
	return out
}

var (
	sloTargetRE = regexp.MustCompile(`\bSLO:? (\d+(?:\.\d+)?)\s?%`)
	sloPeriodRE = regexp.MustCompile(`\b(\d+)[- ]day\b`)
)

// statedSLO is the SLO target and period the alert states: an objective
// (or slo_objective) label or annotation, as a percentage or a ratio, else
// "SLO 99.9%" in its summary or description; the period from a
// slo_period annotation, else "30-day" in the text, else 30 days.
func statedSLO(rl rulefmt.Rule) (float64, time.Duration) {
	var target float64
	period := 30 * 24 * time.Hour
	for _, m := range []map[string]string{rl.Labels, rl.Annotations} {
		for _, k := range []string{"objective", "slo_objective"} {
			if v, err := strconv.ParseFloat(strings.TrimSuffix(m[k], "%"), 64); err == nil && target == 0 {
				if v > 1 {
					v /= 100
				}
				target = v
			}
		}
		if d, err := model.ParseDuration(m["slo_period"]); err == nil && d > 0 {
			period = time.Duration(d)
		}
	}
	text := rl.Annotations["summary"] + "\n" + rl.Annotations["description"]
	if target == 0 {
		if m := sloTargetRE.FindStringSubmatch(text); m != nil {
			if v, err := strconv.ParseFloat(m[1], 64); err == nil && v > 0 && v < 100 {
				target = v / 100
			}
		}
	}
	if _, ok := rl.Annotations["slo_period"]; !ok {
		if m := sloPeriodRE.FindStringSubmatch(text); m != nil {
			if d, err := strconv.Atoi(m[1]); err == nil && d > 0 && d <= 3660 {
				period = time.Duration(d) * 24 * time.Hour
			}
		}
	}
	return target, period
}

func selectorString(vs *parser.VectorSelector) string { return vs.String() }

func pct(ratio float64) string { return num(ratio * 100) }

func num(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64) }
