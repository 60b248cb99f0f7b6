package slogotlp

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// SampleOptions configures a Sampler. A nil or zero SampleOptions keeps
// every record.
type SampleOptions struct {
	// Rates maps a level to the fraction of its records kept, from 0 (none) to
	// 1 (all). Records are bucketed by level: below DEBUG (-4) uses the key
	// -8 (TRACE), DEBUG..INFO-1 uses slog.LevelDebug, INFO..WARN-1 uses
	// slog.LevelInfo, WARN..ERROR-1 uses slog.LevelWarn; other keys are
	// ignored. ERROR and above (FATAL included) are always kept, whatever the
	// rates and limits. Default: 1 for every level.
	Rates map[slog.Level]float64

	// Seed makes sampling of records without a trace id reproducible: the same
	// seed and the same sequence of records give the same decisions. Default
	// (0): seeded at random. Records whose context holds a span context are
	// sampled by their trace id instead, so a trace's records are kept or
	// dropped together whatever the seed.
	Seed uint64

	// Limit caps each logger at this many records per second (after the rate
	// decision), with bursts up to Burst, using one token bucket per logger.
	// Default (0): no cap.
	Limit float64

	// Burst is the size of each logger's bucket. Default: max(1, Limit).
	Burst int

	// Limits overrides Limit and Burst for named loggers.
	Limits map[string]LoggerLimit

	// LimitKey is the attribute whose value names the logger for Limit, taken
	// from attributes bound with Logger.With (outside any group) or from the
	// record's own top-level attributes. Default: "otel.scope.name".
	// Records without it share the bucket of the logger named "".
	LimitKey string

	// MaxLoggers bounds the number of token buckets; records of loggers
	// first seen after the bound share one overflow bucket. Default: 1024.
	MaxLoggers int
}

// LoggerLimit is the cap of one named logger.
type LoggerLimit struct {
	// Limit is the records per second the logger may pass; 0 means no cap.
	Limit float64
	// Burst is the bucket size. Default: max(1, Limit).
	Burst int
}

// SampleStats counts what a Sampler did, by reason. Every record it was
// given is counted once: Seen = Kept + DroppedRate + DroppedLimit.
type SampleStats struct {
	// Seen is the number of records offered to the sampler.
	Seen uint64
	// Kept is the number passed on to the next handler.
	Kept uint64
	// DroppedRate is the number dropped by the level rate decision.
	DroppedRate uint64
	// DroppedLimit is the number dropped because a logger's bucket was empty.
	DroppedLimit uint64
}

// Dropped is the total of records the sampler dropped.
func (s SampleStats) Dropped() uint64 { return s.DroppedRate + s.DroppedLimit }

// A Sampler thins out low-severity records before an expensive handler, and
// counts what it drops. It is safe for concurrent use, and one Sampler may
// serve many handlers; their counts add up in Stats.
type Sampler struct {
	thresholds [4]uint64 // keep when randomness < threshold; index by bucket
	keepAll    [4]bool
	limitKey   string
	limit      LoggerLimit
	limits     map[string]LoggerLimit
	maxLoggers int

	ctr atomic.Uint64 // splitmix64 state for records without a trace id

	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	overflow *rate.Limiter

	seen, droppedRate, droppedLimit atomic.Uint64
}

// NewSampler builds a Sampler from opts; out-of-range rates are clamped to
// [0, 1] (NaN counts as 1).
func NewSampler(opts *SampleOptions) *Sampler {
	var o SampleOptions
	if opts != nil {
		o = *opts
	}
	s := &Sampler{
		limitKey:   o.LimitKey,
		limit:      LoggerLimit{Limit: o.Limit, Burst: o.Burst},
		maxLoggers: o.MaxLoggers,
		buckets:    map[string]*rate.Limiter{},
	}
	if s.limitKey == "" {
		s.limitKey = ScopeKey
	}
	if s.maxLoggers <= 0 {
		s.maxLoggers = 1024
	}
	if len(o.Limits) > 0 {
		s.limits = make(map[string]LoggerLimit, len(o.Limits))
		for k, v := range o.Limits {
			s.limits[k] = v
		}
	}
	for i := range s.keepAll {
		s.keepAll[i] = true
	}
	for lvl, r := range o.Rates {
		b := levelBucket(lvl)
		if b < 0 || lvl != bucketLevels[b] {
			continue
		}
		switch {
		case math.IsNaN(r) || r >= 1:
			s.keepAll[b] = true
		case r <= 0:
			s.keepAll[b], s.thresholds[b] = false, 0
		default:
			s.keepAll[b], s.thresholds[b] = false, uint64(r*(1<<64))
		}
	}
	seed := o.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	s.ctr.Store(seed)
	return s
}

var bucketLevels = [4]slog.Level{-8, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn}

