package slogotlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testPayload = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hi"}}]}]}]}`

// captured is what a test server saw of one request.
type captured struct {
	method string
	path   string
	header http.Header
	body   []byte // as sent (maybe gzip)
	plain  []byte // decoded
}

// recorder is a test receiver that records requests and answers with reply.
type recorder struct {
	mu    sync.Mutex
	reqs  []captured
	reply func(w http.ResponseWriter, r *http.Request)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := captured{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body, plain: body}
	if r.Header.Get("Content-Encoding") == "gzip" {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			c.plain, _ = io.ReadAll(zr)
		} else {
			c.plain = nil
		}
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, c)
	rc.mu.Unlock()
	if rc.reply != nil {
		rc.reply(w, r)
	}
}

func (rc *recorder) all() []captured {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]captured(nil), rc.reqs...)
}

func newRecorder(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) (*recorder, *httptest.Server) {
	t.Helper()
	rc := &recorder{reply: reply}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

func newTestExporter(t *testing.T, endpoint string, opts *HTTPExporterOptions) *HTTPExporter {
	t.Helper()
	exp, err := NewHTTPExporter(endpoint, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

func reply(status int, headers map[string]string, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestHTTPExporterStatusMapping(t *testing.T) {
	future := time.Now().Add(40 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		headers    map[string]string
		body       string
		want       Outcome
		rejected   int64
		retryAfter time.Duration // exact unless retryMin is set
		retryMin   time.Duration
		errHas     string // "" means Err must be nil
	}{
		{name: "200 empty", status: 200, want: ExportSuccess},
		{name: "200 empty json", status: 200, body: `{}`, want: ExportSuccess},
		{name: "200 empty partialSuccess", status: 200, body: `{"partialSuccess":{}}`, want: ExportSuccess},
		{name: "200 not json", status: 200, body: `ok`, want: ExportSuccess},
		{name: "200 partialSuccess string", status: 200,
			body: `{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"timestamp too old"}}`,
			want: ExportSuccess, rejected: 3, errHas: `rejected 3 of 5 records (timestamp too old)`},
		{name: "200 partialSuccess number", status: 200,
			body: `{"partialSuccess":{"rejectedLogRecords":2}}`,
			want: ExportSuccess, rejected: 2, errHas: `rejected 2 of 5 records (no reason given)`},
		{name: "200 partialSuccess warning only", status: 200,
			body: `{"partialSuccess":{"errorMessage":"attribute truncated"}}`,
			want: ExportSuccess, errHas: "accepted all 5 records with a warning: attribute truncated"},
		{name: "200 partialSuccess negative", status: 200,
			body: `{"partialSuccess":{"rejectedLogRecords":"-4"}}`, want: ExportSuccess},
		{name: "204", status: 204, want: ExportSuccess},
		{name: "400", status: 400, body: "bad traceId", want: ExportRejected,
			errHas: `refused 5 records with HTTP 400 Bad Request ("bad traceId"): the batch is dropped`},
		{name: "401", status: 401, want: ExportFatal, errHas: "refused the credentials (HTTP 401)"},
		{name: "403", status: 403, want: ExportFatal, errHas: "refused the credentials (HTTP 403)"},
		{name: "404", status: 404, want: ExportRejected, errHas: "OTLP/HTTP logs are POSTed to .../v1/logs"},
		{name: "413", status: 413, want: ExportTooLarge, errHas: "too large (HTTP 413)"},
		{name: "415", status: 415, want: ExportRejected, errHas: "does not take OTLP JSON"},
		{name: "429 delta-seconds", status: 429, headers: map[string]string{"Retry-After": "7"},
			want: ExportRetryable, retryAfter: 7 * time.Second, errHas: "HTTP 429 Too Many Requests for 5 records"},
		{name: "429 HTTP-date", status: 429, headers: map[string]string{"Retry-After": future},
			want: ExportRetryable, retryMin: 35 * time.Second, retryAfter: 40 * time.Second, errHas: "Retry-After"},
		{name: "429 no Retry-After", status: 429, want: ExportRetryable, errHas: "sent again after a backoff"},
		{name: "500", status: 500, body: "boom", want: ExportRetryable, errHas: `HTTP 500 Internal Server Error for 5 records ("boom")`},
		{name: "501", status: 501, want: ExportRetryable, errHas: "HTTP 501"},
		{name: "502", status: 502, want: ExportRetryable, errHas: "HTTP 502"},
		{name: "503 capped Retry-After", status: 503, headers: map[string]string{"Retry-After": "86400"},
			want: ExportRetryable, retryAfter: maxRetryAfter, errHas: "Retry-After 5m0s"},
		{name: "504", status: 504, want: ExportRetryable, errHas: "HTTP 504"},
		{name: "599 unnamed", status: 599, want: ExportRetryable, errHas: "HTTP 599 for"},
		{name: "300 without Location", status: 300, want: ExportRejected, errHas: "HTTP 300"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newRecorder(t, reply(tt.status, tt.headers, tt.body))
			exp := newTestExporter(t, srv.URL+"/v1/logs", nil)
			res := exp.Export(context.Background(), []byte(testPayload), 5)
			assert.Equal(t, tt.want, res.Outcome, "outcome %v, err %v", res.Outcome, res.Err)
			assert.Equal(t, tt.rejected, res.Rejected)
			assert.False(t, res.Offline)
			if tt.retryMin > 0 {
				assert.GreaterOrEqual(t, res.RetryAfter, tt.retryMin)
				assert.LessOrEqual(t, res.RetryAfter, tt.retryAfter)
			} else {
				assert.Equal(t, tt.retryAfter, res.RetryAfter)
			}
			if tt.errHas == "" {
				assert.NoError(t, res.Err)
				return
			}
			require.Error(t, res.Err)
			assert.Contains(t, res.Err.Error(), tt.errHas)
			assert.True(t, strings.HasPrefix(res.Err.Error(), "slogotlp: "), res.Err.Error())
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"  ", 0},
		{"7", 7 * time.Second},
		{" 12 ", 12 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{"300", 5 * time.Minute},
		{"301", maxRetryAfter},
		{"99999999999999999999", 0}, // overflows int64: unreadable
		{"9223372036854775807", maxRetryAfter},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(24 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
		{"Sun, 01 Mar 2026 12:00:45 GMT", 45 * time.Second},
		{"Sunday, 01-Mar-26 12:00:20 GMT", 20 * time.Second}, // RFC 850
		{"Sun Mar  1 12:00:10 2026", 10 * time.Second},       // asctime
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, retryAfter(tt.in, now), "Retry-After %q", tt.in)
	}
}

func TestHTTPExporterSendsHeadersAndGzip(t *testing.T) {
	rc, srv := newRecorder(t, nil)
	exp := newTestExporter(t, srv.URL+"/v1/logs", &HTTPExporterOptions{
		Headers: headersOf(map[string]string{
			"x-scope-orgid":    "tenant-1",
			"Content-Type":     "text/plain", // ignored: the exporter owns it
			"Content-Encoding": "br",         // ignored
		}),
	})
	payloads := []string{testPayload, `{"resourceLogs":[]}`, strings.Repeat(`{"k":"v"}`, 5000)}
	for _, p := range payloads {
		res := exp.Export(context.Background(), []byte(p), 1)
		require.Equal(t, ExportSuccess, res.Outcome, "%v", res.Err)
	}
	reqs := rc.all()
	require.Len(t, reqs, len(payloads))
	for i, r := range reqs {
		assert.Equal(t, http.MethodPost, r.method)
		assert.Equal(t, "/v1/logs", r.path)
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		assert.Equal(t, "gzip", r.header.Get("Content-Encoding"))
		assert.Equal(t, "slogotlp", r.header.Get("User-Agent"))
		assert.Equal(t, "tenant-1", r.header.Get("X-Scope-Orgid"))
		assert.Empty(t, r.header.Get("Authorization"))
		assert.Equal(t, payloads[i], string(r.plain), "request %d must gunzip to the payload", i)
		assert.NotEqual(t, payloads[i], string(r.body), "request %d must be compressed", i)
	}
	// A repetitive payload must really be compressed, not just framed.
	assert.Less(t, len(reqs[2].body), len(payloads[2])/10)
}

func TestHTTPExporterDisableGzip(t *testing.T) {
	rc, srv := newRecorder(t, nil)
	exp := newTestExporter(t, srv.URL+"/v1/logs", &HTTPExporterOptions{DisableGzip: true, UserAgent: "myapp/1.2"})
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	require.Equal(t, ExportSuccess, res.Outcome, "%v", res.Err)
	reqs := rc.all()
	require.Len(t, reqs, 1)
	assert.Empty(t, reqs[0].header.Get("Content-Encoding"))
	assert.Equal(t, "application/json", reqs[0].header.Get("Content-Type"))
	assert.Equal(t, "myapp/1.2", reqs[0].header.Get("User-Agent"))
	assert.Equal(t, testPayload, string(reqs[0].body))
}

func TestHTTPExporterUserAgentFromHeaders(t *testing.T) {
	rc, srv := newRecorder(t, nil)
	exp := newTestExporter(t, srv.URL, &HTTPExporterOptions{Headers: headersOf(map[string]string{"user-agent": "from-headers"})})
	exp.Export(context.Background(), []byte(testPayload), 1)
	require.Len(t, rc.all(), 1)
	assert.Equal(t, "from-headers", rc.all()[0].header.Get("User-Agent"))
}

func TestHTTPExporterBadRequestHintWithoutGzip(t *testing.T) {
	_, srv := newRecorder(t, reply(400, nil, ""))
	exp := newTestExporter(t, srv.URL, &HTTPExporterOptions{DisableGzip: true})
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportRejected, res.Outcome)
	assert.NotContains(t, res.Err.Error(), "DisableGzip")

	_, srv2 := newRecorder(t, reply(400, nil, ""))
	exp2 := newTestExporter(t, srv2.URL, nil)
	res = exp2.Export(context.Background(), []byte(testPayload), 1)
	assert.Contains(t, res.Err.Error(), "set DisableGzip")
}

func TestHTTPExporterLongErrorBodyIsCut(t *testing.T) {
	_, srv := newRecorder(t, reply(400, nil, strings.Repeat("é", 1000)+"\r\nend"))
	exp := newTestExporter(t, srv.URL, nil)
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	msg := res.Err.Error()
	assert.Contains(t, msg, `..."`)
	assert.NotContains(t, msg, "end")
	assert.Less(t, len(msg), 600)
}

func TestHTTPExporterReusesConnections(t *testing.T) {
	var conns atomic.Int32
	rc := &recorder{reply: reply(200, nil, strings.Repeat(" ", 8<<10)+`{}`)}
	srv := httptest.NewUnstartedServer(rc)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	exp := newTestExporter(t, srv.URL, nil)
	for range 5 {
		require.Equal(t, ExportSuccess, exp.Export(context.Background(), []byte(testPayload), 1).Outcome)
	}
	assert.Equal(t, int32(1), conns.Load(), "reading the response body must let the connection be reused")
}

// A 307/308 redirect resends the same body (through Request.GetBody).
func TestHTTPExporterFollowsBodyPreservingRedirect(t *testing.T) {
	rc, srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/v1/logs", http.StatusPermanentRedirect)
		}
	})
	exp := newTestExporter(t, srv.URL+"/old", nil)
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	require.Equal(t, ExportSuccess, res.Outcome, "%v", res.Err)
	reqs := rc.all()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/v1/logs", reqs[1].path)
	assert.Equal(t, http.MethodPost, reqs[1].method)
	assert.Equal(t, testPayload, string(reqs[1].plain))
}

func TestHTTPExporterCustomClient(t *testing.T) {
	var trips atomic.Int32
	rc, srv := newRecorder(t, nil)
	client := &http.Client{Transport: countingTransport{n: &trips, next: http.DefaultTransport}}
	exp := newTestExporter(t, srv.URL, &HTTPExporterOptions{Client: client})
	assert.Equal(t, ExportSuccess, exp.Export(context.Background(), []byte(testPayload), 1).Outcome)
	assert.Equal(t, int32(1), trips.Load())
	assert.Len(t, rc.all(), 1)
}

type countingTransport struct {
	n    *atomic.Int32
	next http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestHTTPExporterTimeoutIsRetryableNotOffline(t *testing.T) {
	release := make(chan struct{})
	_, srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		select { // hold the answer until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	exp := newTestExporter(t, srv.URL, &HTTPExporterOptions{Timeout: 100 * time.Millisecond})
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportRetryable, res.Outcome)
	assert.False(t, res.Offline, "the receiver was reached: a timeout is not offline")
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "did not answer within 100ms")
	assert.ErrorIs(t, res.Err, context.DeadlineExceeded)
}

func TestHTTPExporterCancelledContext(t *testing.T) {
	_, srv := newRecorder(t, nil)
	exp := newTestExporter(t, srv.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := exp.Export(ctx, []byte(testPayload), 1)
	assert.Equal(t, ExportRetryable, res.Outcome)
	assert.Contains(t, res.Err.Error(), "the export was cancelled before")
	assert.ErrorIs(t, res.Err, context.Canceled)
}

func TestHTTPExporterNilContext(t *testing.T) {
	_, srv := newRecorder(t, nil)
	exp := newTestExporter(t, srv.URL, nil)
	//lint:ignore SA1012 a nil context must not panic
	res := exp.Export(nil, []byte(testPayload), 1) //nolint:staticcheck
	assert.Equal(t, ExportSuccess, res.Outcome)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestHTTPExporterConnectionRefusedIsOffline(t *testing.T) {
	exp := newTestExporter(t, "http://"+closedAddr(t)+"/v1/logs", nil)
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportRetryable, res.Outcome)
	assert.True(t, res.Offline)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "could not reach http://127.0.0.1:")
	assert.ErrorIs(t, res.Err, syscall.ECONNREFUSED)
}

func TestIsOffline(t *testing.T) {
	assert.True(t, isOffline(&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}))
	assert.True(t, isOffline(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("i/o timeout")}))
	assert.True(t, isOffline(fmt.Errorf("wrapped: %w", syscall.ENETUNREACH)))
	assert.True(t, isOffline(&os.SyscallError{Syscall: "connect", Err: syscall.EHOSTUNREACH}))
	assert.False(t, isOffline(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}))
	assert.False(t, isOffline(context.DeadlineExceeded))
	assert.False(t, isOffline(io.ErrUnexpectedEOF))
}

