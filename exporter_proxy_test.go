package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// relay is a test relay that accepts only the bearer tokens in valid.
type relay struct {
	mu    sync.Mutex
	valid map[string]bool
}

func newRelay(tokens ...string) *relay {
	r := &relay{valid: map[string]bool{}}
	r.allow(tokens...)
	return r
}

func (r *relay) allow(tokens ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range tokens {
		r.valid["Bearer "+t] = true
	}
}

func (r *relay) reply(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	ok := r.valid[req.Header.Get("Authorization")]
	r.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func newTestProxy(t *testing.T, endpoint, token string, opts *ProxyOptions) *ProxyExporter {
	t.Helper()
	exp, err := NewProxyExporter(endpoint, token, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

func TestProxyExporterSendsBearerToken(t *testing.T) {
	rc, srv := newRecorder(t, newRelay("jwt-1", "jwt-2").reply)
	exp := newTestProxy(t, srv.URL+"/api/v1/telemetry/logs", " Bearer jwt-1 ", &ProxyOptions{
		HTTPExporterOptions: HTTPExporterOptions{Headers: headersOf(map[string]string{"X-Client": "web", "Authorization": "static"})},
	})
	require.Equal(t, ExportSuccess, exp.Export(context.Background(), []byte(testPayload), 1).Outcome)
	exp.SetToken("jwt-2")
	require.Equal(t, ExportSuccess, exp.Export(context.Background(), []byte(testPayload), 1).Outcome)

	reqs := rc.all()
	require.Len(t, reqs, 2)
	assert.Equal(t, []string{"Bearer jwt-1"}, reqs[0].header.Values("Authorization"), "the token overrides a static Authorization")
	assert.Equal(t, []string{"Bearer jwt-2"}, reqs[1].header.Values("Authorization"))
	for _, r := range reqs {
		assert.Equal(t, "/api/v1/telemetry/logs", r.path)
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		assert.Equal(t, "gzip", r.header.Get("Content-Encoding"))
		assert.Equal(t, "web", r.header.Get("X-Client"))
		assert.Equal(t, "slogotlp", r.header.Get("User-Agent"))
		assert.Equal(t, testPayload, string(r.plain))
	}
}

func TestProxyExporter401WithoutRefreshIsFatal(t *testing.T) {
	rc, srv := newRecorder(t, newRelay().reply)
	exp := newTestProxy(t, srv.URL, "expired", nil)
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportFatal, res.Outcome)
	assert.Contains(t, res.Err.Error(), "refused the session token (HTTP 401): sign in again and pass the new token to SetToken")
	assert.Len(t, rc.all(), 1)
}

func TestProxyExporterRefreshesOnceOn401(t *testing.T) {
	rl := newRelay("fresh")
	rc, srv := newRecorder(t, rl.reply)
	var calls atomic.Int32
	exp := newTestProxy(t, srv.URL, "expired", &ProxyOptions{Refresh: func(ctx context.Context) (string, error) {
		calls.Add(1)
		require.NotNil(t, ctx)
		return "fresh", nil
	}})
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	require.Equal(t, ExportSuccess, res.Outcome, "%v", res.Err)
	assert.Equal(t, int32(1), calls.Load())
	reqs := rc.all()
	require.Len(t, reqs, 2, "the same request is sent again once")
	assert.Equal(t, "Bearer expired", reqs[0].header.Get("Authorization"))
	assert.Equal(t, "Bearer fresh", reqs[1].header.Get("Authorization"))
	assert.Equal(t, reqs[0].plain, reqs[1].plain)

	// The refreshed token is kept: the next export needs no refresh.
	require.Equal(t, ExportSuccess, exp.Export(context.Background(), []byte(testPayload), 1).Outcome)
	assert.Equal(t, int32(1), calls.Load())
	assert.Equal(t, "Bearer fresh", rc.all()[2].header.Get("Authorization"))
}

func TestProxyExporterRefreshedTokenStillRefused(t *testing.T) {
	rc, srv := newRecorder(t, newRelay().reply)
	var calls atomic.Int32
	exp := newTestProxy(t, srv.URL, "expired", &ProxyOptions{Refresh: func(context.Context) (string, error) {
		calls.Add(1)
		return "also-bad", nil
	}})
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportFatal, res.Outcome)
	assert.Contains(t, res.Err.Error(), "refused the refreshed session token too (HTTP 401)")
	assert.Equal(t, int32(1), calls.Load(), "refresh is tried once, not in a loop")
	assert.Len(t, rc.all(), 2)
}

func TestProxyExporterRefreshFailureIsFatal(t *testing.T) {
	errIdP := errors.New("identity provider down")
	tests := []struct {
		name    string
		refresh func(context.Context) (string, error)
		errHas  string
		is      error
	}{
		{"error", func(context.Context) (string, error) { return "", errIdP },
			"ProxyOptions.Refresh failed: identity provider down: sign in again", errIdP},
		{"empty token", func(context.Context) (string, error) { return "  ", nil }, "returned an empty token", nil},
		{"control character", func(context.Context) (string, error) { return "a\nb", nil }, "control character", nil},
		{"panic", func(context.Context) (string, error) { panic("boom") }, "ProxyOptions.Refresh panicked: boom", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, srv := newRecorder(t, newRelay().reply)
			exp := newTestProxy(t, srv.URL, "expired", &ProxyOptions{Refresh: tt.refresh})
			res := exp.Export(context.Background(), []byte(testPayload), 1)
			assert.Equal(t, ExportFatal, res.Outcome)
			require.Error(t, res.Err)
			assert.Contains(t, res.Err.Error(), tt.errHas)
			if tt.is != nil {
				assert.ErrorIs(t, res.Err, tt.is)
			}
			assert.Len(t, rc.all(), 1, "no resend after a failed refresh")
		})
	}
}