// levelBucket returns the rate bucket of l, or -1 for ERROR and above.
func levelBucket(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return -1
	case l >= slog.LevelWarn:
		return 3
	case l >= slog.LevelInfo:
		return 2
	case l >= slog.LevelDebug:
		return 1
	default:
		return 0
	}
}

// Stats returns the counts so far.
func (s *Sampler) Stats() SampleStats {
	st := SampleStats{
		Seen:         s.seen.Load(),
		DroppedRate:  s.droppedRate.Load(),
		DroppedLimit: s.droppedLimit.Load(),
	}
	st.Kept = st.Seen - st.DroppedRate - st.DroppedLimit
	return st
}

// Middleware returns the sampler as slog middleware: Middleware()(next)
// wraps next so that records pass through the sampler.
func (s *Sampler) Middleware() func(slog.Handler) slog.Handler {
	return func(next slog.Handler) slog.Handler {
		return &sampleHandler{s: s, next: next}
	}
}

// Sample returns a middleware around a new Sampler; use NewSampler when
// you want its Stats.
func Sample(opts *SampleOptions) func(slog.Handler) slog.Handler {
	return NewSampler(opts).Middleware()
}

// random returns the next value of the seeded sequence (splitmix64).
func (s *Sampler) random() uint64 {
	z := s.ctr.Add(0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// keepRate makes the level rate decision.
func (s *Sampler) keepRate(ctx context.Context, b int) bool {
	if s.keepAll[b] {
		return true
	}
	th := s.thresholds[b]
	if th == 0 {
		return false
	}
	var rnd uint64
	if sc := spanContext(ctx); sc.HasTraceID() {
		tid := sc.TraceID()
		rnd = binary.BigEndian.Uint64(tid[8:])
	} else {
		rnd = s.random()
	}
	return rnd < th
}

func spanContext(ctx context.Context) trace.SpanContext {
	if ctx == nil {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(ctx)
}

// bucket returns the token bucket of the named logger, or nil when it has no
// cap.
func (s *Sampler) bucket(name string) *rate.Limiter {
	lim, ok := s.limits[name]
	if !ok {
		lim = s.limit
	}
	if lim.Limit <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.buckets[name]; l != nil {
		return l
	}
	if len(s.buckets) >= s.maxLoggers {
		if s.overflow == nil {
			s.overflow = newLimiter(lim)
		}
		return s.overflow
	}
	l := newLimiter(lim)
	s.buckets[name] = l
	return l
}

func newLimiter(lim LoggerLimit) *rate.Limiter {
	burst := lim.Burst
	if burst <= 0 {
		burst = max(1, int(math.Min(lim.Limit, math.MaxInt32)))
	}
	l := lim.Limit
	if l <= 0 {
		l = 1
	}
	return rate.NewLimiter(rate.Limit(l), burst)
}

// sampleHandler is the middleware around next. bound is the logger's token
// bucket when its LimitKey value was bound with WithAttrs.
type sampleHandler struct {
	s       *Sampler
	next    slog.Handler
	bound   *rate.Limiter
	named   bool // LimitKey was bound: bound is final (nil = no cap)
	grouped bool // a group is open: record attrs are not top-level
}

var _ slog.Handler = (*sampleHandler)(nil)

func (h *sampleHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *sampleHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	c.next = h.next.WithAttrs(attrs)
	if !h.grouped {
		if i := slices.IndexFunc(attrs, func(a slog.Attr) bool { return a.Key == h.s.limitKey }); i >= 0 {
			c.named = true
			c.bound = h.s.bucket(attrs[i].Value.Resolve().String())
		}
	}
	return &c
}

func (h *sampleHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.grouped = true
	return &c
}

func (h *sampleHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.s
	s.seen.Add(1)
	b := levelBucket(r.Level)
	if b < 0 {
		return h.next.Handle(ctx, r)
	}
	if !s.keepRate(ctx, b) {
		s.droppedRate.Add(1)
		return nil
	}
	if l := h.limiter(r); l != nil {
		now := r.Time
		if now.IsZero() {
			now = time.Now()
		}
		if !l.AllowN(now, 1) {
			s.droppedLimit.Add(1)
			return nil
		}
	}
	return h.next.Handle(ctx, r)
}

// limiter finds the record's token bucket: the bound one, else one named by a
// top-level record attribute, else the bucket of "".
func (h *sampleHandler) limiter(r slog.Record) *rate.Limiter {
	if h.named {
		return h.bound
	}
	if h.s.limit.Limit <= 0 && len(h.s.limits) == 0 {
		return nil
	}
	name := ""
	if !h.grouped {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == h.s.limitKey {
				name = a.Value.Resolve().String()
				return false
			}
			return true
		})
	}
	return h.s.bucket(name)
}
