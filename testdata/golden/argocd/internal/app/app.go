// Package app wires the service together: configuration, telemetry, the
// HTTP server and its graceful shutdown.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"runtime"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"example.com/acme/payments/internal/buildinfo"
	"example.com/acme/payments/internal/config"
	"example.com/acme/payments/internal/server"
	"example.com/acme/payments/internal/telemetry"
)

// Exit codes of Run.
const (
	ExitOK     = 0 // clean shutdown, or -h
	ExitFailed = 1 // the service could not start or did not stop cleanly
	ExitConfig = 2 // bad flags or environment
)

// Options are the surroundings of the process. main passes the real ones.
type Options struct {
	Args   []string            // command-line arguments without the program name
	Getenv func(string) string // environment lookup
	Stdout io.Writer           // JSON logs
	Stderr io.Writer           // usage and configuration errors

	// Listen opens a TCP listener; nil uses net.ListenConfig.
	Listen func(ctx context.Context, addr string) (net.Listener, error)
	// SpanExporter, when not nil, also receives every span as it ends.
	SpanExporter sdktrace.SpanExporter
}

// Run runs the service until ctx ends (main cancels it on SIGTERM or
// SIGINT), then drains and shuts down. It returns the process exit code.
func Run(ctx context.Context, o Options) int {
	cfg, err := config.Load(o.Args, o.Getenv, o.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		_, _ = fmt.Fprintf(o.Stderr, "%s: %v\n", buildinfo.Name, err)
		return ExitConfig
	}

	id := telemetry.BuildIdentity(cfg.DeploymentID, cfg.Environment)
	log := telemetry.NewLogger(o.Stdout, cfg.LogLevel, id)
	log.Info().
		Int("port", cfg.Port).
		Int("metrics_port", cfg.MetricsPort).
		Str("log_level", cfg.LogLevel.String()).
		Str("drain_timeout", cfg.DrainTimeout.String()).
		Str("shutdown_timeout", cfg.ShutdownTimeout.String()).
		Str("flush_timeout", cfg.FlushTimeout.String()).
		Bool("otlp_export", cfg.OTLPEndpoint != "").
		Bool("pprof", cfg.PprofAddr != "").
		Str("commit", buildinfo.Commit).
		Str("commit_date", buildinfo.Date).
		Str("go_version", runtime.Version()).
		Msg("starting")

	var extra []sdktrace.TracerProviderOption
	if o.SpanExporter != nil {
		extra = append(extra, sdktrace.WithSyncer(o.SpanExporter))
	}
	tp, err := telemetry.NewTracerProvider(context.WithoutCancel(ctx), id, cfg.OTLPEndpoint, extra...)
	if err != nil {
		log.Error().Err(err).Msg("tracing setup failed")
		return ExitFailed
	}
	prop := telemetry.Propagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(prop)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn().Err(err).Msg("opentelemetry")
	}))
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.FlushTimeout)
		defer cancel()
		if ferr := tp.Shutdown(flushCtx); ferr != nil {
			log.Warn().Err(ferr).Msg("flushing spans failed")
		}
	}()

	listen := o.Listen
	if listen == nil {
		listen = func(ctx context.Context, addr string) (net.Listener, error) {
			var lc net.ListenConfig
			return lc.Listen(ctx, "tcp", addr)
		}
	}
	ln, err := listen(ctx, cfg.Addr())
	if err != nil {
		log.Error().Err(err).Str("addr", cfg.Addr()).Msg("cannot listen (is the port in use? set PORT)")
		return ExitFailed
	}
	metricsLn, err := listen(ctx, cfg.MetricsAddr())
	if err != nil {
		_ = ln.Close()
		log.Error().Err(err).Str("addr", cfg.MetricsAddr()).Msg("cannot listen for /metrics (is the port in use? set METRICS_PORT)")
		return ExitFailed
	}
	var adminLn net.Listener
	if cfg.PprofAddr != "" {
		adminLn, err = listen(ctx, cfg.PprofAddr)
		if err != nil {
			_ = ln.Close()
			_ = metricsLn.Close()
			log.Error().Err(err).Str("addr", cfg.PprofAddr).Msg("cannot listen for pprof (set PPROF_ADDR)")
			return ExitFailed
		}
	}

	metrics := telemetry.NewMetrics(id)
	ready := &server.Readiness{}
	srv := &server.Server{
		Handler:         server.Handler(server.Routes(ready), metrics, log, tp, prop),
		Metrics:         server.MetricsRoutes(metrics.Handler()),
		Admin:           server.AdminRoutes(),
		Ready:           ready,
		Log:             log,
		DrainTimeout:    cfg.DrainTimeout,
		ShutdownTimeout: cfg.ShutdownTimeout,
	}
	if err := srv.Serve(ctx, server.Listeners{API: ln, Metrics: metricsLn, Admin: adminLn}); err != nil {
		log.Error().Err(err).Msg("server stopped uncleanly")
		return ExitFailed
	}
	return ExitOK
}
