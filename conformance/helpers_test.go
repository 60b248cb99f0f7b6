package conformance

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.uber.org/goleak"

	"github.com/soliplex/slogotlp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// capture is an Exporter that keeps a copy of every payload it is given, in
// the wire format it asks for, as text, so that a failing assertion prints
// JSON rather than bytes.
type capture struct {
	format   slogotlp.WireFormat
	mu       sync.Mutex
	payloads []string
	counts   []int
}

func (c *capture) WireFormat() slogotlp.WireFormat { return c.format }

func (c *capture) Export(_ context.Context, payload []byte, records int) slogotlp.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.payloads = append(c.payloads, string(payload))
	c.counts = append(c.counts, records)
	return slogotlp.Result{}
}

func (c *capture) Shutdown(context.Context) error { return nil }

// snapshot returns the payloads so far and the record count Export was told
// for each.
func (c *capture) snapshot() ([]string, []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.payloads), slices.Clone(c.counts)
}

// newHandler returns a handler exporting OTLP/JSON into a capture. The drop
// reports are switched off so that only the test's own records are exported.
func newHandler(t testing.TB, opts *slogotlp.HandlerOptions) (*slogotlp.Handler, *capture) {
	t.Helper()
	return newHandlerFormat(t, opts, slogotlp.FormatJSON)
}

// newHandlerFormat is newHandler for either wire format.
func newHandlerFormat(t testing.TB, opts *slogotlp.HandlerOptions, format slogotlp.WireFormat) (*slogotlp.Handler, *capture) {
	t.Helper()
	var o slogotlp.HandlerOptions
	if opts != nil {
		o = *opts
	}
	if o.DropReportInterval == 0 {
		o.DropReportInterval = -1
	}
	c := &capture{format: format}
	h := slogotlp.NewHandler(c, &o)
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	return h, c
}

// decode parses one payload, JSON or protobuf, the way the Collector's
// OTLP/HTTP receiver does. JSON is first checked to be valid JSON (the
// Collector's iterator is more lenient than the JSON grammar); protobuf is
// told apart by its first byte (field 1, length-delimited).
func decode(t testing.TB, payload string) plog.Logs {
	t.Helper()
	req := plogotlp.NewExportRequest()
	if len(payload) > 0 && payload[0] != '{' {
		require.NoErrorf(t, req.UnmarshalProto([]byte(payload)), "collector rejects protobuf payload: %x", payload)
		return req.Logs()
	}
	require.Truef(t, json.Valid([]byte(payload)), "payload is not valid JSON: %s", payload)
	require.NoErrorf(t, req.UnmarshalJSON([]byte(payload)), "collector rejects payload: %s", payload)
	return req.Logs()
}

// export runs log against a fresh handler in each wire format and returns
// the records decoded (see exportWire). How the records were split into
// payloads depends on when the export goroutine ran (an ERROR exports at
// once); records(export(...)) does not.
func export(t testing.TB, opts *slogotlp.HandlerOptions, log func(h *slogotlp.Handler)) []plog.Logs {
	t.Helper()
	ls, _ := exportWire(t, opts, log)
	return ls
}

// exportWire runs log against a fresh handler in each wire format, JSON
// first, shuts it down, and returns the payloads of the last (protobuf) run
// decoded, and the JSON run's payloads as sent, joined by newlines, for
// checks on the wire form. It checks that each payload holds the record
// count the exporter was told, and that the JSON payloads decode to the same
// records as the protobuf ones (a differential test of the two encodings;
// only the timestamps, taken anew in each run, may differ). log runs once
// per format: state it keeps must start afresh.
func exportWire(t testing.TB, opts *slogotlp.HandlerOptions, log func(h *slogotlp.Handler)) ([]plog.Logs, string) {
	t.Helper()
	decoded := map[slogotlp.WireFormat][]plog.Logs{}
	var jsonWire string
	for _, format := range []slogotlp.WireFormat{slogotlp.FormatJSON, slogotlp.FormatProtobuf} {
		h, c := newHandlerFormat(t, opts, format)
		log(h)
		require.NoError(t, h.Shutdown(context.Background()))
		payloads, counts := c.snapshot()
		if format == slogotlp.FormatJSON {
			jsonWire = strings.Join(payloads, "\n")
		}
		for i, p := range payloads {
			l := decode(t, p)
			require.Equal(t, counts[i], l.LogRecordCount(), "record count passed to Export (%s)", format)
			decoded[format] = append(decoded[format], l)
		}
	}
	jsonRecs, protoRecs := decoded[slogotlp.FormatJSON], decoded[slogotlp.FormatProtobuf]
	require.Equal(t, sameShape(t, records(jsonRecs)), sameShape(t, records(protoRecs)),
		"JSON and protobuf payloads decode to different records")
	return protoRecs, jsonWire
}

