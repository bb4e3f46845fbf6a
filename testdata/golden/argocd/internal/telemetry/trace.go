package telemetry

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Resource attribute keys that semconv does not define.
const (
	// BuildIDKey is the build id, set at link time (there is no semconv key for it).
	BuildIDKey = attribute.Key("build.id")
	// DeploymentEnvironmentKey is the pre-1.27 semconv name of
	// deployment.environment.name, still read by many backends.
	DeploymentEnvironmentKey = attribute.Key("deployment.environment")
)

// Propagator is W3C Trace Context plus W3C Baggage: an incoming traceparent
// continues its trace, and baggage travels with it.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Resource describes this process to tracing backends. OTEL_RESOURCE_ATTRIBUTES
// and OTEL_SERVICE_NAME, when set, override it.
func Resource(ctx context.Context, id Identity) (*resource.Resource, error) {
	return resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(
			semconv.ServiceName(id.Service),
			semconv.ServiceVersion(id.Version),
			semconv.VCSRefHeadRevision(id.Commit),
			BuildIDKey.String(id.BuildID),
			semconv.DeploymentID(id.DeploymentID),
			semconv.DeploymentEnvironmentNameKey.String(id.Environment),
			DeploymentEnvironmentKey.String(id.Environment),
		),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
}

// NewTracerProvider returns a tracer provider for the identity. Spans go to the
// OTLP/HTTP collector at endpoint (a base URL; /v1/traces is added) through a
// batcher; with an empty endpoint they are created, so logs still carry trace
// ids, but not exported. Extra options (e.g. a test exporter) come last.
func NewTracerProvider(ctx context.Context, id Identity, endpoint string, extra ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, error) {
	res, err := Resource(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if endpoint != "" {
		traces, err := tracesURL(endpoint)
		if err != nil {
			return nil, err
		}
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(traces))
		if err != nil {
			return nil, fmt.Errorf("OTLP exporter for %s: %w", traces, err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(append(opts, extra...)...), nil
}

// tracesURL turns the base OTLP endpoint into the traces URL, as the
// OTEL_EXPORTER_OTLP_ENDPOINT specification says.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("OTLP endpoint %q is not a URL", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u = u.JoinPath("v1", "traces")
	}
	return u.String(), nil
}
