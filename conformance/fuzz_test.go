package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/soliplex/slogotlp"
)

// validString is what a string looks like after the round trip: each byte
// that is not part of valid UTF-8 becomes U+FFFD.
func validString(s string) string { return string([]rune(s)) }

// FuzzHandle feeds arbitrary strings, numbers and bytes through Handle, in
// nested groups, lists, maps and pre-bound attributes, in both wire formats:
// every payload must be valid JSON or protobuf that the Collector's decoder
// accepts, with every record in it and the fixed-key values intact.
func FuzzHandle(f *testing.F) {
	f.Add("hello", "k", "v", int64(1), 1.5, uint64(2), []byte("b"))
	f.Add("", "", "", int64(0), 0.0, uint64(0), []byte(nil))
	f.Add("\xff\xfe", "k\xc3", "\u2028\"\\\x00", int64(math.MinInt64), math.NaN(), uint64(math.MaxUint64), []byte{0, 0xff})
	f.Add("ü\n\t", "a.b", "{\"json\":1}", int64(math.MaxInt64), math.Inf(1), uint64(math.MaxInt64+1), []byte("{}"))
	f.Add("m", "k", "k", int64(-1), math.Inf(-1), uint64(math.MaxInt64), bytes.Repeat([]byte{0xab}, 300))
	f.Add("\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", int64(-8), 5e-324, uint64(1), []byte("x"))

	f.Fuzz(func(t *testing.T, msg, key, val string, i int64, fl float64, u uint64, b []byte) {
		for _, format := range []slogotlp.WireFormat{slogotlp.FormatJSON, slogotlp.FormatProtobuf} {
			fuzzHandle(t, format, msg, key, val, i, fl, u, b)
		}
	})
}

func fuzzHandle(t *testing.T, format slogotlp.WireFormat, msg, key, val string, i int64, fl float64, u uint64, b []byte) {
	{
		h, c := newHandlerFormat(t, &slogotlp.HandlerOptions{Level: slog.Level(math.MinInt), MaxValueLen: -1}, format)
		ctx := context.Background()

		// Through a logger with fuzzed pre-bound attributes and groups.
		l := slog.New(h).With(key, val).WithGroup(key).With(val, i, key, b).WithGroup(val)
		l.Log(ctx, slog.Level(i%40), msg, key, fl, val, u, slog.Group(key, slog.Group(val, slog.Any(key, b))))

		// Directly, with fixed keys whose values can be checked.
		nanos := i
		r := slog.NewRecord(time.Unix(0, nanos), slog.Level(i), msg, 0)
		r.AddAttrs(
			slog.String("s", val),
			slog.Int64("i", i),
			slog.Float64("f", fl),
			slog.Uint64("u", u),
			slog.Any("b", b),
			slog.Duration("d", time.Duration(i)),
			slog.Group("nest",
				slog.String(key, val),
				slog.Group(key, slog.Group(val, slog.Group(msg, slog.Any("list", []any{val, i, fl, u, b, map[string]any{key: val}}))))),
		)
		require.NoError(t, h.Handle(ctx, r))
		require.NoError(t, h.Shutdown(ctx))

		payloads, counts := c.snapshot()
		total := 0
		var rs []rec
		for j, p := range payloads {
			ls := decode(t, p) // checks JSON validity too
			require.Equal(t, counts[j], ls.LogRecordCount())
			total += counts[j]
			rs = append(rs, records([]plog.Logs{ls})...)
		}
		require.Equal(t, 2, total)
		require.Len(t, rs, 2)
		for _, r := range rs {
			assert.Equal(t, validString(msg), r.lr.Body().Str())
			goMap(t, r.lr.Attributes()) // no duplicate keys at any depth
		}

		got := goMap(t, rs[1].lr.Attributes())
		assert.Equal(t, validString(val), got["s"])
		assert.Equal(t, i, got["i"])
		if math.IsNaN(fl) {
			assert.True(t, isNaN(got["f"]))
		} else {
			assert.Equal(t, fl, got["f"])
		}
		if u > math.MaxInt64 {
			assert.Equal(t, validString(string(mustAppendUint(u))), got["u"])
		} else {
			assert.Equal(t, int64(u), got["u"])
		}
		assert.Equal(t, append([]byte{}, b...), got["b"])
		assert.Equal(t, i, got["d"])
		assert.Contains(t, got, "nest")
		if nanos >= 0 {
			assert.Equal(t, uint64(nanos), uint64(rs[1].lr.Timestamp()), "timeUnixNano")
		} else { // before 1970: OTLP cannot say it; timeUnixNano is missing
			assert.Zero(t, rs[1].lr.Timestamp(), "timeUnixNano")
			assert.NotZero(t, rs[1].lr.ObservedTimestamp(), "observedTimeUnixNano")
		}
	}
}

func mustAppendUint(u uint64) []byte {
	b, _ := json.Marshal(u)
	return b
}
