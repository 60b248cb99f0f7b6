package slogotlp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of Logfire's settings, with the meanings of its own SDK.

func TestNewFromEnvSendToLogfire(t *testing.T) {
	const tok = "pylf_v1_us_x"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"unset: if a token is present", map[string]string{EnvLogfireToken: tok}, []string{destLogfire}},
		{"unset, no token", nil, []string{destConsole}},
		{"true", map[string]string{EnvLogfireSend: "true", EnvLogfireToken: tok}, []string{destLogfire}},
		{"1", map[string]string{EnvLogfireSend: "1", EnvLogfireToken: tok}, []string{destLogfire}},
		{"T", map[string]string{EnvLogfireSend: "T", EnvLogfireToken: tok}, []string{destLogfire}},
		{"false: the token is not used", map[string]string{EnvLogfireSend: "false", EnvLogfireToken: tok}, []string{destConsole}},
		{"0, and an endpoint", map[string]string{EnvLogfireSend: "0", EnvLogfireToken: tok, EnvEndpoint: "http://c:4318"},
			[]string{destOTLP}},
		{"F: the token file is not even read", map[string]string{EnvLogfireSend: "F", EnvLogfireTokenFile: "/nonexistent"},
			[]string{destConsole}},
		{"if-token-present with one", map[string]string{EnvLogfireSend: "if-token-present", EnvLogfireToken: tok},
			[]string{destLogfire}},
		{"if-token-present without", map[string]string{EnvLogfireSend: "if-token-present"}, []string{destConsole}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			assert.Equal(t, tc.want, names(resolved(t, nil)))
		})
	}
}

func TestNewFromEnvMinLevel(t *testing.T) {
	for v, want := range map[string]slog.Level{
		"trace": LevelTrace, "debug": slog.LevelDebug, "info": slog.LevelInfo, "notice": slog.LevelInfo + 1,
		"warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError, "fatal": LevelFatal, "WARN": slog.LevelWarn,
	} {
		t.Run(v, func(t *testing.T) {
			setEnv(t, map[string]string{EnvLogfireMinLevel: v, EnvLogfireConsoleLevel: v})
			p := resolved(t, nil)
			assert.Equal(t, want, p.opts.Level)
			assert.Equal(t, want, only(t, p).Level, "the console's own level")
			assert.Equal(t, severityNumber(want), map[string]int{"trace": 1, "debug": 5, "info": 9, "notice": 10,
				"warn": 13, "warning": 13, "error": 17, "fatal": 21, "WARN": 13}[v], "Logfire's level numbers")
		})
	}
	setEnv(t, map[string]string{EnvLogfireMinLevel: "error"})
	p := resolved(t, &Config{HandlerOptions: HandlerOptions{Level: slog.LevelDebug}})
	assert.Equal(t, slog.LevelDebug, p.opts.Level, "HandlerOptions.Level wins")
	assert.Nil(t, only(t, p).Level, "unset, the console shows what the handler takes")

	// End to end: the console shows WARN and above while the other
	// destination takes DEBUG and above.
	var console bytes.Buffer
	capture := &captureExporter{}
	setEnv(t, map[string]string{EnvLogfireMinLevel: "debug", EnvLogfireConsole: "true", EnvLogfireConsoleLevel: "warn",
		EnvLogfireConsoleTime: "false"})
	h, err := NewFromEnv(&Config{Console: &console, Fallback: capture})
	require.NoError(t, err)
	names := []string{}
	for _, d := range h.DestinationStats() {
		names = append(names, d.Name)
	}
	assert.Equal(t, []string{destConsole}, names, "the console was asked for, so the fallback is not used")
	logger := slog.New(h)
	logger.Debug("d")
	logger.Warn("w")
	require.NoError(t, h.Shutdown(context.Background()))
	assert.Equal(t, "WARN  w\n", console.String())
}

