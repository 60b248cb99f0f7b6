package slogotlp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	slogmulti "github.com/samber/slog-multi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flakyLoad logs goroutines×per records, each with a unique "id", from
// concurrent goroutines through the real HTTP exporter to a receiver that
// fails 30% of requests with 503 (some slowly), then shuts the handler down.
func flakyLoad(t *testing.T, opts HandlerOptions, goroutines, per int) (*receiver, Stats) {
	t.Helper()
	rc := newFlakyReceiver(t, 0.3)
	exp, err := NewHTTPExporter(rc.URL+"/v1/logs", nil)
	require.NoError(t, err)
	opts.InitialBackoff, opts.MaxBackoff = time.Millisecond, 10*time.Millisecond
	h := NewHandler(exp, &opts)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			l := slog.New(h)
			for i := range per {
				l.Info("m", "id", g*per+i)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = h.Shutdown(ctx)
	s := h.Stats()
	if s.Dropped.Total() == 0 {
		require.NoError(t, err)
	} else {
		var de *DeliveryError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, s.Dropped, de.Dropped)
	}
	checkStats(t, s)
	assert.Equal(t, uint64(goroutines*per), s.Handled)
	assert.Zero(t, rc.undecodable(), "every accepted request is OTLP JSON")
	return rc, s
}

// TestConservationHTTP: 5,000 records from 8 goroutines, in about 40
// batches, against a receiver that fails 30% of requests. Every record is
// received exactly once or counted as dropped; with a queue big enough, none
// is dropped. (Batches, not records, fail and are retried: twenty times the
// records would prove no more and make -race slow.)
func TestConservationHTTP(t *testing.T) {
	const goroutines, per = 8, 625
	rc, s := flakyLoad(t, HandlerOptions{
		MaxQueueSize: 2 * goroutines * per, MaxQueueBytes: 1 << 30, BatchSize: 128, MaxRetryTime: time.Hour,
	}, goroutines, per)
	assert.Zero(t, s.Dropped.Total())
	assert.Equal(t, s.Exported, uint64(rc.received()))
	seen := rc.ids()
	assert.Equal(t, goroutines*per, len(seen))
	dups := 0
	for _, n := range seen {
		if n != 1 {
			dups++
		}
	}
	assert.Zero(t, dups, "records received more than once")
	assert.Positive(t, rc.failures())
	assert.Positive(t, s.Retries)
}

// TestConservationSmallQueue: 10,000 records into the default queue of
// 1024, faster than a flaky receiver takes them. Drops happen (most of the
// records), and every one is counted: received + dropped == logged.
func TestConservationSmallQueue(t *testing.T) {
	rc, s := flakyLoad(t, HandlerOptions{DropReportInterval: -1}, 8, 1250)
	assert.Equal(t, uint64(10000), uint64(rc.received())+s.Dropped.Total())
	assert.Equal(t, s.Dropped.Total(), s.Dropped.QueueFull)
}

