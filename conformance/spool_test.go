package conformance

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/soliplex/slogotlp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// transcodeDir is the library's golden pairs: <case>.pb, a protobuf
// ExportLogsServiceRequest as the disk spool stores it, and <case>.json, the
// library's transcoding of it for a JSON exporter. The library's own test
// (TestRequestJSONMatchesFraming) keeps them current with its encoder and
// transcoder.
const transcodeDir = "../testdata/transcode"

// TestSpoolTranscodingDecodesAlike: the Collector decodes a spooled
// protobuf payload and its OTLP/JSON transcoding to the same logs, every
// timestamp, id and value included, so a payload restored from the spool
// reaches a JSON receiver unchanged.
func TestSpoolTranscodingDecodesAlike(t *testing.T) {
	pbs, err := filepath.Glob(filepath.Join(transcodeDir, "*.pb"))
	require.NoError(t, err)
	require.NotEmpty(t, pbs, "no golden pairs in %s", transcodeDir)
	for _, pbPath := range pbs {
		name := strings.TrimSuffix(filepath.Base(pbPath), ".pb")
		t.Run(name, func(t *testing.T) {
			pb, err := os.ReadFile(pbPath)
			require.NoError(t, err)
			js, err := os.ReadFile(strings.TrimSuffix(pbPath, ".pb") + ".json")
			require.NoError(t, err)

			fromPB, fromJSON := decode(t, string(pb)), decode(t, string(js))
			require.Positive(t, fromPB.LogRecordCount())
			assert.Equal(t, fromPB.LogRecordCount(), fromJSON.LogRecordCount())
			want, err := (&plog.JSONMarshaler{}).MarshalLogs(fromPB)
			require.NoError(t, err)
			got, err := (&plog.JSONMarshaler{}).MarshalLogs(fromJSON)
			require.NoError(t, err)
			require.JSONEq(t, string(want), string(got))

			timed := 0
			for _, r := range records([]plog.Logs{fromPB}) {
				assert.NotZero(t, r.lr.ObservedTimestamp(), "original timestamps survive")
				if r.lr.Timestamp() != 0 {
					timed++
				}
			}
			assert.Positive(t, timed, "records logged with a time keep it (one without a time has only the observed one)")
		})
	}
}

// TestSpoolRestoreToCollector: records a program spooled because the
// Collector was down reach the Collector's own OTLP/HTTP receiver at the
// next start, in either encoding, exactly as they would have live: their
// original timestamps, severities, attributes, scope and resource.
func TestSpoolRestoreToCollector(t *testing.T) {
	switch runtime.GOOS {
	case "windows", "aix", "solaris", "illumos", "plan9", "js", "wasip1":
		t.Skip("no disk spool on " + runtime.GOOS)
	}
	for _, format := range []slogotlp.WireFormat{slogotlp.FormatProtobuf, slogotlp.FormatJSON} {
		t.Run(format.String(), func(t *testing.T) {
			addr := freeAddr(t)
			endpoint := "http://" + addr + "/v1/logs"
			opts := &slogotlp.HandlerOptions{
				SpoolDir: t.TempDir(), OnError: func(error) {}, DropReportInterval: -1, NoResourceDetection: true,
				Resource: []slog.Attr{slog.String("service.name", "spooled")},
			}
			logged := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
			run := func(log func(h *slogotlp.Handler)) *slogotlp.Handler {
				exp, err := slogotlp.NewHTTPExporter(endpoint, &slogotlp.HTTPExporterOptions{Format: format})
				require.NoError(t, err)
				h := slogotlp.NewHandler(exp, opts)
				log(h)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, h.Shutdown(ctx))
				return h
			}

			first := run(func(h *slogotlp.Handler) { // the Collector is down
				billing := h.WithScope("billing", "2.0").WithAttrs([]slog.Attr{slog.String("tenant", "acme")})
				for i := range 3 {
					r := slog.NewRecord(logged.Add(time.Duration(i)*time.Second), slog.LevelWarn, "charge failed", 0)
					r.AddAttrs(slog.Int("attempt", i), slog.Group("card", slog.String("brand", "visa")))
					require.NoError(t, billing.Handle(context.Background(), r))
				}
			})
			require.Equal(t, uint64(3), first.Stats().Spooled)

			_, sink := startCollectorAt(t, addr)
			second := run(func(*slogotlp.Handler) {})
			assert.Equal(t, uint64(3), second.Stats().Restored)
			rs := records(sink.AllLogs())
			require.Len(t, rs, 3)
			for i, r := range rs {
				assert.Equal(t, logged.Add(time.Duration(i)*time.Second).UnixNano(), int64(r.lr.Timestamp()), "the original time")
				assert.Equal(t, plog.SeverityNumberWarn, r.lr.SeverityNumber())
				assert.Equal(t, "charge failed", r.lr.Body().Str())
				assert.Equal(t, "billing", r.scope.Name())
				assert.Equal(t, "2.0", r.scope.Version())
				name, _ := r.res.Attributes().Get("service.name")
				assert.Equal(t, "spooled", name.Str())
				attrs := goMap(t, r.lr.Attributes())
				assert.Equal(t, map[string]any{"tenant": "acme", "attempt": int64(i), "card": map[string]any{"brand": "visa"}}, attrs)
			}
		})
	}
}
