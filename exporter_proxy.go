package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// ProxyOptions configures NewProxyExporter. A nil or zero value is valid.
type ProxyOptions struct {
	HTTPExporterOptions
	// Refresh, when set, is called once when the relay answers 401: it
	// returns a new session token (a JWT, without "Bearer "), which is stored
	// as if passed to SetToken, and the same request is sent once more. If
	// Refresh fails, returns an empty token, or the relay refuses the new
	// token too, the export is Fatal. It runs on the exporting goroutine with
	// the export's context, so it must honour ctx. Default: nil, so a 401 is
	// Fatal at once.
	Refresh func(ctx context.Context) (string, error) `json:"-"`
}

// ProxyExporter sends OTLP/HTTP JSON to a relay (see the relay package) that
// holds the Logfire write token, for clients that must not: a browser, a
// desktop or mobile app. It authenticates with the user's session token as
// "Authorization: Bearer <token>". The token can be replaced at any time
// with SetToken (after a sign-in or a token refresh), concurrently with
// exports. Statuses map as for HTTPExporter, except that a 401 first tries
// ProxyOptions.Refresh once.
type ProxyExporter struct {
	// A pointer keeps a copied value printing an address, never the token.
	s *proxyState
}

type proxyState struct {
	core    *httpCore
	token   atomic.Pointer[string]
	refresh func(ctx context.Context) (string, error)
	// refreshMu lets one export at a time call Refresh, so that several
	// exports failing together refresh the token once.
	refreshMu sync.Mutex
}

// NewProxyExporter returns an exporter that POSTs to the relay's endpoint,
// e.g. "https://app.example.com/api/v1/telemetry/logs" or, in the browser,
// "/api/v1/telemetry/logs". sessionToken may be empty only when
// opts.Refresh is set: the first 401 then fetches one.
func NewProxyExporter(endpoint, sessionToken string, opts *ProxyOptions) (*ProxyExporter, error) {
	var o ProxyOptions
	if opts != nil {
		o = *opts
	}
	tok := normalizeToken(sessionToken)
	if tok == "" && o.Refresh == nil {
		return nil, errors.New("slogotlp: the session token is empty: pass the token the relay accepts " +
			"(the user's session JWT), or set ProxyOptions.Refresh to fetch one")
	}
	if hasControl(tok) {
		return nil, errors.New("slogotlp: the session token contains a control character or line break: pass the token as issued")
	}
	if o.Format != FormatJSON {
		return nil, errors.New("slogotlp: the relay takes OTLP/JSON only: leave ProxyOptions.Format unset")
	}
	c, err := newHTTPCore(endpoint, o.HTTPExporterOptions)
	if err != nil {
		return nil, err
	}
	c.authFailure = func(status int) string {
		if status == 403 {
			return fmt.Sprintf("the relay at %s refused this session (HTTP 403): the user may not send logs; "+
				"check the relay's allowed users or audience", c.display)
		}
		return fmt.Sprintf("the relay at %s refused the session token (HTTP 401): sign in again and pass the "+
			"new token to SetToken, or set ProxyOptions.Refresh", c.display)
	}
	s := &proxyState{core: c, refresh: o.Refresh}
	s.token.Store(&tok)
	return &ProxyExporter{s: s}, nil
}

// normalizeToken trims spaces and a "Bearer " prefix some callers include.
func normalizeToken(t string) string {
	t = strings.TrimSpace(t)
	if rest, ok := cutBearer(t); ok {
		return rest
	}
	return t
}

// SetToken replaces the session token for every later request. It is safe
// to call concurrently with Export; a request already sent keeps the token
// it was sent with. A "Bearer " prefix and surrounding spaces are dropped.
func (p *ProxyExporter) SetToken(token string) {
	if p == nil || p.s == nil {
		return
	}
	t := normalizeToken(token)
	p.s.token.Store(&t)
}

// Export POSTs one payload with the current token. On a 401 it calls
// ProxyOptions.Refresh once (if set) and resends with the new token; a
// second 401, or a failed refresh, is Fatal.
func (p *ProxyExporter) Export(ctx context.Context, payload []byte, records int) Result {
	if p == nil || p.s == nil {
		return Result{Outcome: ExportFatal, Err: errUnbuilt}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	s := p.s
	tok := *s.token.Load()
	if hasControl(tok) {
		return Result{Outcome: ExportFatal, Err: errors.New("slogotlp: the session token contains a control character " +
			"or line break: pass the token as issued to SetToken")}
	}
	res, status := s.core.send(ctx, payload, records, bearer(tok))
	if status != 401 || s.refresh == nil {
		return res
	}
	fresh, err := s.refreshToken(ctx, tok)
	if err != nil {
		return Result{Outcome: ExportFatal, Err: err}
	}
	res, status = s.core.send(ctx, payload, records, bearer(fresh))
	if status == 401 {
		res.Err = fmt.Errorf("slogotlp: the relay at %s refused the refreshed session token too (HTTP 401): "+
			"check that ProxyOptions.Refresh returns a token this relay accepts", s.core.display)
	}
	return res
}

func bearer(tok string) string {
	if tok == "" {
		return ""
	}
	return "Bearer " + tok
}

// refreshToken gets a token to replace failed. If another export (or
// SetToken) already replaced it, that token is used without calling Refresh.
func (s *proxyState) refreshToken(ctx context.Context, failed string) (string, error) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	if cur := *s.token.Load(); cur != failed && cur != "" {
		return cur, nil
	}
	fresh, err := s.callRefresh(ctx)
	if err != nil {
		// The callback's error is the caller's text: scrub both tokens.
		msg := s.core.scrub(err.Error(), bearer(failed))
		if fresh != "" {
			msg = s.core.scrub(msg, bearer(fresh))
		}
		return "", &scrubbedError{
			msg: "slogotlp: the relay refused the session token (HTTP 401) and ProxyOptions.Refresh failed: " +
				msg + ": sign in again and pass the new token to SetToken",
			err: err,
		}
	}
	fresh = normalizeToken(fresh)
	if fresh == "" {
		return "", errors.New("slogotlp: the relay refused the session token (HTTP 401) and ProxyOptions.Refresh " +
			"returned an empty token: return the new session token, or an error")
	}
	if hasControl(fresh) {
		return "", errors.New("slogotlp: ProxyOptions.Refresh returned a token with a control character or line break")
	}
	s.token.Store(&fresh)
	return fresh, nil
}

// callRefresh runs the user's callback; a panic in it becomes an error, as
// a logging library must not crash its host.
func (s *proxyState) callRefresh(ctx context.Context) (tok string, err error) {
	defer func() {
		if r := recover(); r != nil {
			tok, err = "", fmt.Errorf("ProxyOptions.Refresh panicked: %v", r)
		}
	}()
	return s.refresh(ctx)
}

// Shutdown marks the exporter closed and closes the idle connections of its
// own client. Later Exports return Fatal with ErrExporterShutdown. It is
// idempotent.
func (p *ProxyExporter) Shutdown(context.Context) error {
	if p == nil || p.s == nil {
		return nil
	}
	p.s.core.shutdown()
	return nil
}

// Endpoint returns the relay URL the exporter POSTs to, with its query
// shown as [REDACTED]. Printing the exporter with fmt shows no setting, and
// never the token: its state sits behind a pointer.
func (p *ProxyExporter) Endpoint() string {
	if p == nil || p.s == nil {
		return ""
	}
	return p.s.core.display
}
