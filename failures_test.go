package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errLog collects what OnError hears.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errLog) texts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, len(l.errs))
	for i, e := range l.errs {
		out[i] = e.Error()
	}
	return out
}

// count returns how many reports contain sub.
func (l *errLog) count(sub string) int {
	n := 0
	for _, s := range l.texts() {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// shutdownWithin calls Shutdown with a context that never ends and fails
// the test if it has not returned after a minute, far beyond any bound the
// handler documents, so a hang fails instead of stalling the suite.
func shutdownWithin(t *testing.T, h *Handler) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("Shutdown(context.Background()) did not return")
		return nil
	}
}

// silent starts a receiver that reads each request and never answers, until
// the client gives up or the test ends.
func silent(t *testing.T) string {
	hold := make(chan struct{})
	srv := serve(t, func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client hang up
		select {
		case <-r.Context().Done():
		case <-hold:
		}
	})
	t.Cleanup(func() { close(hold) }) // runs before srv.Close
	return srv.URL
}

// serve starts a loopback receiver that stops when the test ends.
func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// TestFailureRows runs the handler with the real HTTP exporter against
// receivers that fail in each way the issue lists. For each: what OnError
// hears while it happens, what Shutdown (with a context that never ends)
// returns, and that Stats adds up.
func TestFailureRows(t *testing.T) {
	const n = 3
	redirect := func(code int) func(t *testing.T) string {
		return func(t *testing.T) string {
			var page *httptest.Server
			page = serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/old" {
					http.Redirect(w, r, page.URL+"/elsewhere", code)
					return
				}
				t.Errorf("the redirect was followed: %s %s", r.Method, r.URL.Path)
			})
			return page.URL + "/old"
		}
	}
	rows := []struct {
		name     string
		endpoint func(t *testing.T) string
		opts     HandlerOptions
		hears    string // OnError hears this before Shutdown
		shutdown string // Shutdown's error has this; "" means nil
		exported int
	}{
		{name: "301", endpoint: redirect(301),
			hears:    "answered HTTP 301 Moved Permanently to http://127.0.0.1:",
			shutdown: "3 of 3 records dropped (rejected 3): dropped 3 records the receiver refused (export goes on): "},
		{name: "302", endpoint: redirect(302), hears: "answered HTTP 302 Found to http://127.0.0.1:",
			shutdown: "/elsewhere, which is not followed (it would resend the POST as a GET without the records)"},
		{name: "303", endpoint: redirect(303), hears: "answered HTTP 303 See Other to", shutdown: "(rejected 3)"},
		{name: "307 followed with the body", exported: n, endpoint: func(t *testing.T) string {
			rc := &receiver{seen: map[string]int{}}
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/old" {
					http.Redirect(w, r, "/v1/logs", http.StatusTemporaryRedirect)
					return
				}
				rc.ServeHTTP(w, r)
			})
			return srv.URL + "/old"
		}},
		{name: "308 followed with the body", exported: n, endpoint: func(t *testing.T) string {
			rc := &receiver{seen: map[string]int{}}
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/old" {
					http.Redirect(w, r, "/v1/logs", http.StatusPermanentRedirect)
					return
				}
				rc.ServeHTTP(w, r)
			})
			return srv.URL + "/old"
		}},
		{name: "unreachable",
			endpoint: func(t *testing.T) string { return "http://" + closedAddr(t) + "/v1/logs" },
			hears:    "the receiver is unreachable: could not reach http://127.0.0.1:",
			shutdown: "3 of 3 records dropped (shutdown 3): could not reach http://127.0.0.1:"},
		{name: "TLS failure",
			endpoint: func(t *testing.T) string {
				srv := httptest.NewUnstartedServer(http.NotFoundHandler())
				srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are expected
				srv.StartTLS()                                   // with a certificate no one trusts
				t.Cleanup(srv.Close)
				return srv.URL + "/v1/logs"
			},
			opts:     HandlerOptions{ShutdownTimeout: 200 * time.Millisecond},
			hears:    "export is failing and is retried with backoff: the TLS handshake with https://127.0.0.1:",
			shutdown: "x509: certificate signed by unknown authority"},
		{name: "never answers", endpoint: silent,
			opts:     HandlerOptions{ShutdownTimeout: 200 * time.Millisecond},
			shutdown: "3 of 3 records dropped (shutdown 3): cut short when Shutdown's context ended: the export to http://127.0.0.1:"},
		{name: "slower than ExportTimeout", endpoint: silent,
			opts:     HandlerOptions{ExportTimeout: 50 * time.Millisecond, ShutdownTimeout: 200 * time.Millisecond},
			hears:    "did not answer in time (no answer within ExportTimeout (50ms))",
			shutdown: "(shutdown 3)"},
		{name: "Retry-After 3600",
			endpoint: func(t *testing.T) string {
				return serve(t, reply(503, map[string]string{"Retry-After": "3600"}, "")).URL
			},
			hears:    "answered HTTP 503 Service Unavailable for 3 records (Retry-After 5m0s)",
			shutdown: "3 of 3 records dropped (shutdown 3): http://127.0.0.1:"},
		{name: "401", endpoint: func(t *testing.T) string { return serve(t, reply(401, nil, "")).URL },
			hears:    "export stopped for good after a fatal error",
			shutdown: "3 of 3 records dropped (fatal 3): http://127.0.0.1:"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			var heard errLog
			exp, err := NewHTTPExporter(row.endpoint(t), nil)
			require.NoError(t, err)
			opts := row.opts
			opts.OnError, opts.DropReportInterval = heard.add, -1
			opts.InitialBackoff, opts.MaxBackoff = 10*time.Millisecond, 20*time.Millisecond
			if row.name == "Retry-After 3600" || row.name == "unreachable" {
				opts.InitialBackoff, opts.MaxBackoff = time.Hour, time.Hour // only Shutdown can end the wait
			}
			h := NewHandler(exp, &opts)
			l := slog.New(h)
			for i := range n - 1 {
				l.Info("m", "i", i)
			}
			l.Error("e") // exports at once
			if row.hears != "" {
				require.Eventually(t, func() bool { return heard.count(row.hears) > 0 }, 10*time.Second, time.Millisecond,
					"OnError heard %q", heard.texts())
			}
			err = shutdownWithin(t, h)
			s := h.Stats()
			checkStats(t, s)
			assert.Equal(t, uint64(row.exported), s.Exported)
			if row.shutdown == "" {
				require.NoError(t, err)
				return
			}
			var de *DeliveryError
			require.ErrorAs(t, err, &de)
			assert.Contains(t, err.Error(), row.shutdown)
			assert.Equal(t, uint64(n), de.Dropped.Total())
			assert.Equal(t, 1, heard.count(err.Error()), "OnError hears Shutdown's error too: %q", heard.texts())
		})
	}
}

