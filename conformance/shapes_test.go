package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/soliplex/slogotlp"
)

func TestSeverity(t *testing.T) {
	tests := []struct {
		level slog.Level
		num   plog.SeverityNumber
		text  string
	}{
		{slogotlp.LevelTrace, plog.SeverityNumberTrace, "TRACE"},
		{slogotlp.LevelTrace - 4, plog.SeverityNumberTrace, "TRACE-4"},
		{slog.LevelDebug, plog.SeverityNumberDebug, "DEBUG"},
		{slog.LevelDebug + 1, plog.SeverityNumberDebug2, "DEBUG+1"},
		{slog.LevelInfo, plog.SeverityNumberInfo, "INFO"},
		{slog.LevelInfo + 2, plog.SeverityNumberInfo3, "INFO+2"},
		{slog.LevelWarn, plog.SeverityNumberWarn, "WARN"},
		{slog.LevelError, plog.SeverityNumberError, "ERROR"},
		{slogotlp.LevelFatal, plog.SeverityNumberFatal, "FATAL"},
		{slogotlp.LevelFatal + 3, plog.SeverityNumberFatal4, "FATAL+3"},
		{slogotlp.LevelFatal + 100, plog.SeverityNumberFatal4, "FATAL+100"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r := one(t, &slogotlp.HandlerOptions{Level: slog.Level(-100)}, func(l *slog.Logger) {
				l.Log(context.Background(), tt.level, "m")
			})
			assert.Equal(t, tt.num, r.lr.SeverityNumber())
			assert.Equal(t, tt.text, r.lr.SeverityText())
		})
	}
}

func TestBodyAndTimestamps(t *testing.T) {
	before := time.Now()
	rs := records(export(t, nil, func(h *slogotlp.Handler) {
		require.NoError(t, h.Handle(context.Background(), record(slog.LevelInfo, "hello \"world\"\n\t\\ \u2028 ☃")))
		zero := slog.NewRecord(time.Time{}, slog.LevelInfo, "no time", 0)
		require.NoError(t, h.Handle(context.Background(), zero))
	}))
	after := time.Now()
	require.Len(t, rs, 2)

	r := rs[0].lr
	assert.Equal(t, "hello \"world\"\n\t\\ \u2028 ☃", goValue(t, r.Body()))
	assert.Equal(t, fixedTime.UnixNano(), r.Timestamp().AsTime().UnixNano())
	obs := r.ObservedTimestamp().AsTime()
	assert.False(t, obs.Before(before.Truncate(time.Nanosecond)) || obs.After(after), "observed time %v outside [%v, %v]", obs, before, after)
	assert.Equal(t, 0, r.Attributes().Len())
	assert.True(t, r.TraceID().IsEmpty())
	assert.True(t, r.SpanID().IsEmpty())

	// A zero record time is missing (slog's Handler contract: ignore it),
	// which the log data model writes as an unset timeUnixNano; the
	// observed time, when Handle ran, stands for it.
	z := rs[1].lr
	assert.Equal(t, "no time", z.Body().Str())
	assert.Zero(t, z.Timestamp())
	zobs := z.ObservedTimestamp().AsTime()
	assert.False(t, zobs.Before(before.Truncate(time.Nanosecond)) || zobs.After(after), "observed time %v outside [%v, %v]", zobs, before, after)
}

type valuer struct{ v string }

func (v valuer) LogValue() slog.Value { return slog.StringValue("resolved " + v.v) }

type groupValuer struct{}

func (groupValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("a", 1), slog.String("b", "x"))
}

type stringer struct{}

func (stringer) String() string { return "stringer!" }

type point struct{ X, Y int }

type panicky struct{}

func (panicky) String() string { panic("boom") }

