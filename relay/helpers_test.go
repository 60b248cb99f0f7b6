package relay

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/soliplex/slogotlp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testSecret   = "0123456789abcdef0123456789abcdef-test-secret"
	serverToken  = "pylf_v1_us_SERVERTOKEN"
	testIssuer   = "https://auth.example"
	testAudience = "relay"
)

// got is one request the fake upstream received.
type got struct {
	header http.Header
	body   []byte
}

// upstream is a fake OTLP receiver that records what it receives.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []got
	status int
	reply  string
	header map[string]string
	block  chan struct{} // when non-nil, each request waits for it to close
	seen   chan struct{} // when non-nil, receives one value per request
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{status: http.StatusOK, reply: `{"partialSuccess":{}}`}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, got{r.Header.Clone(), b})
		status, reply, block, seen := u.status, u.reply, u.block, u.seen
		for k, v := range u.header {
			w.Header().Set(k, v)
		}
		u.mu.Unlock()
		if seen != nil {
			seen <- struct{}{}
		}
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []got {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]got(nil), u.reqs...)
}

func newTestRelay(t testing.TB, u *upstream, edit func(*Config)) *Relay {
	t.Helper()
	return newTestRelayClock(t, u, edit, time.Now)
}

func newTestRelayClock(t testing.TB, u *upstream, edit func(*Config), now func() time.Time) *Relay {
	t.Helper()
	cfg := Config{
		Upstream:      u.URL + "/v1/logs",
		UpstreamToken: slogotlp.NewSecret(serverToken),
		JWTSecret:     slogotlp.NewSecret(testSecret),
		Issuer:        testIssuer,
		Audience:      testAudience,
		HTTPClient:    u.Client(),
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := newRelay(cfg, now)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return r
}

func claims(sub, sid string) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub": sub,
		"iss": testIssuer,
		"aud": testAudience,
		"exp": time.Now().Add(time.Hour).Unix(),
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

func sign(t testing.TB, m jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	require.NoError(t, err)
	return s
}

func hsToken(t testing.TB, sub, sid string) string {
	return sign(t, jwt.SigningMethodHS256, []byte(testSecret), claims(sub, sid))
}

const sampleBody = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"app"}},{"key":"enduser.id","value":{"stringValue":"mallory"}}]},"scopeLogs":[{"scope":{"name":"s"},"logRecords":[{"timeUnixNano":"1","severityNumber":9,"body":{"stringValue":"hello SECRET-BODY"}}]}]}]}`

func post(t testing.TB, h http.Handler, token string, body []byte, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, LogsPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

// fakeClock is a settable clock for the relay's tokens and buckets.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
