package conformance

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"

	"github.com/soliplex/slogotlp"
)

// This file is the differential test against the official stack: the
// otelslog bridge over sdk/log, exporting with otlploghttp (protobuf) to a
// local server. Every case logs the same records, with the same times,
// through both, decodes both outputs with the Collector's decoder and
// compares them. The official output is the oracle: every difference is
// asserted (both sides' values) in the case's diff, with the reason, and
// listed in the README's "Differences from the official stack".

// official is the official stack writing into a local OTLP/HTTP server.
type official struct {
	srv    *httptest.Server
	lp     *sdklog.LoggerProvider
	h      slog.Handler
	mu     sync.Mutex
	bodies [][]byte
}

// officialOptions configures the official stack the way a case configures
// slogotlp.
type officialOptions struct {
	source           bool
	countLimit       int // 0: the SDK's default
	valueLengthLimit int // 0: none
}

func newOfficial(t testing.TB, o officialOptions) *official {
	t.Helper()
	off := &official{}
	off.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		off.mu.Lock()
		off.bodies = append(off.bodies, body)
		off.mu.Unlock()
	}))
	tr := &http.Transport{}
	exp, err := otlploghttp.New(context.Background(),
		otlploghttp.WithEndpointURL(off.srv.URL+"/v1/logs"),
		otlploghttp.WithHTTPClient(&http.Client{Transport: tr}),
		otlploghttp.WithRetry(otlploghttp.RetryConfig{Enabled: false}))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = off.lp.Shutdown(context.Background())
		off.srv.Close()
		tr.CloseIdleConnections()
	})
	opts := []sdklog.LoggerProviderOption{
		sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)),
		sdklog.WithResource(resource.Empty()),
	}
	if o.countLimit != 0 {
		opts = append(opts, sdklog.WithAttributeCountLimit(o.countLimit))
	}
	if o.valueLengthLimit != 0 {
		opts = append(opts, sdklog.WithAttributeValueLengthLimit(o.valueLengthLimit))
	}
	off.lp = sdklog.NewLoggerProvider(opts...)
	off.h = otelslog.NewHandler("conformance", otelslog.WithLoggerProvider(off.lp), otelslog.WithSource(o.source))
	return off
}

// records shuts the official stack down and returns what reached the
// server, decoded.
func (o *official) records(t testing.TB) []rec {
	t.Helper()
	require.NoError(t, o.lp.Shutdown(context.Background()))
	o.mu.Lock()
	defer o.mu.Unlock()
	var ls []plog.Logs
	for _, b := range o.bodies {
		req := plogotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(b))
		ls = append(ls, req.Logs())
	}
	return records(ls)
}

// guarded turns a panic in the official handler into a missing record, so
// that a case can show it.
type guarded struct {
	slog.Handler
	panics *int
}

func (g guarded) Handle(ctx context.Context, r slog.Record) (err error) {
	defer func() {
		if recover() != nil {
			*g.panics++
		}
	}()
	return g.Handler.Handle(ctx, r)
}

func (g guarded) WithAttrs(as []slog.Attr) slog.Handler {
	return guarded{g.Handler.WithAttrs(as), g.panics}
}

func (g guarded) WithGroup(name string) slog.Handler {
	return guarded{g.Handler.WithGroup(name), g.panics}
}

// flat is one decoded record in a form two stacks can be compared by.
// Attribute order is not compared: the SDK keeps the first position of a
// repeated key, slogotlp the last.
type flat struct {
	Time     uint64
	Severity int32
	SevText  string
	Body     any
	Event    string
	Attrs    map[string]any
	Dropped  uint32
	Trace    string
}

func flatten(t testing.TB, rs []rec) []flat {
	t.Helper()
	var out []flat
	for _, r := range rs {
		lr := r.lr
		f := flat{
			Time:     uint64(lr.Timestamp()),
			Severity: int32(lr.SeverityNumber()),
			SevText:  lr.SeverityText(),
			Body:     goValue(t, lr.Body()),
			Event:    lr.EventName(),
			Attrs:    goMap(t, lr.Attributes()),
			Dropped:  lr.DroppedAttributesCount(),
		}
		if tid := lr.TraceID(); !tid.IsEmpty() {
			sid := lr.SpanID()
			f.Trace = hex.EncodeToString(tid[:]) + "/" + hex.EncodeToString(sid[:]) + fmt.Sprintf("/%d", lr.Flags())
		}
		out = append(out, f)
	}
	return out
}

