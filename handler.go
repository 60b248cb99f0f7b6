package slogotlp

import (
	"context"
	"log/slog"
	"runtime/debug"
	"slices"
	"time"
)

// HandlerOptions configures a Handler. A nil *HandlerOptions, and every zero
// field, means the default written in the field's comment.
type HandlerOptions struct {
	// Level is the minimum level exported. A *slog.LevelVar changes it at run
	// time. Default: slog.LevelInfo.
	Level slog.Leveler

	// AddSource adds code.file.path, code.line.number and code.function.name
	// from the record's caller.
	AddSource bool

	// Resource holds the resource attributes every payload carries, such as
	// service.name. Group values become nested kvlist values. They are added
	// to, and win over, what DetectResource finds.
	Resource []slog.Attr

	// NoResourceDetection sends only Resource, without DetectResource's
	// attributes.
	NoResourceDetection bool

	// ScopeName and ScopeVersion name the default instrumentation scope.
	// Default: "github.com/soliplex/slogotlp" and this module's version.
	ScopeName, ScopeVersion string

	// BatchSize is the most records in one export; a queue this long is
	// exported at once. Default: 256.
	BatchSize int

	// FlushInterval is how often queued records are exported when nothing
	// else triggers an export. Default: 30s.
	FlushInterval time.Duration

	// MaxQueueSize is the most records waiting for export; past it the
	// overflow policy drops the oldest TRACE/DEBUG record, then the oldest
	// INFO/WARN, and only when nothing else is queued the oldest
	// ERROR/FATAL. Default: 1024.
	MaxQueueSize int

	// MaxQueueBytes bounds the memory queued records hold, counted by the
	// capacity of their buffers; the same overflow policy applies. Together
	// with MaxQueueSize it is the hard bound on memory when the queue is full
	// of ERRORs; the batch in flight (at most BatchSize records and
	// MaxPayloadBytes) comes on top. Default: 16 MiB.
	MaxQueueBytes int

	// MaxPayloadBytes is the largest payload sent in one request: a batch
	// whose JSON would be larger is split, and a record that alone is larger
	// is dropped and counted. Default: 1 MiB, the relay's limit.
	MaxPayloadBytes int

	// MaxValueLen cuts string values and the message to this many bytes
	// (ending in "…"), so one huge string cannot make a record too large to
	// send. Default: 64 KiB. Negative: no limit.
	MaxValueLen int

	// ExportTimeout bounds one call to the exporter. Default: 30s.
	ExportTimeout time.Duration

	// InitialBackoff and MaxBackoff shape the retry delays: InitialBackoff
	// doubled per attempt up to MaxBackoff, each ±20% jitter. A receiver's
	// Retry-After overrides them. Defaults: 1s and 32s.
	InitialBackoff, MaxBackoff time.Duration

	// MaxRetryTime is how long a batch is retried before it is dropped and
	// counted. It does not apply while the receiver is offline (unreachable):
	// then the handler probes with backoff until it answers or Shutdown's
	// context ends. Default: 2m.
	MaxRetryTime time.Duration

	// OnError receives export errors: fatal errors, rejected records, retries
	// given up. It is called from the export goroutine and must not block for
	// long; it must not log through this handler. Errors never contain
	// credentials. Default: nil, errors are only counted in Stats.
	OnError func(error) `json:"-"`

	// StackTraces adds exception.stacktrace, captured where the record was
	// logged, to ERROR and FATAL records whose error value carries no stack
	// of its own.
	StackTraces bool

	// TrimPaths, when set, rewrites file paths in code.file.path and in
	// exception.stacktrace, e.g. to keep home directories from leaving the
	// process (see TrimPath).
	TrimPaths func(string) string `json:"-"`

	// DropReportInterval is how often the handler logs a WARN record of its
	// own counting the records dropped since the last report, if any were,
	// so drop rates show in the backend. Default: 1m. Negative: never.
	DropReportInterval time.Duration
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o *HandlerOptions) withDefaults() *HandlerOptions {
	var c HandlerOptions
	if o != nil {
		c = *o
	}
	c.Resource = slices.Clone(c.Resource)
	if !c.NoResourceDetection {
		c.Resource = mergeResource(DetectResource(), c.Resource)
	}
	if c.Level == nil {
		c.Level = slog.LevelInfo
	}
	if c.ScopeName == "" {
		c.ScopeName = "github.com/soliplex/slogotlp"
		if c.ScopeVersion == "" {
			c.ScopeVersion = moduleVersion()
		}
	}
	setDefault(&c.BatchSize, 256)
	setDefault(&c.FlushInterval, 30*time.Second)
	setDefault(&c.MaxQueueSize, 1024)
	setDefault(&c.MaxQueueBytes, 16<<20)
	setDefault(&c.MaxPayloadBytes, 1<<20)
	setDefault(&c.MaxValueLen, 64<<10)
	setDefault(&c.ExportTimeout, 30*time.Second)
	setDefault(&c.InitialBackoff, time.Second)
	setDefault(&c.MaxBackoff, 32*time.Second)
	setDefault(&c.MaxRetryTime, 2*time.Minute)
	setDefault(&c.DropReportInterval, time.Minute)
	c.BatchSize = min(c.BatchSize, c.MaxQueueSize)
	return &c
}

