package slogotlp

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Levels beyond the four of log/slog, so callers can log TRACE and FATAL:
//
//	logger.Log(ctx, slogotlp.LevelTrace, "cache probe", "key", k)
const (
	LevelTrace slog.Level = -8
	LevelFatal slog.Level = 12
)

// severityNumber maps a slog level to an OTLP SeverityNumber: level + 9,
// clamped to 1..24, as the official otelslog bridge does. TRACE is 1, DEBUG 5,
// INFO 9, WARN 13, ERROR 17 and FATAL 21.
func severityNumber(l slog.Level) int {
	n := int(l) + 9
	return min(max(n, 1), 24)
}

// appendSeverityText appends the level's name the way log/slog names levels
// ("INFO", "WARN+2"), with TRACE and FATAL added below DEBUG and above ERROR.
func appendSeverityText(buf []byte, l slog.Level) []byte {
	name, base := "INFO", slog.LevelInfo
	switch {
	case l < slog.LevelDebug:
		name, base = "TRACE", LevelTrace
	case l < slog.LevelInfo:
		name, base = "DEBUG", slog.LevelDebug
	case l < slog.LevelWarn:
	case l < slog.LevelError:
		name, base = "WARN", slog.LevelWarn
	case l < LevelFatal:
		name, base = "ERROR", slog.LevelError
	default:
		name, base = "FATAL", LevelFatal
	}
	buf = append(buf, name...)
	if d := int64(l - base); d != 0 {
		if d > 0 {
			buf = append(buf, '+')
		}
		buf = strconv.AppendInt(buf, d, 10)
	}
	return buf
}

// maxDepth bounds how deep nested groups, slices and maps are encoded, so a
// cyclic value cannot recurse forever. Deeper values become "!DEPTH".
const maxDepth = 16

// isEmptyAttr reports whether a is the zero Attr, which slog handlers ignore.
// (Attr.Equal is not used: it panics on values of uncomparable types.)
func isEmptyAttr(a slog.Attr) bool {
	return a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil
}

// collect appends attrs to dst in the form the encoder writes them: values
// resolved, empty attrs and empty groups dropped, groups with an empty key
// inlined. It returns the first error value it met at this level, if any.
func collect(dst []slog.Attr, attrs []slog.Attr, firstErr error) ([]slog.Attr, error) {
	for _, a := range attrs {
		a.Value = a.Value.Resolve()
		if isEmptyAttr(a) {
			continue
		}
		// Compare keys as they will be written, so two keys that differ
		// only in invalid bytes are duplicates too.
		a.Key = validUTF8(a.Key)
		if a.Value.Kind() == slog.KindGroup {
			g := a.Value.Group()
			if len(g) == 0 {
				continue
			}
			if a.Key == "" {
				dst, firstErr = collect(dst, g, firstErr)
				continue
			}
		}
		if firstErr == nil && a.Value.Kind() == slog.KindAny {
			if err, ok := a.Value.Any().(error); ok && err != nil {
				firstErr = err
			}
		}
		dst = append(dst, a)
	}
	return dst, firstErr
}

// validUTF8 returns s with each invalid byte replaced by U+FFFD, as
// appendString writes it. Valid strings (nearly all) cost one scan.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		sb.WriteRune(r) // RuneError for an invalid byte
		i += size
	}
	return sb.String()
}

// shadowed reports whether key appears among later. slog allows duplicate
// keys but OTLP forbids them in one list; the last value wins. Attribute
// lists are short, so a scan beats building a map per record.
func shadowed(key string, later []slog.Attr) bool {
	for _, b := range later {
		if b.Key == key {
			return true
		}
	}
	return false
}

// encoder holds the per-handler settings the record encoder needs.
type encoder struct {
	maxValueLen int
	trimPath    func(string) string
}

// appendAttrs appends each of the already collected attrs as a KeyValue
// element followed by a comma, skipping any whose key a later attr repeats.
func (e *encoder) appendAttrs(buf []byte, attrs []slog.Attr, depth int) []byte {
	for i, a := range attrs {
		if shadowed(a.Key, attrs[i+1:]) {
			continue
		}
		buf = e.appendAttr(buf, a, depth)
	}
	return buf
}

