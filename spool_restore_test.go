//go:build unix && !aix && !solaris

package slogotlp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answerExporter answers every call with answer's result (success when
// nil), and keeps each payload and record count it was given. It speaks
// JSON: restored payloads reach it transcoded.
type answerExporter struct {
	mu     sync.Mutex
	answer func(call int, payload []byte, n int) Result
	calls  int
	got    []string
	ns     []int
}

func (e *answerExporter) Export(_ context.Context, p []byte, n int) Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	e.got = append(e.got, string(p))
	e.ns = append(e.ns, n)
	if e.answer == nil {
		return Result{}
	}
	return e.answer(e.calls, p, n)
}

func (e *answerExporter) Shutdown(context.Context) error { return nil }

func (e *answerExporter) payloads() ([]string, []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...), append([]int(nil), e.ns...)
}

// spooledRequest is a protobuf request of n records whose messages start
// with name, as the batcher spools them.
func spooledRequest(t testing.TB, name string, n int) []byte {
	t.Helper()
	pb, _ := goldenPayloads(t, []slog.Attr{slog.String("service.name", "seeded")}, func(h *Handler) []goldenRecord {
		var out []goldenRecord
		for i := range n {
			out = append(out, goldenRecord{h, context.Background(),
				slog.NewRecord(goldenTime.Add(time.Duration(i)), slog.LevelInfo, fmt.Sprintf("%s %d", name, i), 0)})
		}
		return out
	})
	return pb
}

// seedSpool writes payloads of the given record counts, oldest first, into
// the spool a handler on exp (destination "default") opens under root,
// each created at the time age ago. It returns the sub-directory.
func seedSpool(t testing.TB, root string, exp Exporter, age time.Duration, counts ...int) string {
	t.Helper()
	s, _, err := openDestSpool(root, 0, spoolIdentity(exp, "default"))
	require.NoError(t, err)
	s.now = func() time.Time { return time.Now().Add(-age) }
	for i, n := range counts {
		require.NoError(t, s.put(spooledRequest(t, fmt.Sprintf("seeded%d", i), n), n, classMid))
	}
	require.NoError(t, s.close())
	return s.dir
}

// messagesOf returns the messages of a JSON payload's records.
func messagesOf(t testing.TB, payload string) []string {
	t.Helper()
	var req struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				LogRecords []struct {
					Body struct {
						StringValue string `json:"stringValue"`
					} `json:"body"`
				} `json:"logRecords"`
			} `json:"scopeLogs"`
		} `json:"resourceLogs"`
	}
	require.NoError(t, json.Unmarshal([]byte(payload), &req), "%s", payload)
	var out []string
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				out = append(out, lr.Body.StringValue)
			}
		}
	}
	return out
}

// TestSpoolRestoreOutcomes: what becomes of a spooled payload for each
// answer of the receiver. Each case seeds two payloads, of 4 and 2
// records, and starts a handler on them.
func TestSpoolRestoreOutcomes(t *testing.T) {
	partial := func(_ int, p []byte, n int) Result {
		return Result{Rejected: 1, Err: errors.New("1 record too old")}
	}
	for _, tc := range []struct {
		name     string
		answer   func(call int, p []byte, n int) Result
		calls    int
		restored uint64
		rejected uint64
		fatal    bool
		report   string // in what OnError hears
	}{
		{name: "success", calls: 2, restored: 6},
		{name: "partial success", answer: partial, calls: 2, restored: 4, rejected: 2, report: "rejected 1 of 4"},
		{name: "refused", calls: 2, rejected: 6, report: "refused",
			answer: func(int, []byte, int) Result {
				return Result{Outcome: ExportRejected, Err: errors.New("HTTP 400")}
			}},
		{name: "fatal", calls: 1, rejected: 4, fatal: true, report: "stopped for good",
			answer: func(int, []byte, int) Result { return Result{Outcome: ExportFatal, Err: errors.New("HTTP 401")} }},
		{name: "offline, then up", calls: 5, restored: 6, report: "works again",
			answer: func(call int, _ []byte, _ int) Result {
				if call <= 3 {
					return Result{Outcome: ExportRetryable, Offline: true, Err: errors.New("connection refused")}
				}
				return Result{}
			}},
		{name: "too large: split in halves", calls: 4, restored: 6,
			answer: func(call int, _ []byte, n int) Result {
				if call == 1 {
					return Result{Outcome: ExportTooLarge, Err: errors.New("HTTP 413")}
				}
				return Result{}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := &answerExporter{answer: tc.answer}
			root := t.TempDir()
			sub := seedSpool(t, root, exp, 0, 4, 2)
			var el errLog
			h := NewHandler(exp, spoolOpts(root, &el))
			require.Eventually(t, func() bool {
				s := h.Stats()
				return s.Restored+s.RestoreRejected == 6 || (tc.fatal && s.Fatal)
			}, 10*time.Second, time.Millisecond)
			_ = shutdown(t, h)
			s := h.Stats()
			assert.Equal(t, tc.restored, s.Restored)
			assert.Equal(t, tc.rejected, s.RestoreRejected)
			assert.Equal(t, tc.fatal, s.Fatal)
			assert.Zero(t, s.Handled, "restored records are not this run's")
			got, ns := exp.payloads()
			assert.Len(t, got, tc.calls)
			var msgs []string
			for i, p := range got {
				m := messagesOf(t, p) // a JSON exporter gets JSON
				assert.Len(t, m, ns[i], "the count passed to Export")
				msgs = append(msgs, m...)
			}
			if tc.restored == 6 {
				want := []string{"seeded0 0", "seeded0 1", "seeded0 2", "seeded0 3", "seeded1 0", "seeded1 1"}
				assert.Equal(t, want, msgs[len(msgs)-6:], "oldest first, each record once after the retries")
			}
			if tc.report != "" {
				assert.NotEmpty(t, el.with(tc.report), "%q", el.texts())
			}
			if tc.fatal {
				assert.Len(t, spoolNames(t, sub), 1, "after a fatal error the rest stays")
			} else {
				assert.Empty(t, spoolNames(t, sub), "every payload settled is removed")
			}
		})
	}
}

