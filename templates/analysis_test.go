package templates_test

// The canary's analysis, proved on synthetic series as the SLO alerts are
// (slo_test.go): the chart's AnalysisTemplate is rendered as Helm renders
// it, its args are filled in as Argo Rollouts fills them, each metric's
// query is evaluated with Prometheus's PromQL engine, its result reaches
// the conditions as Argo's Prometheus provider hands it over, and the real
// successCondition and failureCondition are evaluated with expr-lang/expr
// (the version Argo Rollouts v1.10.2 uses) in the environment Argo gives
// them. The measurements of one analysis step are then assessed as Argo's
// AnalysisRun controller assesses them, with the template's interval,
// count and limits.
//
// The pieces that mirror Argo Rollouts are in argoanalysis_test.go.

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/scaffold/verify/promstore"
	"github.com/paved-dev/paved/templates/templatetest"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"helm.sh/helm/v4/pkg/chart/common"
	sigsyaml "sigs.k8s.io/yaml"
)

// stableHash is the stable ReplicaSet's rollouts-pod-template-hash (the
// canary's is canaryHash).
const stableHash = "5b7c9d8f6"

// pod describes the API requests of one route on the pods of one
// ReplicaSet per 30 s: total, how many are 5xx, how many slower than 0.5 s.
// Its counters exist (at 0) even when it serves nothing, as after a pod has
// served once; a 5xx series exists once a 5xx was answered.
func pod(ns, hash, route string, total, errors, slow float64) []series {
	lbl := func(extra ...string) map[string]string {
		m := map[string]string{"job": "payments", "namespace": ns, "route": route, "method": "GET", "rollouts_pod_template_hash": hash}
		for i := 0; i < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	out := []series{
		{"http_server_request_duration_seconds_count", lbl(), total},
		{"http_server_request_duration_seconds_bucket", lbl("le", "0.5"), total - slow},
		{"http_server_request_duration_seconds_bucket", lbl("le", "+Inf"), total},
		{"http_server_requests_total", lbl("code", "200"), total - errors},
	}
	if errors > 0 {
		code := "500"
		if strings.HasSuffix(route, "/readyz") {
			code = "503"
		}
		out = append(out, series{"http_server_requests_total", lbl("code", code), errors})
	}
	return out
}

func TestCanaryAnalysis(t *testing.T) {
	t.Parallel()
	chart := writeChart(t, templatetest.ServiceCases[0]) // payments, SLOTarget 99.9
	const hello = "GET /v1/hello/{name}"
	healthy := func(ns, hash string) []series { return pod(ns, hash, hello, 100, 0.02, 0.2) }
	tests := []struct {
		name    string
		set     map[string]any // over values-prod.yaml
		series  []series
		want    map[string]string // each measurement of the metric
		wantNaN bool              // the queries answer NaN, not an empty vector
		wantRun string
	}{
		{
			name:    "a healthy canary passes",
			series:  slices.Concat(healthy("prod", canaryHash), healthy("prod", stableHash)),
			want:    map[string]string{"availability-burn": phaseSuccessful, "latency-burn": phaseSuccessful},
			wantRun: phaseSuccessful,
		},
		{
			name:    "a canary answering 5xx fails",
			series:  slices.Concat(pod("prod", canaryHash, hello, 100, 3, 0.2), healthy("prod", stableHash)),
			want:    map[string]string{"availability-burn": phaseFailed, "latency-burn": phaseSuccessful},
			wantRun: phaseFailed,
		},
		{
			name:    "a slow canary fails",
			series:  slices.Concat(pod("prod", canaryHash, hello, 100, 0, 20), healthy("prod", stableHash)),
			want:    map[string]string{"availability-burn": phaseSuccessful, "latency-burn": phaseFailed},
			wantRun: phaseFailed,
		},
		{
			// 1.4% errors: a burn rate of 14, just under the page threshold.
			name:    "burning below the page threshold passes",
			series:  pod("prod", canaryHash, hello, 1000, 14, 0),
			want:    map[string]string{"availability-burn": phaseSuccessful, "latency-burn": phaseSuccessful},
			wantRun: phaseSuccessful,
		},
		{
			name:    "a canary without series is inconclusive",
			series:  healthy("prod", stableHash),
			want:    map[string]string{"availability-burn": phaseInconclusive, "latency-burn": phaseInconclusive},
			wantRun: phaseInconclusive,
		},
		{
			name:    "a canary without requests is inconclusive",
			series:  slices.Concat(pod("prod", canaryHash, hello, 0, 0, 0), healthy("prod", stableHash)),
			want:    map[string]string{"availability-burn": phaseInconclusive, "latency-burn": phaseInconclusive},
			wantRun: phaseInconclusive,
		},
		{
			// With minRequests 0 the ratio of no requests is 0/0 = NaN.
			name:    "NaN is inconclusive",
			set:     map[string]any{"rollout": map[string]any{"analysis": map[string]any{"minRequests": 0}}},
			series:  slices.Concat(pod("prod", canaryHash, hello, 0, 0, 0), healthy("prod", stableHash)),
			want:    map[string]string{"availability-burn": phaseInconclusive, "latency-burn": phaseInconclusive},
			wantNaN: true,
			wantRun: phaseInconclusive,
		},
		{
			name:    "too few requests to judge are inconclusive, not a failure",
			series:  slices.Concat(pod("prod", canaryHash, hello, 1, 1, 1), healthy("prod", stableHash)),
			want:    map[string]string{"availability-burn": phaseInconclusive, "latency-burn": phaseInconclusive},
			wantRun: phaseInconclusive,
		},
		{
			name:    "the stable pods burning do not fail the canary",
			series:  slices.Concat(healthy("prod", canaryHash), pod("prod", stableHash, hello, 100, 50, 50)),
			want:    map[string]string{"availability-burn": phaseSuccessful, "latency-burn": phaseSuccessful},
			wantRun: phaseSuccessful,
		},
		{
			// /readyz answers 503 on purpose while a pod starts or drains.
			name: "failing probes are not the canary's errors",
			series: slices.Concat(healthy("prod", canaryHash), pod("prod", canaryHash, "GET /readyz", 50, 50, 50),
				pod("prod", canaryHash, "GET /healthz", 50, 0, 50), pod("prod", canaryHash, "GET /metrics", 10, 10, 10)),
			want:    map[string]string{"availability-burn": phaseSuccessful, "latency-burn": phaseSuccessful},
			wantRun: phaseSuccessful,
		},
		{
			// Only the kubelet's probes and Prometheus reach a canary nobody
			// routes to yet: that is no traffic, not a healthy canary.
			name: "a canary answering only probes is inconclusive",
			series: slices.Concat(pod("prod", canaryHash, "GET /readyz", 50, 0, 0), pod("prod", canaryHash, "GET /healthz", 50, 0, 0),
				pod("prod", canaryHash, "GET /metrics", 10, 0, 0), healthy("prod", stableHash)),
			want:    map[string]string{"availability-burn": phaseInconclusive, "latency-burn": phaseInconclusive},
			wantRun: phaseInconclusive,
		},
		{
			name:    "another namespace's pods with the same hash are not the canary",
			series:  slices.Concat(healthy("prod", canaryHash), pod("staging", canaryHash, hello, 100, 100, 100)),
			want:    map[string]string{"availability-burn": phaseSuccessful, "latency-burn": phaseSuccessful},
			wantRun: phaseSuccessful,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			metrics := analysisMetrics(t, chart, "prod", tt.set, canaryHash)
			if len(metrics) != len(tt.want) {
				t.Fatalf("%d metrics, want %d", len(metrics), len(tt.want))
			}
			got, run := runStep(t, metrics, tt.series, tt.wantNaN)
			for name, want := range tt.want {
				for i, p := range got[name] {
					if p != want {
						t.Errorf("%s measurement %d: %s, want %s", name, i+1, p, want)
					}
				}
				if len(got[name]) == 0 {
					t.Errorf("%s: no measurement", name)
				}
			}
			if run != tt.wantRun {
				t.Errorf("the step's analysis run: %s, want %s", run, tt.wantRun)
			}
		})
	}
}

