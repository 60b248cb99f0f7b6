package slogotlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the OpenTelemetry exporter variables: timeout, compression,
// certificates, insecure, OTEL_LOGS_EXPORTER.

func TestNewFromEnvTimeout(t *testing.T) {
	const lf = "pylf_v1_us_x"
	for _, tc := range []struct {
		name string
		env  map[string]string
		cfg  Config
		want time.Duration // the handler's ExportTimeout; 0: its default
		http time.Duration // every HTTP destination's request timeout
	}{
		{"unset: the defaults", nil, Config{}, 0, 0}, // no timeout of the transport's own to cut ExportTimeout
		{"LOGS_TIMEOUT wins", map[string]string{EnvLogsTimeout: "2000", EnvTimeout: "3000", EnvExportTimeout: "4000"},
			Config{}, 2 * time.Second, 2 * time.Second},
		{"TIMEOUT over BLRP", map[string]string{EnvTimeout: "3000", EnvExportTimeout: "4000"}, Config{}, 3 * time.Second, 3 * time.Second},
		{"BLRP alone", map[string]string{EnvExportTimeout: "45000"}, Config{}, 45 * time.Second, 45 * time.Second},
		{"0 is no limit", map[string]string{EnvTimeout: "0"}, Config{}, noTimeout, noTimeout},
		{"Config wins, variables not read", map[string]string{EnvLogsTimeout: "oops", EnvTimeout: "1"},
			Config{HandlerOptions: HandlerOptions{ExportTimeout: 5 * time.Second}}, 5 * time.Second, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{EnvLogfireToken: lf, EnvLogsEndpoint: "http://c:4318/v1/logs"}
			for k, v := range tc.env {
				env[k] = v
			}
			setEnv(t, env)
			p := resolved(t, &tc.cfg)
			assert.Equal(t, tc.want, p.opts.ExportTimeout)
			require.Len(t, p.dests, 2)
			for _, d := range p.dests {
				assert.Equal(t, tc.http, httpCoreOf(t, d.Exporter).timeout, d.Name)
			}
		})
	}
}

func TestNewFromEnvCompression(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		gzip bool
	}{
		{nil, true},
		{map[string]string{EnvCompression: "gzip"}, true},
		{map[string]string{EnvCompression: "none"}, false},
		{map[string]string{EnvCompression: "NONE"}, false},
		{map[string]string{EnvCompression: "gzip", EnvLogsCompression: "none"}, false},
		{map[string]string{EnvCompression: "none", EnvLogsCompression: "gzip"}, true},
		{map[string]string{EnvCompression: "bogus", EnvLogsCompression: "gzip"}, true}, // the general one is not read
	} {
		t.Run(fmt.Sprint(tc.env), func(t *testing.T) {
			env := map[string]string{EnvLogsEndpoint: "http://c:4318/v1/logs", EnvLogfireToken: "pylf_v1_us_x"}
			for k, v := range tc.env {
				env[k] = v
			}
			setEnv(t, env)
			p := resolved(t, nil)
			require.Len(t, p.dests, 2)
			assert.True(t, httpCoreOf(t, p.dests[0].Exporter).gzip, "Logfire always gzips, as its SDK does")
			assert.Equal(t, tc.gzip, httpCoreOf(t, p.dests[1].Exporter).gzip)
		})
	}
}

