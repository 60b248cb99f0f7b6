package main

import (
	"compress/gzip"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// received is one log record as the local receiver got it.
type received struct {
	Body     string
	Attrs    map[string]string
	Resource map[string]string
}

// receiver stands in for Logfire behind the relay: it accepts OTLP/HTTP
// JSON logs only with the upstream token, and keeps what it got.
type receiver struct {
	token string
	// onRecord, if set, is called for each record (the server prints them).
	onRecord func(received)

	mu      sync.Mutex
	records []received
	batches []int // records per accepted request
	denied  int
	changed chan struct{} // capacity 1: a record arrived or a request was denied
}

func newReceiver(token string, onRecord func(received)) *receiver {
	return &receiver{token: token, onRecord: onRecord, changed: make(chan struct{}, 1)}
}

// otlpValue is the part of an OTLP AnyValue the example prints.
type otlpValue struct {
	StringValue *string  `json:"stringValue"`
	IntValue    *string  `json:"intValue"`
	BoolValue   *bool    `json:"boolValue"`
	DoubleValue *float64 `json:"doubleValue"`
}

func (v otlpValue) String() string {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.IntValue != nil:
		return *v.IntValue
	case v.BoolValue != nil:
		if *v.BoolValue {
			return "true"
		}
		return "false"
	case v.DoubleValue != nil:
		b, _ := json.Marshal(*v.DoubleValue)
		return string(b)
	}
	return ""
}

type otlpKV struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

type otlpLogs struct {
	ResourceLogs []struct {
		Resource struct {
			Attributes []otlpKV `json:"attributes"`
		} `json:"resource"`
		ScopeLogs []struct {
			LogRecords []struct {
				Body       otlpValue `json:"body"`
				Attributes []otlpKV  `json:"attributes"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

func kvMap(kvs []otlpKV) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST OTLP/HTTP JSON logs here", http.StatusMethodNotAllowed)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(rc.token)) != 1 {
		rc.mu.Lock()
		rc.denied++
		rc.mu.Unlock()
		rc.signal()
		http.Error(w, "wrong write token", http.StatusUnauthorized)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, 32<<20)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	var logs otlpLogs
	if err := json.NewDecoder(body).Decode(&logs); err != nil {
		http.Error(w, "bad OTLP JSON", http.StatusBadRequest)
		return
	}
	var got []received
	for _, rl := range logs.ResourceLogs {
		res := kvMap(rl.Resource.Attributes)
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				got = append(got, received{Body: lr.Body.String(), Attrs: kvMap(lr.Attributes), Resource: res})
			}
		}
	}
	rc.mu.Lock()
	rc.records = append(rc.records, got...)
	rc.batches = append(rc.batches, len(got))
	rc.mu.Unlock()
	if rc.onRecord != nil {
		for _, g := range got {
			rc.onRecord(g)
		}
	}
	rc.signal()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "{}")
}

func (rc *receiver) signal() {
	select {
	case rc.changed <- struct{}{}:
	default:
	}
}

// batchSizes returns the number of records in each accepted request.
func (rc *receiver) batchSizes() []int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]int(nil), rc.batches...)
}

// snapshot returns a copy of the records received so far and the count of
// requests refused for a wrong token.
func (rc *receiver) snapshot() ([]received, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.records...), rc.denied
}
