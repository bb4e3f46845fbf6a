package verify

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// An analysis whose conditions judge the canary backwards passes every
// shape check and promotes a canary burning its error budget: each is
// found at the condition in the template.
func TestCanaryMeaningInjections(t *testing.T) {
	const analysis = "deploy/helm/payments/templates/analysistemplate.yaml"
	const conditions = `      successCondition: {{ printf "len(result) == 1 && result[0] <= %v" $max | quote }}
      failureCondition: {{ printf "len(result) == 1 && result[0] > %v" $max | quote }}
`
	both := func(msg string) []string {
		return []string{
			analysis + `: rollouts: AnalysisTemplate payments-slo-burn: metric "availability-burn": ` + msg,
			analysis + `: rollouts: AnalysisTemplate payments-slo-burn: metric "latency-burn": ` + msg,
		}
	}
	runInjections(t, []injection{
		{name: "success and failure swapped", golden: "defaults", file: analysis, old: conditions,
			new: `      successCondition: {{ printf "len(result) == 1 && result[0] > %v" $max | quote }}
      failureCondition: {{ printf "len(result) == 1 && result[0] <= %v" $max | quote }}
`,
			want: both("a canary that fails no request (result [0]) is judged Failed, not Successful")},
		{name: "failure threshold on the wrong side (Argo CD variant)", golden: "argocd", file: analysis, old: conditions,
			new: `      successCondition: {{ printf "len(result) == 1 && result[0] <= %v" $max | quote }}
      failureCondition: {{ printf "len(result) == 1 && result[0] < %v" $max | quote }}
`,
			want: both("a canary that fails no request (result [0]) is judged Failed, not Successful")},
		{name: "a threshold above the fast burn", golden: "defaults", file: analysis,
			old: "{{- $max := $a.maxBurnRate }}", new: "{{- $max := 40 }}",
			want: both("a canary burning its error budget 18 times as fast as the SLO allows (above the fast-burn page threshold, 14.4) (result [18]) is judged Successful, not Failed")},
		{name: "a threshold that fails a healthy canary", golden: "defaults", file: analysis,
			old: "{{- $max := $a.maxBurnRate }}", new: "{{- $max := 0.2 }}",
			want: both("a canary burning its error budget at half the rate the SLO allows (result [0.5]) is judged Failed, not Successful")},
	})
}

// A query reading a range of years is not simulated (its samples would
// not fit), and says nothing rather than hold verify.
func TestCanarySimBoundsTheWindow(t *testing.T) {
	schema := &metricSchema{Metrics: []schemaMetric{{Name: "http_server_requests_total", Type: "counter", Labels: []string{"route", "code", "method"}}}}
	for _, q := range []string{`sum(rate(http_server_requests_total{code=~"5.."}[100y]))`, `sum(rate(http_server_requests_total[25h]))`} {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(q)
		if err != nil {
			t.Fatal(err)
		}
		if sim := newCanarySim(expr, schema); sim != nil {
			t.Errorf("%s: simulated over %s", q, sim.window)
		}
	}
	expr, _ := parser.NewParser(parser.Options{}).ParseExpr(`sum(rate(http_server_requests_total[5m]))`)
	if newCanarySim(expr, schema) == nil {
		t.Error("a 5m window is not simulated")
	}
}
