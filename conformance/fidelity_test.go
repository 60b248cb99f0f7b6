package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/soliplex/slogotlp"
)

// The shapes of issue 14 (fidelity), each decoded by the Collector in both
// wire formats (export compares them).

func TestResourceSchemaURL(t *testing.T) {
	r := one(t, nil, func(l *slog.Logger) { l.Info("m") })
	assert.Equal(t, "https://opentelemetry.io/schemas/1.43.0", r.resSchema)
	assert.Empty(t, r.scopeSchema, "log attributes are the caller's: no schema claimed")
}

func TestZeroAndOutOfRangeTimesAreUnset(t *testing.T) {
	rs := records(export(t, nil, func(h *slogotlp.Handler) {
		for _, at := range []time.Time{{}, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), fixedTime} {
			require.NoError(t, h.Handle(context.Background(), slog.NewRecord(at, slog.LevelInfo, "m", 0)))
		}
	}))
	require.Len(t, rs, 4)
	for _, r := range rs[:3] {
		assert.Zero(t, r.lr.Timestamp())
		assert.NotZero(t, r.lr.ObservedTimestamp())
	}
	assert.Equal(t, fixedTime.UnixNano(), rs[3].lr.Timestamp().AsTime().UnixNano())
}

func TestEventNameField(t *testing.T) {
	r := one(t, nil, func(l *slog.Logger) {
		l.With(slogotlp.EventNameKey, "bound").Info("m", slogotlp.EventNameKey, "user.login", "k", 1)
	})
	assert.Equal(t, "user.login", r.lr.EventName())
	assert.Equal(t, map[string]any{"k": int64(1)}, goMap(t, r.lr.Attributes()))
}

func TestDerivedAttributesYield(t *testing.T) {
	boom := errors.New("boom")
	r := one(t, &slogotlp.HandlerOptions{AddSource: true, StackTraces: true, LogfireAttributes: true}, func(l *slog.Logger) {
		l.With("code.file.path", "bound.go", "exception.message", "bound").
			Error("m", "err", boom, "exception.type", "mine", "code.line.number", 7, "logfire.msg", "own")
	})
	a := goMap(t, r.lr.Attributes()) // fails on a key seen twice
	assert.Equal(t, "bound.go", a["code.file.path"])
	assert.Equal(t, int64(7), a["code.line.number"])
	assert.Equal(t, "bound", a["exception.message"])
	assert.Equal(t, "mine", a["exception.type"])
	assert.Equal(t, "own", a["logfire.msg"])
	assert.Contains(t, a, "exception.stacktrace")
	assert.Contains(t, a, "code.function.name")
	assert.Contains(t, a, "code.filepath")
}

func TestLimitsAndDroppedCount(t *testing.T) {
	r := one(t, &slogotlp.HandlerOptions{AttributeCountLimit: 3, AttributeValueLengthLimit: 4, MaxValueLen: 6},
		func(l *slog.Logger) {
			l.With("", "empty key").Info("the message is not cut by the attribute limit",
				"a", "héééé world", "b", []byte("bytes"), "c", []string{"abcdef"}, "d", 1, "e", 2)
		})
	assert.Equal(t, "the…", r.lr.Body().Str(), "MaxValueLen: 6 bytes, the ellipsis included")
	assert.Equal(t, map[string]any{"a": "hé…", "b": []byte("byte"), "c": []any{"abcd"}}, goMap(t, r.lr.Attributes()),
		"4 characters, then 6 bytes")
	assert.Equal(t, uint32(3), r.lr.DroppedAttributesCount(), "d, e and the empty key")
}

// net4 is a named byte slice, like net.IP without its String method.
type net4 []byte

func TestValueFidelity(t *testing.T) {
	n := 5
	var nilp *int
	r := one(t, nil, func(l *slog.Logger) {
		l.Info("m", "p", &n, "nilp", nilp, "raw", json.RawMessage(`[1,"x"]`), "named", net4{10, 0, 0, 1}, "arr", [2]byte{7, 8})
	})
	assert.Equal(t, map[string]any{
		"p": int64(5), "nilp": nil, "raw": `[1,"x"]`, "named": []byte{10, 0, 0, 1}, "arr": []byte{7, 8},
	}, goMap(t, r.lr.Attributes()))
}

func TestAttrFromContextShape(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "r-9")
	opts := &slogotlp.HandlerOptions{AttrFromContext: []func(context.Context) []slog.Attr{
		func(ctx context.Context) []slog.Attr {
			return []slog.Attr{slog.Any("request.id", ctx.Value(key{})), slog.Group("http", "route", "/x")}
		},
	}}
	r := one(t, opts, func(l *slog.Logger) { l.WithGroup("g").InfoContext(ctx, "m", "k", 1) })
	assert.Equal(t, map[string]any{
		"request.id": "r-9", "http": map[string]any{"route": "/x"}, "g": map[string]any{"k": int64(1)},
	}, goMap(t, r.lr.Attributes()))
}

