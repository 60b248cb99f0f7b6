package slogotlp

import (
	"context"
	"errors"
	"log/slog"
	"math/bits"
	"strconv"
	"sync"
	"time"
)

// A Destination is one place a multi-destination Handler sends its records
// to: an exporter with a queue, a batcher goroutine and counters of its own,
// so a slow or dead receiver never holds up the others (the OTLP
// specification asks for queues and retries per destination).
type Destination struct {
	// Name identifies the destination in DestinationStats, in drop reports
	// (the attribute slogotlp.destination) and in the errors passed to
	// OnError. It is shown wherever those are, so it must not hold a secret.
	// Default: "destination<N>", N its 1-based position; a name already taken
	// gets "#<N>" appended.
	Name string
	// Exporter carries the destination's payloads, in the WireFormat it asks
	// for. Default (nil): records are accepted and discarded.
	Exporter Exporter
	// Level, when set, is the least level this destination receives, on top
	// of HandlerOptions.Level (which Enabled checks first, so Level can only
	// raise it), e.g. a console that shows INFO and above while WARN and
	// above go to a backend. A *slog.LevelVar changes it at run time.
	// Default: nil, every record the handler takes.
	Level slog.Leveler
}

// maxDestinations is the most destinations one handler sends to: Handle keeps
// the set of takers of a record in one machine word.
const maxDestinations = 64

// destination is a Destination at work.
type destination struct {
	name      string
	level     slog.Leveler
	b         *batcher
	maxRecord int
}

// DestinationStats is the Stats of one destination of a handler.
type DestinationStats struct {
	// Name is the destination's name (Destination.Name).
	Name string
	Stats
}

// NewMultiHandler returns a Handler that sends every record to each of dests,
// as Logfire's own SDK sends to Logfire and to an OTLP endpoint at once. The
// record is encoded once, in Handle; each destination gets its own copy of
// the bytes in its own queue, and its own batcher frames them in its
// exporter's WireFormat and exports them from a goroutine of its own. opts
// applies to every destination (each gets its own queue of MaxQueueSize
// records); a nil opts means the defaults.
//
// Counting: each destination keeps the Stats identity (Handled == Exported
// + Dropped.Total() + Queued + Spooled) for the records it was given, and
// Handler.Stats is their sum, so a record sent to N destinations counts N
// times in the aggregate's Handled, once per copy, and the identity holds
// there too. With a spool, each destination has its own. A
// record below a destination's Level is not given to it and not counted by
// it. Handle returns nil when at least one destination accepted the record,
// else the first destination's error. SetEnabled, Flush and Shutdown act on
// every destination; Flush and Shutdown run them in parallel. Errors reach
// OnError prefixed with the destination's name.
//
// With no destination, the handler is never Enabled and takes nothing. It
// panics when given more than 64 destinations.
func NewMultiHandler(dests []Destination, opts *HandlerOptions) *Handler {
	return newMultiHandler(dests, opts, nil)
}

// newMultiHandler is NewMultiHandler with a hook that may adjust each batcher
// (the test seams) before its goroutine starts.
func newMultiHandler(dests []Destination, opts *HandlerOptions, hook func(*batcher)) *Handler {
	if len(dests) > maxDestinations {
		panic("slogotlp: NewMultiHandler: more than " + strconv.Itoa(maxDestinations) + " destinations")
	}
	o := opts.withDefaults()
	c := &core{
		level:     o.Level,
		addSource: o.AddSource,
		stacks:    o.StackTraces,
		enc:       newEncoder(o),
		scopes:    &scopeRegistry{},
	}
	root := c.scopes.id(o.ScopeName, o.ScopeVersion)
	h := &Handler{c: c, scope: root, groups: []groupFrame{{shadow: -1}}}
	resource := encodeResource(&c.enc, o.Resource)
	names := make(map[string]bool, len(dests))
	for i, d := range dests {
		exp := d.Exporter
		if exp == nil {
			exp = discardExporter{}
		}
		name := d.Name
		if name == "" {
			name = "destination" + strconv.Itoa(i+1)
		}
		if names[name] {
			name += "#" + strconv.Itoa(i+1)
		}
		names[name] = true
		bo := *o // each batcher owns its options
		if _, ok := exp.(recordByRecord); ok {
			// A console shows each record as it is logged, as the
			// specification's simple processor does, and in order.
			bo.BatchSize, bo.ConcurrentExports = 1, 1
		}
		fr := newFraming(wireFormatOf(exp), resource)
		b := newBatcher(exp, &bo, fr, c.scopes)
		b.attachSpool(&bo, name, resource)
		if len(dests) > 1 {
			b.notes.onError = namedErrors(name, b.notes.onError)
		}
		if o.DropReportInterval > 0 {
			shown := ""
			if len(dests) > 1 {
				shown = name
			}
			origin := i
			b.sendReport = func(d DropCounts, t *reportTicket) { h.sendDropReport(origin, shown, d, t) }
		}
		if hook != nil {
			hook(b)
		}
		c.dests = append(c.dests, destination{name: name, level: d.Level, b: b, maxRecord: fr.maxRecord(bo.MaxPayloadBytes)})
	}
	if len(c.dests) > 0 {
		c.b, c.maxRecord = c.dests[0].b, c.dests[0].maxRecord
	}
	for i := range c.dests {
		go c.dests[i].b.run()
	}
	return h
}

