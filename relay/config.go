package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/soliplex/slogotlp"
	"github.com/soliplex/slogotlp/internal/logfire"
	"golang.org/x/time/rate"
)

// LogfireUSLogs is Pydantic Logfire's US-region OTLP/HTTP logs endpoint, the
// default upstream for a token that names no region.
const LogfireUSLogs = logfire.USBaseURL + logfire.LogsPath

// DefaultUpstream is the upstream of a Config that sets none: the Logfire
// region the write token names in its prefix ("pylf_v1_eu_..." is the EU),
// else LogfireUSLogs, as Logfire's own SDKs choose.
func DefaultUpstream(token slogotlp.Secret) string {
	u, _ := logfire.LogsEndpoint(token.Reveal(), "", "") // no explicit region: cannot fail
	return u
}

// Defaults used where a Config field is zero.
const (
	DefaultUpstreamTimeout = 10 * time.Second
	DefaultMaxBodyBytes    = 1 << 20
	DefaultClockSkew       = 30 * time.Second
	DefaultMaxTokenLife    = 24 * time.Hour
	DefaultUserRate        = 10
	DefaultUserBurst       = 50
	DefaultSessionRate     = 5
	DefaultSessionBurst    = 20
	DefaultJWKSRefresh     = 5 * time.Minute
	DefaultSweepInterval   = time.Minute
)

// MaxHeaderBytes is the http.Server.MaxHeaderBytes a server of the relay
// should set: room for a session token (the relay refuses tokens over
// 8 KiB) and ordinary headers. Go's default, 1 MiB, lets every anonymous
// connection make the server buffer a megabyte before any check runs;
// cmd/relay sets this.
const MaxHeaderBytes = 16 << 10

// Config configures a Relay. The zero value is not usable: exactly one of
// JWTSecret, JWTPublicKeyPEM or JWKSURL must be set, because a relay that
// checks no identity would hand the Logfire write token to anyone.
//
// UpstreamToken and JWTSecret are slogotlp.Secret values: printed with fmt
// (any verb), encoding/json or slog they show as [REDACTED], so it is safe
// to log a Config at start-up.
type Config struct {
	// Upstream is the OTLP/HTTP logs URL the relay forwards to. Default:
	// the Logfire region UpstreamToken names in its prefix
	// ("pylf_v1_eu_..." goes to the EU), else LogfireUSLogs. Point it at a
	// local OpenTelemetry Collector (http://127.0.0.1:4318/v1/logs) for
	// tests.
	Upstream string
	// UpstreamToken is sent raw in the upstream Authorization header, as
	// Logfire expects its write token. Empty sends no Authorization header
	// (a Collector that needs none). Never printed.
	UpstreamToken slogotlp.Secret
	// UpstreamTimeout bounds one upstream request; on expiry the client gets
	// 504. Default: 10s.
	UpstreamTimeout time.Duration
	// HTTPClient sends upstream requests. Default: a client with its own
	// transport (no client-level timeout; UpstreamTimeout applies).
	HTTPClient *http.Client `json:"-"`

	// JWTSecret verifies HS256/HS384/HS512 tokens. Never printed.
	JWTSecret slogotlp.Secret
	// JWTPublicKeyPEM is an RSA or ECDSA public key in PEM form. RSA keys
	// accept RS256/384/512 and PS256/384/512; an ECDSA key accepts only the
	// ES algorithm of its curve (P-256: ES256, P-384: ES384, P-521: ES512).
	JWTPublicKeyPEM []byte
	// JWKSURL is fetched for RSA and EC keys, chosen by the token's kid.
	JWKSURL string
	// JWKSRefresh is how long fetched keys are trusted before a refetch; an
	// unknown kid triggers an early refetch at most once per JWKSRefresh/10.
	// Default: 5m.
	JWKSRefresh time.Duration
	// Issuer, when set, must equal the token's iss claim.
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// ClockSkew is the leeway for exp, nbf and iat. Default: 30s.
	ClockSkew time.Duration
	// MaxTokenLifetime is the longest a token may be valid for: exp - iat,
	// or, for a token without iat, exp - now (plus ClockSkew). A token
	// issued in the future (iat beyond ClockSkew) is refused too. A stolen
	// session token then dies within this time, whatever its issuer wrote
	// in exp. Default: 24h.
	MaxTokenLifetime time.Duration

	// UserRate and UserBurst size the token bucket per user (JWT sub).
	// Defaults: 10 requests/s, burst 50. rate.Inf disables the limit.
	UserRate  rate.Limit
	UserBurst int
	// SessionRate and SessionBurst size the bucket per session (JWT sid,
	// else jti, else the token itself). Defaults: 5 requests/s, burst 20.
	// rate.Inf disables the limit.
	SessionRate  rate.Limit
	SessionBurst int
	// SweepInterval is how often buckets that have refilled are dropped, so
	// memory follows the number of recently active users, not all users
	// ever seen. Default: 1m.
	SweepInterval time.Duration

	// MaxBodyBytes caps the request body, both as sent and after gunzip.
	// Default: 1 MiB.
	MaxBodyBytes int64
	// DisableIdentityStamping forwards bodies byte-for-byte instead of
	// setting enduser.id and session.id in every resource from the token.
	// Leave it off unless the upstream data need not be trusted: with it,
	// a client can log as any user.
	DisableIdentityStamping bool

	// Logger receives the relay's own operational logs (never tokens or
	// bodies). Default: a logger that discards.
	Logger *slog.Logger `json:"-"`
}

