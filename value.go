package slogotlp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file maps one slog value to an OTLP AnyValue, in protobuf: the
// kinds, the Go types behind KindAny (bytes, errors, Stringers, pointers,
// slices, maps, JSON), and the depth and panic guards.

// maxDepth bounds how deep nested groups, slices and maps are encoded, so a
// cyclic value cannot recurse forever. Deeper values become "!DEPTH".
const maxDepth = 16

// encoder holds the per-handler settings of the record mapping. It is
// shared, read-only, by every handler derived from one NewHandler call.
type encoder struct {
	maxValueLen int // bytes of any string value and of the message; 0: no limit
	// valueLenLimit is the attribute value length limit: characters of a
	// string, bytes of a bytes value; 0: no limit. The message is exempt.
	valueLenLimit int
	countLimit    int // top-level attributes a record keeps; < 0: no limit
	trimPath      func(string) string
	replace       func([]string, slog.Attr) slog.Attr
	fromCtx       []func(context.Context) []slog.Attr
	logfire       bool
}

// newEncoder resolves the record mapping's options (o has its defaults).
func newEncoder(o *HandlerOptions) encoder {
	e := encoder{
		maxValueLen:   max(o.MaxValueLen, 0),
		valueLenLimit: max(o.AttributeValueLengthLimit, 0),
		countLimit:    o.AttributeCountLimit,
		trimPath:      o.TrimPaths,
		replace:       o.ReplaceAttr,
		fromCtx:       slices.Clone(o.AttrFromContext),
		logfire:       o.LogfireAttributes,
	}
	if e.countLimit == 0 {
		e.countLimit = defaultAttributeCountLimit
	}
	return e
}

// elemTag is the tag of an attribute element at group frame depth: a
// LogRecord's own attributes at the top, KeyValueList values inside groups.
func elemTag(depth int) byte {
	if depth == 0 {
		return tagAttribute
	}
	return tagListValue
}

// appendAttrs appends each of the already collected attrs as a KeyValue
// element (field tag), skipping any whose key a later attr repeats.
func (e *encoder) appendAttrs(buf []byte, tag byte, attrs []slog.Attr, depth int) []byte {
	for i, a := range attrs {
		if shadowed(a.Key, attrs[i+1:]) {
			continue
		}
		buf = e.appendAttr(buf, tag, a, depth)
	}
	return buf
}

// appendAttr appends one KeyValue element (field tag). A group whose members
// all turn out empty is rolled back, as slog omits empty groups.
//
// a comes from collect, which made its key valid UTF-8.
func (e *encoder) appendAttr(buf []byte, tag byte, a slog.Attr, depth int) []byte {
	mark := len(buf)
	buf, start := openLen(buf, tag)
	buf = appendValidString(buf, tagKey, a.Key)
	buf, vstart := openLen(buf, tagValue)
	buf, ok := e.appendValue(buf, a.Value, depth)
	if !ok {
		return buf[:mark]
	}
	buf = closeLen(buf, vstart)
	return closeLen(buf, start)
}

// appendValue appends v (resolved) as the content of an OTLP AnyValue: the
// one field of its oneof, or nothing for an empty value. It reports false
// when v is a group that ends up empty, so the caller can omit the
// attribute.
func (e *encoder) appendValue(buf []byte, v slog.Value, depth int) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		return e.appendStr(buf, v.String()), true
	case slog.KindInt64:
		return appendIntValue(buf, v.Int64()), true
	case slog.KindUint64:
		if u := v.Uint64(); u > math.MaxInt64 {
			// OTLP has no unsigned integer: rather than wrap to a negative
			// number, keep the exact decimal digits as a string.
			return e.appendShort(buf, v), true
		}
		return appendIntValue(buf, int64(v.Uint64())), true
	case slog.KindFloat64:
		buf = append(buf, tagDouble)
		return appendFixed64(buf, math.Float64bits(v.Float64())), true
	case slog.KindBool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		return append(buf, tagBool, b), true
	case slog.KindDuration:
		return appendIntValue(buf, int64(v.Duration())), true
	case slog.KindTime:
		return e.appendShort(buf, v), true
	case slog.KindGroup:
		if depth >= maxDepth {
			return e.appendDepthExceeded(buf), true
		}
		var arr [16]slog.Attr
		attrs := e.collect(arr[:0], v.Group(), nil, nil)
		buf, lstart := openLen(buf, tagKvlist)
		buf = e.appendAttrs(buf, tagListValue, attrs, depth+1)
		if len(buf) == lstart {
			return buf[:lstart-2], false
		}
		return closeLen(buf, lstart), true
	case slog.KindLogValuer:
		// Resolve already ran; a LogValuer that returns another LogValuer
		// past slog's own limit lands here.
		return e.appendValue(buf, v.Resolve(), depth+1)
	default:
		return e.appendAny(buf, v.Any(), depth), true
	}
}

