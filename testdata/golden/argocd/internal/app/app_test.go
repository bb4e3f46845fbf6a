package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"example.com/acme/payments/internal/buildinfo"
)

// syncBuffer is a log sink that the service and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// keepSpans keeps the recorded spans when Run shuts the provider down.
type keepSpans struct{ *tracetest.InMemoryExporter }

func (keepSpans) Shutdown(context.Context) error { return nil }

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// preBound hands out listeners bound on 127.0.0.1 before Run starts, so the
// test knows their addresses and its first request waits for the server.
type preBound struct {
	mu   sync.Mutex
	lns  map[string]net.Listener
	fail map[string]error
}

func (p *preBound) listen(t *testing.T, addrs ...string) {
	t.Helper()
	p.lns = map[string]net.Listener{}
	for _, a := range addrs {
		var lc net.ListenConfig
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		p.lns[a] = ln
	}
}

func (p *preBound) Listen(_ context.Context, addr string) (net.Listener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.fail[addr]; err != nil {
		return nil, err
	}
	ln, ok := p.lns[addr]
	if !ok {
		return nil, errors.New("test: no listener bound for " + addr)
	}
	return ln, nil
}

func (p *preBound) url(addr string) string { return "http://" + p.lns[addr].Addr().String() }

func get(t *testing.T, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestRunServesAndStops(t *testing.T) {
	t.Parallel()
	var lns preBound
	lns.listen(t, ":8080", ":9090", "localhost:6060")
	exp := tracetest.NewInMemoryExporter()
	var stdout syncBuffer
	var stderr bytes.Buffer
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	exit := make(chan int, 1)
	go func() {
		exit <- Run(ctx, Options{
			Args:         []string{"-drain-timeout", "0s"},
			Getenv:       env(map[string]string{"DEPLOYMENT_ID": "rollout-9", "ENVIRONMENT": "staging", "PPROF_ADDR": "localhost:6060"}),
			Stdout:       &stdout,
			Stderr:       &stderr,
			Listen:       lns.Listen,
			SpanExporter: keepSpans{exp},
		})
	}()

	if code, body := get(t, lns.url(":8080")+"/readyz", nil); code != http.StatusOK {
		t.Fatalf("/readyz = %d %q, want 200", code, body)
	}
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	code, body := get(t, lns.url(":8080")+"/v1/hello/world", map[string]string{"traceparent": "00-" + traceID + "-b7ad6b7169203331-01"})
	if code != http.StatusOK || !strings.Contains(body, "Hello, world!") {
		t.Errorf("/v1/hello/world = %d %q", code, body)
	}
	if code, _ := get(t, lns.url(":8080")+"/metrics", nil); code != http.StatusNotFound {
		t.Errorf("/metrics on the API port = %d, want 404 (it has a port of its own)", code)
	}
	_, metrics := get(t, lns.url(":9090")+"/metrics", nil)
	for _, want := range []string{
		`http_server_requests_total{code="200",method="GET",route="GET /v1/hello/{name}"} 1`,
		`http_server_request_duration_seconds_bucket{method="GET",route="GET /v1/hello/{name}",le="0.25"} 1`,
		buildinfo.MetricPrefix() + `_build_info{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, _ := get(t, lns.url("localhost:6060")+"/debug/pprof/cmdline", nil); code != http.StatusOK {
		t.Errorf("pprof = %d, want 200", code)
	}

	stop()
	if got := <-exit; got != ExitOK {
		t.Fatalf("Run = %d, want %d; stderr %q", got, ExitOK, stderr.String())
	}

	var continued bool
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() == traceID && s.Parent.SpanID().String() == "b7ad6b7169203331" {
			continued = true
		}
	}
	if !continued {
		t.Errorf("no span continued trace %s", traceID)
	}

	messages := map[string]bool{}
	var request map[string]any
	for _, l := range stdout.lines(t) {
		messages[l["message"].(string)] = true
		if l["deployment_id"] != "rollout-9" || l["build_id"] != buildinfo.BuildID || l["environment"] != "staging" {
			t.Errorf("log line lacks identity fields: %v", l)
		}
		if l["message"] == "request" && l["path"] == "/v1/hello/world" {
			request = l
		}
	}
	for _, m := range []string{"starting", "serving", "draining: /readyz now fails", "stopped"} {
		if !messages[m] {
			t.Errorf("no %q log line", m)
		}
	}
	if request == nil || request["trace_id"] != traceID || request["span_id"] == "" || request["status"] != float64(200) || request["route"] != "GET /v1/hello/{name}" {
		t.Errorf("request log = %v, want trace_id %s, span_id, status 200 and the route", request, traceID)
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	listenErr := errors.New("address already in use")
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		failListen string
		want       int
		stderr     string
		stdout     string
	}{
		{"help", []string{"-h"}, nil, "", ExitOK, "-drain-timeout", ""},
		{"bad flag", []string{"-nope"}, nil, "", ExitConfig, "flag provided but not defined", ""},
		{"bad env", nil, map[string]string{"PORT": "eighty"}, "", ExitConfig, buildinfo.Name + `: invalid configuration: PORT="eighty"`, ""},
		{"port in use", nil, nil, ":8080", ExitFailed, "", "cannot listen (is the port in use? set PORT)"},
		{"metrics port in use", nil, nil, ":9090", ExitFailed, "", "cannot listen for /metrics"},
		{"pprof port in use", nil, map[string]string{"PPROF_ADDR": ":6060"}, ":6060", ExitFailed, "", "cannot listen for pprof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var lns preBound
			lns.listen(t, ":8080", ":9090")
			lns.fail = map[string]error{tt.failListen: listenErr}
			var stdout, stderr bytes.Buffer
			got := Run(context.Background(), Options{Args: tt.args, Getenv: env(tt.env), Stdout: &stdout, Stderr: &stderr, Listen: lns.Listen})
			if got != tt.want {
				t.Errorf("Run = %d, want %d (stderr %q)", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) || !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stderr %q / stdout %q, want %q / %q", stderr.String(), stdout.String(), tt.stderr, tt.stdout)
			}
		})
	}
}

func TestRunRealListenerStopped(t *testing.T) {
	t.Parallel()
	// Default listener on a free port, context already over: Run starts,
	// drains for zero time and exits cleanly, with the OTLP exporter set up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	got := Run(ctx, Options{
		Args:   []string{"-port", "0", "-metrics-port", "0", "-drain-timeout", "0s", "-shutdown-timeout", "1s", "-flush-timeout", "1s"},
		Getenv: env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}),
		Stdout: &stdout,
		Stderr: &stderr,
	})
	if got != ExitOK {
		t.Errorf("Run = %d, want 0; stdout %s stderr %s", got, stdout.String(), stderr.String())
	}
}
