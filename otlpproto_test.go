package slogotlp

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCloseLenMovesLongContent: a length-delimited field whose content
// reaches 128 bytes needs a longer length prefix than the placeholder; the
// content must move up intact, also when fields nest.
func TestCloseLenMovesLongContent(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1 << 21} {
		content := strings.Repeat("x", n)
		buf, start := openLen([]byte("head"), tagBody)
		buf, inner := openLen(buf, tagString)
		buf = append(buf, content...)
		buf = closeLen(buf, inner)
		buf = closeLen(buf, start)

		require.Equal(t, "head", string(buf[:4]))
		f, rest, ok := nextField(buf[4:])
		require.True(t, ok, "n=%d", n)
		assert.Empty(t, rest)
		assert.Equal(t, uint64(tagBody), f.tag)
		g, rest, ok := nextField(f.data)
		require.True(t, ok)
		assert.Empty(t, rest)
		assert.Equal(t, content, string(g.data))
		assert.Equal(t, 1+varintLen(uint64(n))+n, len(f.data))
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 300, 1<<32 - 1, 1<<63 + 5, ^uint64(0)} {
		b := appendVarint(nil, v)
		assert.Len(t, b, varintLen(v), "%d", v)
		got, n := readVarint(b)
		assert.Equal(t, v, got)
		assert.Equal(t, len(b), n)
	}
	_, n := readVarint([]byte{0x80, 0x80})
	assert.Zero(t, n, "a varint cut short")
	_, n = readVarint([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	assert.Equal(t, -1, n, "more than 10 bytes")
	_, _, ok := nextField([]byte{tagString, 5, 'a'})
	assert.False(t, ok, "a length past the end is refused, not read")
}

// TestStringFieldIsValidUTF8: protobuf strings must be valid UTF-8; each
// invalid byte becomes U+FFFD, and a cut keeps whole runes, says so with
// "…", and is never longer than the limit, the "…" and the replacement
// characters included.
func TestStringFieldIsValidUTF8(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 0, "plain"},
		{"bad \xff\xfe byte", 0, "bad \uFFFD\uFFFD byte"},
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abc…"},
		{"héllo", 5, "h…"},   // "é" does not fit beside the ellipsis
		{"héllo!", 6, "hé…"}, // exactly the limit
		{"abcdef", 3, "abc"}, // too small for the ellipsis: a plain cut
		{"héllo", 2, "h"},
		{"ab\xffcdef", 4, "a…"},
		{"ab\xffcdef", 7, "ab…"}, // counted as written: U+FFFD is 3 bytes
		{"ab\xffcdef", 8, "ab\uFFFD…"},
		{"\xff\xff\xff\xff", 8, "\uFFFD…"},
		{"日本語です", 9, "日本…"},
	} {
		f, _, ok := nextField(appendStringField(nil, tagString, tt.in, tt.max))
		require.True(t, ok)
		assert.Equal(t, tt.want, string(f.data), "%q max %d", tt.in, tt.max)
		if tt.max > 0 {
			assert.LessOrEqual(t, len(f.data), tt.max, "%q max %d", tt.in, tt.max)
		}
		assert.True(t, utf8.Valid(f.data))
	}
}

// TestRunePrefix: the attribute value length limit counts characters, and
// each invalid byte as one (it becomes one U+FFFD).
func TestRunePrefix(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"héllo", 0, "héllo"},
		{"héllo", 5, "héllo"},
		{"héllo", 2, "hé"},
		{"a\xffb", 2, "a\xff"},
		{"日本語", 1, "日"},
	} {
		assert.Equal(t, tt.want, runePrefix(tt.in, tt.n), "%q %d", tt.in, tt.n)
	}
}

func TestProtoPartialSuccess(t *testing.T) {
	var msg []byte
	msg, start := openLen(msg, tagPartialSuccess)
	msg = append(msg, tagRejected)
	msg = appendVarint(msg, 3)
	msg = appendStringField(msg, tagErrorMessage, "too old", 0)
	msg = closeLen(msg, start)
	n, text, ok := protoPartialSuccess(msg)
	assert.True(t, ok)
	assert.Equal(t, int64(3), n)
	assert.Equal(t, "too old", text)

	_, _, ok = protoPartialSuccess(nil)
	assert.False(t, ok, "an empty response is a full success")
}

// TestHTTPExporterProtobuf: with FormatProtobuf the handler builds protobuf
// payloads and the exporter labels them so; a protobuf partial success in
// the answer is counted.
func TestHTTPExporterProtobuf(t *testing.T) {
	var partial []byte
	partial, start := openLen(partial, tagPartialSuccess)
	partial = append(partial, tagRejected, 1)
	partial = appendStringField(partial, tagErrorMessage, "timestamp too old", 0)
	partial = closeLen(partial, start)
	rc := newReceiver(t, reply(200, map[string]string{"Content-Type": "application/x-protobuf"}, string(partial)))
	exp, err := NewHTTPExporter(rc.URL+"/v1/logs", &HTTPExporterOptions{Format: FormatProtobuf})
	require.NoError(t, err)
	assert.Equal(t, FormatProtobuf, exp.WireFormat())
	var errs []error
	h := NewHandler(exp, &HandlerOptions{OnError: func(err error) { errs = append(errs, err) }, DropReportInterval: -1})
	slog.New(h).Info("one", "k", 1)
	slog.New(h).Info("two", "k", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = h.Shutdown(ctx)
	var de *DeliveryError
	require.ErrorAs(t, err, &de)
	assert.Contains(t, err.Error(), "rejected 1 of 2 records (timestamp too old)")

	reqs := rc.all()
	require.NotEmpty(t, reqs)
	assert.Equal(t, "application/x-protobuf", reqs[0].header.Get("Content-Type"))
	assert.NotEqual(t, byte('{'), reqs[0].plain[0], "a protobuf body")
	s := h.Stats()
	assert.Equal(t, uint64(2), s.Handled)
	assert.Equal(t, uint64(len(reqs)), s.Dropped.Rejected, "one rejected per request, as the receiver said")
	require.NotEmpty(t, errs)
	assert.Contains(t, errs[0].Error(), "timestamp too old")

	_, err = NewHTTPExporter(rc.URL, &HTTPExporterOptions{Format: 7})
	assert.ErrorContains(t, err, "unknown Format 7")
	_, err = NewProxyExporter(rc.URL, "jwt", &ProxyOptions{HTTPExporterOptions: HTTPExporterOptions{Format: FormatProtobuf}})
	assert.ErrorContains(t, err, "the relay takes OTLP/JSON only")
}
