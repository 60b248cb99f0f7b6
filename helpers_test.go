package slogotlp

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// captureExporter keeps a copy of every payload and answers with the results
// queued in next (Success when empty).
type captureExporter struct {
	mu       sync.Mutex
	payloads [][]byte
	next     []Result
	calls    int
	shutdown int
}

func (c *captureExporter) Export(_ context.Context, p []byte, _ int) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if len(c.next) > 0 {
		r := c.next[0]
		c.next = c.next[1:]
		if r.Outcome != ExportSuccess {
			return r
		}
		c.payloads = append(c.payloads, append([]byte(nil), p...))
		return r
	}
	c.payloads = append(c.payloads, append([]byte(nil), p...))
	return Result{}
}

func (c *captureExporter) Shutdown(context.Context) error {
	c.mu.Lock()
	c.shutdown++
	c.mu.Unlock()
	return nil
}

// records decodes every captured payload and returns its log records in
// order, each as generic JSON.
func (c *captureExporter) records(t testing.TB) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, p := range c.payloads {
		var req struct {
			ResourceLogs []struct {
				ScopeLogs []struct {
					LogRecords []map[string]any `json:"logRecords"`
				} `json:"scopeLogs"`
			} `json:"resourceLogs"`
		}
		require.True(t, json.Valid(p), "payload is not valid JSON: %s", p)
		require.NoError(t, json.Unmarshal(p, &req))
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				out = append(out, sl.LogRecords...)
			}
		}
	}
	return out
}

func (c *captureExporter) count(t testing.TB) int { return len(c.records(t)) }

// texts returns the payloads exported so far, as text, so that a failing
// assertion on them prints JSON rather than decimal bytes.
func (c *captureExporter) texts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.payloads))
	for i, p := range c.payloads {
		out[i] = string(p)
	}
	return out
}

// payload returns the one payload exported so far, failing the test unless
// there is exactly one.
func (c *captureExporter) payload(t testing.TB) string {
	t.Helper()
	ps := c.texts()
	require.Len(t, ps, 1, "want exactly one payload")
	return ps[0]
}

// gateExporter is a captureExporter whose first Export waits at a gate until
// the test opens it. While it waits the worker is busy: the test can fill
// and overflow the queue knowing that nothing is taken from it meanwhile.
type gateExporter struct {
	captureExporter
	entered chan struct{} // closed when the first Export reaches the gate
	open    chan struct{} // closed by openGate
	once    sync.Once
}

func newGateExporter() *gateExporter {
	return &gateExporter{entered: make(chan struct{}), open: make(chan struct{})}
}

func (g *gateExporter) Export(ctx context.Context, p []byte, n int) Result {
	g.once.Do(func() {
		close(g.entered)
		select {
		case <-g.open:
		case <-ctx.Done(): // a test that failed before opening the gate
		}
	})
	return g.captureExporter.Export(ctx, p, n)
}

// waitEntered returns once the worker waits at the gate.
func (g *gateExporter) waitEntered(t testing.TB) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no export reached the gate")
	}
}

func (g *gateExporter) openGate() { close(g.open) }

// newTestHandler returns a handler on a capture exporter, shut down when the
// test ends.
func newTestHandler(t testing.TB, opts *HandlerOptions) (*Handler, *captureExporter) {
	t.Helper()
	exp := &captureExporter{}
	return startHandler(t, exp, opts), exp
}

// startHandler returns a handler on exp, shut down when the test ends, when
// its Stats must add up.
func startHandler(t testing.TB, exp Exporter, opts *HandlerOptions) *Handler {
	t.Helper()
	h := NewHandler(exp, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		checkStats(t, h.Stats())
	})
	return h
}

func flush(t testing.TB, h *Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, h.Flush(ctx))
}

// checkStats asserts the identity every snapshot must keep.
func checkStats(t testing.TB, s Stats) {
	t.Helper()
	if s.Handled != s.Exported+s.Dropped.Total()+s.Queued+s.Spooled {
		t.Errorf("stats do not add up: handled %d != exported %d + dropped %d + queued %d + spooled %d",
			s.Handled, s.Exported, s.Dropped.Total(), s.Queued, s.Spooled)
	}
}

// attrMap turns an OTLP attribute list into a map from key to the decoded
// value, with kvlists as nested maps, for compact assertions.
func attrMap(list any) map[string]any {
	out := map[string]any{}
	items, _ := list.([]any)
	for _, it := range items {
		kv := it.(map[string]any)
		out[kv["key"].(string)] = anyValue(kv["value"])
	}
	return out
}

func anyValue(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	for k, x := range m {
		switch k {
		case "kvlistValue":
			return attrMap(x.(map[string]any)["values"])
		case "arrayValue":
			vals, _ := x.(map[string]any)["values"].([]any)
			out := make([]any, 0, len(vals))
			for _, e := range vals {
				out = append(out, anyValue(e))
			}
			return out
		default:
			return x
		}
	}
	return nil
}
