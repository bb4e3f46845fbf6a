package buildinfo

import "testing"

func TestMetricSafe(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"payments", "payments"},
		{"payments-api", "payments_api"},
		{"a.b/c", "a_b_c"},
		{"Svc_9", "Svc_9"},
	}
	for _, tt := range tests {
		if got := metricSafe(tt.in); got != tt.want {
			t.Errorf("metricSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if MetricPrefix() != metricSafe(Name) {
		t.Errorf("MetricPrefix() = %q", MetricPrefix())
	}
}