func TestKinds(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name string
		attr slog.Attr
		want any
	}{
		{"string", slog.String("k", "v"), "v"},
		{"empty string", slog.String("k", ""), ""},
		{"int64", slog.Int64("k", -42), int64(-42)},
		{"int64 min", slog.Int64("k", math.MinInt64), int64(math.MinInt64)},
		{"int64 max", slog.Int64("k", math.MaxInt64), int64(math.MaxInt64)},
		{"int", slog.Int("k", 7), int64(7)},
		{"uint64", slog.Uint64("k", 42), int64(42)},
		{"uint64 max int64", slog.Uint64("k", math.MaxInt64), int64(math.MaxInt64)},
		{"uint64 above int64", slog.Uint64("k", math.MaxInt64+1), "9223372036854775808"},
		{"uint64 max", slog.Uint64("k", math.MaxUint64), "18446744073709551615"},
		{"float64", slog.Float64("k", 3.25), 3.25},
		{"float64 tiny", slog.Float64("k", 5e-324), 5e-324},
		{"float64 huge", slog.Float64("k", 1.7976931348623157e308), 1.7976931348623157e308},
		{"float64 negative zero", slog.Float64("k", math.Copysign(0, -1)), math.Copysign(0, -1)},
		{"float64 integral", slog.Float64("k", 2), 2.0},
		{"+Inf", slog.Float64("k", math.Inf(1)), math.Inf(1)},
		{"-Inf", slog.Float64("k", math.Inf(-1)), math.Inf(-1)},
		{"bool true", slog.Bool("k", true), true},
		{"bool false", slog.Bool("k", false), false},
		{"duration", slog.Duration("k", 1500*time.Millisecond), int64(1500 * time.Millisecond)},
		{"time", slog.Time("k", at), "2024-01-02T03:04:05.000000006Z"},
		{"group", slog.Group("k", slog.Int("a", 1), slog.Bool("b", true)), map[string]any{"a": int64(1), "b": true}},
		{"log valuer", slog.Any("k", valuer{"x"}), "resolved x"},
		{"log valuer group", slog.Any("k", groupValuer{}), map[string]any{"a": int64(1), "b": "x"}},
		{"bytes", slog.Any("k", []byte{0, 1, 2, 0xff}), []byte{0, 1, 2, 0xff}},
		{"empty bytes", slog.Any("k", []byte{}), []byte{}},
		{"error", slog.Any("k", errors.New("bad thing")), "bad thing"},
		{"stringer", slog.Any("k", stringer{}), "stringer!"},
		{"[]any", slog.Any("k", []any{1, "a", true, 2.5, nil, []byte("z")}), []any{int64(1), "a", true, 2.5, nil, []byte("z")}},
		{"[]int", slog.Any("k", []int{1, 2, 3}), []any{int64(1), int64(2), int64(3)}},
		{"[]string", slog.Any("k", []string{"a", "b"}), []any{"a", "b"}},
		{"array", slog.Any("k", [2]float64{1.5, math.Inf(1)}), []any{1.5, math.Inf(1)}},
		{"nil slice", slog.Any("k", []int(nil)), []any{}},
		{"nested slice", slog.Any("k", [][]int{{1}, {2, 3}}), []any{[]any{int64(1)}, []any{int64(2), int64(3)}}},
		{"map[string]int", slog.Any("k", map[string]int{"b": 2, "a": 1}), map[string]any{"a": int64(1), "b": int64(2)}},
		{"map[string]any", slog.Any("k", map[string]any{"s": "x", "m": map[string]bool{"t": true}}), map[string]any{"s": "x", "m": map[string]any{"t": true}}},
		{"map with int keys", slog.Any("k", map[int]string{1: "a"}), "map[1:a]"},
		{"struct", slog.Any("k", point{1, 2}), "{X:1 Y:2}"},
		{"nil", slog.Any("k", nil), nil},
		{"panicking stringer", slog.Any("k", panicky{}), "!PANIC: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := one(t, nil, func(l *slog.Logger) {
				l.LogAttrs(context.Background(), slog.LevelInfo, "m", tt.attr)
			})
			attrs := goMap(t, r.lr.Attributes())
			require.Contains(t, attrs, "k")
			assert.Equal(t, tt.want, attrs["k"])
			if f, ok := tt.want.(float64); ok && f == 0 {
				assert.Equal(t, math.Signbit(f), math.Signbit(attrs["k"].(float64)), "sign of zero")
			}
		})
	}
}

