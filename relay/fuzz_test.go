package relay

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// FuzzRelay sends arbitrary Authorization headers and bodies: the relay must
// never panic, and must never answer 2xx unless the header carries a token
// that an independent parser accepts.
func FuzzRelay(f *testing.F) {
	valid := hsToken(f, "alice", "s")
	f.Add("Bearer "+valid, []byte(sampleBody), false)
	f.Add("Bearer "+valid, []byte(`{"resourceLogs":[{}]}`), true)
	f.Add("Bearer "+valid, []byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"enduser.id"}]}}]}`), false)
	f.Add("Bearer "+noneToken(f), []byte(sampleBody), false)
	f.Add("bearer "+valid[:len(valid)-1], []byte(`{}`), false)
	f.Add("", []byte(`[`), true)

	u := newUpstream(f)
	r := newTestRelay(f, u, func(c *Config) { c.UserRate, c.SessionRate = rate.Inf, rate.Inf })
	check := jwt.NewParser(jwt.WithValidMethods(hmacMethods), jwt.WithExpirationRequired(),
		jwt.WithIssuer(testIssuer), jwt.WithAudience(testAudience), jwt.WithLeeway(time.Minute))

	f.Fuzz(func(t *testing.T, auth string, body []byte, compress bool) {
		req := httptest.NewRequest(http.MethodPost, LogsPath, bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		if compress {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 299 {
			return
		}
		scheme, tok, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			t.Fatalf("2xx without a bearer token: %q", auth)
		}
		if _, err := check.Parse(strings.TrimSpace(tok), func(*jwt.Token) (any, error) { return []byte(testSecret), nil }); err != nil {
			t.Fatalf("2xx for a token the reference parser rejects (%v): %q", err, auth)
		}
	})
}
