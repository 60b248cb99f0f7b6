package slogotlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/soliplex/slogotlp/internal/logfire"
)

const (
	// defaultExportTimeout bounds one POST when HTTPExporterOptions.Timeout is
	// zero: long enough for a large gzip body on a slow link, short enough for
	// the batcher to retry while records are still fresh.
	defaultExportTimeout = 10 * time.Second
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
	// Default: FormatJSON.
	Format WireFormat
	// Headers are sent with every request, e.g. {"Authorization": "Bearer
	// ..."} or {"x-honeycomb-team": "..."} for a vendor's OTLP endpoint.
	// Credentials belong here, never in the URL. Every value except
	// User-Agent prints as [REDACTED] (see Headers) and is scrubbed from
	// error text (values of 4 bytes or more). Content-Type,
	// Content-Encoding and Content-Length are set by the exporter and cannot
	// be overridden. Default: none.
	Headers Headers
	// Timeout bounds one POST, including reading the response; the context
	// passed to Export can only shorten it. Default: 10s.
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
	// environment, HTTP/2, dial and TLS timeouts); Shutdown closes its idle
	// connections. A Client you pass is used as is and left open.
	Client *http.Client `json:"-"`
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
//	other (1xx, unfollowed 3xx)     ExportRejected
//	network error, timeout          ExportRetryable  Offline when the receiver was never reached
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
	if o.Format != FormatJSON && o.Format != FormatProtobuf {
		return nil, fmt.Errorf("slogotlp: unknown Format %d: use FormatJSON or FormatProtobuf", int(o.Format))
	}
	c := &httpCore{
		display: displayURL(u.String()),
		sec:     &httpSecrets{endpoint: u.String(), header: make(http.Header, len(o.Headers)+1)},
		timeout: o.Timeout,
		gzip:    !o.DisableGzip,
		format:  o.Format,
		client:  o.Client,
	}
	if c.timeout <= 0 {
		c.timeout = defaultExportTimeout
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
	if c.client == nil {
		c.own = true
		c.client = &http.Client{Transport: newTransport()}
	}
	c.gzPool.New = func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // BestSpeed is a valid level: no error
		return &gzipBuf{zw: zw}
	}
	return c, nil
}

func newTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.MaxIdleConnsPerHost = 4
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

	rctx, cancel := context.WithTimeout(ctx, c.timeout)
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

	res, status := c.roundTrip(ctx, req, len(body), records, auth)
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

func (c *httpCore) roundTrip(parent context.Context, req *http.Request, size, records int, auth string) (Result, int) {
	resp, err := c.client.Do(req)
	if err != nil {
		return c.networkResult(err, parent, auth), 0
	}
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	_ = resp.Body.Close()
	code := resp.StatusCode

	switch {
	case code >= 200 && code <= 299:
		return c.partialSuccess(data, resp.Header.Get("Content-Type"), records, auth), code
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Result{Outcome: ExportFatal, Err: errors.New("slogotlp: " + c.authFailure(code))}, code
	case code == http.StatusRequestEntityTooLarge:
		return Result{Outcome: ExportTooLarge, Err: fmt.Errorf(
			"slogotlp: %s refused a %d-byte request of %d records as too large (HTTP 413): the batch is split in halves and sent again",
			c.display, size, records)}, code
	case code == http.StatusTooManyRequests || (code >= 500 && code <= 599):
		ra := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		msg := fmt.Sprintf("slogotlp: %s answered %s for %d records%s: the batch is sent again after a backoff",
			c.display, statusText(code), records, c.bodySnippet(data, auth))
		if ra > 0 {
			msg += fmt.Sprintf(" (Retry-After %v)", ra)
		}
		return Result{Outcome: ExportRetryable, RetryAfter: ra, Err: errors.New(msg)}, code
	}
	hint := "check that the endpoint is an OTLP/HTTP logs receiver"
	switch code {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		hint = "check the endpoint's path: OTLP/HTTP logs are POSTed to .../v1/logs"
	case http.StatusUnsupportedMediaType:
		hint = "the receiver does not take OTLP JSON (Content-Type: application/json): send protobuf " +
			"(HTTPExporterOptions.Format: FormatProtobuf, or OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)"
		if c.format == FormatProtobuf {
			hint = "the receiver does not take OTLP protobuf (Content-Type: application/x-protobuf): send JSON " +
				"(HTTPExporterOptions.Format: FormatJSON, or OTEL_EXPORTER_OTLP_PROTOCOL=http/json)"
		}
	case http.StatusBadRequest:
		if c.gzip {
			hint = "the receiver could not decode the payload; if it cannot read gzip, set DisableGzip"
		} else {
			hint = "the receiver could not decode the payload"
		}
	}
	_ = readErr // a truncated body only shortens the quoted snippet
	return Result{Outcome: ExportRejected, Err: fmt.Errorf("slogotlp: %s refused %d records with %s%s: the batch is dropped; %s",
		c.display, records, statusText(code), c.bodySnippet(data, auth), hint)}, code
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("HTTP %d %s", code, t)
	}
	return fmt.Sprintf("HTTP %d", code)
}

