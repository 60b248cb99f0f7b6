package slogotlp

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the encoder")

// transcodeDir holds pairs <case>.pb (a protobuf request the encoder built)
// and <case>.json (its transcoding). The conformance module decodes both
// with the Collector's decoder and checks that they hold the same logs.
const transcodeDir = "testdata/transcode"

// goldenRecord is one record to encode, through h (its scope and bound
// attributes), with ctx.
type goldenRecord struct {
	h   *Handler
	ctx context.Context
	r   slog.Record
}

// transcodeCases are the payload shapes of the golden files.
var transcodeCases = []struct {
	name     string
	resource []slog.Attr
	records  func(h *Handler) []goldenRecord
}{
	{
		name: "minimal",
		records: func(h *Handler) []goldenRecord {
			return []goldenRecord{{h, context.Background(), slog.NewRecord(goldenTime, slog.LevelInfo, "hello", 0)}}
		},
	},
	{
		name:     "shapes",
		resource: []slog.Attr{slog.String("service.name", "golden"), slog.Group("host", slog.String("name", "h1"), slog.Int("cpus", 4))},
		records: func(h *Handler) []goldenRecord {
			ctx := context.Background()
			sc := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
				SpanID:     trace.SpanID{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2},
				TraceFlags: trace.FlagsSampled,
			})
			billing := h.WithScope("billing", "2.1")
			audit := h.WithScope("audit", "")
			bound := h.WithAttrs([]slog.Attr{slog.String("user", "ü\"\n\u2028\xff")}).WithGroup("req").(*Handler)
			all := slog.NewRecord(goldenTime, slog.LevelWarn, "all kinds \t \\ \x00", 0)
			all.AddAttrs(
				slog.String("s", "text"), slog.Int64("i", math.MinInt64), slog.Uint64("big", math.MaxUint64),
				slog.Float64("f", 1.5), slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(1)),
				slog.Float64("-inf", math.Inf(-1)), slog.Bool("b", true), slog.Duration("d", time.Second),
				slog.Time("t", goldenTime), slog.Any("bytes", []byte{0, 1, 0xff}), slog.Any("list", []any{1, "two", 3.0, nil}),
				slog.Any("map", map[string]int{"b": 2, "a": 1}), slog.Any("nil", nil), slog.Any("empty", []int{}),
				slog.Group("g", slog.String("x", "y"), slog.Group("inner", slog.Int("z", 1))),
			)
			errRec := slog.NewRecord(goldenTime, slog.LevelError, "failed", 0)
			errRec.AddAttrs(slog.Any("err", errors.New("boom")))
			return []goldenRecord{
				{h, ctx, slog.NewRecord(goldenTime, LevelTrace, "trace", 0)},
				{billing, trace.ContextWithSpanContext(ctx, sc), all},
				{audit, ctx, slog.NewRecord(time.Time{}, LevelFatal+3, "", 0)}, // zero time: the observed time
				{h, ctx, errRec},
				{bound, ctx, slog.NewRecord(goldenTime, slog.LevelDebug, "bound", 0)},
				{billing, ctx, slog.NewRecord(goldenTime, slog.LevelInfo+1, "billing again", 0)},
			}
		},
	},
	{
		// Long enough for lengths of two and three varint bytes.
		name:     "many",
		resource: []slog.Attr{slog.String("service.name", "many")},
		records: func(h *Handler) []goldenRecord {
			other := h.WithScope("other", "1")
			var out []goldenRecord
			for i := range 300 {
				r := slog.NewRecord(goldenTime.Add(time.Duration(i)), slog.LevelInfo, fmt.Sprintf("record %d", i), 0)
				r.AddAttrs(slog.Int("i", i), slog.String("pad", fmt.Sprintf("%0*d", i%40, 0)))
				hh := h
				if i%3 == 0 {
					hh = other
				}
				out = append(out, goldenRecord{hh, context.Background(), r})
			}
			return out
		},
	},
}

var goldenTime = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

// goldenPayloads encodes a case's records with fixed times and builds its
// payload in both wire formats, as the batcher would.
func goldenPayloads(t testing.TB, resource []slog.Attr, records func(*Handler) []goldenRecord) (pb, js []byte) {
	t.Helper()
	opts := &HandlerOptions{
		Resource: resource, NoResourceDetection: true, ScopeName: "golden", ScopeVersion: "1.0",
		Level: slog.Level(-100), DropReportInterval: -1,
	}
	h := NewHandler(nil, opts)
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	var es []entry
	for _, g := range records(h) {
		b := g.h.appendRecord(nil, g.ctx, g.r, goldenTime.Add(time.Hour))
		es = append(es, entry{buf: &b, scope: g.h.scope})
	}
	res := encodeResource(&h.c.enc, resource)
	scopes := h.c.scopes.snapshot()
	for _, format := range []WireFormat{FormatProtobuf, FormatJSON} {
		fr := newFraming(format, res)
		recs, _ := fr.wireRecords(es, nil, nil)
		p, _ := fr.build(nil, es, recs, scopes, nil)
		if format == FormatProtobuf {
			pb = p
		} else {
			js = p
		}
	}
	return pb, js
}

