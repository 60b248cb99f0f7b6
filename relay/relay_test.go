package relay

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/soliplex/slogotlp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestForwardsStampedBodyWithServerToken(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, nil)
	tok := hsToken(t, "alice", "sess-1")

	rec := post(t, r, tok, []byte(sampleBody), map[string]string{"X-Custom": "client"})

	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"partialSuccess":{}}`, rec.Body.String(), "upstream body is passed back")
	reqs := u.requests()
	require.Len(t, reqs, 1)
	want := strings.Replace(sampleBody,
		`{"key":"enduser.id","value":{"stringValue":"mallory"}}]`,
		`{"key":"enduser.id","value":{"stringValue":"alice"}},{"key":"session.id","value":{"stringValue":"sess-1"}}]`, 1)
	assert.Equal(t, want, string(reqs[0].body), "only the resource attributes change")
	assert.Equal(t, serverToken, reqs[0].header.Get("Authorization"))
	assert.NotContains(t, strings.Join(reqs[0].header.Values("Authorization"), " "), tok)
	assert.Empty(t, reqs[0].header.Get("X-Custom"), "client headers are not forwarded")
	assert.Equal(t, "application/json", reqs[0].header.Get("Content-Type"))
}

func TestForwardsByteForByteWhenStampingDisabled(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, func(c *Config) { c.DisableIdentityStamping = true })
	body := "{ \"resourceLogs\" : [ " + sampleBody[len(`{"resourceLogs":[`):]
	body = strings.TrimSuffix(body, "]}") + " ] }\n"

	rec := post(t, r, hsToken(t, "alice", ""), []byte(body), nil)

	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, u.requests(), 1)
	assert.Equal(t, body, string(u.requests()[0].body))
}

func TestStampingShapes(t *testing.T) {
	alice := `{"key":"enduser.id","value":{"stringValue":"alice"}}`
	tests := []struct {
		name, sid, in, want string
	}{
		{"no resource", "s", `{"resourceLogs":[{"scopeLogs":[]}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `,{"key":"session.id","value":{"stringValue":"s"}}]},"scopeLogs":[]}]}`},
		{"empty element", "", `{"resourceLogs":[{}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `]}}]}`},
		{"null resource", "", `{"resourceLogs":[{"resource":null}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `]}}]}`},
		{"resource without attributes", "", `{"resourceLogs":[{"resource":{"droppedAttributesCount":0}}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `],"droppedAttributesCount":0}}]}`},
		{"empty resource", "", `{"resourceLogs":[{"resource":{}}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `]}}]}`},
		{"spoofed session dropped, escaped key", "", `{"resourceLogs":[{"resource":{"attributes":[{"key":"session\u002eid","value":{"stringValue":"x"}},{"key":"a","value":{"intValue":"1"}}]}}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[{"key":"a","value":{"intValue":"1"}},` + alice + `]}}]}`},
		{"every resourceLogs entry", "", `{"resourceLogs":[{},{"resource":{"attributes":[]}}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `]}},{"resource":{"attributes":[` + alice + `]}}]}`},
		{"no entries", "", `{"resourceLogs":[]}`, `{"resourceLogs":[]}`},
		{"spoofed identity in scope and record attributes dropped", "",
			`{"resourceLogs":[{"resource":{"attributes":[]},"scopeLogs":[{"scope":{"name":"s","attributes":[{"key":"enduser.id","value":{"stringValue":"mallory"}},{"key":"k","value":{"intValue":"1"}}]},` +
				`"logRecords":[{"body":{"stringValue":"enduser.id"},"attributes":[{"key":"session.id","value":{"stringValue":"x"}},{"key":"enduser\u002eid","value":{"stringValue":"m"}}]},{"attributes":[{"key":"ok","value":{"boolValue":true}}]}]}]}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `]},"scopeLogs":[{"scope":{"name":"s","attributes":[{"key":"k","value":{"intValue":"1"}}]},` +
				`"logRecords":[{"body":{"stringValue":"enduser.id"},"attributes":[]},{"attributes":[{"key":"ok","value":{"boolValue":true}}]}]}]}]}`},
		{"proto field names too", "", `{"resourceLogs":[{"scope_logs":[{"log_records":[{"attributes":[{"key":"enduser.id","value":{"stringValue":"m"}}]}]}]}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `]},"scope_logs":[{"log_records":[{"attributes":[]}]}]}]}`},
		{"null scope and records", "", `{"resourceLogs":[{"scopeLogs":[{"scope":null,"logRecords":null},{}]}]}`,
			`{"resourceLogs":[{"resource":{"attributes":[` + alice + `]},"scopeLogs":[{"scope":null,"logRecords":null},{}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := inspect([]byte(tt.in), stampAttrs(identity{user: "alice", session: tt.sid}))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(out))
			assert.True(t, json.Valid(out))
		})
	}
}

