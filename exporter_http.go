package slogotlp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

const (
	// maxRedirects is how many 307/308 redirects one request follows.
	maxRedirects = 10
	// maxRetryAfter caps a receiver's Retry-After.
	maxRetryAfter = 5 * time.Minute
	// maxResponseBody caps how much of a response is read. Reading (rather
	// than abandoning) the body lets the connection be reused.
	maxResponseBody = 64 << 10
	// maxErrorBody caps how much of a response body an error message quotes.
	maxErrorBody = 256
	// maxPooledGzip is the largest compression buffer kept for reuse.
	maxPooledGzip = 4 << 20
	// defaultUserAgent names the library to the receiver.
	defaultUserAgent = "slogotlp"
	// minSecretLen is the shortest header value scrubbed from error text.
	minSecretLen = 4
)

// ErrExporterShutdown is the error of an Export made after Shutdown, so that
// callers can tell a closed exporter (errors.Is) from a receiver failure.
var ErrExporterShutdown = errors.New("slogotlp: the exporter is shut down: create a new one to export again")

// errUnbuilt is the error of an exporter not made by its constructor.
var errUnbuilt = errors.New("slogotlp: the exporter was not built by its constructor: use NewHTTPExporter, " +
	"NewLogfireExporter or NewProxyExporter")

// HTTPExporterOptions configures the OTLP/HTTP transport. A nil or zero
// value is valid; the constructor copies it and never changes the caller's.
type HTTPExporterOptions struct {
	// Format is the payload encoding: FormatJSON or FormatProtobuf (the
	// handler builds payloads in the format its exporter asks for).
	// Default: FormatProtobuf, which costs the receiver (a Collector
	// decoding every request) less than half the CPU of JSON and the handler
	// no transcoding; see bench/RESULTS.md.
	Format WireFormat
	// Headers are sent with every request, e.g. {"Authorization": "Bearer
	// ..."} or {"x-honeycomb-team": "..."} for a vendor's OTLP endpoint.
	// Credentials belong here, never in the URL. Every value except
	// User-Agent prints as [REDACTED] (see Headers) and is scrubbed from
	// error text (values of 4 bytes or more). Content-Type,
	// Content-Encoding and Content-Length are set by the exporter and cannot
	// be overridden. Default: none.
	Headers Headers
	// Timeout, when set, bounds one POST, including reading the response,
	// for an exporter used without a Handler. Under a Handler leave it
	// unset: HandlerOptions.ExportTimeout is the one per-request timeout and
	// reaches the exporter as the deadline of Export's context; a shorter
	// Timeout here would cut it. Default: none beyond that deadline.
	Timeout time.Duration
	// DisableGzip sends the payload uncompressed. Default: false, so bodies
	// are sent with Content-Encoding: gzip (level BestSpeed), which both
	// targets accept: the OpenTelemetry Collector's OTLP/HTTP receiver
	// decodes gzip (its confighttp server; an unsupported encoding gets a
	// 400), and Logfire's own Python SDK configures its OTLP exporters with
	// Compression.Gzip. OTLP logs shrink tenfold or more. Turn it off
	// only for a receiver that cannot decode gzip (a 400 then says so).
	DisableGzip bool
	// Client sends the requests. Default: a client of the exporter's own
	// whose transport is a clone of http.DefaultTransport (proxy from the
	// environment, HTTP/2, dial and TLS timeouts) and which follows only
	// redirects that resend the body (see the redirect rules on
	// HTTPExporter); Shutdown closes its idle connections. A Client you pass
	// is used as is and left open; whatever its redirect policy, an answer
	// that did not come to the POST carrying the body is never a success.
	Client *http.Client `json:"-"`
	// TLSConfig is the TLS configuration of the exporter's own client: a
	// private CA in RootCAs, a client certificate for mutual TLS in
	// Certificates. It is cloned; setting it together with Client is an
	// error (configure TLS on that client's transport instead). Default:
	// Go's, the system's roots. LoadTLSConfig reads one from PEM files.
	TLSConfig *tls.Config `json:"-"`
	// UserAgent is the User-Agent header. Default: the User-Agent entry of
	// Headers if there is one, else "slogotlp".
	UserAgent string
}