// TestDifferentialReplaceAttr gives slog.JSONHandler and slogotlp the same
// ReplaceAttr and compares both what they print and every call each makes:
// the same attributes, with the same groups, in the same order (the
// built-in time, level and message aside: slogotlp has no such attributes).
func TestDifferentialReplaceAttr(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	type call struct {
		groups string
		key    string
		value  string
	}
	var mu sync.Mutex
	var calls map[string][]call // by handler
	rep := func(who string) func([]string, slog.Attr) slog.Attr {
		return func(groups []string, a slog.Attr) slog.Attr {
			mu.Lock()
			calls[who] = append(calls[who], call{strings.Join(groups, "."), a.Key, a.Value.String()})
			mu.Unlock()
			switch {
			case a.Key == "secret":
				return slog.Attr{}
			case a.Key == "rename":
				return slog.String("renamed", a.Value.String())
			case a.Key == "expand":
				return slog.Group("expanded", "inner", 1, "secret", "x")
			case a.Key == "when" && a.Value.Kind() == slog.KindTime:
				return slog.Int64("when", a.Value.Time().Unix())
			case len(groups) > 0 && groups[len(groups)-1] == "drop-all":
				return slog.Attr{}
			case a.Value.Kind() == slog.KindString && a.Value.String() == "valuer":
				return slog.Any(a.Key, textValuer{})
			}
			return a
		}
	}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{"renames, drops, expands", func(l *slog.Logger) {
			l.Info("m", "keep", 1, "secret", "s", "rename", "r", "expand", 0, "when", at, "v", "valuer")
		}},
		{"groups", func(l *slog.Logger) {
			l.Info("m", slog.Group("g", "a", 1, slog.Group("h", "secret", 2, "b", 3), slog.Group("", "inl", 4)))
			// A group ReplaceAttr empties is left out. (After one,
			// JSONHandler in Go 1.26 still counts the group as open for
			// the attributes that follow it, so nothing follows here.)
			l.Info("m", "before", 1, slog.Group("drop-all", "a", 1, "b", 2))
		}},
		{"With and WithGroup", func(l *slog.Logger) {
			l.With("bound", 1, "secret", 2).WithGroup("w").With("inner", "x", "rename", "y").WithGroup("v").Info("m", "k", 1, slog.Group("g", "n", 2))
			l.WithGroup("drop-all").Info("m", "a", 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			var got []map[string]any
			rs := records(export(t, &slogotlp.HandlerOptions{ReplaceAttr: rep("otlp")}, func(h *slogotlp.Handler) {
				buf.Reset() // export logs once per wire format: compare with the last
				calls = map[string][]call{}
				jh := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: rep("json")})
				tt.log(slog.New(tee{jh, h}))
			}))
			for _, r := range rs {
				m := jsonish(goMap(t, r.lr.Attributes())).(map[string]any)
				m["msg"] = r.lr.Body().Str()
				got = append(got, m)
			}
			var want []map[string]any
			dec := json.NewDecoder(&buf)
			for dec.More() {
				var m map[string]any
				require.NoError(t, dec.Decode(&m))
				delete(m, "time")
				delete(m, "level")
				want = append(want, m)
			}
			assert.Equal(t, want, got)

			var builtin []call
			for _, c := range calls["json"] {
				if c.groups == "" && (c.key == slog.TimeKey || c.key == slog.LevelKey || c.key == slog.MessageKey) {
					continue
				}
				builtin = append(builtin, c)
			}
			assert.Equal(t, builtin, calls["otlp"], "ReplaceAttr calls")
		})
	}
}

// FuzzDerivedKeys logs with every option that adds or removes attributes
// (source, exception, Logfire's, ReplaceAttr renaming to a fuzzed key, the
// context, the count limit) and fuzzed keys that can name a derived
// attribute, bound or the record's, in and out of groups: both wire formats
// must decode to the same records, no key may appear twice in one list,
// and no list may pass the limit.
func FuzzDerivedKeys(f *testing.F) {
	f.Add("exception.type", "code.file.path", "logfire.msg", "g", 3, true)
	f.Add("code.line.number", "exception.message", "", "exception.type", 1, false)
	f.Add("k", "k", "k", "k", 0, true)
	f.Add("otel.event.name", "", "exception.stacktrace", "code.function.name", -1, false)
	f.Fuzz(func(t *testing.T, k1, k2, k3, group string, limit int, nested bool) {
		limit %= 16
		rename := func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == "rename" {
				a.Key = k3
			}
			return a
		}
		opts := &slogotlp.HandlerOptions{
			AddSource: true, StackTraces: true, LogfireAttributes: true, ReplaceAttr: rename,
			AttributeCountLimit: limit,
			AttrFromContext: []func(context.Context) []slog.Attr{func(context.Context) []slog.Attr {
				return []slog.Attr{slog.String(k2, "ctx"), slog.Any(k1, errors.New("ctx err"))}
			}},
		}
		rs := records(export(t, opts, func(h *slogotlp.Handler) {
			l := slog.New(h).With(k1, "bound", "rename", 1)
			if nested {
				l = l.WithGroup(group).With(k2, "inner")
			}
			l.ErrorContext(context.Background(), "m", "err", errors.New("boom"), k3, "rec", k2, 2, slog.Group(group, k1, 3))
		}))
		require.Len(t, rs, 1)
		attrs := goMap(t, rs[0].lr.Attributes()) // fails on a duplicate key, at any depth
		if limit > 0 {
			assert.LessOrEqual(t, len(attrs), limit)
		}
	})
}