func TestProxyExporter403DoesNotRefresh(t *testing.T) {
	_, srv := newRecorder(t, reply(403, nil, ""))
	var calls atomic.Int32
	exp := newTestProxy(t, srv.URL, "jwt", &ProxyOptions{Refresh: func(context.Context) (string, error) {
		calls.Add(1)
		return "x", nil
	}})
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportFatal, res.Outcome)
	assert.Contains(t, res.Err.Error(), "refused this session (HTTP 403)")
	assert.Zero(t, calls.Load())
}

func TestProxyExporterOtherStatusesMapAsHTTP(t *testing.T) {
	for code, want := range map[int]Outcome{200: ExportSuccess, 400: ExportRejected, 413: ExportTooLarge, 429: ExportRetryable, 503: ExportRetryable} {
		_, srv := newRecorder(t, reply(code, nil, ""))
		exp := newTestProxy(t, srv.URL, "jwt", nil)
		assert.Equal(t, want, exp.Export(context.Background(), []byte(testPayload), 1).Outcome, "HTTP %d", code)
	}
}

func TestProxyExporterEmptyTokenNeedsRefresh(t *testing.T) {
	_, err := NewProxyExporter("http://relay/api/v1/telemetry/logs", "", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the session token is empty")

	rc, srv := newRecorder(t, newRelay("first").reply)
	exp := newTestProxy(t, srv.URL, "", &ProxyOptions{Refresh: func(context.Context) (string, error) { return "first", nil }})
	require.Equal(t, ExportSuccess, exp.Export(context.Background(), []byte(testPayload), 1).Outcome)
	reqs := rc.all()
	require.Len(t, reqs, 2)
	assert.Empty(t, reqs[0].header.Values("Authorization"), "no token: no Authorization header at all")
	assert.Equal(t, "Bearer first", reqs[1].header.Get("Authorization"))
}

func TestProxyExporterBadTokens(t *testing.T) {
	_, err := NewProxyExporter("http://relay/", "a\x00b", nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "a\x00b")

	_, err = NewProxyExporter("/api/v1/telemetry/logs", "jwt", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only works in the browser")

	rc, srv := newRecorder(t, nil)
	exp := newTestProxy(t, srv.URL, "jwt", nil)
	exp.SetToken("bad\r\ntoken")
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportFatal, res.Outcome)
	assert.Contains(t, res.Err.Error(), "pass the token as issued to SetToken")
	assert.Empty(t, rc.all())
}

// TestProxyExporterSetTokenConcurrently replaces the token while exports run
// on several goroutines; -race checks the hand-over, and every request must
// carry one whole token that was set.
func TestProxyExporterSetTokenConcurrently(t *testing.T) {
	const tokens = 50
	valid := make([]string, tokens)
	for i := range valid {
		valid[i] = fmt.Sprintf("jwt-%02d", i)
	}
	rc, srv := newRecorder(t, newRelay(valid...).reply)
	exp := newTestProxy(t, srv.URL, valid[0], nil)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	var failures atomic.Int32
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if res := exp.Export(context.Background(), []byte(testPayload), 1); res.Outcome != ExportSuccess {
					failures.Add(1)
				}
			}
		})
	}
	for _, tok := range valid[1:] {
		exp.SetToken(tok)
		_ = fmt.Sprintf("%+v", exp) // prints nothing of the token, and reads nothing racily
	}
	// Let every exporter goroutine finish at least one request with the last token.
	require.Eventually(t, func() bool {
		for _, r := range rc.all() {
			if r.header.Get("Authorization") == "Bearer "+valid[tokens-1] {
				return true
			}
		}
		return false
	}, 10*time.Second, 5*time.Millisecond)
	close(stop)
	wg.Wait()
	assert.Zero(t, failures.Load())
	for _, r := range rc.all() {
		auth, ok := strings.CutPrefix(r.header.Get("Authorization"), "Bearer ")
		require.True(t, ok)
		assert.Contains(t, valid, auth)
	}
}