func TestNaN(t *testing.T) {
	r := one(t, nil, func(l *slog.Logger) {
		l.Info("m", "nan", math.NaN(), "list", []float64{math.NaN(), math.Inf(-1)})
	})
	attrs := goMap(t, r.lr.Attributes())
	assert.True(t, isNaN(attrs["nan"]), "nan = %#v", attrs["nan"])
	list := attrs["list"].([]any)
	require.Len(t, list, 2)
	assert.True(t, isNaN(list[0]), "list[0] = %#v", list[0])
	assert.Equal(t, math.Inf(-1), list[1])
}

func TestInvalidUTF8(t *testing.T) {
	r := one(t, nil, func(l *slog.Logger) {
		l.Info("msg \xc3 end", "key\xff", "val\xfe\xfd", "ok", "a\x00b\x1fc",
			slog.Group("g\xc0", slog.String("in\xe2\x82", "x")))
	})
	assert.Equal(t, "msg \uFFFD end", r.lr.Body().Str())
	attrs := goMap(t, r.lr.Attributes())
	assert.Equal(t, map[string]any{
		"key\uFFFD": "val\uFFFD\uFFFD",
		"ok":        "a\x00b\x1fc",
		"g\uFFFD":   map[string]any{"in\uFFFD\uFFFD": "x"},
	}, attrs)
}

func TestGroups(t *testing.T) {
	t.Run("three deep", func(t *testing.T) {
		r := one(t, nil, func(l *slog.Logger) {
			l.Info("m", slog.Group("a", slog.Int("n", 1), slog.Group("b", slog.Group("c", slog.String("x", "y")))))
		})
		assert.Equal(t, map[string]any{
			"a": map[string]any{"n": int64(1), "b": map[string]any{"c": map[string]any{"x": "y"}}},
		}, goMap(t, r.lr.Attributes()))
	})
	t.Run("WithGroup three deep with attrs at each level", func(t *testing.T) {
		r := one(t, nil, func(l *slog.Logger) {
			l.With("top", 0).WithGroup("g1").With("one", 1).WithGroup("g2").With("two", 2).WithGroup("g3").
				Info("m", "three", 3, slog.Group("g4", "four", 4))
		})
		assert.Equal(t, map[string]any{
			"top": int64(0),
			"g1": map[string]any{"one": int64(1), "g2": map[string]any{"two": int64(2),
				"g3": map[string]any{"three": int64(3), "g4": map[string]any{"four": int64(4)}}}},
		}, goMap(t, r.lr.Attributes()))
	})
	t.Run("empty groups are omitted", func(t *testing.T) {
		r := one(t, nil, func(l *slog.Logger) {
			l.With("a", 1).WithGroup("g").WithGroup("h").Info("m", slog.Group("empty"))
		})
		assert.Equal(t, map[string]any{"a": int64(1)}, goMap(t, r.lr.Attributes()))
	})
	t.Run("group with empty key is inlined", func(t *testing.T) {
		r := one(t, nil, func(l *slog.Logger) {
			l.Info("m", slog.Group("", slog.Int("a", 1), slog.Group("", slog.Int("b", 2))))
		})
		assert.Equal(t, map[string]any{"a": int64(1), "b": int64(2)}, goMap(t, r.lr.Attributes()))
	})
	t.Run("deep nesting is cut, not crashed", func(t *testing.T) {
		a := slog.Int("leaf", 1)
		for i := range 40 {
			a = slog.Group(fmt.Sprint("g", i), a)
		}
		r := one(t, nil, func(l *slog.Logger) { l.Info("m", a) })
		m := goMap(t, r.lr.Attributes())
		depth := 0
		for v := any(m); ; depth++ {
			mm, ok := v.(map[string]any)
			if !ok {
				assert.Equal(t, "!DEPTH", v)
				break
			}
			require.Len(t, mm, 1)
			for _, x := range mm {
				v = x
			}
		}
		assert.Less(t, depth, 40)
	})
}

