package main

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

// receiver is a loopback OTLP/HTTP logs endpoint that decodes every request
// with the Collector's own decoders (JSON and protobuf), and counts records
// and the bytes that crossed the wire.
type receiver struct {
	records  atomic.Int64
	wire     atomic.Int64 // request bodies as sent (compressed if gzip)
	raw      atomic.Int64 // request bodies after gunzip
	requests atomic.Int64
	bad      atomic.Int64
	last     atomic.Int64 // wall-clock Unix nanoseconds of the last record received
}

func (rc *receiver) reset() {
	rc.records.Store(0)
	rc.wire.Store(0)
	rc.raw.Store(0)
	rc.requests.Store(0)
	rc.bad.Store(0)
	rc.last.Store(0)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/logs" {
		http.NotFound(w, r)
		return
	}
	rc.requests.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		rc.bad.Add(1)
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	rc.wire.Add(int64(len(body)))
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(zr, 64<<20))
		}
		if err != nil {
			rc.bad.Add(1)
			http.Error(w, "gunzip: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	rc.raw.Add(int64(len(body)))
	req := plogotlp.NewExportRequest()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		err = req.UnmarshalJSON(body)
	case "application/x-protobuf":
		err = req.UnmarshalProto(body)
	default:
		rc.bad.Add(1)
		http.Error(w, "unsupported content type", http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		rc.bad.Add(1)
		http.Error(w, "decoding: "+err.Error(), http.StatusBadRequest)
		return
	}
	rc.records.Add(int64(req.Logs().LogRecordCount()))
	rc.last.Store(time.Now().UnixNano())
	w.Header().Set("Content-Type", ct)
	if ct == "application/json" {
		_, _ = w.Write([]byte("{}"))
	}
	// An empty protobuf body is an empty ExportLogsServiceResponse.
}
