package slogotlp

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// This file holds the append-based protobuf primitives of the OTLP messages
// this package writes. A record is encoded once, on the caller's goroutine,
// as a protobuf LogRecord; a payload is either those bytes framed as an
// ExportLogsServiceRequest, or the same records transcoded to OTLP/JSON
// (otlpjson.go). Like the JSON ones, every function appends to a byte slice
// and returns it, allocating only to grow it.
//
// Field numbers are those of opentelemetry-proto (collector/logs/v1,
// logs/v1, common/v1, resource/v1). Every field used has a number below 16,
// so every tag is one byte.

// Protobuf wire types.
const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

// The tags (field number << 3 | wire type) of the fields written and read.
const (
	// ExportLogsServiceRequest.resource_logs
	tagResourceLogs = 1<<3 | wireLen
	// ResourceLogs
	tagResource      = 1<<3 | wireLen
	tagScopeLogs     = 2<<3 | wireLen
	tagLogsSchemaURL = 3<<3 | wireLen
	// Resource.attributes
	tagResourceAttribute = 1<<3 | wireLen
	// ScopeLogs
	tagScope     = 1<<3 | wireLen
	tagLogRecord = 2<<3 | wireLen
	// InstrumentationScope
	tagScopeName      = 1<<3 | wireLen
	tagScopeVersion   = 2<<3 | wireLen
	tagScopeAttribute = 3<<3 | wireLen
	// LogRecord
	tagTime              = 1<<3 | wireI64
	tagSeverityNumber    = 2<<3 | wireVarint
	tagSeverityText      = 3<<3 | wireLen
	tagBody              = 5<<3 | wireLen
	tagAttribute         = 6<<3 | wireLen
	tagDroppedAttributes = 7<<3 | wireVarint
	tagFlags             = 8<<3 | wireI32
	tagTraceID           = 9<<3 | wireLen
	tagSpanID            = 10<<3 | wireLen
	tagObservedTime      = 11<<3 | wireI64
	tagEventName         = 12<<3 | wireLen
	// KeyValue
	tagKey   = 1<<3 | wireLen
	tagValue = 2<<3 | wireLen
	// AnyValue (a oneof)
	tagString = 1<<3 | wireLen
	tagBool   = 2<<3 | wireVarint
	tagInt    = 3<<3 | wireVarint
	tagDouble = 4<<3 | wireI64
	tagArray  = 5<<3 | wireLen
	tagKvlist = 6<<3 | wireLen
	tagBytes  = 7<<3 | wireLen
	// ArrayValue.values and KeyValueList.values
	tagListValue = 1<<3 | wireLen
	// ExportLogsServiceResponse.partial_success, and its fields
	tagPartialSuccess = 1<<3 | wireLen
	tagRejected       = 1<<3 | wireVarint
	tagErrorMessage   = 2<<3 | wireLen
)

// appendVarint appends v as a base-128 varint.
func appendVarint(buf []byte, v uint64) []byte {
	for v >= 0x80 {
		buf = append(buf, byte(v)|0x80)
		v >>= 7
	}
	return append(buf, byte(v))
}

// varintLen is the number of bytes appendVarint writes for v.
func varintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func appendFixed64(buf []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(buf, v) }
func appendFixed32(buf []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(buf, v) }

// openLen starts a length-delimited field: it appends tag and a one-byte
// placeholder for the length, and returns where the content starts.
func openLen(buf []byte, tag byte) ([]byte, int) {
	buf = append(buf, tag, 0)
	return buf, len(buf)
}

// closeLen ends the field openLen started at start: it writes the content's
// length into the placeholder, moving the content up when the length needs
// more than one byte (content of 128 bytes or more: a memmove, no
// allocation once the buffer has room).
func closeLen(buf []byte, start int) []byte {
	n := len(buf) - start
	if n < 0x80 {
		buf[start-1] = byte(n)
		return buf
	}
	extra := varintLen(uint64(n)) - 1
	buf = append(buf, make([]byte, extra)...)
	copy(buf[start+extra:], buf[start:start+n])
	appendVarint(buf[start-1:start-1], uint64(n))
	return buf
}

// appendBytesField appends a length-delimited field holding b.
func appendBytesField(buf []byte, tag byte, b []byte) []byte {
	buf = append(buf, tag)
	buf = appendVarint(buf, uint64(len(b)))
	return append(buf, b...)
}

