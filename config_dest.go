package slogotlp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/soliplex/slogotlp/internal/logfire"
)

// This file decides where NewFromEnv's records go (see NewFromEnv for the
// rules) and builds each destination's exporter.

// Destination names NewFromEnv gives. None holds a secret: several Logfire
// projects are told apart by their token's position in the list.
const (
	destExporter = "exporter"
	destRelay    = "relay"
	destLogfire  = "logfire"
	destOTLP     = "otlp"
	destConsole  = "console"
	destStdout   = "stdout"
	destFallback = "fallback"
)

// exporterChoice is OTEL_LOGS_EXPORTER's value.
type exporterChoice struct {
	set                   bool // the variable is set
	otlp, console, stdout bool
}

// logsExporter reads OTEL_LOGS_EXPORTER: a comma-separated list of otlp,
// console, otlp/stdout, or none alone. Unset means otlp.
func (r *resolver) logsExporter() exporterChoice {
	v := r.env(EnvLogsExporter)
	if v == "" {
		return exporterChoice{otlp: true}
	}
	c := exporterChoice{set: true}
	none := false
	for item := range strings.SplitSeq(v, ",") {
		switch name := strings.ToLower(strings.TrimSpace(item)); name {
		case "otlp":
			c.otlp = true
		case "console":
			c.console = true
		case "otlp/stdout":
			c.stdout = true
		case "none":
			none = true
		case "":
		case "logging":
			r.fail(EnvLogsExporter, errors.New(`"logging" is the deprecated name of "console": use console`))
		default:
			r.fail(EnvLogsExporter, fmt.Errorf("unknown exporter %q: use otlp, console, otlp/stdout or none "+
				"(several separated by commas)", name))
		}
	}
	if none && (c.otlp || c.console || c.stdout) {
		r.fail(EnvLogsExporter, errors.New(`"none" cannot be combined with other exporters`))
	}
	return c
}

func (p *plan) add(name string, exp Exporter, source string) *plannedDest {
	p.dests = append(p.dests, plannedDest{Destination: Destination{Name: name, Exporter: exp}, source: source})
	return &p.dests[len(p.dests)-1]
}

// destinations picks and builds the exporters.
func (r *resolver) destinations(p *plan) {
	c := &r.cfg
	if c.Exporter != nil {
		p.add(destExporter, c.Exporter, "Config.Exporter").callers = true
		return
	}
	sel := r.logsExporter()
	if c.HTTPClient != nil && c.TLSConfig != nil {
		r.fail("Config.TLSConfig", errors.New("set together with Config.HTTPClient, which is used as is: "+
			"configure TLS on the client's transport, or pass TLSConfig alone"))
	}
	relayEnv := r.env(EnvRelayEndpoint)
	switch {
	case isSet(c.RelayEndpoint):
		if sel.otlp {
			r.relay(p, c.RelayEndpoint, "Config.RelayEndpoint", c.SessionToken.Reveal(), "Config.SessionToken")
		}
	case relayEnv != "" && !isSet(c.LogfireToken.Reveal()) && !isSet(c.Endpoint):
		if sel.otlp {
			tok, tokVar := c.SessionToken.Reveal(), "Config.SessionToken"
			if !isSet(tok) {
				tok, tokVar = r.env(EnvSessionToken), EnvSessionToken
			}
			r.relay(p, relayEnv, EnvRelayEndpoint, tok, tokVar)
		}
	default:
		r.logfireAll(p)
		if sel.otlp {
			endpoint, endpointVar := r.otlpEndpoint()
			if endpoint == "" && sel.set && len(p.dests) == 0 {
				// An explicit otlp and nowhere else to send: the
				// specification's default endpoint.
				endpoint, endpointVar = defaultOTLPLogsURL, EnvLogsExporter
			}
			if endpoint != "" {
				r.otlp(p, endpoint, endpointVar)
			}
		}
	}
	if sel.stdout {
		w := c.Stdout
		if w == nil {
			w = os.Stdout
		}
		p.add(destStdout, NewWriterExporter(w, false), EnvLogsExporter)
	}
	console, source := r.consoleSwitch(sel)
	switch {
	case console:
		r.console(p, source)
	case source == "" && len(p.dests) == 0:
		if c.Fallback != nil {
			p.add(destFallback, c.Fallback, "Config.Fallback").callers = true
		} else {
			r.console(p, "default")
		}
	}
}

