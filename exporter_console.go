package slogotlp

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// ConsoleColors says when a ConsoleExporter colours its lines.
type ConsoleColors int

const (
	// ColorsAuto colours lines when the writer is a terminal and the NO_COLOR
	// variable is unset or empty (no-color.org).
	ColorsAuto ConsoleColors = iota
	// ColorsAlways colours lines with ANSI escapes wherever they go.
	ColorsAlways
	// ColorsNever writes plain text.
	ColorsNever
)

// ConsoleOptions configures NewConsoleExporter; the zero value is the
// default. The fields follow Logfire's console settings
// (LOGFIRE_CONSOLE_COLORS, _INCLUDE_TIMESTAMP, _INCLUDE_TAGS, _VERBOSE).
type ConsoleOptions struct {
	// Colors: ColorsAuto (default), ColorsAlways or ColorsNever.
	Colors ConsoleColors
	// NoTimestamp leaves out the time at the start of each line.
	NoTimestamp bool
	// NoTags leaves out the record's tags (the string array attribute
	// logfire.tags, shown in brackets after the message).
	NoTags bool
	// Verbose prints the attributes one per line under the record, with the
	// source location (code.*) and the trace context, instead of on the
	// record's line.
	Verbose bool
}

// ConsoleExporter prints each record as a readable line: local time
// (HH:MM:SS.mmm), level, message, tags and attributes as key=value, with an
// exception's stack trace indented on the lines below, e.g.
//
//	12:34:56.789 INFO  user signed in user_id=42 plan=pro
//	12:34:56.790 ERROR payment failed [billing] exception.type=*errors.errorString exception.message="card declined"
//
// It is what NewFromEnv uses when no destination is configured, and the
// exporter of OTEL_LOGS_EXPORTER=console and LOGFIRE_CONSOLE=true. The
// handler exports to it record by record, as soon as each is logged, like
// the OpenTelemetry specification's console exporter with its simple
// processor. The format is for people and may change: use NewWriterExporter
// for the OTLP JSON itself.
type ConsoleExporter struct {
	mu     sync.Mutex
	w      io.Writer
	opts   ConsoleOptions
	colors bool
	buf    []byte
}

// Compile-time checks: the console takes protobuf payloads (its own
// reading of them needs no JSON) and asks for them record by record.
var (
	_ Exporter       = (*ConsoleExporter)(nil)
	_ recordByRecord = (*ConsoleExporter)(nil)
)

// NewConsoleExporter returns an exporter that prints records to w (os.Stderr
// when w is nil). A nil opts means the defaults.
func NewConsoleExporter(w io.Writer, opts *ConsoleOptions) *ConsoleExporter {
	if w == nil {
		w = os.Stderr
	}
	e := &ConsoleExporter{w: w}
	if opts != nil {
		e.opts = *opts
	}
	switch e.opts.Colors {
	case ColorsAlways:
		e.colors = true
	case ColorsAuto:
		e.colors = isTerminal(w) && os.Getenv("NO_COLOR") == ""
	}
	return e
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// WireFormat asks for protobuf payloads, which the console reads directly.
func (e *ConsoleExporter) WireFormat() WireFormat { return FormatProtobuf }

func (e *ConsoleExporter) exportsEachRecord() {}

// Export prints the records of one protobuf ExportLogsServiceRequest. A
// payload it cannot read is rejected; a write error is fatal for this
// exporter, as a closed terminal or pipe does not come back.
func (e *ConsoleExporter) Export(_ context.Context, payload []byte, _ int) Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	buf := e.buf[:0]
	ok := eachField(payload, tagResourceLogs, func(rl []byte) bool {
		return eachField(rl, tagScopeLogs, func(sl []byte) bool {
			return eachField(sl, tagLogRecord, func(rec []byte) bool {
				var good bool
				buf, good = e.appendRecordLine(buf, rec)
				return good
			})
		})
	})
	if cap(buf) <= maxPooledBuffer {
		e.buf = buf
	}
	if !ok {
		return Result{Outcome: ExportRejected, Err: errors.New("slogotlp: the console exporter takes protobuf " +
			"payloads (its WireFormat), and this one could not be read")}
	}
	if len(buf) == 0 {
		return Result{}
	}
	if _, err := e.w.Write(buf); err != nil {
		return Result{Outcome: ExportFatal, Err: fmt.Errorf("slogotlp: writing to the console: %w", err)}
	}
	return Result{}
}

// Shutdown does nothing: the writer belongs to the caller.
func (e *ConsoleExporter) Shutdown(context.Context) error { return nil }

// eachField calls f with the content of every field tag of msg, in order,
// while f returns true. It reports whether msg read to its end as protobuf
// and f never returned false.
func eachField(msg []byte, tag uint64, f func([]byte) bool) bool {
	for len(msg) > 0 {
		fl, rest, ok := nextField(msg)
		if !ok || (fl.tag == tag && !f(fl.data)) {
			return false
		}
		msg = rest
	}
	return true
}

