package verify

import "testing"

// A query that selects a label the service's metrics do not carry selects
// nothing: the error numerator is always empty, so the canary can never
// fail and the alert never fires. Each is found at the template line that
// writes the selector.
func TestMetricSchemaInjections(t *testing.T) {
	const (
		analysis = "deploy/helm/payments/templates/analysistemplate.yaml"
		rules    = "deploy/helm/payments/templates/prometheusrule.yaml"
	)
	runInjections(t, []injection{
		{name: "analysis selects errors by a label the service lacks", golden: "defaults", file: analysis,
			old: `code=~\"5..\"`, new: `status=~\"5..\"`,
			want: []string{analysis + `:65: rollouts: AnalysisTemplate payments-slo-burn: metric "availability-burn" selects http_server_requests_total by label "status", which it does not carry (internal/telemetry/metrics.yaml gives it route, code, method)`}},
		{name: "analysis of the Argo CD variant, the same", golden: "argocd", file: analysis,
			old: `code=~\"5..\"`, new: `http_status=~\"5..\"`,
			want: []string{analysis + `:65: rollouts: AnalysisTemplate payments-slo-burn: metric "availability-burn" selects http_server_requests_total by label "http_status"`}},
		{name: "SLO rule selects errors by a label the service lacks", golden: "defaults", file: rules,
			old: `code=~"5.."`, new: `status_code=~"5.."`,
			want: []string{rules + `:44: prometheus: rule "slo:sli_error:ratio_rate`}},
		{name: "latency rule selects buckets by the counter's label", golden: "defaults", file: rules,
			old: `_bucket{ {{- $sel }},le=`, new: `_bucket{ {{- $sel }},code="200",le=`,
			want: []string{rules + `:57: prometheus: rule "slo:sli_error:ratio_rate`}},
		{name: "a schema that does not parse", golden: "defaults", file: metricSchemaFile,
			old: "    labels: [route, method]\n", new: "    label: [route, method]\n",
			want: []string{metricSchemaFile + ":13: prometheus: field label not found"}},
	})
}
