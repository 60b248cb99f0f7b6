package slogotlp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attrKeys lists the keys of a decoded OTLP attribute list in order,
// duplicates included.
func attrKeys(list any) []string {
	var keys []string
	items, _ := list.([]any)
	for _, it := range items {
		keys = append(keys, it.(map[string]any)["key"].(string))
	}
	return keys
}

// logOne logs through a fresh handler with opts and returns the one record
// exported, failing on a key that appears twice in its attribute list.
func logOne(t *testing.T, opts *HandlerOptions, log func(l *slog.Logger)) map[string]any {
	t.Helper()
	if opts == nil {
		opts = &HandlerOptions{}
	}
	if opts.Level == nil {
		opts.Level = slog.Level(-100)
	}
	h, exp := newTestHandler(t, opts)
	log(slog.New(h))
	flush(t, h)
	recs := exp.records(t)
	require.Len(t, recs, 1)
	keys := attrKeys(recs[0]["attributes"])
	seen := map[string]bool{}
	for _, k := range keys {
		require.Falsef(t, seen[k], "key %q twice in %v", k, keys)
		seen[k] = true
	}
	return recs[0]
}

type codedErr struct{}

func (codedErr) Error() string     { return "coded" }
func (codedErr) ErrorType() string { return "billing.Declined" }

type panicErr struct{}

func (panicErr) Error() string { panic("no message") }

// TestCallerKeysWinOverDerived: a caller's own exception.* or code.* at the
// top level, bound or the record's own, replaces the derived one; OTLP
// forbids a key twice in one list.
func TestCallerKeysWinOverDerived(t *testing.T) {
	opts := func() *HandlerOptions { return &HandlerOptions{AddSource: true, StackTraces: true} }
	err := errors.New("boom")
	for _, tc := range []struct {
		name string
		log  func(l *slog.Logger)
		want map[string]any // the caller's values that must survive
		keep []string       // derived keys still present
	}{
		{"record's own", func(l *slog.Logger) {
			l.Error("m", "err", err, "exception.type", "mine", "code.line.number", 7)
		}, map[string]any{"exception.type": "mine", "code.line.number": "7"},
			[]string{"exception.message", "exception.stacktrace", "code.file.path", "code.function.name"}},
		{"bound", func(l *slog.Logger) {
			l.With("exception.message", "bound msg", "code.file.path", "f.go").Error("m", "err", err)
		}, map[string]any{"exception.message": "bound msg", "code.file.path": "f.go"},
			[]string{"exception.type", "exception.stacktrace", "code.line.number", "code.function.name"}},
		{"bound error, record keys", func(l *slog.Logger) {
			l.With("err", err).Error("m", "exception.stacktrace", "none", "code.function.name", "fn")
		}, map[string]any{"exception.stacktrace": "none", "code.function.name": "fn"},
			[]string{"exception.type", "exception.message", "code.file.path", "code.line.number"}},
		{"inside a group, not the same key", func(l *slog.Logger) {
			l.WithGroup("g").Error("m", "err", err, "exception.type", "nested")
		}, map[string]any{"g": map[string]any{"err": "boom", "exception.type": "nested"}, "exception.type": "*errors.errorString"},
			nil},
		{"a group named like a derived key replaces it", func(l *slog.Logger) {
			l.WithGroup("exception.type").Error("m", "err", err)
		}, map[string]any{"exception.type": map[string]any{"err": "boom"}},
			[]string{"exception.message"}},
		{"an empty group of that name does not", func(l *slog.Logger) {
			l.With("err", err).WithGroup("exception.type").Error("m")
		}, map[string]any{"exception.type": "*errors.errorString"},
			[]string{"exception.message"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := logOne(t, opts(), tc.log)
			a := attrMap(rec["attributes"])
			for k, v := range tc.want {
				assert.Equal(t, v, a[k], k)
			}
			for _, k := range tc.keep {
				assert.Contains(t, a, k)
			}
		})
	}
}

