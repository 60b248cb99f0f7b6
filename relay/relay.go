package relay

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Paths the Relay serves.
const (
	LogsPath    = "/api/v1/telemetry/logs"
	HealthzPath = "/healthz"
)

// maxUpstreamReply caps how much of the upstream's answer is passed back.
const maxUpstreamReply = 64 << 10

// Relay is an http.Handler that takes OTLP JSON logs from clients holding a
// session JWT and forwards them to Logfire (or any OTLP/HTTP receiver) with
// the server's write token, so the token never leaves the server.
//
// It serves POST /api/v1/telemetry/logs and GET /healthz on those exact
// paths: mount it at the root of a mux (mux.Handle("/api/v1/telemetry/",
// r); mux.Handle("/healthz", r)), not under http.StripPrefix.
// Call Close when done to stop its bucket sweeper.
type Relay struct {
	// cfg sits behind a pointer so that fmt, which cannot call methods on
	// unexported fields, prints an address rather than its secrets.
	cfg    *Config
	log    *slog.Logger
	verify *verifier
	limits *limiter
	mux    *http.ServeMux
	// now is the clock for tokens and buckets.
	now        func() time.Time
	ownsClient bool
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
}

var _ http.Handler = (*Relay)(nil)

// New checks cfg, resolves its defaults and starts the sweeper that drops
// idle rate-limit buckets. The caller's Config is not modified.
func New(cfg Config) (*Relay, error) { return newRelay(cfg, time.Now) }

// newRelay lets tests drive the clock for tokens and buckets.
func newRelay(cfg Config, now func() time.Time) (*Relay, error) {
	owns := cfg.HTTPClient == nil
	c := cfg.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	r := &Relay{
		cfg:        &c,
		log:        c.Logger,
		limits:     newLimiter(c),
		mux:        http.NewServeMux(),
		now:        now,
		ownsClient: owns,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	v, err := newVerifier(c, now)
	if err != nil {
		return nil, err
	}
	r.verify = v
	r.mux.HandleFunc("POST "+LogsPath, r.handleLogs)
	r.mux.HandleFunc("GET "+HealthzPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	go r.sweepLoop()
	return r, nil
}

// ServeHTTP routes to the logs endpoint and the health check.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mux.ServeHTTP(w, req)
}

// Close stops the bucket sweeper and drops idle upstream connections. It does
// not wait for requests in flight: shut the http.Server down first. Calling
// it again does nothing.
func (r *Relay) Close() {
	r.closeOnce.Do(func() {
		close(r.stop)
		<-r.done
		if r.ownsClient {
			r.cfg.HTTPClient.CloseIdleConnections()
		}
	})
}

func (r *Relay) sweepLoop() {
	defer close(r.done)
	t := time.NewTicker(r.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			n := r.limits.sweep(r.now())
			r.log.Debug("relay: swept rate-limit buckets", slog.Int("remaining", n))
		}
	}
}

func (r *Relay) handleLogs(w http.ResponseWriter, req *http.Request) {
	id, err := r.verify.verify(req)
	if err != nil {
		r.log.Info("relay: rejected a request without a valid token",
			slog.String("reason", authReason(err)), slog.String("remote", req.RemoteAddr))
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	if ok, wait := r.limits.allow(id.user, id.bucket, r.now()); !ok {
		secs := int64((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		r.log.Debug("relay: rate limited", slog.String("user", id.user), slog.Duration("wait", wait))
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return
	}
	sent, plain, gz, err := readBody(w, req, r.cfg.MaxBodyBytes)
	if err == nil {
		var stamp []byte
		if !r.cfg.DisableIdentityStamping {
			stamp = stampAttrs(id)
		}
		var out []byte
		out, err = inspect(plain, stamp)
		if err == nil && stamp != nil {
			sent = out
			if gz {
				sent, err = r.gzip(out)
			}
		}
	}
	if err != nil {
		se, ok := errors.AsType[*statusError](err)
		if !ok {
			se = &statusError{http.StatusInternalServerError, "internal error"}
		}
		r.log.Info("relay: refused a request body", slog.String("user", id.user),
			slog.Int("status", se.status), slog.String("reason", se.msg))
		writeError(w, se.status, se.msg)
		return
	}
	r.forward(w, req, sent, gz, id)
}

func (r *Relay) gzip(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (r *Relay) forward(w http.ResponseWriter, req *http.Request, body []byte, gz bool, id identity) {
	ctx, cancel := context.WithTimeout(req.Context(), r.cfg.UpstreamTimeout)
	defer cancel()
	up, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Upstream, bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	up.Header.Set("Content-Type", "application/json")
	up.Header.Set("User-Agent", "slogotlp-relay")
	if gz {
		up.Header.Set("Content-Encoding", "gzip")
	}
	if r.cfg.UpstreamToken.Reveal() != "" {
		up.Header.Set("Authorization", r.cfg.UpstreamToken.Reveal())
	}
	start := time.Now()
	resp, err := r.cfg.HTTPClient.Do(up)
	var reply []byte
	if err == nil {
		reply, err = io.ReadAll(io.LimitReader(resp.Body, maxUpstreamReply))
		_ = resp.Body.Close()
	}
	elapsed := time.Since(start)
	if err != nil {
		switch {
		case req.Context().Err() != nil:
			r.log.Debug("relay: client went away", slog.String("user", id.user))
		case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			r.log.Warn("relay: upstream timed out", slog.Duration("timeout", r.cfg.UpstreamTimeout))
			writeError(w, http.StatusGatewayTimeout, "upstream timed out")
		default:
			// The error names the upstream URL, which holds no secret.
			r.log.Error("relay: upstream unreachable", slog.String("error", err.Error()))
			writeError(w, http.StatusBadGateway, "upstream unreachable")
		}
		return
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	switch {
	case resp.StatusCode >= 500:
		r.log.Warn("relay: upstream failed", slog.Int("status", resp.StatusCode))
		writeError(w, http.StatusBadGateway, "upstream error")
		return
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// Passing this on would tell the client its own token is bad.
		r.log.Error("relay: upstream refused the relay's write token; check LOGFIRE_TOKEN",
			slog.Int("status", resp.StatusCode))
		writeError(w, http.StatusBadGateway, "upstream refused the relay's credentials")
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(reply)
	r.log.Debug("relay: forwarded", slog.String("user", id.user), slog.Int("status", resp.StatusCode),
		slog.Int("bytes", len(body)), slog.Duration("upstream_latency", elapsed))
}

func authReason(err error) string {
	switch {
	case errors.Is(err, errNoBearer):
		return "missing bearer token"
	case errors.Is(err, errNoSubject):
		return "no sub claim"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable (algorithm or key)"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "missing exp"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	}
	return "invalid"
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, `{"error":`+strconv.Quote(msg)+`}`)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
