//go:build unix && !aix && !solaris

package slogotlp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// toggleExporter is a captureExporter that answers Offline while down.
type toggleExporter struct {
	captureExporter
	down atomic.Bool
}

func (e *toggleExporter) Export(ctx context.Context, p []byte, n int) Result {
	if e.down.Load() {
		return Result{Outcome: ExportRetryable, Offline: true, Err: errors.New("slogotlp: could not reach the receiver: connection refused")}
	}
	return e.captureExporter.Export(ctx, p, n)
}

// diskError is what the OS returns for err on a spool file.
func diskError(f *os.File, err error) error {
	return &fs.PathError{Op: "write", Path: f.Name(), Err: err}
}

// TestSpoolDiskFull: when the disk refuses a put (full), the records are
// counted as Dropped.SpoolFailed, OnError hears a clear error that names
// no path, Shutdown's error counts them, and logging goes on in memory:
// once the receiver is back, later records are delivered.
func TestSpoolDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(*batcher)
		want string
	}{
		{"disk full", func(b *batcher) {
			b.spool.write = func(f *os.File, _ []byte) error { return diskError(f, syscall.ENOSPC) }
		}, "is full; free space there or lower the spool's size bound"},
		{"read-only", func(b *batcher) {
			b.spool.create = func(path string) (*os.File, error) {
				return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.EROFS}
			}
		}, "is not writable; make it writable by this user, or choose another spool directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			exp := &toggleExporter{}
			exp.down.Store(true)
			var el errLog
			o := spoolOpts(root, &el)
			o.MaxQueueSize, o.BatchSize = 8, 4
			h := newHandler(exp, o, tc.hook)
			l := slog.New(h)
			l.Error("probe")
			require.Eventually(t, func() bool { return h.Stats().Offline }, 10*time.Second, time.Millisecond)
			for range 20 {
				require.NoError(t, h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0)))
			}
			const lost = "could not be written to the disk spool and are lost"
			require.Eventually(t, func() bool { return len(el.with(lost)) > 0 }, 10*time.Second, time.Millisecond)
			assert.Positive(t, h.Stats().Dropped.SpoolFailed)
			reports := el.with(lost)
			assert.Contains(t, reports[0], tc.want)
			assert.Contains(t, reports[0], spoolRootLabel)
			for _, r := range el.texts() {
				assert.NotContains(t, r, root, "errors name <SpoolDir>, not the path")
			}

			exp.down.Store(false)
			require.Eventually(t, func() bool { return !h.Stats().Offline }, 10*time.Second, time.Millisecond)
			l.Error("after")
			err := shutdown(t, h)
			s := h.Stats()
			var de *DeliveryError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, s.Dropped.SpoolFailed, de.Dropped.SpoolFailed)
			assert.Contains(t, err.Error(), "spool_failed")
			assert.Zero(t, s.Spooled)
			bodies := exp.texts()
			assert.Contains(t, bodies[len(bodies)-1], `"after"`, "logging goes on")
			assert.Empty(t, spoolNames(t, spoolDirOf(t, h)), "a failed put leaves no file behind")
		})
	}
}

// TestSpoolOpenFails: a spool directory that cannot be used turns the
// spool off with one clear error to OnError; records are exported as
// without a spool.
func TestSpoolOpenFails(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notDir, nil, 0o600))
	open := filepath.Join(t.TempDir(), "open")
	require.NoError(t, os.Mkdir(open, 0o700))
	require.NoError(t, os.Chmod(open, 0o777)) // past the umask
	cases := []struct{ name, dir, want string }{
		{"not a directory", notDir, "not a directory"},
		{"writable by others", open, "writable by other users"},
		{"not a key", t.TempDir(), "is not a key this library wrote"},
	}
	require.NoError(t, os.WriteFile(filepath.Join(cases[2].dir, spoolKeyName), []byte("short"), 0o600))
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(t.TempDir(), "ro")
		require.NoError(t, os.Mkdir(ro, 0o500))
		cases = append(cases, struct{ name, dir, want string }{"read-only", ro, "not writable"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var el errLog
			h, exp := newTestHandler(t, spoolOpts(tc.dir, &el))
			slog.New(h).Error("kept in memory")
			flush(t, h)
			assert.Equal(t, 1, exp.count(t))
			require.Len(t, el.texts(), 1, "%q", el.texts())
			msg := el.texts()[0]
			assert.Contains(t, msg, "the disk spool is off, records are kept in memory only")
			assert.Contains(t, msg, tc.want)
			assert.Nil(t, h.c.b.spool)
		})
	}
}