func TestLastErrorIsTheException(t *testing.T) {
	first, second, bound := errors.New("first"), errors.New("second"), errors.New("bound")
	rec := logOne(t, nil, func(l *slog.Logger) {
		l.With("b", bound).Error("m", "e1", first, "e2", second)
	})
	a := attrMap(rec["attributes"])
	assert.Equal(t, "second", a["exception.message"])
	assert.Equal(t, "first", a["e1"], "every error stays an attribute")

	rec = logOne(t, nil, func(l *slog.Logger) {
		l.With("b1", first).WithGroup("g").With("b2", bound).Error("m")
	})
	assert.Equal(t, "bound", attrMap(rec["attributes"])["exception.message"], "the innermost bound error")

	rec = logOne(t, nil, func(l *slog.Logger) {
		l.Error("m", slog.Group("g", "e", first))
	})
	assert.NotContains(t, attrMap(rec["attributes"]), "exception.message", "an error inside a group value is only a value")
}

func TestExceptionType(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("x"), "*errors.errorString"},
		{fmt.Errorf("a: %w", fmt.Errorf("b: %w", errors.New("x"))), "*errors.errorString"},
		{fmt.Errorf("no wrap"), "*errors.errorString"},
		{codedErr{}, "billing.Declined"},
		{fmt.Errorf("w: %w", codedErr{}), "github.com/soliplex/slogotlp.codedErr"},
		{stackErr{"s"}, "github.com/soliplex/slogotlp.stackErr"},
		{errors.Join(errors.New("a"), errors.New("b")), "*errors.joinError"},
	} {
		assert.Equal(t, tc.want, errorType(tc.err), "%v", tc.err)
	}
}

func TestPanickingErrorKeepsItsType(t *testing.T) {
	rec := logOne(t, &HandlerOptions{StackTraces: true}, func(l *slog.Logger) { l.Error("m", "err", panicErr{}) })
	a := attrMap(rec["attributes"])
	assert.Equal(t, "github.com/soliplex/slogotlp.panicErr", a["exception.type"])
	assert.Equal(t, "!PANIC: no message", a["exception.message"])
	assert.Equal(t, "!PANIC: no message", a["err"])
	assert.Contains(t, a["exception.stacktrace"], "TestPanickingErrorKeepsItsType")
}

func TestEmptyMessageErrorHasNoMessage(t *testing.T) {
	rec := logOne(t, nil, func(l *slog.Logger) { l.Error("m", "err", errors.New("")) })
	a := attrMap(rec["attributes"])
	assert.Equal(t, "*errors.errorString", a["exception.type"])
	assert.NotContains(t, a, "exception.message")
}

// TestEmptyKeysAreDropped: the log data model wants attribute keys
// non-empty; a top-level one with an empty key is left out and counted.
func TestEmptyKeysAreDropped(t *testing.T) {
	rec := logOne(t, nil, func(l *slog.Logger) {
		l.With("", "bound", "a", 1).Info("m", "", "x", slog.Group("g", "", "nested"), slog.Any("", nil))
	})
	assert.Equal(t, map[string]any{"a": "1", "g": map[string]any{"": "nested"}}, attrMap(rec["attributes"]))
	assert.Equal(t, float64(2), rec["droppedAttributesCount"], "the zero Attr is no attribute")
}

func TestAttributeCountLimit(t *testing.T) {
	many := func(l *slog.Logger, n int) {
		args := make([]any, 0, 2*n)
		for i := range n {
			args = append(args, fmt.Sprint("k", i), i)
		}
		l.Error("m", args...)
	}
	rec := logOne(t, nil, func(l *slog.Logger) { many(l, 130) })
	keys := attrKeys(rec["attributes"])
	assert.Len(t, keys, 128, "the specification's default")
	assert.Equal(t, "k127", keys[127])
	assert.Equal(t, float64(2), rec["droppedAttributesCount"])

	// Derived attributes come first and stay; bound ones before the
	// record's; nested members do not count.
	rec = logOne(t, &HandlerOptions{AttributeCountLimit: 4, AddSource: true}, func(l *slog.Logger) {
		l.With("b", 1, "c", 2).Error("m", "err", errors.New("x"), slog.Group("g", "1", 1, "2", 2, "3", 3))
	})
	assert.Equal(t, []string{"code.file.path", "code.line.number", "code.function.name", "exception.type"}, attrKeys(rec["attributes"]))
	assert.Equal(t, float64(5), rec["droppedAttributesCount"], "exception.message, b, c, err, g")

	rec = logOne(t, &HandlerOptions{AttributeCountLimit: 3}, func(l *slog.Logger) {
		l.With("a", 1, "b", 2).WithGroup("g").Info("m", "x", 1, "y", 2, "z", 3)
	})
	assert.Equal(t, []string{"a", "b", "g"}, attrKeys(rec["attributes"]))
	assert.NotContains(t, rec, "droppedAttributesCount")

	rec = logOne(t, &HandlerOptions{AttributeCountLimit: 2}, func(l *slog.Logger) {
		l.With("a", 1, "b", 2).WithGroup("g").Info("m", "x", 1)
	})
	assert.Equal(t, []string{"a", "b"}, attrKeys(rec["attributes"]))
	assert.Equal(t, float64(1), rec["droppedAttributesCount"], "the group")

	rec = logOne(t, &HandlerOptions{AttributeCountLimit: -1}, func(l *slog.Logger) { many(l, 300) })
	assert.Len(t, attrKeys(rec["attributes"]), 300)
	assert.NotContains(t, rec, "droppedAttributesCount")
}