// sameShape renders each decoded record, with its resource and scope, as
// JSON with the timestamps zeroed, so that two runs of the same logging
// compare equal however their records were split into payloads (an ERROR
// record exports at once, so the split depends on timing).
func sameShape(t testing.TB, rs []rec) []string {
	t.Helper()
	var out []string
	for _, r := range rs {
		c := plog.NewLogs()
		rl := c.ResourceLogs().AppendEmpty()
		r.res.CopyTo(rl.Resource())
		rl.SetSchemaUrl(r.resSchema)
		sl := rl.ScopeLogs().AppendEmpty()
		r.scope.CopyTo(sl.Scope())
		sl.SetSchemaUrl(r.scopeSchema)
		lr := sl.LogRecords().AppendEmpty()
		r.lr.CopyTo(lr)
		lr.SetTimestamp(0)
		lr.SetObservedTimestamp(0)
		b, err := (&plog.JSONMarshaler{}).MarshalLogs(c)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}

// rec is one decoded log record with where it sits.
type rec struct {
	res   pcommon.Resource
	scope pcommon.InstrumentationScope
	lr    plog.LogRecord
	// the schema URLs of the resourceLogs and scopeLogs that hold it
	resSchema, scopeSchema string
}

func records(ls []plog.Logs) []rec {
	var out []rec
	for _, l := range ls {
		for i := range l.ResourceLogs().Len() {
			rl := l.ResourceLogs().At(i)
			for j := range rl.ScopeLogs().Len() {
				sl := rl.ScopeLogs().At(j)
				for k := range sl.LogRecords().Len() {
					out = append(out, rec{rl.Resource(), sl.Scope(), sl.LogRecords().At(k), rl.SchemaUrl(), sl.SchemaUrl()})
				}
			}
		}
	}
	return out
}

// one logs through a fresh handler and returns the single record exported.
func one(t testing.TB, opts *slogotlp.HandlerOptions, log func(l *slog.Logger)) rec {
	t.Helper()
	rs := records(export(t, opts, func(h *slogotlp.Handler) { log(slog.New(h)) }))
	require.Len(t, rs, 1)
	return rs[0]
}

// goValue turns a decoded AnyValue into a Go value whose dynamic type names
// the OTLP type: string, int64, float64, bool, []byte, []any,
// map[string]any, or nil for an empty value. Comparing goValue results
// therefore checks name, type and value at once.
func goValue(t testing.TB, v pcommon.Value) any {
	t.Helper()
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return nil
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeBytes:
		// Non-nil even when empty, so the type shows in comparisons.
		return append([]byte{}, v.Bytes().AsRaw()...)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]any, s.Len())
		for i := range s.Len() {
			out[i] = goValue(t, s.At(i))
		}
		return out
	case pcommon.ValueTypeMap:
		return goMap(t, v.Map())
	}
	t.Fatalf("unexpected value type %v", v.Type())
	return nil
}

// goMap is goValue for a key/value list. OTLP forbids duplicate keys in one
// list, so it fails the test on any.
func goMap(t testing.TB, m pcommon.Map) map[string]any {
	t.Helper()
	out := make(map[string]any, m.Len())
	var keys []string
	m.Range(func(k string, v pcommon.Value) bool {
		require.NotContainsf(t, keys, k, "duplicate key %q in one attribute list", k)
		keys = append(keys, k)
		out[k] = goValue(t, v)
		return true
	})
	return out
}

// fixedTime is a record time with nanoseconds, far from the zero time.
var fixedTime = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// record builds a record at fixedTime, for calling Handle directly.
func record(level slog.Level, msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(fixedTime, level, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

func isNaN(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}
