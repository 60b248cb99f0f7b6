package slogotlp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/soliplex/slogotlp/internal/logfire"
)

// The environment variables NewFromEnv reads. An empty variable counts as
// unset, as the OpenTelemetry specification says. The README's
// Configuration section has the whole table: what each one does, its values,
// and which wins when two say the same thing.
const (
	// Logfire's settings, with the meanings of its own SDKs.
	EnvLogfireToken          = logfire.EnvToken
	EnvLogfireTokenFile      = logfire.EnvTokenFile
	EnvLogfireBaseURL        = "LOGFIRE_BASE_URL"
	EnvLogfireEnv            = "LOGFIRE_ENVIRONMENT"
	EnvLogfireSend           = "LOGFIRE_SEND_TO_LOGFIRE"
	EnvLogfireServiceName    = "LOGFIRE_SERVICE_NAME"
	EnvLogfireServiceVersion = "LOGFIRE_SERVICE_VERSION"
	EnvLogfireResourceAttrs  = "LOGFIRE_RESOURCE_ATTRIBUTES"
	EnvLogfireMinLevel       = "LOGFIRE_MIN_LEVEL"
	EnvLogfireConsole        = "LOGFIRE_CONSOLE"
	EnvLogfireConsoleColors  = "LOGFIRE_CONSOLE_COLORS"
	EnvLogfireConsoleTime    = "LOGFIRE_CONSOLE_INCLUDE_TIMESTAMP"
	EnvLogfireConsoleTags    = "LOGFIRE_CONSOLE_INCLUDE_TAGS"
	EnvLogfireConsoleVerbose = "LOGFIRE_CONSOLE_VERBOSE"
	EnvLogfireConsoleLevel   = "LOGFIRE_CONSOLE_MIN_LOG_LEVEL"

	// The relay client's.
	EnvRelayEndpoint = "SLOGOTLP_RELAY_ENDPOINT"
	EnvSessionToken  = "SLOGOTLP_SESSION_TOKEN"

	// OpenTelemetry's: the OTLP exporter, each LOGS_ form winning over the
	// general one.
	EnvLogsEndpoint          = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
	EnvEndpoint              = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvLogsHeaders           = "OTEL_EXPORTER_OTLP_LOGS_HEADERS"
	EnvHeaders               = "OTEL_EXPORTER_OTLP_HEADERS"
	EnvLogsProtocol          = "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"
	EnvProtocol              = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvLogsTimeout           = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT"
	EnvTimeout               = "OTEL_EXPORTER_OTLP_TIMEOUT"
	EnvLogsCompression       = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION"
	EnvCompression           = "OTEL_EXPORTER_OTLP_COMPRESSION"
	EnvLogsCertificate       = "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE"
	EnvCertificate           = "OTEL_EXPORTER_OTLP_CERTIFICATE"
	EnvLogsClientCertificate = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE"
	EnvClientCertificate     = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"
	EnvLogsClientKey         = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY"
	EnvClientKey             = "OTEL_EXPORTER_OTLP_CLIENT_KEY"
	EnvLogsInsecure          = "OTEL_EXPORTER_OTLP_LOGS_INSECURE"
	EnvInsecure              = "OTEL_EXPORTER_OTLP_INSECURE"

	// OpenTelemetry's: exporter selection, resource, batching, the switch.
	EnvLogsExporter    = "OTEL_LOGS_EXPORTER"
	EnvServiceName     = "OTEL_SERVICE_NAME"
	EnvServiceVersion  = "OTEL_SERVICE_VERSION" // Logfire's alias of LOGFIRE_SERVICE_VERSION
	EnvResourceAttrs   = "OTEL_RESOURCE_ATTRIBUTES"
	EnvScheduleDelay   = "OTEL_BLRP_SCHEDULE_DELAY"
	EnvMaxQueueSize    = "OTEL_BLRP_MAX_QUEUE_SIZE"
	EnvMaxBatchSize    = "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"
	EnvExportTimeout   = "OTEL_BLRP_EXPORT_TIMEOUT"
	EnvSDKDisabled     = "OTEL_SDK_DISABLED"
	defaultOTLPLogsURL = "http://localhost:4318/v1/logs"
)

