package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.yaml.in/yaml/v3"

	"example.com/acme/payments/internal/buildinfo"
)

var testID = Identity{Service: "svc", Version: "v1.2.3", Commit: "c0ffee", BuildID: "abc123", DeploymentID: "dep-7", Environment: "staging"}

// lines decodes JSON log lines.
func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestBuildIdentity(t *testing.T) {
	t.Parallel()
	id := BuildIdentity("d", "e")
	want := Identity{Service: buildinfo.Name, Version: buildinfo.Version, Commit: buildinfo.Commit, BuildID: buildinfo.BuildID, DeploymentID: "d", Environment: "e"}
	if id != want {
		t.Errorf("BuildIdentity = %+v, want %+v", id, want)
	}
}

func TestLoggerFields(t *testing.T) {
	t.Parallel()
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()

	var buf bytes.Buffer
	log := NewLogger(&buf, zerolog.InfoLevel, testID)
	log.Info().Msg("plain")
	log.Info().Ctx(ctx).Msg("in a span")
	log.Debug().Msg("below the level")

	got := lines(t, &buf)
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2 (debug filtered): %v", len(got), got)
	}
	for _, l := range got {
		for k, v := range map[string]string{"service": "svc", "version": "v1.2.3", "build_id": "abc123", "deployment_id": "dep-7", "environment": "staging", "level": "info"} {
			if l[k] != v {
				t.Errorf("line %v: %s = %v, want %q", l, k, l[k], v)
			}
		}
		if _, ok := l["time"].(string); !ok {
			t.Errorf("line %v has no time", l)
		}
	}
	if _, ok := got[0]["trace_id"]; ok {
		t.Errorf("line without a span has a trace_id: %v", got[0])
	}
	sc := span.SpanContext()
	if got[1]["trace_id"] != sc.TraceID().String() || got[1]["span_id"] != sc.SpanID().String() {
		t.Errorf("line in a span = %v, want trace_id %s span_id %s", got[1], sc.TraceID(), sc.SpanID())
	}
}