func TestSessionFallsBackToJTI(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, nil)
	c := claims("bob", "")
	c["jti"] = "jti-7"
	rec := post(t, r, sign(t, jwt.SigningMethodHS256, []byte(testSecret), c), []byte(`{"resourceLogs":[{}]}`), nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, string(u.requests()[0].body), `{"key":"session.id","value":{"stringValue":"jti-7"}}`)
}

func TestGzipBodyIsStampedAndRecompressed(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, nil)
	rec := post(t, r, hsToken(t, "alice", ""), gz(t, []byte(sampleBody)), map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	req := u.requests()[0]
	assert.Equal(t, "gzip", req.header.Get("Content-Encoding"))
	plain := string(gunzip(t, req.body))
	assert.Contains(t, plain, `{"key":"enduser.id","value":{"stringValue":"alice"}}`)
	assert.NotContains(t, plain, "mallory")
}

func TestGzipForwardedAsSentWhenStampingDisabled(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, func(c *Config) { c.DisableIdentityStamping = true })
	body := gz(t, []byte(sampleBody))
	rec := post(t, r, hsToken(t, "alice", ""), body, map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, body, u.requests()[0].body)
}

// rsaKeys returns a key pair and the public key in PEM form.
func rsaKeys(t testing.TB) (*rsa.PrivateKey, []byte) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return k, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func ecKeys(t testing.TB, c elliptic.Curve) (*ecdsa.PrivateKey, []byte) {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return k, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func noneToken(t testing.TB) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims("alice", "")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	return s
}