// appendValidString appends a string field holding s, which the caller has
// already made valid UTF-8 (attribute keys, by collect).
func appendValidString(buf []byte, tag byte, s string) []byte {
	buf = append(buf, tag)
	buf = appendVarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// ellipsis ends a string cut to MaxValueLen, so a reader sees that it was
// shortened.
const ellipsis = "…"

// cutPoint returns how many leading bytes of s (valid UTF-8, longer than
// max) to keep so that they, followed by "…" when the result says so, fit in
// max bytes: the cut falls on a rune boundary. A limit too small to hold
// the ellipsis and some text is cut without one.
func cutPoint[T string | []byte](s T, max int) (n int, mark bool) {
	n, mark = max, false
	if max > len(ellipsis) {
		n, mark = max-len(ellipsis), true
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n, mark
}

// runePrefix returns s cut to at most n characters (each invalid byte
// counting as one, as it becomes one U+FFFD); n <= 0 means no limit.
func runePrefix(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	i := 0
	for c := 0; c < n && i < len(s); c++ {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// appendStringField appends a string field holding s with each invalid
// UTF-8 byte replaced by U+FFFD (protobuf strings must be valid UTF-8, and
// one bad byte must not cost a receiver the whole payload), cut when it
// would be longer than max bytes (max <= 0: no limit) to at most max bytes
// that end in "…".
func appendStringField(buf []byte, tag byte, s string, max int) []byte {
	if utf8.ValidString(s) {
		if max <= 0 || len(s) <= max {
			return appendValidString(buf, tag, s)
		}
		n, mark := cutPoint(s, max)
		l := n
		if mark {
			l += len(ellipsis)
		}
		buf = append(buf, tag)
		buf = appendVarint(buf, uint64(l))
		buf = append(buf, s[:n]...)
		if mark {
			buf = append(buf, ellipsis...)
		}
		return buf
	}
	buf, start := openLen(buf, tag)
	buf = appendValidUTF8(buf, s)
	if max > 0 && len(buf)-start > max {
		// Cut what was written, now valid, so that the replacement
		// characters count at their written size.
		n, mark := cutPoint(buf[start:], max)
		buf = buf[:start+n]
		if mark {
			buf = append(buf, ellipsis...)
		}
	}
	return closeLen(buf, start)
}

// appendValidUTF8 appends s with each invalid byte replaced by U+FFFD.
func appendValidUTF8(buf []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(buf, s[start:]...)
}

// appendIntAttr appends one complete KeyValue element (field tag) with an
// int value.
func appendIntAttr(buf []byte, tag byte, key string, n int64) []byte {
	buf, start := openLen(buf, tag)
	buf = appendStringField(buf, tagKey, key, 0)
	buf, vstart := openLen(buf, tagValue)
	buf = append(buf, tagInt)
	buf = appendVarint(buf, uint64(n))
	buf = closeLen(buf, vstart)
	return closeLen(buf, start)
}

// protoField is one field read from a message: its tag, and either its
// varint or fixed value (num) or its content (data).
type protoField struct {
	tag  uint64
	num  uint64
	data []byte
}

// nextField reads the first field of msg and returns it with the rest. ok is
// false at the end of msg or at malformed input, which this package never
// writes; readers stop there rather than panic.
func nextField(msg []byte) (f protoField, rest []byte, ok bool) {
	tag, n := readVarint(msg)
	if n <= 0 {
		return f, nil, false
	}
	f.tag, msg = tag, msg[n:]
	switch tag & 7 {
	case wireVarint:
		f.num, n = readVarint(msg)
		if n <= 0 {
			return f, nil, false
		}
		return f, msg[n:], true
	case wireI64:
		if len(msg) < 8 {
			return f, nil, false
		}
		return protoField{tag: tag, num: binary.LittleEndian.Uint64(msg)}, msg[8:], true
	case wireI32:
		if len(msg) < 4 {
			return f, nil, false
		}
		return protoField{tag: tag, num: uint64(binary.LittleEndian.Uint32(msg))}, msg[4:], true
	case wireLen:
		l, n := readVarint(msg)
		if n <= 0 || l > uint64(len(msg)-n) {
			return f, nil, false
		}
		f.data = msg[n : n+int(l)]
		return f, msg[n+int(l):], true
	}
	return f, nil, false
}

// keyValue splits a KeyValue message.
func keyValue(kv []byte) (key, val []byte) { return fieldPair(kv, tagKey, tagValue) }

// fieldPair returns the contents of msg's fields a and b (the last of each,
// nil when missing), as of a KeyValue or an InstrumentationScope.
func fieldPair(msg []byte, a, b uint64) (x, y []byte) {
	for f, rest, ok := nextField(msg); ok; f, rest, ok = nextField(rest) {
		switch f.tag {
		case a:
			x = f.data
		case b:
			y = f.data
		}
	}
	return x, y
}

// readVarint decodes a varint at the start of b and returns it with its
// length; the length is 0 when b ends first and -1 when it overflows.
func readVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	if len(b) >= 10 {
		return 0, -1
	}
	return 0, 0
}