// TestUnreachableIsReportedOncePerOutage: a long outage is one report when
// it starts and one when it ends, however often the handler probes.
func TestUnreachableIsReportedOncePerOutage(t *testing.T) {
	var heard errLog
	var up sync.Mutex
	down := true
	rc := &receiver{seen: map[string]int{}}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		up.Lock()
		d := down
		up.Unlock()
		if d {
			// Hang up without an answer: as unreachable as a test server gets
			// while keeping its port.
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			_ = c.Close()
			return
		}
		rc.ServeHTTP(w, r)
	})
	exp, err := NewHTTPExporter(srv.URL, nil)
	require.NoError(t, err)
	h := NewHandler(exp, &HandlerOptions{OnError: heard.add, DropReportInterval: -1,
		InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRetryTime: time.Hour})
	slog.New(h).Error("during the outage")
	require.Eventually(t, func() bool { return h.Stats().Retries >= 20 }, 10*time.Second, time.Millisecond)
	got := heard.texts()
	require.Len(t, got, 1, "twenty failed attempts, one report: %q", got)
	// The rest of the text is the transport's: EOF, a reset, a closed connection.
	assert.True(t, strings.HasPrefix(got[0], "slogotlp: export is failing and is retried with backoff: the request to "+
		srv.URL+" failed: "), got[0])
	up.Lock()
	down = false
	up.Unlock()
	require.Eventually(t, func() bool { return h.Stats().Exported == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, shutdownWithin(t, h))
	got = heard.texts()
	require.Len(t, got, 2)
	assert.Contains(t, got[1], "slogotlp: export works again after ")
	checkStats(t, h.Stats())
}

