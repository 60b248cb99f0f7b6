// Package otlprecv is the bench module's OTLP/HTTP logs receiver. It decodes
// every request as an OpenTelemetry Collector does (gunzip when
// Content-Encoding says gzip, then the Collector's own pdata decoders for
// JSON or protobuf) and counts what arrived; it keeps nothing else.
package otlprecv

import (
	"bytes"
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// maxBody bounds one request body, before and after gunzip.
const maxBody = 64 << 20

// Empty ExportLogsServiceResponses in both encodings, built once.
var emptyJSON, emptyProto = func() ([]byte, []byte) {
	resp := plogotlp.NewExportResponse()
	j, err := resp.MarshalJSON()
	if err != nil {
		panic(err)
	}
	p, err := resp.MarshalProto()
	if err != nil {
		panic(err)
	}
	return j, p
}()

// Counts is a snapshot of what a Receiver has taken in.
type Counts struct {
	Records   int64 // log records decoded from accepted requests
	WireBytes int64 // request bodies as sent (compressed if gzip)
	RawBytes  int64 // request bodies after gunzip
	Requests  int64 // POSTs to /v1/logs
	Bad       int64 // requests refused (unreadable, bad encoding, undecodable)
	LastNano  int64 // wall clock (Unix ns) when the last records were counted
}

// Receiver is an http.Handler for POST /v1/logs. Its zero value is ready.
type Receiver struct {
	records, wire, raw, requests, bad, last atomic.Int64
}

// Reset sets every count back to zero, between runs.
func (rc *Receiver) Reset() {
	for _, c := range []*atomic.Int64{&rc.records, &rc.wire, &rc.raw, &rc.requests, &rc.bad, &rc.last} {
		c.Store(0)
	}
}

// Counts returns the counts so far.
func (rc *Receiver) Counts() Counts {
	return Counts{
		Records:   rc.records.Load(),
		WireBytes: rc.wire.Load(),
		RawBytes:  rc.raw.Load(),
		Requests:  rc.requests.Load(),
		Bad:       rc.bad.Load(),
		LastNano:  rc.last.Load(),
	}
}

// ServeHTTP decodes one export request and answers 200 with an empty
// ExportLogsServiceResponse in the request's encoding, or an error status
// as the Collector would (400 undecodable, 415 unknown content type).
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/logs" {
		http.NotFound(w, r)
		return
	}
	rc.requests.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		rc.refuse(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	rc.wire.Add(int64(len(body)))
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(zr, maxBody))
		}
		if err != nil {
			rc.refuse(w, "gunzip: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	rc.raw.Add(int64(len(body)))
	req := plogotlp.NewExportRequest()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var resp []byte
	switch ct {
	case "application/json":
		err, resp = req.UnmarshalJSON(body), emptyJSON
	case "application/x-protobuf":
		err, resp = req.UnmarshalProto(body), emptyProto
	default:
		rc.refuse(w, "unsupported content type", http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		rc.refuse(w, "decoding: "+err.Error(), http.StatusBadRequest)
		return
	}
	rc.records.Add(int64(req.Logs().LogRecordCount()))
	rc.last.Store(time.Now().UnixNano())
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(resp)
}

func (rc *Receiver) refuse(w http.ResponseWriter, msg string, code int) {
	rc.bad.Add(1)
	http.Error(w, msg, code)
}
