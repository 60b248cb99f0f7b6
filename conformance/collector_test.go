package conformance

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/soliplex/slogotlp"
)

// startCollectorReceiver runs the OpenTelemetry Collector's own OTLP
// receiver (HTTP only, on a loopback port) with a sink behind it, as a
// Collector would run it.
func startCollectorReceiver(t *testing.T) (endpoint string, sink *consumertest.LogsSink) {
	t.Helper()
	return startCollectorAt(t, freeAddr(t))
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startCollectorAt is startCollectorReceiver on addr.
func startCollectorAt(t *testing.T, addr string) (endpoint string, sink *consumertest.LogsSink) {
	t.Helper()
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	httpCfg := cfg.Protocols.HTTP.GetOrInsertDefault()
	httpCfg.ServerConfig.NetAddr.Endpoint = addr
	sink = new(consumertest.LogsSink)
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, rcv.Shutdown(context.Background())) })
	return "http://" + addr + "/v1/logs", sink
}

// TestCollectorReceiver sends through the library's HTTP exporter, JSON and
// protobuf, gzip on and off, to the Collector's OTLP/HTTP receiver: every
// record arrives, decoded by the Collector, with its attributes.
func TestCollectorReceiver(t *testing.T) {
	for _, tc := range []struct {
		format slogotlp.WireFormat
		gz     bool
	}{{slogotlp.FormatJSON, true}, {slogotlp.FormatJSON, false}, {slogotlp.FormatProtobuf, true}, {slogotlp.FormatProtobuf, false}} {
		t.Run(tc.format.String()+"/gzip="+strconv.FormatBool(tc.gz), func(t *testing.T) {
			endpoint, sink := startCollectorReceiver(t)
			exp, err := slogotlp.NewHTTPExporter(endpoint, &slogotlp.HTTPExporterOptions{DisableGzip: !tc.gz, Format: tc.format})
			require.NoError(t, err)
			var errs []error
			h := slogotlp.NewHandler(exp, &slogotlp.HandlerOptions{
				BatchSize: 100, OnError: func(err error) { errs = append(errs, err) },
				ConcurrentExports: 1, // the ids are checked in order across batches
				Resource:          []slog.Attr{slog.String("service.name", "conformance")},
			})
			logger := slog.New(h).With("tenant", "acme").WithGroup("req")
			for i := range 250 {
				logger.Info("served", "id", i, "ok", true, "ratio", 0.5)
			}
			logger.Error("failed", "err", errors.New("boom"))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, h.Shutdown(ctx))
			assert.Empty(t, errs)
			s := h.Stats()
			assert.Equal(t, uint64(251), s.Exported)
			assert.Zero(t, s.Dropped.Total())

			require.Equal(t, 251, sink.LogRecordCount())
			var seen int
			for _, ld := range sink.AllLogs() {
				rl := ld.ResourceLogs().At(0)
				name, _ := rl.Resource().Attributes().Get("service.name")
				assert.Equal(t, "conformance", name.Str())
				lrs := rl.ScopeLogs().At(0).LogRecords()
				for i := range lrs.Len() {
					lr := lrs.At(i)
					tenant, ok := lr.Attributes().Get("tenant")
					require.True(t, ok)
					assert.Equal(t, "acme", tenant.Str())
					req, ok := lr.Attributes().Get("req")
					require.True(t, ok)
					if lr.SeverityNumber() == plog.SeverityNumberInfo {
						id, ok := req.Map().Get("id")
						require.True(t, ok)
						assert.Equal(t, int64(seen), id.Int())
						seen++
					} else {
						assert.Equal(t, plog.SeverityNumberError, lr.SeverityNumber())
						typ, _ := lr.Attributes().Get("exception.message")
						assert.Equal(t, "boom", typ.Str())
					}
				}
			}
			assert.Equal(t, 250, seen)
		})
	}
}

// TestQuickstartToCollector is the README's "try it with a real Collector"
// run, with the Collector's receiver in place of the container: the
// quickstart, configured only by OTEL_EXPORTER_OTLP_LOGS_ENDPOINT (and the
// protocol), delivers its records there in either encoding.
func TestQuickstartToCollector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the quickstart")
	}
	for _, protocol := range []string{"http/json", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			endpoint, sink := startCollectorReceiver(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "run", "github.com/soliplex/slogotlp/examples/quickstart")
			cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT="+endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL="+protocol)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Equal(t, 3, sink.LogRecordCount(), "%s", out)
			var msgs []string
			for _, ld := range sink.AllLogs() {
				lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := range lrs.Len() {
					msgs = append(msgs, lrs.At(i).Body().Str())
				}
			}
			assert.Len(t, msgs, 3)
		})
	}
}