func TestAttributeValueLengthLimit(t *testing.T) {
	rec := logOne(t, &HandlerOptions{AttributeValueLengthLimit: 3}, func(l *slog.Logger) {
		l.Info("a long message stays", "s", "héllo", "b", []byte("bytes"), "list", []any{"abcdef", 12345},
			"m", map[string]string{"k": "values"}, slog.Group("g", "t", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
			"u", uint64(1<<63), "err", errors.New("failure"))
	})
	assert.Equal(t, "a long message stays", rec["body"].(map[string]any)["stringValue"], "the message is exempt")
	a := attrMap(rec["attributes"])
	assert.Equal(t, "hél", a["s"], "characters, no marker")
	assert.Equal(t, "Ynl0", a["b"], `"byt"`)
	assert.Equal(t, []any{"abc", "12345"}, a["list"])
	assert.Equal(t, map[string]any{"k": "val"}, a["m"])
	assert.Equal(t, map[string]any{"t": "202"}, a["g"])
	assert.Equal(t, "922", a["u"])
	assert.Equal(t, "fai", a["err"])
	assert.Equal(t, "fai", a["exception.message"], "derived attributes too")

	// Both limits: characters first, then MaxValueLen's bytes with its "…".
	rec = logOne(t, &HandlerOptions{AttributeValueLengthLimit: 6, MaxValueLen: 8}, func(l *slog.Logger) {
		l.Info("message cut by MaxValueLen only", "s", "ééééééé", "short", "abcdefghij")
	})
	assert.Equal(t, "messa…", rec["body"].(map[string]any)["stringValue"])
	a = attrMap(rec["attributes"])
	assert.Equal(t, "éé…", a["s"], "6 characters are 12 bytes: MaxValueLen cuts again")
	assert.Equal(t, "abcdef", a["short"])
}

// TestReplaceAttr pins the stdlib semantics: every non-group attribute,
// resolved, with the groups that hold it; never a group; a zero Attr drops
// it; bound attributes once, at With.
func TestReplaceAttr(t *testing.T) {
	var calls []string
	rep := func(groups []string, a slog.Attr) slog.Attr {
		calls = append(calls, strings.Join(append(groups[:len(groups):len(groups)], a.Key), "."))
		switch a.Key {
		case "secret":
			return slog.Attr{}
		case "rename":
			return slog.String("renamed", a.Value.String())
		case "v":
			return slog.Any("v", tokenValuer("raw")) // resolved again
		case "expand":
			return slog.Group("expanded", "inner", 1)
		}
		return a
	}
	h, exp := newTestHandler(t, &HandlerOptions{ReplaceAttr: rep})
	l := slog.New(h).With("bound", 1).WithGroup("g").With("gb", tokenValuer("x"))
	assert.Equal(t, []string{"bound", "g.gb"}, calls, "bound attributes: once, at With, resolved")
	calls = nil
	l.Info("m", "secret", "s", "rename", "r", "v", 1, "expand", 0, slog.Group("h", "x", 1, slog.Group("", "y", 2)))
	flush(t, h)
	assert.Equal(t, []string{"g.secret", "g.rename", "g.v", "g.expand", "g.expanded.inner", "g.h.x", "g.h.y"}, calls)
	a := attrMap(exp.records(t)[0]["attributes"])
	assert.Equal(t, map[string]any{
		"bound": "1",
		"g": map[string]any{
			"gb": "[redacted]", "renamed": "r", "v": "[redacted]",
			"expanded": map[string]any{"inner": "1"}, "h": map[string]any{"x": "1", "y": "2"},
		},
	}, a)
}

func TestReplaceAttrDropsTheErrorAndItsException(t *testing.T) {
	rep := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "err" {
			return slog.String("err", "[hidden]")
		}
		return a
	}
	rec := logOne(t, &HandlerOptions{ReplaceAttr: rep}, func(l *slog.Logger) {
		l.Error("m", "err", errors.New("secret detail"))
	})
	assert.Equal(t, map[string]any{"err": "[hidden]"}, attrMap(rec["attributes"]))
}

