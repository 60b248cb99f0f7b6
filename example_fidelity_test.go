package slogotlp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/soliplex/slogotlp"
)

// The function an application already gives slog.JSONHandler serves the
// OTLP copy too: here it drops a key and renames another, inside groups as
// well. Time, level and message are LogRecord fields, not attributes, so
// ReplaceAttr never sees them.
func ExampleHandlerOptions_replaceAttr() {
	replace := func(groups []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case "password":
			return slog.Attr{} // dropped
		case "uid":
			return slog.String("user.id", a.Value.String())
		}
		return a
	}
	h := slogotlp.NewHandler(recordPrinter{}, &slogotlp.HandlerOptions{ReplaceAttr: replace})
	slog.New(h).Info("login", "uid", "u-7", slog.Group("form", "password", "hunter2", "remember", true))
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"user.id","value":{"stringValue":"u-7"}},{"key":"form","value":{"kvlistValue":{"values":[{"key":"remember","value":{"boolValue":true}}]}}}],"body":{"stringValue":"login"},"severityNumber":9,"severityText":"INFO"}
}

type requestIDKey struct{}

// Attributes taken from the context of each log call: a request id set
// once by the HTTP middleware appears on every record logged with that
// context.
func ExampleHandlerOptions_attrFromContext() {
	fromCtx := func(ctx context.Context) []slog.Attr {
		if id, ok := ctx.Value(requestIDKey{}).(string); ok {
			return []slog.Attr{slog.String("request.id", id)}
		}
		return nil
	}
	h := slogotlp.NewHandler(recordPrinter{}, &slogotlp.HandlerOptions{
		AttrFromContext: []func(context.Context) []slog.Attr{fromCtx},
	})
	ctx := context.WithValue(context.Background(), requestIDKey{}, "r-42")
	slog.New(h).InfoContext(ctx, "served", "status", 200)
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"request.id","value":{"stringValue":"r-42"}},{"key":"status","value":{"intValue":"200"}}],"body":{"stringValue":"served"},"severityNumber":9,"severityText":"INFO"}
}

// A string otel.event.name attribute names the record's event: it becomes
// the LogRecord's eventName field, not an attribute.
func ExampleEventNameKey() {
	h := slogotlp.NewHandler(recordPrinter{}, nil)
	slog.New(h).Info("user logged in", slogotlp.EventNameKey, "user.login", "user", "ann")
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"user","value":{"stringValue":"ann"}}],"body":{"stringValue":"user logged in"},"eventName":"user.login","severityNumber":9,"severityText":"INFO"}
}

// The OpenTelemetry attribute limits: at most AttributeCountLimit
// attributes per record (the rest counted in droppedAttributesCount), each
// string value cut to AttributeValueLengthLimit characters. MaxValueLen
// then bounds values and the message in bytes, with "…".
func ExampleHandlerOptions_attributeLimits() {
	h := slogotlp.NewHandler(recordPrinter{}, &slogotlp.HandlerOptions{
		AttributeCountLimit:       2,
		AttributeValueLengthLimit: 4,
		MaxValueLen:               12,
	})
	slog.New(h).Info("a message longer than twelve bytes", "a", "abcdefgh", "b", "xy", "c", 3, "d", 4)
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"a","value":{"stringValue":"abcd"}},{"key":"b","value":{"stringValue":"xy"}}],"body":{"stringValue":"a message…"},"droppedAttributesCount":2,"severityNumber":9,"severityText":"INFO"}
}

// With LogfireAttributes, records carry logfire.msg, which Logfire shows in
// its message column (and keeps out of the attributes), and, with
// AddSource, the source under the names Logfire's Python SDK uses.
func ExampleHandlerOptions_logfireAttributes() {
	h := slogotlp.NewHandler(recordPrinter{}, &slogotlp.HandlerOptions{LogfireAttributes: true})
	slog.New(h).Warn("disk almost full", "free_gb", 3)
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"logfire.msg","value":{"stringValue":"disk almost full"}},{"key":"free_gb","value":{"intValue":"3"}}],"body":{"stringValue":"disk almost full"},"severityNumber":13,"severityText":"WARN"}
}

// A caller's own exception.* attribute wins over the derived one, so no
// key appears twice; the last error value is the exception.
func Example_exceptionKeys() {
	h := slogotlp.NewHandler(recordPrinter{}, nil)
	slog.New(h).Error("payment failed",
		"cause", errors.New("timeout"),
		"err", fmt.Errorf("charge: %w", errors.New("card declined")),
		"exception.type", "billing.Declined")
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"exception.message","value":{"stringValue":"charge: card declined"}},{"key":"cause","value":{"stringValue":"timeout"}},{"key":"err","value":{"stringValue":"charge: card declined"}},{"key":"exception.type","value":{"stringValue":"billing.Declined"}}],"body":{"stringValue":"payment failed"},"severityNumber":17,"severityText":"ERROR"}
}

type userID string // a named string type

// Pointers show the value they point to (a nil pointer is an empty value),
// byte slices of any named type are bytesValue, and json.RawMessage
// holding JSON is its text.
func Example_valueShapes() {
	n := 3
	var missing *int
	h := slogotlp.NewHandler(recordPrinter{}, nil)
	slog.New(h).Info("values",
		"count", &n,
		"missing", missing,
		"raw", json.RawMessage(`{"ok":true}`),
		"id", userID("u-1"),
		"digest", [4]byte{0xde, 0xad, 0xbe, 0xef},
	)
	_ = h.Shutdown(context.Background())
	// Output:
	// {"attributes":[{"key":"count","value":{"intValue":"3"}},{"key":"missing","value":{}},{"key":"raw","value":{"stringValue":"{\"ok\":true}"}},{"key":"id","value":{"stringValue":"u-1"}},{"key":"digest","value":{"bytesValue":"3q2+7w=="}}],"body":{"stringValue":"values"},"severityNumber":9,"severityText":"INFO"}
}

// timePrinter is an Exporter that says, for each record, whether it
// carries timeUnixNano.
type timePrinter struct{}

func (timePrinter) Export(_ context.Context, payload []byte, _ int) slogotlp.Result {
	var req struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				LogRecords []map[string]json.RawMessage
			}
		}
	}
	_ = json.Unmarshal(payload, &req)
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				_, has := r["timeUnixNano"]
				_, obs := r["observedTimeUnixNano"]
				fmt.Printf("%s: timeUnixNano %v, observedTimeUnixNano %v\n", r["body"], has, obs)
			}
		}
	}
	return slogotlp.Result{}
}

func (timePrinter) Shutdown(context.Context) error { return nil }

// A record without a time (the zero time.Time) leaves timeUnixNano unset;
// receivers then use observedTimeUnixNano, when the handler saw it.
func Example_zeroTime() {
	h := slogotlp.NewHandler(timePrinter{}, nil)
	ctx := context.Background()
	_ = h.Handle(ctx, slog.NewRecord(time.Time{}, slog.LevelInfo, "no time", 0))
	_ = h.Handle(ctx, slog.NewRecord(time.Now(), slog.LevelInfo, "now", 0))
	_ = h.Shutdown(ctx)
	// Output:
	// {"stringValue":"no time"}: timeUnixNano false, observedTimeUnixNano true
	// {"stringValue":"now"}: timeUnixNano true, observedTimeUnixNano true
}