// consoleSwitch says whether the console is asked for, and by which
// variable: LOGFIRE_CONSOLE wins over OTEL_LOGS_EXPORTER; source is "" when
// neither is set.
func (r *resolver) consoleSwitch(sel exporterChoice) (on bool, source string) {
	if on, ok := r.logfireBool(EnvLogfireConsole); ok {
		return on, EnvLogfireConsole
	}
	if r.env(EnvLogfireConsole) != "" { // bad value, already reported
		return false, EnvLogfireConsole
	}
	if sel.set {
		return sel.console, EnvLogsExporter
	}
	return false, ""
}

// console adds a ConsoleExporter with the LOGFIRE_CONSOLE_* settings.
func (r *resolver) console(p *plan, source string) {
	o := ConsoleOptions{Colors: r.consoleColors()}
	if on, ok := r.logfireBool(EnvLogfireConsoleTime); ok {
		o.NoTimestamp = !on
	}
	if on, ok := r.logfireBool(EnvLogfireConsoleTags); ok {
		o.NoTags = !on
	}
	o.Verbose, _ = r.logfireBool(EnvLogfireConsoleVerbose)
	d := p.add(destConsole, NewConsoleExporter(p.console, &o), source)
	if l, ok := r.level(EnvLogfireConsoleLevel); ok {
		d.Level = l
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
	p.add(destRelay, exp, endpointVar)
}

// logfireAll adds one Logfire destination per write token, as
// LOGFIRE_SEND_TO_LOGFIRE allows.
func (r *resolver) logfireAll(p *plan) {
	mode := r.sendToLogfire()
	if mode == sendNever {
		return
	}
	c := &r.cfg
	raw, tokVar := c.LogfireToken.Reveal(), "Config.LogfireToken"
	if !isSet(raw) {
		tok, src, err := logfire.TokenFromEnv(r.getenv)
		var te *logfire.TokenError
		if errors.As(err, &te) {
			r.fail(te.Var, te.Err)
			return
		}
		raw, tokVar = tok, src
	}
	tokens := logfire.SplitTokens(raw)
	if len(tokens) == 0 {
		if mode == sendAlways {
			r.fail(EnvLogfireSend, fmt.Errorf("is true but no write token is set: set %s (or %s) to a write "+
				"token from your project's settings, or set %s=if-token-present", EnvLogfireToken, EnvLogfireTokenFile,
				EnvLogfireSend))
		}
		return
	}
	for i, tok := range tokens {
		if j := slices.Index(tokens[:i], tok); j >= 0 {
			r.fail(tokVar, fmt.Errorf("token %d repeats token %d: each project once, or every record is sent twice", i+1, j+1))
			return
		}
	}
	for i, tok := range tokens {
		name := destLogfire
		if len(tokens) > 1 {
			name += "#" + strconv.Itoa(i+1)
		}
		r.logfire(p, name, tok, tokVar)
	}
}

func (r *resolver) logfire(p *plan, name, token, tokenVar string) {
	c := &r.cfg
	o := LogfireOptions{Region: c.LogfireRegion, BaseURL: c.LogfireBaseURL, HTTPExporterOptions: r.httpOptions(nil)}
	baseVar := "Config.LogfireBaseURL"
	if !isSet(o.BaseURL) && strings.TrimSpace(o.Region) == "" {
		o.BaseURL, baseVar = r.env(EnvLogfireBaseURL), EnvLogfireBaseURL
	}
	endpoint, err := logfire.LogsEndpoint(token, o.Region, o.BaseURL)
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
	p.add(name, exp, tokenVar)
}

// otlpEndpoint returns the OTLP logs URL and the setting it came from, or
// "" when none is set.
func (r *resolver) otlpEndpoint() (endpoint, source string) {
	switch {
	case isSet(r.cfg.Endpoint):
		return r.cfg.Endpoint, "Config.Endpoint"
	case r.env(EnvLogsEndpoint) != "":
		return r.env(EnvLogsEndpoint), EnvLogsEndpoint
	case r.env(EnvEndpoint) != "":
		u, err := appendLogsPath(r.env(EnvEndpoint))
		if err != nil {
			r.fail(EnvEndpoint, err)
			return "", ""
		}
		return u, EnvEndpoint
	}
	return "", ""
}

// otlp adds the OTLP endpoint, with the OTEL_EXPORTER_OTLP_* settings.
func (r *resolver) otlp(p *plan, endpoint, endpointVar string) {
	format := FormatDefault                                           // the exporter's: protobuf, as the specification's default
	if v, name := r.firstEnv(EnvLogsProtocol, EnvProtocol); v != "" { // the signal-specific variable wins
		switch strings.ToLower(v) {
		case "http/json":
			format = FormatJSON
		case "http/protobuf":
			format = FormatProtobuf
		default:
			r.fail(name, fmt.Errorf("protocol %q is not supported: slogotlp speaks OTLP over HTTP; set http/protobuf "+
				"or http/json and point the endpoint at the receiver's HTTP port (4318)", v))
		}
	}
	var env map[string]string
	if v, name := r.firstEnv(EnvLogsHeaders, EnvHeaders); v != "" { // the signal-specific list replaces the general one
		kv, err := parseKeyValues(v, true, true)
		if err != nil {
			r.fail(name, err)
		}
		env = make(map[string]string, len(kv))
		for _, e := range kv {
			env[e[0]] = e[1]
		}
	}
	o := r.httpOptions(env)
	o.Format = format
	if v, name := r.firstEnv(EnvLogsCompression, EnvCompression); v != "" {
		switch strings.ToLower(v) {
		case "gzip":
		case "none":
			o.DisableGzip = true
		default:
			r.fail(name, fmt.Errorf("unknown compression %q: use gzip or none", v))
		}
	}
	secure := strings.HasPrefix(strings.ToLower(strings.TrimSpace(endpoint)), "https:")
	r.insecure(secure)
	if o.Client == nil && o.TLSConfig == nil {
		o.TLSConfig = r.tlsFromEnv(secure)
	}
	exp, err := NewHTTPExporter(endpoint, &o)
	if err != nil {
		r.fail(endpointVar, err)
		return
	}
	p.add(destOTLP, exp, endpointVar)
}

// insecure reads OTEL_EXPORTER_OTLP_[LOGS_]INSECURE. The specification
// gives it a meaning for gRPC only: OTLP/HTTP uses the endpoint's scheme.
// So it changes nothing here; asking for an insecure connection to an
// https:// endpoint is warned about, as that endpoint will be verified.
func (r *resolver) insecure(secure bool) {
	_, name := r.firstEnv(EnvLogsInsecure, EnvInsecure)
	if name == "" {
		return
	}
	on, _ := r.otelBool(name, "the endpoint's scheme decides")
	if on && secure {
		r.warn(name, errors.New("has no effect over HTTP: the endpoint is https://, so its certificate is verified; "+
			"use an http:// endpoint for a plaintext connection"))
	}
}

// httpOptions returns the transport options every HTTP destination shares:
// env's headers under the explicit Config.Headers, Config.TLSConfig and
// Config.HTTPClient, and the export timeout.
func (r *resolver) httpOptions(env map[string]string) HTTPExporterOptions {
	o := HTTPExporterOptions{TLSConfig: r.cfg.TLSConfig, Client: r.cfg.HTTPClient}
	if o.Client != nil {
		o.TLSConfig = nil // reported once in destinations
	}
	if r.exportTimeout.set {
		// One timeout per request: the export's, whichever variable set it.
		o.Timeout = r.exportTimeout.d
	}
	if len(env) == 0 && len(r.cfg.Headers) == 0 {
		return o
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
	o.Headers = h
	return o
}

// tlsFromEnv reads the certificate variables of the OTLP destination, each
// LOGS_ form winning over the general one. secure says whether the
// endpoint is https; over http they do nothing, which is warned about.
func (r *resolver) tlsFromEnv(secure bool) *tls.Config {
	ca, caVar := r.firstEnv(EnvLogsCertificate, EnvCertificate)
	cert, certVar := r.firstEnv(EnvLogsClientCertificate, EnvClientCertificate)
	key, keyVar := r.firstEnv(EnvLogsClientKey, EnvClientKey)
	if ca == "" && cert == "" && key == "" {
		return nil
	}
	if !secure {
		for _, name := range [...]string{caVar, certVar, keyVar} {
			if name != "" {
				r.warn(name, errors.New("has no effect: the endpoint is http://, so no TLS is used; "+
					"use an https:// endpoint"))
			}
		}
		return nil
	}
	c := &tls.Config{}
	if ca != "" {
		pool, err := loadCAPool(ca)
		if err != nil {
			r.fail(caVar, err)
		}
		c.RootCAs = pool
	}
	switch {
	case cert != "" && key == "":
		r.fail(certVar, fmt.Errorf("is set without %s (or %s): mutual TLS needs the client's key too",
			EnvLogsClientKey, EnvClientKey))
	case key != "" && cert == "":
		r.fail(keyVar, fmt.Errorf("is set without %s (or %s): mutual TLS needs the client's certificate too",
			EnvLogsClientCertificate, EnvClientCertificate))
	case cert != "":
		pair, keyFault, err := loadKeyPair(cert, key)
		switch {
		case err == nil:
			c.Certificates = []tls.Certificate{pair}
		case keyFault:
			r.fail(keyVar, err)
		default:
			r.fail(certVar, err)
		}
	}
	return c
}