func TestDuplicateKeysLastWins(t *testing.T) {
	r := one(t, nil, func(l *slog.Logger) {
		l.With("k", "bound", "b", 1).WithGroup("g").With("x", 1, "x", 2).
			Info("m", "k", "inner", "x", 3, "y", 1, "y", 2)
	})
	assert.Equal(t, map[string]any{
		"k": "bound",
		"b": int64(1),
		"g": map[string]any{"k": "inner", "x": int64(3), "y": int64(2)},
	}, goMap(t, r.lr.Attributes()))

	r = one(t, nil, func(l *slog.Logger) {
		l.With("k", "bound").Info("m", "k", "record")
	})
	assert.Equal(t, map[string]any{"k": "record"}, goMap(t, r.lr.Attributes()))

	r = one(t, nil, func(l *slog.Logger) {
		l.With("g", "scalar").WithGroup("g").Info("m", "a", 1)
	})
	assert.Equal(t, map[string]any{"g": map[string]any{"a": int64(1)}}, goMap(t, r.lr.Attributes()))
}

func TestResource(t *testing.T) {
	r := one(t, &slogotlp.HandlerOptions{NoResourceDetection: true, Resource: []slog.Attr{
		slog.String("service.name", "svc"),
		slog.Int("process.pid", 1234),
		slog.Group("host", slog.String("name", "h1"), slog.Bool("virtual", true)),
	}}, func(l *slog.Logger) { l.Info("m") })
	assert.Equal(t, map[string]any{
		"service.name": "svc",
		"process.pid":  int64(1234),
		"host":         map[string]any{"name": "h1", "virtual": true},
	}, goMap(t, r.res.Attributes()))

	// With detection on, the detected attributes decode too, and the
	// caller's service.name wins.
	r = one(t, &slogotlp.HandlerOptions{Resource: []slog.Attr{slog.String("service.name", "svc")}}, func(l *slog.Logger) { l.Info("m") })
	res := goMap(t, r.res.Attributes())
	assert.Equal(t, "svc", res["service.name"])
	assert.Equal(t, "go", res["telemetry.sdk.language"])
	assert.IsType(t, int64(0), res["process.pid"])
	assert.NotEmpty(t, res["host.name"])
}

type wrapped struct{ inner error }

func (w *wrapped) Error() string { return "wrapped: " + w.inner.Error() }
func (w *wrapped) Unwrap() error { return w.inner }

func TestException(t *testing.T) {
	t.Run("error attr", func(t *testing.T) {
		r := one(t, nil, func(l *slog.Logger) {
			l.Error("failed", "err", &wrapped{errors.New("disk full")}, "n", 1)
		})
		attrs := goMap(t, r.lr.Attributes())
		assert.Equal(t, "*conformance.wrapped", attrs["exception.type"])
		assert.Equal(t, "wrapped: disk full", attrs["exception.message"])
		assert.Equal(t, "wrapped: disk full", attrs["err"])
		assert.Equal(t, int64(1), attrs["n"])
		assert.NotContains(t, attrs, "exception.stacktrace")
	})
	t.Run("bound error", func(t *testing.T) {
		r := one(t, nil, func(l *slog.Logger) {
			l.With("err", errors.New("bound")).Warn("m")
		})
		attrs := goMap(t, r.lr.Attributes())
		assert.Equal(t, "*errors.errorString", attrs["exception.type"])
		assert.Equal(t, "bound", attrs["exception.message"])
	})
	t.Run("stack trace captured", func(t *testing.T) {
		r := one(t, &slogotlp.HandlerOptions{StackTraces: true}, func(l *slog.Logger) {
			l.Error("m", "err", errors.New("x"))
		})
		st, _ := goMap(t, r.lr.Attributes())["exception.stacktrace"].(string)
		assert.Contains(t, st, "conformance.TestException")
	})
}

