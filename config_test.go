package slogotlp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allEnv lists every variable NewFromEnv reads.
var allEnv = []string{
	EnvLogfireToken, EnvLogfireTokenFile, EnvLogfireBaseURL, EnvLogfireEnv, EnvLogfireSend, EnvLogfireServiceName,
	EnvLogfireServiceVersion, EnvLogfireResourceAttrs, EnvLogfireMinLevel, EnvLogfireConsole, EnvLogfireConsoleColors,
	EnvLogfireConsoleTime, EnvLogfireConsoleTags, EnvLogfireConsoleVerbose, EnvLogfireConsoleLevel,
	EnvRelayEndpoint, EnvSessionToken,
	EnvLogsEndpoint, EnvEndpoint, EnvLogsHeaders, EnvHeaders, EnvLogsProtocol, EnvProtocol, EnvLogsTimeout, EnvTimeout,
	EnvLogsCompression, EnvCompression, EnvLogsCertificate, EnvCertificate, EnvLogsClientCertificate,
	EnvClientCertificate, EnvLogsClientKey, EnvClientKey, EnvLogsInsecure, EnvInsecure,
	EnvLogsExporter, EnvServiceName, EnvServiceVersion, EnvResourceAttrs, EnvScheduleDelay, EnvMaxQueueSize,
	EnvMaxBatchSize, EnvExportTimeout, EnvSDKDisabled, "NO_COLOR",
}

// setEnv clears every variable NewFromEnv reads (the machine's own must not
// leak into a case; empty counts as unset) and then sets env.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range allEnv {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// resolved runs resolveConfig and shuts the exporters down after the test.
func resolved(t *testing.T, cfg *Config) *plan {
	t.Helper()
	p, err := resolveConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, d := range p.dests {
			_ = d.Exporter.Shutdown(context.Background())
		}
	})
	return p
}

// only returns the plan's single destination.
func only(t *testing.T, p *plan) plannedDest {
	t.Helper()
	require.Len(t, p.dests, 1, "destinations: %v", names(p))
	return p.dests[0]
}

func names(p *plan) []string {
	var out []string
	for _, d := range p.dests {
		out = append(out, d.Name)
	}
	return out
}

// target returns where an exporter sends and the headers it sends.
func target(t *testing.T, e Exporter) (string, http.Header) {
	t.Helper()
	switch e := e.(type) {
	case *HTTPExporter:
		return e.c.sec.endpoint, e.c.sec.header
	case *ProxyExporter:
		h := e.s.core.sec.header.Clone()
		h.Set("Authorization", "Bearer "+*e.s.token.Load())
		return e.s.core.sec.endpoint, h
	}
	return "", nil
}