// Config is what NewFromEnv builds a handler from. Every field is optional:
// a zero field falls back to the environment, and a set field wins over it.
// A nil *Config means all zero.
//
// Printing a Config (fmt with any verb, encoding/json, log/slog) never shows
// LogfireToken, SessionToken or a header value: they are Secrets; TLSConfig
// and HTTPClient print as addresses and are left out of JSON. Endpoints
// print as given: put a receiver's key in Headers, not in the URL.
type Config struct {
	// Exporter, when set, is the one destination, used as is: it wins over
	// every other destination, explicit or from the environment, the
	// console included.
	Exporter Exporter `json:"-"`

	// LogfireToken is a Logfire write token, or several separated by commas
	// (one project each: every record goes to each). Default:
	// LOGFIRE_TOKEN, else the content of the file LOGFIRE_TOKEN_FILE names (a
	// Kubernetes or Docker secret; surrounding spaces and the final newline
	// are trimmed). LOGFIRE_SEND_TO_LOGFIRE=false turns Logfire off.
	LogfireToken Secret
	// LogfireRegion ("us" or "eu") and LogfireBaseURL choose where Logfire
	// records go, as in LogfireOptions, for every token. Default:
	// LOGFIRE_BASE_URL, else the region each token names in its
	// "pylf_v<N>_<region>_" prefix, else US.
	LogfireRegion, LogfireBaseURL string

	// Endpoint is an OTLP/HTTP receiver's full logs URL
	// ("http://collector:4318/v1/logs"; nothing is appended). Default:
	// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT
	// with "/v1/logs" appended to its path. Records go there and to Logfire
	// when both are configured.
	Endpoint string
	// Headers are sent with every request of the OTLP, Logfire or relay
	// exporters; for a key both name they win over OTEL_EXPORTER_OTLP_HEADERS
	// (the OTLP exporter only). Logfire's and the relay's Authorization
	// cannot be overridden.
	Headers Headers

	// TLSConfig is the TLS configuration of every HTTP destination (OTLP,
	// Logfire, relay): a private CA, a client certificate. It wins over the
	// OTEL_EXPORTER_OTLP_[LOGS_]CERTIFICATE, _CLIENT_CERTIFICATE and
	// _CLIENT_KEY variables, which are then not read. LoadTLSConfig builds
	// one from PEM files. Default: the system's roots, no client certificate.
	TLSConfig *tls.Config `json:"-"`
	// HTTPClient sends the requests of every HTTP destination, used as is
	// (its transport's TLS and proxy settings apply); with it set the
	// certificate variables are not read, and setting TLSConfig too is an
	// error. Default: a client of each exporter's own.
	HTTPClient *http.Client `json:"-"`

	// RelayEndpoint is the relay's URL (see NewProxyExporter) and
	// SessionToken the session token it accepts. Default:
	// SLOGOTLP_RELAY_ENDPOINT and SLOGOTLP_SESSION_TOKEN. A relay is the only
	// network destination: a program that uses one holds no write token.
	RelayEndpoint string
	SessionToken  Secret

	// ServiceName, ServiceVersion and Environment set the resource
	// attributes service.name, service.version and
	// deployment.environment.name, winning over Handler.Resource and the
	// environment (LOGFIRE_SERVICE_NAME, OTEL_SERVICE_NAME,
	// LOGFIRE_SERVICE_VERSION, OTEL_SERVICE_VERSION, LOGFIRE_ENVIRONMENT,
	// LOGFIRE_RESOURCE_ATTRIBUTES, OTEL_RESOURCE_ATTRIBUTES).
	ServiceName, ServiceVersion, Environment string

	// HandlerOptions holds the handler's options. Its non-zero BatchSize,
	// FlushInterval, MaxQueueSize and ExportTimeout win over the OTEL_BLRP_*
	// and OTEL_EXPORTER_OTLP_[LOGS_]TIMEOUT variables, its Level over
	// LOGFIRE_MIN_LEVEL, its Resource over OTEL_RESOURCE_ATTRIBUTES and the
	// service variables, its SpoolDir, SpoolMaxBytes and SpoolMaxAge over
	// SLOGOTLP_SPOOL_DIR, SLOGOTLP_SPOOL_MAX_BYTES and SLOGOTLP_SPOOL_MAX_AGE.
	HandlerOptions HandlerOptions

	// Console receives the console's lines (OTEL_LOGS_EXPORTER=console,
	// LOGFIRE_CONSOLE=true, or nothing configured) and NewFromEnv's
	// warnings when HandlerOptions.OnError is nil. Default: os.Stderr, where
	// Go programs log by convention, so a program's stdout stays its own.
	Console io.Writer `json:"-"`
	// Fallback is the exporter used when the settings name no destination at
	// all: no Logfire token, no OTLP endpoint, no relay, and neither
	// LOGFIRE_CONSOLE nor OTEL_LOGS_EXPORTER set. Default: a ConsoleExporter
	// on Console. The quickstart passes a WriterExporter on os.Stdout to show
	// the OTLP JSON it would send.
	Fallback Exporter `json:"-"`
	// Stdout receives OTEL_LOGS_EXPORTER=otlp/stdout's OTLP JSON lines.
	// Default: os.Stdout.
	Stdout io.Writer `json:"-"`

	// Getenv reads the environment. Default: os.Getenv. Tests and programs
	// that keep their settings elsewhere can pass their own lookup.
	Getenv func(string) string `json:"-"`
}

