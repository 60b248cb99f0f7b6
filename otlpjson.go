package slogotlp

import (
	"encoding/base64"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// This file holds the append-based OTLP/HTTP JSON primitives. Every function
// appends to a byte slice and returns it; none allocates except to grow the
// slice. The output is valid JSON for every input: invalid UTF-8 becomes
// U+FFFD and control characters are escaped.

const hexDigits = "0123456789abcdef"

// safeSet[b] is true for ASCII bytes that need no escaping in a JSON string.
var safeSet = func() (t [utf8.RuneSelf]bool) {
	for i := 0x20; i < utf8.RuneSelf; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

// appendString appends s as a quoted JSON string, cut to at most max bytes of
// input (max <= 0 means no limit). A cut string ends in "…" so a reader sees
// that it was shortened.
func appendString(buf []byte, s string, max int) []byte {
	truncated := false
	if max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, truncated = s[:cut], true
	}
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
	if truncated {
		buf = append(buf, "…"...)
	}
	return append(buf, '"')
}

// appendQuotedInt appends n as a JSON string: OTLP/JSON encodes 64-bit
// integers as decimal strings.
func appendQuotedInt(buf []byte, n int64) []byte {
	buf = append(buf, '"')
	buf = strconv.AppendInt(buf, n, 10)
	return append(buf, '"')
}

// appendUnixNano appends t as a quoted decimal count of nanoseconds since the
// Unix epoch.
func appendUnixNano(buf []byte, t time.Time) []byte {
	return appendQuotedInt(buf, t.UnixNano())
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

// appendKey appends the start of a KeyValue element: {"key":"k","value":
func appendKey(buf []byte, key string) []byte {
	buf = append(buf, `{"key":`...)
	buf = appendString(buf, key, 0)
	return append(buf, `,"value":`...)
}

// appendStringAttr appends one complete KeyValue element with a string value,
// followed by a comma.
func appendStringAttr(buf []byte, key, val string, max int) []byte {
	buf = appendKey(buf, key)
	buf = append(buf, `{"stringValue":`...)
	buf = appendString(buf, val, max)
	return append(buf, "}},"...)
}

// appendIntAttr appends one complete KeyValue element with an int value,
// followed by a comma.
func appendIntAttr(buf []byte, key string, n int64) []byte {
	buf = appendKey(buf, key)
	buf = append(buf, `{"intValue":`...)
	buf = appendQuotedInt(buf, n)
	return append(buf, "}},"...)
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