func TestUnauthorized(t *testing.T) {
	u := newUpstream(t)
	hs := newTestRelay(t, u, nil)
	rsaKey, rsaPEM := rsaKeys(t)
	rs := newTestRelay(t, u, func(c *Config) { c.JWTSecret = slogotlp.NewSecret(""); c.JWTPublicKeyPEM = rsaPEM })
	ecKey, ecPEM := ecKeys(t, elliptic.P256())
	es := newTestRelay(t, u, func(c *Config) { c.JWTSecret = slogotlp.NewSecret(""); c.JWTPublicKeyPEM = ecPEM })
	otherEC, _ := ecKeys(t, elliptic.P384())

	mod := func(f func(jwt.MapClaims)) jwt.MapClaims { c := claims("alice", ""); f(c); return c }
	hsSign := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c) }
	valid := hsToken(t, "alice", "")
	tests := []struct {
		name   string
		relay  *Relay
		header string
	}{
		{"missing", hs, ""},
		{"not bearer", hs, "Basic " + valid},
		{"empty bearer", hs, "Bearer "},
		{"malformed", hs, "Bearer not.a.jwt"},
		{"garbage", hs, "Bearer \x00\xff"},
		{"bad signature", hs, "Bearer " + valid[:len(valid)-2] + "AA"},
		{"other secret", hs, "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-that-is-long-enough!!"), claims("alice", ""))},
		{"expired beyond skew", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))},
		{"not yet valid", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Minute).Unix() }))},
		{"no exp", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) { delete(c, "exp") }))},
		{"iat in the future", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Minute).Unix() }))},
		{"lifetime beyond the maximum", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) {
			c["iat"] = time.Now().Add(-time.Hour).Unix()
			c["exp"] = time.Now().Add(DefaultMaxTokenLife).Unix()
		}))},
		{"no iat, exp beyond the maximum", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(DefaultMaxTokenLife + time.Hour).Unix() }))},
		{"no sub", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) { delete(c, "sub") }))},
		{"wrong issuer", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) { c["iss"] = "https://evil" }))},
		{"wrong audience", hs, "Bearer " + hsSign(mod(func(c jwt.MapClaims) { c["aud"] = "other" }))},
		{"alg none", hs, "Bearer " + noneToken(t)},
		{"alg none on rsa", rs, "Bearer " + noneToken(t)},
		{"HS256 signed with the RSA public key", rs, "Bearer " + sign(t, jwt.SigningMethodHS256, rsaPEM, claims("alice", ""))},
		{"RS256 on an HMAC relay", hs, "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, claims("alice", ""))},
		{"HS256 signed with the EC public key", es, "Bearer " + sign(t, jwt.SigningMethodHS256, ecPEM, claims("alice", ""))},
		{"ES384 on a P-256 key", es, "Bearer " + sign(t, jwt.SigningMethodES384, otherEC, claims("alice", ""))},
		{"RS256 on an EC relay", es, "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, claims("alice", ""))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.header != "" {
				hdr["Authorization"] = tt.header
			}
			rec := post(t, tt.relay, "", []byte(sampleBody), hdr)
			assert.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.JSONEq(t, `{"error":"unauthorized"}`, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		})
	}
	assert.Empty(t, u.requests(), "nothing unauthenticated reaches the upstream")

	// The same relays take correctly signed tokens, so the 401s above are
	// about the token, not the setup.
	for _, ok := range []struct {
		r   *Relay
		tok string
	}{
		{hs, valid},
		{hs, hsSign(mod(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-5 * time.Second).Unix() }))}, // within skew
		{hs, hsSign(mod(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(5 * time.Second).Unix() }))},  // within skew
		{hs, hsSign(mod(func(c jwt.MapClaims) { // a full day, issued an hour ago
			c["iat"] = time.Now().Add(-time.Hour).Unix()
			c["exp"] = time.Now().Add(DefaultMaxTokenLife - 2*time.Hour).Unix()
		}))},
		{rs, sign(t, jwt.SigningMethodRS256, rsaKey, claims("alice", ""))},
		{rs, sign(t, jwt.SigningMethodPS384, rsaKey, claims("alice", ""))},
		{es, sign(t, jwt.SigningMethodES256, ecKey, claims("alice", ""))},
	} {
		rec := post(t, ok.r, ok.tok, []byte(sampleBody), nil)
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
}

// TestMaxTokenLifetimeIsConfigurable: a relay told to take tokens of at
// most an hour refuses a two-hour one that the default would take.
func TestMaxTokenLifetimeIsConfigurable(t *testing.T) {
	u := newUpstream(t)
	short := newTestRelay(t, u, func(c *Config) { c.MaxTokenLifetime = time.Hour })
	c := claims("alice", "")
	c["iat"] = time.Now().Unix()
	c["exp"] = time.Now().Add(2 * time.Hour).Unix()
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
	assert.Equal(t, http.StatusUnauthorized, post(t, short, tok, []byte(sampleBody), nil).Code)
	assert.Equal(t, http.StatusOK, post(t, newTestRelay(t, u, nil), tok, []byte(sampleBody), nil).Code)
}

func TestBodyTooLarge(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, nil)
	tok := hsToken(t, "alice", "")
	big := append([]byte(`{"resourceLogs":[],"pad":"`), bytes.Repeat([]byte("a"), DefaultMaxBodyBytes)...)
	big = append(big, `"}`...)

	t.Run("declared length", func(t *testing.T) {
		assert.Equal(t, http.StatusRequestEntityTooLarge, post(t, r, tok, big, nil).Code)
	})
	t.Run("chunked", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, LogsPath, io.MultiReader(bytes.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})
	t.Run("gzip bomb", func(t *testing.T) {
		bomb := gz(t, big) // about 1 KiB that inflates past the cap
		require.Less(t, len(bomb), 8<<10)
		rec := post(t, r, tok, bomb, map[string]string{"Content-Encoding": "gzip"})
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})
	t.Run("gzip within the cap", func(t *testing.T) {
		ok := append([]byte(`{"resourceLogs":[],"pad":"`), bytes.Repeat([]byte("a"), DefaultMaxBodyBytes-100)...)
		ok = append(ok, `"}`...)
		rec := post(t, r, tok, gz(t, ok), map[string]string{"Content-Encoding": "gzip"})
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	})
	assert.Len(t, u.requests(), 1, "only the body within the cap was forwarded")
}

