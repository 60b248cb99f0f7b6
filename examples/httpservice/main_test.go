//go:build !js && !wasip1

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/soliplex/slogotlp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type record struct {
	TraceID string `json:"traceId"`
	SpanID  string `json:"spanId"`
	Body    struct {
		StringValue string `json:"stringValue"`
	} `json:"body"`
}

// TestSelftest runs the service's self-test and checks that the records
// logged while serving carry the caller's trace and a span of their own.
func TestSelftest(t *testing.T) {
	var exported, out bytes.Buffer
	err := run("127.0.0.1:0", true, &slogotlp.Config{
		Getenv:   func(string) string { return "" },
		Fallback: slogotlp.NewWriterExporter(&exported, false),
	}, &out)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "selftest: 200 hello, selftest")

	byMsg := map[string]record{}
	dec := json.NewDecoder(&exported)
	for dec.More() {
		var req struct {
			ResourceLogs []struct {
				ScopeLogs []struct {
					LogRecords []record `json:"logRecords"`
				} `json:"scopeLogs"`
			} `json:"resourceLogs"`
		}
		require.NoError(t, dec.Decode(&req))
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, r := range sl.LogRecords {
					byMsg[r.Body.StringValue] = r
				}
			}
		}
	}
	hello, request := byMsg["saying hello"], byMsg["request"]
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", hello.TraceID, "the caller's trace")
	assert.Len(t, hello.SpanID, 16)
	assert.NotEqual(t, "00f067aa0ba902b7", hello.SpanID, "a span of its own, not the caller's")
	assert.Equal(t, hello.SpanID, request.SpanID, "one span per request")
	assert.Contains(t, out.String(), "traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-"+hello.SpanID+"-01")
	assert.Empty(t, byMsg["listening"].TraceID, "records outside a request carry no trace")
	assert.Contains(t, byMsg, "stopped")
}

func TestParseTraceparent(t *testing.T) {
	valid := parseTraceparent(selftestParent)
	assert.True(t, valid.IsValid())
	assert.True(t, valid.IsSampled())
	assert.True(t, valid.IsRemote())
	for _, v := range []string{
		"", "garbage", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		strings.ToUpper(selftestParent),
	} {
		assert.False(t, parseTraceparent(v).IsValid(), v)
	}
	// A later version may add fields.
	assert.True(t, parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x").IsValid())

	root := newSpan(trace.SpanContext{})
	assert.True(t, root.IsValid())
	assert.True(t, root.IsSampled())
}
