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

// Server runs the API listener, the metrics listener and the optional admin
// listener, and shuts them down gracefully.
type Server struct {
	// Handler serves the API listener, within Limits.
	Handler http.Handler
	// Metrics serves the metrics listener, when there is one.
	Metrics http.Handler
	// Admin serves the admin listener, when there is one.
	Admin http.Handler
	// Limits bound what one API request may take; the zero value means
	// DefaultLimits.
	Limits Limits
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

// Listeners are the sockets Serve serves: API is required, Metrics and
// Admin are optional (nil: not served).
type Listeners struct {
	API     net.Listener
	Metrics net.Listener
	Admin   net.Listener
}

// Serve serves the listeners until ctx ends, then drains: /readyz turns 503
// and keep-alives stop for DrainTimeout while requests (and scrapes) are
// still served, then the listeners close and in-flight requests get up to
// ShutdownTimeout to finish. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, l Listeners) error {
	errLog := stdlog.New(s.Log.With().Str("component", "net/http").Logger(), "", 0)
	limits := s.Limits
	if limits == (Limits{}) {
		limits = DefaultLimits()
	}
	servers := []*http.Server{limits.server(LimitBody(s.Handler, limits.MaxBodyBytes), errLog)}
	listeners := []net.Listener{l.API}
	if l.Metrics != nil {
		servers = append(servers, scrapeLimits.server(orNotFound(s.Metrics), errLog))
		listeners = append(listeners, l.Metrics)
	}
	if l.Admin != nil {
		servers = append(servers, adminLimits.server(orNotFound(s.Admin), errLog))
		listeners = append(listeners, l.Admin)
	}
	// Ready before the first Accept: the listener is bound, so a probe that
	// connects now is answered by this server, and must see it ready.
	s.Ready.Set(Serving)
	serveErr := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { serveErr <- srv.Serve(listeners[i]) }()
	}
	ev := s.Log.Info().Str("addr", l.API.Addr().String())
	if l.Metrics != nil {
		ev = ev.Str("metrics_addr", l.Metrics.Addr().String())
	}
	if l.Admin != nil {
		ev = ev.Str("admin_addr", l.Admin.Addr().String())
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

// orNotFound keeps a listener without a handler from serving
// http.DefaultServeMux.
func orNotFound(h http.Handler) http.Handler {
	if h == nil {
		return http.NotFoundHandler()
	}
	return h
}

func closeAll(servers []*http.Server) {
	for _, srv := range servers {
		_ = srv.Close()
	}
}