// recordByRecord marks an exporter that wants each record exported as soon
// as it is logged (the console), not batched.
type recordByRecord interface{ exportsEachRecord() }

// handleEach is Handle for a handler with several destinations, or with a
// destination Level: the record is encoded once, copied for every taker but
// the last, which gets the original.
func (h *Handler) handleEach(ctx context.Context, r slog.Record) error {
	c := h.c
	var takers uint64
	var first error
	for i := range c.dests {
		d := &c.dests[i]
		if d.level != nil && r.Level < d.level.Level() {
			continue
		}
		if b := d.b; b.closed.Load() || b.disabled.Load() || b.paused.Load() {
			if err := b.refuse(); first == nil {
				first = err
			}
			continue
		}
		takers |= 1 << i
	}
	if takers == 0 {
		return first
	}
	bp := getBuffer()
	*bp = h.appendRecord((*bp)[:0], ctx, r, time.Now())
	accepted := false
	for takers != 0 {
		i := bits.TrailingZeros64(takers)
		takers &^= 1 << i
		out := bp
		if takers != 0 {
			out = getBuffer()
			*out = append((*out)[:0], *bp...)
		}
		d := &c.dests[i]
		if err := d.b.enqueue(out, r.Level, h.scope, d.maxRecord); err == nil {
			accepted = true
		} else if first == nil {
			first = err
		}
	}
	if accepted {
		return nil
	}
	return first
}

// eachDestination runs f on every destination's batcher, in parallel when
// there are several, and joins their errors, each prefixed with its
// destination's name.
func (h *Handler) eachDestination(f func(*batcher) error) error {
	dests := h.c.dests
	switch len(dests) {
	case 0:
		return nil
	case 1:
		return f(dests[0].b)
	}
	errs := make([]error, len(dests))
	var wg sync.WaitGroup
	for i := range dests {
		wg.Go(func() {
			if err := f(dests[i].b); err != nil {
				errs[i] = &destinationError{dest: dests[i].name, err: err}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// DestinationStats returns a snapshot of each destination's counters, in the
// order the destinations were given (a handler made by NewHandler has one,
// named "default"). Each snapshot is consistent on its own; Stats is their
// sum.
func (h *Handler) DestinationStats() []DestinationStats {
	out := make([]DestinationStats, len(h.c.dests))
	for i, d := range h.c.dests {
		out[i] = DestinationStats{Name: d.name, Stats: d.b.stats()}
	}
	return out
}

// plus adds o's counters to s. Offline and Fatal are true when either is;
// Paused when both are (SetEnabled switches every destination alike).
func (s Stats) plus(o Stats) Stats {
	s.Handled += o.Handled
	s.Exported += o.Exported
	s.Queued += o.Queued
	s.Spooled += o.Spooled
	s.Restored += o.Restored
	s.RestoreRejected += o.RestoreRejected
	s.SpoolEvicted += o.SpoolEvicted
	s.SpoolCorrupt += o.SpoolCorrupt
	s.ExportAttempts += o.ExportAttempts
	s.Retries += o.Retries
	for r := range numDropReasons {
		*s.Dropped.count(r) += *o.Dropped.count(r)
	}
	s.Offline = s.Offline || o.Offline
	s.Failing = s.Failing || o.Failing
	s.Fatal = s.Fatal || o.Fatal
	s.Paused = s.Paused && o.Paused
	return s
}

// destinationError is an error of one destination of several: its text
// names the destination, its chain keeps the cause for errors.Is and As.
type destinationError struct {
	dest string
	err  error
}

func (e *destinationError) Error() string {
	return "slogotlp: destination " + e.dest + ": " + causeText(e.err)
}

func (e *destinationError) Unwrap() error { return e.err }

// namedErrors wraps OnError (or the stderr default) so each error names
// its destination.
func namedErrors(dest string, onError func(error)) func(error) {
	return func(err error) { onError(&destinationError{dest: dest, err: err}) }
}
