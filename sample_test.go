package slogotlp

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	slogmulti "github.com/samber/slog-multi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

var mwTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// mwCapture is a slog.Handler that keeps the records it gets (attrs bound
// with WithAttrs are prepended to each record's attrs; groups are ignored).
type mwCapture struct {
	mu      *sync.Mutex
	records *[]slog.Record
	bound   []slog.Attr
}

func (c *mwCapture) Enabled(context.Context, slog.Level) bool { return true }

func (c *mwCapture) Handle(_ context.Context, r slog.Record) error {
	if c.mu != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	if len(c.bound) > 0 {
		nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		nr.AddAttrs(c.bound...)
		r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(a); return true })
		r = nr
	}
	*c.records = append(*c.records, r.Clone())
	return nil
}

func (c *mwCapture) WithAttrs(as []slog.Attr) slog.Handler {
	n := *c
	n.bound = append(append([]slog.Attr(nil), c.bound...), as...)
	return &n
}

func (c *mwCapture) WithGroup(string) slog.Handler { return c }

// record makes a record at mwTime plus d.
func record(l slog.Level, d time.Duration, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(mwTime.Add(d), l, "m", 0)
	r.AddAttrs(attrs...)
	return r
}

func traceCtx(hi, lo uint64) context.Context {
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[:8], hi)
	binary.BigEndian.PutUint64(tid[8:], lo)
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

func TestSampleRates(t *testing.T) {
	const n = 100_000
	rates := map[slog.Level]float64{-8: 0.05, slog.LevelDebug: 0.1, slog.LevelInfo: 0.5, slog.LevelWarn: 0.9}
	s := NewSampler(&SampleOptions{Rates: rates, Seed: 42})
	var got []slog.Record
	h := s.Middleware()(&mwCapture{records: &got})
	ctx := context.Background()
	total := 0
	for lvl, want := range rates {
		got = got[:0]
		for range n {
			require.NoError(t, h.Handle(ctx, record(lvl, 0)))
		}
		total += n
		// 5 standard deviations of a binomial: a fair sampler fails this
		// about once in 3 million runs, and the seed is fixed anyway.
		tol := 5 * math.Sqrt(want*(1-want)/n)
		assert.InDelta(t, want, float64(len(got))/n, tol, "level %v", lvl)
	}
	st := s.Stats()
	assert.Equal(t, uint64(total), st.Seen)
	assert.Equal(t, st.Seen, st.Kept+st.DroppedRate+st.DroppedLimit)
	assert.Equal(t, st.DroppedRate, st.Dropped())
	assert.Zero(t, st.DroppedLimit)
}

func TestSampleDeterministicSeed(t *testing.T) {
	run := func(seed uint64) []bool {
		s := NewSampler(&SampleOptions{Rates: map[slog.Level]float64{slog.LevelInfo: 0.5}, Seed: seed})
		var got []slog.Record
		h := s.Middleware()(&mwCapture{records: &got})
		out := make([]bool, 200)
		for i := range out {
			before := len(got)
			_ = h.Handle(context.Background(), record(slog.LevelInfo, 0))
			out[i] = len(got) > before
		}
		return out
	}
	assert.Equal(t, run(7), run(7))
	assert.NotEqual(t, run(7), run(8))
}

func TestSampleErrorNeverDropped(t *testing.T) {
	s := NewSampler(&SampleOptions{
		Rates: map[slog.Level]float64{-8: 0, slog.LevelDebug: 0, slog.LevelInfo: 0, slog.LevelWarn: 0},
		Limit: 1, Burst: 1,
	})
	var got []slog.Record
	h := s.Middleware()(&mwCapture{records: &got})
	for _, l := range []slog.Level{slog.LevelError, slog.LevelError + 2, 12} {
		for range 1000 {
			require.NoError(t, h.Handle(context.Background(), record(l, 0)))
		}
	}
	for range 1000 {
		require.NoError(t, h.Handle(context.Background(), record(slog.LevelWarn, 0)))
	}
	assert.Len(t, got, 3000)
	assert.Equal(t, SampleStats{Seen: 4000, Kept: 3000, DroppedRate: 1000}, s.Stats())
}

