package slogotlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSlogtest runs the standard library's handler conformance suite,
// reading our own OTLP output back.
func TestSlogtest(t *testing.T) {
	var h *Handler
	var exp *captureExporter
	slogtest.Run(t, func(t *testing.T) slog.Handler {
		h, exp = newTestHandler(t, nil)
		return h
	}, func(t *testing.T) map[string]any {
		flush(t, h)
		recs := exp.records(t)
		require.Len(t, recs, 1)
		return toSlogtestMap(recs[0])
	})
}

// toSlogtestMap converts a decoded OTLP record to the map shape slogtest
// expects: time, level and msg at the top, attributes and groups as keys.
// A zero slog time leaves timeUnixNano out.
func toSlogtestMap(rec map[string]any) map[string]any {
	m := attrMap(rec["attributes"])
	if ts, ok := rec["timeUnixNano"]; ok {
		m[slog.TimeKey] = ts
	}
	m[slog.LevelKey] = rec["severityText"]
	m[slog.MessageKey] = rec["body"].(map[string]any)["stringValue"]
	return m
}

func TestSeverity(t *testing.T) {
	for _, tc := range []struct {
		level slog.Level
		num   float64
		text  string
	}{
		{LevelTrace - 4, 1, "TRACE-4"},
		{LevelTrace, 1, "TRACE"},
		{slog.LevelDebug, 5, "DEBUG"},
		{slog.LevelDebug + 1, 6, "DEBUG+1"},
		{slog.LevelInfo, 9, "INFO"},
		{slog.LevelWarn, 13, "WARN"},
		{slog.LevelError, 17, "ERROR"},
		{slog.LevelError + 2, 19, "ERROR+2"},
		{LevelFatal, 21, "FATAL"},
		{LevelFatal + 10, 24, "FATAL+10"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			h, exp := newTestHandler(t, &HandlerOptions{Level: slog.Level(-100)})
			slog.New(h).Log(context.Background(), tc.level, "m")
			flush(t, h)
			rec := exp.records(t)[0]
			assert.Equal(t, tc.num, rec["severityNumber"])
			assert.Equal(t, tc.text, rec["severityText"])
		})
	}
}

type panicValuer struct{}

func (panicValuer) LogValue() slog.Value { panic("boom") }

type panicStringer struct{}

func (panicStringer) String() string { panic("stringer boom") }

type point struct{ X, Y int }

type tokenValuer string