// TestOfflineTransitionsReported: unreachable is reported once when the
// receiver goes away and once when it is back (see TestOfflineAndRecovery
// for the delivery side).
func TestOfflineTransitionsReported(t *testing.T) {
	var heard errLog
	exp := &scriptExporter{}
	for range 30 {
		exp.next = append(exp.next, Result{Outcome: ExportRetryable, Offline: true, Err: errors.New("slogotlp: could not reach X: connection refused")})
	}
	h := newHandler(exp, &HandlerOptions{OnError: heard.add, DropReportInterval: -1}, func(b *batcher) {
		b.sleep = func(time.Duration, <-chan struct{}) bool { return true }
	})
	slog.New(h).Error("x")
	flush(t, h)
	require.NoError(t, h.Shutdown(context.Background()))
	got := heard.texts()
	require.Len(t, got, 2, "%q", got)
	assert.Equal(t, "slogotlp: the receiver is unreachable: could not reach X: connection refused; 1 records are kept "+
		"(within MaxQueueSize) and sent when it answers", got[0])
	assert.Contains(t, got[1], "export works again after")
	assert.Equal(t, uint64(30), h.Stats().Retries)
}

// TestReportsAreRateLimited: a receiver that refuses every batch is one
// report per minute, the next saying how many were held back.
func TestReportsAreRateLimited(t *testing.T) {
	var heard errLog
	clock := time.Unix(0, 0)
	var cmu sync.Mutex
	exp := &scriptExporter{}
	for range 10 {
		exp.next = append(exp.next, Result{Outcome: ExportRejected, Err: errors.New("HTTP 400")})
	}
	h := newHandler(exp, &HandlerOptions{OnError: heard.add, DropReportInterval: -1}, func(b *batcher) {
		b.now = func() time.Time { cmu.Lock(); defer cmu.Unlock(); return clock }
	})
	l := slog.New(h)
	for range 9 {
		l.Error("x")
		flush(t, h)
	}
	assert.Equal(t, 1, heard.count("dropped 1 records the receiver refused"), "%q", heard.texts())
	cmu.Lock()
	clock = clock.Add(errorReportInterval)
	cmu.Unlock()
	l.Error("x")
	flush(t, h)
	got := heard.texts()
	require.Len(t, got, 2)
	assert.Equal(t, "slogotlp: dropped 1 records the receiver refused (export goes on): HTTP 400 (and 8 more like it within 1m0s)", got[1])
	var de *DeliveryError
	require.ErrorAs(t, shutdownWithin(t, h), &de)
	assert.Equal(t, uint64(10), de.Dropped.Rejected)
}

// TestDefaultOnErrorWritesStderr: with no OnError a person still hears of
// failures, one line each.
func TestDefaultOnErrorWritesStderr(t *testing.T) {
	var out strings.Builder
	var mu sync.Mutex
	exp := &scriptExporter{}
	exp.next = []Result{{Outcome: ExportFatal, Err: errors.New("slogotlp: HTTP 401:\nbad token")}}
	h := newHandler(exp, &HandlerOptions{DropReportInterval: -1}, func(b *batcher) {
		b.notes.onError = stderrReporter(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return out.Write(p)
		}))
	})
	slog.New(h).Error("x")
	var de *DeliveryError
	require.ErrorAs(t, shutdownWithin(t, h), &de)
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	assert.Equal(t, []string{
		"slogotlp: export stopped for good after a fatal error; records are dropped from now on (fix the cause and restart the program): HTTP 401: bad token",
		"slogotlp: 1 of 1 records dropped (fatal 1): HTTP 401: bad token",
	}, lines)
	plain := NewHandler(nil, nil)
	assert.NotNil(t, plain.c.b.notes.onError, "the default is set")
	require.NoError(t, plain.Shutdown(context.Background()))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestPanickingOnError: a panic in OnError is contained and said on the
// handler's stderr.
func TestPanickingOnError(t *testing.T) {
	var out strings.Builder
	exp := &scriptExporter{}
	exp.next = []Result{{Outcome: ExportRejected, Err: errors.New("HTTP 400")}}
	h := newHandler(exp, &HandlerOptions{DropReportInterval: -1, OnError: func(error) { panic("callback bug") }},
		func(b *batcher) { b.errOut = &out })
	slog.New(h).Error("x")
	flush(t, h)
	assert.Error(t, h.Shutdown(context.Background()))
	assert.Contains(t, out.String(), "slogotlp: OnError panicked: callback bug (reporting: slogotlp: dropped 1 records")
}

// TestRedirectDowngradeRefused: a 308 from https to http would send the
// records unencrypted; it is not followed.
func TestRedirectDowngradeRefused(t *testing.T) {
	plain := serve(t, func(_ http.ResponseWriter, r *http.Request) {
		t.Errorf("the downgrade was followed: %s %s", r.Method, r.URL)
	})
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/v1/logs", http.StatusPermanentRedirect)
	}))
	t.Cleanup(tlsSrv.Close)
	exp := newTestExporter(t, tlsSrv.URL+"/v1/logs", nil)
	exp.c.client.Transport = tlsSrv.Client().Transport // trust the test certificate; the redirect policy stays ours
	res := exp.Export(context.Background(), []byte(testPayload), 2)
	assert.Equal(t, ExportRejected, res.Outcome)
	assert.ErrorContains(t, res.Err, "answered HTTP 308 Permanent Redirect to "+plain.URL+"/v1/logs, which is not followed "+
		"(it leads from https to http, which would send the records unencrypted), so 2 records were not delivered")
}

