// Package server holds the HTTP side of the service: its routes, the
// liveness and readiness endpoints, and a lifecycle that drains in-flight
// requests on shutdown.
package server

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"example.com/acme/payments/internal/telemetry"
)

// Paths of the operational endpoints.
const (
	HealthPath  = "/healthz"
	ReadyPath   = "/readyz"
	MetricsPath = "/metrics"
)

// State is where the process is in its life, as /readyz reports it.
type State int32

// The states, in the order they happen.
const (
	Starting State = iota // not serving yet: not ready
	Serving               // ready for traffic
	Draining              // SIGTERM arrived: not ready, in-flight requests finish
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Serving:
		return "ready"
	default:
		return "draining"
	}
}

// Readiness is the state /readyz reports. The zero value is Starting.
type Readiness struct {
	state atomic.Int32
}

// Set moves to state s.
func (r *Readiness) Set(s State) { r.state.Store(int32(s)) }

// State is the current state.
func (r *Readiness) State() State { return State(r.state.Load()) }

// ServeHTTP answers 200 while serving and 503 otherwise.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s := r.State()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s != Serving {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write([]byte(s.String() + "\n"))
}

// health is the liveness probe: the process answers, nothing more. It stays
// 200 while draining, so Kubernetes does not restart a pod shutting down.
func health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// Routes is the service's ServeMux on the API port: the probes and the API.
// /metrics has a port of its own (MetricsRoutes), so scrapes are neither
// counted nor limited as API requests.
func Routes(ready *Readiness) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, health)
	mux.Handle("GET "+ReadyPath, ready)
	mux.HandleFunc("GET /v1/hello/{name}", hello)
	return mux
}

// MetricsRoutes is the ServeMux of the metrics port: GET /metrics only.
func MetricsRoutes(metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, metrics)
	return mux
}

// QuietPaths are logged at debug level: probes come every few seconds.
var QuietPaths = map[string]bool{HealthPath: true, ReadyPath: true}

// Handler wraps routes with metrics, request logs and a span per request.
// An incoming traceparent header continues its trace.
func Handler(routes http.Handler, m *telemetry.Metrics, log zerolog.Logger, tp trace.TracerProvider, prop propagation.TextMapPropagator) http.Handler {
	return otelhttp.NewHandler(m.Middleware(log, QuietPaths, routes), "http.server",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(prop),
	)
}

// AdminRoutes serves the pprof profiles. Keep its listener private.
func AdminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// maxNameLen bounds the name the example API greets.
const maxNameLen = 64

// Greeting is the example API's answer.
type Greeting struct {
	Message string `json:"message"`
}

// APIError is the body of every API error.
type APIError struct {
	Error string `json:"error"`
}

// hello is the example API route: GET /v1/hello/{name}.
func hello(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	trace.SpanFromContext(r.Context()).SetAttributes(attribute.Int("hello.name_length", len(name)))
	if utf8.RuneCountInString(name) > maxNameLen || !utf8.ValidString(name) {
		writeJSON(w, http.StatusBadRequest, APIError{Error: "name must be valid UTF-8 of at most 64 characters"})
		return
	}
	writeJSON(w, http.StatusOK, Greeting{Message: "Hello, " + name + "!"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
