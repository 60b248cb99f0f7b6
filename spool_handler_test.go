//go:build unix && !aix && !solaris

package slogotlp

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// with returns the reports whose text contains sub.
func (l *errLog) with(sub string) []string {
	var out []string
	for _, s := range l.texts() {
		if strings.Contains(s, sub) {
			out = append(out, s)
		}
	}
	return out
}

// spoolOpts are the options of a handler with a spool in dir: quick
// retries, no drop reports, OnError into el.
func spoolOpts(dir string, el *errLog) *HandlerOptions {
	return &HandlerOptions{
		SpoolDir: dir, OnError: el.add, DropReportInterval: -1, NoResourceDetection: true,
		InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
	}
}

// httpExporter returns an HTTP exporter to rc, in protobuf (the default).
func httpExporter(t testing.TB, rc *receiver, o *HTTPExporterOptions) *HTTPExporter {
	t.Helper()
	exp, err := NewHTTPExporter(rc.URL+"/v1/logs", o)
	require.NoError(t, err)
	return exp
}

// shutdown shuts h down within 10s, checks its Stats add up, and returns
// Shutdown's error.
func shutdown(t testing.TB, h *Handler) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.Shutdown(ctx)
	checkStats(t, h.Stats())
	return err
}

// spoolDirOf returns the spool sub-directory of h's first destination.
func spoolDirOf(t testing.TB, h *Handler) string {
	t.Helper()
	require.NotNil(t, h.c.b.spool, "the spool did not open: %v", h.c.b.spoolErr)
	return h.c.b.spool.dir
}

// receivedRecord is one record a receiver accepted.
type receivedRecord struct {
	id   string
	time string // timeUnixNano
	body string
}