// analysisMetrics renders the chart's AnalysisTemplate for the release in
// namespace with values-prod.yaml and set over it, as the API server would
// hand it to Argo (JSON), and resolves its args for a canary with hash.
func analysisMetrics(t *testing.T, chart, namespace string, set map[string]any, hash string) []argoMetric {
	t.Helper()
	vals, err := common.ReadValuesFile(filepath.Join(chart, "values-prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		vals[k] = v
	}
	files, err := helmRender(t, chart, vals, namespace)
	if err != nil {
		t.Fatal(err)
	}
	text, ok := files["templates/analysistemplate.yaml"]
	if !ok {
		t.Fatal("the chart renders no templates/analysistemplate.yaml")
	}
	j, err := sigsyaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var at struct {
		Kind string `json:"kind"`
		Spec struct {
			Args    []struct{ Name string } `json:"args"`
			Metrics []json.RawMessage       `json:"metrics"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(j, &at); err != nil || at.Kind != "AnalysisTemplate" {
		t.Fatalf("analysistemplate.yaml: kind %q, %v", at.Kind, err)
	}
	if len(at.Spec.Args) != 1 || at.Spec.Args[0].Name != "canary-hash" {
		t.Fatalf("args %v, want canary-hash alone", at.Spec.Args)
	}
	var out []argoMetric
	for _, raw := range at.Spec.Metrics {
		resolved, err := resolveArgs(string(raw), map[string]string{"canary-hash": hash})
		if err != nil {
			t.Fatal(err)
		}
		var m argoMetric
		if err := json.Unmarshal([]byte(resolved), &m); err != nil {
			t.Fatal(err)
		}
		if m.Provider.Prometheus == nil || m.Count == nil {
			t.Fatalf("metric %s: want a Prometheus provider and a count", m.Name)
		}
		out = append(out, m)
	}
	return out
}

// runStep loads the series (from the canary's start, every 30 s) and takes
// the step's measurements: the first once the Rollout's 2m pause is over,
// then every interval, count of them, each metric's query evaluated at its
// time and judged by its conditions. It returns every metric's measurement
// phases and the run's phase. wantNaN: every query must answer NaN.
func runStep(t *testing.T, metrics []argoMetric, ss []series, wantNaN bool) (map[string][]string, string) {
	t.Helper()
	interval, err := time.ParseDuration(metrics[0].Interval)
	if err != nil {
		t.Fatal(err)
	}
	const pause = 2 * time.Minute
	count := *metrics[0].Count
	for _, m := range metrics[1:] {
		if m.Interval != metrics[0].Interval || *m.Count != count {
			t.Fatalf("metric %s: interval %s, count %d differ from %s's", m.Name, m.Interval, *m.Count, metrics[0].Name)
		}
	}
	start := time.Unix(0, 0).UTC()
	st := promstore.New()
	end := pause + time.Duration(count)*interval
	for _, s := range ss {
		b := labels.NewBuilder(labels.FromMap(s.labels))
		b.Set(model.MetricNameLabel, s.name)
		lset := b.Labels()
		for step := 0; time.Duration(step)*sloStep <= end; step++ {
			st.Add(lset, start.Add(time.Duration(step)*sloStep).UnixMilli(), float64(step)*s.inc)
		}
	}
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, Parser: parser.NewParser(parser.Options{})})
	t.Cleanup(func() { _ = ng.Close() })

	phases := map[string][]string{}
	results := make([]metricResult, len(metrics))
	status := make([]string, len(metrics))
	for i := 0; i < count; i++ {
		ts := start.Add(pause + time.Duration(i)*interval)
		terminating := false
		for k, m := range metrics {
			if status[k] != "" && status[k] != phaseRunning {
				continue
			}
			value := queryValue(t, ng, st, m.Provider.Prometheus.Query, ts)
			result, err := providerResult(value)
			p := phaseError
			if err == nil {
				p, err = evaluateResult(result, m)
			}
			if err != nil {
				t.Logf("%s at %v: %s: %v", m.Name, ts, p, err)
			}
			if wantNaN {
				if f, ok := result.([]float64); !ok || len(f) != 1 || !math.IsNaN(f[0]) {
					t.Errorf("%s at %v: result %v, want [NaN]", m.Name, ts, result)
				}
			}
			phases[m.Name] = append(phases[m.Name], p)
			results[k].add(p)
			status[k] = assessMetric(m, results[k], false)
			terminating = terminating || status[k] == phaseFailed || status[k] == phaseError || status[k] == phaseInconclusive
		}
		if terminating {
			for k, m := range metrics {
				if status[k] == phaseRunning {
					status[k] = assessMetric(m, results[k], true)
				}
			}
			break
		}
	}
	return phases, worst(status)
}

// queryValue evaluates query at ts and returns its value as Argo's
// provider receives it: encoded as Prometheus's HTTP API encodes it,
// decoded into client_golang's model types (NaN travels as "NaN").
func queryValue(t *testing.T, ng *promql.Engine, st *promstore.Store, query string, ts time.Time) model.Value {
	t.Helper()
	q, err := ng.NewInstantQuery(t.Context(), st, nil, query, ts)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer q.Close()
	res := q.Exec(t.Context())
	if res.Err != nil {
		t.Fatalf("%s at %v: %v", query, ts, res.Err)
	}
	data, err := json.Marshal(res.Value)
	if err != nil {
		t.Fatal(err)
	}
	var v model.Value
	switch res.Value.Type() {
	case parser.ValueTypeVector:
		var vec model.Vector
		err, v = json.Unmarshal(data, &vec), vec
	case parser.ValueTypeScalar:
		var sc model.Scalar
		err, v = json.Unmarshal(data, &sc), &sc
	case parser.ValueTypeMatrix:
		var m model.Matrix
		err, v = json.Unmarshal(data, &m), m
	default:
		t.Fatalf("%s: a %s result", query, res.Value.Type())
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAnalysisConditions judges the results a query can give with the
// chart's conditions, and shows that the harness tells conditions that
// mishandle no data from the chart's: each wrong pair below is judged
// differently from the chart's on some result.
func TestAnalysisConditions(t *testing.T) {
	t.Parallel()
	chart := writeChart(t, templatetest.ServiceCases[0])
	metrics := analysisMetrics(t, chart, "prod", nil, canaryHash)
	results := []struct {
		name   string
		result any
		want   string
	}{
		{"an empty vector", []float64{}, phaseInconclusive},
		{"NaN", []float64{math.NaN()}, phaseInconclusive},
		{"no burn", []float64{0}, phaseSuccessful},
		{"at the page threshold", []float64{14.4}, phaseSuccessful},
		{"over the page threshold", []float64{14.41}, phaseFailed},
		{"+Inf", []float64{math.Inf(1)}, phaseFailed},
	}
	for _, m := range metrics {
		for _, r := range results {
			got, err := evaluateResult(r.result, m)
			if got != r.want {
				t.Errorf("%s on %s %v: %s (%v), want %s", m.Name, r.name, r.result, got, err, r.want)
			}
		}
	}
	wrong := []struct {
		name, success, failure string
	}{
		{"no length test: an empty result is an error", "result[0] <= 14.4", "result[0] > 14.4"},
		{"NaN passes", "len(result) == 1 && !(result[0] > 14.4)", "len(result) == 1 && result[0] > 14.4"},
		{"no data passes", "all(result, {# <= 14.4})", "any(result, {# > 14.4})"},
		{"no failure condition: no data fails", "len(result) == 1 && result[0] <= 14.4", ""},
	}
	for _, w := range wrong {
		m := metrics[0]
		m.SuccessCondition, m.FailureCondition = w.success, w.failure
		differs := false
		for _, r := range results {
			got, _ := evaluateResult(r.result, m)
			differs = differs || got != r.want
		}
		if !differs {
			t.Errorf("%s: judged like the chart's conditions on every result; the harness cannot tell them apart", w.name)
		}
	}
}