// TestSpoolRestoreBeforeNew: spooled payloads are sent before the records
// of the new run, even an ERROR logged at once.
func TestSpoolRestoreBeforeNew(t *testing.T) {
	exp := &answerExporter{}
	root := t.TempDir()
	seedSpool(t, root, exp, 0, 3, 3)
	var el errLog
	h := NewHandler(exp, spoolOpts(root, &el))
	slog.New(h).Error("new")
	require.NoError(t, shutdown(t, h))
	got, _ := exp.payloads()
	var msgs []string
	for _, p := range got {
		msgs = append(msgs, messagesOf(t, p)...)
	}
	assert.Equal(t, []string{"seeded0 0", "seeded0 1", "seeded0 2", "seeded1 0", "seeded1 1", "seeded1 2", "new"}, msgs)
}

// TestSpoolMaxAge: payloads older than SpoolMaxAge are removed unsent and
// counted as evicted; younger ones are sent.
func TestSpoolMaxAge(t *testing.T) {
	exp := &answerExporter{}
	root := t.TempDir()
	sub := seedSpool(t, root, exp, 2*time.Hour, 5)
	seedSpool(t, root, exp, 0, 2)
	var el errLog
	o := spoolOpts(root, &el)
	o.SpoolMaxAge = time.Hour
	h := NewHandler(exp, o)
	require.Eventually(t, func() bool { return h.Stats().Restored == 2 }, 10*time.Second, time.Millisecond)
	require.NoError(t, shutdown(t, h))
	assert.Equal(t, uint64(5), h.Stats().SpoolEvicted)
	assert.Equal(t, 1, el.count("removed 5 spooled records older than SpoolMaxAge (1h0m0s), unsent"), "%q", el.texts())
	got, _ := exp.payloads()
	require.Len(t, got, 1)
	assert.Equal(t, []string{"seeded0 0", "seeded0 1"}, messagesOf(t, got[0]))
	assert.Empty(t, spoolNames(t, sub))
}

// TestSpoolEvictionsReported: records the spool removes unsent to make room
// within SpoolMaxBytes are counted in Stats.SpoolEvicted and told to
// OnError, not only counted.
func TestSpoolEvictionsReported(t *testing.T) {
	exp := &toggleExporter{}
	exp.down.Store(true)
	root := t.TempDir()
	sub := seedSpool(t, root, exp, 0, 5, 5, 5)
	var full int64
	for _, name := range spoolNames(t, sub) {
		fi, err := os.Stat(filepath.Join(sub, name))
		require.NoError(t, err)
		full += fi.Size()
	}
	var el errLog
	o := spoolOpts(root, &el)
	o.SpoolMaxBytes = full // the seeded files fill the spool
	h := NewHandler(exp, o)
	slog.New(h).Info("newest")
	_ = shutdown(t, h)
	s := h.Stats()
	assert.Equal(t, uint64(1), s.Spooled)
	assert.Equal(t, uint64(5), s.SpoolEvicted, "the oldest seeded payload made room")
	assert.Equal(t, 1, el.count("5 older spooled records of the same or a lower severity were removed unsent to make room"), "%q", el.texts())
	assert.Len(t, spoolNames(t, sub), 3)
}