// same copies the value official gives key to ours' record after checking
// that each side holds the value named, documenting a difference.
func same(t *testing.T, ours, off *flat, key string, oursWant, offWant any) {
	t.Helper()
	assert.Equal(t, oursWant, ours.Attrs[key], "slogotlp's %s", key)
	assert.Equal(t, offWant, off.Attrs[key], "official %s", key)
	off.Attrs[key] = ours.Attrs[key]
}

type color string // a named string type without a String method

type wrappedErr struct{ inner error }

func (w wrappedErr) Error() string { return "wrapped: " + w.inner.Error() }
func (w wrappedErr) Unwrap() error { return w.inner }

type typedErr struct{}

func (typedErr) Error() string     { return "typed" }
func (typedErr) ErrorType() string { return "billing.Declined" }

type panickyErr struct{}

func (panickyErr) Error() string { panic("no message") }

func TestDifferentialOfficial(t *testing.T) {
	// The SDK reports what it could not export through the global error
	// handler; keep it for the cases that look, and off stderr.
	var sdkErrs []error
	var errMu sync.Mutex
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		errMu.Lock()
		sdkErrs = append(sdkErrs, err)
		errMu.Unlock()
	}))
	defer otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	boom := errors.New("boom")
	n := 42
	many := func(l *slog.Logger, level slog.Level, n int, extra ...any) {
		args := append([]any{}, extra...)
		for i := range n {
			args = append(args, fmt.Sprint("k", i), i)
		}
		l.Log(context.Background(), level, "many", args...)
	}
	tests := []struct {
		name string
		opts *slogotlp.HandlerOptions
		off  officialOptions
		log  func(l *slog.Logger)
		// diff asserts each documented difference and aligns official's
		// side with ours, so that the rest compares equal.
		diff func(t *testing.T, ours, off []flat, panics int)
	}{
		{name: "messages, levels and scalars", log: func(l *slog.Logger) {
			l.Debug("d", "s", "str", "i", -12, "f", 2.5, "b", true, "d", 3*time.Second)
			l.Info("i", "u", uint64(99), "max", int64(math.MaxInt64), "inf", math.Inf(-1))
			l.Warn("w")
			l.Error("e")
			l.Log(context.Background(), slog.LevelInfo+2, "info+2")
		}},
		{name: "groups, With, WithGroup, empty and inlined groups", log: func(l *slog.Logger) {
			l.Info("m", slog.Group("a", slog.Int("x", 1), slog.Group("b", slog.Group("c", slog.String("y", "z")))),
				slog.Group("empty"), slog.Group("", slog.Int("inl", 1)))
			l.With("top", 1).WithGroup("g").With("a", 2).WithGroup("h").Info("m", "b", 3)
			l.WithGroup("g").WithGroup("h").Info("empty groups")
			l.With("x", 1).WithGroup("g").Info("empty inner group")
		}},
		{name: "duplicate keys", log: func(l *slog.Logger) {
			l.Info("m", "k", 1, "k", 2)
			l.With("k", "bound").Info("m", "k", "record")
			l.WithGroup("g").With("k", 1).Info("m", "k", 2)
			l.Info("m", slog.Group("g", "x", 1, "x", 2))
		}},
		{name: "log valuers, nil, pointers, structs", log: func(l *slog.Logger) {
			var nilInt *int
			pp := &n
			l.Info("m", "v", textValuer{}, "s", valuer{"q"}, "nil", nil, "p", &n, "pp", &pp, "nilp", nilInt,
				"st", point{1, 2}, "pst", &point{3, 4}, "str", stringer{})
		}},
		{name: "lists and maps", log: func(l *slog.Logger) {
			l.Info("m", "ints", []int{1, 2}, "strs", []string{"a"}, "m", map[string]int{"x": 1, "y": 2},
				"mixed", []any{"a", 1, false, nil}, "nested", map[string]any{"l": []float64{1.5}}, "bytes", []byte{1, 2})
		}},
		{name: "trace context", log: func(l *slog.Logger) {
			sc := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
				SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
				TraceFlags: trace.FlagsSampled,
			})
			l.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "in a span")
		}},
		{name: "source", opts: &slogotlp.HandlerOptions{AddSource: true}, off: officialOptions{source: true}, log: func(l *slog.Logger) {
			l.Info("m", "a", 1)
			l.Info("caller's own line wins", "code.line.number", 7)
		}},
		{name: "exceptions: the caller's keys, the last error, the type", log: func(l *slog.Logger) {
			l.Error("one", "err", boom)
			l.Error("two, the last wins", "e1", errors.New("first"), "e2", errors.New("second"))
			l.With("b", errors.New("bound")).Error("the record's wins over the bound", "err", boom)
			l.With("b", errors.New("bound")).WithGroup("g").Info("a bound error alone")
			l.Error("caller's keys", "err", boom, "exception.type", "mine", "exception.message", "my text")
			l.Error("wrapped", "err", fmt.Errorf("ctx: %w", boom), "w", wrappedErr{boom}, "t", typedErr{})
			l.Error("empty message", "err", errors.New(""))
			l.Error("in a group: a value", slog.Group("g", "err", boom))
		}, diff: func(t *testing.T, ours, off []flat, _ int) {
			// The official bridge takes the error out of the attributes
			// (its key is lost); slogotlp keeps it as a string, so nothing
			// the caller wrote disappears.
			for i, k := range map[int][]string{0: {"err"}, 1: {"e1", "e2"}, 2: {"b", "err"}, 3: {"b"}, 4: {"err"}, 5: {"err", "w", "t"}, 6: {"err"}} {
				for _, key := range k {
					assert.Contains(t, ours[i].Attrs, key, "record %d", i)
					assert.NotContains(t, off[i].Attrs, key, "record %d", i)
					off[i].Attrs[key] = ours[i].Attrs[key]
				}
			}
			if g, ok := ours[3].Attrs["g"]; ok {
				off[3].Attrs["g"] = g
			}
		}},
		{name: "an Error method that panics", log: func(l *slog.Logger) {
			l.Error("m", "err", panickyErr{})
		}, diff: func(t *testing.T, ours, off []flat, panics int) {
			// The SDK calls Error() on the caller's goroutine and the panic
			// reaches the caller; slogotlp recovers and keeps the type.
			assert.Equal(t, 1, panics)
			require.Len(t, ours, 1)
			assert.Equal(t, "github.com/soliplex/slogotlp/conformance.panickyErr", ours[0].Attrs["exception.type"])
			assert.Equal(t, "!PANIC: no message", ours[0].Attrs["exception.message"])
		}},
		{name: "time values", log: func(l *slog.Logger) { l.Info("m", "t", at) }, diff: func(t *testing.T, ours, off []flat, _ int) {
			// slogotlp writes a time as RFC 3339 text, as slog.JSONHandler
			// does, readable in any backend; the bridge as Unix nanoseconds.
			same(t, &ours[0], &off[0], "t", "2024-05-06T07:08:09.123456789Z", at.UnixNano())
		}},
		{name: "uint64 above MaxInt64", log: func(l *slog.Logger) { l.Info("m", "u", uint64(math.MaxUint64)) }, diff: func(t *testing.T, ours, off []flat, _ int) {
			// The exact digits, not a rounded double.
			same(t, &ours[0], &off[0], "u", "18446744073709551615", float64(math.MaxUint64))
		}},
		{name: "levels beyond slog's four", opts: &slogotlp.HandlerOptions{Level: slog.Level(-100)}, log: func(l *slog.Logger) {
			l.Log(context.Background(), slogotlp.LevelTrace, "trace")
			l.Log(context.Background(), slogotlp.LevelFatal, "fatal")
			l.Log(context.Background(), slog.Level(-20), "below")
			l.Log(context.Background(), slog.Level(30), "above")
		}, diff: func(t *testing.T, ours, off []flat, _ int) {
			// slogotlp names TRACE and FATAL and clamps the number into
			// the enum's 1..24; the bridge keeps slog's names, and a level
			// outside the enum loses its number (the exporter sends 0,
			// unspecified).
			want := []struct {
				ourNum, offNum   int32
				ourText, offText string
			}{{1, 1, "TRACE", "DEBUG-4"}, {21, 21, "FATAL", "ERROR+4"}, {1, 0, "TRACE-12", "DEBUG-16"}, {24, 0, "FATAL+18", "ERROR+22"}}
			for i, w := range want {
				assert.Equal(t, []any{w.ourNum, w.ourText}, []any{ours[i].Severity, ours[i].SevText})
				assert.Equal(t, []any{w.offNum, w.offText}, []any{off[i].Severity, off[i].SevText})
				off[i].Severity, off[i].SevText = ours[i].Severity, ours[i].SevText
			}
		}},
		{name: "record times: zero, before 1970", log: func(l *slog.Logger) {
			for _, at := range []time.Time{{}, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Unix(0, 1)} {
				r := slog.NewRecord(at, slog.LevelInfo, "m", 0)
				_ = l.Handler().Handle(context.Background(), r)
			}
		}},
		{name: "record time after 2262", log: func(l *slog.Logger) {
			_ = l.Handler().Handle(context.Background(), slog.NewRecord(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", 0))
		}, diff: func(t *testing.T, ours, off []flat, _ int) {
			// OTLP cannot hold it: slogotlp leaves the time unset; the
			// exporter's overflowed nanoseconds land somewhere else.
			assert.Zero(t, ours[0].Time)
			assert.NotEqual(t, uint64(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()), off[0].Time)
			off[0].Time = ours[0].Time
		}},
		{name: "empty keys", log: func(l *slog.Logger) {
			l.With("", "bound").Info("m", "", "x", "k", 1, slog.Group("g", "", "nested"))
		}, diff: func(t *testing.T, ours, off []flat, _ int) {
			// Both leave top-level empty keys out (the data model wants
			// keys non-empty); slogotlp counts them as dropped.
			assert.Equal(t, uint32(2), ours[0].Dropped)
			assert.Zero(t, off[0].Dropped)
			off[0].Dropped = ours[0].Dropped
		}},
		{name: "event names", log: func(l *slog.Logger) {
			l.Info("login", slogotlp.EventNameKey, "user.login", "user", "ann")
		}, diff: func(t *testing.T, ours, off []flat, _ int) {
			// slogotlp moves otel.event.name to the EventName field; the
			// bridge has no event names and keeps the attribute.
			assert.Equal(t, "user.login", ours[0].Event)
			assert.Empty(t, off[0].Event)
			assert.Equal(t, "user.login", off[0].Attrs[slogotlp.EventNameKey])
			off[0].Event = ours[0].Event
			delete(off[0].Attrs, slogotlp.EventNameKey)
		}},
		{name: "byte types, named strings, complex numbers, odd maps", log: func(l *slog.Logger) {
			l.Info("m", "raw", json.RawMessage(`{"a":1}`), "named", net4{1, 2}, "arr", [2]byte{1, 2},
				"color", color("red"), "c", complex(1, 2), "intkeys", map[int]string{1: "a"})
		}, diff: func(t *testing.T, ours, off []flat, _ int) {
			// Byte slices of any named type and byte arrays are bytesValue
			// (the bridge: one intValue per byte); json.RawMessage holding
			// JSON is its text.
			same(t, &ours[0], &off[0], "raw", `{"a":1}`, []any{int64('{'), int64('"'), int64('a'), int64('"'), int64(':'), int64('1'), int64('}')})
			same(t, &ours[0], &off[0], "named", []byte{1, 2}, []any{int64(1), int64(2)})
			same(t, &ours[0], &off[0], "arr", []byte{1, 2}, []any{int64(1), int64(2)})
			// A named string type is its text; the bridge does not know it.
			same(t, &ours[0], &off[0], "color", "red", "unhandled: (conformance.color) red")
			// fmt's form of the number; the bridge a {r, i} map.
			same(t, &ours[0], &off[0], "c", "(1+2i)", map[string]any{"r": 1.0, "i": 2.0})
			// A map without string keys is fmt's text; the bridge a map
			// with fmt's text for each key.
			same(t, &ours[0], &off[0], "intkeys", "map[1:a]", map[string]any{"1": "a"})
		}},
		{name: "invalid UTF-8", log: func(l *slog.Logger) {
			l.Info("bad \xff byte", "k", "v\xfe")
			l.Info("good")
		}, diff: func(t *testing.T, ours, off []flat, _ int) {
			// Protobuf strings must be valid UTF-8: the official exporter
			// fails the whole export (here the record), slogotlp writes
			// U+FFFD.
			require.Len(t, ours, 2)
			assert.Equal(t, "bad \ufffd byte", ours[0].Body)
			require.Len(t, off, 1, "the official stack loses the record")
			assert.Equal(t, "good", off[0].Body)
			errMu.Lock()
			defer errMu.Unlock()
			require.NotEmpty(t, sdkErrs)
			assert.ErrorContains(t, sdkErrs[len(sdkErrs)-1], "invalid UTF-8")
		}},
		{name: "attribute count limit", log: func(l *slog.Logger) {
			many(l, slog.LevelInfo, 130)
		}},
		{name: "attribute count limit with an exception", opts: &slogotlp.HandlerOptions{AttributeCountLimit: 4}, off: officialOptions{countLimit: 4},
			log: func(l *slog.Logger) { many(l, slog.LevelError, 5, "err", boom) },
			diff: func(t *testing.T, ours, off []flat, _ int) {
				// slogotlp writes the derived attributes first, so an
				// exception survives the limit; the SDK adds them last,
				// and they are the first to go. (The bridge also takes
				// "err" out, one attribute fewer to drop.)
				assert.Equal(t, map[string]any{"exception.type": "*errors.errorString", "exception.message": "boom", "err": "boom", "k0": int64(0)}, ours[0].Attrs)
				assert.Equal(t, uint32(4), ours[0].Dropped)
				assert.Equal(t, map[string]any{"k0": int64(0), "k1": int64(1), "k2": int64(2), "k3": int64(3)}, off[0].Attrs)
				assert.Equal(t, uint32(3), off[0].Dropped)
				off[0].Attrs, off[0].Dropped = ours[0].Attrs, ours[0].Dropped
			}},
		{name: "attribute value length limit", opts: &slogotlp.HandlerOptions{AttributeValueLengthLimit: 3}, off: officialOptions{valueLengthLimit: 3},
			log: func(l *slog.Logger) {
				l.Error("the message is exempt", "s", "héllo", "b", []byte("bytes"), "list", []any{"abcdef", 12345},
					"m", map[string]string{"k": "values"}, slog.Group("g", "s", "nested"), "err", errors.New("failure"))
			}, diff: func(t *testing.T, ours, off []flat, _ int) {
				off[0].Attrs["err"] = ours[0].Attrs["err"] // as in the exceptions case
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts == nil {
				opts = &slogotlp.HandlerOptions{Level: slog.LevelDebug}
			}
			o := *opts
			o.NoResourceDetection = true
			var off *official
			var panics int
			ours := flatten(t, records(export(t, &o, func(h *slogotlp.Handler) {
				// export logs once per wire format: compare with the last.
				off = newOfficial(t, tt.off)
				panics = 0
				tt.log(slog.New(tee{h, guarded{off.h, &panics}}))
			})))
			theirs := flatten(t, off.records(t))
			if tt.diff != nil {
				tt.diff(t, ours, theirs, panics)
				if panics > 0 || len(ours) != len(theirs) {
					return // the case compared what there is to compare
				}
			} else {
				assert.Zero(t, panics)
			}
			require.Len(t, theirs, len(ours))
			assert.Equal(t, theirs, ours)
		})
	}
}

// TestOfficialNeverDeduplicatesAwayOurRecords is a sanity check of the
// harness itself: the official side sees records at all.
func TestOfficialHarness(t *testing.T) {
	off := newOfficial(t, officialOptions{})
	slog.New(off.h).Info("hello", "k", "v")
	rs := flatten(t, off.records(t))
	require.Len(t, rs, 1)
	assert.Equal(t, "hello", rs[0].Body)
	assert.True(t, strings.HasPrefix(rs[0].SevText, "INFO"))
}
