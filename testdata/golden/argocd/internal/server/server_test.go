package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"example.com/acme/payments/internal/telemetry"
)

var testID = telemetry.Identity{Service: "svc", Version: "v1", BuildID: "b1", DeploymentID: "d1", Environment: "test"}

// syncBuffer is a log sink that the server and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestReadinessStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state State
		code  int
		body  string
	}{
		{Starting, http.StatusServiceUnavailable, "starting\n"},
		{Serving, http.StatusOK, "ready\n"},
		{Draining, http.StatusServiceUnavailable, "draining\n"},
	}
	var r Readiness
	if r.State() != Starting {
		t.Fatalf("zero Readiness is %v, want starting", r.State())
	}
	for _, tt := range tests {
		r.Set(tt.state)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, ReadyPath, nil))
		if rec.Code != tt.code || rec.Body.String() != tt.body {
			t.Errorf("%v: /readyz = %d %q, want %d %q", tt.state, rec.Code, rec.Body.String(), tt.code, tt.body)
		}
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	ready := &Readiness{}
	ready.Set(Serving)
	mux := Routes(ready)
	long := strings.Repeat("x", maxNameLen+1)
	tests := []struct {
		method, path string
		code         int
		body         string
	}{
		{http.MethodGet, HealthPath, http.StatusOK, "ok\n"},
		{http.MethodGet, ReadyPath, http.StatusOK, "ready\n"},
		{http.MethodGet, MetricsPath, http.StatusNotFound, ""}, // on the metrics port only
		{http.MethodGet, "/v1/hello/gopher", http.StatusOK, `{"message":"Hello, gopher!"}` + "\n"},
		{http.MethodGet, "/v1/hello/%E4%B8%96%E7%95%8C", http.StatusOK, `{"message":"Hello, 世界!"}` + "\n"},
		{http.MethodGet, "/v1/hello/" + long, http.StatusBadRequest, `{"error":"name must be valid UTF-8 of at most 64 characters"}` + "\n"},
		{http.MethodGet, "/v1/hello/%FF", http.StatusBadRequest, `{"error":"name must be valid UTF-8 of at most 64 characters"}` + "\n"},
		{http.MethodPost, "/v1/hello/gopher", http.StatusMethodNotAllowed, ""},
		{http.MethodGet, "/nowhere", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), tt.method, tt.path, nil))
		if rec.Code != tt.code || (tt.body != "" && rec.Body.String() != tt.body) {
			t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, rec.Code, rec.Body.String(), tt.code, tt.body)
		}
	}
}

func TestTraceContinuesFromTraceparent(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	m := telemetry.NewMetrics(testID)
	var logs syncBuffer
	log := telemetry.NewLogger(&logs, zerolog.InfoLevel, testID)
	ready := &Readiness{}
	h := Handler(Routes(ready), m, log, tp, telemetry.Propagator())

	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		parent  = "00f067aa0ba902b7"
	)
	tests := []struct {
		name        string
		traceparent string
		continued   bool
	}{
		{"with traceparent", "00-" + traceID + "-" + parent + "-01", true},
		{"without traceparent", "", false},
		{"malformed traceparent", "00-xyz-" + parent + "-01", false},
	}
	for _, tt := range tests {
		exp.Reset()
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/v1/hello/gopher", nil)
		if tt.traceparent != "" {
			req.Header.Set("traceparent", tt.traceparent)
			req.Header.Set("baggage", "tenant=acme")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", tt.name, rec.Code)
		}
		spans := exp.GetSpans()
		if len(spans) != 1 {
			t.Fatalf("%s: got %d spans, want 1", tt.name, len(spans))
		}
		s := spans[0]
		if s.Name != "GET /v1/hello/{name}" || s.SpanKind != trace.SpanKindServer {
			t.Errorf("%s: span %q kind %v, want server span named after the route", tt.name, s.Name, s.SpanKind)
		}
		gotContinued := s.SpanContext.TraceID().String() == traceID && s.Parent.SpanID().String() == parent && s.Parent.IsRemote()
		if gotContinued != tt.continued {
			t.Errorf("%s: trace %s parent %s: continued=%v, want %v", tt.name, s.SpanContext.TraceID(), s.Parent.SpanID(), gotContinued, tt.continued)
		}
		if !strings.Contains(logs.String(), `"trace_id":"`+s.SpanContext.TraceID().String()+`","span_id":"`+s.SpanContext.SpanID().String()+`"`) {
			t.Errorf("%s: request log lacks the span's ids:\n%s", tt.name, logs.String())
		}
	}
}