// TestRedirectLoopIsRejected: a chain of 307s ends after ten.
func TestRedirectLoopIsRejected(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path+"x", http.StatusTemporaryRedirect)
	})
	res := newTestExporter(t, srv.URL+"/v1/logs", nil).Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportRejected, res.Outcome)
	assert.ErrorContains(t, res.Err, "redirected 10 times in a row")
}

// TestRedirectWithoutLocation: a 3xx that names nowhere is a refusal.
func TestRedirectWithoutLocation(t *testing.T) {
	srv := serve(t, reply(http.StatusFound, nil, ""))
	res := newTestExporter(t, srv.URL, nil).Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportRejected, res.Outcome)
	assert.ErrorContains(t, res.Err, "answered HTTP 302 Found without a usable Location")
}

// TestRedirectByCallersClient: a client of the caller's that follows a 301
// into a body-less GET never makes the records count as delivered.
func TestRedirectByCallersClient(t *testing.T) {
	var got []string
	var mu sync.Mutex
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/v1/logs" {
			http.Redirect(w, r, "/login?next=x", http.StatusMovedPermanently)
			return
		}
		_, _ = io.WriteString(w, "<html>sign in</html>") // 200, to the GET
	})
	exp := newTestExporter(t, srv.URL+"/v1/logs", &HTTPExporterOptions{Client: &http.Client{}})
	res := exp.Export(context.Background(), []byte(testPayload), 4)
	assert.Equal(t, ExportRejected, res.Outcome)
	assert.ErrorContains(t, res.Err, "redirected the POST to "+srv.URL+"/login?[REDACTED], which the client resent as a GET "+
		"without the records (answer: HTTP 200 OK)")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"POST /v1/logs", "GET /login"}, got)
}