// TestRequestJSONMatchesFraming: a spooled protobuf request transcoded to
// JSON is byte for byte the JSON payload the batcher builds from the same
// records, so a JSON receiver gets the same thing from the spool as live.
// The golden files pin both forms for the conformance module; -update
// rewrites them.
func TestRequestJSONMatchesFraming(t *testing.T) {
	for _, c := range transcodeCases {
		t.Run(c.name, func(t *testing.T) {
			pb, want := goldenPayloads(t, c.resource, c.records)
			got := appendRequestJSON(nil, pb)
			require.True(t, json.Valid(got), "%s", got)
			require.Equal(t, string(want), string(got))

			pbPath := filepath.Join(transcodeDir, c.name+".pb")
			jsPath := filepath.Join(transcodeDir, c.name+".json")
			if *update {
				require.NoError(t, os.MkdirAll(transcodeDir, 0o755))
				require.NoError(t, os.WriteFile(pbPath, pb, 0o644))
				require.NoError(t, os.WriteFile(jsPath, got, 0o644))
			}
			goldenPB, err := os.ReadFile(pbPath)
			require.NoError(t, err, "run go test -run TestRequestJSONMatchesFraming -update")
			goldenJS, err := os.ReadFile(jsPath)
			require.NoError(t, err)
			assert.Equal(t, goldenPB, pb, "the encoder changed: run go test -run TestRequestJSONMatchesFraming -update")
			assert.Equal(t, string(goldenJS), string(got), "the transcoder changed: run go test -run TestRequestJSONMatchesFraming -update")
		})
	}
}

// TestRequestJSONEdges: the transcoder's output for requests the encoder
// never writes is still valid JSON: no resource, an empty scope, a scope
// version set empty, no records.
func TestRequestJSONEdges(t *testing.T) {
	var sl []byte
	sl, s := openLen(sl, tagScopeLogs)
	sl, sc := openLen(sl, tagScope)
	sl = appendStringField(sl, tagScopeVersion, "", 0)
	sl = closeLen(sl, sc)
	sl = closeLen(sl, s)
	var req []byte
	req, r := openLen(req, tagResourceLogs)
	req = append(req, sl...)
	req = closeLen(req, r)
	for _, tt := range []struct {
		name string
		req  []byte
		want string
	}{
		{"empty", nil, `{"resourceLogs":[]}`},
		{"no resource, empty scope", req, `{"resourceLogs":[{"scopeLogs":[{"scope":{"name":"","version":""},"logRecords":[]}]}]}`},
		{"garbage", []byte{0xff, 0xff, 0xff}, `{"resourceLogs":[]}`},
		{"unknown field", []byte{9 << 3, 1}, `{"resourceLogs":[]}`},
	} {
		got := appendRequestJSON(nil, tt.req)
		assert.Equal(t, tt.want, string(got), tt.name)
	}
}

// FuzzRequestJSON: any bytes transcode to valid JSON without a panic.
func FuzzRequestJSON(f *testing.F) {
	for _, c := range transcodeCases[:2] {
		if pb, err := os.ReadFile(filepath.Join(transcodeDir, c.name+".pb")); err == nil {
			f.Add(pb)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{tagResourceLogs, 2, tagScopeLogs, 0})
	f.Fuzz(func(t *testing.T, req []byte) {
		out := appendRequestJSON(nil, req)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %x: %s", req, out)
		}
	})
}

// TestRequestJSONInvalidScopeName: a scope name or version that is not
// valid UTF-8 comes out of the spool's transcoder byte for byte as the
// live JSON payload has it (the live form once escaped U+FFFD as \ufffd).
func TestRequestJSONInvalidScopeName(t *testing.T) {
	pb, want := goldenPayloads(t, nil, func(h *Handler) []goldenRecord {
		s := h.WithScope("bad\xffname", "v\xfe1")
		return []goldenRecord{{s, context.Background(), slog.NewRecord(goldenTime, slog.LevelInfo, "m", 0)}}
	})
	got := appendRequestJSON(nil, pb)
	require.True(t, json.Valid(got), "%s", got)
	assert.Equal(t, string(want), string(got))
	assert.Contains(t, string(got), `"name":"bad`+"\uFFFD"+`name"`)
}
