package slogotlp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// receiver is a loopback OTLP/HTTP JSON logs receiver for tests. It decodes
// every request and keeps each record's message and severity, and counts
// records by their "id" attribute. With a failRate it answers that share of
// requests with 503, a third of those slowly, as a loaded server does.
type receiver struct {
	mu       sync.Mutex
	messages []string
	levels   []string
	seen     map[string]int
	failRate float64
	r        *rand.Rand
	failed   int
}

func newReceiver(failRate float64) *receiver {
	return &receiver{failRate: failRate, r: rand.New(rand.NewPCG(7, 8))}
}

func (rc *receiver) fail() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.r == nil || rc.r.Float64() >= rc.failRate {
		return false
	}
	rc.failed++
	return true
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err == nil && req.Header.Get("Content-Encoding") == "gzip" {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
			body, err = io.ReadAll(zr)
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.fail() {
		if rand.IntN(3) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var payload struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				LogRecords []struct {
					SeverityText string `json:"severityText"`
					Body         struct {
						StringValue string `json:"stringValue"`
					} `json:"body"`
					Attributes []struct {
						Key   string         `json:"key"`
						Value map[string]any `json:"value"`
					} `json:"attributes"`
				} `json:"logRecords"`
			} `json:"scopeLogs"`
		} `json:"resourceLogs"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		http.Error(w, "bad json: "+err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	if rc.seen == nil {
		rc.seen = map[string]int{}
	}
	for _, rl := range payload.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				rc.messages = append(rc.messages, lr.Body.StringValue)
				rc.levels = append(rc.levels, lr.SeverityText)
				for _, a := range lr.Attributes {
					if a.Key == "id" {
						id, _ := a.Value["intValue"].(string)
						rc.seen[id]++
					}
				}
			}
		}
	}
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "{}")
}

func (rc *receiver) got() (messages, levels []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.messages), slices.Clone(rc.levels)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.messages)
}

// received counts distinct ids seen.
func (rc *receiver) received() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}