func TestSource(t *testing.T) {
	r := one(t, &slogotlp.HandlerOptions{AddSource: true}, func(l *slog.Logger) {
		l.Info("m", "a", 1)
	})
	attrs := goMap(t, r.lr.Attributes())
	file, _ := attrs["code.file.path"].(string)
	assert.True(t, strings.HasSuffix(file, "/conformance/shapes_test.go"), "code.file.path = %q", file)
	line, ok := attrs["code.line.number"].(int64)
	assert.True(t, ok && line > 0, "code.line.number = %#v", attrs["code.line.number"])
	assert.Contains(t, attrs["code.function.name"], "conformance.TestSource")
	assert.Equal(t, int64(1), attrs["a"])
}

func TestScopes(t *testing.T) {
	// Only Shutdown exports (no ERROR, batch size and timer out of reach),
	// so the six records share one payload, whose scopeLogs are the subject.
	ls := export(t, &slogotlp.HandlerOptions{ScopeName: "app", ScopeVersion: "1.0.0", FlushInterval: time.Hour}, func(h *slogotlp.Handler) {
		root := slog.New(h)
		billing := root.With(slogotlp.ScopeKey, "billing", "tenant", "t1")
		jobs := slog.New(h.WithScope("jobs", "2.1"))
		root.Info("r1")
		billing.Info("b1")
		jobs.Info("j1")
		billing.Info("b2")
		root.Info("r2")
		// A ScopeKey inside a group is an ordinary attribute.
		root.WithGroup("g").With(slogotlp.ScopeKey, "not-a-scope").Info("r3")
	})
	require.Len(t, ls, 1)
	rl := ls[0].ResourceLogs()
	require.Equal(t, 1, rl.Len())
	got := map[string][]string{}
	versions := map[string]string{}
	sls := rl.At(0).ScopeLogs()
	require.Equal(t, 3, sls.Len(), "one scopeLogs per scope")
	for i := range sls.Len() {
		sl := sls.At(i)
		versions[sl.Scope().Name()] = sl.Scope().Version()
		for j := range sl.LogRecords().Len() {
			lr := sl.LogRecords().At(j)
			got[sl.Scope().Name()] = append(got[sl.Scope().Name()], lr.Body().Str())
			attrs := goMap(t, lr.Attributes())
			assert.NotContains(t, attrs, slogotlp.ScopeKey, "scope key is consumed at top level")
			if sl.Scope().Name() == "billing" {
				assert.Equal(t, "t1", attrs["tenant"])
			}
			if lr.Body().Str() == "r3" {
				assert.Equal(t, map[string]any{"g": map[string]any{slogotlp.ScopeKey: "not-a-scope"}}, attrs)
			}
		}
	}
	assert.Equal(t, map[string][]string{
		"app":     {"r1", "r2", "r3"},
		"billing": {"b1", "b2"},
		"jobs":    {"j1"},
	}, got)
	assert.Equal(t, map[string]string{"app": "1.0.0", "billing": "", "jobs": "2.1"}, versions)
}

func TestDefaultScope(t *testing.T) {
	r := one(t, nil, func(l *slog.Logger) { l.Info("m") })
	assert.Equal(t, "github.com/soliplex/slogotlp", r.scope.Name())
	assert.NotEmpty(t, r.scope.Version())
}

// TestValueTruncation: MaxValueLen cuts the message and string values to
// at most that many bytes, the "…" included, on a rune boundary.
func TestValueTruncation(t *testing.T) {
	r := one(t, &slogotlp.HandlerOptions{MaxValueLen: 7}, func(l *slog.Logger) {
		l.Info("abcdefgh", "s", "ü123456", "short", "abcdefg", "list", []string{"ü1234567"})
	})
	assert.Equal(t, "abcd…", r.lr.Body().Str())
	attrs := goMap(t, r.lr.Attributes())
	assert.Equal(t, "ü12…", attrs["s"])
	assert.Equal(t, "abcdefg", attrs["short"], "exactly the limit")
	assert.Equal(t, []any{"ü12…"}, attrs["list"])
}