// server runs a Server in the background; stop ends its context.
type running struct {
	srv    *Server
	url    string
	stop   context.CancelFunc
	done   chan error
	drain  chan time.Time
	logs   *syncBuffer
	metURL string
	admURL string
}

func start(t *testing.T, handler http.Handler, ready *Readiness, withAdmin bool, shutdownTimeout time.Duration) *running {
	t.Helper()
	return startServer(t, &Server{Handler: handler, Ready: ready, ShutdownTimeout: shutdownTimeout}, withAdmin)
}

// startServer serves srv on fresh loopback listeners (API, metrics and,
// withAdmin, admin); the drain ends when the test sends on r.drain.
func startServer(t *testing.T, srv *Server, withAdmin bool) *running {
	t.Helper()
	logs := &syncBuffer{}
	r := &running{
		srv:   srv,
		done:  make(chan error, 1),
		drain: make(chan time.Time),
		logs:  logs,
	}
	srv.Metrics = MetricsRoutes(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics\n")) }))
	srv.Admin = AdminRoutes()
	srv.Log = zerolog.New(logs)
	srv.DrainTimeout = time.Hour // ended by the test through r.drain
	srv.after = func(time.Duration) <-chan time.Time { return r.drain }
	l := Listeners{API: listen(t), Metrics: listen(t)}
	r.url = "http://" + l.API.Addr().String()
	r.metURL = "http://" + l.Metrics.Addr().String()
	if withAdmin {
		l.Admin = listen(t)
		r.admURL = "http://" + l.Admin.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.done <- r.srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case r.drain <- time.Time{}:
		default:
		}
	})
	return r
}

// waitFor polls cond; it is used where the code offers no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	ready := &Readiness{}
	mux := Routes(ready)
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = w.Write([]byte("finished"))
	})
	r := start(t, mux, ready, false, time.Minute)

	// The listener is bound before Serve runs, so the first probe waits for it.
	if code, body := get(t, r.url+ReadyPath); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("/readyz while serving = %d %q, want 200 ready", code, body)
	}

	slow := make(chan string, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, r.url+"/slow", http.NoBody)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- err.Error()
			return
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		slow <- string(body)
	}()
	<-entered

	r.stop() // SIGTERM
	waitFor(t, "draining", func() bool { return ready.State() == Draining })
	if code, body := get(t, r.url+ReadyPath); code != http.StatusServiceUnavailable || body != "draining\n" {
		t.Errorf("/readyz while draining = %d %q, want 503 draining", code, body)
	}
	if code, _ := get(t, r.url+HealthPath); code != http.StatusOK {
		t.Errorf("/healthz while draining = %d, want 200 (liveness must not fail)", code)
	}
	if code, _ := get(t, r.url+"/v1/hello/late"); code != http.StatusOK {
		t.Errorf("new request while draining = %d, want 200 (still served)", code)
	}

	r.drain <- time.Time{} // drain timeout passes: listeners close, /slow still runs
	waitFor(t, "the listener to close", func() bool {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", strings.TrimPrefix(r.url, "http://"))
		if err == nil {
			_ = conn.Close()
		}
		return err != nil
	})
	select {
	case err := <-r.done:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	default:
	}

	close(release)
	if body := <-slow; body != "finished" {
		t.Errorf("in-flight request got %q, want finished", body)
	}
	if err := <-r.done; err != nil {
		t.Errorf("Serve = %v, want nil after a clean drain", err)
	}
	for _, msg := range []string{"serving", "draining: /readyz now fails", "shutting down: waiting for in-flight requests", "stopped"} {
		if !strings.Contains(r.logs.String(), `"message":"`+msg+`"`) {
			t.Errorf("lifecycle log lacks %q:\n%s", msg, r.logs.String())
		}
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	r := start(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(entered)
		<-release
	}), &Readiness{}, false, 50*time.Millisecond)

	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, r.url, http.NoBody)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-entered
	r.stop()
	r.drain <- time.Time{}
	err := <-r.done
	if !errors.Is(err, ErrShutdownTimeout) || !strings.Contains(err.Error(), "50ms") {
		t.Errorf("Serve = %v, want ErrShutdownTimeout naming 50ms", err)
	}
}