func (tokenValuer) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// TestAttributeMapping is the golden table of the Record Conversion section.
func TestAttributeMapping(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := map[string]any{}
	cur := deep
	for range 40 {
		next := map[string]any{}
		cur["n"] = next
		cur = next
	}
	for _, tc := range []struct {
		name string
		attr slog.Attr
		want any // decoded value; nil means the attribute is absent
	}{
		{"string", slog.String("k", "v"), "v"},
		{"int", slog.Int("k", -3), "-3"},
		{"int64 max", slog.Int64("k", math.MaxInt64), "9223372036854775807"},
		{"uint64 small", slog.Uint64("k", 7), "7"},
		{"uint64 above MaxInt64", slog.Uint64("k", math.MaxUint64), "18446744073709551615"},
		{"float", slog.Float64("k", 1.5), 1.5},
		{"NaN", slog.Float64("k", math.NaN()), "NaN"},
		{"+Inf", slog.Float64("k", math.Inf(1)), "Infinity"},
		{"-Inf", slog.Float64("k", math.Inf(-1)), "-Infinity"},
		{"bool", slog.Bool("k", true), true},
		{"duration", slog.Duration("k", 1500*time.Millisecond), "1500000000"},
		{"time", slog.Time("k", now), "2026-01-02T03:04:05.000000006Z"},
		{"bytes", slog.Any("k", []byte("hi")), "aGk="},
		{"slice", slog.Any("k", []int{1, 2}), []any{"1", "2"}},
		{"array of any", slog.Any("k", [2]any{"a", true}), []any{"a", true}},
		{"map", slog.Any("k", map[string]int{"b": 2, "a": 1}), map[string]any{"a": "1", "b": "2"}},
		{"group", slog.Group("k", "a", 1, slog.Group("b", "c", "d")), map[string]any{"a": "1", "b": map[string]any{"c": "d"}}},
		{"empty group", slog.Group("k"), nil},
		{"group of empty group", slog.Group("k", slog.Group("e")), nil},
		{"LogValuer", slog.Any("k", tokenValuer("secret")), "[redacted]"},
		{"panicking LogValuer", slog.Any("k", panicValuer{}), "LogValue panicked"},
		{"panicking Stringer", slog.Any("k", panicStringer{}), "!PANIC: stringer boom"},
		{"struct", slog.Any("k", point{1, 2}), "{X:1 Y:2}"},
		{"error", slog.Any("k", errors.New("bad")), "bad"},
		{"cyclic", slog.Any("k", cyclic), "!DEPTH"},
		{"deep", slog.Any("k", deep), "!DEPTH"},
		{"invalid UTF-8", slog.String("k", "a\xffb"), "a\ufffdb"},
		{"control chars", slog.String("k", "a\x00\n\"\\\u2028"), "a\x00\n\"\\\u2028"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, exp := newTestHandler(t, nil)
			slog.New(h).LogAttrs(context.Background(), slog.LevelInfo, "m", tc.attr)
			flush(t, h)
			recs := exp.records(t)
			require.Len(t, recs, 1)
			got, ok := attrMap(recs[0]["attributes"])["k"]
			if tc.want == nil {
				assert.False(t, ok, "attribute should be absent, got %v", got)
				return
			}
			require.True(t, ok, "attribute missing")
			if s, isStr := tc.want.(string); isStr && (strings.HasPrefix(s, "LogValue panicked") || s == "!DEPTH") {
				assert.Contains(t, fmt.Sprint(got), s)
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestBytesValueKey pins the OTLP type names: a typo in one would decode as
// a generic map above.
func TestValueTypeNames(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	slog.New(h).Info("m", "s", "x", "i", 1, "f", 1.5, "b", true, "y", []byte{1}, "a", []int{1}, "g", slog.GroupValue(slog.Int("x", 1)))
	flush(t, h)
	p := exp.payload(t)
	for _, want := range []string{`{"stringValue":"x"}`, `{"intValue":"1"}`, `{"doubleValue":1.5}`, `{"boolValue":true}`, `{"bytesValue":"AQ=="}`, `{"arrayValue":{"values":[{"intValue":"1"}]}}`, `{"kvlistValue":{"values":[{"key":"x","value":{"intValue":"1"}}]}}`} {
		assert.Contains(t, p, want)
	}
}

func TestNilValueIsEmptyAnyValue(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	slog.New(h).Info("m", "k", nil)
	flush(t, h)
	assert.Contains(t, exp.payload(t), `{"key":"k","value":{}}`)
}

func TestTimestamps(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	ts := time.Date(2026, 11, 26, 1, 2, 3, 4, time.UTC)
	r := slog.NewRecord(ts, slog.LevelInfo, "with time", 0)
	require.NoError(t, h.Handle(context.Background(), r))
	before := time.Now()
	require.NoError(t, h.Handle(context.Background(), slog.NewRecord(time.Time{}, slog.LevelInfo, "zero time", 0)))
	flush(t, h)
	recs := exp.records(t)
	assert.Equal(t, strconv.FormatInt(ts.UnixNano(), 10), recs[0]["timeUnixNano"])
	obs, err := strconv.ParseInt(recs[0]["observedTimeUnixNano"].(string), 10, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, obs, before.Add(-time.Second).UnixNano())
	// A zero time is left out: observedTimeUnixNano carries the time.
	assert.NotContains(t, recs[1], "timeUnixNano")
	assert.Contains(t, recs[1], "observedTimeUnixNano")
	assert.Equal(t, map[string]any{"stringValue": "zero time"}, recs[1]["body"])
}

func TestDuplicateKeysLastWins(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	l := slog.New(h).With("a", 1, "b", 1, "a", 2).WithGroup("g").With("x", 1, "g2", 0)
	l.Info("m", "x", 2, "y", 1, "y", 2, slog.Group("g2", "z", 1, "z", 2), slog.Group("", "y", 3))
	flush(t, h)
	rec := exp.records(t)[0]
	attrs := attrMap(rec["attributes"])
	assert.Equal(t, map[string]any{
		"a": "2", "b": "1",
		"g": map[string]any{"x": "2", "y": "3", "g2": map[string]any{"z": "2"}},
	}, attrs)
	// No key appears twice in any list.
	raw := exp.payload(t)
	assert.Equal(t, 1, strings.Count(raw, `"key":"a"`))
	assert.Equal(t, 1, strings.Count(raw, `"key":"x"`))
	assert.Equal(t, 1, strings.Count(raw, `"key":"y"`))
}

func TestGroupReplacesEarlierAttr(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	slog.New(h).With("req", "flat", "keep", 1).WithGroup("req").Info("m", "id", 7)
	flush(t, h)
	assert.Equal(t, map[string]any{"keep": "1", "req": map[string]any{"id": "7"}}, attrMap(exp.records(t)[0]["attributes"]))
}

func TestWithAttrsDoesNotMutateReceiver(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	base := slog.New(h).With("a", 1).WithGroup("g")
	// Derive siblings from the same parent: neither may see the other's attrs.
	l1 := base.With("one", 1)
	l2 := base.With("two", 2)
	base.Info("base")
	l1.Info("l1")
	l2.Info("l2")
	flush(t, h)
	recs := exp.records(t)
	require.Len(t, recs, 3)
	assert.Equal(t, map[string]any{"a": "1"}, attrMap(recs[0]["attributes"]))
	assert.Equal(t, map[string]any{"a": "1", "g": map[string]any{"one": "1"}}, attrMap(recs[1]["attributes"]))
	assert.Equal(t, map[string]any{"a": "1", "g": map[string]any{"two": "2"}}, attrMap(recs[2]["attributes"]))
}

type stackErr struct{ msg string }

func (e stackErr) Error() string { return e.msg }
func (e stackErr) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('+') {
		fmt.Fprintf(s, "%s\nmain.work\n\t/src/app/work.go:12", e.msg)
		return
	}
	fmt.Fprint(s, e.msg)
}

func TestExceptionConventions(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{StackTraces: true, TrimPaths: func(s string) string { return strings.ReplaceAll(s, "/src/app/", "") }})
	l := slog.New(h)
	l.Error("plain", "err", fmt.Errorf("wrap: %w", errors.New("root")))
	l.Warn("with stack", "err", stackErr{"kaput"})
	l.With("err", errors.New("bound")).Info("bound error")
	l.Info("no error", "n", 1)
	flush(t, h)
	recs := exp.records(t)
	require.Len(t, recs, 4)

	a := attrMap(recs[0]["attributes"])
	assert.Equal(t, "*errors.errorString", a["exception.type"], "fmt.Errorf's wrapper looked through")
	assert.Equal(t, "wrap: root", a["exception.message"])
	assert.Equal(t, "wrap: root", a["err"])
	// Captured at ERROR, without our own or slog's frames.
	st := a["exception.stacktrace"].(string)
	assert.Contains(t, st, "TestExceptionConventions")
	assert.NotContains(t, st, "log/slog.")
	assert.NotContains(t, st, "slogotlp.(*Handler)")

	b := attrMap(recs[1]["attributes"])
	assert.Equal(t, "github.com/soliplex/slogotlp.stackErr", b["exception.type"])
	assert.Equal(t, "kaput\nmain.work\n\twork.go:12", b["exception.stacktrace"], "the error's own stack, trimmed")

	c := attrMap(recs[2]["attributes"])
	assert.Equal(t, "bound", c["exception.message"])
	assert.Nil(t, c["exception.stacktrace"], "no capture below ERROR")

	assert.NotContains(t, attrMap(recs[3]["attributes"]), "exception.type")
}

func TestAddSource(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{AddSource: true})
	slog.New(h).Info("m")
	flush(t, h)
	a := attrMap(exp.records(t)[0]["attributes"])
	assert.True(t, strings.HasSuffix(a["code.file.path"].(string), "handler_test.go"), a["code.file.path"])
	assert.NotEqual(t, "0", a["code.line.number"])
	assert.Equal(t, "github.com/soliplex/slogotlp.TestAddSource", a["code.function.name"])
}

func TestScopes(t *testing.T) {
	// Only the flush exports (no ERROR, batch size and timer out of reach),
	// so the four records share one payload, whose shape is the subject.
	h, exp := newTestHandler(t, &HandlerOptions{FlushInterval: time.Hour})
	root := slog.New(h)
	billing := slog.New(h.WithScope("billing", "1.2.0"))
	auth := root.With(ScopeKey, "auth", "k", "v")
	root.Info("r1")
	billing.Info("b1")
	auth.Info("a1")
	root.Info("r2")
	flush(t, h)
	p := exp.payload(t)
	assert.Equal(t, 3, strings.Count(p, `{"scope":`))
	assert.Contains(t, p, `{"scope":{"name":"billing","version":"1.2.0"},"logRecords":[`)
	assert.Contains(t, p, `{"scope":{"name":"auth"},"logRecords":[`)
	assert.NotContains(t, p, ScopeKey, "the scope attribute is consumed")
	recs := exp.records(t)
	msgs := []string{}
	for _, r := range recs {
		msgs = append(msgs, r["body"].(map[string]any)["stringValue"].(string))
	}
	assert.Equal(t, []string{"r1", "r2", "b1", "a1"}, msgs, "grouped by scope, in order within each")
}

func TestResourceAndEnvelope(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{NoResourceDetection: true, Resource: []slog.Attr{slog.String("service.name", "svc"), slog.Group("host", "name", "h1")}})
	slog.New(h).Info("m")
	flush(t, h)
	p := exp.payload(t)
	assert.True(t, strings.HasPrefix(p, `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}},{"key":"host","value":{"kvlistValue":{"values":[{"key":"name","value":{"stringValue":"h1"}}]}}}]},"schemaUrl":"https://opentelemetry.io/schemas/1.43.0","scopeLogs":[{"scope":{"name":"github.com/soliplex/slogotlp"`), p)
	assert.True(t, strings.HasSuffix(p, `]}]}]}`), p)
}

