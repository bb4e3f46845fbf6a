// Package telemetry sets up what the service tells about itself: JSON logs
// (zerolog), traces (OpenTelemetry) and metrics (Prometheus).
package telemetry

import (
	"io"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"example.com/acme/payments/internal/buildinfo"
)

// Identity is what every log line, span and metric says about the process.
type Identity struct {
	Service      string
	Version      string
	Commit       string
	BuildID      string
	DeploymentID string
	Environment  string
}

// BuildIdentity is the identity of this binary in the given rollout.
func BuildIdentity(deploymentID, environment string) Identity {
	return Identity{
		Service:      buildinfo.Name,
		Version:      buildinfo.Version,
		Commit:       buildinfo.Commit,
		BuildID:      buildinfo.BuildID,
		DeploymentID: deploymentID,
		Environment:  environment,
	}
}

// NewLogger returns a JSON logger writing one object per line to w. Every
// line carries the identity; a line logged with a context holding a span
// (log.Info().Ctx(ctx)) also carries trace_id and span_id.
func NewLogger(w io.Writer, level zerolog.Level, id Identity) zerolog.Logger {
	return zerolog.New(w).
		Level(level).
		Hook(timeHook{}).
		Hook(traceHook{}).
		With().
		Str("service", id.Service).
		Str("version", id.Version).
		Str("build_id", id.BuildID).
		Str("deployment_id", id.DeploymentID).
		Str("environment", id.Environment).
		Logger()
}

// timeHook stamps lines in UTC with nanoseconds, without touching zerolog's
// package-level time format.
type timeHook struct{}

func (timeHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, time.Now().UTC().Format(time.RFC3339Nano))
}

// traceHook adds the ids of the span in the event's context, if any.
type traceHook struct{}

func (traceHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	sc := trace.SpanContextFromContext(e.GetCtx())
	if !sc.IsValid() {
		return
	}
	e.Str("trace_id", sc.TraceID().String()).Str("span_id", sc.SpanID().String())
}