// TestExportTimeoutIsTheOneTimeout: the HTTP exporter has no timeout of its
// own that would cut ExportTimeout (it had 10s, under a 30s ExportTimeout),
// and ExportTimeout reaches each request.
func TestExportTimeoutIsTheOneTimeout(t *testing.T) {
	exp := newTestExporter(t, "http://127.0.0.1:1/v1/logs", nil)
	assert.Zero(t, exp.c.timeout)
	assert.Zero(t, exp.c.client.Timeout)
	assert.Equal(t, 30*time.Second, (*HandlerOptions)(nil).withDefaults().ExportTimeout, "the documented default")

	var deadlines []time.Duration
	var mu sync.Mutex
	probe := exporterFunc(func(ctx context.Context, _ []byte, _ int) Result {
		d, ok := ctx.Deadline()
		require.True(t, ok)
		mu.Lock()
		deadlines = append(deadlines, time.Until(d))
		mu.Unlock()
		return Result{}
	})
	h := NewHandler(probe, &HandlerOptions{ExportTimeout: 20 * time.Second})
	slog.New(h).Error("x")
	require.NoError(t, h.Shutdown(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, deadlines, 1)
	assert.Greater(t, deadlines[0], 10*time.Second, "the 20s ExportTimeout, not a 10s cut")
	assert.LessOrEqual(t, deadlines[0], 20*time.Second)
}

type exporterFunc func(ctx context.Context, p []byte, n int) Result

func (f exporterFunc) Export(ctx context.Context, p []byte, n int) Result { return f(ctx, p, n) }
func (exporterFunc) Shutdown(context.Context) error                       { return nil }

// TestDeliveryErrorText pins the wording of Shutdown's error.
func TestDeliveryErrorText(t *testing.T) {
	cause := errors.New("slogotlp: could not reach https://x/v1/logs: connection refused")
	for _, tc := range []struct {
		de   DeliveryError
		want string
	}{
		{DeliveryError{Handled: 9, Dropped: DropCounts{Shutdown: 3, Paused: 2}, Cause: cause},
			"slogotlp: 3 of 9 records dropped (shutdown 3): could not reach https://x/v1/logs: connection refused"},
		{DeliveryError{Handled: 9, Dropped: DropCounts{QueueFull: 1}},
			"slogotlp: 1 of 9 records dropped (queue_full 1): the queue was full: logging outpaced export (raise MaxQueueSize/MaxQueueBytes, or use OverflowBlock)"},
		{DeliveryError{Handled: 9, Dropped: DropCounts{TooLarge: 1}}, "(too_large 1): records larger than MaxPayloadBytes"},
		{DeliveryError{Handled: 9, Dropped: DropCounts{Shutdown: 1}}, "(shutdown 1): records logged after Shutdown"},
		{DeliveryError{Handled: 9, Dropped: DropCounts{Shutdown: 1}, ctxErr: context.Canceled},
			"the queue was not drained when Shutdown's context ended: context canceled"},
	} {
		assert.Contains(t, tc.de.Error(), tc.want)
	}
	de := &DeliveryError{Cause: cause, ctxErr: context.DeadlineExceeded}
	assert.ErrorIs(t, de, context.DeadlineExceeded)
	assert.ErrorIs(t, de, cause)
	assert.Empty(t, (&DeliveryError{}).Unwrap())
}

// TestFlushAndShutdownFromOnError: waiting for itself would deadlock, so
// they return at once.
func TestFlushAndShutdownFromOnError(t *testing.T) {
	got := make(chan error, 2)
	exp := &scriptExporter{}
	exp.next = []Result{{Outcome: ExportRejected, Err: errors.New("HTTP 400")}}
	var h *Handler
	h = NewHandler(exp, &HandlerOptions{DropReportInterval: -1, OnError: func(err error) {
		if strings.Contains(err.Error(), "HTTP 400") && !strings.Contains(err.Error(), "of 1 records") {
			got <- h.Flush(context.Background())
			got <- h.Shutdown(context.Background())
		}
	}})
	slog.New(h).Error("x")
	assert.ErrorIs(t, <-got, errOwnGoroutine)
	assert.ErrorIs(t, <-got, errOwnGoroutine, "Shutdown was started, not waited for")
	var de *DeliveryError
	require.ErrorAs(t, shutdownWithin(t, h), &de)
	assert.Equal(t, uint64(1), de.Dropped.Rejected)
}

// TestConcurrentExportsKeepOrderWithinABatch: with several requests in
// flight every record arrives once, in order within its batch, and Flush
// waits for all in flight.
func TestConcurrentExportsKeepOrderWithinABatch(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	exp := exporterFunc(func(_ context.Context, p []byte, _ int) Result {
		var ids []int
		s := string(p)
		for {
			i := strings.Index(s, `{"key":"i","value":{"intValue":"`)
			if i < 0 {
				break
			}
			s = s[i+32:]
			var id int
			_, _ = fmt.Sscanf(s, "%d", &id)
			ids = append(ids, id)
		}
		mu.Lock()
		batches = append(batches, ids)
		mu.Unlock()
		return Result{}
	})
	h := NewHandler(exp, &HandlerOptions{ConcurrentExports: 4, BatchSize: 16, MaxQueueSize: 1 << 16, DropReportInterval: -1})
	l := slog.New(h)
	for i := range 1000 {
		l.Info("m", "i", i)
	}
	flush(t, h)
	require.NoError(t, h.Shutdown(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	var all []int
	for _, b := range batches {
		assert.True(t, slices.IsSorted(b), "in order within a batch: %v", b)
		all = append(all, b...)
	}
	slices.Sort(all)
	require.Len(t, all, 1000)
	for i, id := range all {
		require.Equal(t, i, id)
	}
	checkStats(t, h.Stats())
}

// TestConcurrentExportsDefault: two requests in flight for this package's
// HTTP exporters, which are safe for it; one for any other exporter.
func TestConcurrentExportsDefault(t *testing.T) {
	httpExp := newTestExporter(t, "http://127.0.0.1:1/v1/logs", nil)
	for _, tc := range []struct {
		exp  Exporter
		want int
	}{{httpExp, 2}, {&captureExporter{}, 1}, {discardExporter{}, 1}} {
		h := NewHandler(tc.exp, &HandlerOptions{DropReportInterval: -1})
		assert.Equal(t, tc.want, h.c.b.opts.ConcurrentExports, "%T", tc.exp)
		require.NoError(t, h.Shutdown(context.Background()))
	}
	h := NewHandler(&captureExporter{}, &HandlerOptions{ConcurrentExports: 3})
	assert.Equal(t, 3, h.c.b.opts.ConcurrentExports, "a value set wins")
	require.NoError(t, h.Shutdown(context.Background()))
}
