package slogotlp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file maps what a receiver answers to a Result: the status table in
// HTTPExporter's documentation, redirects, partial success in either
// encoding, Retry-After, and network errors (unreachable, timeouts, TLS).

func (c *httpCore) roundTrip(parent, rctx context.Context, req *http.Request, size, records int, auth string) (Result, int) {
	resp, err := c.client.Do(req)
	if err != nil {
		if errors.Is(err, errTooManyRedirects) {
			return Result{Outcome: ExportRejected, Err: fmt.Errorf("slogotlp: %s redirected %d times in a row: "+
				"set the endpoint to the receiver's final URL", c.display, maxRedirects)}, 0
		}
		return c.networkResult(err, parent, rctx, auth), 0
	}
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	_ = resp.Body.Close()
	code := resp.StatusCode

	if resp.Request != nil && resp.Request.Method != http.MethodPost {
		// A client of the caller's followed a redirect and resent the
		// request without its body: whatever the answer, nothing arrived.
		return Result{Outcome: ExportRejected, Err: fmt.Errorf("slogotlp: %s redirected the POST to %s, which the "+
			"client resent as a %s without the records (answer: %s): set the endpoint to the receiver's URL, "+
			"or use a client that follows only 307/308", c.display, c.location(resp.Request.URL, auth),
			resp.Request.Method, statusText(code))}, code
	}

	switch {
	case code >= 300 && code <= 399:
		return Result{Outcome: ExportRejected, Err: c.redirectError(resp, records, auth)}, code
	case code >= 200 && code <= 299:
		return c.partialSuccess(data, resp.Header.Get("Content-Type"), records, auth), code
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return Result{Outcome: ExportFatal, Err: errors.New("slogotlp: " + c.authFailure(code))}, code
	case code == http.StatusRequestEntityTooLarge:
		return Result{Outcome: ExportTooLarge, Err: fmt.Errorf(
			"slogotlp: %s refused a %d-byte request of %d records as too large (HTTP 413)",
			c.display, size, records)}, code
	case code == http.StatusTooManyRequests || (code >= 500 && code <= 599):
		ra := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		msg := fmt.Sprintf("slogotlp: %s answered %s for %d records%s",
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
	return Result{Outcome: ExportRejected, Err: fmt.Errorf("slogotlp: %s refused %d records with %s%s: %s",
		c.display, records, statusText(code), c.bodySnippet(data, auth), hint)}, code
}

// redirectError reports a redirect that was not followed, with where it
// pointed.
func (c *httpCore) redirectError(resp *http.Response, records int, auth string) error {
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("slogotlp: %s answered %s without a usable Location, so %d records were not delivered: "+
			"check that the endpoint is an OTLP/HTTP logs receiver", c.display, statusText(resp.StatusCode), records)
	}
	why := "it would resend the POST as a GET without the records"
	switch resp.StatusCode {
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		why = "it leads from https to http, which would send the records unencrypted"
	case http.StatusMultipleChoices, http.StatusNotModified, http.StatusUseProxy:
		why = "it is not a redirect an OTLP client follows"
	}
	return fmt.Errorf("slogotlp: %s answered %s to %s, which is not followed (%s), so %d records were not "+
		"delivered: set the endpoint to the receiver's URL", c.display, statusText(resp.StatusCode),
		c.location(loc, auth), why, records)
}

// location shows a redirect target as messages may: without its query, and
// with secrets scrubbed.
func (c *httpCore) location(u *url.URL, auth string) string {
	return c.scrub(displayURL(u.String()), auth)
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
// parent is Export's context, rctx the request's (parent with Timeout).
func (c *httpCore) networkResult(err error, parent, rctx context.Context, auth string) Result {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // url.Error quotes the URL, which may hold a query key
	}
	// A cancelled export says nothing about the network, even if the
	// cancellation cut a dial short.
	offline := parent.Err() == nil && isOffline(err)
	ctxErr := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	var what string
	switch {
	case parent.Err() != nil && errors.Is(parent.Err(), context.DeadlineExceeded):
		what = fmt.Sprintf("%s did not answer in time (%v)", c.display, context.Cause(parent))
	case parent.Err() != nil:
		what = fmt.Sprintf("the export to %s was cancelled (%v)", c.display, context.Cause(parent))
	case offline:
		what = "could not reach " + c.display
	case isTLSError(err):
		what = "the TLS handshake with " + c.display + " failed (check the receiver's certificate, " +
			"the CA the client trusts, and the scheme: https:// only for a TLS receiver)"
	case rctx.Err() != nil:
		what = fmt.Sprintf("%s did not answer in time (%v)", c.display, context.Cause(rctx))
	case isTimeout(err):
		what = c.display + " did not answer in time"
	default:
		what = "the request to " + c.display + " failed"
	}
	msg := "slogotlp: " + what
	ended := parent.Err() != nil || rctx.Err() != nil
	if !ended || !(ctxErr || errors.Is(err, context.Cause(parent)) || errors.Is(err, context.Cause(rctx))) {
		msg += ": " + c.scrub(err.Error(), auth)
	}
	return Result{Outcome: ExportRetryable, Offline: offline, Err: &scrubbedError{msg: msg, err: err}}
}

// isTLSError reports a failed TLS handshake: an untrusted or mismatched
// certificate, an alert from the server, or a server that does not speak
// TLS at all.
func isTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		header   tls.RecordHeaderError
		alert    tls.AlertError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &header) || errors.As(err, &alert)
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
