package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// upstreamToken looks like a Logfire write token; the test fails if any byte
// the browser received contains it.
const upstreamToken = "pylf_v1_us_testtokenE2eMustNeverReachTheBrowser0123456789"

// requireBrowserEnv, when set (CI's .ci/run sets it after installing
// Chromium), turns a missing browser into a failure instead of a skip.
const requireBrowserEnv = "SLOGOTLP_REQUIRE_BROWSER"

// findChromium returns the browser to drive, or skips the test where none is
// installed (CI installs Debian's chromium package).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(requireBrowserEnv) != "" {
		t.Fatalf("%s is set but no Chromium is installed: install it (apt-get install -y chromium) or set CHROMIUM to its path", requireBrowserEnv)
	}
	t.Skip("headless Chromium is not installed here, so the browser test cannot run: " +
		"install it with apt-get install -y chromium (.ci/run does), or set CHROMIUM to a Chrome/Chromium binary")
	return ""
}

// served is one response the site sent to the browser.
type served struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
	auth         string // the request's Authorization header
}

// capture wraps the site and keeps every request's Authorization header and
// every response's status, headers and body: all the browser received.
type capture struct {
	next http.Handler
	mu   sync.Mutex
	all  []served
}

type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *captureWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &captureWriter{ResponseWriter: w}
	c.next.ServeHTTP(cw, r)
	c.mu.Lock()
	c.all = append(c.all, served{method: r.Method, path: r.URL.Path, status: cw.status,
		header: w.Header().Clone(), body: cw.body.Bytes(), auth: r.Header.Get("Authorization")})
	c.mu.Unlock()
}

func (c *capture) snapshot() []served {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.all)
}

// flushWait bounds the wait for a flush the page triggered. It must stay well
// under the handler's 30 s FlushInterval: records that arrive only through
// that timer mean the listener did not flush.
const flushWait = 10 * time.Second

// waitRecords waits until the receiver holds at least n records, for at most
// flushWait.
func waitRecords(t *testing.T, ctx context.Context, rc *receiver, n int) []received {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, flushWait)
	defer cancel()
	for {
		got, _ := rc.snapshot()
		if len(got) >= n {
			return got
		}
		select {
		case <-rc.changed:
		case <-ctx.Done():
			t.Fatalf("the receiver got %d records, want %d: %v", len(got), n, ctx.Err())
		}
	}
}

// hideJS makes the page look hidden, as a tab switch does, and fires the
// event the browser fires then.
const hideJS = `(() => {
  Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  Object.defineProperty(document, 'hidden', {value: true, configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
})()`

const showJS = `(() => {
  Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
  Object.defineProperty(document, 'hidden', {value: false, configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
})()`

// postJS posts an empty OTLP payload to the relay with the given
// Authorization header from the page and resolves to the HTTP status.
func postJS(auth string) string {
	return fmt.Sprintf(`fetch('/api/v1/telemetry/logs', {method: 'POST',
  headers: {'Content-Type': 'application/json', 'Authorization': %q},
  body: '{"resourceLogs":[]}'}).then(r => r.status)`, auth)
}

