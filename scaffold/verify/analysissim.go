package verify

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"github.com/paved-dev/paved/scaffold/verify/promstore"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// An analysis metric's meaning, judged offline: its query is evaluated by
// Prometheus's own engine on synthetic canaries built from the service's
// metric schema, and the verdict of its own success and failure
// conditions must be the one a reviewer expects. A canary that fails no
// request, or burns its error budget at half the rate the SLO allows,
// must pass; one whose every request fails, or that burns the budget
// faster than the fast-burn alert's page threshold, must fail. Swapped
// conditions, or a threshold on the wrong side, pass the shape checks and
// promote a canary that burns the budget.

// fastBurn is the SRE workbook's page threshold for a 30-day SLO (2% of
// the budget in an hour); a canary is judged above it.
const fastBurn = 14.4

// A canaryWorld is one synthetic canary: the fraction of its requests that
// fail (answer 5xx, or are slower than every latency threshold).
type canaryWorld struct {
	failing float64
	want    string // the phase a reviewer expects
	what    string // the canary in words
}

// canaryFindings judges one metric on the synthetic canaries (query is the
// metric's query with its arguments filled in, expr that query parsed). It says
// nothing when the query reads a series the schema does not describe or
// selects one no synthetic value satisfies: what it measures is unknown.
func canaryFindings(ctx context.Context, check string, o *kobject, mnode *yaml.Node, name, query string, expr parser.Expr, success, failure string, schema *metricSchema) []Finding {
	if schema == nil || success == "" && failure == "" {
		return nil
	}
	sim := newCanarySim(expr, schema)
	if sim == nil {
		return nil
	}
	eval := func(failing float64) (any, bool) {
		r, err := sim.eval(ctx, query, failing)
		return r, err == nil
	}
	worlds := []canaryWorld{
		{0, "Successful", "a canary that fails no request"},
		{1, "Failed", "a canary whose every request fails"},
	}
	// A burn-rate query (result linear in the failing fraction, 1 at the
	// budget) is judged at the rates too.
	if r1, ok := eval(1); ok {
		if v, ok := single(r1); ok && v > 1 && !math.IsInf(v, 0) {
			budget := 1 / v
			if rb, ok := eval(budget); ok {
				if b, ok := single(rb); ok && math.Abs(b-1) < 0.01 {
					worlds = append(worlds, canaryWorld{budget / 2, "Successful", "a canary burning its error budget at half the rate the SLO allows"})
					if f := 1.25 * fastBurn * budget; f < 1 {
						worlds = append(worlds, canaryWorld{f, "Failed", fmt.Sprintf("a canary burning its error budget %g times as fast as the SLO allows (above the fast-burn page threshold, %g)", 1.25*fastBurn, fastBurn)})
					}
				}
			}
		}
	}
	for _, w := range worlds {
		r, ok := eval(w.failing)
		if !ok {
			return nil
		}
		phase, err := analysisPhase(r, success, failure)
		if err != nil || phase == w.want {
			continue // errors are conditionFindings'
		}
		key := "failureCondition"
		if w.want == "Successful" {
			key = "successCondition"
		}
		// At the condition's key: the condition is the template's text
		// even where a value gives its threshold.
		at := yamlnode.Key(mnode, key)
		if at == nil {
			at = mnode
		}
		return []Finding{o.keyFinding(check, at, "%s: metric %q: %s (result %s) is judged %s, not %s, by its conditions (successCondition %q, failureCondition %q): are they swapped, or a threshold on the wrong side?",
			o.describe(), name, w.what, resultString(rounded(r)), phase, w.want, success, failure)}
	}
	return nil
}

// rounded is a result to 4 significant digits, for messages (a rate
// over synthetic samples is 18.000000000000018).
func rounded(r any) any {
	round := func(f float64) float64 {
		v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 4, 64), 64)
		return v
	}
	switch v := r.(type) {
	case float64:
		return round(v)
	case []float64:
		out := make([]float64, len(v))
		for i, f := range v {
			out[i] = round(f)
		}
		return out
	}
	return r
}

// single is a result's one value.
func single(r any) (float64, bool) {
	switch v := r.(type) {
	case float64:
		return v, true
	case []float64:
		if len(v) == 1 {
			return v[0], true
		}
	}
	return 0, false
}

