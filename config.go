package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/soliplex/slogotlp/internal/logfire"
)

// The environment variables NewFromEnv reads. An empty variable counts as
// unset, as the OpenTelemetry specification says.
const (
	EnvLogfireToken     = logfire.EnvToken
	EnvLogfireTokenFile = logfire.EnvTokenFile
	EnvLogfireBaseURL   = "LOGFIRE_BASE_URL"
	EnvLogfireEnv       = "LOGFIRE_ENVIRONMENT"
	EnvRelayEndpoint    = "SLOGOTLP_RELAY_ENDPOINT"
	EnvSessionToken     = "SLOGOTLP_SESSION_TOKEN"
	EnvLogsEndpoint     = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
	EnvEndpoint         = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvLogsHeaders      = "OTEL_EXPORTER_OTLP_LOGS_HEADERS"
	EnvHeaders          = "OTEL_EXPORTER_OTLP_HEADERS"
	EnvLogsProtocol     = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"
	EnvProtocol         = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvServiceName      = "OTEL_SERVICE_NAME"
	EnvResourceAttrs    = "OTEL_RESOURCE_ATTRIBUTES"
	EnvScheduleDelay    = "OTEL_BLRP_SCHEDULE_DELAY"
	EnvMaxQueueSize     = "OTEL_BLRP_MAX_QUEUE_SIZE"
	EnvMaxBatchSize     = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"
	EnvExportTimeout    = "OTEL_BLRP_EXPORT_TIMEOUT"
	EnvSDKDisabled      = "OTEL_SDK_DISABLED"
)

// Config is what NewFromEnv builds a handler from. Every field is optional:
// a zero field falls back to the environment, and a set field wins over it.
// A nil *Config means all zero.
//
// Printing a Config (fmt with any verb, encoding/json, log/slog) never shows
// LogfireToken, SessionToken or a header value: they are Secrets. Endpoints
// print as given: put a receiver's key in Headers, not in the URL.
type Config struct {
	// Exporter, when set, is used as is and wins over every other
	// destination, explicit or from the environment.
	Exporter Exporter `json:"-"`

	// LogfireToken is a Logfire write token. Default: LOGFIRE_TOKEN, else
	// the content of the file LOGFIRE_TOKEN_FILE names (a Kubernetes or
	// Docker secret; surrounding spaces and the final newline are trimmed).
	LogfireToken Secret
	// LogfireRegion ("us" or "eu") and LogfireBaseURL choose where Logfire
	// records go, as in LogfireOptions. Default: LOGFIRE_BASE_URL, else the
	// region the token names in its "pylf_v<N>_<region>_" prefix, else US.
	LogfireRegion, LogfireBaseURL string

	// Endpoint is an OTLP/HTTP receiver's full logs URL
	// ("http://collector:4318/v1/logs"; nothing is appended). Default:
	// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT
	// with "/v1/logs" appended to its path.
	Endpoint string
	// Headers are sent with every request of the OTLP, Logfire or relay
	// exporter; for a key both name they win over OTEL_EXPORTER_OTLP_HEADERS
	// (the OTLP exporter only). Logfire's and the relay's Authorization
	// cannot be overridden.
	Headers Headers

	// RelayEndpoint is the relay's URL (see NewProxyExporter) and
	// SessionToken the session token it accepts. Default:
	// SLOGOTLP_RELAY_ENDPOINT and SLOGOTLP_SESSION_TOKEN.
	RelayEndpoint string
	SessionToken  Secret

	// ServiceName, ServiceVersion and Environment set the resource
	// attributes service.name, service.version and
	// deployment.environment.name, winning over Handler.Resource and the
	// environment (OTEL_SERVICE_NAME, LOGFIRE_ENVIRONMENT,
	// OTEL_RESOURCE_ATTRIBUTES).
	ServiceName, ServiceVersion, Environment string

	// HandlerOptions holds the handler's options. Its non-zero BatchSize,
	// FlushInterval, MaxQueueSize and ExportTimeout win over the OTEL_BLRP_*
	// variables; its Resource wins over OTEL_RESOURCE_ATTRIBUTES and
	// OTEL_SERVICE_NAME.
	HandlerOptions HandlerOptions

	// Stdout receives the payloads when no destination is configured, one
	// JSON line each (pretty-printed with Indent). Default: os.Stdout.
	Stdout io.Writer `json:"-"`
	// Indent pretty-prints the payloads written to Stdout.
	Indent bool

	// Getenv reads the environment. Default: os.Getenv. Tests and programs
	// that keep their settings elsewhere can pass their own lookup.
	Getenv func(string) string `json:"-"`
}

// ConfigError reports a setting NewFromEnv could not use. Var names the
// environment variable (or the Config field, "Config.Endpoint") to fix. The
// message never quotes a token or a header value.
type ConfigError struct {
	Var string
	Err error
}