// accepted decodes every record of the requests rc answered 2xx.
func accepted(t testing.TB, rc *receiver) []receivedRecord {
	t.Helper()
	var out []receivedRecord
	for _, c := range rc.all() {
		if c.status/100 != 2 {
			continue
		}
		body := c.plain
		if isProtobufType(c.header.Get("Content-Type")) {
			body = protoAsJSON(body)
		}
		var req struct {
			ResourceLogs []struct {
				ScopeLogs []struct {
					LogRecords []struct {
						TimeUnixNano string `json:"timeUnixNano"`
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
		require.NoError(t, json.Unmarshal(body, &req), "%s", body)
		for _, rl := range req.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					r := receivedRecord{time: lr.TimeUnixNano, body: lr.Body.StringValue}
					for _, a := range lr.Attributes {
						if a.Key == "id" {
							r.id = a.Value.IntValue
						}
					}
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// TestSpoolAcrossRestarts: a program whose receiver is down at Shutdown
// keeps its records on disk instead of losing them (Shutdown returns nil,
// Stats count them as Spooled); the next program with the receiver up sends
// them first, with their original timestamps, and removes them; the one
// after resends nothing.
func TestSpoolAcrossRestarts(t *testing.T) {
	rc := newReceiver(t, nil)
	rc.stop()
	root := t.TempDir()
	var el errLog

	h1 := NewHandler(httpExporter(t, rc, nil), spoolOpts(root, &el))
	before := time.Now()
	l := slog.New(h1)
	for i := range 10 {
		l.Info("first run", "id", i)
	}
	after := time.Now()
	require.NoError(t, shutdown(t, h1), "records kept on disk are not lost")
	s := h1.Stats()
	assert.Equal(t, uint64(10), s.Spooled)
	assert.Zero(t, s.Exported+s.Dropped.Total()+s.Queued)
	sub := spoolDirOf(t, h1)
	assert.NotEmpty(t, spoolNames(t, sub))
	assert.Len(t, el.with("kept in the disk spool"), 1, "%q", el.texts())

	rc.restart(t)
	h2 := NewHandler(httpExporter(t, rc, nil), spoolOpts(root, &el))
	slog.New(h2).Info("second run", "id", 100)
	require.NoError(t, shutdown(t, h2))
	got := accepted(t, rc)
	require.Len(t, got, 11)
	for i, r := range got[:10] {
		assert.Equal(t, "first run", r.body, "spooled records go first")
		assert.Equal(t, strconv.Itoa(i), r.id, "oldest first")
		ns, err := strconv.ParseInt(r.time, 10, 64)
		require.NoError(t, err)
		ts := time.Unix(0, ns)
		assert.False(t, ts.Before(before.Truncate(time.Microsecond)) || ts.After(after), "record %d keeps the time it was logged at: %v", i, ts)
	}
	assert.Equal(t, "second run", got[10].body)
	s = h2.Stats()
	assert.Equal(t, uint64(10), s.Restored)
	assert.Equal(t, uint64(1), s.Exported)
	assert.Equal(t, uint64(1), s.Handled, "restored records are not this run's")
	assert.Empty(t, spoolNames(t, sub), "delivered payloads are removed")

	h3 := NewHandler(httpExporter(t, rc, nil), spoolOpts(root, &el))
	slog.New(h3).Info("third run", "id", 200)
	require.NoError(t, shutdown(t, h3))
	got = accepted(t, rc)
	require.Len(t, got, 12, "nothing is sent twice")
	assert.Equal(t, "third run", got[11].body)
	assert.Zero(t, h3.Stats().Restored)
}

// TestSpoolNothingWrittenWhileUp: with the receiver up, the spool writes
// nothing: no payload and no temp file, however many records pass.
func TestSpoolNothingWrittenWhileUp(t *testing.T) {
	rc := newReceiver(t, nil)
	var el errLog
	h := NewHandler(httpExporter(t, rc, nil), spoolOpts(t.TempDir(), &el))
	l := slog.New(h)
	for i := range 2000 {
		l.Info("m", "id", i)
	}
	require.NoError(t, shutdown(t, h))
	assert.Equal(t, 2000, rc.received())
	assert.Zero(t, h.Stats().Spooled)
	assert.Empty(t, spoolNames(t, spoolDirOf(t, h)))
	assert.Empty(t, el.texts())
}

// TestSpoolOverflowWhileOffline: while the receiver is unreachable, a full
// queue sends whole batches of its lowest severity to disk instead of
// evicting records; when the receiver is back they arrive. Under
// OverflowBlock nothing is lost: a Handle call that finds the queue full
// while a batch is being written waits for the write, not for the
// receiver. Under OverflowDrop every record is received or counted.
func TestSpoolOverflowWhileOffline(t *testing.T) {
	for _, policy := range []Overflow{OverflowBlock, OverflowDrop} {
		t.Run(policy.String(), func(t *testing.T) {
			rc := newReceiver(t, nil)
			rc.stop()
			var el errLog
			o := spoolOpts(t.TempDir(), &el)
			o.MaxQueueSize, o.BatchSize, o.Level, o.Overflow = 64, 16, slog.LevelDebug, policy
			o.BlockTimeout = time.Minute
			h := NewHandler(httpExporter(t, rc, nil), o)
			l := slog.New(h)
			l.Error("probe", "id", 0) // an ERROR is sent at once and finds the receiver down
			require.Eventually(t, func() bool { return h.Stats().Offline }, 10*time.Second, time.Millisecond)
			const n = 1000
			for i := 1; i < n; i++ {
				if i%2 == 0 {
					l.Debug("low", "id", i)
				} else {
					l.Warn("mid", "id", i)
				}
			}
			require.Eventually(t, func() bool { return h.Stats().Spooled > 0 }, 10*time.Second, time.Millisecond,
				"overflow goes to disk")
			checkStats(t, h.Stats())

			rc.restart(t)
			require.Eventually(t, func() bool {
				s := h.Stats()
				return !s.Offline && s.Restored == s.Spooled
			}, 20*time.Second, 5*time.Millisecond, "the spooled records are sent when the receiver is back")
			err := shutdown(t, h)
			s := h.Stats()
			if s.Dropped.Total() == 0 {
				require.NoError(t, err)
			}
			assert.Equal(t, uint64(rc.received()), s.Exported+s.Restored)
			assert.Equal(t, s.Handled, uint64(rc.received())+s.Dropped.Total(), "received or counted")
			if policy == OverflowBlock {
				assert.Zero(t, s.Dropped.Total())
				assert.Equal(t, n, rc.received())
			}
			for id, c := range rc.ids() {
				assert.Equal(t, 1, c, "record %s received %d times", id, c)
			}
			assert.Empty(t, spoolNames(t, spoolDirOf(t, h)))
		})
	}
}