func TestNewFromEnvLogsExporter(t *testing.T) {
	const ep, tok = "http://c:4318/v1/logs", "pylf_v1_eu_x"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"unset", map[string]string{EnvLogsEndpoint: ep}, []string{destOTLP}},
		{"none", map[string]string{EnvLogsExporter: "none", EnvLogsEndpoint: ep}, nil},
		{"none alone: nothing at all", map[string]string{EnvLogsExporter: "none"}, nil},
		{"none leaves Logfire to its own variable", map[string]string{EnvLogsExporter: "none", EnvLogsEndpoint: ep,
			EnvLogfireToken: tok}, []string{destLogfire}},
		{"console instead of otlp", map[string]string{EnvLogsExporter: "console", EnvLogsEndpoint: ep}, []string{destConsole}},
		{"a list, any case", map[string]string{EnvLogsExporter: " OTLP , Console ", EnvLogsEndpoint: ep},
			[]string{destOTLP, destConsole}},
		{"otlp and no endpoint: the spec's default", map[string]string{EnvLogsExporter: "otlp"}, []string{destOTLP}},
		{"otlp with Logfire: Logfire is OTLP enough", map[string]string{EnvLogsExporter: "otlp", EnvLogfireToken: tok},
			[]string{destLogfire}},
		{"otlp/stdout", map[string]string{EnvLogsExporter: "otlp/stdout"}, []string{destStdout}},
		{"console with a relay leaves the relay out", map[string]string{EnvLogsExporter: "console",
			EnvRelayEndpoint: "https://r/logs", EnvSessionToken: "s"}, []string{destConsole}},
		{"LOGFIRE_CONSOLE=false wins over console", map[string]string{EnvLogsExporter: "console", EnvLogfireConsole: "false"}, nil},
		{"LOGFIRE_CONSOLE=true wins over none", map[string]string{EnvLogsExporter: "none", EnvLogfireConsole: "1"},
			[]string{destConsole}},
		{"LOGFIRE_CONSOLE=true next to an endpoint", map[string]string{EnvLogfireConsole: "TRUE", EnvLogsEndpoint: ep},
			[]string{destOTLP, destConsole}},
		{"LOGFIRE_CONSOLE=false and nothing else: nothing", map[string]string{EnvLogfireConsole: "f"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			p := resolved(t, nil)
			assert.Equal(t, tc.want, names(p))
		})
	}

	setEnv(t, map[string]string{EnvLogsExporter: "otlp"})
	endpoint, _ := target(t, only(t, resolved(t, nil)).Exporter)
	assert.Equal(t, "http://localhost:4318/v1/logs", endpoint)

	var out bytes.Buffer
	setEnv(t, map[string]string{EnvLogsExporter: "otlp/stdout"})
	h, err := NewFromEnv(&Config{Stdout: &out})
	require.NoError(t, err)
	slog.New(h).Info("as OTLP JSON")
	require.NoError(t, h.Shutdown(context.Background()))
	assert.True(t, strings.HasPrefix(out.String(), `{"resourceLogs":[`), out.String())
	assert.Equal(t, 1, strings.Count(out.String(), "\n"), "one payload per line")

	setEnv(t, map[string]string{EnvLogsExporter: "none"})
	h, err = NewFromEnv(nil)
	require.NoError(t, err)
	assert.False(t, h.Enabled(context.Background(), slog.LevelError), "nothing to export to")
	require.NoError(t, h.Shutdown(context.Background()))
}