// TestBrowserFlushThroughRelay runs the example in headless Chromium: the
// Go program logs in the page, nothing leaves until the page is hidden, then
// every record reaches the receiver behind the relay, which checked the
// session JWT; the Logfire token is in nothing the browser received.
func TestBrowserFlushThroughRelay(t *testing.T) {
	chromium := findChromium(t)

	buildCtx, cancelBuild := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelBuild()
	wasm, err := buildWasm(buildCtx, "..")
	require.NoError(t, err)
	execJS, err := readWasmExecJS(buildCtx)
	require.NoError(t, err)

	rc := newReceiver(upstreamToken, nil)
	upstream := httptest.NewServer(rc)
	defer upstream.Close()

	s, err := newSite(siteConfig{Wasm: wasm, WasmExecJS: execJS, Upstream: upstream.URL + "/v1/logs", UpstreamToken: upstreamToken})
	require.NoError(t, err)
	defer s.Close()
	capt := &capture{next: s}
	srv := httptest.NewServer(capt)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventConsoleAPICalled); ok {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value))
			}
			t.Logf("page console.%s: %s", e.Type, strings.Join(parts, " "))
		}
	}))
	defer cancelBrowser()

	const first, secondA, secondB = 20, 3, 4
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(fmt.Sprintf("%s/?n=%d&run=e2e", srv.URL, first)),
		chromedp.Poll[chromedp.Void](`document.getElementById('status').dataset.state !== 'loading'`),
	))
	state, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('status').dataset.state`))
	require.NoError(t, err)
	status, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('status').textContent`))
	require.NoError(t, err)
	require.Equal(t, "logged", state, "the Go program did not start: %s", status)

	stats, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]float64](`slogotlpStats()`))
	require.NoError(t, err)
	assert.Equal(t, float64(first), stats["handled"])
	got, _ := rc.snapshot()
	require.Empty(t, got, "records left the page before it was hidden: the flush below would prove nothing")

	// Hidden: the visibilitychange listener flushes all queued records.
	require.NoError(t, chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](hideJS)))
	got = waitRecords(t, ctx, rc, first)
	require.Len(t, got, first)

	// The page's flush has finished (its export settled): later records start
	// a new batch. Go in the page is single-threaded, so once JavaScript sees
	// the count the export goroutine is idle again.
	require.NoError(t, chromedp.Do(bctx, chromedp.Poll[chromedp.Void](
		fmt.Sprintf(`(() => { const s = slogotlpStats(); return s.exported === %d && s.queued === 0; })()`, first))))

	// Visible again: no flush, so the records logged before and after it
	// leave together when the page is left (pagehide).
	const second = secondA + secondB
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`slogotlpLog(%d)`, secondA)),
		chromedp.Evaluate[chromedp.Void](showJS),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`slogotlpLog(%d)`, secondB)),
		chromedp.Evaluate[chromedp.Void](`window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: false}))`),
	))
	got = waitRecords(t, ctx, rc, first+second)
	require.Len(t, got, first+second)
	assert.Equal(t, []int{first, second}, rc.batchSizes(),
		"one export when hidden, none when shown again, one on pagehide")

	seen := map[string]int{}
	for _, r := range got {
		assert.Equal(t, "hello from the browser", r.Body)
		assert.Equal(t, "e2e", r.Attrs["run"])
		seen[r.Attrs["i"]]++
		assert.Equal(t, "demo-user", r.Resource["enduser.id"], "the relay stamps the JWT's subject")
		assert.Equal(t, "wasm-example", r.Resource["service.name"])
		assert.Contains(t, r.Resource["user_agent.original"], "Chrome", "resource detection in the browser")
	}
	for i := range first {
		want := 1 // logged once on load, and again by each slogotlpLog call that reached i
		if i < secondA {
			want++
		}
		if i < secondB {
			want++
		}
		assert.Equal(t, want, seen[fmt.Sprint(i)], "record i=%d", i)
	}

	// The relay checks the JWT: forged, missing and wrongly signed tokens are
	// refused, from the same page.
	wrongKey, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "demo-user", "exp": time.Now().Add(time.Minute).Unix(),
	}).SignedString([]byte("a-different-secret-of-32-bytes!!"))
	require.NoError(t, err)
	for _, auth := range []string{"", "Bearer not-a-jwt", "Bearer " + wrongKey, upstreamToken} {
		code, err := chromedp.Run(bctx, chromedp.Evaluate[int](postJS(auth), chromedp.EvalAwaitPromise))
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, code, "Authorization %q", auth)
	}
	_, denied := rc.snapshot()
	assert.Zero(t, denied, "the relay always sends the right write token upstream")

	dom, err := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	assert.NotContains(t, dom, upstreamToken)

	// Everything the browser received, and the requests it made to the relay.
	all := capt.snapshot()
	paths := map[string]int{}
	var exports int
	for _, sv := range all {
		paths[sv.path]++
		assert.NotContains(t, string(sv.body), upstreamToken, "%s %s", sv.method, sv.path)
		for k, vs := range sv.header {
			for _, v := range vs {
				assert.NotContains(t, k+": "+v, upstreamToken, "%s %s", sv.method, sv.path)
			}
		}
		if sv.path == "/api/v1/telemetry/logs" && sv.status == http.StatusOK {
			exports++
			tok, ok := strings.CutPrefix(sv.auth, "Bearer ")
			require.True(t, ok, "the page sends its session JWT as a bearer token")
			claims := jwt.MapClaims{}
			_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return s.secret, nil },
				jwt.WithValidMethods([]string{"HS256"}))
			require.NoError(t, err)
			assert.Equal(t, "demo-user", claims["sub"])
		}
	}
	assert.Equal(t, 1, paths["/"])
	assert.Equal(t, 1, paths["/wasm_exec.js"])
	assert.Equal(t, 1, paths["/app.wasm"])
	assert.Equal(t, 2, exports, "the page's exports all went through the relay")
	assert.NotContains(t, string(wasm), upstreamToken)
}