func TestSampleTraceConsistency(t *testing.T) {
	rates := map[slog.Level]float64{slog.LevelDebug: 0.1, slog.LevelInfo: 0.3}
	s := NewSampler(&SampleOptions{Rates: rates})
	var got []slog.Record
	h := s.Middleware()(&mwCapture{records: &got})
	keptTraces := 0
	const traces = 20_000
	for i := range uint64(traces) {
		ctx := traceCtx(i, splitmix(i))
		got = got[:0]
		for range 5 {
			_ = h.Handle(ctx, record(slog.LevelInfo, 0))
		}
		require.Contains(t, []int{0, 5}, len(got), "a trace's records are kept or dropped together")
		info := len(got) == 5
		for range 5 {
			_ = h.Handle(ctx, record(slog.LevelDebug, 0))
		}
		if len(got) == 10 {
			assert.True(t, info, "a trace kept at DEBUG's lower rate is kept at INFO too")
		}
		if info {
			keptTraces++
		}
	}
	assert.InDelta(t, 0.3, float64(keptTraces)/traces, 5*math.Sqrt(0.3*0.7/traces))

	// The same trace id decides the same way in a fresh sampler, whatever its seed.
	a := NewSampler(&SampleOptions{Rates: rates, Seed: 1})
	b := NewSampler(&SampleOptions{Rates: rates, Seed: 2})
	for i := range uint64(200) {
		ctx := traceCtx(0, splitmix(i))
		assert.Equal(t, a.keepRate(ctx, 2), b.keepRate(ctx, 2))
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func TestSampleBurstAndCap(t *testing.T) {
	s := NewSampler(&SampleOptions{Limit: 10, Burst: 5, LimitKey: "logger"})
	var got []slog.Record
	next := &mwCapture{records: &got}
	h := s.Middleware()(next)
	api := h.WithAttrs([]slog.Attr{slog.String("logger", "api")})
	db := h.WithAttrs([]slog.Attr{slog.String("logger", "db")})

	// 100 records in the same instant: only the burst passes, per logger.
	for range 100 {
		_ = api.Handle(context.Background(), record(slog.LevelInfo, 0))
		_ = db.Handle(context.Background(), record(slog.LevelInfo, 0))
	}
	assert.Len(t, got, 10)
	// One second later 10 tokens came back, capped at the burst of 5.
	got = got[:0]
	for range 100 {
		_ = api.Handle(context.Background(), record(slog.LevelInfo, time.Second))
	}
	assert.Len(t, got, 5)
	// Sustained: one record every 100ms for 10s passes at 10/s.
	got = got[:0]
	for i := range 100 {
		_ = api.Handle(context.Background(), record(slog.LevelInfo, 2*time.Second+time.Duration(i)*100*time.Millisecond))
	}
	assert.Len(t, got, 100)
	// Twice the rate: half of them pass (plus the refilled burst).
	got = got[:0]
	for i := range 200 {
		_ = db.Handle(context.Background(), record(slog.LevelInfo, 20*time.Second+time.Duration(i)*50*time.Millisecond))
	}
	assert.InDelta(t, 105, len(got), 2)
	st := s.Stats()
	assert.Equal(t, st.Seen-st.Kept, st.DroppedLimit)
	assert.Zero(t, st.DroppedRate)
	// ERROR passes an empty bucket.
	got = got[:0]
	web := h.WithAttrs([]slog.Attr{slog.String("logger", "web")})
	for range 6 {
		_ = web.Handle(context.Background(), record(slog.LevelInfo, 0))
	}
	_ = web.Handle(context.Background(), record(slog.LevelError, 0))
	require.Len(t, got, 6)
	assert.Equal(t, slog.LevelError, got[5].Level)
}

func TestSampleLimitKeys(t *testing.T) {
	s := NewSampler(&SampleOptions{
		Limit:      1,
		Limits:     map[string]LoggerLimit{"noisy": {Limit: 1, Burst: 2}, "free": {}},
		MaxLoggers: 3,
	})
	var got []slog.Record
	h := s.Middleware()(&mwCapture{records: &got})
	send := func(h slog.Handler, n int, attrs ...slog.Attr) int {
		got = got[:0]
		for range n {
			_ = h.Handle(context.Background(), record(slog.LevelInfo, 0, attrs...))
		}
		return len(got)
	}
	scope := func(v string) slog.Attr { return slog.String(ScopeKey, v) }
	assert.Equal(t, 1, send(h, 10), "records without the key share the bucket of \"\"")
	assert.Equal(t, 2, send(h, 10, scope("noisy")), "the key is found among the record's attrs")
	assert.Equal(t, 10, send(h, 10, scope("free")), "a zero Limit means no cap")
	assert.Equal(t, 0, send(h.WithAttrs([]slog.Attr{scope("noisy"), slog.Int("x", 1)}), 10), "a bound key shares the named bucket, drained above")
	assert.Equal(t, 10, send(h.WithAttrs([]slog.Attr{scope("free")}), 10))
	// Inside a group the key is not top-level, so the record falls in "".
	assert.Equal(t, 0, send(h.WithGroup("g").WithAttrs([]slog.Attr{scope("new")}), 5))
	// MaxLoggers: "" and "noisy" hold 2 of 3 buckets; "a" takes the last;
	// "b" and "c" then share the overflow bucket.
	assert.Equal(t, 1, send(h, 5, scope("a")))
	assert.Equal(t, 1, send(h, 5, scope("b")))
	assert.Equal(t, 0, send(h, 5, scope("c")))
	assert.LessOrEqual(t, len(s.buckets), 3)
	assert.Same(t, h, h.WithGroup(""))
	assert.Same(t, h, h.WithAttrs(nil))
}

func TestSampleOptionsEdges(t *testing.T) {
	s := NewSampler(&SampleOptions{Rates: map[slog.Level]float64{
		slog.LevelInfo: math.NaN(), slog.LevelDebug: 2, slog.LevelWarn: -1, -8: 0.9999999999999999, 1: 0,
	}})
	assert.True(t, s.keepAll[2], "NaN keeps all")
	assert.True(t, s.keepAll[1], "above 1 keeps all")
	assert.False(t, s.keepAll[3])
	assert.Zero(t, s.thresholds[3], "below 0 keeps none")
	assert.False(t, s.keepAll[0])
	assert.Greater(t, s.thresholds[0], uint64(math.MaxUint64-1<<12), "a rate just below 1 keeps almost all")
	var got []slog.Record
	h := Sample(nil)(&mwCapture{records: &got})
	var nilCtx context.Context // a nil context must not panic
	for l := slog.Level(-10); l < 14; l++ {
		_ = h.Handle(nilCtx, record(l, 0))
	}
	assert.Len(t, got, 24, "nil options keep everything")
	half := NewSampler(&SampleOptions{Rates: map[slog.Level]float64{slog.LevelInfo: 0.5}}).Middleware()(&mwCapture{records: &got})
	assert.NotPanics(t, func() { _ = half.Handle(nilCtx, record(slog.LevelInfo, 0)) })
	assert.True(t, h.Enabled(context.Background(), slog.LevelDebug))

	// A zero record time falls back to the wall clock. One token in eleven
	// days: the second record finds the bucket empty however long the
	// machine takes between the two.
	s = NewSampler(&SampleOptions{Limit: 1e-6, Burst: 1})
	h = s.Middleware()(&mwCapture{records: &got})
	_ = h.Handle(context.Background(), slog.NewRecord(time.Time{}, slog.LevelInfo, "m", 0))
	_ = h.Handle(context.Background(), slog.NewRecord(time.Time{}, slog.LevelInfo, "m", 0))
	assert.Equal(t, uint64(1), s.Stats().DroppedLimit)
}

func TestSampleConcurrent(t *testing.T) {
	s := NewSampler(&SampleOptions{Rates: map[slog.Level]float64{slog.LevelInfo: 0.5}, Limit: 1e6, LimitKey: "logger"})
	var mu sync.Mutex
	var got []slog.Record
	log := slog.New(slogmulti.Pipe(Redact(nil), s.Middleware()).Handler(&mwCapture{records: &got, mu: &mu}))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With("logger", i%3)
			for range 500 {
				l.Info("x")
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	assert.Equal(t, uint64(4000), st.Seen)
	assert.Equal(t, int(st.Kept), len(got))
}

// Benchmarks: the same records through the bare handler, the redactor, the
// sampler and both, in front of slog.NewJSONHandler(io.Discard, nil).
func benchLog(b *testing.B, h slog.Handler, clean bool) {
	log := slog.New(h).With("service", "api")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if clean {
			log.LogAttrs(ctx, slog.LevelInfo, "request handled",
				slog.String("method", "GET"), slog.String("path", "/api/v1/items"),
				slog.Int("status", 200), slog.Duration("took", time.Millisecond))
		} else {
			log.LogAttrs(ctx, slog.LevelInfo, "login for jane@example.com",
				slog.String("method", "POST"), slog.String("client", "203.0.113.9"),
				slog.Int("status", 401), slog.String("password", "x"))
		}
	}
}

func BenchmarkRedactSample(b *testing.B) {
	bare := func() slog.Handler { return slog.NewJSONHandler(io.Discard, nil) }
	rd, err := NewRedactor(nil)
	require.NoError(b, err)
	for _, clean := range []bool{true, false} {
		name := "clean"
		if !clean {
			name = "pii"
		}
		b.Run(name+"/bare", func(b *testing.B) { benchLog(b, bare(), clean) })
		b.Run(name+"/redact", func(b *testing.B) { benchLog(b, rd.Middleware()(bare()), clean) })
		b.Run(name+"/sample", func(b *testing.B) {
			benchLog(b, NewSampler(&SampleOptions{Rates: map[slog.Level]float64{slog.LevelInfo: 1}, Limit: 1e9}).Middleware()(bare()), clean)
		})
		b.Run(name+"/sample50", func(b *testing.B) {
			benchLog(b, NewSampler(&SampleOptions{Rates: map[slog.Level]float64{slog.LevelInfo: 0.5}}).Middleware()(bare()), clean)
		})
		b.Run(name+"/redact+sample", func(b *testing.B) {
			benchLog(b, slogmulti.Pipe(rd.Middleware(), Sample(&SampleOptions{Limit: 1e9})).Handler(bare()), clean)
		})
	}
}