func setDefault[T int | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}

// moduleVersion is this library's version as the main program's build
// records it, for the default scope's version and telemetry.sdk.version.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/soliplex/slogotlp" {
				return m.Version
			}
		}
	}
	return "devel"
}

// Handler is an slog.Handler that encodes each record as an OTLP log record
// and exports it in batches from a background goroutine. Handle never waits
// on the network.
//
// Create one with NewHandler, pass it to slog.New, and call Shutdown before
// the program exits. Handlers derived with WithAttrs, WithGroup and WithScope
// share the original's queue, exporter and counters.
type Handler struct {
	c      *core
	scope  int32
	exc    error        // first error value bound with WithAttrs
	groups []groupFrame // groups[0] is the top level; one more per WithGroup
}

// groupFrame is one open group: the attributes bound at that depth,
// pre-encoded as protobuf KeyValue elements (LogRecord attributes at the
// top, KeyValueList values below).
type groupFrame struct {
	name string
	enc  []byte
	keys []string
	ends []int // ends[i] is where element i ends in enc
	// shadow is the index of the bound attribute that has the next group's
	// name, or -1. The group replaces it, but only in records where the
	// group turns out non-empty; otherwise the attribute stays.
	shadow int
}

// core is what all handlers derived from one NewHandler call share.
type core struct {
	level     slog.Leveler
	addSource bool
	stacks    bool
	maxRecord int
	enc       encoder
	b         *batcher
	scopes    *scopeRegistry
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler that exports through exp. A nil opts means
// the defaults. The handler starts its export goroutine at once; Shutdown
// stops it.
func NewHandler(exp Exporter, opts *HandlerOptions) *Handler {
	return newHandler(exp, opts, nil)
}

// newHandler is NewHandler with a hook that may adjust the batcher (the test
// seams) before its goroutine starts.
func newHandler(exp Exporter, opts *HandlerOptions, hook func(*batcher)) *Handler {
	o := opts.withDefaults()
	if exp == nil {
		exp = discardExporter{}
	}
	c := &core{
		level:     o.Level,
		addSource: o.AddSource,
		stacks:    o.StackTraces,
		enc:       encoder{maxValueLen: max(o.MaxValueLen, 0), trimPath: o.TrimPaths},
		scopes:    &scopeRegistry{},
	}
	root := c.scopes.id(o.ScopeName, o.ScopeVersion)

	fr := newFraming(wireFormatOf(exp), encodeResource(&c.enc, o.Resource))
	c.b = newBatcher(exp, o, fr, c.scopes)
	c.maxRecord = fr.maxRecord(o.MaxPayloadBytes)
	h := &Handler{c: c, scope: root, groups: []groupFrame{{shadow: -1}}}
	if o.DropReportInterval > 0 {
		c.b.report = h.reportDrops
	}
	if hook != nil {
		hook(c.b)
	}
	go c.b.run()
	return h
}

// Enabled reports whether a record at level l would be exported: one
// comparison against the Level option and the run-time switch.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.c.level.Level() && !h.c.b.paused.Load()
}

