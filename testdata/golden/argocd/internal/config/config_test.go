package config

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	got, err := Load(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		Port:            8080,
		MetricsPort:     9090,
		LogLevel:        zerolog.InfoLevel,
		DrainTimeout:    5 * time.Second,
		ShutdownTimeout: 10 * time.Second,
		FlushTimeout:    5 * time.Second,
		DeploymentID:    "local",
		Environment:     "development",
	}
	if got != want {
		t.Errorf("Load() = %+v, want %+v", got, want)
	}
	if got.Addr() != ":8080" || got.MetricsAddr() != ":9090" {
		t.Errorf("Addr() = %q, MetricsAddr() = %q, want :8080 and :9090", got.Addr(), got.MetricsAddr())
	}
}

func TestLoadSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(Config) bool
	}{
		{"env sets port", nil, map[string]string{"PORT": "9091"}, func(c Config) bool { return c.Port == 9091 }},
		{"flag beats env", []string{"-port", "7070"}, map[string]string{"PORT": "9090"}, func(c Config) bool { return c.Port == 7070 }},
		{"flag beats bad env", []string{"-port=7070"}, map[string]string{"PORT": "nope"}, func(c Config) bool { return c.Port == 7070 }},
		{"port zero picks a free port", nil, map[string]string{"PORT": "0"}, func(c Config) bool { return c.Port == 0 }},
		{"both ports zero", nil, map[string]string{"PORT": "0", "METRICS_PORT": "0"}, func(c Config) bool { return c.Port == 0 && c.MetricsPort == 0 }},
		{"metrics port", []string{"-metrics-port", "9100"}, nil, func(c Config) bool { return c.MetricsPort == 9100 }},
		{"flush timeout", nil, map[string]string{"FLUSH_TIMEOUT": "0s"}, func(c Config) bool { return c.FlushTimeout == 0 }},
		{"log level any case", nil, map[string]string{"LOG_LEVEL": "DEBUG"}, func(c Config) bool { return c.LogLevel == zerolog.DebugLevel }},
		{"durations", []string{"-drain-timeout", "0s", "-shutdown-timeout", "1m"}, nil, func(c Config) bool {
			return c.DrainTimeout == 0 && c.ShutdownTimeout == time.Minute
		}},
		{"identity", nil, map[string]string{"DEPLOYMENT_ID": "rel-42/canary", "ENVIRONMENT": "production"}, func(c Config) bool {
			return c.DeploymentID == "rel-42/canary" && c.Environment == "production"
		}},
		{"otlp and pprof", nil, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "PPROF_ADDR": "localhost:6060"}, func(c Config) bool {
			return c.OTLPEndpoint == "http://collector:4318" && c.PprofAddr == "localhost:6060"
		}},
		{"spaces trimmed", nil, map[string]string{"PORT": " 8081 "}, func(c Config) bool { return c.Port == 8081 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.args, env(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // every fragment must appear in the error
	}{
		{"port not a number", nil, map[string]string{"PORT": "http"}, []string{`PORT="http"`, "port number from 0 to 65535"}},
		{"port too big", []string{"-port", "70000"}, nil, []string{`-port="70000"`, "0 to 65535"}},
		{"log level unknown", nil, map[string]string{"LOG_LEVEL": "loud"}, []string{`LOG_LEVEL="loud"`, "trace, debug, info, warn, error"}},
		{"log level fatal", nil, map[string]string{"LOG_LEVEL": "fatal"}, []string{"LOG_LEVEL"}},
		{"drain not a duration", nil, map[string]string{"DRAIN_TIMEOUT": "5"}, []string{`DRAIN_TIMEOUT="5"`, "duration such as 500ms"}},
		{"drain negative", nil, map[string]string{"DRAIN_TIMEOUT": "-1s"}, []string{"DRAIN_TIMEOUT", "negative"}},
		{"drain huge", nil, map[string]string{"DRAIN_TIMEOUT": "2h"}, []string{"DRAIN_TIMEOUT", "at most 1h"}},
		{"shutdown zero", nil, map[string]string{"SHUTDOWN_TIMEOUT": "0s"}, []string{"SHUTDOWN_TIMEOUT", "more than 0"}},
		{"deployment id with space", nil, map[string]string{"DEPLOYMENT_ID": "a b"}, []string{"DEPLOYMENT_ID", "at most 128"}},
		{"environment empty by flag", []string{"-environment="}, nil, []string{`-environment=""`, "1 to 63"}},
		{"otlp without scheme", nil, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http:// or https://"}},
		{"otlp grpc scheme", nil, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://c:4317"}, []string{"http:// or https://"}},
		{"pprof without port", nil, map[string]string{"PPROF_ADDR": "localhost"}, []string{"PPROF_ADDR", "host:port"}},
		{"pprof bad port", nil, map[string]string{"PPROF_ADDR": "localhost:http"}, []string{"PPROF_ADDR", "port number"}},
		{"metrics port not a number", nil, map[string]string{"METRICS_PORT": "metrics"}, []string{`METRICS_PORT="metrics"`, "0 to 65535"}},
		{"metrics port is the API port", nil, map[string]string{"PORT": "9000", "METRICS_PORT": "9000"}, []string{"PORT and METRICS_PORT are both 9000"}},
		{"flush not a duration", nil, map[string]string{"FLUSH_TIMEOUT": "soon"}, []string{`FLUSH_TIMEOUT="soon"`, "duration"}},
		{"all problems at once", nil, map[string]string{"PORT": "x", "LOG_LEVEL": "y"}, []string{"PORT", "LOG_LEVEL", "; "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tt.args, env(tt.env), &bytes.Buffer{})
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load error = %v, want a *config.Error", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "invalid configuration: ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line starting with 'invalid configuration: '", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if len(cerr.Unwrap()) != len(cerr.Problems) {
				t.Errorf("Unwrap lost problems")
			}
		})
	}
}

func TestLoadUsage(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := Load([]string{"-h"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Load(-h) = %v, want flag.ErrHelp", err)
	}
	for _, s := range settings() {
		if !strings.Contains(out.String(), "-"+s.Flag) || !strings.Contains(out.String(), "env "+s.Env) {
			t.Errorf("usage does not document -%s / %s:\n%s", s.Flag, s.Env, out.String())
		}
	}
}

func TestLoadBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-colour"}, "flag provided but not defined"},
		{"positional argument", []string{"serve"}, `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tt.args, env(nil), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