// forEach calls f with the content of every field tag of msg; a malformed
// tail is skipped (the record holding it was checked whole).
func forEach(msg []byte, tag uint64, f func([]byte)) {
	eachField(msg, tag, func(b []byte) bool { f(b); return true })
}

// ANSI escapes.
const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiBlue   = "\x1b[34m"
	ansiBold   = "\x1b[1m"
)

// keyTags is Logfire's tags attribute, which the console shows after the
// message; the exception's stack (keyExceptionStacktrace) goes under the line.
const keyTags = "logfire.tags"

// consoleRecord is what the line needs from a LogRecord.
type consoleRecord struct {
	time, observed uint64
	severity       uint64
	sevText, body  []byte
	bodyIsString   bool
	attrs          [][]byte // KeyValue messages
	traceID        []byte
	spanID         []byte
	eventName      []byte
}

func parseConsoleRecord(rec []byte, cr *consoleRecord) bool {
	for len(rec) > 0 {
		f, rest, ok := nextField(rec)
		if !ok {
			return false
		}
		rec = rest
		switch f.tag {
		case tagTime:
			cr.time = f.num
		case tagObservedTime:
			cr.observed = f.num
		case tagSeverityNumber:
			cr.severity = f.num
		case tagSeverityText:
			cr.sevText = f.data
		case tagBody:
			cr.body = f.data
			if v, _, ok := nextField(f.data); ok && v.tag == tagString {
				cr.body, cr.bodyIsString = v.data, true
			}
		case tagAttribute:
			cr.attrs = append(cr.attrs, f.data)
		case tagTraceID:
			cr.traceID = f.data
		case tagSpanID:
			cr.spanID = f.data
		case tagEventName:
			cr.eventName = f.data
		}
	}
	return true
}

// appendRecordLine appends the console text of one LogRecord.
func (e *ConsoleExporter) appendRecordLine(buf, rec []byte) ([]byte, bool) {
	var arr [32][]byte
	cr := consoleRecord{attrs: arr[:0]}
	if !parseConsoleRecord(rec, &cr) {
		return buf, false
	}
	if !e.opts.NoTimestamp {
		ts := cr.time
		if ts == 0 {
			ts = cr.observed
		}
		buf = e.color(buf, ansiGreen)
		buf = time.Unix(0, int64(min(ts, math.MaxInt64))).AppendFormat(buf, "15:04:05.000")
		buf = e.reset(buf)
		buf = append(buf, ' ')
	}
	lc, mc := levelColors(cr.severity)
	buf = e.color(buf, lc)
	start := len(buf)
	if len(cr.sevText) > 0 {
		buf = appendPrintable(buf, cr.sevText)
	} else {
		buf = append(buf, severityName(cr.severity)...)
	}
	for len(buf)-start < 5 {
		buf = append(buf, ' ')
	}
	buf = e.reset(buf)
	buf = append(buf, ' ')
	buf = e.color(buf, mc)
	switch {
	case cr.bodyIsString:
		buf = appendPrintable(buf, cr.body)
	case len(cr.body) > 0:
		buf = e.appendValue(buf, cr.body, 0)
	case len(cr.eventName) > 0:
		buf = appendPrintable(buf, cr.eventName)
	}
	buf = e.reset(buf)

	var stack []byte
	for _, kv := range cr.attrs {
		key, val := keyValue(kv)
		switch string(key) {
		case keyTags:
			if !e.opts.NoTags {
				buf = append(buf, ' ')
				buf = e.color(buf, ansiBlue)
				buf = e.appendTags(buf, val)
				buf = e.reset(buf)
			}
		case keyExceptionStacktrace:
			if v, _, ok := nextField(val); ok && v.tag == tagString {
				stack = v.data
			}
		}
	}
	if e.opts.Verbose {
		buf = append(buf, '\n')
		if len(cr.traceID) > 0 {
			buf = e.appendDetailPrefix(buf)
			buf = append(buf, "trace_id="...)
			buf = hex.AppendEncode(buf, cr.traceID)
			buf = append(buf, " span_id="...)
			buf = hex.AppendEncode(buf, cr.spanID)
			buf = append(buf, '\n')
		}
	}
	for _, kv := range cr.attrs {
		key, val := keyValue(kv)
		if k := string(key); k == keyTags || k == keyExceptionStacktrace {
			continue
		}
		buf = e.appendPairs(buf, nil, key, val, 0)
	}
	if !e.opts.Verbose {
		buf = append(buf, '\n')
	}
	if len(stack) > 0 {
		for line := range strings.SplitSeq(strings.TrimRight(string(stack), "\n"), "\n") {
			buf = append(buf, "    "...)
			buf = appendPrintable(buf, []byte(line))
			buf = append(buf, '\n')
		}
	}
	return buf, true
}

// appendDetailPrefix starts a verbose detail line.
func (e *ConsoleExporter) appendDetailPrefix(buf []byte) []byte {
	buf = e.color(buf, ansiDim)
	buf = append(buf, "│ "...)
	return e.reset(buf)
}

