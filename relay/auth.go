package relay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenBytes bounds the Authorization header we try to parse; real
// session JWTs are far smaller, and parsing cost grows with size.
const maxTokenBytes = 8 << 10

var (
	hmacMethods     = []string{"HS256", "HS384", "HS512"}
	rsaMethods      = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	errNoBearer     = errors.New("no bearer token")
	errNoSubject    = errors.New("token has no sub claim")
	errLongLifetime = errors.New("token lifetime exceeds MaxTokenLifetime")
)

// identity is who a verified token speaks for.
type identity struct {
	user string // sub
	// session is the sid claim, else jti; empty when the token has neither.
	session string
	// bucket keys the per-session rate limit: session, or a hash of the
	// token so that the raw token is never kept in memory longer than a
	// request.
	bucket string
}

type tokenClaims struct {
	jwt.RegisteredClaims
	SID string `json:"sid,omitempty"`
}

// verifier checks bearer tokens against one configured kind of key.
type verifier struct {
	parser      *jwt.Parser
	keyFunc     jwt.Keyfunc
	now         func() time.Time
	maxLifetime time.Duration
	skew        time.Duration
}

func newVerifier(c Config, now func() time.Time) (*verifier, error) {
	var methods []string
	var keyFunc jwt.Keyfunc
	switch {
	case c.JWTSecret.Reveal() != "":
		secret := []byte(c.JWTSecret.Reveal())
		methods = hmacMethods
		keyFunc = func(t *jwt.Token) (any, error) {
			if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
				return nil, errors.New("unexpected signing method")
			}
			return secret, nil
		}
	case len(c.JWTPublicKeyPEM) > 0:
		key, ms, err := parsePublicKeyPEM(c.JWTPublicKeyPEM)
		if err != nil {
			return nil, err
		}
		methods = ms
		keyFunc = func(t *jwt.Token) (any, error) {
			if err := methodFitsKey(t.Method, key); err != nil {
				return nil, err
			}
			return key, nil
		}
	case c.JWKSURL != "":
		ks := newJWKS(c.JWKSURL, c.HTTPClient, c.JWKSRefresh, now)
		methods = append(append([]string(nil), rsaMethods...), "ES256", "ES384", "ES512")
		keyFunc = ks.keyFunc
	default:
		return nil, errors.New("relay: no JWT key configured")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithLeeway(c.ClockSkew),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), // iat in the future (beyond the leeway) is refused
		jwt.WithTimeFunc(now),
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	return &verifier{parser: jwt.NewParser(opts...), keyFunc: keyFunc, now: now, maxLifetime: c.MaxTokenLifetime, skew: c.ClockSkew}, nil
}

// parsePublicKeyPEM accepts an RSA or ECDSA public key and returns the
// algorithms it may verify, so a token can never pick a weaker or different
// family (the HMAC-with-the-public-key confusion).
func parsePublicKeyPEM(b []byte) (any, []string, error) {
	if k, err := jwt.ParseRSAPublicKeyFromPEM(b); err == nil {
		return k, rsaMethods, nil
	}
	if k, err := jwt.ParseECPublicKeyFromPEM(b); err == nil {
		m, err := ecMethodFor(k.Curve)
		if err != nil {
			return nil, nil, err
		}
		return k, []string{m}, nil
	}
	return nil, nil, errors.New("relay: JWTPublicKeyPEM is neither an RSA nor an ECDSA public key in PEM form (PKIX or PKCS#1); check RELAY_JWT_PUBLIC_KEY")
}

func ecMethodFor(c elliptic.Curve) (string, error) {
	switch c {
	case elliptic.P256():
		return "ES256", nil
	case elliptic.P384():
		return "ES384", nil
	case elliptic.P521():
		return "ES512", nil
	}
	return "", errors.New("relay: ECDSA key is not on P-256, P-384 or P-521")
}

// methodFitsKey rejects a token whose algorithm does not belong to the key,
// even when the algorithm is in the parser's allowed list.
func methodFitsKey(m jwt.SigningMethod, key any) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch m.(type) {
		case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
			return nil
		}
	case *ecdsa.PublicKey:
		if want, err := ecMethodFor(k.Curve); err == nil && m.Alg() == want {
			return nil
		}
	}
	return errors.New("signing method does not match the key")
}

// verify checks the request's bearer token. Its error is for the relay's own
// log only: the client always gets the same 401.
func (v *verifier) verify(r *http.Request) (identity, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return identity{}, errNoBearer
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > maxTokenBytes {
		return identity{}, errNoBearer
	}
	var cl tokenClaims
	if _, err := v.parser.ParseWithClaims(tok, &cl, v.keyFunc); err != nil {
		return identity{}, err
	}
	if cl.Subject == "" {
		return identity{}, errNoSubject
	}
	// exp is required, so ExpiresAt is set.
	if cl.IssuedAt != nil {
		if cl.ExpiresAt.Sub(cl.IssuedAt.Time) > v.maxLifetime {
			return identity{}, errLongLifetime
		}
	} else if cl.ExpiresAt.Sub(v.now()) > v.maxLifetime+v.skew {
		return identity{}, errLongLifetime
	}
	id := identity{user: cl.Subject, session: cl.SID}
	if id.session == "" {
		id.session = cl.ID
	}
	if id.session != "" {
		id.bucket = "s:" + id.session
	} else {
		sum := sha256.Sum256([]byte(tok))
		id.bucket = "t:" + hex.EncodeToString(sum[:16])
	}
	// A session belongs to its user: two users sharing a sid value must not
	// share a bucket.
	id.bucket = fmt.Sprintf("%d:%s%s", len(id.user), id.user, id.bucket)
	return id, nil
}
