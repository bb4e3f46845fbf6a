// Package config reads the service's settings from flags and environment
// variables and validates them before anything starts.
//
// Every setting has a flag and an environment variable; a flag given on the
// command line wins over the variable, and the variable over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"example.com/acme/payments/internal/buildinfo"
)

// Config is the validated configuration of the service.
type Config struct {
	// Port is the TCP port of the API and the probes. 0 picks a free port.
	Port int
	// MetricsPort is the TCP port of /metrics, apart from the API so that
	// scrapes never share the API's limits, routes or network policy. 0
	// picks a free port.
	MetricsPort int
	// LogLevel is the lowest level that is logged.
	LogLevel zerolog.Level
	// DrainTimeout is how long, after SIGTERM, the service keeps serving while
	// /readyz fails, so that load balancers stop sending it new requests.
	DrainTimeout time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests once the
	// listeners have closed.
	ShutdownTimeout time.Duration
	// FlushTimeout bounds the export of buffered spans after the shutdown.
	// A pod's termination grace period must cover drain + shutdown + flush.
	FlushTimeout time.Duration
	// DeploymentID identifies the rollout that started this process.
	DeploymentID string
	// Environment names where the service runs, e.g. production.
	Environment string
	// OTLPEndpoint is the base URL of an OTLP/HTTP collector; empty exports no spans.
	OTLPEndpoint string
	// PprofAddr is the host:port of the admin listener with /debug/pprof; empty disables it.
	PprofAddr string
}

// setting describes one configuration knob: its flag, variable and default.
type setting struct {
	Flag    string
	Env     string
	Default string
	Usage   string
	apply   func(c *Config, value string) error
}

