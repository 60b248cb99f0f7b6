package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/slogotlp"
)

// tee sends each record to two handlers, so both see the very same record
// (time included) and the same WithAttrs/WithGroup history.
type tee struct{ a, b slog.Handler }

func (t tee) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) && t.b.Enabled(ctx, l)
}

func (t tee) Handle(ctx context.Context, r slog.Record) error {
	return errors.Join(t.a.Handle(ctx, r.Clone()), t.b.Handle(ctx, r))
}

func (t tee) WithAttrs(as []slog.Attr) slog.Handler {
	return tee{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t tee) WithGroup(name string) slog.Handler {
	return tee{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// jsonish turns a decoded OTLP value (see goValue) into what encoding/json
// makes of the same value written by slog.JSONHandler: numbers become
// float64.
func jsonish(v any) any {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonish(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jsonish(x)
		}
		return out
	}
	return v
}

type textValuer struct{}

func (textValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", "ann"), slog.Int("id", 7))
}

// TestDifferentialJSONHandler logs the same records through slogotlp and
// slog.JSONHandler and compares what both can express: message, level,
// strings, numbers, bools, durations, times, lists, maps, groups (bound and
// inline), LogValuers and duplicate keys (JSON readers keep the last, which
// is the value slogotlp exports).
func TestDifferentialJSONHandler(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tests := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"message only", func(l *slog.Logger) { l.Info("hello \"there\"\n") }},
		{"levels", func(l *slog.Logger) {
			l.Debug("d")
			l.Warn("w")
			l.Error("e")
			l.Log(context.Background(), slog.LevelInfo+2, "i2")
			l.Log(context.Background(), slog.LevelError+1, "e1")
			l.Log(context.Background(), slog.LevelDebug+3, "d3")
		}},
		{"scalars", func(l *slog.Logger) {
			l.Info("m", "s", "str", "i", -12, "u", uint64(99), "f", 2.5, "b", true, "d", 3*time.Second, "t", at, "nil", nil, "", "empty key")
		}},
		{"lists and maps", func(l *slog.Logger) {
			l.Info("m", "ints", []int{1, 2}, "strs", []string{"a"}, "m", map[string]int{"x": 1, "y": 2}, "mixed", []any{"a", 1, false})
		}},
		{"error", func(l *slog.Logger) { l.Error("m", "err", errors.New("boom")) }},
		{"groups", func(l *slog.Logger) {
			l.Info("m", slog.Group("a", slog.Int("x", 1), slog.Group("b", slog.Group("c", slog.String("y", "z")))), slog.Group("empty"), slog.Group("", slog.Int("inl", 1)))
		}},
		{"With and WithGroup", func(l *slog.Logger) {
			l.With("top", 1).WithGroup("g").With("a", 2).WithGroup("h").Info("m", "b", 3)
			l.WithGroup("g").WithGroup("h").Info("empty groups")
			l.With("x", 1).WithGroup("g").Info("empty inner group")
		}},
		{"log valuer", func(l *slog.Logger) { l.Info("m", "v", textValuer{}, "s", valuer{"q"}) }},
		{"duplicate keys", func(l *slog.Logger) {
			l.Info("m", "k", 1, "k", 2)
			l.With("k", "bound").Info("m", "k", "record")
			l.WithGroup("g").With("k", 1).Info("m", "k", 2)
			l.With("g", "scalar").WithGroup("g").Info("m", "a", 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			jh := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			var got []map[string]any
			rs := records(export(t, &slogotlp.HandlerOptions{Level: slog.LevelDebug}, func(h *slogotlp.Handler) {
				buf.Reset() // export logs once per wire format; compare with the last
				tt.log(slog.New(tee{jh, h}))
			}))
			for _, r := range rs {
				m := jsonish(goMap(t, r.lr.Attributes())).(map[string]any)
				for k := range m {
					if strings.HasPrefix(k, "exception.") {
						delete(m, k)
					}
				}
				m["msg"] = r.lr.Body().Str()
				m["level"] = r.lr.SeverityText()
				m["time"] = r.lr.Timestamp().AsTime().UTC().Format(time.RFC3339Nano)
				got = append(got, m)
			}
			var want []map[string]any
			dropped := 0
			dec := json.NewDecoder(&buf)
			for dec.More() {
				var m map[string]any
				require.NoError(t, dec.Decode(&m))
				ts, err := time.Parse(time.RFC3339Nano, m["time"].(string))
				require.NoError(t, err)
				m["time"] = ts.UTC().Format(time.RFC3339Nano)
				if s, ok := m["t"].(string); ok {
					ts, err := time.Parse(time.RFC3339Nano, s)
					require.NoError(t, err)
					m["t"] = ts.UTC().Format(time.RFC3339Nano)
				}
				// The one difference: an attribute with an empty key, which
				// JSONHandler writes, is left out of OTLP (the log data model
				// wants keys non-empty) and counted as dropped.
				if _, ok := m[""]; ok {
					delete(m, "")
					dropped++
				}
				want = append(want, m)
			}
			require.NotEmpty(t, want)
			assert.Equal(t, want, got)
			gotDropped := 0
			for _, r := range rs {
				gotDropped += int(r.lr.DroppedAttributesCount())
			}
			assert.Equal(t, dropped, gotDropped, "droppedAttributesCount")
		})
	}
}