func TestHugeStringIsCut(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{MaxValueLen: 10})
	slog.New(h).Info(strings.Repeat("m", 50), "k", strings.Repeat("é", 50))
	flush(t, h)
	rec := exp.records(t)[0]
	assert.Equal(t, "mmmmmmm…", rec["body"].(map[string]any)["stringValue"], "10 bytes, the ellipsis included")
	assert.Equal(t, "ééé…", attrMap(rec["attributes"])["k"], "cut on a rune boundary, within 10 bytes")
}

func TestNilContextAndCancelledContext(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	//lint:ignore SA1012 a nil context is the bad input under test
	require.NoError(t, h.Handle(nil, slog.NewRecord(time.Now(), slog.LevelInfo, "nil ctx", 0))) //nolint:staticcheck
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slog.New(h).InfoContext(ctx, "cancelled ctx")
	flush(t, h)
	assert.Equal(t, 2, exp.count(t))
}

func TestLevelVar(t *testing.T) {
	var lv slog.LevelVar
	h, exp := newTestHandler(t, &HandlerOptions{Level: &lv})
	l := slog.New(h)
	l.Debug("hidden")
	lv.Set(slog.LevelDebug)
	l.Debug("shown")
	flush(t, h)
	recs := exp.records(t)
	require.Len(t, recs, 1)
	assert.Equal(t, "shown", recs[0]["body"].(map[string]any)["stringValue"])
}