func TestReplaceAttrSource(t *testing.T) {
	for _, tc := range []struct {
		name string
		rep  func([]string, slog.Attr) slog.Attr
		want func(t *testing.T, a map[string]any)
		err  bool // log an ERROR with an error instead of an INFO
	}{
		{"unchanged", func(_ []string, a slog.Attr) slog.Attr { return a }, func(t *testing.T, a map[string]any) {
			assert.True(t, strings.HasSuffix(a["code.file.path"].(string), "/record_test.go"), a["code.file.path"])
			assert.Contains(t, a, "code.line.number")
		}, false},
		{"trimmed", func(_ []string, a slog.Attr) slog.Attr {
			if s, ok := a.Value.Any().(*slog.Source); ok && a.Key == slog.SourceKey {
				return slog.Any("src", &slog.Source{File: "x.go", Line: s.Line})
			}
			return a
		}, func(t *testing.T, a map[string]any) {
			assert.Equal(t, "x.go", a["code.file.path"])
			assert.NotContains(t, a, "code.function.name")
			assert.NotContains(t, a, "src")
		}, false},
		{"dropped", func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.SourceKey {
				return slog.Attr{}
			}
			return a
		}, func(t *testing.T, a map[string]any) {
			assert.NotContains(t, a, "code.file.path")
		}, false},
		{"replaced by another value", func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.SourceKey {
				return slog.String(slog.SourceKey, "all knowledge")
			}
			return a
		}, func(t *testing.T, a map[string]any) {
			assert.Equal(t, map[string]any{"source": "all knowledge", "k": "v"}, a)
		}, false},
		{"replaced by a derived key", func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.SourceKey {
				return slog.String("exception.type", "from source")
			}
			return a
		}, func(t *testing.T, a map[string]any) {
			assert.Equal(t, "from source", a["exception.type"]) // logOne fails on a key seen twice
			assert.Equal(t, "boom", a["exception.message"])
		}, true},
		{"a nil source", func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.SourceKey {
				return slog.Any("s", (*slog.Source)(nil))
			}
			return a
		}, func(t *testing.T, a map[string]any) {
			assert.Equal(t, map[string]any{"k": "v"}, a)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := logOne(t, &HandlerOptions{AddSource: true, ReplaceAttr: tc.rep}, func(l *slog.Logger) {
				if tc.err {
					l.Error("m", "err", errors.New("boom"))
				} else {
					l.Info("m", "k", "v")
				}
			})
			tc.want(t, attrMap(rec["attributes"]))
		})
	}
}

type ctxKey struct{}