// HTTPExporter sends OTLP/HTTP payloads, JSON or protobuf, to any OTLP/HTTP
// logs receiver (an OpenTelemetry Collector, Logfire, a vendor): one POST per
// Export, the
// answer mapped to a Result. Retrying, backoff and splitting belong to the
// batcher. It is safe for concurrent use, though the handler never needs it.
//
// # Status mapping
//
//	answer                          Outcome          notes
//	2xx                             ExportSuccess    a partialSuccess body sets Rejected and Err
//	401, 403                        ExportFatal      bad or revoked credentials; the error says which to fix
//	413                             ExportTooLarge   the batcher halves the batch; one record still too large is dropped
//	429, 502, 503, 504              ExportRetryable  as the OTLP spec says; Retry-After is honoured
//	other 5xx (500, 501, 505, ...)  ExportRetryable  the OTLP spec does not retry these, but this project's
//	                                                 plan and most SDKs do: a 500 is usually a passing fault
//	other 4xx (400, 404, 415, ...)  ExportRejected   the batch is dropped and reported; export stays on
//	301, 302, 303, other 3xx        ExportRejected   never followed (see Redirects); the error names the Location
//	other (1xx)                     ExportRejected
//	network error, timeout, TLS     ExportRetryable  Offline when the receiver was never reached
//
// # Redirects
//
// A record counts as delivered only when the receiver answered 2xx to the
// POST that carried it. 307 and 308 keep the method and body, so they are
// followed (up to 10), except from https to http, which would send the
// records unencrypted. 301, 302 and 303 would turn the POST into a GET
// without a body (Go's client does so), losing the records while the
// target page answers 200: they are not followed, and the batch is
// ExportRejected with an error naming the status and the Location to put
// in the endpoint instead.
//
// Retry-After is read in both forms (delta-seconds and an HTTP-date) for
// every retryable status and capped at 5 minutes, so that a misbehaving
// receiver cannot stall the queue. A 2xx with partialSuccess is an
// ExportSuccess whose Rejected counts the lost records and whose Err carries
// the receiver's errorMessage; an errorMessage with no rejections (the OTLP
// "warning" form) is an ExportSuccess with Err set and Rejected zero.
type HTTPExporter struct {
	// A pointer to the engine keeps the struct trivially copyable and means
	// fmt's fallback for a copied value prints an address, never a header.
	c *httpCore
}

// Compile-time checks that both transports satisfy the batcher's contract.
var (
	_ Exporter = (*HTTPExporter)(nil)
	_ Exporter = (*ProxyExporter)(nil)
)

// NewHTTPExporter returns an exporter that POSTs to endpoint, the receiver's
// full logs URL (for a Collector, "http://host:4318/v1/logs"; nothing is
// appended). endpoint must be an absolute http or https URL without
// credentials in it; in the browser (GOOS=js) a path such as
// "/api/v1/telemetry/logs" is resolved against the page's location.
func NewHTTPExporter(endpoint string, opts *HTTPExporterOptions) (*HTTPExporter, error) {
	var o HTTPExporterOptions
	if opts != nil {
		o = *opts
	}
	c, err := newHTTPCore(endpoint, o)
	if err != nil {
		return nil, err
	}
	c.authFailure = func(status int) string {
		return fmt.Sprintf("%s refused the credentials (HTTP %d): check the Authorization or API-key header "+
			"in HTTPExporterOptions.Headers", c.display, status)
	}
	return &HTTPExporter{c: c}, nil
}

// Export POSTs one payload and maps the answer to a Result (see the status
// mapping in the HTTPExporter documentation). It never retries: that is the batcher's job.
func (e *HTTPExporter) Export(ctx context.Context, payload []byte, records int) Result {
	if e == nil || e.c == nil {
		return Result{Outcome: ExportFatal, Err: errUnbuilt}
	}
	res, _ := e.c.send(ctx, payload, records, "")
	return res
}

func (*HTTPExporter) exportsConcurrently() {}

// WireFormat is the payload encoding the exporter sends, as
// HTTPExporterOptions.Format chose; the handler builds its payloads in it.
func (e *HTTPExporter) WireFormat() WireFormat {
	if e == nil || e.c == nil {
		return FormatJSON
	}
	return e.c.format
}

// Shutdown marks the exporter closed and closes the idle connections of the
// exporter's own client. Later Exports return Fatal with
// ErrExporterShutdown. It is idempotent.
func (e *HTTPExporter) Shutdown(context.Context) error {
	if e == nil || e.c == nil {
		return nil
	}
	e.c.shutdown()
	return nil
}

// Endpoint returns the URL the exporter POSTs to, with its query (which may
// hold a key) shown as [REDACTED]. Printing the exporter itself with fmt
// shows no setting: its state sits behind a pointer.
func (e *HTTPExporter) Endpoint() string {
	if e == nil || e.c == nil {
		return ""
	}
	return e.c.display
}