// TestSpoolRestoreGivesUpForTheRun: a payload the receiver keeps failing
// (5xx) for MaxRetryTime stays on disk and is not tried again in this run,
// so it cannot hold up the payloads behind it, which go once the receiver
// works again.
func TestSpoolRestoreGivesUpForTheRun(t *testing.T) {
	exp := &answerExporter{answer: func(_ int, p []byte, _ int) Result {
		if strings.Contains(string(p), "seeded0") {
			return Result{Outcome: ExportRetryable, Err: errors.New("HTTP 500")}
		}
		return Result{}
	}}
	root := t.TempDir()
	sub := seedSpool(t, root, exp, 0, 2, 3)
	var el errLog
	o := spoolOpts(root, &el)
	o.MaxRetryTime = 20 * time.Millisecond
	h := NewHandler(exp, o)
	require.Eventually(t, func() bool { return len(el.with("stays in the spool")) > 0 }, 10*time.Second, time.Millisecond)
	// A record that goes through shows the receiver works again: the
	// payloads behind the failing one follow, the failing one is skipped.
	slog.New(h).Error("live")
	require.Eventually(t, func() bool { return h.Stats().Restored == 3 }, 10*time.Second, time.Millisecond)
	require.NoError(t, shutdown(t, h))
	s := h.Stats()
	assert.Equal(t, uint64(1), s.Exported)
	assert.Zero(t, s.RestoreRejected)
	names := spoolNames(t, sub)
	require.Len(t, names, 1, "the failing payload is kept for the next start")
	e, ok := parseSpoolName(names[0])
	require.True(t, ok)
	assert.Equal(t, uint32(2), e.records)
}

// TestSpoolCorruptFileSkipped: a corrupt file in the spool is removed,
// counted and reported, never sent; the payloads after it are.
func TestSpoolCorruptFileSkipped(t *testing.T) {
	exp := &answerExporter{}
	root := t.TempDir()
	sub := seedSpool(t, root, exp, 0, 2, 3)
	names := spoolNames(t, sub)
	require.Len(t, names, 2)
	path := filepath.Join(sub, names[0])
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[len(b)-1] ^= 0xff
	require.NoError(t, os.WriteFile(path, b, 0o600))

	var el errLog
	h := NewHandler(exp, spoolOpts(root, &el))
	require.Eventually(t, func() bool { return h.Stats().Restored == 3 }, 10*time.Second, time.Millisecond)
	require.NoError(t, shutdown(t, h))
	assert.Equal(t, uint64(1), h.Stats().SpoolCorrupt)
	assert.Len(t, el.with("corrupt"), 1, "%q", el.texts())
	got, _ := exp.payloads()
	require.Len(t, got, 1)
	assert.Equal(t, []string{"seeded1 0", "seeded1 1", "seeded1 2"}, messagesOf(t, got[0]))
	assert.Empty(t, spoolNames(t, sub))
}

// TestSplitRequest: a spooled request split in two keeps every record once,
// in order, under its own scope and the resource, and each half is a
// request the transcoder reads.
func TestSplitRequest(t *testing.T) {
	for _, tc := range transcodeCases {
		t.Run(tc.name, func(t *testing.T) {
			pb, js := goldenPayloads(t, tc.resource, tc.records)
			lo, hi, nlo, nhi := splitRequest(pb)
			total := countRequestRecords(pb)
			if total < 2 {
				assert.Zero(t, nlo+nhi)
				assert.Nil(t, lo)
				return
			}
			assert.Equal(t, total, nlo+nhi)
			assert.Equal(t, nlo, countRequestRecords(lo))
			assert.Equal(t, nhi, countRequestRecords(hi))
			type rec struct{ scope, rec string }
			flat := func(p []byte) (res []string, out []rec) {
				var req struct {
					ResourceLogs []struct {
						Resource  json.RawMessage `json:"resource"`
						ScopeLogs []struct {
							Scope      json.RawMessage   `json:"scope"`
							LogRecords []json.RawMessage `json:"logRecords"`
						} `json:"scopeLogs"`
					} `json:"resourceLogs"`
				}
				require.NoError(t, json.Unmarshal(p, &req), "%s", p)
				for _, rl := range req.ResourceLogs {
					res = append(res, string(rl.Resource))
					for _, sl := range rl.ScopeLogs {
						require.NotEmpty(t, sl.LogRecords, "no empty scope")
						for _, r := range sl.LogRecords {
							out = append(out, rec{string(sl.Scope), string(r)})
						}
					}
				}
				return res, out
			}
			wantRes, want := flat(js)
			loRes, got := flat(appendRequestJSON(nil, lo))
			hiRes, more := flat(appendRequestJSON(nil, hi))
			assert.Equal(t, wantRes, loRes, "the resource is kept")
			assert.Equal(t, wantRes, hiRes)
			assert.Equal(t, want, append(got, more...), "every record once, in order, under its scope")
		})
	}
}

// FuzzSplitRequest: splitting any bytes as a request never panics, and a
// split keeps every record: the halves hold them all between them.
func FuzzSplitRequest(f *testing.F) {
	for _, c := range transcodeCases[:2] { // the long one slows the fuzzer down
		if pb, err := os.ReadFile(filepath.Join(transcodeDir, c.name+".pb")); err == nil {
			f.Add(pb)
		}
	}
	f.Add([]byte{tagResourceLogs, 6, tagScopeLogs, 4, tagLogRecord, 0, tagLogRecord, 0})
	f.Fuzz(func(t *testing.T, req []byte) {
		total := countRequestRecords(req)
		lo, hi, nlo, nhi := splitRequest(req)
		if total < 2 {
			require.Zero(t, nlo+nhi)
			return
		}
		require.Equal(t, total, nlo+nhi)
		require.Equal(t, nlo, countRequestRecords(lo))
		require.Equal(t, nhi, countRequestRecords(hi))
	})
}
