package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSiteWithoutBrowser checks the server's side where no browser runs:
// the page carries a session JWT the mounted relay accepts, and the relay
// forwards with the write token that only the server holds.
func TestSiteWithoutBrowser(t *testing.T) {
	rc := newReceiver(upstreamToken, nil)
	upstream := httptest.NewServer(rc)
	defer upstream.Close()
	s, err := newSite(siteConfig{Wasm: []byte("\x00asm fake"), WasmExecJS: []byte("// wasm_exec.js"),
		Upstream: upstream.URL + "/v1/logs", UpstreamToken: upstreamToken})
	require.NoError(t, err)
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()

	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(b)
	}
	res, page := get("/")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "the page carries a session token")
	assert.NotContains(t, page, upstreamToken)
	m := regexp.MustCompile(`<meta name="slogotlp-session" content="([^"]+)">`).FindStringSubmatch(page)
	require.Len(t, m, 2, "the page has the session meta tag")
	jwt := m[1]

	res, _ = get("/app.wasm")
	assert.Equal(t, "application/wasm", res.Header.Get("Content-Type"), "instantiateStreaming needs it")
	res, _ = get("/wasm_exec.js")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = get("/nothing-here")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	post := func(auth string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/api/v1/telemetry/logs",
			strings.NewReader(`{"resourceLogs":[{"resource":{},"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hi"}}]}]}]}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, post(""))
	assert.Equal(t, http.StatusUnauthorized, post("Bearer "+jwt+"x"))
	assert.Equal(t, http.StatusOK, post("Bearer "+jwt))
	got, denied := rc.snapshot()
	require.Len(t, got, 1)
	assert.Equal(t, "hi", got[0].Body)
	assert.Equal(t, "demo-user", got[0].Resource["enduser.id"])
	assert.Zero(t, denied)
}

// TestReceiverRefusesWrongToken: the receiver stands in for Logfire, so a
// relay that forwarded without the write token must be seen to fail.
func TestReceiverRefusesWrongToken(t *testing.T) {
	rc := newReceiver(upstreamToken, nil)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	res, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"resourceLogs":[]}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	_, denied := rc.snapshot()
	assert.Equal(t, 1, denied)
}
