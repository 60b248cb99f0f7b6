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

	// ConcurrentExports is how many export requests may be in flight at
	// once. Records of one request arrive in the order they were logged;
	// with more than one, requests may complete out of order, so a receiver
	// can store a later batch before an earlier one (each record keeps its
	// own timestamp). While a request is being retried no other starts, so
	// a failing receiver is not hammered. Default: 2 for this package's
	// HTTP exporters (NewHTTPExporter, NewLogfireExporter, NewProxyExporter),
	// which are safe for concurrent use and which bench/RESULTS.md measured
	// lossless at a higher rate with two; 1 for any other Exporter, which is
	// then never called concurrently.
	ConcurrentExports int

	// FlushInterval is how often queued records are exported when nothing
	// else triggers an export. Default: 30s.
	FlushInterval time.Duration

	// MaxQueueSize is the most records waiting for export; what happens
	// past it is the Overflow policy's choice. It is the headroom for a
	// stall: at R records/s the queue absorbs MaxQueueSize/R seconds (a
	// quarter of a second at 60k/s, about 4 MiB of typical records).
	// Default: 16384.
	MaxQueueSize int

	// MaxQueueBytes bounds the memory queued records hold, counted by the
	// capacity of their buffers (a record is kept in a buffer of 256 or 512
	// bytes when it fits); the same Overflow policy applies. Together
	// with MaxQueueSize it is the hard bound on memory when the queue is full
	// of ERRORs; the batches in flight (ConcurrentExports of at most
	// BatchSize records and MaxPayloadBytes each) come on top. Default: 16 MiB.
	MaxQueueBytes int

	// Overflow is what Handle does when the queue is full: OverflowDrop
	// (the default) drops the oldest record of the lowest severity queued
	// and never waits; OverflowBlock waits up to BlockTimeout for room, so
	// that a slow receiver slows the program instead of losing records.
	Overflow Overflow

	// BlockTimeout bounds one Handle call's wait for room under
	// OverflowBlock. Default: 5s.
	BlockTimeout time.Duration

	// MaxPayloadBytes is the largest payload sent in one request: a batch
	// whose JSON would be larger is split, and a record that alone is larger
	// is dropped and counted. Default: 1 MiB, the relay's limit.
	MaxPayloadBytes int

	// MaxValueLen cuts string values and the message to this many bytes
	// (ending in "…"), so one huge string cannot make a record too large to
	// send. Default: 64 KiB. Negative: no limit.
	MaxValueLen int

	// ExportTimeout bounds one export request, from sending to reading the
	// answer; it is the only per-request timeout (HTTPExporterOptions.Timeout
	// is unset by default). NewFromEnv takes the first set of this field,
	// OTEL_EXPORTER_OTLP_LOGS_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT and
	// OTEL_BLRP_EXPORT_TIMEOUT. Default: 30s.
	ExportTimeout time.Duration

	// ShutdownTimeout bounds Shutdown when its context has no deadline (as
	// with context.Background()), so a program always exits: what is still
	// queued then is counted as dropped. Default: 10s.
	ShutdownTimeout time.Duration

	// InitialBackoff and MaxBackoff shape the retry delays: InitialBackoff
	// doubled per attempt up to MaxBackoff, each ±20% jitter. A receiver's
	// Retry-After overrides them. Defaults: 1s and 32s.
	InitialBackoff, MaxBackoff time.Duration

	// MaxRetryTime is how long a batch is retried before it is dropped and
	// counted. It does not apply while the receiver is offline (unreachable):
	// then the handler probes with backoff until it answers or Shutdown
	// begins; Shutdown gives up at the first attempt that finds the receiver
	// unreachable and does not wait past its deadline for a retry.
	// Default: 2m.
	MaxRetryTime time.Duration

	// OnError hears every export failure, each as one error that says what
	// happened and what to do: the receiver unreachable or failing (once
	// when it starts, once when it works again), records dropped after
	// retries, refused (a 4xx, a redirect that would lose the body), partly
	// rejected, too large or dropped for lack of queue room, a fatal error
	// that stops export, and at Shutdown the DeliveryError if records were
	// lost; with a spool, why it could not be opened, written or read, and
	// how many records Shutdown left in it. Each kind is reported at most once a minute, the next report
	// saying how many were held back, so an outage is a few calls.
	// Calls come one at a time from the handler's own goroutines; OnError
	// may log through the handler (those records are never waited for) but
	// should return soon. Errors never contain credentials. Default: one
	// line per report on os.Stderr.
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
	// so drop rates show in the backend; Shutdown sends a last one. A report
	// that is itself lost is counted, and its counts go into the next one
	// (or into Shutdown's DeliveryError). Default: 1m. Negative: never.
	DropReportInterval time.Duration

	// ReplaceAttr rewrites or drops each attribute before it is exported,
	// with the signature and rules of slog.HandlerOptions.ReplaceAttr, so the
	// function an application gives slog.JSONHandler serves here too: it is
	// called for every non-group attribute, bound (once, in With) or the
	// record's own or from AttrFromContext, with its value resolved and the
	// names of the groups that hold it (the slice must not be kept or
	// changed); it is never called for a group, only for its members; a zero
	// Attr back drops the attribute. Of slog's built-in keys only the source
	// exists here (time, level and message are LogRecord fields): with
	// AddSource it is offered once per record as slog.SourceKey with a
	// *slog.Source, which costs one allocation. The exception and Logfire
	// attributes derive from what ReplaceAttr leaves: a dropped error value
	// gives no exception. ReplaceAttr runs on the logging goroutine and must
	// be safe for concurrent use. Default: nil.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr `json:"-"`

	// AttrFromContext lists functions that take attributes from the context
	// passed to the log call, such as a request id or baggage: the
	// convention of the samber/slog-* handlers. Their attributes are the
	// record's own, at the top level (in no WithGroup group), after the
	// bound ones and before the log call's; a nil context skips them.
	AttrFromContext []func(ctx context.Context) []slog.Attr `json:"-"`

	// AttributeCountLimit is the most attributes a record keeps in its own
	// list, OpenTelemetry's LogRecord attribute count limit
	// (OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT through NewFromEnv). Members of
	// groups, lists and maps do not count. The derived attributes come
	// first (source, exception, Logfire's), then the bound ones, those from
	// the context and the record's own in order; the ones past the limit are
	// left out and counted in the record's droppedAttributesCount. Default:
	// 128, the specification's. Negative: no limit.
	AttributeCountLimit int

	// AttributeValueLengthLimit cuts every attribute's string values (at any
	// depth, in lists and maps too) to this many characters and its bytes
	// values to this many bytes, with no marker, as OpenTelemetry's
	// attribute value length limit does
	// (OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT through NewFromEnv). The
	// message is exempt. MaxValueLen applies after it, in bytes and with
	// its "…", to strings and the message alike; the stricter of the two
	// shapes a value. Default: 0, no limit.
	AttributeValueLengthLimit int

	// LogfireAttributes adds what Pydantic Logfire reads to show a record as
	// it shows one from its own Python SDK: logfire.msg, the message (Logfire
	// fills its message column from it and keeps it out of the attributes),
	// and with AddSource the source location also under the names Logfire's
	// Python SDK sends (code.filepath, code.lineno, code.function). Leave it
	// off for other backends, which would store the message twice.
	LogfireAttributes bool

	// SpoolDir, when set, turns on the disk spool: records the receiver
	// could not take are kept in this directory, across outages and
	// restarts, and sent when it answers again, before newer ones and
	// oldest first (at the next start, or as soon as it answers). What goes
	// there: the records still queued or in flight when Shutdown's deadline
	// nears, and the batches the Overflow policy would otherwise evict while
	// the receiver is unreachable or failing. Records the receiver refused,
	// a fatal error, or too large to send are never spooled, and with the
	// receiver up nothing is written. Delivery from the spool is
	// at-least-once: a crash between the receiver's answer and the file's
	// removal sends that payload again.
	//
	// The directory is created (mode 0700) if missing, must belong to this
	// user and not be writable by others; each destination gets a
	// sub-directory named by a keyed hash of its endpoint and credentials,
	// so programs with different receivers or tokens can share one
	// directory without sending each other's records (two processes with
	// the same destination share its sub-directory safely). Files are
	// mode 0600. Destinations that write to a local stream (a
	// ConsoleExporter, a WriterExporter) have no spool. If the spool cannot
	// be opened (or on js/wasm, wasip1 and Windows, which lack the file
	// locks it needs) OnError hears why, once, and records stay in memory
	// as without it. NewFromEnv reads SLOGOTLP_SPOOL_DIR. Default: "", no
	// spool.
	SpoolDir string

	// SpoolMaxBytes bounds each destination's spool on disk. To make room
	// the oldest files of the lowest severity go first, never one of a
	// higher severity than the records that need the room; every record
	// given up is counted (Stats.SpoolEvicted, Dropped.SpoolFailed).
	// NewFromEnv reads SLOGOTLP_SPOOL_MAX_BYTES. Default: 64 MiB.
	SpoolMaxBytes int64

	// SpoolMaxAge, when positive, removes spooled payloads older than this
	// unsent (counted in Stats.SpoolEvicted), for receivers that refuse old
	// records anyway: Logfire rejects records more than 24 hours old. The
	// others are sent whatever their age. NewFromEnv reads
	// SLOGOTLP_SPOOL_MAX_AGE ("24h"). Default: 0, no limit.
	SpoolMaxAge time.Duration
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
	setDefault(&c.MaxQueueSize, 16384)
	setDefault(&c.MaxQueueBytes, 16<<20)
	setDefault(&c.BlockTimeout, 5*time.Second)
	setDefault(&c.MaxPayloadBytes, 1<<20)
	if c.MaxValueLen == 0 { // negative: no limit
		c.MaxValueLen = 64 << 10
	}
	setDefault(&c.ExportTimeout, 30*time.Second)
	setDefault(&c.ShutdownTimeout, 10*time.Second)
	setDefault(&c.InitialBackoff, time.Second)
	setDefault(&c.MaxBackoff, 32*time.Second)
	setDefault(&c.MaxRetryTime, 2*time.Minute)
	if c.DropReportInterval == 0 { // negative: never
		c.DropReportInterval = time.Minute
	}
	c.BatchSize = min(c.BatchSize, c.MaxQueueSize)
	setDefault(&c.SpoolMaxBytes, defaultSpoolBytes)
	return &c
}