// ConfigError reports a setting NewFromEnv could not use. Var names the
// environment variable (or the Config field, "Config.Endpoint") to fix. The
// message never quotes a token, a header value or a key file's content.
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
// The destinations, each with its own queue (see NewMultiHandler):
//   - cfg.Exporter alone, when set;
//   - else a relay (cfg.RelayEndpoint, else SLOGOTLP_RELAY_ENDPOINT unless
//     cfg sets a Logfire token or an endpoint) alone;
//   - else one Logfire destination per write token (cfg.LogfireToken,
//     LOGFIRE_TOKEN or LOGFIRE_TOKEN_FILE; LOGFIRE_SEND_TO_LOGFIRE=false
//     turns them off, =true demands a token) and also an OTLP endpoint
//     (cfg.Endpoint, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT,
//     OTEL_EXPORTER_OTLP_ENDPOINT), as Logfire's own SDK sends to both;
//   - and, on top, the console when LOGFIRE_CONSOLE=true or
//     OTEL_LOGS_EXPORTER lists console, and the OTLP JSON on cfg.Stdout when
//     it lists otlp/stdout. OTEL_LOGS_EXPORTER without otlp (console, none)
//     leaves out the OTLP endpoint and the relay, not Logfire, which follows
//     Logfire's own variable;
//   - with none of these, cfg.Fallback, by default a ConsoleExporter on
//     stderr: readable lines, never OTLP payloads on a service's stdout.
//
// OTEL_SDK_DISABLED=true returns a handler switched off with
// SetEnabled(false): Enabled reports false and nothing is sent until
// SetEnabled(true). The README's Configuration section lists every other
// variable read.
//
// A value it cannot use (an unparsable number, a malformed header list, an
// endpoint that is not an http(s) URL, an unreadable token or certificate
// file, an unknown exporter name) makes it return a nil Handler and an error
// made of one *ConfigError per bad variable, each naming it. The service can
// then choose to start without export, e.g. with a slog.TextHandler on
// stderr, rather than fail. A value the OpenTelemetry specification says to
// ignore with a warning (OTEL_SDK_DISABLED=1, which is not "true") is
// reported, as a *ConfigError, to HandlerOptions.OnError, or written to
// cfg.Console when there is none, and the handler is built.
func NewFromEnv(cfg *Config) (*Handler, error) {
	p, err := resolveConfig(cfg)
	if err != nil {
		return nil, err
	}
	dests := make([]Destination, len(p.dests))
	for i, d := range p.dests {
		dests[i] = d.Destination
	}
	h := NewMultiHandler(dests, &p.opts)
	if p.disabled {
		h.SetEnabled(false)
	}
	for _, w := range p.warnings {
		if p.opts.OnError != nil {
			p.opts.OnError(w)
		} else {
			fmt.Fprintln(p.console, w.Error())
		}
	}
	return h, nil
}

// plan is a resolved Config: the destinations built and the options merged.
type plan struct {
	dests    []plannedDest
	opts     HandlerOptions
	disabled bool
	warnings []error
	console  io.Writer
}

// plannedDest is a destination with the variable or field it came from,
// for tests and messages.
type plannedDest struct {
	Destination
	source string
	// callers marks an exporter the caller passed in (Config.Exporter,
	// Config.Fallback): NewFromEnv does not shut it down when it fails.
	callers bool
}

// resolver reads the settings, collecting one ConfigError per bad variable
// and the warnings.
type resolver struct {
	cfg      Config
	getenv   func(string) string
	errs     []error
	warnings []error
	// exportTimeout is the resolved export timeout, given to every HTTP
	// destination too; zero when nothing set one.
	exportTimeout timeoutSetting
}

func (r *resolver) env(name string) string { return strings.TrimSpace(r.getenv(name)) }

func (r *resolver) fail(name string, err error) {
	r.errs = append(r.errs, &ConfigError{Var: name, Err: err})
}

