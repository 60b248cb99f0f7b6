package relay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/soliplex/slogotlp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]string
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(keys ...map[string]string) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

func rsaJWK(kid, alg string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "alg": alg, "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(t *testing.T, kid, crv string, k *ecdsa.PublicKey) map[string]string {
	b, err := k.Bytes()
	require.NoError(t, err)
	n := (len(b) - 1) / 2
	return map[string]string{"kty": "EC", "kid": kid, "crv": crv,
		"x": base64.RawURLEncoding.EncodeToString(b[1 : 1+n]),
		"y": base64.RawURLEncoding.EncodeToString(b[1+n:])}
}

func kidToken(t *testing.T, m jwt.SigningMethod, key any, kid string) string {
	tok := jwt.NewWithClaims(m, claims("alice", ""))
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestJWKS(t *testing.T) {
	u := newUpstream(t)
	js := newJWKSServer(t)
	rk, _ := rsaKeys(t)
	ek, _ := ecKeys(t, elliptic.P384())
	js.set(rsaJWK("r1", "RS256", &rk.PublicKey), ecJWK(t, "e1", "P-384", &ek.PublicKey),
		map[string]string{"kty": "oct", "kid": "h1", "k": base64.RawURLEncoding.EncodeToString([]byte(testSecret))})
	clock := &fakeClock{t: time.Now()}
	r := newTestRelayClock(t, u, func(c *Config) {
		c.JWTSecret = slogotlp.NewSecret("")
		c.JWKSURL = js.URL
		c.JWKSRefresh = time.Minute
		c.HTTPClient = http.DefaultClient
	}, clock.Now)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	body := []byte(`{"resourceLogs":[]}`)

	assert.Equal(t, http.StatusOK, post(t, r, kidToken(t, jwt.SigningMethodRS256, rk, "r1"), body, nil).Code)
	assert.Equal(t, http.StatusOK, post(t, r, kidToken(t, jwt.SigningMethodES384, ek, "e1"), body, nil).Code)
	assert.EqualValues(t, 1, js.fetches.Load(), "keys are cached")

	for name, tok := range map[string]string{
		"alg differs from the JWK's alg": kidToken(t, jwt.SigningMethodPS256, rk, "r1"),
		"EC kid with an RSA alg":         kidToken(t, jwt.SigningMethodRS256, rk, "e1"),
		"oct key is never used":          kidToken(t, jwt.SigningMethodHS256, []byte(testSecret), "h1"),
		"no kid with several keys":       kidToken(t, jwt.SigningMethodRS256, rk, ""),
		"alg none":                       noneToken(t),
	} {
		assert.Equal(t, http.StatusUnauthorized, post(t, r, tok, body, nil).Code, name)
	}
	before := js.fetches.Load()
	for range 20 {
		assert.Equal(t, http.StatusUnauthorized, post(t, r, kidToken(t, jwt.SigningMethodRS256, rk, "unknown"), body, nil).Code)
	}
	assert.LessOrEqual(t, js.fetches.Load()-before, int32(1), "unknown kids do not hammer the JWKS endpoint")

	// Key rotation: a new kid is picked up once the early-refetch window
	// (refresh/10) has passed, without waiting for the full refresh.
	rk2, _ := rsaKeys(t)
	js.set(rsaJWK("r2", "", &rk2.PublicKey))
	clock.Add(7 * time.Second)
	tok2 := kidToken(t, jwt.SigningMethodPS512, rk2, "r2")
	assert.Equal(t, http.StatusOK, post(t, r, tok2, body, nil).Code)
	assert.Equal(t, http.StatusOK, post(t, r, kidToken(t, jwt.SigningMethodRS256, rk2, ""), body, nil).Code, "a lone key needs no kid")
	assert.Equal(t, http.StatusUnauthorized, post(t, r, kidToken(t, jwt.SigningMethodRS256, rk, "r1"), body, nil).Code, "rotated-out key")

	// A JWKS outage keeps the keys we have.
	js.Close()
	clock.Add(2 * time.Minute)
	assert.Equal(t, http.StatusOK, post(t, r, tok2, body, nil).Code)
}

func TestParseJWKSSkipsBadKeys(t *testing.T) {
	rk, _ := rsaKeys(t)
	ek, _ := ecKeys(t, elliptic.P256())
	set := map[string]any{"keys": []map[string]string{
		rsaJWK("ok", "", &rk.PublicKey),
		ecJWK(t, "ec", "P-256", &ek.PublicKey),
		{"kty": "RSA", "kid": "bad-n", "n": "!!", "e": "AQAB"},
		{"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": base64.RawURLEncoding.EncodeToString(make([]byte, 32)), "y": base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
		{"kty": "EC", "kid": "bad-crv", "crv": "P-192"},
		{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
	}}
	b, _ := json.Marshal(set)
	keys, err := parseJWKS(bytesReader(b))
	require.NoError(t, err)
	assert.Len(t, keys, 2)
	assert.Contains(t, keys, "ok")
	assert.Contains(t, keys, "ec")
	_, err = parseJWKS(bytesReader([]byte("nope")))
	assert.Error(t, err)
}