// SetEnabled switches export on or off at run time, e.g. from a config
// toggle. While off, Enabled reports false, so loggers skip building records
// at all; records that reach Handle anyway are counted as dropped.
func (h *Handler) SetEnabled(on bool) { h.c.b.paused.Store(!on) }

// Handle encodes r and queues it for export. It returns an error only when r
// was not accepted (see ErrShutdown, ErrExportFailed, ErrPaused, ErrQueueFull,
// ErrTooLarge); every such record is counted in Stats. Export errors never
// come back here: they go to OnError.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	b := h.c.b
	if b.closed.Load() || b.disabled.Load() || b.paused.Load() {
		return b.refuse()
	}
	bp := getBuffer()
	*bp = h.appendRecord((*bp)[:0], ctx, r, time.Now())
	return b.enqueue(bp, r.Level, h.scope, h.c.maxRecord)
}

// WithAttrs returns a handler whose records carry attrs, encoded once here.
// A top-level ScopeKey attribute selects the instrumentation scope instead.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	var arr [16]slog.Attr
	eff, err := collect(arr[:0], attrs, nil)
	if len(h.groups) == 1 {
		eff = slices.DeleteFunc(eff, func(a slog.Attr) bool {
			if a.Key == ScopeKey && a.Value.Kind() == slog.KindString {
				h2.scope = h.c.scopes.id(a.Value.String(), "")
				return true
			}
			return false
		})
	}
	if h2.exc == nil {
		h2.exc = err
	}
	h2.groups = slices.Clone(h.groups)
	last := &h2.groups[len(h2.groups)-1]
	nl := groupFrame{name: last.name, shadow: -1}
	start := 0
	for j, k := range last.keys {
		if !shadowed(k, eff) {
			nl.enc = append(nl.enc, last.enc[start:last.ends[j]]...)
			nl.keys = append(nl.keys, k)
			nl.ends = append(nl.ends, len(nl.enc))
		}
		start = last.ends[j]
	}
	for i, a := range eff {
		if shadowed(a.Key, eff[i+1:]) {
			continue
		}
		n := len(nl.enc)
		depth := len(h.groups) - 1
		nl.enc = h.c.enc.appendAttr(nl.enc, elemTag(depth), a, depth)
		if len(nl.enc) > n {
			nl.keys = append(nl.keys, a.Key)
			nl.ends = append(nl.ends, len(nl.enc))
		}
	}
	*last = nl
	return &h2
}

// WithGroup returns a handler that nests later attributes in a group named
// name, exported as a kvlist value (the shape the otelslog bridge uses). In
// records where the group is not empty it replaces an attribute of the same
// key bound before it.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	name = validUTF8(name)
	h2 := *h
	groups := make([]groupFrame, len(h.groups), len(h.groups)+1)
	copy(groups, h.groups)
	groups[len(groups)-1].shadow = slices.Index(groups[len(groups)-1].keys, name)
	h2.groups = append(groups, groupFrame{name: name, shadow: -1})
	return &h2
}

// Flush exports every record queued at the call and returns when that is
// done or ctx ends.
func (h *Handler) Flush(ctx context.Context) error { return h.c.b.flush(ctx) }

// Shutdown stops accepting records, exports everything queued (retrying as
// needed) until ctx ends, shuts the exporter down and returns. Records still
// queued when ctx ends are counted as dropped. It is safe to call more than
// once and from any handler derived from the same NewHandler call; no
// goroutine of the handler outlives it.
func (h *Handler) Shutdown(ctx context.Context) error { return h.c.b.shutdown(ctx) }

// Stats returns a consistent snapshot of the handler's counters.
func (h *Handler) Stats() Stats { return h.c.b.stats() }

// reportDrops logs the drops since the last report as a WARN record of the
// handler's own, so drop rates show in the backend next to the logs.
func (h *Handler) reportDrops(d DropCounts) {
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "slogotlp: log records dropped", 0)
	r.AddAttrs(slog.Uint64("otel.logs.dropped_count", d.Total()))
	for i := range numDropReasons {
		if n := *d.count(i); n > 0 {
			r.AddAttrs(slog.Uint64("otel.logs.dropped."+i.String(), n))
		}
	}
	_ = h.Handle(context.Background(), r)
}
