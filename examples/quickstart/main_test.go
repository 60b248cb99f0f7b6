//go:build !js && !wasip1

package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestQuickstartToEndpoint runs the quickstart as the README says, with
// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT pointing at a loopback receiver standing
// in for a Collector, and checks that all three records arrive.
func TestQuickstartToEndpoint(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1/logs", r.URL.Path)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if !assert.NoError(t, err) {
				return
			}
			body = zr
		}
		var req struct {
			ResourceLogs []struct {
				ScopeLogs []struct {
					LogRecords []struct {
						Body struct{ StringValue string } `json:"body"`
					} `json:"logRecords"`
				} `json:"scopeLogs"`
			} `json:"resourceLogs"`
		}
		if !assert.NoError(t, json.NewDecoder(body).Decode(&req)) {
			return
		}
		mu.Lock()
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					got = append(got, lr.Body.StringValue)
				}
			}
		}
		mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	for _, k := range []string{"LOGFIRE_TOKEN", "LOGFIRE_TOKEN_FILE", "SLOGOTLP_RELAY_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_LOGS_HEADERS", "OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_BLRP_SCHEDULE_DELAY", "OTEL_BLRP_EXPORT_TIMEOUT",
		"OTEL_BLRP_MAX_QUEUE_SIZE", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "OTEL_LOGS_EXPORTER", "OTEL_EXPORTER_OTLP_TIMEOUT",
		"OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
		"OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", "LOGFIRE_SEND_TO_LOGFIRE", "LOGFIRE_CONSOLE",
		"LOGFIRE_MIN_LEVEL"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", srv.URL+"/v1/logs")
	t.Setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json") // readable here; protobuf by default

	main() // returns once the deferred shutdown has flushed

	mu.Lock()
	defer mu.Unlock()
	require.ElementsMatch(t, []string{"user signed in", "slow request", "payment failed"}, got)
}