// TestProxyExporterConcurrent401sRefreshOnce: exports failing together with
// the same expired token call Refresh once between them.
func TestProxyExporterConcurrent401sRefreshOnce(t *testing.T) {
	_, srv := newRecorder(t, newRelay("fresh").reply)
	var calls atomic.Int32
	exp := newTestProxy(t, srv.URL, "expired", &ProxyOptions{Refresh: func(context.Context) (string, error) {
		calls.Add(1)
		return "fresh", nil
	}})
	var wg sync.WaitGroup
	results := make([]Result, 6)
	for i := range results {
		wg.Go(func() { results[i] = exp.Export(context.Background(), []byte(testPayload), 1) })
	}
	wg.Wait()
	for _, r := range results {
		assert.Equal(t, ExportSuccess, r.Outcome, "%v", r.Err)
	}
	assert.Equal(t, int32(1), calls.Load())
}

func TestProxyExporterNilContext(t *testing.T) {
	_, srv := newRecorder(t, nil)
	exp := newTestProxy(t, srv.URL, "jwt", nil)
	//lint:ignore SA1012 a nil context must not panic
	assert.Equal(t, ExportSuccess, exp.Export(nil, []byte(testPayload), 1).Outcome) //nolint:staticcheck
}

func TestProxyExporterShutdown(t *testing.T) {
	_, srv := newRecorder(t, nil)
	exp := newTestProxy(t, srv.URL, "jwt", nil)
	require.NoError(t, exp.Shutdown(context.Background()))
	require.NoError(t, exp.Shutdown(context.Background()))
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportFatal, res.Outcome)
	assert.ErrorIs(t, res.Err, ErrExporterShutdown)
}

func TestProxyExporterConnectionRefused(t *testing.T) {
	exp := newTestProxy(t, "http://"+closedAddr(t)+"/api/v1/telemetry/logs", "jwt", nil)
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportRetryable, res.Outcome)
	assert.True(t, res.Offline)
}

func TestProxyStringForms(t *testing.T) {
	exp := newTestProxy(t, "https://app.example.com/api/v1/telemetry/logs", "jwt", &ProxyOptions{
		HTTPExporterOptions: HTTPExporterOptions{DisableGzip: true},
	})
	assert.Equal(t, "https://app.example.com/api/v1/telemetry/logs", exp.Endpoint())
	for _, s := range []string{fmt.Sprintf("%#v", exp), fmt.Sprintf("%v", *exp), fmt.Sprintf("%+v", exp)} {
		assert.NotContains(t, s, "jwt")
	}
}

// Exporters not built by their constructors fail cleanly instead of panicking.
func TestZeroExportersDoNotPanic(t *testing.T) {
	for _, e := range []Exporter{&HTTPExporter{}, &ProxyExporter{}, (*HTTPExporter)(nil), (*ProxyExporter)(nil)} {
		res := e.Export(context.Background(), []byte(testPayload), 1)
		assert.Equal(t, ExportFatal, res.Outcome)
		assert.ErrorIs(t, res.Err, errUnbuilt)
		assert.NoError(t, e.Shutdown(context.Background()))
	}
	(&ProxyExporter{}).SetToken("x")
	(*ProxyExporter)(nil).SetToken("x")
}

// A cancelled export is not evidence of being offline.
func TestCancelledDialIsNotOffline(t *testing.T) {
	c, err := newHTTPCore("http://127.0.0.1:1/v1/logs", HTTPExporterOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}
	res := c.networkResult(dialErr, ctx, "")
	assert.False(t, res.Offline)
	assert.Contains(t, res.Err.Error(), "the export was cancelled")
	assert.True(t, c.networkResult(dialErr, context.Background(), "").Offline)
}