// TestNewFromEnvWarnings: values the specification says to warn about and
// ignore reach OnError as ConfigErrors, or Console without one.
func TestNewFromEnvWarnings(t *testing.T) {
	ca := newTestCA(t)
	caFile := ca.file(t, "ca.pem", ca.certPEM)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string // "VAR: text" of each warning
	}{
		{"insecure true over http", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvInsecure: "true"}, nil},
		{"insecure false", map[string]string{EnvLogsEndpoint: "https://c/v1/logs", EnvLogsInsecure: "false"}, nil},
		{"insecure true over https", map[string]string{EnvLogsEndpoint: "https://c/v1/logs", EnvInsecure: "True"},
			[]string{EnvInsecure + ": has no effect over HTTP: the endpoint is https://"}},
		{"insecure not a boolean", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvLogsInsecure: "yes"},
			[]string{EnvLogsInsecure + `: "yes" is not "true", so it counts as false: the endpoint's scheme decides`}},
		{"LOGS_INSECURE wins", map[string]string{EnvLogsEndpoint: "https://c/v1/logs", EnvInsecure: "maybe", EnvLogsInsecure: "false"}, nil},
		{"certificates over http", map[string]string{EnvLogsEndpoint: "http://c/v1/logs", EnvCertificate: caFile,
			EnvLogsClientKey: "/nonexistent"}, []string{
			EnvCertificate + ": has no effect: the endpoint is http://",
			EnvLogsClientKey + ": has no effect: the endpoint is http://"}},
		{"SDK disabled 1", map[string]string{EnvSDKDisabled: "1"}, []string{EnvSDKDisabled + `: "1" is not "true"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			var mu sync.Mutex
			var got []string
			h, err := NewFromEnv(&Config{HandlerOptions: HandlerOptions{OnError: func(err error) {
				var ce *ConfigError
				if assert.ErrorAs(t, err, &ce) {
					mu.Lock()
					got = append(got, ce.Var+": "+ce.Err.Error())
					mu.Unlock()
				}
			}}})
			require.NoError(t, err)
			require.NoError(t, h.Shutdown(context.Background()))
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, got, len(tc.want), "%q", got)
			for i, w := range tc.want {
				assert.True(t, strings.HasPrefix(got[i], w), "%q does not start with %q", got[i], w)
			}
		})
	}
}

// TestNewFromEnvTLS: an https receiver signed by a private CA, reached
// through the certificate variables, with and without a client certificate.
func TestNewFromEnvTLS(t *testing.T) {
	ca := newTestCA(t)
	caFile := ca.file(t, "ca.pem", ca.certPEM)
	certPEM, keyPEM := ca.issue(t, "checkout", false)
	certFile, keyFile := ca.file(t, "client.pem", certPEM), ca.file(t, "client.key", keyPEM)
	plain := newTLSReceiver(t, ca, false)
	mutual := newTLSReceiver(t, ca, true)
	conf, err := LoadTLSConfig(caFile, certFile, keyFile)
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		srv     *tlsReceiver
		env     map[string]string
		cfg     Config
		clients []string
	}{
		{"CERTIFICATE", plain, map[string]string{EnvCertificate: caFile}, Config{}, nil},
		{"LOGS_CERTIFICATE wins; the general one is not read", plain,
			map[string]string{EnvLogsCertificate: caFile, EnvCertificate: "/nonexistent/ca.pem"}, Config{}, nil},
		{"client certificate", mutual, map[string]string{EnvCertificate: caFile, EnvClientCertificate: certFile,
			EnvClientKey: keyFile}, Config{}, []string{"checkout"}},
		{"LOGS_ client certificate and a general key", mutual, map[string]string{EnvLogsCertificate: caFile,
			EnvLogsClientCertificate: certFile, EnvClientKey: keyFile, EnvLogsClientKey: ""}, Config{}, []string{"checkout"}},
		{"Config.TLSConfig wins; the variables are not read", mutual,
			map[string]string{EnvCertificate: "/nonexistent/ca.pem"}, Config{TLSConfig: conf}, []string{"checkout"}},
		{"Config.HTTPClient is used as is", mutual, map[string]string{EnvCertificate: "/nonexistent/ca.pem"},
			Config{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}}, []string{"checkout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{EnvLogsEndpoint: tc.srv.URL + "/v1/logs"}
			for k, v := range tc.env {
				env[k] = v
			}
			setEnv(t, env)
			var mu sync.Mutex
			var errs []error
			tc.cfg.HandlerOptions.OnError = func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
			posts0, clients0 := tc.srv.seen()
			h, err := NewFromEnv(&tc.cfg)
			require.NoError(t, err)
			slog.New(h).Error("over TLS")
			require.NoError(t, h.Shutdown(context.Background()))
			mu.Lock()
			assert.Empty(t, errs)
			mu.Unlock()
			assert.Equal(t, uint64(1), h.Stats().Exported)
			posts, clients := tc.srv.seen()
			assert.Equal(t, posts0+1, posts)
			assert.Equal(t, tc.clients, clients[len(clients0):], "client certificates seen")
		})
	}

	// Without the CA, the receiver's certificate is refused.
	setEnv(t, map[string]string{EnvLogsEndpoint: plain.URL + "/v1/logs"})
	errc := make(chan error, 1)
	h, err := NewFromEnv(&Config{HandlerOptions: HandlerOptions{MaxRetryTime: time.Millisecond, InitialBackoff: time.Millisecond,
		OnError: func(err error) {
			select {
			case errc <- err:
			default:
			}
		}}})
	require.NoError(t, err)
	slog.New(h).Error("refused")
	err = <-errc
	assert.ErrorContains(t, err, "certificate signed by unknown authority")
	var de *DeliveryError
	require.ErrorAs(t, h.Shutdown(context.Background()), &de, "Shutdown names the lost record")

	// A client key that does not match: named, its content never quoted.
	setEnv(t, map[string]string{EnvLogsEndpoint: mutual.URL + "/v1/logs", EnvClientCertificate: certFile,
		EnvLogsClientKey: ca.file(t, "wrong.key", []byte("-----BEGIN PRIVATE KEY-----\nWRONGKEYBYTES\n-----END PRIVATE KEY-----\n"))})
	_, err = NewFromEnv(nil)
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	assert.Equal(t, EnvLogsClientKey, ce.Var)
	assert.NotContains(t, err.Error(), "WRONGKEYBYTES")
}