func TestAttrFromContext(t *testing.T) {
	fromCtx := func(ctx context.Context) []slog.Attr {
		id, _ := ctx.Value(ctxKey{}).(string)
		if id == "" {
			return nil
		}
		return []slog.Attr{slog.String("request.id", id), slog.String("shared", "ctx"), slog.Group("", slog.String("inlined", "i"))}
	}
	opts := &HandlerOptions{AttrFromContext: []func(context.Context) []slog.Attr{fromCtx}}
	ctx := context.WithValue(context.Background(), ctxKey{}, "r-1")

	rec := logOne(t, opts, func(l *slog.Logger) {
		l.With("shared", "bound", "b", 1).WithGroup("g").InfoContext(ctx, "m", "shared", "record")
	})
	assert.Equal(t, []string{"b", "request.id", "shared", "inlined", "g"}, attrKeys(rec["attributes"]),
		"at the top level, after the bound attributes")
	assert.Equal(t, map[string]any{"b": "1", "request.id": "r-1", "shared": "ctx", "inlined": "i",
		"g": map[string]any{"shared": "record"}}, attrMap(rec["attributes"]))

	rec = logOne(t, opts, func(l *slog.Logger) { l.InfoContext(ctx, "m", "shared", "record") })
	assert.Equal(t, "record", attrMap(rec["attributes"])["shared"], "the record's own wins")

	rec = logOne(t, opts, func(l *slog.Logger) { l.Info("m") })
	assert.NotContains(t, rec, "attributes")

	// Errors and event names count as if passed directly.
	errCtx := func(context.Context) []slog.Attr {
		return []slog.Attr{slog.Any("cause", errors.New("ctx err")), slog.String(EventNameKey, "from.ctx")}
	}
	rec = logOne(t, &HandlerOptions{AttrFromContext: []func(context.Context) []slog.Attr{errCtx}}, func(l *slog.Logger) { l.Error("m") })
	assert.Equal(t, "ctx err", attrMap(rec["attributes"])["exception.message"])
	assert.Equal(t, "from.ctx", rec["eventName"])

	// ReplaceAttr sees them, at the top level.
	var seen [][]string
	rep := func(g []string, a slog.Attr) slog.Attr {
		seen = append(seen, append(g[:len(g):len(g)], a.Key))
		return a
	}
	logOne(t, &HandlerOptions{AttrFromContext: opts.AttrFromContext, ReplaceAttr: rep}, func(l *slog.Logger) {
		l.WithGroup("g").InfoContext(ctx, "m", "x", 1)
	})
	assert.Equal(t, [][]string{{"request.id"}, {"shared"}, {"inlined"}, {"g", "x"}}, seen)
}

func TestEventName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		log   func(l *slog.Logger)
		event any // nil: none
		attrs map[string]any
	}{
		{"record", func(l *slog.Logger) { l.Info("m", EventNameKey, "user.login", "k", 1) }, "user.login", map[string]any{"k": "1"}},
		{"bound", func(l *slog.Logger) { l.With(EventNameKey, "bound.event").Info("m") }, "bound.event", map[string]any{}},
		{"record over bound", func(l *slog.Logger) { l.With(EventNameKey, "a").Info("m", EventNameKey, "b") }, "b", map[string]any{}},
		{"inside WithGroup", func(l *slog.Logger) { l.WithGroup("g").Info("m", EventNameKey, "e", "k", 1) }, "e", map[string]any{"g": map[string]any{"k": "1"}}},
		{"inside a group value: an attribute", func(l *slog.Logger) { l.Info("m", slog.Group("g", EventNameKey, "e")) }, nil,
			map[string]any{"g": map[string]any{EventNameKey: "e"}}},
		{"not a string: an attribute", func(l *slog.Logger) { l.Info("m", EventNameKey, 7) }, nil, map[string]any{EventNameKey: "7"}},
		{"empty clears", func(l *slog.Logger) { l.With(EventNameKey, "a").Info("m", EventNameKey, "") }, nil, map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := logOne(t, nil, tc.log)
			if tc.event == nil {
				assert.NotContains(t, rec, "eventName")
			} else {
				assert.Equal(t, tc.event, rec["eventName"])
			}
			assert.Equal(t, tc.attrs, attrMap(rec["attributes"]))
		})
	}
}

type named []byte

type withString []byte

func (w withString) String() string { return "s:" + string(w) }

type ptrStringer struct{ n int }

func (p *ptrStringer) String() string { return fmt.Sprint("n=", p.n) }

func TestValueShapes(t *testing.T) {
	n, s, f := 7, "text", 2.5
	var nilInt *int
	var nilStringer *ptrStringer
	var nilErr *stackErr
	pp := &n
	for _, tc := range []struct {
		name string
		v    any
		want any
	}{
		{"*int", &n, "7"},
		{"*string", &s, "text"},
		{"*float64", &f, 2.5},
		{"**int", &pp, "7"},
		{"*struct", &point{1, 2}, "{X:1 Y:2}"},
		{"*time.Time", &time.Time{}, "0001-01-01T00:00:00Z"},
		{"*[]byte", &[]byte{1}, "AQ=="},
		{"*error value", &stackErr{"e"}, "e"},
		{"nil *int", nilInt, nil},
		{"nil pointer with a method", nilStringer, nil},
		{"nil error pointer", nilErr, nil},
		{"pointer Stringer", &ptrStringer{3}, "n=3"},
		{"named byte slice", named("hi"), "aGk="},
		{"byte array", [3]byte{1, 2, 3}, "AQID"},
		{"byte slice with String", withString("x"), "s:x"},
		{"json.RawMessage", json.RawMessage(`{"a":[1,2]}`), `{"a":[1,2]}`},
		{"json.RawMessage not JSON", json.RawMessage("\x00\x01"), "AAE="},
		{"*slog.Source", &slog.Source{Function: "f", File: "a.go", Line: 3}, map[string]any{"function": "f", "file": "a.go", "line": "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := logOne(t, nil, func(l *slog.Logger) { l.Info("m", "k", tc.v) })
			a := attrMap(rec["attributes"])
			require.Contains(t, a, "k")
			assert.Equal(t, tc.want, a["k"])
		})
	}
}