// TestConcurrentClones uses clones from many goroutines; run with -race.
func TestConcurrentClones(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{BatchSize: 64, MaxQueueSize: 100000})
	base := slog.New(h).With("base", 1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			l := base.With("g", g).WithGroup("grp")
			for i := range 500 {
				l.With("i", i).Info("m", "x", i)
			}
		})
	}
	wg.Wait()
	flush(t, h)
	recs := exp.records(t)
	require.Equal(t, 4000, len(recs))
	for _, r := range recs[:10] {
		a := attrMap(r["attributes"])
		g := a["grp"].(map[string]any)
		assert.Equal(t, g["i"], g["x"], "attrs of one clone never leak into another")
	}
}

func TestResourceDetection(t *testing.T) {
	attrs := attrMap(func() any {
		var list []any
		for _, a := range DetectResource() {
			list = append(list, map[string]any{"key": a.Key, "value": map[string]any{"stringValue": a.Value.String()}})
		}
		return list
	}())
	assert.True(t, strings.HasPrefix(attrs["service.name"].(string), "unknown_service:"), attrs["service.name"])
	assert.Equal(t, "linux", attrs["os.type"])
	assert.Equal(t, "go", attrs["telemetry.sdk.language"])
	assert.Equal(t, "slogotlp", attrs["telemetry.sdk.name"])
	assert.NotEmpty(t, attrs["host.name"])
	assert.NotEmpty(t, attrs["process.pid"])
	assert.Contains(t, attrs["process.runtime.version"], "go1.")

	h, exp := newTestHandler(t, &HandlerOptions{Resource: []slog.Attr{slog.String("service.name", "mine"), slog.String("host.name", "override")}})
	slog.New(h).Info("m")
	flush(t, h)
	p := exp.payload(t)
	assert.Equal(t, 1, strings.Count(p, `"key":"service.name"`), "the caller's value replaces the detected one")
	assert.Contains(t, p, `{"key":"service.name","value":{"stringValue":"mine"}}`)
	assert.Contains(t, p, `{"key":"host.name","value":{"stringValue":"override"}}`)
	assert.Contains(t, p, `"key":"telemetry.sdk.name"`)

	h2, exp2 := newTestHandler(t, &HandlerOptions{NoResourceDetection: true})
	slog.New(h2).Info("m")
	flush(t, h2)
	assert.Contains(t, exp2.payload(t), `{"resource":{"attributes":[]}`)
}