// appendPairs appends key=value for one attribute (after a space, or on a
// detail line of its own when verbose), a kvlist value as one pair per entry
// with the keys joined by dots, as slog's TextHandler shows groups. prefix
// holds the keys of the enclosing kvlists, each followed by a dot.
func (e *ConsoleExporter) appendPairs(buf, prefix, key, val []byte, depth int) []byte {
	if v, _, ok := nextField(val); ok && v.tag == tagKvlist && depth < maxDepth && len(v.data) > 0 {
		prefix = append(append(prefix, key...), '.')
		forEach(v.data, tagListValue, func(kv []byte) {
			k, x := keyValue(kv)
			buf = e.appendPairs(buf, prefix, k, x, depth+1)
		})
		return buf
	}
	if e.opts.Verbose {
		buf = e.appendDetailPrefix(buf)
	} else {
		buf = append(buf, ' ')
	}
	buf = e.color(buf, ansiDim)
	if len(prefix) > 0 {
		var arr [128]byte
		buf = appendConsoleString(buf, append(append(arr[:0], prefix...), key...))
	} else {
		buf = appendConsoleString(buf, key)
	}
	buf = append(buf, '=')
	buf = e.reset(buf)
	buf = e.appendValue(buf, val, depth)
	if e.opts.Verbose {
		buf = append(buf, '\n')
	}
	return buf
}

// appendValue appends an AnyValue message as text.
func (e *ConsoleExporter) appendValue(buf, av []byte, depth int) []byte {
	f, _, ok := nextField(av)
	if !ok {
		return append(buf, "<nil>"...)
	}
	switch f.tag {
	case tagString:
		return appendConsoleString(buf, f.data)
	case tagBool:
		return strconv.AppendBool(buf, f.num != 0)
	case tagInt:
		return strconv.AppendInt(buf, int64(f.num), 10)
	case tagDouble:
		return strconv.AppendFloat(buf, math.Float64frombits(f.num), 'g', -1, 64)
	case tagBytes:
		return base64.StdEncoding.AppendEncode(buf, f.data)
	case tagArray, tagKvlist:
		if depth >= maxDepth {
			return append(buf, "!DEPTH"...)
		}
		open, closing := byte('['), byte(']')
		if f.tag == tagKvlist {
			open, closing = '{', '}'
		}
		buf = append(buf, open)
		n := 0
		forEach(f.data, tagListValue, func(x []byte) {
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			if f.tag == tagKvlist {
				k, v := keyValue(x)
				buf = appendConsoleString(buf, k)
				buf = append(buf, '=')
				x = v
			}
			buf = e.appendValue(buf, x, depth+1)
		})
		return append(buf, closing)
	}
	return append(buf, "<unknown>"...)
}

// appendTags appends a logfire.tags array as "[a,b]".
func (e *ConsoleExporter) appendTags(buf, val []byte) []byte {
	if v, _, ok := nextField(val); ok && v.tag == tagArray {
		buf = append(buf, '[')
		n := 0
		forEach(v.data, tagListValue, func(x []byte) {
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			if s, _, ok := nextField(x); ok && s.tag == tagString {
				buf = appendPrintable(buf, s.data)
			} else {
				buf = e.appendValue(buf, x, 1)
			}
		})
		return append(buf, ']')
	}
	return e.appendValue(buf, val, 0)
}

// appendConsoleString appends s as slog's TextHandler would: bare when it
// is a plain word, quoted otherwise.
func appendConsoleString(buf, s []byte) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(buf, string(s))
	}
	return append(buf, s...)
}

func needsQuoting(s []byte) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b <= ' ' || b == '=' || b == '"' || b == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendPrintable appends s with control characters (other than tab)
// escaped, so a record cannot move the cursor or forge a line of its own.
func appendPrintable(buf, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			q := strconv.QuoteRune(rune(c))
			buf = append(buf, q[1:len(q)-1]...)
			continue
		}
		buf = append(buf, c)
	}
	return buf
}

// severityName is the level name of an OTLP severity number.
func severityName(n uint64) string {
	switch {
	case n == 0:
		return "-"
	case n <= 4:
		return "TRACE"
	case n <= 8:
		return "DEBUG"
	case n <= 12:
		return "INFO"
	case n <= 16:
		return "WARN"
	case n <= 20:
		return "ERROR"
	}
	return "FATAL"
}

// levelColors returns the colours of the level and of the message.
func levelColors(n uint64) (level, message string) {
	switch {
	case n >= 21:
		return ansiBold + ansiRed, ansiRed
	case n >= 17:
		return ansiRed, ansiRed
	case n >= 13:
		return ansiYellow, ansiYellow
	case n >= 9:
		return ansiGreen, ""
	}
	return ansiBlue, ""
}

func (e *ConsoleExporter) color(buf []byte, c string) []byte {
	if e.colors && c != "" {
		return append(buf, c...)
	}
	return buf
}

func (e *ConsoleExporter) reset(buf []byte) []byte {
	if e.colors {
		return append(buf, ansiReset...)
	}
	return buf
}
