package conformance

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/slogotlp"
)

// TestPreEpochTimestamp: OTLP's timeUnixNano is an unsigned count from
// 1970, and the Collector refuses a whole payload with a negative one. A
// record time it cannot express (before 1970, after 2262) falls back to the
// observed time, so the record and its batch get through.
func TestPreEpochTimestamp(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		t.Run(at.Format("2006"), func(t *testing.T) {
			rs := records(export(t, nil, func(h *slogotlp.Handler) {
				ctx := context.Background()
				require.NoError(t, h.Handle(ctx, record(slog.LevelInfo, "good")))
				require.NoError(t, h.Handle(ctx, slog.NewRecord(at, slog.LevelInfo, "odd time", 0)))
			}))
			require.Len(t, rs, 2, "the odd record must not take its batch down with it")
			assert.Equal(t, fixedTime.UnixNano(), rs[0].lr.Timestamp().AsTime().UnixNano())
		})
	}
}

// TestEmptyGroupKeepsBoundAttr: With("g", "scalar").WithGroup("g") keeps
// "g":"scalar" in records that leave the group empty, as slog.JSONHandler
// does; a non-empty group replaces it.
func TestEmptyGroupKeepsBoundAttr(t *testing.T) {
	r := one(t, nil, func(l *slog.Logger) {
		l.With("g", "scalar").WithGroup("g").Info("group stays empty")
	})
	assert.Equal(t, map[string]any{"g": "scalar"}, goMap(t, r.lr.Attributes()))
}

// TestSanitizedDuplicateKeys: keys that differ only in invalid bytes
// ("\xad" and "\xcb") are the same key once written as U+FFFD, so the last
// one wins and one attribute list never holds a key twice. Found by
// FuzzHandle (testdata/fuzz/FuzzHandle/c0e2f9c3b3136df5).
func TestSanitizedDuplicateKeys(t *testing.T) {
	r := one(t, nil, func(l *slog.Logger) {
		l.With("\xad", 0).Info("m", "\xad", 1, "\xcb", 2)
	})
	assert.Equal(t, map[string]any{"\ufffd": int64(2)}, goMap(t, r.lr.Attributes()))
}