func TestBodyTooLargeIsNotReadToTheEnd(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, func(c *Config) { c.MaxBodyBytes = 1024 })
	cr := &countingReader{r: bytes.NewReader(make([]byte, 1<<20))}
	req := httptest.NewRequest(http.MethodPost, LogsPath, cr)
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+hsToken(t, "alice", ""))
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Less(t, cr.n, 64<<10, "the relay stops reading soon after the cap")
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestBadBodies(t *testing.T) {
	u := newUpstream(t)
	for _, stamping := range []bool{true, false} {
		r := newTestRelay(t, u, func(c *Config) { c.DisableIdentityStamping = !stamping })
		tok := hsToken(t, "alice", "")
		for _, body := range []string{
			``, `not json`, `[]`, `{}`, `{"resourceSpans":[]}`, `{"resource_logs":[{}]}`, `{"resourceLogs":[],"ResourceLogs":[{}]}`,
			`{"resourceLogs":{}}`, `{"resourceLogs":null}`, `{"resourceLogs":[1]}`,
			`{"resourceLogs":[]} trailing`, `{"resourceLogs":[],"resourceLogs":[]}`,
			`{"resourceLogs":[{"resource":"x"}]}`, `{"resourceLogs":[{"scopeLogs":{}}]}`, `{"resourceLogs":[{"ScopeLogs":[]}]}`,
			`{"resourceLogs":[{"resource":{},"resource":{}}]}`, `{"resourceLogs":[{"resource":{"attributes":[]}}`,
		} {
			rec := post(t, r, tok, []byte(body), nil)
			assert.Equal(t, http.StatusBadRequest, rec.Code, "stamping=%v body %q", stamping, body)
		}
		rec := post(t, r, tok, []byte(`{"resourceLogs":[]}`), map[string]string{"Content-Type": "application/x-protobuf"})
		assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
		rec = post(t, r, tok, []byte(`{"resourceLogs":[]}`), map[string]string{"Content-Encoding": "br"})
		assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
		rec = post(t, r, tok, []byte(`not gzip`), map[string]string{"Content-Encoding": "gzip"})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
	}
	// Attribute shapes are only looked at when stamping.
	r := newTestRelay(t, u, nil)
	for _, body := range []string{
		`{"resourceLogs":[{"resource":{"attributes":"x"}}]}`,
		`{"resourceLogs":[{"resource":{"attributes":[1]}}]}`,
		`{"resourceLogs":[{"resource":{"attributes":[{"key":1}]}}]}`,
		`{"resourceLogs":[{"resource":{"attributes":[{"key":"enduser.id","key":"x"}]}}]}`,
		`{"resourceLogs":[{"resource":{"attributes":[],"attributes":[]}}]}`,
		`{"resourceLogs":[{"Resource":{}}]}`, `{"resourceLogs":[{"resource":{"Attributes":[]}}]}`,
		`{"resourceLogs":[{"resource":{"attributes":[{"KEY":"enduser.id"}]}}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"scope":{"attributes":[1]}}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"scope":"x"}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"LogRecords":[]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":{}}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[1]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[],"logRecords":[]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"Attributes":[]}]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"Key":"session.id"}]}]}]}]}`,
	} {
		assert.Equal(t, http.StatusBadRequest, post(t, r, hsToken(t, "a", ""), []byte(body), nil).Code, body)
	}
	assert.Empty(t, u.requests())
}

