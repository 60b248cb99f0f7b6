package slogotlp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// receiver is the tests' one loopback OTLP/HTTP receiver. It records every
// request (method, path, headers, body as sent and gunzipped), answers it,
// and for each request it accepted (a 2xx answer) decodes the OTLP JSON log
// records: their messages and severities in arrival order, and how often
// each "id" attribute arrived.
//
// By default it answers 200 with "{}". A scripted reply answers instead
// (newReceiver's argument); a fail rate answers that share of requests 503,
// a third of them slowly, as a loaded server does (newFlakyReceiver).
type receiver struct {
	URL string // where it listens, "http://127.0.0.1:port"

	reply    func(http.ResponseWriter, *http.Request)
	failRate float64
	srv      *httptest.Server
	conns    atomic.Int32 // connections opened to it

	mu       sync.Mutex
	rnd      *rand.Rand
	reqs     []captured
	failed   int // requests answered 503 by the fail rate
	bad      int // accepted requests whose body was not OTLP JSON
	messages []string
	levels   []string
	seen     map[string]int
}

// captured is what the receiver saw of one request.
type captured struct {
	method string
	path   string
	header http.Header
	body   []byte // as sent (maybe gzip)
	plain  []byte // gunzipped; nil when the gzip was broken
	status int    // the answer; 0 while it is being written
}

// String shows a request as text, so that a failing assertion on requests
// prints readable JSON, not decimal bytes.
func (c captured) String() string {
	body := c.plain
	if body == nil {
		body = c.body
	}
	const most = 2048
	text := string(body)
	if len(text) > most {
		text = fmt.Sprintf("%s... (%d bytes)", text[:most], len(body))
	}
	return fmt.Sprintf("%s %s -> %d %s", c.method, c.path, c.status, text)
}

// newReceiver starts a receiver that answers with reply (nil: 200 "{}"),
// stopped when the test ends.
func newReceiver(t testing.TB, reply func(http.ResponseWriter, *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{reply: reply, seen: map[string]int{}}
	rc.serve(t, nil)
	return rc
}

// newFlakyReceiver starts a receiver that fails failRate of the requests
// with 503, drawn from a fixed seed.
func newFlakyReceiver(t testing.TB, failRate float64) *receiver {
	t.Helper()
	rc := &receiver{failRate: failRate, rnd: rand.New(rand.NewPCG(7, 8)), seen: map[string]int{}}
	rc.serve(t, nil)
	return rc
}

// serve starts the server on l, or on a fresh loopback port when l is nil.
func (rc *receiver) serve(t testing.TB, l net.Listener) {
	t.Helper()
	srv := httptest.NewUnstartedServer(rc)
	if l != nil {
		_ = srv.Listener.Close()
		srv.Listener = l
	}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rc.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	rc.srv, rc.URL = srv, srv.URL
}

// stop closes the server: its port refuses connections until restart.
func (rc *receiver) stop() { rc.srv.Close() }

// restart serves again on the port stop released. Another process may take
// the port for a moment, so it retries for a bounded time.
func (rc *receiver) restart(t testing.TB) {
	t.Helper()
	addr := strings.TrimPrefix(rc.URL, "http://")
	var l net.Listener
	require.Eventually(t, func() bool {
		var err error
		l, err = net.Listen("tcp", addr)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "could not listen on %s again", addr)
	rc.serve(t, l)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := captured{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body, plain: body}
	if r.Header.Get("Content-Encoding") == "gzip" {
		c.plain = nil
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			c.plain, _ = io.ReadAll(zr)
		}
	}

	// Recorded on arrival, so a test sees a request whose answer is held.
	rc.mu.Lock()
	i := len(rc.reqs)
	rc.reqs = append(rc.reqs, c)
	rc.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	switch slow, fail := rc.fail(); {
	case fail:
		if slow {
			time.Sleep(5 * time.Millisecond) // a loaded server, not a wait of the test's
		}
		rec.WriteHeader(http.StatusServiceUnavailable)
	case rc.reply != nil:
		rc.reply(rec, r)
	default:
		rec.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rec, "{}")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs[i].status = rec.status
	if rec.status/100 == 2 {
		rc.decodeLocked(c.plain, isProtobufType(r.Header.Get("Content-Type")))
	}
}

// fail draws whether to fail this request, and whether slowly.
func (rc *receiver) fail() (slow, fail bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.rnd == nil || rc.rnd.Float64() >= rc.failRate {
		return false, false
	}
	rc.failed++
	return rc.rnd.IntN(3) == 0, true
}

// protoAsJSON transcodes an OTLP protobuf logs request into the OTLP JSON
// of its records, as {"resourceLogs":[{"scopeLogs":[{"logRecords":[...]}]}]},
// with the library's own transcoder (checked against the Collector's
// decoders in conformance/).
func protoAsJSON(body []byte) []byte {
	out := []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[`)
	n := 0
	for rl, rest, ok := nextField(body); ok; rl, rest, ok = nextField(rest) {
		for sl, r2, ok := nextField(rl.data); ok; sl, r2, ok = nextField(r2) {
			if sl.tag != tagScopeLogs {
				continue
			}
			for lr, r3, ok := nextField(sl.data); ok; lr, r3, ok = nextField(r3) {
				if lr.tag == tagLogRecord {
					if n > 0 {
						out = append(out, ',')
					}
					out = appendRecordJSON(out, lr.data)
					n++
				}
			}
		}
	}
	return append(out, "]}]}]}"...)
}

// decodeLocked keeps the records of an accepted OTLP JSON (or protobuf)
// body.
func (rc *receiver) decodeLocked(body []byte, protobuf bool) {
	if protobuf {
		body = protoAsJSON(body)
	}
	var req struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				LogRecords []struct {
					SeverityText string `json:"severityText"`
					Body         struct {
						StringValue string `json:"stringValue"`
					} `json:"body"`
					Attributes []struct {
						Key   string `json:"key"`
						Value struct {
							IntValue string `json:"intValue"`
						} `json:"value"`
					} `json:"attributes"`
				} `json:"logRecords"`
			} `json:"scopeLogs"`
		} `json:"resourceLogs"`
	}
	if json.Unmarshal(body, &req) != nil {
		rc.bad++
		return
	}
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				rc.messages = append(rc.messages, lr.Body.StringValue)
				rc.levels = append(rc.levels, lr.SeverityText)
				for _, a := range lr.Attributes {
					if a.Key == "id" {
						rc.seen[a.Value.IntValue]++
					}
				}
			}
		}
	}
}

// statusRecorder notes the status a reply writes.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	written bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.written {
		s.status, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	s.written = true
	return s.ResponseWriter.Write(p)
}

// all returns every request so far, in arrival order.
func (rc *receiver) all() []captured {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// got returns the messages and severities of the records accepted so far.
func (rc *receiver) got() (messages, levels []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.messages), slices.Clone(rc.levels)
}

// count is the number of records accepted so far.
func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.messages)
}

// received counts the distinct ids accepted so far.
func (rc *receiver) received() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

// ids returns how often each id arrived.
func (rc *receiver) ids() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return maps.Clone(rc.seen)
}

// failures is the number of requests the fail rate answered 503.
func (rc *receiver) failures() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.failed
}

// undecodable is the number of accepted requests that were not OTLP JSON.
func (rc *receiver) undecodable() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.bad
}