func TestServiceVersionFromBuildInfo(t *testing.T) {
	// Under go test the main module is the test binary: "(devel)" and no
	// VCS stamp, so the detector reports nothing rather than a made-up value.
	assert.NotEqual(t, "(devel)", serviceVersion())
}

func TestEmptyGroupKeepsTheAttrItWouldReplace(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	l := slog.New(h).With("g", "scalar", "k", 1).WithGroup("g")
	l.Info("empty group")
	l.Info("full group", "x", 1)
	flush(t, h)
	recs := exp.records(t)
	assert.Equal(t, map[string]any{"g": "scalar", "k": "1"}, attrMap(recs[0]["attributes"]))
	assert.Equal(t, map[string]any{"k": "1", "g": map[string]any{"x": "1"}}, attrMap(recs[1]["attributes"]))
}

// TestUnrepresentableTimeIsLeftOut: OTLP's unsigned nanoseconds cannot hold
// a time before 1970 or after 2262; such a time is missing, like a zero one.
func TestUnrepresentableTimeIsLeftOut(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	for _, at := range []time.Time{
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		require.NoError(t, h.Handle(context.Background(), slog.NewRecord(at, slog.LevelInfo, "odd", 0)))
	}
	flush(t, h)
	recs := exp.records(t)
	require.Len(t, recs, 3)
	for _, r := range recs {
		assert.NotContains(t, r, "timeUnixNano")
		assert.Contains(t, r, "observedTimeUnixNano")
	}
}

func TestKeysEqualAfterSanitizingAreDuplicates(t *testing.T) {
	h, exp := newTestHandler(t, nil)
	slog.New(h).With("\xfe", 0).WithGroup("\xff").Info("m", "\xad", 1, "\xcb", 2)
	flush(t, h)
	p := exp.payload(t)
	assert.Equal(t, 2, strings.Count(p, "\"key\":\"\ufffd\""), "one at the top (the group), one inside it: %s", p)
	assert.Equal(t, map[string]any{"\ufffd": map[string]any{"\ufffd": "2"}}, attrMap(exp.records(t)[0]["attributes"]))
}