// TestSpoolSubdirPerDestination: destinations that differ in endpoint or
// credentials get different sub-directories, the same destination the same
// one; a relay's session token, which changes with every sign-in, does not
// count. No name shows a credential, or its plain hash.
func TestSpoolSubdirPerDestination(t *testing.T) {
	root := t.TempDir()
	sub := func(exp Exporter) string {
		t.Helper()
		s, _, err := openDestSpool(root, 0, spoolIdentity(exp, "default"))
		require.NoError(t, err)
		require.NoError(t, s.close())
		return filepath.Base(s.dir)
	}
	otlp := func(url, key string) Exporter {
		exp, err := NewHTTPExporter(url, &HTTPExporterOptions{Headers: Headers{"Api-Key": NewSecret(key)}, UserAgent: key + "-agent"})
		require.NoError(t, err)
		return exp
	}
	logfire := func(token string) Exporter {
		exp, err := NewLogfireExporter(token, nil)
		require.NoError(t, err)
		return exp
	}
	relay := func(token string) Exporter {
		exp, err := NewProxyExporter("https://app.example/api/v1/telemetry/logs", token, nil)
		require.NoError(t, err)
		return exp
	}
	a := sub(otlp("https://a.example/v1/logs", "key1"))
	assert.Equal(t, a, sub(otlp("https://a.example/v1/logs", "key1")), "same destination, same directory")
	assert.NotEqual(t, a, sub(otlp("https://a.example/v1/logs", "key2")), "another key")
	assert.NotEqual(t, a, sub(otlp("https://b.example/v1/logs", "key1")), "another endpoint")
	lf1, lf2 := sub(logfire("pylf_v1_us_token1")), sub(logfire("pylf_v1_us_token2"))
	assert.NotEqual(t, lf1, lf2, "two Logfire projects")
	assert.Equal(t, sub(relay("session1")), sub(relay("session2")), "a relay's session token changes")
	assert.Equal(t, sub(&captureExporter{}), sub(&captureExporter{}))
	assert.NotEqual(t, sub(&captureExporter{}), sub(&answerExporter{}), "an exporter of the caller's by its type")

	plain := sha256.Sum256(spoolIdentity(logfire("pylf_v1_us_token1"), "default"))
	assert.NotContains(t, lf1, hex.EncodeToString(plain[:])[:16], "a keyed hash, not a plain one")
	des, err := os.ReadDir(root)
	require.NoError(t, err)
	for _, de := range des {
		for _, secret := range []string{"key1", "key2", "token1", "token2", "session"} {
			assert.NotContains(t, de.Name(), secret)
		}
	}

	// Another root has another key: the same destination, another name.
	other, _, err := openDestSpool(t.TempDir(), 0, spoolIdentity(logfire("pylf_v1_us_token1"), "default"))
	require.NoError(t, err)
	require.NoError(t, other.close())
	assert.NotEqual(t, lf1, filepath.Base(other.dir))
}

// TestSpoolFilesPrivate: the spool's directories are 0700 and its files
// 0600, and a spooled payload holds nothing the exporter would not have
// sent: redaction runs before encoding, and no path is in it.
func TestSpoolFilesPrivate(t *testing.T) {
	root := filepath.Join(t.TempDir(), "new", "spool")
	exp := &toggleExporter{}
	exp.down.Store(true)
	var el errLog
	h := NewHandler(exp, spoolOpts(root, &el))
	l := slog.New(Redact(nil)(h))
	l.Info("signing in", "user", "ada", "password", "hunter2-secret", "dsn", "postgres://u:pw0rd-secret@db/x")
	require.NoError(t, shutdown(t, h))
	require.Equal(t, uint64(1), h.Stats().Spooled)
	sub := spoolDirOf(t, h)

	for _, dir := range []string{root, sub} {
		fi, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), dir)
	}
	fi, err := os.Stat(filepath.Join(root, spoolKeyName))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	names := spoolNames(t, sub)
	require.Len(t, names, 1)
	fi, err = os.Stat(filepath.Join(sub, names[0]))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	data, err := os.ReadFile(filepath.Join(sub, names[0]))
	require.NoError(t, err)
	assert.Contains(t, string(data), "ada")
	for _, secret := range []string{"hunter2-secret", "pw0rd-secret", root, sub, "spool"} {
		assert.NotContains(t, string(data), secret)
	}
}