func TestRateLimits(t *testing.T) {
	u := newUpstream(t)
	clock := &fakeClock{t: time.Now()}
	r := newTestRelayClock(t, u, func(c *Config) {
		c.UserRate, c.UserBurst = 1, 3
		c.SessionRate, c.SessionBurst = 0.5, 2
	}, clock.Now)
	s1, s2 := hsToken(t, "alice", "s1"), hsToken(t, "alice", "s2")
	body := []byte(`{"resourceLogs":[]}`)

	assert.Equal(t, http.StatusOK, post(t, r, s1, body, nil).Code)
	assert.Equal(t, http.StatusOK, post(t, r, s1, body, nil).Code)
	rec := post(t, r, s1, body, nil)
	require.Equal(t, http.StatusTooManyRequests, rec.Code, "session burst is 2")
	assert.Equal(t, "2", rec.Header().Get("Retry-After"), "one token at 0.5/s takes 2s")
	assert.JSONEq(t, `{"error":"rate limit exceeded"}`, rec.Body.String())

	assert.Equal(t, http.StatusOK, post(t, r, s2, body, nil).Code, "another session of the same user")
	rec = post(t, r, s2, body, nil)
	require.Equal(t, http.StatusTooManyRequests, rec.Code, "user burst is 3")
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusOK, post(t, r, hsToken(t, "bob", "s1"), body, nil).Code, "users do not share buckets, even with the same sid")

	clock.Add(2 * time.Second)
	assert.Equal(t, http.StatusOK, post(t, r, s1, body, nil).Code, "buckets refill with time")
	assert.Len(t, u.requests(), 5)
}

func TestSessionBucketFallsBackToTheToken(t *testing.T) {
	u := newUpstream(t)
	clock := &fakeClock{t: time.Now()}
	r := newTestRelayClock(t, u, func(c *Config) { c.SessionRate, c.SessionBurst = 0.1, 1 }, clock.Now)
	t1 := hsToken(t, "alice", "")
	c := claims("alice", "")
	c["iat"] = time.Now().Unix() - 1 // a different token for the same user
	t2 := sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
	body := []byte(`{"resourceLogs":[]}`)
	assert.Equal(t, http.StatusOK, post(t, r, t1, body, nil).Code)
	assert.Equal(t, http.StatusTooManyRequests, post(t, r, t1, body, nil).Code)
	assert.Equal(t, http.StatusOK, post(t, r, t2, body, nil).Code)
}

func TestLimiterStaysBoundedWithManyUsers(t *testing.T) {
	l := newLimiter(Config{}.withDefaults())
	now := time.Now()
	for round := range 5 {
		for i := range 10_000 {
			user := "user-" + strconv.Itoa(round) + "-" + strconv.Itoa(i)
			ok, _ := l.allow(user, user+"/s", now)
			require.True(t, ok)
		}
		users, sessions := l.size()
		require.Equal(t, 10_000, users)
		require.Equal(t, 10_000, sessions)
		assert.Equal(t, 20_000, l.sweep(now), "buckets in use are kept")
		now = now.Add(5 * time.Second) // longer than burst/rate for both buckets
		assert.Equal(t, 0, l.sweep(now), "refilled buckets are dropped")
	}
	// A dropped bucket comes back full, which is what it held anyway.
	ok, _ := l.allow("user-0-0", "s", now)
	assert.True(t, ok)
}

func TestSweepKeepsBucketsThatAreNotFull(t *testing.T) {
	l := newLimiter(Config{UserRate: 1, UserBurst: 2, SessionRate: 1, SessionBurst: 2}.withDefaults())
	now := time.Now()
	l.allow("u", "s", now)
	assert.Equal(t, 2, l.sweep(now.Add(500*time.Millisecond)))
	assert.Equal(t, 0, l.sweep(now.Add(time.Second)))
}

func TestSweeperRuns(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, func(c *Config) { c.SweepInterval = time.Millisecond; c.UserRate = 1000; c.SessionRate = 1000 })
	require.Equal(t, http.StatusOK, post(t, r, hsToken(t, "alice", ""), []byte(`{"resourceLogs":[]}`), nil).Code)
	assert.Eventually(t, func() bool { u, s := r.limits.size(); return u+s == 0 }, 5*time.Second, time.Millisecond)
}