func (r *resolver) warn(name string, err error) {
	r.warnings = append(r.warnings, &ConfigError{Var: name, Err: err})
}

// firstEnv returns the first of names that is set, and its name.
func (r *resolver) firstEnv(names ...string) (value, name string) {
	for _, n := range names {
		if n == "" {
			continue
		}
		if v := r.env(n); v != "" {
			return v, n
		}
	}
	return "", ""
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
	p := &plan{opts: r.cfg.HandlerOptions, console: r.cfg.Console}
	if p.console == nil {
		p.console = os.Stderr
	}
	p.disabled = r.sdkDisabled()
	r.batchOptions(&p.opts)
	r.spoolOptions(&p.opts)
	if p.opts.Level == nil {
		if l, ok := r.level(EnvLogfireMinLevel); ok {
			p.opts.Level = l
		}
	}
	r.attributeLimits(&p.opts)
	p.opts.Resource = r.resource()
	r.destinations(p)
	for _, d := range p.dests {
		// Logfire reads logfire.msg (and the older code.* names) to show a
		// record as it shows one of its own SDK's; records are encoded once
		// for every destination, so the others get them too.
		if strings.HasPrefix(d.Name, destLogfire) || d.Name == destRelay {
			p.opts.LogfireAttributes = true
		}
	}
	if len(r.errs) > 0 {
		for _, d := range p.dests {
			if !d.callers {
				_ = d.Exporter.Shutdown(context.Background())
			}
		}
		return nil, errors.Join(r.errs...)
	}
	p.warnings = r.warnings
	return p, nil
}

// sdkDisabled reads OTEL_SDK_DISABLED as the specification's booleans: only
// "true", in any case, switches export off.
func (r *resolver) sdkDisabled() bool {
	on, _ := r.otelBool(EnvSDKDisabled, "the handler stays enabled")
	return on
}

// batchOptions fills the batcher settings the caller left zero from the
// OTEL_BLRP_* variables, and the export timeout from the first set of
// OTEL_EXPORTER_OTLP_LOGS_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT and
// OTEL_BLRP_EXPORT_TIMEOUT.
func (r *resolver) batchOptions(o *HandlerOptions) {
	if o.FlushInterval <= 0 {
		o.FlushInterval = r.millis(EnvScheduleDelay)
	}
	if o.ExportTimeout > 0 {
		r.exportTimeout = timeoutSetting{d: o.ExportTimeout, set: true}
	} else {
		for _, name := range [...]string{EnvLogsTimeout, EnvTimeout, EnvExportTimeout} {
			if t := r.timeout(name); t.set {
				r.exportTimeout = t
				o.ExportTimeout = t.d
				break
			}
		}
	}
	if o.MaxQueueSize <= 0 {
		o.MaxQueueSize = r.positive(EnvMaxQueueSize, "records")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = r.positive(EnvMaxBatchSize, "records")
	}
}

// resource merges, each later source winning per key:
// OTEL_RESOURCE_ATTRIBUTES, LOGFIRE_RESOURCE_ATTRIBUTES, the service
// variables (LOGFIRE_SERVICE_NAME over OTEL_SERVICE_NAME,
// LOGFIRE_SERVICE_VERSION over OTEL_SERVICE_VERSION, LOGFIRE_ENVIRONMENT),
// Handler.Resource, then ServiceName/ServiceVersion/Environment.
func (r *resolver) resource() []slog.Attr {
	var res []slog.Attr
	for _, src := range [...]struct {
		name   string
		decode bool
	}{{EnvResourceAttrs, true}, {EnvLogfireResourceAttrs, false}} {
		v := r.env(src.name)
		if v == "" {
			continue
		}
		kv, err := parseKeyValues(v, false, src.decode)
		if err != nil {
			r.fail(src.name, err)
		}
		var list []slog.Attr
		for _, e := range kv {
			list = append(list, slog.String(e[0], e[1]))
		}
		res = mergeResource(res, dedupe(list))
	}
	var named []slog.Attr
	for _, s := range [...]struct{ key, primary, alias string }{
		{"service.name", EnvLogfireServiceName, EnvServiceName},
		{"service.version", EnvLogfireServiceVersion, EnvServiceVersion},
		{"deployment.environment.name", EnvLogfireEnv, ""},
	} {
		if v, _ := r.firstEnv(s.primary, s.alias); v != "" {
			named = append(named, slog.String(s.key, v))
		}
	}
	res = mergeResource(res, named)
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