var (
	environmentRE  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$`)
	deploymentIDRE = regexp.MustCompile(`^[A-Za-z0-9._:/+-]{0,128}$`)
)

// settings lists every setting in the order of the usage text.
func settings() []setting {
	return []setting{
		{Flag: "port", Env: "PORT", Default: "8080", Usage: "TCP port of the API, /healthz and /readyz (0 picks a free port)", apply: setPort},
		{Flag: "metrics-port", Env: "METRICS_PORT", Default: "9090", Usage: "TCP port of /metrics, apart from the API (0 picks a free port)", apply: setMetricsPort},
		{Flag: "log-level", Env: "LOG_LEVEL", Default: "info", Usage: "lowest level logged: trace, debug, info, warn or error", apply: setLogLevel},
		{Flag: "drain-timeout", Env: "DRAIN_TIMEOUT", Default: "5s", Usage: "after SIGTERM, keep serving this long while /readyz fails", apply: setDrainTimeout},
		{Flag: "shutdown-timeout", Env: "SHUTDOWN_TIMEOUT", Default: "10s", Usage: "then wait at most this long for in-flight requests", apply: setShutdownTimeout},
		{Flag: "flush-timeout", Env: "FLUSH_TIMEOUT", Default: "5s", Usage: "then wait at most this long to export buffered spans", apply: setFlushTimeout},
		{Flag: "deployment-id", Env: "DEPLOYMENT_ID", Default: "local", Usage: "identifier of the rollout, logged and added to traces", apply: setDeploymentID},
		{Flag: "environment", Env: "ENVIRONMENT", Default: "development", Usage: "deployment environment, e.g. staging or production", apply: setEnvironment},
		{Flag: "otlp-endpoint", Env: "OTEL_EXPORTER_OTLP_ENDPOINT", Default: "", Usage: "OTLP/HTTP collector base URL, e.g. http://otel-collector:4318 (empty: no export)", apply: setOTLPEndpoint},
		{Flag: "pprof-addr", Env: "PPROF_ADDR", Default: "", Usage: "host:port of the admin listener serving /debug/pprof, e.g. localhost:6060 (empty: off)", apply: setPprofAddr},
	}
}

// Load builds the configuration from command-line arguments (without the
// program name) and the environment, read through getenv. Usage and flag
// errors are written to output. It returns flag.ErrHelp when -h was asked for,
// and otherwise an error naming every invalid setting.
func Load(args []string, getenv func(string) string, output io.Writer) (Config, error) {
	all := settings()
	fs := flag.NewFlagSet(buildinfo.Name, flag.ContinueOnError)
	fs.SetOutput(output)
	fromFlag := make(map[string]string, len(all))
	for _, s := range all {
		usage := fmt.Sprintf("%s (env %s, default %q)", s.Usage, s.Env, s.Default)
		fs.Func(s.Flag, usage, func(v string) error {
			fromFlag[s.Flag] = v
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q: settings are flags (-port 8080) or environment variables", fs.Arg(0))
	}

	var c Config
	var errs []error
	for _, s := range all {
		value, source := s.Default, "default "+s.Env
		if v, ok := fromFlag[s.Flag]; ok {
			value, source = v, "-"+s.Flag
		} else if v := getenv(s.Env); v != "" {
			value, source = v, s.Env
		}
		if err := s.apply(&c, strings.TrimSpace(value)); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", source, value, err))
		}
	}
	if len(errs) == 0 && c.Port != 0 && c.Port == c.MetricsPort {
		errs = append(errs, fmt.Errorf("PORT and METRICS_PORT are both %d: /metrics needs a port of its own", c.Port))
	}
	if len(errs) > 0 {
		return Config{}, &Error{Problems: errs}
	}
	return c, nil
}

// Error lists every invalid setting found by Load.
type Error struct {
	Problems []error
}

func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return "invalid configuration: " + strings.Join(msgs, "; ")
}

// Unwrap gives the individual problems to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return e.Problems }

// Addr is the listen address of the API.
func (c Config) Addr() string { return net.JoinHostPort("", strconv.Itoa(c.Port)) }

// MetricsAddr is the listen address of /metrics.
func (c Config) MetricsAddr() string { return net.JoinHostPort("", strconv.Itoa(c.MetricsPort)) }

func parsePort(v string) (int, error) {
	p, err := strconv.Atoi(v)
	if err != nil || p < 0 || p > 65535 {
		return 0, errors.New("must be a port number from 0 to 65535")
	}
	return p, nil
}

func setPort(c *Config, v string) (err error) {
	c.Port, err = parsePort(v)
	return err
}

func setMetricsPort(c *Config, v string) (err error) {
	c.MetricsPort, err = parsePort(v)
	return err
}

func setLogLevel(c *Config, v string) error {
	switch l, err := zerolog.ParseLevel(strings.ToLower(v)); {
	case err != nil, l < zerolog.TraceLevel, l > zerolog.ErrorLevel, v == "":
		return errors.New("must be one of trace, debug, info, warn, error")
	default:
		c.LogLevel = l
		return nil
	}
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("must be a duration such as 500ms, 10s or 1m")
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	if d > time.Hour {
		return 0, errors.New("must be at most 1h")
	}
	return d, nil
}

func setDrainTimeout(c *Config, v string) error {
	d, err := parseDuration(v)
	c.DrainTimeout = d
	return err
}

func setShutdownTimeout(c *Config, v string) error {
	d, err := parseDuration(v)
	if err == nil && d == 0 {
		err = errors.New("must be more than 0 so in-flight requests can finish")
	}
	c.ShutdownTimeout = d
	return err
}

func setFlushTimeout(c *Config, v string) error {
	d, err := parseDuration(v)
	c.FlushTimeout = d
	return err
}

func setDeploymentID(c *Config, v string) error {
	if !deploymentIDRE.MatchString(v) {
		return errors.New("must be at most 128 letters, digits or . _ : / + -")
	}
	c.DeploymentID = v
	return nil
}

func setEnvironment(c *Config, v string) error {
	if !environmentRE.MatchString(v) {
		return errors.New("must be 1 to 63 letters, digits or . _ -, starting with a letter or digit")
	}
	c.Environment = v
	return nil
}

func setOTLPEndpoint(c *Config, v string) error {
	if v == "" {
		c.OTLPEndpoint = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http:// or https:// URL such as http://otel-collector:4318")
	}
	c.OTLPEndpoint = v
	return nil
}

func setPprofAddr(c *Config, v string) error {
	if v == "" {
		c.PprofAddr = ""
		return nil
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return errors.New("must be host:port such as localhost:6060 or :6060")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return errors.New("must end in a port number from 0 to 65535")
	}
	c.PprofAddr = v
	return nil
}