// core returns the HTTP engine of an HTTP or relay exporter.
func httpCoreOf(t *testing.T, e Exporter) *httpCore {
	t.Helper()
	switch e := e.(type) {
	case *HTTPExporter:
		return e.c
	case *ProxyExporter:
		return e.s.core
	}
	t.Fatalf("%T is not an HTTP exporter", e)
	return nil
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

type nopExporter struct{}

func (nopExporter) Export(context.Context, []byte, int) Result { return Result{} }
func (nopExporter) Shutdown(context.Context) error             { return nil }

// wantDest is one destination a case expects.
type wantDest struct {
	name, source, endpoint string
	headers                map[string]string // expected header values (subset)
	format                 WireFormat        // the payload encoding the exporter asks for
}

func TestNewFromEnvDestination(t *testing.T) {
	const us, eu = "pylf_v1_us_secretUS", "pylf_v1_eu_secretEU"
	tokenFile := writeFile(t, eu+"\n")
	custom := nopExporter{}
	for _, tc := range []struct {
		name string
		env  map[string]string
		cfg  Config
		want []wantDest
	}{
		{name: "nothing: the console", want: []wantDest{{name: destConsole, source: "default"}}},
		{name: "nothing, with a Fallback", cfg: Config{Fallback: custom},
			want: []wantDest{{name: destFallback, source: "Config.Fallback"}}},
		{name: "LOGFIRE_TOKEN us", env: map[string]string{EnvLogfireToken: us},
			want: []wantDest{{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireUSEndpoint,
				headers: map[string]string{"Authorization": us}}}},
		{name: "LOGFIRE_TOKEN eu from its prefix", env: map[string]string{EnvLogfireToken: eu},
			want: []wantDest{{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireEUEndpoint}}},
		{name: "LOGFIRE_TOKEN later version eu", env: map[string]string{EnvLogfireToken: "pylf_v12_eu_x"},
			want: []wantDest{{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireEUEndpoint}}},
		{name: "LOGFIRE_TOKEN staging eu", env: map[string]string{EnvLogfireToken: "pylf_v1_stagingeu_x"},
			want: []wantDest{{name: destLogfire, source: EnvLogfireToken, endpoint: "https://logfire-eu.pydantic.info/v1/logs"}}},
		{name: "LOGFIRE_TOKEN of unknown form: US", env: map[string]string{EnvLogfireToken: "abcdef"},
			want: []wantDest{{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireUSEndpoint}}},
		{name: "two tokens: two projects, each its region", env: map[string]string{EnvLogfireToken: " " + us + " , ," + eu},
			want: []wantDest{
				{name: "logfire#1", source: EnvLogfireToken, endpoint: LogfireUSEndpoint, headers: map[string]string{"Authorization": us}},
				{name: "logfire#2", source: EnvLogfireToken, endpoint: LogfireEUEndpoint, headers: map[string]string{"Authorization": eu}},
			}},
		{name: "LOGFIRE_BASE_URL overrides every token's region",
			env: map[string]string{EnvLogfireToken: eu + "," + us, EnvLogfireBaseURL: "http://127.0.0.1:9/"},
			want: []wantDest{
				{name: "logfire#1", source: EnvLogfireToken, endpoint: "http://127.0.0.1:9/v1/logs"},
				{name: "logfire#2", source: EnvLogfireToken, endpoint: "http://127.0.0.1:9/v1/logs"},
			}},
		{name: "Config.LogfireRegion overrides the token's region", env: map[string]string{EnvLogfireToken: eu},
			cfg:  Config{LogfireRegion: "us"},
			want: []wantDest{{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireUSEndpoint}}},
		{name: "Config.LogfireRegion wins over LOGFIRE_BASE_URL",
			env: map[string]string{EnvLogfireToken: us, EnvLogfireBaseURL: "http://127.0.0.1:9"},
			cfg: Config{LogfireRegion: "EU"}, want: []wantDest{{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireEUEndpoint}}},
		{name: "Config.LogfireBaseURL", cfg: Config{LogfireToken: NewSecret(us), LogfireBaseURL: "https://lf.example.com"},
			want: []wantDest{{name: destLogfire, source: "Config.LogfireToken", endpoint: "https://lf.example.com/v1/logs"}}},
		{name: "Config.LogfireToken with two tokens", cfg: Config{LogfireToken: NewSecret(eu + "," + us)},
			want: []wantDest{
				{name: "logfire#1", source: "Config.LogfireToken", endpoint: LogfireEUEndpoint},
				{name: "logfire#2", source: "Config.LogfireToken", endpoint: LogfireUSEndpoint},
			}},
		{name: "Config.LogfireToken wins over LOGFIRE_TOKEN", env: map[string]string{EnvLogfireToken: us},
			cfg:  Config{LogfireToken: NewSecret(eu)},
			want: []wantDest{{name: destLogfire, source: "Config.LogfireToken", endpoint: LogfireEUEndpoint}}},
		{name: "LOGFIRE_TOKEN_FILE, newline trimmed", env: map[string]string{EnvLogfireTokenFile: tokenFile},
			want: []wantDest{{name: destLogfire, source: EnvLogfireTokenFile, endpoint: LogfireEUEndpoint,
				headers: map[string]string{"Authorization": eu}}}},
		{name: "LOGS_ENDPOINT as is", env: map[string]string{EnvLogsEndpoint: "http://collector:4318/custom"},
			want: []wantDest{{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://collector:4318/custom"}}},
		{name: "ENDPOINT plus /v1/logs", env: map[string]string{EnvEndpoint: "http://collector:4318"},
			want: []wantDest{{name: destOTLP, source: EnvEndpoint, endpoint: "http://collector:4318/v1/logs"}}},
		{name: "ENDPOINT with a trailing slash", env: map[string]string{EnvEndpoint: "http://collector:4318/"},
			want: []wantDest{{name: destOTLP, source: EnvEndpoint, endpoint: "http://collector:4318/v1/logs"}}},
		{name: "ENDPOINT with a base path", env: map[string]string{EnvEndpoint: "https://gw.example.com/otlp/"},
			want: []wantDest{{name: destOTLP, source: EnvEndpoint, endpoint: "https://gw.example.com/otlp/v1/logs"}}},
		{name: "LOGS_ENDPOINT wins over ENDPOINT",
			env:  map[string]string{EnvEndpoint: "http://a:4318", EnvLogsEndpoint: "http://b:4318/v1/logs"},
			want: []wantDest{{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://b:4318/v1/logs"}}},
		{name: "Config.Endpoint wins over the variables",
			env:  map[string]string{EnvLogsEndpoint: "http://b:4318/v1/logs"},
			cfg:  Config{Endpoint: "http://127.0.0.1:4318/v1/logs"},
			want: []wantDest{{name: destOTLP, source: "Config.Endpoint", endpoint: "http://127.0.0.1:4318/v1/logs"}}},
		{name: "Logfire and an OTLP endpoint: both, as Logfire's SDK does",
			env: map[string]string{EnvLogfireToken: us, EnvLogsEndpoint: "http://b:4318/v1/logs", EnvEndpoint: "http://a"},
			want: []wantDest{
				{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireUSEndpoint},
				{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://b:4318/v1/logs"},
			}},
		{name: "explicit Config.Endpoint and env LOGFIRE_TOKEN: both",
			env: map[string]string{EnvLogfireToken: us}, cfg: Config{Endpoint: "http://127.0.0.1:4318/v1/logs"},
			want: []wantDest{
				{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireUSEndpoint},
				{name: destOTLP, source: "Config.Endpoint", endpoint: "http://127.0.0.1:4318/v1/logs"},
			}},
		{name: "relay alone, over LOGFIRE_TOKEN and the endpoint",
			env: map[string]string{EnvRelayEndpoint: "https://app.example.com/api/v1/telemetry/logs",
				EnvSessionToken: "jwt.session", EnvLogfireToken: us, EnvLogsEndpoint: "http://b:4318/v1/logs"},
			want: []wantDest{{name: destRelay, source: EnvRelayEndpoint, endpoint: "https://app.example.com/api/v1/telemetry/logs",
				headers: map[string]string{"Authorization": "Bearer jwt.session"}}}},
		{name: "relay env with Config.SessionToken",
			env: map[string]string{EnvRelayEndpoint: "https://app.example.com/r"}, cfg: Config{SessionToken: NewSecret("s.t")},
			want: []wantDest{{name: destRelay, source: EnvRelayEndpoint, endpoint: "https://app.example.com/r",
				headers: map[string]string{"Authorization": "Bearer s.t"}}}},
		{name: "explicit Config.LogfireToken wins over env relay",
			env:  map[string]string{EnvRelayEndpoint: "https://r.example.com", EnvSessionToken: "x"},
			cfg:  Config{LogfireToken: NewSecret(eu)},
			want: []wantDest{{name: destLogfire, source: "Config.LogfireToken", endpoint: LogfireEUEndpoint}}},
		{name: "explicit relay wins over explicit Logfire",
			cfg:  Config{RelayEndpoint: "https://r.example.com/logs", SessionToken: NewSecret("x"), LogfireToken: NewSecret(us)},
			want: []wantDest{{name: destRelay, source: "Config.RelayEndpoint", endpoint: "https://r.example.com/logs"}}},
		{name: "Config.Exporter wins over everything",
			env:  map[string]string{EnvRelayEndpoint: "https://r", EnvSessionToken: "x", EnvLogfireToken: us, EnvLogfireConsole: "true"},
			cfg:  Config{Exporter: custom, RelayEndpoint: "https://r2", SessionToken: NewSecret("y")},
			want: []wantDest{{name: destExporter, source: "Config.Exporter"}}},
		{name: "OTLP headers, percent-decoded",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs",
				EnvHeaders: "api-key=abc%3D%3D, x-team = my%20team ,"},
			want: []wantDest{{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs",
				headers: map[string]string{"Api-Key": "abc==", "X-Team": "my team"}}}},
		{name: "OTLP headers are the OTLP destination's only",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvHeaders: "x-team=t", EnvLogfireToken: us},
			want: []wantDest{
				{name: destLogfire, source: EnvLogfireToken, endpoint: LogfireUSEndpoint, headers: map[string]string{"X-Team": ""}},
				{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs", headers: map[string]string{"X-Team": "t"}},
			}},
		{name: "LOGS_HEADERS replaces HEADERS",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvHeaders: "a=1,b=2",
				EnvLogsHeaders: "b=3"},
			want: []wantDest{{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs",
				headers: map[string]string{"A": "", "B": "3"}}}},
		{name: "Config.Headers win per key",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvHeaders: "a=1,b=2"},
			cfg: Config{Headers: headersOf(map[string]string{"B": "9"})},
			want: []wantDest{{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs",
				headers: map[string]string{"A": "1", "B": "9"}}}},
		{name: "http/protobuf sends protobuf",
			env:  map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvProtocol: "http/protobuf"},
			want: []wantDest{{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs", format: FormatProtobuf}}},
		{name: "LOGS_PROTOCOL http/protobuf wins over http/json",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvProtocol: "http/json",
				EnvLogsProtocol: "HTTP/Protobuf"},
			want: []wantDest{{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs", format: FormatProtobuf}}},
		{name: "LOGS_PROTOCOL http/json wins over a grpc PROTOCOL",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvProtocol: "grpc",
				EnvLogsProtocol: "http/json"},
			want: []wantDest{{name: destOTLP, source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs", format: FormatJSON}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			p := resolved(t, &tc.cfg)
			require.Len(t, p.dests, len(tc.want), "destinations: %v", names(p))
			for i, want := range tc.want {
				got := p.dests[i]
				assert.Equal(t, want.name, got.Name)
				assert.Equal(t, want.source, got.source)
				switch want.name {
				case destConsole:
					assert.IsType(t, &ConsoleExporter{}, got.Exporter)
				case destExporter, destFallback:
					assert.Equal(t, Exporter(custom), got.Exporter)
				default:
					endpoint, h := target(t, got.Exporter)
					assert.Equal(t, want.endpoint, endpoint)
					wantFormat := want.format
					if wantFormat == FormatDefault { // the exporter's own: JSON for the relay, else protobuf
						wantFormat = FormatProtobuf
						if want.name == destRelay {
							wantFormat = FormatJSON
						}
					}
					assert.Equal(t, wantFormat, wireFormatOf(got.Exporter))
					for k, v := range want.headers {
						assert.Equal(t, v, h.Get(k), "header %s", k)
					}
				}
			}
		})
	}
}

func TestNewFromEnvErrors(t *testing.T) {
	const secret = "pylf_v1_us_TOPSECRET"
	empty := writeFile(t, " \n")
	big := writeFile(t, strings.Repeat("x", 64<<10+1))
	for _, tc := range []struct {
		name string
		env  map[string]string
		cfg  Config
		vars []string // every variable the error must name
	}{
		{"schedule delay as a Go duration", map[string]string{EnvScheduleDelay: "5s"}, Config{}, []string{EnvScheduleDelay}},
		{"schedule delay negative", map[string]string{EnvScheduleDelay: "-1"}, Config{}, []string{EnvScheduleDelay}},
		{"schedule delay zero", map[string]string{EnvScheduleDelay: "0"}, Config{}, []string{EnvScheduleDelay}},
		{"export timeout", map[string]string{EnvExportTimeout: "30 s"}, Config{}, []string{EnvExportTimeout}},
		{"queue size", map[string]string{EnvMaxQueueSize: "lots"}, Config{}, []string{EnvMaxQueueSize}},
		{"batch size", map[string]string{EnvMaxBatchSize: "1.5"}, Config{}, []string{EnvMaxBatchSize}},
		{"header without =", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvHeaders: "a=1," + secret},
			Config{}, []string{EnvHeaders}},
		{"header key invalid", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvLogsHeaders: "bad key=" + secret},
			Config{}, []string{EnvLogsHeaders}},
		{"header bad escape", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvHeaders: "k=" + secret + "%zz"},
			Config{}, []string{EnvHeaders}},
		{"header control char", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvHeaders: "k=" + secret + "%0A"},
			Config{}, []string{EnvHeaders}},
		{"logs endpoint not a URL", map[string]string{EnvLogsEndpoint: "collector:4318"}, Config{}, []string{EnvLogsEndpoint}},
		{"bad headers and endpoint", map[string]string{EnvLogsEndpoint: "collector:4318", EnvHeaders: "x", EnvProtocol: "grpc"},
			Config{}, []string{EnvProtocol, EnvHeaders, EnvLogsEndpoint}},
		{"logs endpoint ftp", map[string]string{EnvLogsEndpoint: "ftp://c/v1/logs"}, Config{}, []string{EnvLogsEndpoint}},
		{"endpoint unparsable", map[string]string{EnvEndpoint: "http://[::1"}, Config{}, []string{EnvEndpoint}},
		{"Config.Endpoint", nil, Config{Endpoint: "nope"}, []string{"Config.Endpoint"}},
		{"protocol grpc", map[string]string{EnvLogsEndpoint: "http://c:4317", EnvProtocol: "grpc"}, Config{}, []string{EnvProtocol}},
		{"resource attributes", map[string]string{EnvResourceAttrs: "a=1,novalue"}, Config{}, []string{EnvResourceAttrs}},
		{"token file missing", map[string]string{EnvLogfireTokenFile: "/nonexistent/slogotlp/token"}, Config{},
			[]string{EnvLogfireTokenFile}},
		{"token file empty", map[string]string{EnvLogfireTokenFile: empty}, Config{}, []string{EnvLogfireTokenFile}},
		{"token file too large", map[string]string{EnvLogfireTokenFile: big}, Config{}, []string{EnvLogfireTokenFile}},
		{"token and token file", map[string]string{EnvLogfireToken: secret, EnvLogfireTokenFile: empty}, Config{},
			[]string{EnvLogfireTokenFile}},
		{"token with a control char", map[string]string{EnvLogfireToken: "pylf\x01" + secret}, Config{}, []string{EnvLogfireToken}},
		{"base URL", map[string]string{EnvLogfireToken: secret, EnvLogfireBaseURL: "ftp://lf"}, Config{}, []string{EnvLogfireBaseURL}},
		{"Config.LogfireBaseURL", nil, Config{LogfireToken: NewSecret(secret), LogfireBaseURL: "lf.example.com"}, []string{"Config.LogfireBaseURL"}},
		{"region", nil, Config{LogfireToken: NewSecret(secret), LogfireRegion: "mars"}, []string{"Config.LogfireRegion"}},
		{"relay without session token", map[string]string{EnvRelayEndpoint: "https://r/logs"}, Config{}, []string{EnvSessionToken}},
		{"relay endpoint bad", map[string]string{EnvRelayEndpoint: "r/logs", EnvSessionToken: secret}, Config{}, []string{EnvRelayEndpoint}},
		{"OTLP timeout as a Go duration", map[string]string{EnvTimeout: "10s"}, Config{}, []string{EnvTimeout}},
		{"OTLP logs timeout negative", map[string]string{EnvLogsTimeout: "-1"}, Config{}, []string{EnvLogsTimeout}},
		{"compression unknown", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvCompression: "zstdx"},
			Config{}, []string{EnvCompression}},
		{"logs compression unknown wins", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvCompression: "gzip",
			EnvLogsCompression: "br"}, Config{}, []string{EnvLogsCompression}},
		{"OTEL_LOGS_EXPORTER unknown", map[string]string{EnvLogsExporter: "otlp,zipkin"}, Config{}, []string{EnvLogsExporter}},
		{"OTEL_LOGS_EXPORTER logging", map[string]string{EnvLogsExporter: "logging"}, Config{}, []string{EnvLogsExporter}},
		{"OTEL_LOGS_EXPORTER none with more", map[string]string{EnvLogsExporter: "none,console"}, Config{}, []string{EnvLogsExporter}},
		{"send to Logfire bad", map[string]string{EnvLogfireSend: "yes", EnvLogfireToken: secret}, Config{}, []string{EnvLogfireSend}},
		{"send to Logfire without a token", map[string]string{EnvLogfireSend: "true"}, Config{}, []string{EnvLogfireSend}},
		{"repeated token", map[string]string{EnvLogfireToken: secret + "," + secret}, Config{}, []string{EnvLogfireToken}},
		{"min level unknown", map[string]string{EnvLogfireMinLevel: "verbose"}, Config{}, []string{EnvLogfireMinLevel}},
		{"console not a boolean", map[string]string{EnvLogfireConsole: "sometimes"}, Config{}, []string{EnvLogfireConsole}},
		{"console colors", map[string]string{EnvLogfireConsoleColors: "rainbow"}, Config{}, []string{EnvLogfireConsoleColors}},
		{"console timestamp", map[string]string{EnvLogfireConsoleTime: "no"}, Config{}, []string{EnvLogfireConsoleTime}},
		{"console tags", map[string]string{EnvLogfireConsoleTags: "2"}, Config{}, []string{EnvLogfireConsoleTags}},
		{"console verbose", map[string]string{EnvLogfireConsoleVerbose: "y"}, Config{}, []string{EnvLogfireConsoleVerbose}},
		{"console level", map[string]string{EnvLogfireConsoleLevel: "loud"}, Config{}, []string{EnvLogfireConsoleLevel}},
		{"Logfire resource attributes", map[string]string{EnvLogfireResourceAttrs: "a=1,b"}, Config{}, []string{EnvLogfireResourceAttrs}},
		{"certificate missing", map[string]string{EnvLogsEndpoint: "https://c/v1/logs", EnvCertificate: "/nonexistent/ca.pem"},
			Config{}, []string{EnvCertificate}},
		{"client certificate without key", map[string]string{EnvLogsEndpoint: "https://c/v1/logs",
			EnvLogsClientCertificate: "/nonexistent/c.pem"}, Config{}, []string{EnvLogsClientCertificate}},
		{"client key without certificate", map[string]string{EnvLogsEndpoint: "https://c/v1/logs",
			EnvClientKey: "/nonexistent/k.pem"}, Config{}, []string{EnvClientKey}},
		{"TLS and a client", nil, Config{TLSConfig: &tls.Config{}, HTTPClient: &http.Client{}}, []string{"Config.TLSConfig"}},
		{"several at once",
			map[string]string{EnvScheduleDelay: "1m", EnvMaxQueueSize: "-5", EnvLogsEndpoint: "x"},
			Config{}, []string{EnvScheduleDelay, EnvMaxQueueSize, EnvLogsEndpoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			h, err := NewFromEnv(&tc.cfg)
			require.Error(t, err)
			assert.Nil(t, h)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.vars[0], ce.Var)
			msg := err.Error()
			for _, v := range tc.vars {
				assert.Contains(t, msg, "slogotlp: "+v+": ")
			}
			assert.Equal(t, len(tc.vars), strings.Count(msg, "slogotlp: "), "one error per variable: %s", msg)
			assert.NotContains(t, msg, "TOPSECRET")
			assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), "TOPSECRET")
		})
	}
}