func TestLogfireAttributes(t *testing.T) {
	rec := logOne(t, &HandlerOptions{LogfireAttributes: true, AddSource: true}, func(l *slog.Logger) { l.Warn("disk low", "free", 3) })
	a := attrMap(rec["attributes"])
	assert.Equal(t, "disk low", a["logfire.msg"])
	assert.Equal(t, a["code.file.path"], a["code.filepath"])
	assert.Equal(t, a["code.line.number"], a["code.lineno"])
	assert.Equal(t, "github.com/soliplex/slogotlp.TestLogfireAttributes.func1", a["code.function"])
	assert.Equal(t, "3", a["free"])

	rec = logOne(t, &HandlerOptions{LogfireAttributes: true}, func(l *slog.Logger) { l.Info("m", "logfire.msg", "mine") })
	assert.Equal(t, map[string]any{"logfire.msg": "mine"}, attrMap(rec["attributes"]), "the caller's own wins")

	rec = logOne(t, nil, func(l *slog.Logger) { l.Info("m") })
	assert.NotContains(t, rec, "attributes", "off by default")
}

type panicTypeErr struct{}

func (panicTypeErr) Error() string     { return "typed" }
func (panicTypeErr) ErrorType() string { panic("no type") }

type panicFormatErr struct{}

func (panicFormatErr) Error() string          { return "formatted" }
func (panicFormatErr) Format(fmt.State, rune) { panic("no format") }

// TestExceptionNeverPanics: an ErrorType or Format method that panics
// costs only what it would have given.
func TestExceptionNeverPanics(t *testing.T) {
	rec := logOne(t, &HandlerOptions{StackTraces: true}, func(l *slog.Logger) {
		l.Error("m", "err", panicTypeErr{})
	})
	assert.Equal(t, "github.com/soliplex/slogotlp.panicTypeErr", attrMap(rec["attributes"])["exception.type"])

	rec = logOne(t, &HandlerOptions{StackTraces: true}, func(l *slog.Logger) {
		l.Error("m", "err", panicFormatErr{})
	})
	a := attrMap(rec["attributes"])
	assert.Equal(t, "formatted", a["exception.message"])
	assert.Contains(t, a["exception.stacktrace"], "TestExceptionNeverPanics", "the captured stack instead")
}

func TestReplaceAttrDeepAndEmptiedGroups(t *testing.T) {
	deep := slog.Int("leaf", 1)
	for i := range 30 {
		deep = slog.Group(fmt.Sprint("g", i), deep)
	}
	drop := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "gone" {
			return slog.Attr{}
		}
		return a
	}
	rec := logOne(t, &HandlerOptions{ReplaceAttr: drop}, func(l *slog.Logger) {
		l.Info("m", deep, slog.Group("emptied", "gone", 1), "k", 1)
	})
	a := attrMap(rec["attributes"])
	assert.NotContains(t, a, "emptied", "a group ReplaceAttr empties is left out")
	depth := 0
	for v := any(a["g29"]); ; depth++ {
		m, ok := v.(map[string]any)
		if !ok {
			assert.Equal(t, "!DEPTH", v)
			break
		}
		for _, x := range m {
			v = x
		}
	}
	assert.Less(t, depth, 30)
}

func TestLimitsCutTimesAndLongDigits(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := logOne(t, &HandlerOptions{MaxValueLen: 10}, func(l *slog.Logger) {
		l.Info("m", "t", at, "u", uint64(1<<63))
	})
	a := attrMap(rec["attributes"])
	assert.Equal(t, "2026-01…", a["t"])
	assert.Equal(t, "9223372…", a["u"])
}