func setDefault[T int | int64 | time.Duration](p *T, def T) {
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
	exc    error        // last error value bound with WithAttrs
	event  string       // last EventNameKey value bound with WithAttrs
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
	// dropped counts the bound attributes left out of every record: at the
	// top level, those with an empty key.
	dropped int
}

// core is what all handlers derived from one NewHandler call share.
type core struct {
	level     slog.Leveler
	addSource bool
	stacks    bool
	enc       encoder
	scopes    *scopeRegistry
	// dests are the destinations, each with its own batcher (destination.go).
	dests []destination
	// b and maxRecord are the first destination's, the only one of a handler
	// made by NewHandler: the single-destination path and the tests use them
	// directly. b is nil for a handler with no destination.
	b         *batcher
	maxRecord int
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler that exports through exp. A nil opts means
// the defaults. The handler starts its export goroutine at once; Shutdown
// stops it. NewMultiHandler sends to several exporters at once.
func NewHandler(exp Exporter, opts *HandlerOptions) *Handler {
	return newHandler(exp, opts, nil)
}

// newHandler is NewHandler with a hook that may adjust the batcher (the test
// seams) before its goroutine starts.
func newHandler(exp Exporter, opts *HandlerOptions, hook func(*batcher)) *Handler {
	return newMultiHandler([]Destination{{Name: "default", Exporter: exp}}, opts, hook)
}

// Enabled reports whether a record at level l would be exported: one
// comparison against the Level option and the run-time switch. A handler
// with no destination is never enabled.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	b := h.c.b
	return l >= h.c.level.Level() && b != nil && !b.paused.Load()
}

