package slogotlp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	EnvLogfireToken, EnvLogfireTokenFile, EnvLogfireBaseURL, EnvLogfireEnv, EnvRelayEndpoint, EnvSessionToken,
	EnvLogsEndpoint, EnvEndpoint, EnvLogsHeaders, EnvHeaders, EnvLogsProtocol, EnvProtocol, EnvServiceName,
	EnvResourceAttrs, EnvScheduleDelay, EnvMaxQueueSize, EnvMaxBatchSize, EnvExportTimeout, EnvSDKDisabled,
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

// resolved runs resolveConfig and shuts the exporter down after the test.
func resolved(t *testing.T, cfg *Config) *plan {
	t.Helper()
	p, err := resolveConfig(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.exp.Shutdown(context.Background()) })
	return p
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

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

type nopExporter struct{}

func (nopExporter) Export(context.Context, []byte, int) Result { return Result{} }
func (nopExporter) Shutdown(context.Context) error             { return nil }

func TestNewFromEnvDestination(t *testing.T) {
	const us, eu = "pylf_v1_us_secretUS", "pylf_v1_eu_secretEU"
	tokenFile := writeFile(t, eu+"\n")
	custom := nopExporter{}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		cfg      Config
		dest     string
		source   string
		endpoint string
		headers  map[string]string // expected header values (subset)
		format   WireFormat        // the payload encoding the exporter asks for
	}{
		{name: "nothing: stdout", dest: "stdout", source: "default"},
		{name: "LOGFIRE_TOKEN us", env: map[string]string{EnvLogfireToken: us},
			dest: "logfire", source: EnvLogfireToken, endpoint: LogfireUSEndpoint,
			headers: map[string]string{"Authorization": us}},
		{name: "LOGFIRE_TOKEN eu from its prefix", env: map[string]string{EnvLogfireToken: eu},
			dest: "logfire", source: EnvLogfireToken, endpoint: LogfireEUEndpoint},
		{name: "LOGFIRE_TOKEN later version eu", env: map[string]string{EnvLogfireToken: "pylf_v12_eu_x"},
			dest: "logfire", source: EnvLogfireToken, endpoint: LogfireEUEndpoint},
		{name: "LOGFIRE_TOKEN of unknown form: US", env: map[string]string{EnvLogfireToken: "abcdef"},
			dest: "logfire", source: EnvLogfireToken, endpoint: LogfireUSEndpoint},
		{name: "LOGFIRE_BASE_URL overrides the token's region",
			env:  map[string]string{EnvLogfireToken: eu, EnvLogfireBaseURL: "http://127.0.0.1:9/"},
			dest: "logfire", source: EnvLogfireToken, endpoint: "http://127.0.0.1:9/v1/logs"},
		{name: "Config.LogfireRegion overrides the token's region", env: map[string]string{EnvLogfireToken: eu},
			cfg: Config{LogfireRegion: "us"}, dest: "logfire", source: EnvLogfireToken, endpoint: LogfireUSEndpoint},
		{name: "Config.LogfireRegion wins over LOGFIRE_BASE_URL",
			env: map[string]string{EnvLogfireToken: us, EnvLogfireBaseURL: "http://127.0.0.1:9"},
			cfg: Config{LogfireRegion: "EU"}, dest: "logfire", source: EnvLogfireToken, endpoint: LogfireEUEndpoint},
		{name: "Config.LogfireBaseURL", cfg: Config{LogfireToken: NewSecret(us), LogfireBaseURL: "https://lf.example.com"},
			dest: "logfire", source: "Config.LogfireToken", endpoint: "https://lf.example.com/v1/logs"},
		{name: "LOGFIRE_TOKEN_FILE, newline trimmed", env: map[string]string{EnvLogfireTokenFile: tokenFile},
			dest: "logfire", source: EnvLogfireTokenFile, endpoint: LogfireEUEndpoint,
			headers: map[string]string{"Authorization": eu}},
		{name: "LOGS_ENDPOINT as is", env: map[string]string{EnvLogsEndpoint: "http://collector:4318/custom"},
			dest: "otlp", source: EnvLogsEndpoint, endpoint: "http://collector:4318/custom"},
		{name: "ENDPOINT plus /v1/logs", env: map[string]string{EnvEndpoint: "http://collector:4318"},
			dest: "otlp", source: EnvEndpoint, endpoint: "http://collector:4318/v1/logs"},
		{name: "ENDPOINT with a trailing slash", env: map[string]string{EnvEndpoint: "http://collector:4318/"},
			dest: "otlp", source: EnvEndpoint, endpoint: "http://collector:4318/v1/logs"},
		{name: "ENDPOINT with a base path", env: map[string]string{EnvEndpoint: "https://gw.example.com/otlp/"},
			dest: "otlp", source: EnvEndpoint, endpoint: "https://gw.example.com/otlp/v1/logs"},
		{name: "LOGS_ENDPOINT wins over ENDPOINT",
			env:  map[string]string{EnvEndpoint: "http://a:4318", EnvLogsEndpoint: "http://b:4318/v1/logs"},
			dest: "otlp", source: EnvLogsEndpoint, endpoint: "http://b:4318/v1/logs"},
		{name: "LOGFIRE_TOKEN wins over the OTLP endpoints",
			env:  map[string]string{EnvLogfireToken: us, EnvLogsEndpoint: "http://b:4318/v1/logs", EnvEndpoint: "http://a"},
			dest: "logfire", source: EnvLogfireToken, endpoint: LogfireUSEndpoint},
		{name: "relay wins over LOGFIRE_TOKEN",
			env: map[string]string{EnvRelayEndpoint: "https://app.example.com/api/v1/telemetry/logs",
				EnvSessionToken: "jwt.session", EnvLogfireToken: us, EnvLogsEndpoint: "http://b:4318/v1/logs"},
			dest: "relay", source: EnvRelayEndpoint, endpoint: "https://app.example.com/api/v1/telemetry/logs",
			headers: map[string]string{"Authorization": "Bearer jwt.session"}},
		{name: "relay env with Config.SessionToken",
			env: map[string]string{EnvRelayEndpoint: "https://app.example.com/r"}, cfg: Config{SessionToken: NewSecret("s.t")},
			dest: "relay", source: EnvRelayEndpoint, endpoint: "https://app.example.com/r",
			headers: map[string]string{"Authorization": "Bearer s.t"}},
		{name: "explicit Config.Endpoint wins over env LOGFIRE_TOKEN",
			env: map[string]string{EnvLogfireToken: us}, cfg: Config{Endpoint: "http://127.0.0.1:4318/v1/logs"},
			dest: "otlp", source: "Config.Endpoint", endpoint: "http://127.0.0.1:4318/v1/logs"},
		{name: "explicit Config.LogfireToken wins over env relay",
			env:  map[string]string{EnvRelayEndpoint: "https://r.example.com", EnvSessionToken: "x"},
			cfg:  Config{LogfireToken: NewSecret(eu), Endpoint: "http://127.0.0.1:1"},
			dest: "logfire", source: "Config.LogfireToken", endpoint: LogfireEUEndpoint},
		{name: "explicit relay wins over explicit Logfire",
			cfg:  Config{RelayEndpoint: "https://r.example.com/logs", SessionToken: NewSecret("x"), LogfireToken: NewSecret(us)},
			dest: "relay", source: "Config.RelayEndpoint", endpoint: "https://r.example.com/logs"},
		{name: "Config.Exporter wins over everything",
			env: map[string]string{EnvRelayEndpoint: "https://r", EnvSessionToken: "x", EnvLogfireToken: us},
			cfg: Config{Exporter: custom, RelayEndpoint: "https://r2", SessionToken: NewSecret("y")}, dest: "exporter",
			source: "Config.Exporter"},
		{name: "OTLP headers, percent-decoded",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs",
				EnvHeaders: "api-key=abc%3D%3D, x-team = my%20team ,"},
			dest: "otlp", source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs",
			headers: map[string]string{"Api-Key": "abc==", "X-Team": "my team"}},
		{name: "LOGS_HEADERS replaces HEADERS",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvHeaders: "a=1,b=2",
				EnvLogsHeaders: "b=3"},
			dest: "otlp", source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs",
			headers: map[string]string{"A": "", "B": "3"}},
		{name: "Config.Headers win per key",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvHeaders: "a=1,b=2"},
			cfg: Config{Headers: headersOf(map[string]string{"B": "9"})}, dest: "otlp", source: EnvLogsEndpoint,
			endpoint: "http://c:4318/v1/logs", headers: map[string]string{"A": "1", "B": "9"}},
		{name: "http/protobuf sends protobuf",
			env:  map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvProtocol: "http/protobuf"},
			dest: "otlp", source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs", format: FormatProtobuf},
		{name: "LOGS_PROTOCOL http/protobuf wins over http/json",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvProtocol: "http/json",
				EnvLogsProtocol: "http/protobuf"},
			dest: "otlp", source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs", format: FormatProtobuf},
		{name: "LOGS_PROTOCOL http/json wins over a grpc PROTOCOL",
			env: map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvProtocol: "grpc",
				EnvLogsProtocol: "http/json"},
			dest: "otlp", source: EnvLogsEndpoint, endpoint: "http://c:4318/v1/logs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			p := resolved(t, &tc.cfg)
			assert.Equal(t, tc.dest, p.dest)
			assert.Equal(t, tc.source, p.source)
			switch tc.dest {
			case "stdout":
				assert.IsType(t, &WriterExporter{}, p.exp)
			case "exporter":
				assert.Equal(t, Exporter(custom), p.exp)
			default:
				endpoint, h := target(t, p.exp)
				assert.Equal(t, tc.endpoint, endpoint)
				assert.Equal(t, tc.format, wireFormatOf(p.exp))
				for k, v := range tc.headers {
					assert.Equal(t, v, h.Get(k), "header %s", k)
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
		{"SDK disabled", map[string]string{EnvSDKDisabled: "yes"}, Config{}, []string{EnvSDKDisabled}},
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

// exportedResource builds a handler on a stdout buffer, logs one record and
// returns the resource attributes of the payload.
func exportedResource(t *testing.T, cfg Config) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	cfg.Stdout = &buf
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

func TestNewFromEnvStdoutDefault(t *testing.T) {
	setEnv(t, nil)
	var buf bytes.Buffer
	h, err := NewFromEnv(&Config{Stdout: &buf, Indent: true})
	require.NoError(t, err)
	slog.New(h).Warn("no account needed")
	require.NoError(t, h.Shutdown(context.Background()))
	assert.Contains(t, buf.String(), "\n  \"resourceLogs\": [")
	assert.Contains(t, buf.String(), `"stringValue": "no account needed"`)
}

func TestNewFromEnvDisabled(t *testing.T) {
	for _, v := range []string{"true", "TRUE", " True "} {
		t.Run(v, func(t *testing.T) {
			setEnv(t, map[string]string{EnvSDKDisabled: v})
			var buf bytes.Buffer
			h, err := NewFromEnv(&Config{Stdout: &buf})
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
	setEnv(t, map[string]string{EnvSDKDisabled: "false"})
	h, err := NewFromEnv(&Config{Stdout: io.Discard})
	require.NoError(t, err)
	assert.True(t, h.Enabled(context.Background(), slog.LevelInfo))
	require.NoError(t, h.Shutdown(context.Background()))
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

	// A receiver that refuses the token and echoes it back: the fatal error
	// reaching OnError must not carry it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "bad token "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Key"))
	}))
	defer srv.Close()
	for _, src := range []string{EnvLogfireToken, EnvLogfireTokenFile} {
		t.Run(src, func(t *testing.T) {
			env := map[string]string{EnvLogfireBaseURL: srv.URL, EnvScheduleDelay: "oops"}
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
			require.NoError(t, h.Shutdown(context.Background()))
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
	got, err := parseKeyValues(" a = 1 ,,b=x%2Fy%20z, c=", false)
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"a", "1"}, {"b", "x/y z"}, {"c", ""}}, got)
	_, err = parseKeyValues("=v", false)
	assert.Error(t, err)
	_, err = parseKeyValues("k%zz=v", false)
	assert.Error(t, err)
}

func TestConfigErrorUnwrap(t *testing.T) {
	setEnv(t, map[string]string{EnvLogfireTokenFile: "/nonexistent/slogotlp/token"})
	_, err := NewFromEnv(nil)
	assert.ErrorIs(t, err, os.ErrNotExist)
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, EnvLogfireTokenFile, ce.Var)
}