func TestNewFromEnvBatchOptions(t *testing.T) {
	setEnv(t, map[string]string{EnvScheduleDelay: "250", EnvExportTimeout: "1500", EnvMaxQueueSize: "4096",
		EnvMaxBatchSize: " 64 "})
	p := resolved(t, nil)
	assert.Equal(t, 250*time.Millisecond, p.opts.FlushInterval)
	assert.Equal(t, 1500*time.Millisecond, p.opts.ExportTimeout)
	assert.Equal(t, 4096, p.opts.MaxQueueSize)
	assert.Equal(t, 64, p.opts.BatchSize)

	// Explicit options win, and a variable they override is not read.
	setEnv(t, map[string]string{EnvScheduleDelay: "oops", EnvMaxBatchSize: "64"})
	p = resolved(t, &Config{HandlerOptions: HandlerOptions{FlushInterval: time.Second, BatchSize: 8}})
	assert.Equal(t, time.Second, p.opts.FlushInterval)
	assert.Equal(t, 8, p.opts.BatchSize)
	assert.Zero(t, p.opts.MaxQueueSize, "unset: the HandlerOptions default applies")
}

// exportedResource builds a handler on a JSON buffer, logs one record and
// returns the resource attributes of the payload.
func exportedResource(t *testing.T, cfg Config) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	cfg.Fallback = NewWriterExporter(&buf, false)
	h, err := NewFromEnv(&cfg)
	require.NoError(t, err)
	slog.New(h).Info("hello")
	require.NoError(t, h.Shutdown(context.Background()))
	var req struct {
		ResourceLogs []struct {
			Resource struct {
				Attributes any `json:"attributes"`
			} `json:"resource"`
		} `json:"resourceLogs"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &req), buf.String())
	require.Len(t, req.ResourceLogs, 1)
	return attrMap(req.ResourceLogs[0].Resource.Attributes)
}

func TestNewFromEnvResource(t *testing.T) {
	const sn, env = "service.name", "deployment.environment.name"
	exe := serviceNameFromExecutable()
	for _, tc := range []struct {
		name string
		env  map[string]string
		cfg  Config
		want map[string]any
	}{
		{"executable name", nil, Config{}, map[string]any{sn: exe}},
		{"OTEL_RESOURCE_ATTRIBUTES", map[string]string{EnvResourceAttrs: "service.name=from-attrs,team=a%2Cb,deployment.environment.name=staging"},
			Config{}, map[string]any{sn: "from-attrs", "team": "a,b", env: "staging"}},
		{"last duplicate wins in the list", map[string]string{EnvResourceAttrs: "k=1,k=2"}, Config{}, map[string]any{"k": "2"}},
		{"OTEL_SERVICE_NAME over the list", map[string]string{EnvResourceAttrs: "service.name=from-attrs", EnvServiceName: "svc"},
			Config{}, map[string]any{sn: "svc"}},
		{"LOGFIRE_ENVIRONMENT over the list", map[string]string{EnvResourceAttrs: "deployment.environment.name=a", EnvLogfireEnv: "prod"},
			Config{}, map[string]any{env: "prod"}},
		{"Handler.Resource over the environment", map[string]string{EnvServiceName: "svc", EnvResourceAttrs: "team=x"},
			Config{HandlerOptions: HandlerOptions{Resource: []slog.Attr{slog.String(sn, "opt"), slog.String("team", "y")}}},
			map[string]any{sn: "opt", "team": "y"}},
		{"Config fields over everything", map[string]string{EnvServiceName: "svc", EnvLogfireEnv: "prod", EnvResourceAttrs: "service.version=1"},
			Config{ServiceName: "explicit", ServiceVersion: "2.0", Environment: "dev",
				HandlerOptions: HandlerOptions{Resource: []slog.Attr{slog.String(sn, "opt")}}},
			map[string]any{sn: "explicit", "service.version": "2.0", env: "dev"}},
		{"LOGFIRE_SERVICE_NAME over OTEL_SERVICE_NAME", map[string]string{EnvServiceName: "otel", EnvLogfireServiceName: "lf"},
			Config{}, map[string]any{sn: "lf"}},
		{"OTEL_SERVICE_VERSION, Logfire's alias", map[string]string{EnvResourceAttrs: "service.version=0", EnvServiceVersion: "1.2"},
			Config{}, map[string]any{"service.version": "1.2"}},
		{"LOGFIRE_SERVICE_VERSION over OTEL_SERVICE_VERSION", map[string]string{EnvServiceVersion: "1.2", EnvLogfireServiceVersion: "1.3"},
			Config{}, map[string]any{"service.version": "1.3"}},
		{"LOGFIRE_RESOURCE_ATTRIBUTES over OTEL_RESOURCE_ATTRIBUTES, not decoded",
			map[string]string{EnvResourceAttrs: "team=a,region=eu%2Dwest", EnvLogfireResourceAttrs: " team = b , tier=a%20b,team=c"},
			Config{}, map[string]any{"team": "c", "region": "eu-west", "tier": "a%20b"}},
		{"the service variables over LOGFIRE_RESOURCE_ATTRIBUTES",
			map[string]string{EnvLogfireResourceAttrs: "service.name=x,deployment.environment.name=y", EnvServiceName: "svc", EnvLogfireEnv: "prod"},
			Config{}, map[string]any{sn: "svc", env: "prod"}},
		{"user attributes override detected ones", map[string]string{EnvResourceAttrs: "host.name=pinned,process.runtime.name=custom"},
			Config{}, map[string]any{"host.name": "pinned", "process.runtime.name": "custom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			got := exportedResource(t, tc.cfg)
			for k, v := range tc.want {
				assert.Equal(t, v, got[k], k)
			}
			assert.Equal(t, "slogotlp", got["telemetry.sdk.name"], "detection still runs")
		})
	}
}

// TestNewFromEnvDefaultConsole: with nothing configured, records are
// printed as readable lines on Console, never as OTLP payloads.
func TestNewFromEnvDefaultConsole(t *testing.T) {
	setEnv(t, nil)
	var console bytes.Buffer
	h, err := NewFromEnv(&Config{Console: &console})
	require.NoError(t, err)
	slog.New(h).Warn("no account needed", "user", 42)
	require.NoError(t, h.Shutdown(context.Background()))
	assert.Regexp(t, `^\d\d:\d\d:\d\d\.\d{3} WARN  no account needed user=42\n$`, console.String())
	assert.NotContains(t, console.String(), "resourceLogs")
}

func TestNewFromEnvDisabled(t *testing.T) {
	for _, v := range []string{"true", "TRUE", " True "} {
		t.Run(v, func(t *testing.T) {
			setEnv(t, map[string]string{EnvSDKDisabled: v})
			var buf bytes.Buffer
			h, err := NewFromEnv(&Config{Fallback: NewWriterExporter(&buf, false)})
			require.NoError(t, err)
			logger := slog.New(h)
			assert.False(t, h.Enabled(context.Background(), slog.LevelError))
			logger.Error("not sent")
			flush(t, h)
			assert.Zero(t, h.Stats().Handled, "Enabled is false, so the logger never calls Handle")

			h.SetEnabled(true) // a run-time toggle may still switch it on
			logger.Error("sent")
			require.NoError(t, h.Shutdown(context.Background()))
			assert.NotContains(t, buf.String(), "not sent")
			assert.Contains(t, buf.String(), `"sent"`)
		})
	}
	// Only "true" switches it off; anything else leaves it on, as the
	// specification says, with a warning for what is not "false".
	for v, warned := range map[string]bool{"false": false, "FALSE": false, "1": true, "yes": true} {
		t.Run(v, func(t *testing.T) {
			setEnv(t, map[string]string{EnvSDKDisabled: v})
			var console bytes.Buffer
			h, err := NewFromEnv(&Config{Fallback: nopExporter{}, Console: &console})
			require.NoError(t, err)
			assert.True(t, h.Enabled(context.Background(), slog.LevelInfo))
			require.NoError(t, h.Shutdown(context.Background()))
			if warned {
				assert.Equal(t, "slogotlp: OTEL_SDK_DISABLED: \""+v+"\" is not \"true\", so it counts as false: the handler "+
					"stays enabled (the OpenTelemetry specification takes only true and false, in any case)\n", console.String())
			} else {
				assert.Empty(t, console.String())
			}
		})
	}
}

// TestTokenNeverShown checks the write token, from the environment or a
// file, and the other credentials, in every form a program might print.
func TestTokenNeverShown(t *testing.T) {
	const token, session, header = "pylf_v1_eu_TOKENSECRET", "SESSIONSECRET", "HEADERSECRET"
	secrets := []string{"TOKENSECRET", "SESSIONSECRET", "HEADERSECRET"}
	check := func(t *testing.T, what, s string) {
		t.Helper()
		for _, sec := range secrets {
			assert.NotContains(t, s, sec, what)
		}
	}

	// Endpoints print as given (the docs say keys go in Headers); the
	// exporter built from one never prints its query (TestSecretsNeverPrinted).
	cfg := Config{LogfireToken: NewSecret(token), SessionToken: NewSecret(session), Headers: headersOf(map[string]string{"X-Key": header}),
		Exporter: &WriterExporter{}, Endpoint: "https://c.example.com/v1/logs"}
	check(t, "Sprint", fmt.Sprint(cfg))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%q"} {
		check(t, verb, fmt.Sprintf(verb, cfg))
		check(t, verb+" pointer", fmt.Sprintf(verb, &cfg))
		check(t, verb+" nested", fmt.Sprintf(verb, struct{ C Config }{cfg}))
		check(t, verb+" nested pointer", fmt.Sprintf(verb, struct{ C *Config }{&cfg}))
	}
	js, err := json.Marshal(cfg)
	require.NoError(t, err)
	check(t, "json", string(js))
	assert.Contains(t, string(js), "[REDACTED]")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg)
	check(t, "slog", logged.String())
	assert.Contains(t, logged.String(), "[REDACTED]")

	// A TLS configuration holding a client key prints as an address and is
	// left out of JSON.
	ca := newTestCA(t)
	certPEM, keyPEM := ca.issue(t, "c", false)
	tlsConf, err := LoadTLSConfig("", ca.file(t, "c.pem", certPEM), ca.file(t, "c.key", keyPEM))
	require.NoError(t, err)
	withTLS := Config{TLSConfig: tlsConf, HTTPClient: &http.Client{}, LogfireToken: NewSecret(token)}
	js, err = json.Marshal(withTLS)
	require.NoError(t, err)
	printed := fmt.Sprintf("%v %+v %#v %s", withTLS, &withTLS, struct{ C *Config }{&withTLS}, js)
	check(t, "TLS", printed)
	assert.NotContains(t, printed, "PrivateKey")
	assert.NotContains(t, string(js), "TLSConfig")

	// Destination names never hold a token, with several tokens too.
	setEnv(t, map[string]string{EnvLogfireToken: token + ",pylf_v1_us_OTHERSECRET", EnvLogfireSend: "true"})
	h, err := NewFromEnv(&Config{HandlerOptions: HandlerOptions{Level: slog.LevelError + 100}})
	require.NoError(t, err)
	ds := h.DestinationStats()
	require.NoError(t, h.Shutdown(context.Background()))
	shown := fmt.Sprintf("%v %+v %#v", ds, ds, h.Stats())
	check(t, "destination stats", shown)
	assert.NotContains(t, shown, "OTHERSECRET")
	assert.Contains(t, shown, "logfire#2")

	// A receiver that refuses the token and echoes it back: the fatal error
	// reaching OnError must not carry it.
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "bad token "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Key"))
	})
	for _, src := range []string{EnvLogfireToken, EnvLogfireTokenFile} {
		t.Run(src, func(t *testing.T) {
			env := map[string]string{EnvLogfireBaseURL: rc.URL, EnvScheduleDelay: "oops"}
			if src == EnvLogfireToken {
				env[src] = token
			} else {
				env[src] = writeFile(t, token)
			}
			setEnv(t, env)
			_, err := NewFromEnv(&Config{Headers: headersOf(map[string]string{"X-Key": header})})
			require.Error(t, err)
			check(t, "config error", fmt.Sprintf("%v %+v %#v", err, err, err))

			env[EnvScheduleDelay] = ""
			setEnv(t, env)
			var mu sync.Mutex
			var errs []string
			h, err := NewFromEnv(&Config{Headers: headersOf(map[string]string{"X-Key": header}),
				HandlerOptions: HandlerOptions{OnError: func(err error) {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("%v|%+v|%#v", err, err, err))
					mu.Unlock()
				}}})
			require.NoError(t, err)
			slog.New(h).Error("boom")
			flush(t, h)
			err = h.Shutdown(context.Background())
			var de *DeliveryError
			require.ErrorAs(t, err, &de, "the dropped record is named at Shutdown")
			check(t, "Shutdown", fmt.Sprintf("%v %+v", err, err))
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, errs, "the 401 must reach OnError")
			for _, e := range errs {
				check(t, "OnError", e)
			}
			st := h.Stats()
			assert.True(t, st.Fatal)
			check(t, "stats", fmt.Sprintf("%v %+v %#v", st, st, st))
			check(t, "handler", fmt.Sprintf("%v %+v %#v", h, h, h))
		})
	}
}

func TestParseKeyValues(t *testing.T) {
	got, err := parseKeyValues(" a = 1 ,,b=x%2Fy%20z, c=", false, true)
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"a", "1"}, {"b", "x/y z"}, {"c", ""}}, got)
	got, err = parseKeyValues("b=x%2Fy, k%zz=v", false, false) // Logfire's lists are not decoded
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"b", "x%2Fy"}, {"k%zz", "v"}}, got)
	_, err = parseKeyValues("=v", false, true)
	assert.Error(t, err)
	_, err = parseKeyValues("k%zz=v", false, true)
	assert.Error(t, err)
}

// uncomparable is an exporter whose values cannot be compared with ==.
type uncomparable struct {
	nopExporter
	calls []int
}

// TestNewFromEnvErrorKeepsCallersExporters: on an error, the exporters
// NewFromEnv built are shut down, the caller's are left alone (and an
// exporter of an uncomparable type does not make it panic).
func TestNewFromEnvErrorKeepsCallersExporters(t *testing.T) {
	setEnv(t, map[string]string{EnvScheduleDelay: "soon"})
	for _, cfg := range []Config{{Fallback: uncomparable{calls: []int{1}}}, {Exporter: uncomparable{}}, {Fallback: &captureExporter{}}} {
		_, err := NewFromEnv(&cfg)
		require.Error(t, err)
		if c, ok := cfg.Fallback.(*captureExporter); ok {
			assert.Zero(t, c.shutdown)
		}
	}
}

func TestConfigErrorUnwrap(t *testing.T) {
	setEnv(t, map[string]string{EnvLogfireTokenFile: "/nonexistent/slogotlp/token"})
	_, err := NewFromEnv(nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, EnvLogfireTokenFile, ce.Var)
}
