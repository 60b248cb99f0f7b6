package slogotlp

import (
	"encoding/base64"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

// This file holds the OTLP/HTTP JSON side: the append-based JSON primitives
// and the transcoder that turns a queued protobuf LogRecord (otlpproto.go)
// into its OTLP/JSON object. Every function appends to a byte slice and
// returns it; none allocates except to grow the slice. The output is valid
// JSON for every input: invalid UTF-8 becomes U+FFFD and control characters
// are escaped.

const hexDigits = "0123456789abcdef"

// safeSet[b] is true for ASCII bytes that need no escaping in a JSON string.
var safeSet = func() (t [utf8.RuneSelf]bool) {
	for i := 0x20; i < utf8.RuneSelf; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

// appendString appends s as a quoted JSON string. (Strings are cut to
// MaxValueLen when a record is encoded, not here.)
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if safeSet[b] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers that
		// treat JSON as source; escaping them costs nothing.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// appendQuotedInt appends n as a JSON string: OTLP/JSON encodes 64-bit
// integers as decimal strings.
func appendQuotedInt(buf []byte, n int64) []byte {
	buf = append(buf, '"')
	buf = strconv.AppendInt(buf, n, 10)
	return append(buf, '"')
}

// appendDouble appends f as an OTLP doubleValue body. Non-finite values use
// the proto3 JSON strings "NaN", "Infinity" and "-Infinity".
func appendDouble(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}

// appendHex appends b as a quoted lowercase hex string, the OTLP/JSON form of
// trace and span ids.
func appendHex(buf []byte, b []byte) []byte {
	buf = append(buf, '"')
	for _, c := range b {
		buf = append(buf, hexDigits[c>>4], hexDigits[c&0xF])
	}
	return append(buf, '"')
}

// appendBase64 appends b as a quoted standard base64 string (bytesValue).
func appendBase64(buf []byte, b []byte) []byte {
	buf = append(buf, '"')
	buf = base64.StdEncoding.AppendEncode(buf, b)
	return append(buf, '"')
}

// closeList ends a JSON array whose elements were each written with a
// trailing comma.
func closeList(buf []byte) []byte {
	if n := len(buf); n > 0 && buf[n-1] == ',' {
		buf[n-1] = ']'
		return buf
	}
	return append(buf, ']')
}

// appendRecordJSON appends the OTLP/JSON LogRecord object for rec, a
// protobuf LogRecord as appendRecord writes it: the same fields in the same
// order, attributes (which appendRecord writes together) as one array.
func appendRecordJSON(buf, rec []byte) []byte {
	buf = append(buf, '{')
	inAttrs := false
	for f, rest, ok := nextField(rec); ok; f, rest, ok = nextField(rest) {
		if inAttrs && f.tag != tagAttribute {
			buf = closeList(buf)
			buf = append(buf, ',')
			inAttrs = false
		}
		switch f.tag {
		case tagTime:
			buf = append(buf, `"timeUnixNano":`...)
			buf = appendQuotedInt(buf, int64(f.num))
		case tagObservedTime:
			buf = append(buf, `"observedTimeUnixNano":`...)
			buf = appendQuotedInt(buf, int64(f.num))
		case tagSeverityNumber:
			buf = append(buf, `"severityNumber":`...)
			buf = strconv.AppendUint(buf, f.num, 10)
		case tagSeverityText:
			buf = append(buf, `"severityText":`...)
			buf = appendString(buf, string(f.data))
		case tagEventName:
			buf = append(buf, `"eventName":`...)
			buf = appendString(buf, string(f.data))
		case tagBody:
			buf = append(buf, `"body":`...)
			buf = appendAnyValueJSON(buf, f.data)
		case tagAttribute:
			if !inAttrs {
				buf = append(buf, `"attributes":[`...)
				inAttrs = true
			}
			buf = appendKeyValueJSON(buf, f.data)
			buf = append(buf, ',')
			continue
		case tagDroppedAttributes:
			buf = append(buf, `"droppedAttributesCount":`...)
			buf = strconv.AppendUint(buf, f.num, 10)
		case tagTraceID:
			buf = append(buf, `"traceId":`...)
			buf = appendHex(buf, f.data)
		case tagSpanID:
			buf = append(buf, `"spanId":`...)
			buf = appendHex(buf, f.data)
		case tagFlags:
			buf = append(buf, `"flags":`...)
			buf = strconv.AppendUint(buf, f.num, 10)
		default:
			continue // a field this transcoder does not write
		}
		buf = append(buf, ',')
	}
	if inAttrs {
		buf = closeList(buf)
		buf = append(buf, ',')
	}
	return closeObject(buf)
}

// closeObject ends a JSON object whose members were each written with a
// trailing comma.
func closeObject(buf []byte) []byte {
	if n := len(buf); n > 0 && buf[n-1] == ',' {
		buf[n-1] = '}'
		return buf
	}
	return append(buf, '}')
}

// appendEachJSON appends the JSON of every field of msg with tag, each
// followed by a comma: the elements of a list such as a Resource's
// attributes (with appendKeyValueJSON).
func appendEachJSON(buf, msg []byte, tag uint64, appendJSON func(buf, field []byte) []byte) []byte {
	for f, rest, ok := nextField(msg); ok; f, rest, ok = nextField(rest) {
		if f.tag == tag {
			buf = appendJSON(buf, f.data)
			buf = append(buf, ',')
		}
	}
	return buf
}

// appendKeyValueJSON appends {"key":...,"value":...} for a protobuf KeyValue.
func appendKeyValueJSON(buf, kv []byte) []byte {
	key, value := keyValue(kv)
	buf = append(buf, `{"key":`...)
	buf = appendString(buf, string(key))
	buf = append(buf, `,"value":`...)
	buf = appendAnyValueJSON(buf, value)
	return append(buf, '}')
}

// appendAnyValueJSON appends the OTLP/JSON form of a protobuf AnyValue.
func appendAnyValueJSON(buf, av []byte) []byte {
	f, _, ok := nextField(av)
	if !ok {
		return append(buf, "{}"...)
	}
	switch f.tag {
	case tagString:
		buf = append(buf, `{"stringValue":`...)
		buf = appendString(buf, string(f.data))
	case tagBool:
		buf = append(buf, `{"boolValue":`...)
		buf = strconv.AppendBool(buf, f.num != 0)
	case tagInt:
		buf = append(buf, `{"intValue":`...)
		buf = appendQuotedInt(buf, int64(f.num))
	case tagDouble:
		buf = append(buf, `{"doubleValue":`...)
		buf = appendDouble(buf, math.Float64frombits(f.num))
	case tagBytes:
		buf = append(buf, `{"bytesValue":`...)
		buf = appendBase64(buf, f.data)
	case tagArray:
		if len(f.data) == 0 {
			return append(buf, `{"arrayValue":{}}`...)
		}
		buf = append(buf, `{"arrayValue":{"values":[`...)
		for e, rest, ok := nextField(f.data); ok; e, rest, ok = nextField(rest) {
			buf = appendAnyValueJSON(buf, e.data)
			buf = append(buf, ',')
		}
		buf = closeList(buf)
		buf = append(buf, '}')
	case tagKvlist:
		if len(f.data) == 0 {
			return append(buf, `{"kvlistValue":{}}`...)
		}
		buf = append(buf, `{"kvlistValue":{"values":[`...)
		buf = appendEachJSON(buf, f.data, tagListValue, appendKeyValueJSON)
		buf = closeList(buf)
		buf = append(buf, '}')
	default:
		return append(buf, "{}"...)
	}
	return append(buf, '}')
}

// Buffers are pooled as pointers to slices, as log/slog does. They start at
// 1 KiB and buffers that grew past 16 KiB are left to the garbage collector
// so one huge record does not pin memory.
const (
	initialBufferSize = 1 << 10
	maxPooledBuffer   = 16 << 10
)

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, initialBufferSize)
	return &b
}}

func getBuffer() *[]byte { return bufPool.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
