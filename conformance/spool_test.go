package conformance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