// SetEnabled switches export on or off at run time, e.g. from a config
// toggle, for every destination. While off, Enabled reports false, so
// loggers skip building records at all; records that reach Handle anyway are
// counted as dropped.
func (h *Handler) SetEnabled(on bool) {
	for i := range h.c.dests {
		h.c.dests[i].b.paused.Store(!on)
		if !on {
			h.c.dests[i].b.wakeWaiters() // Handle never waits for room while off
		}
	}
}

// Handle encodes r and queues it for export. It returns an error only when r
// was not accepted (see ErrShutdown, ErrExportFailed, ErrPaused, ErrQueueFull,
// ErrTooLarge); every such record is counted in Stats. Export errors never
// come back here: they go to OnError. With several destinations, r is
// encoded once and queued for each; Handle returns nil when at least one
// accepted it. It waits only under OverflowBlock, for room in a full queue,
// at most BlockTimeout.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	c := h.c
	if len(c.dests) != 1 || c.dests[0].level != nil {
		return h.handleEach(ctx, r)
	}
	b := c.b
	if b.closed.Load() || b.disabled.Load() || b.paused.Load() {
		return b.refuse()
	}
	bp := getBuffer()
	*bp = h.appendRecord((*bp)[:0], ctx, r, time.Now())
	return b.enqueue(bp, r.Level, h.scope, c.maxRecord)
}