// httpCore is the engine both exporters share: validated settings, the
// client, a pool of gzip writers, and the status mapping.
type httpCore struct {
	display string // endpoint with any query redacted, for messages
	// sec holds everything secret behind one more pointer: fmt dumps the
	// first pointer it meets under a bad verb (%s of a struct holding an
	// HTTPExporter), but prints deeper pointers as bare addresses.
	sec     *httpSecrets
	timeout time.Duration
	gzip    bool
	format  WireFormat
	client  *http.Client
	own     bool // client created here; Shutdown closes its idle connections

	// authFailure words the Fatal error for a 401 or 403.
	authFailure func(status int) string

	gzPool sync.Pool // *gzipBuf
	closed atomic.Bool
}

type httpSecrets struct {
	endpoint string      // the URL requests go to; its query may hold a key
	header   http.Header // static headers, canonical keys
	scrub    []string    // header values scrubbed from error text
}

type gzipBuf struct {
	buf bytes.Buffer
	zw  *gzip.Writer
}

func newHTTPCore(endpoint string, o HTTPExporterOptions) (*httpCore, error) {
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	switch o.Format {
	case FormatDefault:
		o.Format = FormatProtobuf
	case FormatJSON, FormatProtobuf:
	default:
		return nil, fmt.Errorf("slogotlp: unknown Format %d: use FormatJSON or FormatProtobuf", int(o.Format))
	}
	c := &httpCore{
		display: displayURL(u.String()),
		sec:     &httpSecrets{endpoint: u.String(), header: make(http.Header, len(o.Headers)+1)},
		timeout: max(o.Timeout, 0),
		gzip:    !o.DisableGzip,
		format:  o.Format,
		client:  o.Client,
	}
	for k, sv := range o.Headers {
		v := sv.Reveal()
		if !validHeaderName(k) {
			return nil, fmt.Errorf("slogotlp: header name %q is not a valid HTTP header name: use letters, digits and '-'", k)
		}
		ck := http.CanonicalHeaderKey(k)
		if hasControl(v) {
			// The value may be a secret: name the header, never the value.
			return nil, fmt.Errorf("slogotlp: the value of header %q contains a control character or line break: remove it", ck)
		}
		switch ck {
		case "Content-Type", "Content-Encoding", "Content-Length":
			continue // the exporter owns these
		}
		c.sec.header.Set(ck, v)
		if ck != "User-Agent" {
			c.addSecret(v)
			if tok, ok := cutBearer(v); ok {
				c.addSecret(tok)
			}
		}
	}
	ua := o.UserAgent
	if ua == "" {
		ua = c.sec.header.Get("User-Agent")
	}
	if ua == "" {
		ua = defaultUserAgent
	}
	if hasControl(ua) {
		return nil, errors.New("slogotlp: HTTPExporterOptions.UserAgent contains a control character or line break: remove it")
	}
	c.sec.header.Set("User-Agent", ua)
	if c.client != nil && o.TLSConfig != nil {
		return nil, errors.New("slogotlp: HTTPExporterOptions has both Client and TLSConfig: set TLSClientConfig " +
			"on the Client's transport, or pass TLSConfig alone")
	}
	if c.client == nil {
		c.own = true
		c.client = &http.Client{Transport: newTransport(o.TLSConfig), CheckRedirect: checkRedirect}
	}
	c.gzPool.New = func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // BestSpeed is a valid level: no error
		return &gzipBuf{zw: zw}
	}
	return c, nil
}

// errTooManyRedirects ends a chain of 307/308 redirects.
var errTooManyRedirects = fmt.Errorf("stopped after %d redirects", maxRedirects)

// checkRedirect follows only redirects that resend the body (307, 308),
// and none from https to http. The others end the request with the
// redirect itself as the answer, which roundTrip reports.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errTooManyRedirects
	}
	if req.Response == nil {
		return http.ErrUseLastResponse
	}
	switch req.Response.StatusCode {
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return http.ErrUseLastResponse
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return http.ErrUseLastResponse
	}
	return nil
}

func newTransport(tlsConf *tls.Config) http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = 4
		if tlsConf != nil {
			t.TLSClientConfig = tlsConf.Clone()
		}
		return t
	}
	return http.DefaultTransport
}