func TestResourceAttributes(t *testing.T) {
	t.Parallel()
	res, err := Resource(context.Background(), testID)
	if err != nil {
		t.Fatalf("Resource: %v", err)
	}
	want := map[attribute.Key]string{
		"service.name":                "svc",
		"service.version":             "v1.2.3",
		"build.id":                    "abc123",
		"vcs.ref.head.revision":       "c0ffee",
		"deployment.id":               "dep-7",
		"deployment.environment":      "staging",
		"deployment.environment.name": "staging",
	}
	got := map[attribute.Key]string{}
	for _, kv := range res.Attributes() {
		got[kv.Key] = kv.Value.AsString()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("resource %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestNewTracerProvider(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp, err := NewTracerProvider(context.Background(), testID, "", sdktrace.WithSyncer(exp))
	if err != nil {
		t.Fatalf("NewTracerProvider: %v", err)
	}
	_, span := tp.Tracer("t").Start(context.Background(), "op")
	span.End()
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	if got := spans[0].Resource.Attributes(); !hasAttr(got, "build.id", "abc123") {
		t.Errorf("span resource %v lacks build.id", got)
	}

	// An exporter is built without contacting the collector.
	tp2, err := NewTracerProvider(context.Background(), testID, "http://127.0.0.1:1")
	if err != nil {
		t.Fatalf("NewTracerProvider with endpoint: %v", err)
	}
	if err := tp2.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := NewTracerProvider(context.Background(), testID, "::not a url"); err == nil {
		t.Error("NewTracerProvider accepted a bad endpoint")
	}
}

func hasAttr(kvs []attribute.KeyValue, k, v string) bool {
	for _, kv := range kvs {
		if string(kv.Key) == k && kv.Value.AsString() == v {
			return true
		}
	}
	return false
}

func TestTracesURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://collector:4318", "http://collector:4318/v1/traces"},
		{"http://collector:4318/", "http://collector:4318/v1/traces"},
		{"https://otel.example.com/otlp", "https://otel.example.com/otlp/v1/traces"},
		{"http://collector:4318/v1/traces", "http://collector:4318/v1/traces"},
	}
	for _, tt := range tests {
		got, err := tracesURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("tracesURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := tracesURL("/just/a/path"); err == nil {
		t.Error("tracesURL accepted a URL without host")
	}
}

func TestPropagatorFields(t *testing.T) {
	t.Parallel()
	got := strings.Join(Propagator().Fields(), ",")
	for _, f := range []string{"traceparent", "tracestate", "baggage"} {
		if !strings.Contains(got, f) {
			t.Errorf("propagator fields %q lack %q", got, f)
		}
	}
}

func TestMetricsMiddleware(t *testing.T) {
	t.Parallel()
	m := NewMetrics(testID)
	var logs bytes.Buffer
	log := NewLogger(&logs, zerolog.DebugLevel, testID)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("item")) })
	mux.HandleFunc("GET /teapot", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints) // informational: not the final status
		w.WriteHeader(http.StatusTeapot)
	})
	mux.HandleFunc("GET /empty", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("GET /abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	h := m.Middleware(log, map[string]bool{"/empty": true}, mux)

	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	span.End()

	do := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, method, path, nil))
		return rec
	}
	do(http.MethodGet, "/items/1")
	do(http.MethodGet, "/items/2")
	do(http.MethodGet, "/teapot")
	do(http.MethodGet, "/empty")
	do(http.MethodGet, "/nowhere")
	do("BREW", "/items/3")
	if rec := do(http.MethodGet, "/boom"); rec.Code != http.StatusInternalServerError {
		t.Errorf("panicking handler answered %d, want 500", rec.Code)
	}
	func() {
		defer func() {
			if p := recover(); p != any(http.ErrAbortHandler) {

				t.Errorf("ErrAbortHandler was not re-panicked: %v", p)
			}
		}()
		do(http.MethodGet, "/abort")
	}()

	counts := []struct {
		route, code, method string
		want                float64
	}{
		{"GET /items/{id}", "200", "GET", 2},
		{"GET /teapot", "418", "GET", 1},
		{"GET /empty", "200", "GET", 1},
		{UnmatchedRoute, "404", "GET", 1},
		{UnmatchedRoute, "405", "OTHER", 1},
		{"GET /boom", "500", "GET", 1},
		{"GET /abort", "500", "GET", 1},
	}
	for _, c := range counts {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.route, c.code, c.method)); got != c.want {
			t.Errorf("%s{route=%q,code=%q,method=%q} = %v, want %v", RequestsTotalName, c.route, c.code, c.method, got, c.want)
		}
	}
	if got := testutil.ToFloat64(m.active); got != 0 {
		t.Errorf("%s = %v after all requests ended, want 0", ActiveRequestsName, got)
	}

	got := lines(t, &logs)
	levels := map[string]string{}
	for _, l := range got {
		if l["message"] == "request" {
			levels[l["path"].(string)] = l["level"].(string)
			if l["trace_id"] != span.SpanContext().TraceID().String() {
				t.Errorf("request log %v lacks the trace_id", l)
			}
		}
	}
	if levels["/empty"] != "debug" || levels["/items/1"] != "info" {
		t.Errorf("request log levels = %v; want quiet paths at debug, others at info", levels)
	}
	if !strings.Contains(logs.String(), `"message":"handler panicked"`) {
		t.Errorf("panic was not logged:\n%s", logs.String())
	}
}