func TestServeAdminListener(t *testing.T) {
	t.Parallel()
	r := start(t, http.NotFoundHandler(), &Readiness{}, true, time.Minute)
	code, body := get(t, r.admURL+"/debug/pprof/cmdline")
	if code != http.StatusOK || body == "" {
		t.Errorf("admin /debug/pprof/cmdline = %d %q", code, body)
	}
	if code, _ := get(t, r.url+"/debug/pprof/cmdline"); code != http.StatusNotFound {
		t.Errorf("pprof on the API listener = %d, want 404", code)
	}
	r.stop()
	r.drain <- time.Time{}
	if err := <-r.done; err != nil {
		t.Errorf("Serve = %v", err)
	}
	var entry map[string]any
	first, _, _ := strings.Cut(r.logs.String(), "\n")
	if err := json.Unmarshal([]byte(first), &entry); err != nil || entry["admin_addr"] == nil {
		t.Errorf("serving log %q lacks admin_addr", first)
	}
}

func TestServeFailsWhenListenerBreaks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		draining bool
		want     string
	}{
		{"while serving", false, "serve: "},
		{"while draining", true, "serve while draining: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln := listen(t)
			s := &Server{
				Handler: http.NotFoundHandler(), Ready: &Readiness{}, Log: zerolog.Nop(),
				ShutdownTimeout: time.Second,
				after:           func(time.Duration) <-chan time.Time { return nil }, // drain never ends by itself
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.draining {
				cancel()
			}
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx, Listeners{API: ln}) }()
			if tt.draining {
				waitFor(t, "draining", func() bool { return s.Ready.State() == Draining })
			}
			_ = ln.Close()
			err := <-done
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Serve = %v, want an error starting %q", err, tt.want)
			}
			if s.Ready.State() != Draining {
				t.Errorf("state after failure = %v, want draining", s.Ready.State())
			}
		})
	}
}

func TestServeDefaultDrainTimer(t *testing.T) {
	t.Parallel()
	s := &Server{Handler: http.NotFoundHandler(), Ready: &Readiness{}, Log: zerolog.Nop(), ShutdownTimeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // already stopping: with no drain time Serve returns at once
	if err := s.Serve(ctx, Listeners{API: listen(t)}); err != nil {
		t.Errorf("Serve = %v", err)
	}
	if s.Ready.State() != Draining {
		t.Errorf("state = %v, want draining", s.Ready.State())
	}
}

func TestHandlerUsesPropagator(t *testing.T) {
	t.Parallel()
	// With a propagator that ignores traceparent, the trace is not continued:
	// Handler must use the propagator it is given, not a global.
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	m := telemetry.NewMetrics(testID)
	h := Handler(Routes(&Readiness{}), m, zerolog.Nop(), tp, propagation.Baggage{})
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, HealthPath, nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if spans := exp.GetSpans(); len(spans) != 1 || spans[0].Parent.IsValid() {
		t.Errorf("spans = %v, want one root span", spans)
	}
}