// parseEndpoint checks the endpoint once so that every Export can trust it.
// Its errors never quote the URL: a careless user may have put a key in it.
func parseEndpoint(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("slogotlp: the endpoint is empty: pass the receiver's full logs URL, " +
			"e.g. http://localhost:4318/v1/logs")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL
		}
		return nil, fmt.Errorf("slogotlp: the endpoint is not a valid URL (%w): pass an absolute http:// or https:// URL", err)
	}
	if u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") {
		abs, err := resolveEndpoint(raw)
		if err != nil {
			return nil, err
		}
		if u, err = url.Parse(abs); err != nil {
			return nil, errors.New("slogotlp: the relative endpoint did not resolve to a valid URL: pass an absolute http:// or https:// URL")
		}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("slogotlp: the endpoint must start with http:// or https://, e.g. http://localhost:4318/v1/logs")
	}
	if u.Host == "" {
		return nil, errors.New("slogotlp: the endpoint has no host: pass e.g. http://localhost:4318/v1/logs")
	}
	if u.User != nil {
		return nil, errors.New("slogotlp: the endpoint carries credentials (user:password@): remove them and pass them " +
			"in HTTPExporterOptions.Headers (Authorization), where they are never printed")
	}
	if u.Fragment != "" || u.RawFragment != "" {
		return nil, errors.New("slogotlp: the endpoint has a #fragment, which HTTP never sends: remove it")
	}
	return u, nil
}

// send makes one POST. auth, when not empty, is the Authorization value and
// overrides any static one. It also returns the HTTP status (0 when none
// arrived) so that the proxy can react to a 401.
func (c *httpCore) send(ctx context.Context, payload []byte, records int, auth string) (Result, int) {
	if c.closed.Load() {
		return Result{Outcome: ExportFatal, Err: ErrExporterShutdown}, 0
	}
	if ctx == nil {
		ctx = context.Background()
	}
	body := payload
	var gz *gzipBuf
	if c.gzip {
		gz = c.gzPool.Get().(*gzipBuf)
		gz.buf.Reset()
		gz.zw.Reset(&gz.buf)
		// Writes to a bytes.Buffer cannot fail.
		_, _ = gz.zw.Write(payload)
		_ = gz.zw.Close()
		body = gz.buf.Bytes()
	}

	rctx, cancel := ctx, context.CancelFunc(func() {})
	if c.timeout > 0 {
		rctx, cancel = context.WithTimeoutCause(ctx, c.timeout, timeoutCause("HTTPExporterOptions.Timeout", c.timeout))
	}
	rb := &reqBody{Reader: bytes.NewReader(body), done: make(chan struct{})}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.sec.endpoint, nil)
	if err != nil { // the endpoint was validated; only a nil-ish ctx could get here
		cancel()
		return Result{Outcome: ExportFatal, Err: fmt.Errorf("slogotlp: cannot build the request to %s: %w", c.display, err)}, 0
	}
	req.Body = rb
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Header = c.sec.header.Clone()
	req.Header.Set("Content-Type", c.format.ContentType())
	if c.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}

	res, status := c.roundTrip(ctx, rctx, req, len(body), records, auth)
	cancel()

	// The transport may still hold the body after Do returns (it closes it,
	// perhaps from another goroutine, once it is done). Reuse the gzip
	// buffer only when it has let go; otherwise leave it to the GC.
	if gz != nil {
		select {
		case <-rb.done:
			if gz.buf.Cap() <= maxPooledGzip {
				c.gzPool.Put(gz)
			}
		default:
		}
	}
	return res, status
}

// reqBody reports when the transport has closed the request body.
type reqBody struct {
	*bytes.Reader
	once sync.Once
	done chan struct{}
}

func (b *reqBody) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// addSecret records a header value to scrub from error text. Values under
// minSecretLen are skipped: they would mangle messages and are no real
// credential.
func (c *httpCore) addSecret(v string) {
	if len(v) >= minSecretLen {
		c.sec.scrub = append(c.sec.scrub, v)
	}
}

// scrub replaces every known secret in s.
func (c *httpCore) scrub(s, auth string) string {
	for _, sec := range c.sec.scrub {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	if auth != "" {
		s = strings.ReplaceAll(s, auth, redacted)
		if tok, ok := cutBearer(auth); ok && tok != "" {
			s = strings.ReplaceAll(s, tok, redacted)
		}
	}
	return s
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func (c *httpCore) shutdown() {
	if c.closed.Swap(true) {
		return
	}
	if c.own {
		c.client.CloseIdleConnections()
	}
}

// scrubbedError keeps the cause for errors.Is/As while its text has every
// secret replaced.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func cutBearer(v string) (string, bool) {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:]), true
	}
	return "", false
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// displayURL is raw without its query, which may hold a key.
func displayURL(raw string) string {
	base, q, ok := strings.Cut(raw, "?")
	if ok && q != "" {
		return base + "?" + redacted
	}
	return base
}