func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	m := NewMetrics(testID)
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "op")
	span.End()
	h := m.Middleware(zerolog.Nop(), nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil))

	problems, err := testutil.GatherAndLint(m.Registry)
	if err != nil {
		t.Fatalf("GatherAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}

	tests := []struct {
		name, accept string
		want         []string
	}{
		{"prometheus text", "text/plain", []string{
			RequestsTotalName + `{code="200",method="GET",route="unmatched"} 1`,
			RequestDurationName + `_bucket{method="GET",route="unmatched",le="0.1"} 1`,
			RequestDurationName + `_bucket{method="GET",route="unmatched",le="0.25"} 1`,
			RequestDurationName + `_bucket{method="GET",route="unmatched",le="0.5"} 1`,
			RequestDurationName + `_bucket{method="GET",route="unmatched",le="1"} 1`,
			buildinfo.MetricPrefix() + `_build_info{build_id="abc123",deployment_id="dep-7",environment="staging",goversion="` + runtime.Version() + `",revision="c0ffee",version="v1.2.3"} 1`,
			"go_goroutines ",
			"process_start_time_seconds ",
		}},
		{"openmetrics with exemplar", "application/openmetrics-text", []string{
			`# {trace_id="` + span.SpanContext().TraceID().String() + `"}`,
		}},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/metrics", nil)
		req.Header.Set("Accept", tt.accept)
		m.Handler().ServeHTTP(rec, req)
		body := rec.Body.String()
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: /metrics lacks %q", tt.name, w)
			}
		}
	}
}

func TestNormalizeMethod(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "get": "OTHER", "PROPFIND": "OTHER"} {
		if got := normalizeMethod(in); got != want {
			t.Errorf("normalizeMethod(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusRecorderUnwrap(t *testing.T) {
	t.Parallel()
	inner := httptest.NewRecorder()
	rec := &statusRecorder{ResponseWriter: inner}
	if rec.Unwrap() != inner {
		t.Error("Unwrap does not return the wrapped writer")
	}
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Errorf("Flush through the recorder: %v", err)
	}
	if !inner.Flushed {
		t.Error("Flush did not reach the wrapped writer")
	}
}

// The metric names are a contract with the SLO rules under deploy/.
func TestMetricNamesAreTheContract(t *testing.T) {
	t.Parallel()
	if RequestsTotalName != "http_server_requests_total" || RequestDurationName != "http_server_request_duration_seconds" {
		t.Error("metric names changed: update the SLO rules under deploy/ too")
	}
}

// TestMetricsMatchSchema: what /metrics exposes, after a request, is what
// metrics.yaml says, metric by metric and label by label; every metric of
// this package is in it (Go's and the process's collectors are not: no
// rule of the service selects them by label).
func TestMetricsMatchSchema(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("metrics.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Metrics []struct {
			Name, Type string
			Labels     []string
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if derr := dec.Decode(&schema); derr != nil {
		t.Fatalf("metrics.yaml: %v", derr)
	}
	m := NewMetrics(testID)
	h := m.Middleware(zerolog.Nop(), nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil))
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		name := f.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		i := slices.IndexFunc(schema.Metrics, func(s struct {
			Name, Type string
			Labels     []string
		}) bool {
			ok, _ := path.Match(s.Name, name)
			return ok
		})
		if i < 0 {
			t.Errorf("/metrics exposes %s, which metrics.yaml does not list", name)
			continue
		}
		s := schema.Metrics[i]
		seen[s.Name] = true
		if got := strings.ToLower(f.GetType().String()); got != s.Type {
			t.Errorf("%s is a %s, metrics.yaml says %s", name, got, s.Type)
		}
		for _, metric := range f.GetMetric() {
			var labels []string
			for _, l := range metric.GetLabel() {
				labels = append(labels, l.GetName())
			}
			if !slices.Equal(labels, slices.Sorted(slices.Values(s.Labels))) {
				t.Errorf("%s has labels %v, metrics.yaml says %v", name, labels, s.Labels)
			}
		}
	}
	for _, s := range schema.Metrics {
		if !seen[s.Name] {
			t.Errorf("metrics.yaml lists %s, which /metrics does not expose", s.Name)
		}
	}
}
