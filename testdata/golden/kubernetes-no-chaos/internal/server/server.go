package server

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Server runs the API listener (and the optional admin listener) and shuts
// them down gracefully.
type Server struct {
	// Handler serves the API listener.
	Handler http.Handler
	// Admin serves the admin listener, when there is one.
	Admin http.Handler
	// Ready is the state that /readyz reports; Serve moves it along.
	Ready *Readiness
	// Log receives lifecycle events and the net/http error log.
	Log zerolog.Logger
	// DrainTimeout: after the context ends, keep serving this long with
	// /readyz failing, so load balancers stop sending new requests.
	DrainTimeout time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests once the
	// listeners have closed.
	ShutdownTimeout time.Duration

	// after waits for the drain to end; tests replace it to control time.
	after func(time.Duration) <-chan time.Time
}

// ErrShutdownTimeout says that requests were still running when the
// shutdown timeout passed; they were cut off.
var ErrShutdownTimeout = errors.New("in-flight requests did not finish within the shutdown timeout")

// Serve serves ln (and admin, unless nil) until ctx ends, then drains:
// /readyz turns 503 and keep-alives stop for DrainTimeout while requests are
// still served, then the listeners close and in-flight requests get up to
// ShutdownTimeout to finish. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln, admin net.Listener) error {
	errLog := stdlog.New(s.Log.With().Str("component", "net/http").Logger(), "", 0)
	servers := []*http.Server{newHTTPServer(s.Handler, errLog)}
	listeners := []net.Listener{ln}
	if admin != nil {
		servers = append(servers, newHTTPServer(s.Admin, errLog))
		listeners = append(listeners, admin)
	}
	// Ready before the first Accept: the listener is bound, so a probe that
	// connects now is answered by this server, and must see it ready.
	s.Ready.Set(Serving)
	serveErr := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { serveErr <- srv.Serve(listeners[i]) }()
	}
	ev := s.Log.Info().Str("addr", ln.Addr().String())
	if admin != nil {
		ev = ev.Str("admin_addr", admin.Addr().String())
	}
	ev.Msg("serving")

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		s.Ready.Set(Draining)
		closeAll(servers)
		return fmt.Errorf("serve: %w", err)
	}

	s.Ready.Set(Draining)
	for _, srv := range servers {
		srv.SetKeepAlivesEnabled(false)
	}
	s.Log.Info().Str("drain_timeout", s.DrainTimeout.String()).Msg("draining: /readyz now fails")
	after := s.after
	if after == nil {
		after = time.After
	}
	select {
	case <-after(s.DrainTimeout):
	case err := <-serveErr:
		closeAll(servers)
		return fmt.Errorf("serve while draining: %w", err)
	}

	s.Log.Info().Str("shutdown_timeout", s.ShutdownTimeout.String()).Msg("shutting down: waiting for in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		closeAll(servers)
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w (%s)", ErrShutdownTimeout, s.ShutdownTimeout)
		}
		return fmt.Errorf("shutdown: %w", err)
	}
	s.Log.Info().Msg("stopped")
	return nil
}

func newHTTPServer(h http.Handler, errLog *stdlog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
	}
}

func closeAll(servers []*http.Server) {
	for _, srv := range servers {
		_ = srv.Close()
	}
}