// withDefaults returns a copy with every zero field resolved, so the caller's
// struct is never changed.
func (c Config) withDefaults() Config {
	if c.Upstream == "" {
		c.Upstream = DefaultUpstream(c.UpstreamToken)
	}
	c.UpstreamTimeout = positiveOr(c.UpstreamTimeout, DefaultUpstreamTimeout)
	if c.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		c.HTTPClient = &http.Client{Transport: t}
	}
	c.JWKSRefresh = positiveOr(c.JWKSRefresh, DefaultJWKSRefresh)
	c.ClockSkew = positiveOr(c.ClockSkew, DefaultClockSkew)
	c.MaxTokenLifetime = positiveOr(c.MaxTokenLifetime, DefaultMaxTokenLife)
	c.UserRate = positiveOr(c.UserRate, DefaultUserRate)
	c.UserBurst = positiveOr(c.UserBurst, DefaultUserBurst)
	c.SessionRate = positiveOr(c.SessionRate, DefaultSessionRate)
	c.SessionBurst = positiveOr(c.SessionBurst, DefaultSessionBurst)
	c.SweepInterval = positiveOr(c.SweepInterval, DefaultSweepInterval)
	c.MaxBodyBytes = positiveOr(c.MaxBodyBytes, DefaultMaxBodyBytes)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// positiveOr returns v, or def when v is zero or negative.