// TestSetEnabledToggle switches export off and on while several goroutines
// log through clones, some through loggers (which ask Enabled first) and
// some calling Handle directly; run it with -race. Then it pins each state.
func TestSetEnabledToggle(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{BatchSize: 32, MaxQueueSize: 1 << 16, DropReportInterval: -1})
	ctx := context.Background()
	// Goroutine 0 toggles before each of its own records, so its records go
	// through both states whatever the scheduler does; the others log until
	// it is done. The work is fixed, not a wait for the scheduler to
	// interleave us.
	const toggles = 300
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			logger := slog.New(h).With("g", g)
			direct := logger.Handler()
			for i := 0; ; i++ {
				if g == 0 {
					if i == toggles {
						close(stop)
						return
					}
					h.SetEnabled(i%2 == 1)
				} else {
					select {
					case <-stop:
						return
					default:
					}
				}
				logger.Info("tick")
				_ = h.Enabled(ctx, slog.LevelInfo)
				_ = direct.Handle(ctx, slog.NewRecord(time.Now(), slog.LevelInfo, "direct", 0))
			}
		})
	}
	wg.Wait()
	s := h.Stats()
	assert.Positive(t, s.Dropped.Paused, "records were refused while off")
	assert.Greater(t, s.Handled, s.Dropped.Total(), "records were accepted while on")

	// Off: Enabled is false at every level, so loggers skip the record
	// entirely, and a record handed to Handle anyway is refused, counted,
	// not queued.
	h.SetEnabled(false)
	flush(t, h)
	before := h.Stats()
	exported := exp.count(t)
	assert.False(t, h.Enabled(ctx, slog.LevelError), "off: Enabled is false at every level")
	slog.New(h).Error("off")
	assert.Equal(t, before.Handled, h.Stats().Handled)
	err := h.Handle(ctx, slog.NewRecord(time.Now(), slog.LevelError, "forced", 0))
	assert.ErrorIs(t, err, ErrPaused)
	s = h.Stats()
	assert.Equal(t, before.Dropped.Paused+1, s.Dropped.Paused)
	assert.Zero(t, s.Queued)
	flush(t, h)
	assert.Equal(t, exported, exp.count(t), "nothing is queued while off")

	// On again: records flow.
	h.SetEnabled(true)
	assert.True(t, h.Enabled(ctx, slog.LevelInfo))
	slog.New(h).Error("on")
	flush(t, h)
	recs := exp.records(t)
	require.Equal(t, exported+1, len(recs), "back on: the one new record is exported")
	assert.Equal(t, "on", recs[len(recs)-1]["body"].(map[string]any)["stringValue"])
	for _, r := range recs {
		assert.NotContains(t, []string{"off", "forced"}, r["body"].(map[string]any)["stringValue"])
	}
	checkStats(t, h.Stats())
}

// TestSkippedRecordAfterResume pins the race the toggle test found: Handle
// saw export off and skipped encoding, then SetEnabled(true) came before the
// record was counted. The unencoded record must be counted as dropped, never
// queued, or the payload holds an empty element (",,").
func TestSkippedRecordAfterResume(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{DropReportInterval: -1})
	b := h.c.b
	assert.ErrorIs(t, b.refuse(), ErrPaused) // export is on again by now
	slog.New(h).Error("real")
	flush(t, h)
	s := h.Stats()
	assert.Equal(t, uint64(1), s.Dropped.Paused)
	assert.Equal(t, uint64(1), s.Exported)
	assert.Len(t, exp.records(t), 1)
	checkStats(t, s)
}

// TestNegativeMeansNoLimit: the documented "negative: no limit" of
// MaxValueLen and "negative: never" of DropReportInterval are not turned
// into the defaults.
func TestNegativeMeansNoLimit(t *testing.T) {
	o := (&HandlerOptions{MaxValueLen: -1, DropReportInterval: -1}).withDefaults()
	assert.Equal(t, -1, o.MaxValueLen)
	assert.Equal(t, time.Duration(-1), o.DropReportInterval)

	h, exp := newTestHandler(t, &HandlerOptions{MaxValueLen: -1})
	long := strings.Repeat("x", 100<<10) // past the 64 KiB default
	slog.New(h).Info("m", "s", long)
	flush(t, h)
	recs := exp.records(t)
	require.Len(t, recs, 1)
	assert.Equal(t, long, attrMap(recs[0]["attributes"])["s"])
}