func TestUpstreamStatusMapping(t *testing.T) {
	tests := []struct {
		status     int
		reply      string
		retryAfter string
		want       int
		wantBody   string
	}{
		{http.StatusOK, `{"partialSuccess":{"rejectedLogRecords":"2"}}`, "", 200, `{"partialSuccess":{"rejectedLogRecords":"2"}}`},
		{http.StatusBadRequest, `{"code":3}`, "", 400, `{"code":3}`},
		{http.StatusTooManyRequests, `{}`, "7", 429, `{}`},
		{http.StatusInternalServerError, `internal detail`, "", 502, `{"error":"upstream error"}`},
		{http.StatusServiceUnavailable, ``, "3", 502, `{"error":"upstream error"}`},
		{http.StatusUnauthorized, `bad token`, "", 502, `{"error":"upstream refused the relay's credentials"}`},
		{http.StatusForbidden, ``, "", 502, `{"error":"upstream refused the relay's credentials"}`},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			u := newUpstream(t)
			u.status, u.reply = tt.status, tt.reply
			if tt.retryAfter != "" {
				u.header = map[string]string{"Retry-After": tt.retryAfter}
			}
			r := newTestRelay(t, u, nil)
			rec := post(t, r, hsToken(t, "alice", ""), []byte(sampleBody), nil)
			assert.Equal(t, tt.want, rec.Code)
			assert.Equal(t, tt.wantBody, rec.Body.String())
			assert.Equal(t, tt.retryAfter, rec.Header().Get("Retry-After"))
		})
	}
}

func TestUpstreamTimeoutIs504(t *testing.T) {
	u := newUpstream(t)
	u.block = make(chan struct{})
	defer close(u.block)
	r := newTestRelay(t, u, func(c *Config) { c.UpstreamTimeout = 50 * time.Millisecond })
	rec := post(t, r, hsToken(t, "alice", ""), []byte(sampleBody), nil)
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	assert.JSONEq(t, `{"error":"upstream timed out"}`, rec.Body.String())
}