// appendAttr appends one KeyValue element and a comma. A group whose members
// all turn out empty is rolled back, as slog omits empty groups.
func (e *encoder) appendAttr(buf []byte, a slog.Attr, depth int) []byte {
	mark := len(buf)
	buf = appendKey(buf, a.Key)
	buf, ok := e.appendValue(buf, a.Value, depth)
	if !ok {
		return buf[:mark]
	}
	return append(buf, "},"...)
}

// appendValue appends v (resolved) as an OTLP AnyValue. It reports false when
// v is a group that ends up empty, so the caller can omit the attribute.
func (e *encoder) appendValue(buf []byte, v slog.Value, depth int) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		buf = append(buf, `{"stringValue":`...)
		buf = appendString(buf, v.String(), e.maxValueLen)
	case slog.KindInt64:
		buf = append(buf, `{"intValue":`...)
		buf = appendQuotedInt(buf, v.Int64())
	case slog.KindUint64:
		u := v.Uint64()
		if u > 1<<63-1 {
			// OTLP has no unsigned integer: rather than wrap to a negative
			// number, keep the exact decimal digits as a string.
			buf = append(buf, `{"stringValue":"`...)
			buf = strconv.AppendUint(buf, u, 10)
			buf = append(buf, '"')
		} else {
			buf = append(buf, `{"intValue":`...)
			buf = appendQuotedInt(buf, int64(u))
		}
	case slog.KindFloat64:
		buf = append(buf, `{"doubleValue":`...)
		buf = appendDouble(buf, v.Float64())
	case slog.KindBool:
		buf = append(buf, `{"boolValue":`...)
		buf = strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		buf = append(buf, `{"intValue":`...)
		buf = appendQuotedInt(buf, int64(v.Duration()))
	case slog.KindTime:
		buf = append(buf, `{"stringValue":"`...)
		buf = v.Time().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, '"')
	case slog.KindGroup:
		if depth >= maxDepth {
			return e.appendDepthExceeded(buf), true
		}
		var arr [16]slog.Attr
		attrs, _ := collect(arr[:0], v.Group(), nil)
		buf = append(buf, `{"kvlistValue":{"values":[`...)
		start := len(buf)
		buf = e.appendAttrs(buf, attrs, depth+1)
		if len(buf) == start {
			return buf, false
		}
		buf = closeList(buf)
		buf = append(buf, '}')
	case slog.KindLogValuer:
		// Resolve already ran; a LogValuer that returns another LogValuer
		// past slog's own limit lands here.
		return e.appendValue(buf, v.Resolve(), depth+1)
	default:
		return e.appendAny(buf, v.Any(), depth), true
	}
	return append(buf, '}'), true
}

func (e *encoder) appendDepthExceeded(buf []byte) []byte {
	return append(buf, `{"stringValue":"!DEPTH"}`...)
}

// appendAny encodes a KindAny value: []byte as bytesValue, an error as its
// message, slices and arrays as arrayValue, maps with string keys as
// kvlistValue (sorted by key, so output is stable), anything else as the
// string fmt's %+v gives. A panic in the value's own methods is recovered
// and shown as "!PANIC: ..." instead of crashing the caller.
func (e *encoder) appendAny(buf []byte, x any, depth int) (out []byte) {
	mark := len(buf)
	defer func() {
		if r := recover(); r != nil {
			out = append(buf[:mark], `{"stringValue":`...)
			out = appendString(out, fmt.Sprintf("!PANIC: %v", r), e.maxValueLen)
			out = append(out, '}')
		}
	}()
	if depth >= maxDepth {
		return e.appendDepthExceeded(buf)
	}
	switch x := x.(type) {
	case nil:
		return append(buf, `{}`...)
	case []byte:
		buf = append(buf, `{"bytesValue":`...)
		buf = appendBase64(buf, x)
		return append(buf, '}')
	case error:
		return e.appendStringValue(buf, x.Error())
	case fmt.Stringer:
		return e.appendStringValue(buf, x.String())
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return append(buf, `{"arrayValue":{}}`...)
		}
		buf = append(buf, `{"arrayValue":{"values":[`...)
		for i := range rv.Len() {
			buf, _ = e.appendElem(buf, rv.Index(i), depth+1)
			buf = append(buf, ',')
		}
		buf = closeList(buf)
		return append(buf, "}}"...)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		buf = append(buf, `{"kvlistValue":{"values":[`...)
		for _, k := range keys {
			buf = appendKey(buf, k.String())
			buf, _ = e.appendElem(buf, rv.MapIndex(k), depth+1)
			buf = append(buf, "},"...)
		}
		buf = closeList(buf)
		return append(buf, "}}"...)
	}
	return e.appendStringValue(buf, fmt.Sprintf("%+v", x))
}