// TestSpoolPathNeverExported: the spool's path reaches no exported record,
// even when OnError logs the spool's errors through the handler.
func TestSpoolPathNeverExported(t *testing.T) {
	root := t.TempDir()
	exp := &toggleExporter{}
	exp.down.Store(true)
	var h *Handler
	var el errLog
	o := spoolOpts(root, nil)
	o.OnError = func(err error) {
		slog.New(h).Error("export trouble", "err", err) // ERROR: the last to be evicted
		el.add(err)
	}
	o.MaxQueueSize, o.BatchSize = 8, 4
	h = newHandler(exp, o, func(b *batcher) {
		b.spool.write = func(f *os.File, _ []byte) error { return diskError(f, syscall.ENOSPC) }
	})
	l := slog.New(h)
	l.Error("probe")
	require.Eventually(t, func() bool { return h.Stats().Offline }, 10*time.Second, time.Millisecond)
	for range 20 {
		l.Info("m")
	}
	require.Eventually(t, func() bool { return len(el.with(spoolRootLabel)) > 0 }, 10*time.Second, time.Millisecond)
	exp.down.Store(false)
	require.Eventually(t, func() bool { return !h.Stats().Offline }, 10*time.Second, time.Millisecond)
	_ = shutdown(t, h)
	sawReport := false
	for _, p := range exp.texts() {
		assert.NotContains(t, p, root)
		sawReport = sawReport || strings.Contains(p, spoolRootLabel)
	}
	assert.True(t, sawReport, "the errors were exported, without the path")
}