// appendStr appends an attribute's string value, cut to the attribute value
// length limit (characters, no marker) and then to MaxValueLen (bytes,
// ending in "…").
func (e *encoder) appendStr(buf []byte, s string) []byte {
	return appendStringField(buf, tagString, runePrefix(s, e.valueLenLimit), e.maxValueLen)
}

// appendShort appends the string form of a time (RFC 3339 with nanoseconds)
// or of a uint64 above MaxInt64 (its exact digits), formatted in place. The
// text is ASCII, so the limits cut it by bytes.
func (e *encoder) appendShort(buf []byte, v slog.Value) []byte {
	buf, start := openLen(buf, tagString)
	if v.Kind() == slog.KindTime {
		buf = v.Time().AppendFormat(buf, time.RFC3339Nano)
	} else {
		buf = strconv.AppendUint(buf, v.Uint64(), 10)
	}
	if l := e.valueLenLimit; l > 0 && len(buf)-start > l {
		buf = buf[:start+l]
	}
	if l := e.maxValueLen; l > 0 && len(buf)-start > l {
		n, mark := cutPoint(buf[start:], l)
		buf = buf[:start+n]
		if mark {
			buf = append(buf, ellipsis...)
		}
	}
	return closeLen(buf, start)
}

// appendBytes appends a bytesValue, cut to the attribute value length limit.
func (e *encoder) appendBytes(buf, b []byte) []byte {
	if l := e.valueLenLimit; l > 0 && len(b) > l {
		b = b[:l]
	}
	return appendBytesField(buf, tagBytes, b)
}

func appendIntValue(buf []byte, n int64) []byte {
	buf = append(buf, tagInt)
	return appendVarint(buf, uint64(n))
}

func (e *encoder) appendDepthExceeded(buf []byte) []byte {
	return appendStringField(buf, tagString, "!DEPTH", 0)
}

// appendAny encodes a KindAny value: []byte and other byte slices and
// arrays as bytesValue, json.RawMessage holding valid JSON as its text, an
// error as its message, slices and arrays as arrayValue, maps with string
// keys as kvlistValue (sorted by key, so output is stable), a pointer as the
// value it points to (nil: an empty value), anything else as the string
// fmt's %+v gives. A panic in the value's own methods is recovered and
// shown as "!PANIC: ..." instead of crashing the caller.
func (e *encoder) appendAny(buf []byte, x any, depth int) (out []byte) {
	mark := len(buf)
	defer func() {
		if r := recover(); r != nil {
			out = e.appendStr(buf[:mark], fmt.Sprintf("!PANIC: %v", r))
		}
	}()
	if depth >= maxDepth {
		return e.appendDepthExceeded(buf)
	}
	rv := reflect.ValueOf(x)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			// Before any method: a nil pointer is "no value", and most
			// methods would panic on it.
			return buf
		}
		if !pointerOwnMethod(x, rv) {
			// The value pointed to, as if logged itself: a *time.Time is
			// a time, a *[]byte bytes.
			return e.appendElem(buf, rv.Elem(), depth+1)
		}
	}
	switch x := x.(type) {
	case nil:
		return buf
	case []byte:
		return e.appendBytes(buf, x)
	case json.RawMessage:
		if json.Valid(x) && utf8.Valid(x) {
			// JSON text reads as what it is; base64 of it would not.
			return e.appendStr(buf, string(x))
		}
		return e.appendBytes(buf, x)
	case *slog.Source:
		return e.appendSourceValue(buf, x)
	case error:
		return e.appendStr(buf, x.Error())
	case fmt.Stringer:
		return e.appendStr(buf, x.String())
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return e.appendByteList(buf, rv)
		}
		buf, astart := openLen(buf, tagArray)
		for i := range rv.Len() {
			var vstart int
			buf, vstart = openLen(buf, tagListValue)
			buf = e.appendElem(buf, rv.Index(i), depth+1)
			buf = closeLen(buf, vstart)
		}
		return closeLen(buf, astart)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		buf, lstart := openLen(buf, tagKvlist)
		for _, k := range keys {
			var kstart, vstart int
			buf, kstart = openLen(buf, tagListValue)
			buf = appendStringField(buf, tagKey, k.String(), 0)
			buf, vstart = openLen(buf, tagValue)
			buf = e.appendElem(buf, rv.MapIndex(k), depth+1)
			buf = closeLen(buf, vstart)
			buf = closeLen(buf, kstart)
		}
		return closeLen(buf, lstart)
	}
	return e.appendStr(buf, fmt.Sprintf("%+v", x))
}