// WithAttrs returns a handler whose records carry attrs, encoded once here.
// A top-level ScopeKey attribute selects the instrumentation scope instead;
// an EventNameKey attribute names the records' event.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.withAttrs(attrs)
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

// Flush exports every record queued at the call and returns when each has
// been delivered or dropped (or, with a spool, moved to disk), or when ctx
// ends; spooled payloads being restored go first. Destinations are flushed
// in parallel: a slow one does not hold up the others, and Flush returns
// when all are done.
func (h *Handler) Flush(ctx context.Context) error {
	return h.eachDestination(func(b *batcher) error { return b.flush(ctx) })
}

// Shutdown stops accepting records, exports everything queued (retrying as
// needed), shuts the exporters down and returns. It returns by ctx's
// deadline, or within ShutdownTimeout (default 10s) if ctx has none, even
// when a receiver never answers or asks to be retried later
// (Retry-After); it gives up at the first attempt that finds a receiver
// unreachable. Records still queued then are counted as dropped; with a
// spool (HandlerOptions.SpoolDir) they are written to disk instead, the
// exports being cut off early enough to do so (10ms before the deadline
// per batch left, at most half the time). Destinations shut down in
// parallel.
//
// It returns nil if every record handled was delivered or spooled, and
// otherwise a *DeliveryError (per destination, named, when there are several) naming
// how many were lost, why, and the last failure, e.g. "slogotlp: 3 of 3
// records dropped (shutdown 3): could not reach https://...: connection
// refused" (OnError hears it too). Records dropped while export was switched
// off with SetEnabled(false) do not count.
//
// It is safe to call more than once (every call returns the first one's
// result) and from any handler derived from the same NewHandler call; no
// goroutine of the handler outlives it.
func (h *Handler) Shutdown(ctx context.Context) error {
	return h.eachDestination(func(b *batcher) error { return b.shutdown(ctx) })
}

// Stats returns a consistent snapshot of the handler's counters: with
// several destinations, their sum (see DestinationStats).
func (h *Handler) Stats() Stats {
	if len(h.c.dests) == 1 {
		return h.c.b.stats()
	}
	s := Stats{Paused: len(h.c.dests) > 0} // Paused when every destination is
	for _, d := range h.DestinationStats() {
		s = s.plus(d.Stats)
	}
	return s
}

// sendDropReport queues a WARN record of the handler's own counting the
// drops of destination origin since its last delivered report, for every
// destination that takes WARN records, so drop rates show in the backends
// next to the logs. shown names the origin when the handler has several.
// t follows the copies: the report counts as delivered when one copy was.
func (h *Handler) sendDropReport(origin int, shown string, d DropCounts, t *reportTicket) {
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "slogotlp: log records dropped", 0)
	if shown != "" {
		r.AddAttrs(slog.String("slogotlp.destination", shown))
	}
	r.AddAttrs(slog.Uint64("otel.logs.dropped_count", d.Total()))
	for i := range numDropReasons {
		if n := *d.count(i); n > 0 {
			r.AddAttrs(slog.Uint64("otel.logs.dropped."+i.String(), n))
		}
	}
	bp := getBuffer()
	*bp = h.appendRecord((*bp)[:0], context.Background(), r, time.Now())
	dests := h.c.dests
	t.expect(len(dests))
	last := len(dests) - 1
	for last >= 0 && dests[last].level != nil && r.Level < dests[last].level.Level() {
		last--
	}
	for i := range dests {
		dd := &dests[i]
		if i > last || (dd.level != nil && r.Level < dd.level.Level()) {
			t.settle(false)
			continue
		}
		out := bp
		if i < last {
			out = getBuffer()
			*out = append((*out)[:0], *bp...)
		}
		e := entry{buf: out, scope: h.scope, class: classOf(r.Level), report: t}
		// Another destination takes the copy only if it is still taking
		// records: one that stopped is not charged with a drop for it.
		if dd.b.push(e, dd.maxRecord, i != origin) != nil {
			t.settle(false)
		}
	}
	if last < 0 {
		putBuffer(bp)
	}
}
