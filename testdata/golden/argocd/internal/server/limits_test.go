package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echo reads the whole body and answers its length, or 413 when LimitBody
// cut it off.
func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	switch {
	case RequestTooLarge(err):
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		_, _ = io.WriteString(w, strings.Repeat("x", len(b)))
	}
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		max       int64
		body      string
		chunked   bool // no Content-Length: the limit bites while reading
		code      int
		handlerOK bool
	}{
		{"within the limit", 8, "12345678", false, http.StatusOK, true},
		{"declared too large", 8, "123456789", false, http.StatusRequestEntityTooLarge, false},
		{"read too large", 8, "123456789", true, http.StatusRequestEntityTooLarge, true},
		{"chunked within the limit", 8, "1234", true, http.StatusOK, true},
		{"no limit", 0, strings.Repeat("y", 1<<12), false, http.StatusOK, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			h := LimitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				echo(w, r)
			}), tt.max)
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length from NewRequest
			}
			req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/x", body)
			if tt.chunked {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code || called != tt.handlerOK {
				t.Errorf("status %d, handler called %v; want %d, %v", rec.Code, called, tt.code, tt.handlerOK)
			}
			if tt.code == http.StatusOK && rec.Body.Len() != len(tt.body) {
				t.Errorf("handler read %d bytes, want %d", rec.Body.Len(), len(tt.body))
			}
		})
	}
}

func TestServeLimits(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", echo)
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(800 * time.Millisecond):
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "late")
	})
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	limits := Limits{
		ReadHeaderTimeout: 200 * time.Millisecond,
		ReadTimeout:       time.Second,
		WriteTimeout:      300 * time.Millisecond,
		IdleTimeout:       time.Second,
		MaxHeaderBytes:    1 << 10,
		MaxBodyBytes:      16,
	}
	r := startServer(t, &Server{Handler: mux, Ready: &Readiness{}, ShutdownTimeout: time.Second, Limits: limits}, false)
	client := &http.Client{Timeout: 5 * time.Second}
	do := func(method, path, body string, header map[string]string) (int, error) {
		req, err := http.NewRequestWithContext(context.Background(), method, r.url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer func() { _ = resp.Body.Close() }()
		_, err = io.ReadAll(resp.Body)
		return resp.StatusCode, err
	}

	tests := []struct {
		name         string
		method, path string
		body         string
		header       map[string]string
		code         int // 0: the connection is cut
	}{
		{"small request", http.MethodGet, "/ok", "", nil, http.StatusOK},
		{"body within MaxBodyBytes", http.MethodPost, "/echo", strings.Repeat("b", 16), nil, http.StatusOK},
		{"body over MaxBodyBytes", http.MethodPost, "/echo", strings.Repeat("b", 17), nil, http.StatusRequestEntityTooLarge},
		{"headers over MaxHeaderBytes", http.MethodGet, "/ok", "", map[string]string{"X-Big": strings.Repeat("h", 8<<10)}, http.StatusRequestHeaderFieldsTooLarge},
		{"handler past WriteTimeout", http.MethodGet, "/slow", "", nil, 0},
	}
	for _, tt := range tests {
		code, err := do(tt.method, tt.path, tt.body, tt.header)
		switch {
		case tt.code == 0 && err == nil:
			t.Errorf("%s: got %d, want the connection cut by WriteTimeout", tt.name, code)
		case tt.code != 0 && (err != nil || code != tt.code):
			t.Errorf("%s: got %d, %v; want %d", tt.name, code, err, tt.code)
		}
	}

	// A client that never finishes its headers is disconnected after
	// ReadHeaderTimeout.
	conn, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", strings.TrimPrefix(r.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err = io.WriteString(conn, "GET /ok HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	startWait := time.Now()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err == nil && !strings.Contains(line, "408") {
		t.Errorf("slow headers got %q, want the connection closed (or 408)", line)
	}
	if waited := time.Since(startWait); waited > 2*time.Second {
		t.Errorf("slow headers held the connection for %v, want about ReadHeaderTimeout (200ms)", waited)
	}
}

func TestServeDefaultLimits(t *testing.T) {
	t.Parallel()
	// The zero Limits mean DefaultLimits: a body over 1 MiB gets 413 and
	// headers over 64 KiB get 431.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", echo)
	r := start(t, mux, &Readiness{}, false, time.Second)
	def := DefaultLimits()
	tests := []struct {
		name   string
		body   int64
		header int
		code   int
	}{
		{"body at the limit", def.MaxBodyBytes, 0, http.StatusOK},
		{"body over the limit", def.MaxBodyBytes + 1, 0, http.StatusRequestEntityTooLarge},
		{"headers over the limit", 0, def.MaxHeaderBytes + 4096, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, r.url+"/echo", strings.NewReader(strings.Repeat("b", int(tt.body))))
		if err != nil {
			t.Fatal(err)
		}
		if tt.header > 0 {
			req.Header.Set("X-Big", strings.Repeat("h", tt.header))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.code)
		}
	}
}

func TestServeMetricsPort(t *testing.T) {
	t.Parallel()
	ready := &Readiness{}
	r := start(t, Routes(ready), ready, false, time.Second)
	if code, body := get(t, r.metURL+MetricsPath); code != http.StatusOK || body != "metrics\n" {
		t.Errorf("metrics port %s = %d %q, want 200 metrics", MetricsPath, code, body)
	}
	if code, _ := get(t, r.url+MetricsPath); code != http.StatusNotFound {
		t.Errorf("API port %s = %d, want 404", MetricsPath, code)
	}
	if code, _ := get(t, r.metURL+ReadyPath); code != http.StatusNotFound {
		t.Errorf("metrics port %s = %d, want 404", ReadyPath, code)
	}
	r.stop()
	waitFor(t, "draining", func() bool { return ready.State() == Draining })
	if code, _ := get(t, r.metURL+MetricsPath); code != http.StatusOK {
		t.Errorf("metrics while draining = %d, want 200 (scrapes go on until the end)", code)
	}
	r.drain <- time.Time{}
	if err := <-r.done; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func TestOrNotFound(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	orNotFound(nil).ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil handler = %d, want 404 (never http.DefaultServeMux)", rec.Code)
	}
}