func TestNewFromEnvConsoleOptions(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want ConsoleOptions
	}{
		{nil, ConsoleOptions{}},
		{map[string]string{EnvLogfireConsoleColors: "always"}, ConsoleOptions{Colors: ColorsAlways}},
		{map[string]string{EnvLogfireConsoleColors: "Never"}, ConsoleOptions{Colors: ColorsNever}},
		{map[string]string{EnvLogfireConsoleColors: "auto"}, ConsoleOptions{Colors: ColorsAuto}},
		{map[string]string{EnvLogfireConsoleTime: "false", EnvLogfireConsoleTags: "0", EnvLogfireConsoleVerbose: "true"},
			ConsoleOptions{NoTimestamp: true, NoTags: true, Verbose: true}},
		{map[string]string{EnvLogfireConsoleTime: "true", EnvLogfireConsoleTags: "1", EnvLogfireConsoleVerbose: "f"},
			ConsoleOptions{}},
	} {
		setEnv(t, tc.env)
		var w bytes.Buffer
		d := only(t, resolved(t, &Config{Console: &w}))
		ce, ok := d.Exporter.(*ConsoleExporter)
		require.True(t, ok)
		assert.Equal(t, tc.want, ce.opts, "%v", tc.env)
		assert.Equal(t, io.Writer(&w), ce.w)
	}
}

// TestNewFromEnvLogfireAndOTLP sends to two Logfire projects and an OTLP
// endpoint at once, end to end: each receives every record, Logfire with
// its raw token, the endpoint with its own headers, and each destination
// counts its own.
func TestNewFromEnvLogfireAndOTLP(t *testing.T) {
	lf := newReceiver(t, reply(200, map[string]string{"Content-Type": "application/json"}, "{}"))
	otlp := newReceiver(t, reply(200, map[string]string{"Content-Type": "application/x-protobuf"}, ""))
	const us, eu = "pylf_v1_us_AAAA", "pylf_v1_eu_BBBB"
	setEnv(t, map[string]string{
		EnvLogfireToken: us + "," + eu, EnvLogfireBaseURL: lf.URL,
		EnvLogsEndpoint: otlp.URL + "/v1/logs", EnvLogsHeaders: "x-team=payments", EnvProtocol: "http/protobuf",
		EnvLogfireServiceName: "checkout",
	})
	h, err := NewFromEnv(nil)
	require.NoError(t, err)
	logger := slog.New(h)
	for range 3 {
		logger.Error("paid")
	}
	require.NoError(t, h.Shutdown(context.Background()))

	auth := map[string]int{}
	for _, c := range lf.all() {
		auth[c.header.Get("Authorization")]++
		assert.Equal(t, "application/x-protobuf", c.header.Get("Content-Type"), "protobuf by default")
		assert.Empty(t, c.header.Get("X-Team"), "OTLP headers are the OTLP endpoint's")
		assert.Contains(t, string(protoAsJSON(c.plain)), `"severityText":"ERROR"`)
		assert.Contains(t, string(c.plain), "checkout", "the resource's service.name")
		assert.Contains(t, string(protoAsJSON(c.plain)), `{"key":"logfire.msg","value":{"stringValue":"paid"}}`, "Logfire's message attribute")
	}
	assert.Positive(t, auth[us])
	assert.Positive(t, auth[eu])
	for _, c := range otlp.all() {
		assert.Empty(t, c.header.Get("Authorization"))
		assert.Equal(t, "payments", c.header.Get("X-Team"))
		assert.Equal(t, "application/x-protobuf", c.header.Get("Content-Type"))
		assert.Equal(t, http.MethodPost, c.method)
	}
	ds := h.DestinationStats()
	require.Len(t, ds, 3)
	for i, name := range []string{"logfire#1", "logfire#2", "otlp"} {
		assert.Equal(t, name, ds[i].Name)
		assert.Equal(t, uint64(3), ds[i].Exported, name)
		checkStats(t, ds[i].Stats)
	}
	s := h.Stats()
	assert.Equal(t, uint64(9), s.Handled)
	assert.Equal(t, uint64(9), s.Exported)
}
