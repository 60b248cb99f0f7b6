package relay

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/slogotlp"
)

// TestEndToEndProxyExporter: the library's proxy exporter -> the relay ->
// an upstream receiver. Midway the session token expires; the exporter's
// Refresh callback gets a new one on the relay's 401 and delivery goes on
// without losing a record. Later the app replaces the token itself.
func TestEndToEndProxyExporter(t *testing.T) {
	u := newUpstream(t)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	rl := newTestRelayClock(t, u, nil, now)
	srv := httptest.NewServer(rl)
	defer srv.Close()

	mint := func(exp time.Time) string {
		c := claims("alice", "sess-1")
		c["exp"] = exp.Unix()
		return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
	}
	first := mint(now().Add(time.Minute))
	var refreshes atomic.Int32
	var renewed string
	exp, err := slogotlp.NewProxyExporter(srv.URL+LogsPath, first, &slogotlp.ProxyOptions{
		HTTPExporterOptions: slogotlp.HTTPExporterOptions{Client: srv.Client()},
		Refresh: func(context.Context) (string, error) {
			refreshes.Add(1)
			renewed = mint(now().Add(time.Hour))
			return renewed, nil
		},
	})
	require.NoError(t, err)
	var errs []error
	var mu sync.Mutex
	h := slogotlp.NewHandler(exp, &slogotlp.HandlerOptions{
		BatchSize: 50,
		OnError:   func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() },
		Resource:  []slog.Attr{slog.String("service.name", "desktop-app"), slog.String("enduser.id", "mallory")},
	})
	logger := slog.New(h)
	logBatch := func(from int) {
		for i := from; i < from+100; i++ {
			logger.Info("work", "id", i)
		}
		require.NoError(t, h.Flush(context.Background()))
	}

	logBatch(0)
	clock.Add(int64(2 * time.Minute)) // the first token has expired now
	logBatch(100)
	exp.SetToken(mint(now().Add(time.Hour))) // the app renewed its session
	clock.Add(int64(time.Second))
	logBatch(200)
	require.NoError(t, h.Shutdown(context.Background()))

	s := h.Stats()
	assert.Equal(t, uint64(300), s.Exported)
	assert.Zero(t, s.Dropped.Total())
	assert.False(t, s.Fatal)
	assert.Equal(t, int32(1), refreshes.Load(), "one refresh, on the one 401")
	mu.Lock()
	assert.Empty(t, errs)
	mu.Unlock()

	ids := map[string]int{}
	for _, r := range u.requests() {
		assert.Equal(t, serverToken, r.header.Get("Authorization"), "the server's token goes upstream")
		body := r.body
		if r.header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			body, err = io.ReadAll(zr)
			require.NoError(t, err)
		}
		b := string(body)
		for _, tok := range []string{first, renewed} {
			assert.NotContains(t, b, tok)
		}
		assert.Contains(t, b, `{"key":"enduser.id","value":{"stringValue":"alice"}}`, "identity stamped from the JWT")
		assert.NotContains(t, b, "mallory", "the client cannot log as someone else")
		for rest := b; ; {
			i := strings.Index(rest, `{"key":"id","value":{"intValue":"`)
			if i < 0 {
				break
			}
			rest = rest[i+len(`{"key":"id","value":{"intValue":"`):]
			ids[rest[:strings.IndexByte(rest, '"')]]++
		}
	}
	assert.Len(t, ids, 300)
	for id, n := range ids {
		assert.Equal(t, 1, n, "record %s", id)
	}
}
