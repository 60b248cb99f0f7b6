package slogotlp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/soliplex/slogotlp"
)

// recordPrinter is an Exporter for examples: it prints each log record of a
// payload as compact JSON, without the timestamps that change every run.
type recordPrinter struct{}

func (recordPrinter) Export(_ context.Context, payload []byte, _ int) slogotlp.Result {
	var req struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				Scope      json.RawMessage
				LogRecords []map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		return slogotlp.Result{Outcome: slogotlp.ExportRejected, Err: err}
	}
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, rec := range sl.LogRecords {
				delete(rec, "timeUnixNano")
				delete(rec, "observedTimeUnixNano")
				out, _ := json.Marshal(rec)
				fmt.Println(string(out))
			}
		}
	}
	return slogotlp.Result{}
}

func (recordPrinter) Shutdown(context.Context) error { return nil }

func Example() {
	// With no account, print what would be sent; NewLogfireExporter or
	// NewHTTPExporter ship it instead.
	h := slogotlp.NewHandler(slogotlp.NewWriterExporter(os.Stdout, false), &slogotlp.HandlerOptions{
		Resource: []slog.Attr{slog.String("service.name", "checkout")},
	})
	logger := slog.New(h)
	logger.Info("order placed", "order_id", 1042)

	// Shutdown exports what is queued; call it before the program exits.
	if err := h.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(h.Stats().Exported, "exported")
}

// Each slog kind becomes the OTLP value the package documentation's Record
// Conversion table names.
func Example_recordConversion() {
	h := slogotlp.NewHandler(recordPrinter{}, nil)
	slog.New(h).Info("kinds",
		"s", "text",
		"i", -7,
		"u", uint64(math.MaxUint64),
		"f", 0.5,
		"nan", math.NaN(),
		"b", true,
		"d", 1500*time.Millisecond,
		"t", time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		"bytes", []byte("hi"),
		"list", []string{"a", "b"},
		"map", map[string]int{"x": 1},
		slog.Group("req", "method", "GET"),
	)
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"s","value":{"stringValue":"text"}},{"key":"i","value":{"intValue":"-7"}},{"key":"u","value":{"stringValue":"18446744073709551615"}},{"key":"f","value":{"doubleValue":0.5}},{"key":"nan","value":{"doubleValue":"NaN"}},{"key":"b","value":{"boolValue":true}},{"key":"d","value":{"intValue":"1500000000"}},{"key":"t","value":{"stringValue":"2026-11-26T12:00:00Z"}},{"key":"bytes","value":{"bytesValue":"aGk="}},{"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}},{"key":"map","value":{"kvlistValue":{"values":[{"key":"x","value":{"intValue":"1"}}]}}},{"key":"req","value":{"kvlistValue":{"values":[{"key":"method","value":{"stringValue":"GET"}}]}}}],"body":{"stringValue":"kinds"},"severityNumber":9,"severityText":"INFO"}
}

// An error attribute also becomes the OpenTelemetry exception attributes.
func Example_errors() {
	h := slogotlp.NewHandler(recordPrinter{}, nil)
	slog.New(h).Error("payment failed", "err", errors.New("card declined"))
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"exception.type","value":{"stringValue":"*errors.errorString"}},{"key":"exception.message","value":{"stringValue":"card declined"}},{"key":"err","value":{"stringValue":"card declined"}}],"body":{"stringValue":"payment failed"},"severityNumber":17,"severityText":"ERROR"}
}

// TRACE and FATAL are levels of their own.
func Example_levels() {
	h := slogotlp.NewHandler(recordPrinter{}, &slogotlp.HandlerOptions{Level: slogotlp.LevelTrace})
	logger := slog.New(h)
	logger.Log(context.Background(), slogotlp.LevelTrace, "cache probe")
	logger.Log(context.Background(), slogotlp.LevelFatal, "cannot continue")
	_ = h.Shutdown(context.Background())
	// Output:
	// {"body":{"stringValue":"cache probe"},"severityNumber":1,"severityText":"TRACE"}
	// {"body":{"stringValue":"cannot continue"},"severityNumber":21,"severityText":"FATAL"}
}

// Bound attributes and groups nest as kvlist values; the last of duplicate
// keys wins.
func ExampleHandler_WithGroup() {
	h := slogotlp.NewHandler(recordPrinter{}, nil)
	logger := slog.New(h).With("tenant", "acme").WithGroup("http")
	logger.Info("served", "status", 200, "status", 204)
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"tenant","value":{"stringValue":"acme"}},{"key":"http","value":{"kvlistValue":{"values":[{"key":"status","value":{"intValue":"204"}}]}}}],"body":{"stringValue":"served"},"severityNumber":9,"severityText":"INFO"}
}

// A per-logger instrumentation scope: its records land in a scopeLogs entry
// of their own.
func ExampleHandler_WithScope() {
	h := slogotlp.NewHandler(scopePrinter{}, &slogotlp.HandlerOptions{ScopeName: "app"})
	billing := slog.New(h.WithScope("billing", "1.0.0"))
	auth := slog.New(h).With(slogotlp.ScopeKey, "auth")
	billing.Info("invoice sent")
	auth.Info("login")
	billing.Info("invoice paid")
	_ = h.Shutdown(context.Background())
	// Output:
	// {"name":"billing","version":"1.0.0"} 2 records
	// {"name":"auth"} 1 records
}

// scopePrinter prints each scopeLogs entry's scope and record count.
type scopePrinter struct{ recordPrinter }

func (scopePrinter) Export(_ context.Context, payload []byte, _ int) slogotlp.Result {
	var req struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				Scope      json.RawMessage
				LogRecords []json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		return slogotlp.Result{Outcome: slogotlp.ExportRejected, Err: err}
	}
	for _, sl := range req.ResourceLogs[0].ScopeLogs {
		fmt.Println(string(sl.Scope), len(sl.LogRecords), "records")
	}
	return slogotlp.Result{}
}

// Stats always add up: handled = exported + dropped + queued.
func ExampleHandler_Stats() {
	h := slogotlp.NewHandler(recordPrinter{}, &slogotlp.HandlerOptions{Level: slog.LevelWarn})
	logger := slog.New(h)
	logger.Warn("disk almost full")
	_ = h.Shutdown(context.Background())
	logger.Warn("too late")
	s := h.Stats()
	fmt.Println(s.Handled, s.Exported, s.Dropped.Shutdown, s.Queued)
	// Output:
	// {"body":{"stringValue":"disk almost full"},"severityNumber":13,"severityText":"WARN"}
	// 2 1 1 0
}
