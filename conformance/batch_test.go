package conformance

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/soliplex/slogotlp"
)

// TestLargeBatch sends 10,000 records as one batch: it is split to respect
// MaxPayloadBytes, every part decodes on its own, and no record is lost,
// duplicated or reordered.
func TestLargeBatch(t *testing.T) {
	const n = 10_000
	const maxPayload = 256 << 10
	h, c := newHandler(t, &slogotlp.HandlerOptions{
		BatchSize:       n,
		MaxQueueSize:    n,
		MaxPayloadBytes: maxPayload,
		FlushInterval:   time.Hour,
	})
	billing := h.WithScope("billing", "")
	ctx := context.Background()
	for i := range n {
		hh := h
		if i%3 == 0 {
			hh = billing
		}
		r := record(slog.LevelInfo, "record", slog.Int("i", i), slog.String("pad", "0123456789abcdef0123456789abcdef"))
		require.NoError(t, hh.Handle(ctx, r))
	}
	require.NoError(t, h.Shutdown(ctx))

	st := h.Stats()
	assert.Equal(t, uint64(n), st.Exported)
	assert.Zero(t, st.Dropped.Total())

	payloads, counts := c.snapshot()
	require.Greater(t, len(payloads), 4, "a ~1.5 MB batch is split into several payloads")
	seen := make([]int, 0, n)
	prevMax := -1
	for i, p := range payloads {
		assert.LessOrEqual(t, len(p), maxPayload)
		l := decode(t, p)
		require.Equal(t, counts[i], l.LogRecordCount())
		// Within a payload, records are grouped by scope; take them back
		// into logging order by their attribute.
		var part []int
		for _, r := range records([]plog.Logs{l}) {
			v, ok := r.lr.Attributes().Get("i")
			require.True(t, ok)
			i := int(v.Int())
			wantScope := "github.com/soliplex/slogotlp"
			if i%3 == 0 {
				wantScope = "billing"
			}
			require.Equal(t, wantScope, r.scope.Name())
			part = append(part, i)
		}
		require.NotEmpty(t, part)
		// Payloads go out in logging order.
		require.Greater(t, slices.Min(part), prevMax)
		prevMax = slices.Max(part)
		seen = append(seen, part...)
	}
	require.Len(t, seen, n)
	got := make([]bool, n)
	for _, i := range seen {
		require.False(t, got[i], "record %d exported twice", i)
		got[i] = true
	}
}