func TestUpstreamUnreachableIs502(t *testing.T) {
	u := newUpstream(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	r := newTestRelay(t, u, func(c *Config) { c.Upstream = "http://" + addr + "/v1/logs" })
	rec := post(t, r, hsToken(t, "alice", ""), []byte(sampleBody), nil)
	assert.Equal(t, http.StatusBadGateway, rec.Code)
}

func TestHealthzAndRoutes(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, nil)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, HealthzPath, nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"status":"ok"}`, rec.Body.String())

	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, LogsPath, nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

func TestNoUpstreamTokenSendsNoAuthorization(t *testing.T) {
	u := newUpstream(t)
	r := newTestRelay(t, u, func(c *Config) { c.UpstreamToken = slogotlp.NewSecret("") })
	require.Equal(t, http.StatusOK, post(t, r, hsToken(t, "alice", ""), []byte(sampleBody), nil).Code)
	assert.Empty(t, u.requests()[0].header.Values("Authorization"))
}

func TestGracefulShutdownFinishesInFlightRequest(t *testing.T) {
	u := newUpstream(t)
	u.block, u.seen = make(chan struct{}), make(chan struct{}, 1)
	r := newTestRelay(t, u, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: r, ReadHeaderTimeout: time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+l.Addr().String()+LogsPath, strings.NewReader(sampleBody))
		req.Header.Set("Authorization", "Bearer "+hsToken(t, "alice", ""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		_ = resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	<-u.seen // the request is at the upstream
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	assert.Eventually(t, func() bool {
		_, err := net.Dial("tcp", l.Addr().String())
		return err != nil
	}, 5*time.Second, time.Millisecond, "the listener closes at once")
	close(u.block)
	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, http.StatusOK, res.status, "the in-flight request completes")
	assert.NoError(t, <-shut)
	assert.ErrorIs(t, <-served, http.ErrServerClosed)
	http.DefaultClient.CloseIdleConnections()
}

func TestOwnLogsHoldNoSecrets(t *testing.T) {
	u := newUpstream(t)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := newTestRelay(t, u, func(c *Config) { c.Logger = logger })
	tok := hsToken(t, "alice", "")
	post(t, r, tok, []byte(sampleBody), nil)                                       // ok
	post(t, r, tok[:len(tok)-3]+"xyz", []byte(sampleBody), nil)                    // 401
	post(t, r, "eyJhbGciOiJIUzI1NiJ9.eyJ4Ijoi.SECRETSIG", []byte(sampleBody), nil) // malformed
	post(t, r, tok, []byte(`{"x":"SECRET-BODY"}`), nil)                            // 400
	u.status = http.StatusUnauthorized
	post(t, r, tok, []byte(sampleBody), nil) // upstream 401
	logger.Info("config", "cfg", r)

	out := buf.String()
	require.NotEmpty(t, out)
	for _, secret := range []string{serverToken, testSecret, tok, tok[len(tok)-20:], "SECRETSIG", "SECRET-BODY", "mallory"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, `"reason":"bad signature"`)
	assert.Contains(t, out, "check LOGFIRE_TOKEN")
}

func TestRedaction(t *testing.T) {
	cfg := Config{UpstreamToken: slogotlp.NewSecret(serverToken), JWTSecret: slogotlp.NewSecret(testSecret), Upstream: "http://127.0.0.1:1/v1/logs"}
	r, err := New(cfg)
	require.NoError(t, err)
	defer r.Close()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cfg", cfg, "relay", r)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cfg", cfg, "relay", r)
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg),
		fmt.Sprint(r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r),
		buf.String(),
	} {
		assert.NotContains(t, s, serverToken)
		assert.NotContains(t, s, testSecret)
		assert.NotContains(t, s, fmt.Sprint([]byte(testSecret))[1:20])
	}
	assert.Contains(t, fmt.Sprint(cfg), "[REDACTED]")
}

func TestNewValidates(t *testing.T) {
	_, rsaPEM := rsaKeys(t)
	for name, cfg := range map[string]Config{
		"no key":       {},
		"two keys":     {JWTSecret: slogotlp.NewSecret(testSecret), JWKSURL: "http://127.0.0.1/jwks"},
		"short secret": {JWTSecret: slogotlp.NewSecret("short")},
		"bad pem":      {JWTPublicKeyPEM: []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")},
		"bad upstream": {JWTSecret: slogotlp.NewSecret(testSecret), Upstream: "ftp://x"},
		"bad jwks url": {JWKSURL: "nope"},
		"token break":  {JWTSecret: slogotlp.NewSecret(testSecret), UpstreamToken: slogotlp.NewSecret("a\nb")},
	} {
		_, err := New(cfg)
		assert.Error(t, err, name)
		if err != nil {
			assert.NotContains(t, err.Error(), testSecret)
		}
	}
	r, err := New(Config{JWTPublicKeyPEM: rsaPEM})
	require.NoError(t, err)
	r.Close()
	r.Close() // idempotent
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	tokFile, keyFile := dir+"/tok", dir+"/key.pem"
	_, rsaPEM := rsaKeys(t)
	require.NoError(t, os.WriteFile(tokFile, []byte(serverToken+"\n"), 0o600))
	require.NoError(t, os.WriteFile(keyFile, rsaPEM, 0o600))
	env := map[string]string{
		"LOGFIRE_TOKEN_FILE":     tokFile,
		"RELAY_UPSTREAM":         "http://127.0.0.1:4318/v1/logs",
		"RELAY_UPSTREAM_TIMEOUT": "3s",
		"RELAY_JWT_PUBLIC_KEY":   keyFile,
		"RELAY_JWT_ISSUER":       testIssuer,
		"RELAY_JWT_AUDIENCE":     testAudience,
		"RELAY_JWT_CLOCK_SKEW":   "5s",
		"RELAY_JWT_MAX_LIFETIME": "90m",
		"RELAY_USER_RATE":        "2.5",
		"RELAY_USER_BURST":       "7",
		"RELAY_SESSION_RATE":     "1",
		"RELAY_SESSION_BURST":    "3",
		"RELAY_MAX_BODY_BYTES":   "2048",
		"RELAY_STAMP_IDENTITY":   "false",
	}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, slogotlp.NewSecret(serverToken), c.UpstreamToken)
	assert.Equal(t, "http://127.0.0.1:4318/v1/logs", c.Upstream)
	assert.Equal(t, 3*time.Second, c.UpstreamTimeout)
	assert.Equal(t, rsaPEM, c.JWTPublicKeyPEM)
	assert.Equal(t, testIssuer, c.Issuer)
	assert.Equal(t, testAudience, c.Audience)
	assert.Equal(t, 5*time.Second, c.ClockSkew)
	assert.Equal(t, 90*time.Minute, c.MaxTokenLifetime)
	assert.InDelta(t, 2.5, float64(c.UserRate), 0)
	assert.Equal(t, 7, c.UserBurst)
	assert.Equal(t, 3, c.SessionBurst)
	assert.Equal(t, int64(2048), c.MaxBodyBytes)
	assert.True(t, c.DisableIdentityStamping)
	r, err := New(c)
	require.NoError(t, err)
	r.Close()

	// The token and the HMAC secret each come from one place: setting both
	// the variable and the file is an error naming them, as in the library.
	both := map[string]string{"LOGFIRE_TOKEN": "x", "LOGFIRE_TOKEN_FILE": tokFile,
		"RELAY_JWT_SECRET": testSecret, "RELAY_JWT_SECRET_FILE": tokFile}
	_, err = ConfigFromEnv(func(k string) string { return both[k] })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "both LOGFIRE_TOKEN and LOGFIRE_TOKEN_FILE are set")
	assert.Contains(t, err.Error(), "both RELAY_JWT_SECRET and RELAY_JWT_SECRET_FILE are set")
	assert.NotContains(t, err.Error(), testSecret)

	empty, err := ConfigFromEnv(func(string) string { return "" })
	require.NoError(t, err)
	assert.False(t, empty.DisableIdentityStamping, "stamping is on by default")

	bad := map[string]string{
		"RELAY_USER_RATE": "-1", "RELAY_UPSTREAM_TIMEOUT": "soon", "RELAY_STAMP_IDENTITY": "maybe", "RELAY_JWT_MAX_LIFETIME": "forever",
		"LOGFIRE_TOKEN_FILE": dir + "/missing", "RELAY_JWT_SECRET": testSecret,
	}
	_, err = ConfigFromEnv(func(k string) string { return bad[k] })
	require.Error(t, err)
	for _, k := range []string{"RELAY_USER_RATE", "RELAY_UPSTREAM_TIMEOUT", "RELAY_STAMP_IDENTITY", "RELAY_JWT_MAX_LIFETIME", "LOGFIRE_TOKEN_FILE"} {
		assert.Contains(t, err.Error(), k)
	}
	assert.NotContains(t, err.Error(), testSecret)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

// TestDefaultUpstreamFollowsTheTokenRegion: with no Upstream, the relay sends
// to the Logfire region its token names, as the library's exporter does.
func TestDefaultUpstreamFollowsTheTokenRegion(t *testing.T) {
	for tok, want := range map[string]string{
		"pylf_v1_eu_abc":        slogotlp.LogfireEUEndpoint,
		"pylf_v1_us_abc":        slogotlp.LogfireUSEndpoint,
		"pylf_v2_stagingeu_abc": "https://logfire-eu.pydantic.info/v1/logs",
		"legacy-token":          slogotlp.LogfireUSEndpoint,
		"":                      slogotlp.LogfireUSEndpoint,
	} {
		assert.Equal(t, want, DefaultUpstream(slogotlp.NewSecret(tok)), tok)
		c := Config{UpstreamToken: slogotlp.NewSecret(tok)}.withDefaults()
		assert.Equal(t, want, c.Upstream, tok)
	}
}