// appendElem encodes an element of a slice or map through slog's own
// conversion, so an int in a []any is an intValue like an int attribute.
func (e *encoder) appendElem(buf []byte, rv reflect.Value, depth int) ([]byte, bool) {
	if !rv.CanInterface() {
		return append(buf, `{}`...), true
	}
	v := slog.AnyValue(rv.Interface()).Resolve()
	mark := len(buf)
	buf, ok := e.appendValue(buf, v, depth)
	if !ok {
		// An empty group inside a list still needs a value in its place.
		return append(buf[:mark], `{"kvlistValue":{}}`...), true
	}
	return buf, true
}

func (e *encoder) appendStringValue(buf []byte, s string) []byte {
	buf = append(buf, `{"stringValue":`...)
	buf = appendString(buf, s, e.maxValueLen)
	return append(buf, '}')
}

// appendException appends the OpenTelemetry exception attributes for err:
// exception.type (the Go type, as %T prints it), exception.message, and
// exception.stacktrace when the error carries a stack (it formats itself
// differently under %+v, as github.com/pkg/errors and its kin do) or, when
// capture is set, the stack of the logging goroutine.
func (e *encoder) appendException(buf []byte, err error, capture bool) (out []byte) {
	mark := len(buf)
	defer func() {
		if r := recover(); r != nil {
			out = appendStringAttr(buf[:mark], "exception.message", fmt.Sprintf("!PANIC: %v", r), e.maxValueLen)
		}
	}()
	msg := err.Error()
	buf = appendStringAttr(buf, "exception.type", fmt.Sprintf("%T", err), 0)
	buf = appendStringAttr(buf, "exception.message", msg, e.maxValueLen)
	if st := errorStack(err, msg); st != "" {
		buf = appendStringAttr(buf, "exception.stacktrace", e.trim(st), e.maxValueLen)
	} else if capture {
		buf = appendStringAttr(buf, "exception.stacktrace", e.trim(callerStack()), e.maxValueLen)
	}
	return buf
}

func (e *encoder) trim(s string) string {
	if e.trimPath == nil {
		return s
	}
	return e.trimPath(s)
}

// errorStack returns the stack an error carries, found by asking each error
// in the chain that formats itself for %+v.
func errorStack(err error, msg string) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, ok := e.(fmt.Formatter); ok {
			if s := fmt.Sprintf("%+v", err); s != msg && strings.Contains(s, "\n") {
				return s
			}
			return ""
		}
	}
	return ""
}

// callerStack formats the logging goroutine's stack the way a Go panic does,
// starting at the caller of the logger: the leading frames of log/slog, this
// package's handlers and slog middleware are left out.
func callerStack() string {
	var pcs [64]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	var sb strings.Builder
	leading := true
	for {
		f, more := frames.Next()
		if leading && internalFrame(f.Function) {
			if !more {
				break
			}
			continue
		}
		leading = false
		sb.WriteString(f.Function)
		sb.WriteString("\n\t")
		sb.WriteString(f.File)
		sb.WriteByte(':')
		sb.WriteString(strconv.Itoa(f.Line))
		sb.WriteByte('\n')
		if !more {
			break
		}
	}
	return sb.String()
}

func internalFrame(fn string) bool {
	for _, p := range []string{"log/slog.", "github.com/soliplex/slogotlp.(", "github.com/samber/slog-"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// appendSource appends code.file.path, code.line.number and
// code.function.name for the record's program counter.
func (e *encoder) appendSource(buf []byte, pc uintptr) []byte {
	if pc == 0 {
		return buf
	}
	fs := runtime.CallersFrames([]uintptr{pc})
	f, _ := fs.Next()
	if f.File != "" {
		buf = appendStringAttr(buf, "code.file.path", e.trim(f.File), 0)
	}
	if f.Line != 0 {
		buf = appendIntAttr(buf, "code.line.number", int64(f.Line))
	}
	if f.Function != "" {
		buf = appendStringAttr(buf, "code.function.name", f.Function, 0)
	}
	return buf
}
