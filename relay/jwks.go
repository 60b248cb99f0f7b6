package relay

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	maxJWKSBytes = 1 << 20
	jwksTimeout  = 10 * time.Second
)

// jwks caches the keys of a JSON Web Key Set. Keys are refetched when older
// than refresh, and early (at most once per refresh/10) when a token names a
// kid we don't hold, so a key rotation is picked up without a restart. A
// failed fetch keeps the keys we had.
type jwks struct {
	url     string
	client  *http.Client
	refresh time.Duration
	now     func() time.Time

	mu      sync.Mutex
	keys    map[string]jwkEntry
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt
}

type jwkEntry struct {
	key any // *rsa.PublicKey or *ecdsa.PublicKey
	alg string
}

func newJWKS(url string, client *http.Client, refresh time.Duration, now func() time.Time) *jwks {
	return &jwks{url: url, client: client, refresh: refresh, now: now}
}

func (s *jwks) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	e, err := s.lookup(kid)
	if err != nil {
		return nil, err
	}
	if e.alg != "" && e.alg != t.Method.Alg() {
		return nil, errors.New("token alg differs from the key's alg")
	}
	if err := methodFitsKey(t.Method, e.key); err != nil {
		return nil, err
	}
	return e.key, nil
}

func (s *jwks) lookup(kid string) (jwkEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	// canTry spaces out fetches so that a dead JWKS endpoint or a flood of
	// made-up kids cannot make every request wait on a fetch.
	canTry := s.tried.IsZero() || now.Sub(s.tried) >= s.refresh/10
	if canTry && (s.keys == nil || now.Sub(s.fetched) >= s.refresh) {
		s.fetchLocked(now)
		canTry = false
	}
	if e, ok := s.find(kid); ok {
		return e, nil
	}
	if canTry {
		s.fetchLocked(now)
		if e, ok := s.find(kid); ok {
			return e, nil
		}
	}
	return jwkEntry{}, errors.New("no JWKS key for the token's kid")
}

func (s *jwks) find(kid string) (jwkEntry, bool) {
	if kid == "" {
		if len(s.keys) == 1 {
			for _, e := range s.keys {
				return e, true
			}
		}
		return jwkEntry{}, false
	}
	e, ok := s.keys[kid]
	return e, ok
}

// fetchLocked replaces the key set; on failure it keeps the old one.
func (s *jwks) fetchLocked(now time.Time) {
	s.tried = now
	keys, err := s.fetch()
	if err != nil {
		return
	}
	s.keys = keys
	s.fetched = now
}

func (s *jwks) fetch() (map[string]jwkEntry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS answered %d", resp.StatusCode)
	}
	return parseJWKS(io.LimitReader(resp.Body, maxJWKSBytes))
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS keeps the RSA and EC signature keys it understands and skips the
// rest; symmetric ("oct") keys are never accepted from a URL.
func parseJWKS(r io.Reader) (map[string]jwkEntry, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(r).Decode(&set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := make(map[string]jwkEntry, len(set.Keys))
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		key, err := k.publicKey()
		if err != nil {
			continue
		}
		keys[k.Kid] = jwkEntry{key: key, alg: k.Alg}
	}
	return keys, nil
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func (k jwk) publicKey() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err := b64(k.N)
		if err != nil || len(n) == 0 {
			return nil, errors.New("bad RSA modulus")
		}
		e, err := b64(k.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA exponent")
		}
		exp := new(big.Int).SetBytes(e)
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, errors.New("unsupported curve")
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64(k.X)
		y, err2 := b64(k.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errors.New("bad EC point")
		}
		pt := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(curve, pt)
	}
	return nil, errors.New("unsupported key type")
}
