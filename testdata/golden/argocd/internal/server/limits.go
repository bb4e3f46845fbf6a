package server

import (
	"errors"
	stdlog "log"
	"net/http"
	"time"
)

// Limits bound what one request may take from the server: slow or huge
// requests are cut off instead of holding a connection and memory.
type Limits struct {
	// ReadHeaderTimeout bounds the time to read a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to read a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response: keep it above the mesh's route timeout
	// (deploy/helm: istio.timeout), so the caller's proxy answers first.
	WriteTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections; it is longer than the
	// sidecar's upstream idle timeout (the DestinationRule's
	// connectionPool.http.idleTimeout), so the proxy closes first and never
	// sends a request on a connection the server is closing.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request body; a larger one gets 413.
	MaxBodyBytes int64
}

// DefaultLimits suit a JSON API behind a mesh with a 10s route timeout.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		MaxBodyBytes:      1 << 20,
	}
}

// scrapeLimits serve /metrics: small requests, answers within a scrape timeout.
var scrapeLimits = Limits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       10 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       2 * time.Minute,
	MaxHeaderBytes:    16 << 10,
}

// adminLimits serve pprof, whose CPU profile and trace stream for as many
// seconds as asked (?seconds=30 by default): a longer write timeout.
var adminLimits = Limits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       10 * time.Second,
	WriteTimeout:      5 * time.Minute,
	IdleTimeout:       2 * time.Minute,
	MaxHeaderBytes:    16 << 10,
}

func (l Limits) server(h http.Handler, errLog *stdlog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          errLog,
	}
}

// LimitBody answers 413 to a request whose declared body is larger than max
// bytes, and cuts off a body that turns out larger while it is read (the
// handler sees an *http.MaxBytesError; RequestTooLarge tells it so). max <=
// 0 means no limit.
func LimitBody(next http.Handler, maxBytes int64) http.Handler {
	if maxBytes <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBytes {
			w.Header().Set("Connection", "close")
			http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
		next.ServeHTTP(w, r)
	})
}

// RequestTooLarge reports whether err comes from reading a body past the
// LimitBody limit: answer it with 413.
func RequestTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