// TestDropReport: drops show up in the backend as a WARN record of the
// handler's own, with the counts since the last report.
func TestDropReport(t *testing.T) {
	exp := newGateExporter()
	h := startHandler(t, exp, &HandlerOptions{MaxQueueSize: 2, DropReportInterval: 20 * time.Millisecond, ConcurrentExports: 1})
	l := slog.New(h)
	// The worker takes the ERROR and waits at the gate: while it does, the
	// queue fills and overflows with nothing taken from it, and no report
	// runs.
	l.Error("held")
	exp.waitEntered(t)
	l.Debug("hidden") // below the level: not handled at all
	l.Info("a")
	l.Info("b")
	l.Info("c") // evicts a
	l.Info("d") // evicts b
	// Let go: the worker exports c and d before it waits again, so the
	// report, whenever it runs, finds the queue empty and drops nothing.
	exp.openGate()
	var report map[string]any
	require.Eventually(t, func() bool {
		flush(t, h)
		for _, r := range exp.records(t) {
			if r["body"].(map[string]any)["stringValue"] == "slogotlp: log records dropped" {
				report = r
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	a := attrMap(report["attributes"])
	assert.Equal(t, "WARN", report["severityText"])
	assert.Equal(t, "2", a["otel.logs.dropped_count"])
	assert.Equal(t, "2", a["otel.logs.dropped.queue_full"])
	assert.Equal(t, uint64(2), h.Stats().Dropped.QueueFull)
}

// reports returns the drop reports among the captured records.
func reports(t *testing.T, exp *captureExporter) []map[string]any {
	var out []map[string]any
	for _, r := range exp.records(t) {
		if r["body"].(map[string]any)["stringValue"] == "slogotlp: log records dropped" {
			out = append(out, attrMap(r["attributes"]))
		}
	}
	return out
}

// TestDropReportNeverLostSilently: a report that is itself dropped is
// counted, and its counts go into the next report.
func TestDropReportNeverLostSilently(t *testing.T) {
	h, exp, _ := newScripted(t, &HandlerOptions{DropReportInterval: time.Hour, OnError: func(error) {}},
		Result{Outcome: ExportRejected}, // the two records
		Result{Outcome: ExportRejected}, // the first report
	)
	b := h.c.b
	l := slog.New(h)
	l.Info("a")
	l.Error("b")
	flush(t, h)
	require.Equal(t, uint64(2), h.Stats().Dropped.Rejected)

	b.queueDropReport()
	b.queueDropReport() // one report at a time: this one waits for the first's fate
	flush(t, h)
	assert.Equal(t, uint64(3), h.Stats().Dropped.Rejected, "the first report was refused, and counted")
	assert.Empty(t, reports(t, &exp.captureExporter))

	b.queueDropReport()
	flush(t, h)
	got := reports(t, &exp.captureExporter)
	require.Len(t, got, 1)
	assert.Equal(t, "3", got[0]["otel.logs.dropped_count"], "the lost report's drops and its own")
	assert.Equal(t, "3", got[0]["otel.logs.dropped.rejected"])

	b.queueDropReport()
	flush(t, h)
	assert.Len(t, reports(t, &exp.captureExporter), 1, "nothing new to report")
}

// TestDropReportAtShutdown: drops of the last moments are reported by
// Shutdown's last report.
func TestDropReportAtShutdown(t *testing.T) {
	exp := &scriptExporter{}
	exp.next = []Result{{Outcome: ExportRejected}}
	h := NewHandler(exp, &HandlerOptions{DropReportInterval: time.Hour, OnError: func(error) {}})
	slog.New(h).Error("refused")
	flush(t, h)
	var de *DeliveryError
	require.ErrorAs(t, h.Shutdown(context.Background()), &de)
	got := reports(t, &exp.captureExporter)
	require.Len(t, got, 1)
	assert.Equal(t, "1", got[0]["otel.logs.dropped.rejected"])
	checkStats(t, h.Stats())
}

// TestDropReportNegativeIsNever: DropReportInterval < 0 means no report,
// not the default.
func TestDropReportNegativeIsNever(t *testing.T) {
	assert.Equal(t, -time.Second, (&HandlerOptions{DropReportInterval: -time.Second}).withDefaults().DropReportInterval)
	assert.Equal(t, time.Minute, (&HandlerOptions{}).withDefaults().DropReportInterval)
	exp := &scriptExporter{}
	exp.next = []Result{{Outcome: ExportRejected}}
	h := NewHandler(exp, &HandlerOptions{DropReportInterval: -1, OnError: func(error) {}})
	assert.Nil(t, h.c.b.sendReport)
	slog.New(h).Error("refused")
	flush(t, h)
	_ = h.Shutdown(context.Background())
	assert.Empty(t, reports(t, &exp.captureExporter))
	assert.Equal(t, uint64(1), h.Stats().Handled, "no report record either")
}

// TestNoPIIReachesThePayload runs a realistic record through
// slogmulti.Pipe(redact, sample) into the handler and checks the payload.
func TestNoPIIReachesThePayload(t *testing.T) {
	exp := &captureExporter{}
	h := NewHandler(exp, &HandlerOptions{TrimPaths: TrimStack, StackTraces: true})
	defer h.Shutdown(context.Background())
	logger := slog.New(slogmulti.Pipe(Redact(nil), Sample(&SampleOptions{Seed: 1})).Handler(h))
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	logger.With("password", "hunter2").
		WithGroup("req").
		Error("login failed for alice@example.com",
			slog.Group("auth", "token", "Bearer "+jwt, "header", "Authorization: Bearer "+jwt),
			"err", errors.New("dial 10.1.2.3:5432: refused"),
			"client_ip", "2001:db8::1",
			"user_id", 7)
	require.NoError(t, h.Flush(context.Background()))
	p := exp.payload(t)
	for _, secret := range []string{"alice@example.com", "hunter2", jwt, "10.1.2.3", "2001:db8::1"} {
		assert.NotContains(t, p, secret)
	}
	assert.Contains(t, p, `"key":"user_id"`, "non-sensitive attributes survive")
	assert.Contains(t, p, "logfire.scrubbed")
	assert.NotContains(t, p, "/work/", "stack paths are trimmed")
}

func TestFailoverRoutesAroundDisabledExport(t *testing.T) {
	exp := &captureExporter{next: []Result{{Outcome: ExportFatal, Err: errors.New("HTTP 401")}}}
	h := NewHandler(exp, nil)
	defer h.Shutdown(context.Background())
	var fallback bytes.Buffer
	logger := slog.New(slogmulti.Failover()(h, slog.NewTextHandler(&fallback, nil)))
	logger.Error("first") // accepted by h; its export fails fatally
	require.NoError(t, h.Flush(context.Background()))
	logger.Error("second") // h refuses it: the fallback gets it
	assert.Contains(t, fallback.String(), "second")
	assert.NotContains(t, fallback.String(), "first")
	assert.True(t, strings.Contains(fallback.String(), "level=ERROR"))
}

// TestDropReportDeliveredByAnotherDestination: a report counts as delivered
// when any destination delivered its copy, so the next report does not
// count the same drops again; the copy the dead destination lost is counted
// there, and reported next.
func TestDropReportDeliveredByAnotherDestination(t *testing.T) {
	dead := &scriptExporter{}
	for range 10 {
		dead.next = append(dead.next, Result{Outcome: ExportRejected})
	}
	live := &captureExporter{}
	h := newMulti(t, []Destination{{Name: "dead", Exporter: dead}, {Name: "live", Exporter: live}},
		&HandlerOptions{DropReportInterval: time.Hour, OnError: func(error) {}})
	slog.New(h).Error("x") // dead refuses it, live takes it
	flush(t, h)
	b := h.c.dests[0].b
	require.Equal(t, uint64(1), b.stats().Dropped.Rejected)

	b.queueDropReport()
	flush(t, h)
	got := reports(t, live)
	require.Len(t, got, 1)
	assert.Equal(t, "dead", got[0]["slogotlp.destination"])
	assert.Equal(t, "1", got[0]["otel.logs.dropped.rejected"])
	assert.Equal(t, uint64(2), b.stats().Dropped.Rejected, "dead refused its own copy too")

	b.queueDropReport()
	flush(t, h)
	got = reports(t, live)
	require.Len(t, got, 2)
	assert.Equal(t, "1", got[1]["otel.logs.dropped_count"], "only the lost copy is new: the first report was delivered")
}
