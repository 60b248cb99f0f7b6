package slogotlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

// syncBuffer is a bytes.Buffer safe for the export goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// consoleLines logs with log through a handler on a ConsoleExporter and
// returns what it printed.
func consoleLines(t *testing.T, opts ConsoleOptions, hopts *HandlerOptions, log func(*slog.Logger)) string {
	t.Helper()
	var buf syncBuffer
	if hopts == nil {
		hopts = &HandlerOptions{Level: LevelTrace}
	}
	h := NewHandler(NewConsoleExporter(&buf, &opts), hopts)
	log(slog.New(h))
	require.NoError(t, h.Shutdown(context.Background()))
	checkStats(t, h.Stats())
	return buf.String()
}

// errWithStack formats itself with a stack under %+v, as
// github.com/pkg/errors does.
type errWithStack struct{}

func (errWithStack) Error() string { return "disk full" }
func (e errWithStack) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('+') {
		_, _ = io.WriteString(f, "disk full\nmain.write()\n\t/src/main.go:12\n")
		return
	}
	_, _ = io.WriteString(f, e.Error())
}

func TestConsoleExporterLines(t *testing.T) {
	plain := ConsoleOptions{Colors: ColorsNever, NoTimestamp: true}
	for _, tc := range []struct {
		name string
		opts ConsoleOptions
		log  func(*slog.Logger)
		want string
	}{
		{"kinds", plain, func(l *slog.Logger) {
			l.Info("user signed in", "user_id", 42, "plan", "pro", "ratio", 0.5, "ok", true, "latency", 12*time.Millisecond,
				"name", "Jane Doe", "empty", "", "eq", "a=b", "raw", []byte("hi"), "list", []string{"a", "b c"})
		}, `INFO  user signed in user_id=42 plan=pro ratio=0.5 ok=true latency=12000000 name="Jane Doe" empty="" eq="a=b" raw=aGk= list=[a,"b c"]` + "\n"},
		{"levels", plain, func(l *slog.Logger) {
			l.Log(context.Background(), LevelTrace, "t")
			l.Debug("d")
			l.Warn("w")
			l.Log(context.Background(), slog.LevelWarn+2, "w2")
			l.Error("e")
			l.Log(context.Background(), LevelFatal, "f")
		}, "TRACE t\nDEBUG d\nWARN  w\nWARN+2 w2\nERROR e\nFATAL f\n"},
		{"groups flatten with dots", plain, func(l *slog.Logger) {
			l.With("svc", "api").WithGroup("http").Info("req", "method", "GET", slog.Group("url", "path", "/x"), slog.Group("empty"))
		}, "INFO  req svc=api http.method=GET http.url.path=/x\n"},
		{"map values", plain, func(l *slog.Logger) {
			l.Info("m", "m", map[string]int{"a": 1})
		}, "INFO  m m.a=1\n"},
		{"tags after the message", plain, func(l *slog.Logger) {
			l.Info("tagged", "logfire.tags", []string{"billing", "eu"}, "k", "v")
		}, "INFO  tagged [billing,eu] k=v\n"},
		{"no tags", ConsoleOptions{Colors: ColorsNever, NoTimestamp: true, NoTags: true}, func(l *slog.Logger) {
			l.Info("tagged", "logfire.tags", []string{"billing"}, "k", "v")
		}, "INFO  tagged k=v\n"},
		{"control characters escaped", plain, func(l *slog.Logger) {
			l.Info("two\nlines\x1b[31m", "k\n", "v\x00")
		}, `INFO  two\nlines\x1b[31m "k\n"="v\x00"` + "\n"},
		{"exception with its stack below", plain, func(l *slog.Logger) {
			l.Error("write failed", "err", errWithStack{})
		}, "ERROR write failed exception.type=github.com/soliplex/slogotlp.errWithStack exception.message=\"disk full\" err=\"disk full\"\n" +
			"    disk full\n    main.write()\n    \t/src/main.go:12\n"},
		{"verbose", ConsoleOptions{Colors: ColorsNever, NoTimestamp: true, Verbose: true}, func(l *slog.Logger) {
			tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
			sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
			ctx := trace.ContextWithSpanContext(context.Background(),
				trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
			l.WithGroup("g").InfoContext(ctx, "hello", "a", 1, "b", "x y")
		}, "INFO  hello\n│ trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7\n│ g.a=1\n│ g.b=\"x y\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := consoleLines(t, tc.opts, nil, tc.log)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestConsoleExporterTimestampAndColors(t *testing.T) {
	got := consoleLines(t, ConsoleOptions{Colors: ColorsNever}, nil, func(l *slog.Logger) { l.Info("x") })
	assert.Regexp(t, `^\d\d:\d\d:\d\d\.\d{3} INFO  x\n$`, got)

	when := time.Date(2026, 3, 4, 5, 6, 7, 891e6, time.Local)
	got = consoleLines(t, ConsoleOptions{Colors: ColorsAlways}, nil, func(l *slog.Logger) {
		r := slog.NewRecord(when, slog.LevelError, "boom", 0)
		r.AddAttrs(slog.Int("n", 1))
		_ = l.Handler().Handle(context.Background(), r)
	})
	assert.Equal(t, ansiGreen+"05:06:07.891"+ansiReset+" "+ansiRed+"ERROR"+ansiReset+" "+ansiRed+"boom"+ansiReset+
		" "+ansiDim+"n="+ansiReset+"1\n", got)
	plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(got, "")
	assert.Equal(t, "05:06:07.891 ERROR boom n=1\n", plain)
}

func TestConsoleExporterAutoColors(t *testing.T) {
	assert.False(t, NewConsoleExporter(&bytes.Buffer{}, nil).colors, "a buffer is no terminal")
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, NewConsoleExporter(f, nil).colors, "a file is no terminal")
	assert.True(t, NewConsoleExporter(f, &ConsoleOptions{Colors: ColorsAlways}).colors)
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		t.Setenv("NO_COLOR", "")
		assert.True(t, NewConsoleExporter(tty, nil).colors, "a terminal")
		t.Setenv("NO_COLOR", "1")
		assert.False(t, NewConsoleExporter(tty, nil).colors, "NO_COLOR")
	}
	assert.Equal(t, os.Stderr, NewConsoleExporter(nil, nil).w, "stderr by default")
}

// TestConsoleExporterRecordByRecord: each record is printed as soon as it
// is logged, without a flush, INFO too.
func TestConsoleExporterRecordByRecord(t *testing.T) {
	var buf syncBuffer
	h := NewHandler(NewConsoleExporter(&buf, &ConsoleOptions{NoTimestamp: true}), nil)
	defer h.Shutdown(context.Background())
	slog.New(h).Info("first")
	require.Eventually(t, func() bool { return buf.String() == "INFO  first\n" }, 5*time.Second, time.Millisecond)
	slog.New(h).Info("second")
	require.Eventually(t, func() bool { return strings.HasSuffix(buf.String(), "INFO  second\n") }, 5*time.Second, time.Millisecond)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("closed pipe") }

func TestConsoleExporterErrors(t *testing.T) {
	e := NewConsoleExporter(failingWriter{}, nil)
	payload := consolePayload(t)
	res := e.Export(context.Background(), payload, 1)
	assert.Equal(t, ExportFatal, res.Outcome)
	assert.ErrorContains(t, res.Err, "closed pipe")

	var buf bytes.Buffer
	e = NewConsoleExporter(&buf, nil)
	for _, bad := range [][]byte{
		[]byte(`{"resourceLogs":[]}`), // JSON
		payload[:len(payload)-3],      // cut short
		{tagResourceLogs, 3, tagScopeLogs, 1, 0xff},
	} {
		res := e.Export(context.Background(), bad, 1)
		assert.Equal(t, ExportRejected, res.Outcome, "%q", bad)
	}
	assert.Empty(t, buf.String())
	assert.Equal(t, Result{}, e.Export(context.Background(), nil, 0), "an empty payload prints nothing")
	assert.NoError(t, e.Shutdown(context.Background()))
}

// consolePayload is a protobuf payload of one record, as the handler
// frames it.
func consolePayload(t *testing.T) []byte {
	t.Helper()
	var got []byte
	exp := &funcExporter{format: FormatProtobuf, f: func(p []byte) { got = append([]byte(nil), p...) }}
	h := NewHandler(exp, nil)
	slog.New(h).Info("x", "k", "v")
	require.NoError(t, h.Shutdown(context.Background()))
	require.NotEmpty(t, got)
	return got
}

type funcExporter struct {
	format WireFormat
	f      func([]byte)
}

func (e *funcExporter) WireFormat() WireFormat { return e.format }
func (e *funcExporter) Export(_ context.Context, p []byte, _ int) Result {
	e.f(p)
	return Result{}
}
func (e *funcExporter) Shutdown(context.Context) error { return nil }

// TestConsoleExporterOddRecords covers what the handler does not write but
// another producer of protobuf might: no severity text, a structured body,
// an event name alone, an empty value, deep nesting.
func TestConsoleExporterOddRecords(t *testing.T) {
	rec := func(fields ...[]byte) []byte {
		var r []byte
		for _, f := range fields {
			r = append(r, f...)
		}
		var sl, rl, req []byte
		sl = appendBytesField(sl, tagLogRecord, r)
		rl = appendBytesField(rl, tagScopeLogs, sl)
		req = appendBytesField(req, tagResourceLogs, rl)
		return req
	}
	sev := func(n uint64) []byte { return appendVarint([]byte{tagSeverityNumber}, n) }
	str := func(tag byte, s string) []byte { return appendStringField(nil, tag, s, 0) }
	kv := func(key string, value []byte) []byte {
		var b []byte
		b = appendStringField(b, tagKey, key, 0)
		b = appendBytesField(b, tagValue, value)
		return appendBytesField(nil, tagAttribute, b)
	}
	nested := str(tagString, "deep")
	for range maxDepth + 2 {
		nested = appendBytesField(nil, tagArray, appendBytesField(nil, tagListValue, nested))
	}
	var buf bytes.Buffer
	e := NewConsoleExporter(&buf, &ConsoleOptions{Colors: ColorsNever, NoTimestamp: true})
	for _, p := range [][]byte{
		rec(sev(0), str(tagEventName, "user.login")),
		rec(sev(3), appendBytesField(nil, tagBody, appendBytesField(nil, tagKvlist, nil))),
		rec(sev(22), appendBytesField(nil, tagBody, append([]byte{tagInt}, appendVarint(nil, 7)...)),
			kv("nil", nil), kv("deep", nested), kv("odd", []byte{0x78, 0x01}),
			kv("f", appendFixed64([]byte{tagDouble}, math.Float64bits(math.Inf(1))))),
	} {
		require.Equal(t, Result{}, e.Export(context.Background(), p, 1))
	}
	assert.Equal(t, "-     user.login\nTRACE {}\nFATAL 7 nil=<nil> deep=[[[[[[[[[[[[[[[[!DEPTH]]]]]]]]]]]]]]]] odd=<unknown> f=+Inf\n", buf.String())
}
