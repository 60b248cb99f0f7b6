package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// officialStats is what the official stack lets a run observe: the records
// its exporter reported exported, the drops its BatchProcessor reported
// through the OpenTelemetry diagnostic logger, and the errors it reported.
type officialStats struct {
	Exported, DroppedReported, Errors int64
}

// newOfficial builds the official stack with its defaults: the otelslog
// bridge, sdk/log's BatchProcessor and otlploghttp (protobuf, no
// compression). Only the endpoint is set. The exporter is wrapped in a
// pass-through that counts what it exported, and the global diagnostic
// logger is replaced by one that counts; neither changes what the stack does.
func newOfficial(url string) (*stack, error) {
	obs := &officialStats{}
	otel.SetLogger(logr.New(&diagSink{obs: obs}))
	exp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(url))
	if err != nil {
		return nil, err
	}
	cexp := &countingExporter{Exporter: exp}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(cexp)))
	return &stack{
		logger: otelslog.NewLogger("paced", otelslog.WithLoggerProvider(lp)),
		// The queue is not observable; offered minus exported minus the drops
		// reported so far is an upper bound (exact until the first drop).
		backlog: func(offered int64) int64 {
			return offered - cexp.exported.Load() - atomic.LoadInt64(&obs.DroppedReported)
		},
		shutdown: lp.Shutdown,
		finish: func(res *clientResult) {
			res.Official = &officialStats{
				Exported:        cexp.exported.Load(),
				DroppedReported: atomic.LoadInt64(&obs.DroppedReported),
				Errors:          atomic.LoadInt64(&obs.Errors),
			}
		},
	}, nil
}

// countingExporter counts the records its exporter accepted.
type countingExporter struct {
	sdklog.Exporter
	exported atomic.Int64
}

func (e *countingExporter) Export(ctx context.Context, recs []sdklog.Record) error {
	err := e.Exporter.Export(ctx, recs)
	if err == nil {
		e.exported.Add(int64(len(recs)))
	}
	return err
}

// diagSink is the OpenTelemetry SDK's diagnostic logger for a run. The
// BatchProcessor reports queue-full drops as a warning (V(1)) "dropped log
// records" with the count; errors are counted and the first few printed.
type diagSink struct{ obs *officialStats }

func (s *diagSink) Init(logr.RuntimeInfo)  {}
func (s *diagSink) Enabled(level int) bool { return level <= 1 }

func (s *diagSink) Info(_ int, msg string, kv ...any) {
	if msg != "dropped log records" {
		return
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "dropped" {
			switch n := kv[i+1].(type) {
			case uint64:
				atomic.AddInt64(&s.obs.DroppedReported, int64(n))
			case int:
				atomic.AddInt64(&s.obs.DroppedReported, int64(n))
			}
		}
	}
}

func (s *diagSink) Error(err error, msg string, _ ...any) {
	if atomic.AddInt64(&s.obs.Errors, 1) <= 3 {
		fmt.Fprintf(os.Stderr, "paced client (official stack): %s: %v\n", msg, err)
	}
}

func (s *diagSink) WithValues(...any) logr.LogSink { return s }
func (s *diagSink) WithName(string) logr.LogSink   { return s }