func TestHTTPExporterOtherNetworkError(t *testing.T) {
	// A server that hangs up without answering: reached, so not offline.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 1))
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	exp := newTestExporter(t, "http://"+ln.Addr().String()+"/v1/logs", nil)
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportRetryable, res.Outcome)
	assert.False(t, res.Offline)
	assert.Contains(t, res.Err.Error(), "the request to http://127.0.0.1:")
}

func TestHTTPExporterShutdown(t *testing.T) {
	rc, srv := newRecorder(t, nil)
	exp := newTestExporter(t, srv.URL, nil)
	require.Equal(t, ExportSuccess, exp.Export(context.Background(), []byte(testPayload), 1).Outcome)
	require.NoError(t, exp.Shutdown(context.Background()))
	require.NoError(t, exp.Shutdown(context.Background()), "Shutdown must be idempotent")
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportFatal, res.Outcome)
	assert.ErrorIs(t, res.Err, ErrExporterShutdown)
	assert.Len(t, rc.all(), 1, "no request after Shutdown")
}

func TestNewHTTPExporterValidatesEndpoint(t *testing.T) {
	tests := []struct {
		endpoint string
		errHas   string
	}{
		{"", "the endpoint is empty"},
		{"   ", "the endpoint is empty"},
		{"http://[::1", "not a valid URL"},
		{"http://a b.com/v1/logs", "not a valid URL"},
		{"ftp://collector/v1/logs", "must start with http:// or https://"},
		{"localhost:4318/v1/logs", "must start with http:// or https://"},
		{"v1/logs", "must start with http:// or https://"},
		{"http:///v1/logs", "has no host"},
		{"https://user:s3cr3t-pw@collector/v1/logs", "carries credentials"},
		{"http://collector/v1/logs#top", "#fragment"},
		{"/api/v1/telemetry/logs", "only works in the browser"},
	}
	for _, tt := range tests {
		exp, err := NewHTTPExporter(tt.endpoint, nil)
		assert.Nil(t, exp, tt.endpoint)
		require.Error(t, err, tt.endpoint)
		assert.Contains(t, err.Error(), tt.errHas, tt.endpoint)
		assert.NotContains(t, err.Error(), "s3cr3t")
	}
	for _, ok := range []string{"http://localhost:4318/v1/logs", "HTTPS://Collector.example/v1/logs", " http://h/x?tenant=1 "} {
		exp, err := NewHTTPExporter(ok, nil)
		require.NoError(t, err, ok)
		require.NoError(t, exp.Shutdown(context.Background()))
	}
}