// TestSpoolShutdownCutoff: a receiver that takes the connection but never
// answers does not cost the records: Shutdown cuts the exports off early
// enough to write them to disk, and returns nil.
func TestSpoolShutdownCutoff(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	var el errLog
	h := NewHandler(httpExporter(t, rc, nil), spoolOpts(t.TempDir(), &el))
	l := slog.New(h)
	for i := range 50 {
		l.Info("m", "id", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	require.NoError(t, h.Shutdown(ctx))
	s := h.Stats()
	checkStats(t, s)
	assert.Equal(t, uint64(50), s.Spooled)
	assert.Zero(t, s.Dropped.Total())
	assert.NotEmpty(t, rc.all(), "the export was tried")
}

// TestSpoolMultiDestination: each destination spools into its own
// sub-directory and counts its own records; the sum keeps the identity.
func TestSpoolMultiDestination(t *testing.T) {
	root := t.TempDir()
	a, b := &toggleExporter{}, &answerExporter{answer: func(int, []byte, int) Result {
		return Result{Outcome: ExportRetryable, Offline: true, Err: errors.New("connection refused")}
	}}
	a.down.Store(true)
	var el errLog
	h := NewMultiHandler([]Destination{{Name: "a", Exporter: a}, {Name: "b", Exporter: b}, {Name: "console", Exporter: NewConsoleExporter(&strings.Builder{}, nil)}}, spoolOpts(root, &el))
	l := slog.New(h)
	for range 3 {
		l.Info("m")
	}
	require.NoError(t, shutdown(t, h))
	ds := h.DestinationStats()
	assert.Equal(t, uint64(3), ds[0].Spooled)
	assert.Equal(t, uint64(3), ds[1].Spooled)
	assert.Zero(t, ds[2].Spooled, "the console has no receiver to wait for")
	assert.Equal(t, uint64(3), ds[2].Exported)
	assert.Nil(t, h.c.dests[2].b.spool)
	assert.Equal(t, uint64(6), h.Stats().Spooled)
	da, db := h.c.dests[0].b.spool.dir, h.c.dests[1].b.spool.dir
	assert.NotEqual(t, da, db)
	assert.Len(t, spoolNames(t, da), 1)
	assert.Len(t, spoolNames(t, db), 1)
}

// TestSpoolNeverKeepsRefused: records the receiver refused, those of a
// fatal error and those too large to send are dropped as without a spool,
// never written to it: sending them again could not succeed.
func TestSpoolNeverKeepsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer Result
		big    bool
		reason func(DropCounts) uint64
	}{
		{"refused", Result{Outcome: ExportRejected, Err: errors.New("HTTP 400")}, false, func(d DropCounts) uint64 { return d.Rejected }},
		{"fatal", Result{Outcome: ExportFatal, Err: errors.New("HTTP 401")}, false, func(d DropCounts) uint64 { return d.Fatal }},
		{"partial", Result{Rejected: 2, Err: errors.New("2 too old")}, false, func(d DropCounts) uint64 { return d.Rejected }},
		{"too large at Shutdown", Result{Outcome: ExportRetryable, Offline: true, Err: errors.New("connection refused")}, true,
			func(d DropCounts) uint64 { return d.TooLarge }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := &answerExporter{answer: func(int, []byte, int) Result { return tc.answer }}
			var el errLog
			o := spoolOpts(t.TempDir(), &el)
			if tc.big {
				// Fits a protobuf record under the handler's bound, not its
				// JSON (the exporter's format) under MaxPayloadBytes.
				o.MaxPayloadBytes = 1200
			}
			if tc.big {
				// One batch per record: the first finds the receiver down
				// and is spooled, the others are left to Shutdown's end.
				o.BatchSize = 1
			}
			h := NewHandler(exp, o)
			l := slog.New(h)
			if tc.big {
				l.Warn("small")
			}
			for range 2 {
				msg := "m"
				if tc.big {
					msg = strings.Repeat("\x01", 200)
				}
				l.Warn(msg)
			}
			_ = shutdown(t, h)
			s := h.Stats()
			if tc.big {
				assert.Equal(t, uint64(1), s.Spooled, "the small one")
			} else {
				assert.Zero(t, s.Spooled)
				assert.Empty(t, spoolNames(t, spoolDirOf(t, h)))
			}
			assert.Equal(t, uint64(2), tc.reason(s.Dropped), "%+v", s.Dropped)
		})
	}
}

// TestSpoolWriteAfterFatal: a batch that reaches the spool after a fatal
// error switched export off is dropped as fatal: the credentials will
// never work, so there is nothing to keep it for.
func TestSpoolWriteAfterFatal(t *testing.T) {
	var el errLog
	h := NewHandler(&answerExporter{}, spoolOpts(t.TempDir(), &el))
	b := h.c.b
	b.disable(errors.New("HTTP 401"))
	bp := getBuffer()
	*bp = append((*bp)[:0], 1)
	b.mu.Lock()
	b.st.Handled++ // as push counts it
	b.inflight++   // as take or stageLocked counts it
	b.mu.Unlock()
	b.spoolWrite([]entry{{buf: bp}})
	var de *DeliveryError
	require.ErrorAs(t, shutdown(t, h), &de)
	s := h.Stats()
	assert.Zero(t, s.Spooled)
	assert.Equal(t, uint64(1), s.Dropped.Fatal)
}

// TestAppendProtoField: a field read by nextField is written back as it
// was, for every wire type.
func TestAppendProtoField(t *testing.T) {
	var msg []byte
	msg = appendVarint(msg, tagSeverityNumber)
	msg = appendVarint(msg, 300)
	msg = append(msg, tagTime)
	msg = appendFixed64(msg, 1<<60+7)
	msg = append(msg, tagFlags)
	msg = appendFixed32(msg, 0xdeadbeef)
	msg = appendBytesField(msg, tagBody, []byte("hello"))
	var out []byte
	for f, rest, ok := nextField(msg); ok; f, rest, ok = nextField(rest) {
		out = appendProtoField(out, f)
	}
	assert.Equal(t, msg, out)
}