// A canarySim holds, for each series family the query reads, the label set
// its series have: every label the query's selectors constrain, set to a
// value that satisfies them all.
type canarySim struct {
	families map[*schemaMetric]labels.Labels
	window   time.Duration // the longest range the query reads
}

// maxSimWindow is the longest range a judged query may read.
const maxSimWindow = 24 * time.Hour

// simValues are the values tried for a label the query constrains without
// naming one value.
var simValues = []string{"GET /items/{id}", "GET", "x"}

func newCanarySim(expr parser.Expr, schema *metricSchema) *canarySim {
	sim := &canarySim{families: map[*schemaMetric]labels.Labels{}, window: 5 * time.Minute}
	matchers := map[*schemaMetric]map[string][]*labels.Matcher{}
	ok := true
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.MatrixSelector:
			sim.window = max(sim.window, n.Range)
		case *parser.VectorSelector:
			m, _ := schema.series(n.Name)
			if m == nil || m.Type != "counter" && m.Type != "histogram" {
				ok = false
				return nil
			}
			if matchers[m] == nil {
				matchers[m] = map[string][]*labels.Matcher{}
			}
			for _, lm := range n.LabelMatchers {
				if lm.Name != model.MetricNameLabel && lm.Name != "code" && lm.Name != "le" {
					matchers[m][lm.Name] = append(matchers[m][lm.Name], lm)
				}
			}
		}
		return nil
	})
	// A window past a day is no canary's (and an hour of samples per
	// 15 s for each of years would not fit): not judged.
	if !ok || len(matchers) == 0 || sim.window > maxSimWindow {
		return nil
	}
	for m, byLabel := range matchers {
		b := labels.NewScratchBuilder(len(byLabel))
		for _, label := range sortedKeys(byLabel) {
			ms := byLabel[label]
			candidates := []string{}
			for _, lm := range ms {
				if lm.Type == labels.MatchEqual {
					candidates = append(candidates, lm.Value)
				}
			}
			candidates = append(candidates, simValues...)
			i := slices.IndexFunc(candidates, func(v string) bool {
				return !slices.ContainsFunc(ms, func(lm *labels.Matcher) bool { return !lm.Matches(v) })
			})
			if i < 0 {
				return nil
			}
			b.Add(label, candidates[i])
		}
		b.Sort()
		sim.families[m] = b.Labels()
	}
	return sim
}

// eval evaluates the query at the end of an hour of steady traffic (100
// requests a second) of which the fraction failing fails.
func (s *canarySim) eval(ctx context.Context, query string, failing float64) (any, error) {
	const rate, step = 100.0, 15 * time.Second
	span := max(time.Hour, 2*s.window)
	store := promstore.New()
	end := time.Unix(0, 0).Add(span)
	for t := time.Duration(0); t <= span; t += step {
		ms := t.Milliseconds()
		n := rate * t.Seconds()
		for m, base := range s.families {
			series := func(name string, extra ...string) labels.Labels {
				b := labels.NewBuilder(base)
				b.Set(model.MetricNameLabel, name)
				for i := 0; i+1 < len(extra); i += 2 {
					b.Set(extra[i], extra[i+1])
				}
				return b.Labels()
			}
			switch m.Type {
			case "counter":
				if slices.Contains(m.Labels, "code") {
					store.Add(series(m.Name, "code", "200"), ms, n*(1-failing))
					store.Add(series(m.Name, "code", "500"), ms, n*failing)
				} else {
					store.Add(series(m.Name), ms, n)
				}
			case "histogram":
				// Good requests are faster than every threshold, failing
				// ones slower than all of them.
				for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"} {
					store.Add(series(m.Name+"_bucket", "le", le), ms, n*(1-failing))
				}
				store.Add(series(m.Name+"_bucket", "le", "+Inf"), ms, n)
				store.Add(series(m.Name+"_count"), ms, n)
				store.Add(series(m.Name+"_sum"), ms, n*0.01)
			}
		}
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	q, err := engine.NewInstantQuery(ctx, store, nil, query, end)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := []float64{}
		for _, s := range v {
			out = append(out, s.F)
		}
		return out, nil
	case promql.Scalar:
		return v.V, nil
	}
	return nil, fmt.Errorf("result of type %s", res.Value.Type())
}