func TestNewHTTPExporterValidatesHeaders(t *testing.T) {
	_, err := NewHTTPExporter("http://h/v1/logs", &HTTPExporterOptions{Headers: headersOf(map[string]string{"bad name": "x"})})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `header name "bad name"`)

	_, err = NewHTTPExporter("http://h/v1/logs", &HTTPExporterOptions{Headers: headersOf(map[string]string{"": "x"})})
	require.Error(t, err)

	_, err = NewHTTPExporter("http://h/v1/logs", &HTTPExporterOptions{Headers: headersOf(map[string]string{"authorization": "abc\r\nX-Evil: 1"})})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"Authorization" contains a control character`)
	assert.NotContains(t, err.Error(), "abc")

	_, err = NewHTTPExporter("http://h/v1/logs", &HTTPExporterOptions{UserAgent: "a\nb"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UserAgent")
}

func TestNewHTTPExporterDoesNotMutateOptions(t *testing.T) {
	h := map[string]string{"Content-Type": "text/plain", "x-a": "1"}
	opts := &HTTPExporterOptions{Headers: headersOf(h)}
	exp := newTestExporter(t, "http://h/v1/logs", opts)
	assert.Equal(t, map[string]string{"Content-Type": "text/plain", "x-a": "1"}, h)
	assert.Equal(t, time.Duration(0), opts.Timeout)
	assert.Equal(t, defaultExportTimeout, exp.c.timeout)

	lh := map[string]string{"Authorization": "old"}
	lopts := &LogfireOptions{HTTPExporterOptions: HTTPExporterOptions{Headers: headersOf(lh)}}
	lexp, err := NewLogfireExporter("tok", lopts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lexp.Shutdown(context.Background()) })
	assert.Equal(t, "old", lh["Authorization"])
}

func TestLogfireExporterSendsRawToken(t *testing.T) {
	rc, srv := newRecorder(t, nil)
	exp, err := NewLogfireExporter("  pylf_v1_us_abc123\n", &LogfireOptions{
		BaseURL: srv.URL + "/",
		HTTPExporterOptions: HTTPExporterOptions{Headers: headersOf(map[string]string{
			"authorization": "Bearer someone-else", // the token wins
			"X-Extra":       "1",
		})},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	require.Equal(t, ExportSuccess, res.Outcome, "%v", res.Err)
	reqs := rc.all()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/v1/logs", reqs[0].path)
	assert.Equal(t, []string{"pylf_v1_us_abc123"}, reqs[0].header.Values("Authorization"))
	assert.Equal(t, "1", reqs[0].header.Get("X-Extra"))
	assert.Equal(t, "gzip", reqs[0].header.Get("Content-Encoding"))
	assert.Equal(t, testPayload, string(reqs[0].plain))
}

func TestLogfireExporter401SaysWhatToDo(t *testing.T) {
	for _, code := range []int{401, 403} {
		_, srv := newRecorder(t, reply(code, nil, ""))
		exp, err := NewLogfireExporter("tok", &LogfireOptions{BaseURL: srv.URL})
		require.NoError(t, err)
		res := exp.Export(context.Background(), []byte(testPayload), 1)
		assert.Equal(t, ExportFatal, res.Outcome)
		assert.Contains(t, res.Err.Error(), fmt.Sprintf("slogotlp: Logfire rejected the write token (HTTP %d): check LOGFIRE_TOKEN is a current write token", code))
		require.NoError(t, exp.Shutdown(context.Background()))
	}
}

func TestNewLogfireExporterErrors(t *testing.T) {
	_, err := NewLogfireExporter("", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set LOGFIRE_TOKEN")

	_, err = NewLogfireExporter(" \n", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set LOGFIRE_TOKEN")

	_, err = NewLogfireExporter("abc\x00def", nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "abc")

	_, err = NewLogfireExporter("tok", &LogfireOptions{Region: "moon"})
	require.Error(t, err)

	_, err = NewLogfireExporter("tok", &LogfireOptions{BaseURL: "logfire.example.com"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "http:// or https://")

	exp, err := NewLogfireExporter("tok", nil)
	require.NoError(t, err)
	assert.Equal(t, LogfireUSEndpoint, exp.Endpoint())
	require.NoError(t, exp.Shutdown(context.Background()))
	exp, err = NewLogfireExporter("pylf_v1_eu_abc", nil)
	require.NoError(t, err)
	assert.Equal(t, LogfireEUEndpoint, exp.Endpoint(), "the token's region")
	require.NoError(t, exp.Shutdown(context.Background()))
}

// TestSecretsNeverPrinted collects every error and every printed or logged
// form of the exporters and their options across the failure paths, and
// checks that no secret appears in any of them.
func TestSecretsNeverPrinted(t *testing.T) {
	const (
		token    = "pylf_v1_us_SECRETlogfire0123456789"
		apiKey   = "SECRETapikey0123456789"
		jwt      = "eyJSECRETjwt.payload.sig"
		freshJWT = "eyJSECRETfresh.payload.sig"
		queryKey = "SECRETquery0123456789"
	)
	secrets := []string{token, apiKey, jwt, freshJWT, queryKey}

	// The receiver echoes every header it got, in every answer.
	echo := func(status int) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			var b strings.Builder
			for k, v := range r.Header {
				fmt.Fprintf(&b, "%s=%s;", k, strings.Join(v, ","))
			}
			if status == 200 {
				fmt.Fprintf(w, `{"partialSuccess":{"rejectedLogRecords":"1","errorMessage":%q}}`, b.String())
				return
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, b.String())
		}
	}

	var texts []string
	add := func(s string) { texts = append(texts, s) }
	addResult := func(res Result) {
		if res.Err != nil {
			add(res.Err.Error())
			add(fmt.Sprintf("%v %+v %#v", res.Err, res.Err, res))
		}
	}
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
	textLogger := slog.New(slog.NewTextHandler(&logBuf, nil))
	show := func(vals ...any) {
		for _, v := range vals {
			add(fmt.Sprintf("%v|%+v|%#v|%s", v, v, v, v))
			logger.Info("value", "v", v)
			textLogger.Info("value", "v", v)
		}
	}

	statuses := []int{200, 400, 401, 403, 404, 413, 429, 500, 503}
	for _, code := range statuses {
		_, srv := newRecorder(t, echo(code))

		lopts := &LogfireOptions{BaseURL: srv.URL, HTTPExporterOptions: HTTPExporterOptions{
			Headers: headersOf(map[string]string{"X-Api-Key": apiKey}),
		}}
		lexp, err := NewLogfireExporter(token, lopts)
		require.NoError(t, err)
		addResult(lexp.Export(context.Background(), []byte(testPayload), 3))
		show(lexp, *lexp, lopts, *lopts, struct{ O LogfireOptions }{*lopts},
			struct{ e HTTPExporter }{*lexp}, struct{ e *HTTPExporter }{lexp}, []any{lexp, *lexp})

		hopts := &HTTPExporterOptions{Headers: headersOf(map[string]string{
			"Authorization": "Bearer " + apiKey, "x-honeycomb-team": apiKey, "X-Auth-Token": apiKey,
		})}
		hexp, err := NewHTTPExporter(srv.URL+"/v1/logs?api_key="+queryKey, hopts)
		require.NoError(t, err)
		addResult(hexp.Export(context.Background(), []byte(testPayload), 3))
		show(hexp, hopts, *hopts, struct{ O *HTTPExporterOptions }{hopts})

		popts := &ProxyOptions{Refresh: func(context.Context) (string, error) { return freshJWT, nil }}
		pexp, err := NewProxyExporter(srv.URL+"/api/v1/telemetry/logs?k="+queryKey, jwt, popts)
		require.NoError(t, err)
		addResult(pexp.Export(context.Background(), []byte(testPayload), 3))
		show(pexp, *pexp, popts, *popts, struct{ p ProxyExporter }{*pexp}, struct{ p *ProxyExporter }{pexp},
			struct{ O ProxyOptions }{*popts})
		for _, v := range []any{lopts, hopts, popts, lexp, pexp} {
			j, err := json.Marshal(v)
			require.NoError(t, err)
			add(string(j))
		}

		for _, e := range []Exporter{lexp, hexp, pexp} {
			require.NoError(t, e.Shutdown(context.Background()))
		}
	}

	// Network failures: refused (the URL carries a key in its query) and a timeout.
	addr := closedAddr(t)
	hexp, err := NewHTTPExporter("http://"+addr+"/v1/logs?api_key="+queryKey,
		&HTTPExporterOptions{Headers: headersOf(map[string]string{"Authorization": apiKey})})
	require.NoError(t, err)
	addResult(hexp.Export(context.Background(), []byte(testPayload), 1))
	require.NoError(t, hexp.Shutdown(context.Background()))

	release := make(chan struct{})
	_, slow := newRecorder(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	lexp, err := NewLogfireExporter(token, &LogfireOptions{BaseURL: slow.URL + "/?key=" + queryKey,
		HTTPExporterOptions: HTTPExporterOptions{Timeout: 50 * time.Millisecond}})
	require.NoError(t, err)
	addResult(lexp.Export(context.Background(), []byte(testPayload), 1))
	require.NoError(t, lexp.Shutdown(context.Background()))

	// A refresh callback whose error quotes the tokens.
	_, unauth := newRecorder(t, reply(401, nil, ""))
	pexp, err := NewProxyExporter(unauth.URL, jwt, &ProxyOptions{Refresh: func(context.Context) (string, error) {
		return freshJWT, fmt.Errorf("refresh of %s failed, got %s", jwt, freshJWT)
	}})
	require.NoError(t, err)
	addResult(pexp.Export(context.Background(), []byte(testPayload), 1))
	pexp.SetToken(freshJWT)
	show(pexp)
	require.NoError(t, pexp.Shutdown(context.Background()))

	// Constructor errors with secrets in bad places.
	for _, bad := range []func() error{
		func() error { _, err := NewHTTPExporter("https://u:"+apiKey+"@h/v1/logs", nil); return err },
		func() error { _, err := NewHTTPExporter("http://h/v1/logs?k="+queryKey+"#frag", nil); return err },
		func() error { _, err := NewHTTPExporter("ftp://h/?k="+queryKey, nil); return err },
		func() error {
			_, err := NewHTTPExporter("http://h/v1/logs", &HTTPExporterOptions{Headers: headersOf(map[string]string{"Authorization": apiKey + "\n"})})
			return err
		},
		func() error { _, err := NewLogfireExporter(token+"\x01", nil); return err },
		func() error { _, err := NewProxyExporter("http://h/", jwt+"\nX-Evil: 1", nil); return err },
	} {
		err := bad()
		require.Error(t, err)
		add(err.Error())
	}

	add(logBuf.String())
	require.Greater(t, len(texts), 100)
	for _, s := range texts {
		for _, sec := range secrets {
			if i := strings.Index(s, sec); i >= 0 {
				t.Fatalf("secret %q printed in: ...%s...", sec, s[max(0, i-300):min(len(s), i+100)])
			}
		}
	}
	// The checks above are only meaningful if the echo reached the errors.
	assert.Contains(t, strings.Join(texts, "\n"), "[REDACTED]")
}

// TestPrintedForms pins how secrets print: never, under any verb, nested or
// not, through fmt, encoding/json and slog; the rest shows as a reader needs.
func TestPrintedForms(t *testing.T) {
	tok := NewSecret("pylf_v1_us_x")
	assert.Equal(t, "pylf_v1_us_x", tok.Reveal())
	for verb, want := range map[string]string{"%v": "[REDACTED]", "%+v": "[REDACTED]", "%s": "[REDACTED]",
		"%x": "[REDACTED]", "%q": `"[REDACTED]"`, "%#v": `"[REDACTED]"`, "%d": "[REDACTED]"} {
		assert.Equal(t, want, fmt.Sprintf(verb, tok), verb)
	}
	assert.Empty(t, fmt.Sprint(NewSecret("")), "an unset secret shows as unset")
	assert.Empty(t, fmt.Sprint(Secret{}))
	assert.Empty(t, Secret{}.Reveal())

	h := headersOf(map[string]string{"Authorization": "Bearer x", "X-Scope-OrgID": "tenant-a", "api-key": ""})
	assert.Equal(t, "map[Authorization:[REDACTED] X-Scope-OrgID:[REDACTED] api-key:]", fmt.Sprint(h))
	assert.Equal(t, `slogotlp.Headers{"Authorization":"[REDACTED]", "X-Scope-OrgID":"[REDACTED]", "api-key":""}`,
		fmt.Sprintf("%#v", h))

	j, err := json.Marshal(LogfireOptions{Region: "eu", BaseURL: "https://lf.example",
		HTTPExporterOptions: HTTPExporterOptions{Headers: Headers{"Authorization": tok}}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Region":"eu","BaseURL":"https://lf.example","Format":0,"Headers":{"Authorization":"[REDACTED]"},`+
		`"Timeout":0,"DisableGzip":false,"UserAgent":""}`, string(j))
	j, err = json.Marshal(&ProxyOptions{Refresh: func(context.Context) (string, error) { return "", nil }})
	require.NoError(t, err)
	assert.JSONEq(t, `{"Format":0,"Headers":null,"Timeout":0,"DisableGzip":false,"UserAgent":""}`, string(j))

	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}})).Info("x", "tok", tok, "headers", h)
	assert.Equal(t, `msg=x tok=[REDACTED] headers="map[Authorization:[REDACTED] X-Scope-OrgID:[REDACTED] api-key:]"`+"\n", buf.String())

	// A verb fmt cannot apply to a pointer (%s) prints the pointed-to struct
	// with every method switched off: the value behind Secret's own pointer
	// keeps it out even then.
	opts := &HTTPExporterOptions{Headers: h}
	badVerbs := "%s %d %q" // a variable, so that vet lets the test make the mistake
	assert.NotContains(t, fmt.Sprintf(badVerbs, struct{ O *HTTPExporterOptions }{opts}, []any{opts}, map[string]any{"o": opts}), "tenant-a")

	// The exporters print no setting at all (their state sits behind a
	// pointer); Endpoint says where they send, without the query.
	exp := newTestExporter(t, "http://collector:4318/v1/logs?tenant=a", opts)
	assert.Equal(t, "http://collector:4318/v1/logs?[REDACTED]", exp.Endpoint())
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", exp, exp, *exp)+fmt.Sprintf(badVerbs, struct{ E *HTTPExporter }{exp}, exp, exp), "tenant")
	var nilExp *HTTPExporter
	assert.Empty(t, nilExp.Endpoint())
	assert.Empty(t, (&ProxyExporter{}).Endpoint())
}

