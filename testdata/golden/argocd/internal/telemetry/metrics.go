package telemetry

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"example.com/acme/payments/internal/buildinfo"
)

// Metric names. The SLO recording and alerting rules under deploy/ query
// these: rename them there too.
const (
	RequestsTotalName   = "http_server_requests_total"
	RequestDurationName = "http_server_request_duration_seconds"
	ActiveRequestsName  = "http_server_active_requests"
)

// DurationBuckets suit latency SLOs: the thresholds people pick (100ms, 250ms,
// 500ms, 1s) are bucket bounds, so a ratio of good requests is exact.
var DurationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// UnmatchedRoute is the route label of requests no route matched, so that
// scanners cannot blow up the label cardinality.
const UnmatchedRoute = "unmatched"

// Metrics is the service's own Prometheus registry and its HTTP metrics.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	active   prometheus.Gauge
}

// NewMetrics registers the Go and process collectors, the
// <name>_build_info gauge and the HTTP server metrics on a new registry.
func NewMetrics(id Identity) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsTotalName,
			Help: "HTTP requests served, by route pattern, status code and method.",
		}, []string{"route", "code", "method"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    RequestDurationName,
			Help:    "Time to serve an HTTP request, by route pattern and method.",
			Buckets: DurationBuckets,
		}, []string{"route", "method"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: ActiveRequestsName,
			Help: "HTTP requests being served now.",
		}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: buildinfo.MetricPrefix() + "_build_info",
		Help: "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{
			"version":       id.Version,
			"build_id":      id.BuildID,
			"revision":      id.Commit,
			"goversion":     runtime.Version(),
			"deployment_id": id.DeploymentID,
			"environment":   id.Environment,
		},
	})
	buildInfo.Set(1)
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo, m.requests, m.duration, m.active,
	)
	return m
}

// Handler serves the registry in the Prometheus and OpenMetrics formats
// (the latter carries trace-id exemplars).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		Registry:          m.Registry,
	})
}

// Middleware counts, times and logs each request. It must sit inside the
// tracing middleware (to see the span) and directly around the ServeMux (to
// see the matched route pattern). Requests to quiet paths are logged at debug
// level, the rest at info.
func (m *Metrics) Middleware(log zerolog.Logger, quiet map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.active.Inc()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() { m.finish(log, quiet, r, rec, start, recover()) }()
		next.ServeHTTP(rec, r)
	})
}

// finish runs after the handler with what it panicked with, if anything: a
// panic becomes a 500 (an http.ErrAbortHandler panic goes on, as net/http
// expects), then the request is observed.
func (m *Metrics) finish(log zerolog.Logger, quiet map[string]bool, r *http.Request, rec *statusRecorder, start time.Time, p any) {
	m.active.Dec()
	if p != nil && rec.status == 0 {
		rec.status = http.StatusInternalServerError
	}
	if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		m.observe(log, quiet, r, rec, time.Since(start))
		panic(p) // net/http aborts the response without logging
	}
	if p != nil {
		log.Error().Ctx(r.Context()).Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("handler panicked")
		if !rec.wrote {
			writeInternalError(rec.ResponseWriter)
		}
	}
	m.observe(log, quiet, r, rec, time.Since(start))
}

func writeInternalError(w http.ResponseWriter) {
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// observe counts, times and logs one finished request.
func (m *Metrics) observe(log zerolog.Logger, quiet map[string]bool, r *http.Request, rec *statusRecorder, elapsed time.Duration) {
	route := r.Pattern
	if route == "" {
		route = UnmatchedRoute
	}
	method := normalizeMethod(r.Method)
	code := rec.Status()
	m.requests.WithLabelValues(route, strconv.Itoa(code), method).Inc()
	observer := m.duration.WithLabelValues(route, method)
	sc := trace.SpanContextFromContext(r.Context())
	if eo, ok := observer.(prometheus.ExemplarObserver); ok && sc.IsSampled() {
		eo.ObserveWithExemplar(elapsed.Seconds(), prometheus.Labels{"trace_id": sc.TraceID().String()})
	} else {
		observer.Observe(elapsed.Seconds())
	}

	level := zerolog.InfoLevel
	if quiet[r.URL.Path] {
		level = zerolog.DebugLevel
	}
	log.WithLevel(level).Ctx(r.Context()).
		Str("method", r.Method).
		Str("path", r.URL.Path).
		Str("route", route).
		Int("status", code).
		Int64("bytes", rec.bytes).
		Float64("duration_ms", float64(elapsed.Microseconds())/1000).
		Str("remote_addr", r.RemoteAddr).
		Msg("request")
}

// normalizeMethod keeps the method label to a known, small set.
func normalizeMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	default:
		return "OTHER"
	}
}

// statusRecorder remembers the status code and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool // headers are sent
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= http.StatusOK {
		s.status = code
		s.wrote = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	s.wrote = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Status is the code sent, 200 when the handler wrote nothing.
func (s *statusRecorder) Status() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
