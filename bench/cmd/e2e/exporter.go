package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/soliplex/slogotlp"
)

// minimalHTTPExporter POSTs each payload to an OTLP/HTTP JSON endpoint. It
// stands in for the library's own HTTPExporter until that is merged; swap it
// for slogotlp.NewHTTPExporter then. It maps status codes the way the OTLP
// spec asks and nothing more: no headers, no partial-success parsing.
type minimalHTTPExporter struct {
	url    string
	gzip   bool
	client *http.Client
	buf    bytes.Buffer
	zw     *gzip.Writer
}

func newMinimalHTTPExporter(url string, gz bool) *minimalHTTPExporter {
	return &minimalHTTPExporter{
		url:    url,
		gzip:   gz,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}},
		zw:     gzip.NewWriter(io.Discard),
	}
}

// Export is only ever called from the handler's export goroutine, so the
// reused buffers need no lock.
func (e *minimalHTTPExporter) Export(ctx context.Context, payload []byte, _ int) slogotlp.Result {
	body := payload
	if e.gzip {
		e.buf.Reset()
		e.zw.Reset(&e.buf)
		_, _ = e.zw.Write(payload)
		_ = e.zw.Close()
		body = e.buf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return slogotlp.Result{Outcome: slogotlp.Fatal, Err: fmt.Errorf("building request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		var op *net.OpError
		return slogotlp.Result{Outcome: slogotlp.Retryable, Offline: errors.As(err, &op), Err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return slogotlp.Result{}
	case c == http.StatusRequestEntityTooLarge:
		return slogotlp.Result{Outcome: slogotlp.TooLarge, Err: errors.New(resp.Status)}
	case c == http.StatusTooManyRequests || c >= 500:
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return slogotlp.Result{Outcome: slogotlp.Retryable, RetryAfter: time.Duration(ra) * time.Second, Err: errors.New(resp.Status)}
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return slogotlp.Result{Outcome: slogotlp.Fatal, Err: errors.New(resp.Status)}
	default:
		return slogotlp.Result{Outcome: slogotlp.Rejected, Err: errors.New(resp.Status)}
	}
}

func (e *minimalHTTPExporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}