// Error names the variable and says what is wrong with it; it never quotes
// the value, which may be a secret.
func (e *ConfigError) Error() string {
	return "slogotlp: " + e.Var + ": " + strings.TrimPrefix(e.Err.Error(), "slogotlp: ")
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// NewFromEnv builds a Handler from cfg and the environment, so a service
// that already logs with slog gets its records into Logfire by setting
// LOGFIRE_TOKEN, or into any OTLP/HTTP receiver with the standard
// OpenTelemetry variables.
//
// The destination is the first of, in order: cfg.Exporter; an explicit
// cfg.RelayEndpoint, cfg.LogfireToken, cfg.Endpoint; then from the
// environment SLOGOTLP_RELAY_ENDPOINT (with SLOGOTLP_SESSION_TOKEN),
// LOGFIRE_TOKEN or LOGFIRE_TOKEN_FILE, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
// OTEL_EXPORTER_OTLP_ENDPOINT; and with none of these, a WriterExporter on
// cfg.Stdout, so a program runs with no account and shows what it would
// send. Only the chosen destination's variables are read.
//
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and LOGFIRE_ENVIRONMENT add
// resource attributes; OTEL_BLRP_SCHEDULE_DELAY (FlushInterval),
// OTEL_BLRP_EXPORT_TIMEOUT (ExportTimeout), both in milliseconds,
// OTEL_BLRP_MAX_QUEUE_SIZE (MaxQueueSize) and
// OTEL_BLRP_MAX_EXPORT_BATCH_SIZE (BatchSize) tune the batcher; unset, the
// HandlerOptions defaults apply. OTEL_SDK_DISABLED=true returns a handler
// switched off with SetEnabled(false): Enabled reports false and nothing is
// sent until SetEnabled(true).
//
// A value it cannot use (an unparsable number, a malformed header list, an
// endpoint that is not an http(s) URL, an unreadable token file) makes it
// return a nil Handler and an error made of one *ConfigError per bad
// variable, each naming it. The service can then choose to start without
// export, e.g. with a slog.TextHandler on stderr, rather than fail.
func NewFromEnv(cfg *Config) (*Handler, error) {
	p, err := resolveConfig(cfg)
	if err != nil {
		return nil, err
	}
	h := NewHandler(p.exp, &p.opts)
	if p.disabled {
		h.SetEnabled(false)
	}
	return h, nil
}

// plan is a resolved Config: the exporter built and the options merged.
type plan struct {
	exp      Exporter
	dest     string // which destination won, for tests: "exporter", "relay", ...
	source   string // the variable or field it came from
	opts     HandlerOptions
	disabled bool
}

// resolver reads the settings, collecting one ConfigError per bad variable.
type resolver struct {
	cfg    Config
	getenv func(string) string
	errs   []error
}

func (r *resolver) env(name string) string { return strings.TrimSpace(r.getenv(name)) }

func (r *resolver) fail(name string, err error) {
	r.errs = append(r.errs, &ConfigError{Var: name, Err: err})
}

func resolveConfig(cfg *Config) (*plan, error) {
	r := &resolver{}
	if cfg != nil {
		r.cfg = *cfg
	}
	r.getenv = r.cfg.Getenv
	if r.getenv == nil {
		r.getenv = os.Getenv
	}
	p := &plan{opts: r.cfg.HandlerOptions}
	p.disabled = r.sdkDisabled()
	r.batchOptions(&p.opts)
	p.opts.Resource = r.resource()
	r.destination(p)
	if len(r.errs) > 0 {
		if p.exp != nil {
			_ = p.exp.Shutdown(context.Background())
		}
		return nil, errors.Join(r.errs...)
	}
	return p, nil
}

func (r *resolver) sdkDisabled() bool {
	switch v := strings.ToLower(r.env(EnvSDKDisabled)); v {
	case "", "false":
		return false
	case "true":
		return true
	}
	r.fail(EnvSDKDisabled, errors.New(`want "true" or "false"`))
	return false
}

// batchOptions fills the batcher settings the caller left zero from the
// OTEL_BLRP_* variables.
func (r *resolver) batchOptions(o *HandlerOptions) {
	if o.FlushInterval <= 0 {
		o.FlushInterval = r.millis(EnvScheduleDelay)
	}
	if o.ExportTimeout <= 0 {
		o.ExportTimeout = r.millis(EnvExportTimeout)
	}
	if o.MaxQueueSize <= 0 {
		o.MaxQueueSize = r.positive(EnvMaxQueueSize, "records")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = r.positive(EnvMaxBatchSize, "records")
	}
}

func (r *resolver) millis(name string) time.Duration {
	return time.Duration(r.positive(name, "milliseconds, e.g. 5000 for 5s")) * time.Millisecond
}

// positive reads a positive integer; unset is 0, the option's default.
func (r *resolver) positive(name, unit string) int {
	v := r.env(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail(name, fmt.Errorf("want a positive whole number of %s", unit))
		return 0
	}
	return n
}

// resource merges, each later source winning per key:
// OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME and LOGFIRE_ENVIRONMENT,
// Handler.Resource, then ServiceName/ServiceVersion/Environment.
func (r *resolver) resource() []slog.Attr {
	var env []slog.Attr
	if v := r.env(EnvResourceAttrs); v != "" {
		kv, err := parseKeyValues(v, false)
		if err != nil {
			r.fail(EnvResourceAttrs, err)
		}
		for _, e := range kv {
			env = append(env, slog.String(e[0], e[1]))
		}
	}
	var named []slog.Attr
	if v := r.env(EnvServiceName); v != "" {
		named = append(named, slog.String("service.name", v))
	}
	if v := r.env(EnvLogfireEnv); v != "" {
		named = append(named, slog.String("deployment.environment.name", v))
	}
	res := mergeResource(dedupe(env), named)
	res = mergeResource(res, r.cfg.HandlerOptions.Resource)
	var explicit []slog.Attr
	for _, kv := range [...][2]string{
		{"service.name", r.cfg.ServiceName},
		{"service.version", r.cfg.ServiceVersion},
		{"deployment.environment.name", r.cfg.Environment},
	} {
		if kv[1] != "" {
			explicit = append(explicit, slog.String(kv[0], kv[1]))
		}
	}
	return mergeResource(res, explicit)
}

// dedupe keeps the last attribute of each key.
func dedupe(attrs []slog.Attr) []slog.Attr {
	out := attrs[:0:0]
	for i, a := range attrs {
		if !shadowed(a.Key, attrs[i+1:]) {
			out = append(out, a)
		}
	}
	return out
}

// isSet reports whether a setting holds more than spaces.
func isSet[T ~string](s T) bool { return strings.TrimSpace(string(s)) != "" }

// destination picks and builds the exporter (see NewFromEnv for the order).
func (r *resolver) destination(p *plan) {
	c := &r.cfg
	switch {
	case c.Exporter != nil:
		p.exp, p.dest, p.source = c.Exporter, "exporter", "Config.Exporter"
	case isSet(c.RelayEndpoint):
		r.relay(p, c.RelayEndpoint, "Config.RelayEndpoint", c.SessionToken.Reveal(), "Config.SessionToken")
	case isSet(c.LogfireToken.Reveal()):
		r.logfire(p, c.LogfireToken.Reveal(), "Config.LogfireToken")
	case isSet(c.Endpoint):
		r.otlp(p, c.Endpoint, "Config.Endpoint")
	case r.env(EnvRelayEndpoint) != "":
		tok, tokVar := c.SessionToken.Reveal(), "Config.SessionToken"
		if strings.TrimSpace(tok) == "" {
			tok, tokVar = r.env(EnvSessionToken), EnvSessionToken
		}
		r.relay(p, r.env(EnvRelayEndpoint), EnvRelayEndpoint, tok, tokVar)
	case r.env(EnvLogfireToken) != "" || r.env(EnvLogfireTokenFile) != "":
		tok, src, err := logfire.TokenFromEnv(r.getenv)
		var te *logfire.TokenError
		if errors.As(err, &te) {
			r.fail(te.Var, te.Err)
		}
		if tok != "" {
			r.logfire(p, tok, src)
		}
	case r.env(EnvLogsEndpoint) != "":
		r.otlp(p, r.env(EnvLogsEndpoint), EnvLogsEndpoint)
	case r.env(EnvEndpoint) != "":
		u, err := appendLogsPath(r.env(EnvEndpoint))
		if err != nil {
			r.fail(EnvEndpoint, err)
			return
		}
		r.otlp(p, u, EnvEndpoint)
	default:
		w := c.Stdout
		if w == nil {
			w = os.Stdout
		}
		p.exp, p.dest, p.source = NewWriterExporter(w, c.Indent), "stdout", "default"
	}
}

func (r *resolver) relay(p *plan, endpoint, endpointVar, token, tokenVar string) {
	if strings.TrimSpace(token) == "" {
		r.fail(tokenVar, fmt.Errorf("%s is set but the session token is empty: set %s to the token the relay accepts",
			endpointVar, tokenVar))
		return
	}
	if _, err := parseEndpoint(endpoint); err != nil {
		r.fail(endpointVar, err)
		return
	}
	exp, err := NewProxyExporter(endpoint, token, &ProxyOptions{HTTPExporterOptions: r.httpOptions(nil)})
	if err != nil {
		r.fail(tokenVar, err)
		return
	}
	p.exp, p.dest, p.source = exp, "relay", endpointVar
}

func (r *resolver) logfire(p *plan, token, tokenVar string) {
	c := &r.cfg
	o := LogfireOptions{Region: c.LogfireRegion, BaseURL: c.LogfireBaseURL, HTTPExporterOptions: r.httpOptions(nil)}
	baseVar := "Config.LogfireBaseURL"
	if !isSet(o.BaseURL) && strings.TrimSpace(o.Region) == "" {
		o.BaseURL, baseVar = r.env(EnvLogfireBaseURL), EnvLogfireBaseURL
	}
	endpoint, err := logfire.LogsEndpoint(token, o.Region, string(o.BaseURL))
	if err != nil {
		r.fail("Config.LogfireRegion", err)
		return
	}
	if _, err := parseEndpoint(endpoint); err != nil {
		r.fail(baseVar, err)
		return
	}
	exp, err := NewLogfireExporter(token, &o)
	if err != nil {
		r.fail(tokenVar, err)
		return
	}
	p.exp, p.dest, p.source = exp, "logfire", tokenVar
}

func (r *resolver) otlp(p *plan, endpoint, endpointVar string) {
	format := FormatJSON
	for _, name := range [...]string{EnvLogsProtocol, EnvProtocol} {
		v := strings.ToLower(r.env(name))
		if v == "" {
			continue
		}
		switch v {
		case "http/json":
		case "http/protobuf":
			format = FormatProtobuf
		default:
			r.fail(name, fmt.Errorf("protocol %q is not supported: slogotlp speaks OTLP over HTTP; set http/protobuf "+
				"or http/json and point the endpoint at the receiver's HTTP port (4318)", v))
		}
		break // the signal-specific variable wins
	}
	var env map[string]string
	for _, name := range [...]string{EnvLogsHeaders, EnvHeaders} {
		v := r.env(name)
		if v == "" {
			continue
		}
		kv, err := parseKeyValues(v, true)
		if err != nil {
			r.fail(name, err)
		}
		env = make(map[string]string, len(kv))
		for _, e := range kv {
			env[e[0]] = e[1]
		}
		break // the signal-specific list replaces the general one
	}
	exp, err := NewHTTPExporter(endpoint, &HTTPExporterOptions{Headers: r.httpOptions(env).Headers, Format: format})
	if err != nil {
		r.fail(endpointVar, err)
		return
	}
	p.exp, p.dest, p.source = exp, "otlp", endpointVar
}

// httpOptions returns the transport options: env's headers under the
// explicit Config.Headers.
func (r *resolver) httpOptions(env map[string]string) HTTPExporterOptions {
	if len(env) == 0 && len(r.cfg.Headers) == 0 {
		return HTTPExporterOptions{}
	}
	h := make(Headers, len(env)+len(r.cfg.Headers))
	for k, v := range env {
		h[k] = NewSecret(v)
	}
	for k, v := range r.cfg.Headers {
		for old := range h {
			if strings.EqualFold(old, k) {
				delete(h, old)
			}
		}
		h[k] = v
	}
	return HTTPExporterOptions{Headers: h}
}

// appendLogsPath turns OTEL_EXPORTER_OTLP_ENDPOINT, a base URL, into the
// logs URL as the specification says: "/v1/logs" after the base path.
func appendLogsPath(base string) (string, error) {
	if _, err := parseEndpoint(base); err != nil {
		return "", err
	}
	u, _ := url.Parse(base) // parseEndpoint accepted it
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/logs"
	if u.RawPath != "" {
		u.RawPath = strings.TrimRight(u.RawPath, "/") + "/v1/logs"
	}
	return u.String(), nil
}

// parseKeyValues reads the W3C-Baggage-like list the OpenTelemetry
// variables use: "k1=v1,k2=v2", values percent-decoded, spaces around keys
// and values trimmed, empty entries skipped. The errors name the entry by
// position and never quote a value, which may be a secret.
func parseKeyValues(s string, headers bool) ([][2]string, error) {
	var out [][2]string
	for i, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %d is not key=value: write the list as key1=value1,key2=value2", i+1)
		}
		dk, err := url.PathUnescape(k)
		if err != nil || (headers && !validHeaderName(dk)) {
			return nil, fmt.Errorf("entry %d: the key is not a valid %s: use letters, digits, '-' and '.'",
				i+1, map[bool]string{true: "header name", false: "attribute key"}[headers])
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("entry %d (key %q): the value has a malformed %%-escape: encode %% as %%25", i+1, dk)
		}
		if hasControl(dv) {
			return nil, fmt.Errorf("entry %d (key %q): the value contains a control character: remove it", i+1, dk)
		}
		out = append(out, [2]string{dk, dv})
	}
	return out, nil
}