func TestTruncateRunes(t *testing.T) {
	assert.Equal(t, "abc", truncateRunes("abc", 3))
	assert.Equal(t, "ab...", truncateRunes("abcd", 2))
	assert.Equal(t, "é...", truncateRunes("éé", 3), "must not cut a rune in half")
}

// benchPayload is a realistic batch: 256 records of about 400 bytes each.
func benchPayload() []byte {
	var b strings.Builder
	b.WriteString(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeLogs":[{"logRecords":[`)
	for i := range 256 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"timeUnixNano":"17000000000%08d","severityNumber":9,"severityText":"INFO","body":{"stringValue":"request handled %d"},`+
			`"attributes":[{"key":"http.route","value":{"stringValue":"/api/v1/items/{id}"}},{"key":"user.id","value":{"intValue":"%d"}},`+
			`{"key":"duration_ms","value":{"doubleValue":%d.25}}],"traceId":"5b8aa5a2d2c872e8321cf37308d69df2","spanId":"051581bf3cb55c13"}`, i, i, i*7919, i%97)
	}
	b.WriteString(`]}]}]}`)
	return []byte(b.String())
}

func BenchmarkHTTPExporterExport(b *testing.B) {
	payload := benchPayload()
	for _, gz := range []bool{true, false} {
		b.Run(fmt.Sprintf("gzip=%t", gz), func(b *testing.B) {
			var sent atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := io.Copy(io.Discard, r.Body)
				sent.Store(n)
			}))
			defer srv.Close()
			exp, err := NewHTTPExporter(srv.URL, &HTTPExporterOptions{DisableGzip: !gz})
			require.NoError(b, err)
			defer exp.Shutdown(context.Background())
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if res := exp.Export(context.Background(), payload, 256); res.Outcome != ExportSuccess {
					b.Fatal(res.Err)
				}
			}
			b.ReportMetric(float64(sent.Load()), "wire-bytes")
		})
	}
}
