package templates_test

// The SLO alerts of the service chart, proved on synthetic series: the
// chart's PrometheusRule is rendered as `helm template` would render it for
// a release, its recording rules are evaluated step by step with
// Prometheus's own PromQL engine (each result written back as a series, as
// the rule manager does), and its alerts are evaluated with their `for`
// durations. Each scenario says which alerts must fire, and in which
// namespace.

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved/scaffold/verify/promstore"
	"github.com/paved-dev/paved/templates/templatetest"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// sloStep is the scrape and evaluation interval of the simulation.
const sloStep = 30 * time.Second

// sloSteps is how long each scenario runs: 90 minutes.
const sloSteps = 180

// series is one synthetic counter: labels and its increase per step.
type series struct {
	name   string
	labels map[string]string
	inc    float64
}

// api describes the requests of one route in one namespace per step:
// total, how many are 5xx, and how many are slower than 0.5 s.
func api(ns, route string, total, errors, slow float64) []series {
	base := map[string]string{"job": "payments", "namespace": ns, "route": route, "method": "GET"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	out := []series{
		{"http_server_request_duration_seconds_count", base, total},
		{"http_server_request_duration_seconds_bucket", with("le", "0.5"), total - slow},
	}
	if total-errors > 0 {
		out = append(out, series{"http_server_requests_total", with("code", "200"), total - errors})
	}
	if errors > 0 {
		code := "500"
		if strings.HasSuffix(route, "/readyz") {
			code = "503"
		}
		out = append(out, series{"http_server_requests_total", with("code", code), errors})
	}
	return out
}

func TestSLOAlerts(t *testing.T) {
	c := templatetest.ServiceCases[0] // defaults: payments, SLOTarget 99.9
	chart := writeChart(t, c)
	const hello = "GET /v1/hello/{name}"
	tests := []struct {
		name      string
		namespace string // the release's namespace
		series    []series
		want      []string // "Alert namespace" firing after 90 minutes
	}{
		{
			name:      "healthy",
			namespace: "prod",
			series:    slices.Concat(api("prod", hello, 600, 0.3, 0.6), api("prod", "GET /readyz", 6, 0, 0)),
		},
		{
			name:      "outage pages and tickets",
			namespace: "prod",
			series:    api("prod", hello, 600, 600, 0),
			want:      []string{"PaymentsAvailabilityErrorBudgetBurnFast prod", "PaymentsAvailabilityErrorBudgetBurnSlow prod"},
		},
		{
			name:      "slow answers page on latency",
			namespace: "prod",
			series:    api("prod", hello, 600, 0, 300),
			want:      []string{"PaymentsLatencyErrorBudgetBurnFast prod", "PaymentsLatencyErrorBudgetBurnSlow prod"},
		},
		{
			// A rollout: /readyz answers 503 on purpose, probes are slow
			// and plentiful at low traffic; the API is fine.
			name:      "failing probes are not errors",
			namespace: "prod",
			series: slices.Concat(api("prod", hello, 6, 0, 0), api("prod", "GET /readyz", 60, 60, 60),
				api("prod", "GET /healthz", 60, 0, 60), api("prod", "GET /metrics", 60, 60, 60)),
		},
		{
			name:      "another namespace's outage stays there",
			namespace: "prod",
			series:    slices.Concat(api("prod", hello, 600, 0, 0), api("staging", hello, 60, 60, 0)),
		},
		{
			name:      "the staging release alerts on staging",
			namespace: "staging",
			series:    slices.Concat(api("prod", hello, 600, 0, 0), api("staging", hello, 60, 60, 0)),
			want:      []string{"PaymentsAvailabilityErrorBudgetBurnFast staging", "PaymentsAvailabilityErrorBudgetBurnSlow staging"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			groups := sloRules(t, chart, tt.namespace)
			got := simulate(t, groups, tt.series)
			if !slices.Equal(got, tt.want) {
				t.Errorf("firing after %v: %q, want %q", sloStep*sloSteps, got, tt.want)
			}
		})
	}
}

// sloRules renders the chart's PrometheusRule with values-prod.yaml for the
// release named after the chart (as the deploy workflow names it) in
// namespace, and parses its groups with Prometheus's rulefmt.
func sloRules(t *testing.T, chartDir, namespace string) []rulefmt.RuleGroup {
	t.Helper()
	files := helmTemplate(t, chartDir, "values-prod.yaml", namespace)
	text, ok := files["templates/prometheusrule.yaml"]
	if !ok {
		t.Fatal("the chart renders no templates/prometheusrule.yaml")
	}
	var obj struct {
		Kind string    `yaml:"kind"`
		Spec yaml.Node `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(text), &obj); err != nil || obj.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml: kind %q, %v", obj.Kind, err)
	}
	spec, err := yaml.Marshal(&obj.Spec)
	if err != nil {
		t.Fatal(err)
	}
	rgs, errs := rulefmt.Parse(spec, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("rulefmt: %v", errs)
	}
	return rgs.Groups
}

// simulate loads the series, then every sloStep for sloSteps evaluates the
// groups in order as Prometheus's rule manager does (recording rules write
// their results back; alerts go pending, then fire after `for`), and
// returns the alerts firing at the end as "name namespace", sorted, with
// the environment label checked on each.
func simulate(t *testing.T, groups []rulefmt.RuleGroup, ss []series) []string {
	t.Helper()
	start := time.Unix(0, 0).UTC()
	st := promstore.New()
	for _, s := range ss {
		b := labels.NewBuilder(labels.FromMap(s.labels))
		b.Set(model.MetricNameLabel, s.name)
		lset := b.Labels()
		for step := 0; step <= sloSteps; step++ {
			st.Add(lset, start.Add(time.Duration(step)*sloStep).UnixMilli(), float64(step)*s.inc)
		}
	}
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, Parser: parser.NewParser(parser.Options{})})
	t.Cleanup(func() { _ = ng.Close() })

	type alertState struct{ activeAt time.Time }
	active := map[string]*alertState{} // alert name + labels -> since when its expression holds
	firing := map[string]string{}
	for step := 0; step <= sloSteps; step++ {
		ts := start.Add(time.Duration(step) * sloStep)
		seen := map[string]bool{}
		for _, g := range groups {
			for _, r := range g.Rules {
				vec := instant(t, ng, st, r.Expr, ts)
				if r.Record != "" {
					record(st, r, vec, ts)
					continue
				}
				for _, smp := range vec {
					key := r.Alert + " " + smp.Metric.Get("namespace")
					seen[key] = true
					if active[key] == nil {
						active[key] = &alertState{activeAt: ts}
					}
					if ts.Sub(active[key].activeAt) >= time.Duration(r.For) {
						firing[key] = r.Labels["environment"]
					}
				}
			}
		}
		for key := range active {
			if !seen[key] {
				delete(active, key)
				delete(firing, key)
			}
		}
	}
	var out []string
	for key, env := range firing {
		if env != "production" {
			t.Errorf("%s: environment label %q, want production (values-prod.yaml)", key, env)
		}
		out = append(out, key)
	}
	slices.Sort(out)
	return out
}

func instant(t *testing.T, ng *promql.Engine, st *promstore.Store, expr string, ts time.Time) promql.Vector {
	t.Helper()
	q, err := ng.NewInstantQuery(t.Context(), st, nil, expr, ts)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(t.Context())
	if res.Err != nil {
		t.Fatalf("%s at %v: %v", expr, ts, res.Err)
	}
	vec, err := res.Vector()
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return vec
}

// record writes a recording rule's result at ts, named and labelled as the
// rule manager names and labels it.
func record(st *promstore.Store, r rulefmt.Rule, vec promql.Vector, ts time.Time) {
	for _, smp := range vec {
		b := labels.NewBuilder(smp.Metric)
		b.Set(model.MetricNameLabel, r.Record)
		for k, v := range r.Labels {
			b.Set(k, v)
		}
		st.Add(b.Labels(), ts.UnixMilli(), smp.F)
	}
}