func positiveOr[T ~int | ~int64 | ~float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (c Config) validate() error {
	n := 0
	if c.JWTSecret.Reveal() != "" {
		n++
	}
	if len(c.JWTPublicKeyPEM) > 0 {
		n++
	}
	if c.JWKSURL != "" {
		n++
	}
	if n != 1 {
		return errors.New("relay: set exactly one of JWTSecret (RELAY_JWT_SECRET), JWTPublicKeyPEM (RELAY_JWT_PUBLIC_KEY) or JWKSURL (RELAY_JWKS_URL)")
	}
	if c.JWTSecret.Reveal() != "" && len(c.JWTSecret.Reveal()) < 32 {
		return errors.New("relay: JWTSecret is shorter than 32 bytes; use a longer random secret")
	}
	u, err := url.Parse(c.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("relay: Upstream %q is not an http(s) URL; set RELAY_UPSTREAM to e.g. %s", c.Upstream, LogfireUSLogs)
	}
	if c.JWKSURL != "" {
		u, err := url.Parse(c.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("relay: JWKSURL %q is not an http(s) URL", c.JWKSURL)
		}
	}
	if strings.ContainsAny(c.UpstreamToken.Reveal(), "\r\n") {
		return errors.New("relay: UpstreamToken contains a line break; check LOGFIRE_TOKEN or the token file")
	}
	return nil
}

// ConfigFromEnv reads the relay's environment variables through getenv
// (os.Getenv in production, a map lookup in tests). It reads the files that
// LOGFIRE_TOKEN_FILE, RELAY_JWT_SECRET_FILE and RELAY_JWT_PUBLIC_KEY name.
// Unset variables leave fields zero, so New applies the defaults.
//
//	LOGFIRE_TOKEN, LOGFIRE_TOKEN_FILE       upstream write token (setting both is an error)
//	RELAY_UPSTREAM                          upstream OTLP/HTTP logs URL
//	RELAY_UPSTREAM_TIMEOUT                  e.g. 10s
//	RELAY_JWT_SECRET, RELAY_JWT_SECRET_FILE HMAC secret (setting both is an error)
//	RELAY_JWT_PUBLIC_KEY                    path of an RSA or ECDSA PEM public key
//	RELAY_JWKS_URL, RELAY_JWKS_REFRESH      JWKS endpoint and cache lifetime
//	RELAY_JWT_ISSUER, RELAY_JWT_AUDIENCE    expected iss and aud
//	RELAY_JWT_CLOCK_SKEW                    leeway for exp/nbf/iat, e.g. 30s
//	RELAY_JWT_MAX_LIFETIME                  longest token lifetime accepted, e.g. 24h
//	RELAY_USER_RATE, RELAY_USER_BURST       per-user requests/s and burst
//	RELAY_SESSION_RATE, RELAY_SESSION_BURST per-session requests/s and burst
//	RELAY_MAX_BODY_BYTES                    body cap, before and after gunzip
//	RELAY_STAMP_IDENTITY                    false forwards bodies unchanged
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	readFile := func(env string) []byte {
		p := get(env)
		if p == "" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("relay: read the file named by %s: %w", env, err))
			return nil
		}
		return b
	}
	dur := func(env string) time.Duration {
		v := get(env)
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("relay: %s=%q is not a duration like 10s", env, v))
			return 0
		}
		return d
	}
	num := func(env string) float64 {
		v := get(env)
		if v == "" {
			return 0
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || math.IsNaN(f) {
			errs = append(errs, fmt.Errorf("relay: %s=%q must be a positive number", env, v))
			return 0
		}
		return f
	}

	tok, _, err := logfire.TokenFromEnv(getenv)
	if err != nil {
		errs = append(errs, fmt.Errorf("relay: %w", err))
	}
	c.UpstreamToken = slogotlp.NewSecret(tok)
	c.Upstream = get("RELAY_UPSTREAM")
	c.UpstreamTimeout = dur("RELAY_UPSTREAM_TIMEOUT")
	if getenv("RELAY_JWT_SECRET") != "" && get("RELAY_JWT_SECRET_FILE") != "" {
		errs = append(errs, errors.New("relay: both RELAY_JWT_SECRET and RELAY_JWT_SECRET_FILE are set: unset one of them"))
	} else if v := getenv("RELAY_JWT_SECRET"); v != "" {
		c.JWTSecret = slogotlp.NewSecret(v)
	} else if b := readFile("RELAY_JWT_SECRET_FILE"); b != nil {
		c.JWTSecret = slogotlp.NewSecret(strings.TrimRight(string(b), "\r\n"))
	}
	c.JWTPublicKeyPEM = readFile("RELAY_JWT_PUBLIC_KEY")
	c.JWKSURL = get("RELAY_JWKS_URL")
	c.JWKSRefresh = dur("RELAY_JWKS_REFRESH")
	c.Issuer = get("RELAY_JWT_ISSUER")
	c.Audience = get("RELAY_JWT_AUDIENCE")
	c.ClockSkew = dur("RELAY_JWT_CLOCK_SKEW")
	c.MaxTokenLifetime = dur("RELAY_JWT_MAX_LIFETIME")
	c.UserRate = rate.Limit(num("RELAY_USER_RATE"))
	c.UserBurst = int(num("RELAY_USER_BURST"))
	c.SessionRate = rate.Limit(num("RELAY_SESSION_RATE"))
	c.SessionBurst = int(num("RELAY_SESSION_BURST"))
	c.MaxBodyBytes = int64(num("RELAY_MAX_BODY_BYTES"))
	if v := get("RELAY_STAMP_IDENTITY"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("relay: RELAY_STAMP_IDENTITY=%q must be true or false", v))
		}
		c.DisableIdentityStamping = err == nil && !on
	}
	return c, errors.Join(errs...)
}