var (
	errorIface    = reflect.TypeFor[error]()
	stringerIface = reflect.TypeFor[fmt.Stringer]()
)

// pointerOwnMethod reports whether the non-nil pointer x shows itself
// through a method its element type lacks (Error or String on the pointer
// receiver, or a *slog.Source): then x is shown by that method, else as
// the value it points to.
func pointerOwnMethod(x any, rv reflect.Value) bool {
	et := rv.Type().Elem()
	switch x.(type) {
	case *slog.Source:
		return true
	case error:
		return !et.Implements(errorIface)
	case fmt.Stringer:
		return !et.Implements(stringerIface)
	}
	return false
}

// appendByteList appends a slice or array of a byte type (a named one such
// as json.RawMessage, or [N]byte) as a bytesValue.
func (e *encoder) appendByteList(buf []byte, rv reflect.Value) []byte {
	n := rv.Len()
	if l := e.valueLenLimit; l > 0 && n > l {
		n = l
	}
	buf = append(buf, tagBytes)
	buf = appendVarint(buf, uint64(n))
	if rv.Kind() == reflect.Slice {
		return append(buf, rv.Bytes()[:n]...)
	}
	for i := range n {
		buf = append(buf, byte(rv.Index(i).Uint()))
	}
	return buf
}

// appendSourceValue appends a *slog.Source as slog.JSONHandler shows it: a
// kvlistValue of its non-empty function, file and line.
func (e *encoder) appendSourceValue(buf []byte, s *slog.Source) []byte {
	buf, lstart := openLen(buf, tagKvlist)
	if s.Function != "" {
		buf = e.appendStringKV(buf, tagListValue, "function", s.Function)
	}
	if s.File != "" {
		buf = e.appendStringKV(buf, tagListValue, "file", s.File)
	}
	if s.Line != 0 {
		buf = appendIntAttr(buf, tagListValue, "line", int64(s.Line))
	}
	return closeLen(buf, lstart)
}

// appendStringKV appends one KeyValue element (field tag) with a string
// value, under the attribute value limits.
func (e *encoder) appendStringKV(buf []byte, tag byte, key, val string) []byte {
	buf, start := openLen(buf, tag)
	buf = appendStringField(buf, tagKey, key, 0)
	buf, vstart := openLen(buf, tagValue)
	buf = e.appendStr(buf, val)
	buf = closeLen(buf, vstart)
	return closeLen(buf, start)
}

// appendElem encodes an element of a slice or map through slog's own
// conversion, so an int in a []any is an intValue like an int attribute.
func (e *encoder) appendElem(buf []byte, rv reflect.Value, depth int) []byte {
	if !rv.CanInterface() {
		return buf
	}
	v := slog.AnyValue(rv.Interface()).Resolve()
	mark := len(buf)
	buf, ok := e.appendValue(buf, v, depth)
	if !ok {
		// An empty group inside a list still needs a value in its place.
		return append(buf[:mark], tagKvlist, 0)
	}
	return buf
}