// partialSuccess reads an OTLP ExportLogsServiceResponse, in the encoding its
// Content-Type names (a receiver answers in the request's, which is assumed
// when it names none). An empty or unreadable 2xx body is a full success.
func (c *httpCore) partialSuccess(data []byte, contentType string, records int, auth string) Result {
	var n int64
	var msg string
	var ok bool
	if isProtobufType(contentType) || (contentType == "" && c.format == FormatProtobuf) {
		n, msg, ok = protoPartialSuccess(data)
	} else {
		n, msg, ok = jsonPartialSuccess(data)
	}
	if !ok {
		return Result{Outcome: ExportSuccess}
	}
	n = max(n, 0)
	msg = strings.TrimSpace(c.scrub(msg, auth))
	if n == 0 && msg == "" {
		return Result{Outcome: ExportSuccess}
	}
	msg = truncateRunes(msg, 512)
	if n == 0 { // the OTLP spec's "warning" form: all taken, with a message
		return Result{Outcome: ExportSuccess, Err: fmt.Errorf("slogotlp: %s accepted all %d records with a warning: %s",
			c.display, records, msg)}
	}
	if msg == "" {
		msg = "no reason given"
	}
	return Result{Outcome: ExportSuccess, Rejected: n, Err: fmt.Errorf(
		"slogotlp: %s accepted the batch but rejected %d of %d records (%s); receivers such as Logfire reject "+
			"records whose timestamps are more than 24 h old or 1 h ahead", c.display, n, records, msg)}
}

func isProtobufType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/x-protobuf" || mt == "application/protobuf"
}

// jsonPartialSuccess reads partialSuccess from an OTLP/JSON response.
// rejectedLogRecords is an int64, which the OTLP JSON mapping writes as a
// string, but some receivers write a number: json.Number takes both.
func jsonPartialSuccess(data []byte) (rejected int64, msg string, ok bool) {
	var resp struct {
		PartialSuccess *struct {
			RejectedLogRecords json.Number `json:"rejectedLogRecords"`
			ErrorMessage       string      `json:"errorMessage"`
		} `json:"partialSuccess"`
	}
	if len(bytes.TrimSpace(data)) == 0 || json.Unmarshal(data, &resp) != nil || resp.PartialSuccess == nil {
		return 0, "", false
	}
	n, _ := strconv.ParseInt(resp.PartialSuccess.RejectedLogRecords.String(), 10, 64)
	return n, resp.PartialSuccess.ErrorMessage, true
}

// protoPartialSuccess reads partial_success from a protobuf
// ExportLogsServiceResponse.
func protoPartialSuccess(data []byte) (rejected int64, msg string, ok bool) {
	for f, rest, more := nextField(data); more; f, rest, more = nextField(rest) {
		if f.tag != tagPartialSuccess {
			continue
		}
		ok = true
		for g, r, more := nextField(f.data); more; g, r, more = nextField(r) {
			switch g.tag {
			case tagRejected:
				rejected = int64(g.num)
			case tagErrorMessage:
				msg = string(g.data)
			}
		}
	}
	return rejected, msg, ok
}

// networkResult maps a failed Do. Offline means the receiver was never
// reached (dial, DNS, refused, no route): the batcher then probes instead of
// counting retries. A timeout after the connection was made is not offline.
func (c *httpCore) networkResult(err error, parent context.Context, auth string) Result {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // url.Error quotes the URL, which may hold a query key
	}
	// A cancelled export says nothing about the network, even if the
	// cancellation cut a dial short.
	offline := parent.Err() == nil && isOffline(err)
	var what string
	switch {
	case parent.Err() != nil:
		what = "the export was cancelled before " + c.display + " answered"
	case offline:
		what = "could not reach " + c.display
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		what = fmt.Sprintf("%s did not answer within %v", c.display, c.timeout)
	default:
		what = "the request to " + c.display + " failed"
	}
	return Result{Outcome: ExportRetryable, Offline: offline, Err: &scrubbedError{
		msg: "slogotlp: " + what + ": " + c.scrub(err.Error(), auth) + ": the batch is kept and sent again",
		err: err,
	}}
}

func isOffline(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.EADDRNOTAVAIL)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// retryAfter reads a Retry-After header: delta-seconds or an HTTP-date. A
// missing, unreadable or past value is zero; a value over maxRetryAfter is
// capped.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// bodySnippet quotes the start of an error response, which often says what
// the receiver disliked. Secrets are scrubbed before it is cut, so a
// receiver echoing our headers cannot leak half a token.
func (c *httpCore) bodySnippet(data []byte, auth string) string {
	s := strings.TrimSpace(c.scrub(string(data), auth))
	if s == "" {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return fmt.Sprintf(" (%q)", truncateRunes(s, maxErrorBody))
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
		s = strings.ReplaceAll(s, sec, logfire.Redacted)
	}
	if auth != "" {
		s = strings.ReplaceAll(s, auth, logfire.Redacted)
		if tok, ok := cutBearer(auth); ok && tok != "" {
			s = strings.ReplaceAll(s, tok, logfire.Redacted)
		}
	}
	return s
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

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
		return base + "?" + logfire.Redacted
	}
	return base
}
