package slogotlp

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redactOne passes one attribute through Redact(opts) and returns what the
// next handler got for it, and the ScrubbedKey entries.
func redactOne(t *testing.T, opts *RedactOptions, a slog.Attr) (slog.Value, []mwScrubEntry) {
	t.Helper()
	var got []slog.Record
	h := Redact(opts)(&mwCapture{records: &got})
	r := slog.NewRecord(mwTime, slog.LevelInfo, "m", 0)
	r.AddAttrs(a)
	require.NoError(t, h.Handle(context.Background(), r))
	require.Len(t, got, 1)
	var v slog.Value
	var notes []mwScrubEntry
	got[0].Attrs(func(x slog.Attr) bool {
		switch x.Key {
		case a.Key:
			v = x.Value
		case ScrubbedKey:
			require.NoError(t, json.Unmarshal([]byte(x.Value.String()), &notes))
		}
		return true
	})
	return v, notes
}

type shapeAccount struct {
	User     string
	Password string
	Number   string `slogotlp:"redact"`
	APIToken string `json:"api_token"`
	Note     string
	internal string
	Limit    int
}

type shapeToken string

func (shapeToken) LogValue() slog.Value { return slog.StringValue("tok-hidden") }

type shapeHolder struct {
	Name  string
	Token shapeToken
}

type shapeDeep struct {
	Name string
	Acct *shapeAccount
	Tags []string
	Meta map[string]any
}

type shapePrivate struct {
	name     string
	password string
}

func TestRedactKeepsShape(t *testing.T) {
	const R = DefaultReplacement
	t.Run("map[string]string", func(t *testing.T) {
		in := map[string]string{"X-Api-Key": "k-123", "Accept": "json", "to": "jane@example.com"}
		v, notes := redactOne(t, nil, slog.Any("m", in))
		assert.Equal(t, map[string]any{"X-Api-Key": R, "Accept": "json", "to": R}, v.Any())
		assert.ElementsMatch(t, []mwScrubEntry{
			{[]string{"attributes", "m", "X-Api-Key"}, "Api-Key"},
			{[]string{"attributes", "m", "to"}, PatternEmail},
		}, notes)
		assert.Equal(t, "k-123", in["X-Api-Key"], "the caller's map is not touched")
	})
	t.Run("http.Header", func(t *testing.T) {
		in := http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}, "Cookie": {"sid=1"}, "Accept": {"*/*"}}
		v, notes := redactOne(t, nil, slog.Any("headers", in))
		assert.Equal(t, map[string]any{"Authorization": R, "Cookie": R, "Accept": []string{"*/*"}}, v.Any())
		assert.ElementsMatch(t, []mwScrubEntry{
			{[]string{"attributes", "headers", "Authorization"}, "Auth"},
			{[]string{"attributes", "headers", "Cookie"}, "Cookie"},
		}, notes)
	})
	t.Run("url.Values", func(t *testing.T) {
		in := url.Values{"access_token": {"abc"}, "q": {"golang", "mail bob@example.org"}}
		v, _ := redactOne(t, nil, slog.Any("query", in))
		assert.Equal(t, map[string]any{"access_token": R, "q": []string{"golang", "mail " + R}}, v.Any())
	})
	t.Run("struct fields by name, tag and json name", func(t *testing.T) {
		in := shapeAccount{User: "jane", Password: "hunter2", Number: "DE89370400440532013000", APIToken: "t", Note: "ok", internal: "x", Limit: 3}
		v, notes := redactOne(t, nil, slog.Any("acct", in))
		assert.Equal(t, map[string]any{"User": "jane", "Password": R, "Number": R, "APIToken": R, "Note": "ok", "Limit": 3}, v.Any(),
			"a redacted struct becomes a map of its exported fields")
		assert.ElementsMatch(t, []mwScrubEntry{
			{[]string{"attributes", "acct", "Password"}, "Password"},
			{[]string{"attributes", "acct", "Number"}, RedactTag},
			{[]string{"attributes", "acct", "APIToken"}, "Token"},
		}, notes)
	})
	t.Run("clean struct passes unchanged", func(t *testing.T) {
		in := shapeAccount{User: "jane", Note: "fine"}
		v, notes := redactOne(t, nil, slog.Any("acct", in))
		assert.Equal(t, in, v.Any())
		assert.Empty(t, notes)
	})
	t.Run("unexported secret field", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("p", shapePrivate{name: "n", password: "hunter2"}))
		assert.NotContains(t, fmt.Sprintf("%+v", v.Any()), "hunter2")
	})
	t.Run("LogValuer field hides itself", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("h", shapeHolder{Name: "a", Token: "real-secret"}))
		assert.NotContains(t, fmt.Sprintf("%+v", v.Any()), "real-secret", "fmt's %+v never calls LogValue: the walker does")
	})
	t.Run("nested pointers, slices and maps", func(t *testing.T) {
		in := &shapeDeep{Name: "d", Acct: &shapeAccount{User: "u", Password: "p"}, Tags: []string{"a", "ip 198.51.100.4"},
			Meta: map[string]any{"list": []any{map[string]any{"secret": "s"}, 7}}}
		v, notes := redactOne(t, nil, slog.Any("deep", in))
		out, ok := v.Any().(map[string]any)
		require.True(t, ok, "%T", v.Any())
		assert.Equal(t, R, out["Acct"].(map[string]any)["Password"])
		assert.Equal(t, []string{"a", "ip " + R}, out["Tags"])
		assert.Equal(t, []any{map[string]any{"secret": R}, 7}, out["Meta"].(map[string]any)["list"])
		assert.Contains(t, notes, mwScrubEntry{[]string{"attributes", "deep", "Meta", "list", "0", "secret"}, "secret"},
			"list indexes are part of the path")
	})
	t.Run("error keeps its type", func(t *testing.T) {
		err := &fs.PathError{Op: "open", Path: "/home/jane@example.com/x", Err: fs.ErrNotExist}
		v, notes := redactOne(t, nil, slog.Any("err", err))
		got, ok := v.Any().(error)
		require.True(t, ok, "%T", v.Any())
		assert.Equal(t, "open /home/"+R+"/x: file does not exist", got.Error())
		assert.Equal(t, "*fs.PathError", errorType(got))
		assert.Equal(t, []mwScrubEntry{{[]string{"attributes", "err"}, PatternEmail}}, notes)
	})
	t.Run("json.RawMessage", func(t *testing.T) {
		in := json.RawMessage(`{"user":"u","password":"p","n":[1,{"token":"t"}]}`)
		v, _ := redactOne(t, nil, slog.Any("body", in))
		assert.JSONEq(t, `{"user":"u","password":"`+R+`","n":[1,{"token":"`+R+`"}]}`, string(v.Any().(json.RawMessage)))
	})
	t.Run("JSON text keeps order and format", func(t *testing.T) {
		in := "{\n  \"z\": 1,\n  \"password\": {\"a\": [1, 2]},\n  \"msg\": \"mail jane@example.com\",\n  \"n\": 4111111111111111\n}"
		v, notes := redactOne(t, nil, slog.String("body", in))
		want := "{\n  \"z\": 1,\n  \"password\": \"" + R + "\",\n  \"msg\": \"mail " + R + "\",\n  \"n\": \"" + R + "\"\n}"
		assert.Equal(t, want, v.String())
		assert.True(t, json.Valid([]byte(v.String())))
		assert.ElementsMatch(t, []mwScrubEntry{
			{[]string{"attributes", "body", "password"}, "password"},
			{[]string{"attributes", "body", "msg"}, PatternEmail},
			{[]string{"attributes", "body", "n"}, PatternCreditCard},
		}, notes)
	})
	t.Run("invalid JSON falls back to the text rules", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.String("body", `{"password": "hunter2", oops`))
		assert.Equal(t, `{"password": "`+R+`", oops`, v.String())
	})
	t.Run("clean JSON is not rewritten", func(t *testing.T) {
		in := `{ "a" : 1,  "b": [true, null] }`
		v, notes := redactOne(t, nil, slog.String("body", in))
		assert.Equal(t, in, v.String())
		assert.Empty(t, notes)
	})
	t.Run("cycle", func(t *testing.T) {
		m := map[string]any{"password": "p"}
		m["self"] = m
		v, _ := redactOne(t, nil, slog.Any("m", m))
		assert.Equal(t, R, v.Any().(map[string]any)["password"])
	})
	t.Run("allowlisted key is exempt, its map contents are not", func(t *testing.T) {
		v, _ := redactOne(t, &RedactOptions{AllowKeys: []string{"session"}}, slog.Any("session", map[string]string{"id": "1", "token": "t"}))
		assert.Equal(t, map[string]any{"id": "1", "token": R}, v.Any())
	})
}

// TestRedactedErrorExceptionType checks, through the real encoder, that a
// redacted error still reports the original's exception.type: the type the
// handler names for the unredacted error (fmt.Errorf's wrapper is looked
// through, as the OpenTelemetry Go SDK does).
func TestRedactedErrorExceptionType(t *testing.T) {
	var got []slog.Record
	red := Redact(nil)(&mwCapture{records: &got})
	err := fmt.Errorf("login for jane@example.com: %w", fs.ErrPermission)
	r := slog.NewRecord(mwTime, slog.LevelError, "failed", 0)
	r.AddAttrs(slog.Any("err", err))
	require.NoError(t, red.Handle(context.Background(), r))
	require.Len(t, got, 1)

	h := NewHandler(discardExporter{}, nil)
	defer func() { _ = h.Shutdown(context.Background()) }()
	buf := appendRecordJSON(nil, h.appendRecord(nil, context.Background(), got[0], time.Now()))
	var rec struct {
		Attributes []struct {
			Key   string `json:"key"`
			Value struct {
				S string `json:"stringValue"`
			} `json:"value"`
		} `json:"attributes"`
	}
	require.NoError(t, json.Unmarshal(buf, &rec), string(buf))
	attrs := map[string]string{}
	for _, a := range rec.Attributes {
		attrs[a.Key] = a.Value.S
	}
	assert.Equal(t, errorType(err), attrs["exception.type"])
	assert.Equal(t, "*errors.errorString", attrs["exception.type"])
	assert.Equal(t, "login for "+DefaultReplacement+": permission denied", attrs["exception.message"])
	assert.NotContains(t, string(buf), "jane@example.com")
}

// stackErr (handler_test.go) prints a stack under %+v, as
// github.com/pkg/errors does.
func TestRedactedErrorKeepsStack(t *testing.T) {
	v, _ := redactOne(t, nil, slog.Any("err", stackErr{"token=abc123 refused"}))
	err := v.Any().(error)
	assert.Equal(t, "token="+DefaultReplacement+" refused", err.Error())
	st := errorStack(err, err.Error())
	assert.Equal(t, "token="+DefaultReplacement+" refused\nmain.work\n\t/src/app/work.go:12", st)
	assert.Equal(t, "github.com/soliplex/slogotlp.stackErr", errorType(err))
}

func TestRedactWithGroupDenied(t *testing.T) {
	log, buf := mwJSONLogger(t, Redact(nil))
	log.WithGroup("credentials").Info("m", "value", "v")
	log.WithGroup("req").With("k", 1).WithGroup("auth").With("user", "u").Info("m", "x", 2)
	log.WithGroup("secrets").Info("nothing inside")
	log.WithGroup("credentials").With("bound", "b").Info("bound only")
	recs := mwDecode(t, buf)
	require.Len(t, recs, 4)
	assert.Equal(t, DefaultReplacement, recs[0]["credentials"])
	assert.NotContains(t, buf.String(), `"v"`)
	assert.Equal(t, map[string]any{"k": float64(1), "auth": DefaultReplacement}, recs[1]["req"])
	assert.Equal(t, []mwScrubEntry{{[]string{"attributes", "req", "auth"}, "auth"}}, mwScrubbed(t, recs[1]))
	assert.NotContains(t, recs[2], "secrets", "an empty group stays omitted")
	assert.Equal(t, DefaultReplacement, recs[3]["credentials"])

	allowed := mustRedactor(t, &RedactOptions{AllowKeys: []string{"session"}})
	log, buf = mwJSONLogger(t, allowed.Middleware())
	log.WithGroup("session").Info("m", "id", 7)
	assert.Equal(t, map[string]any{"id": float64(7)}, mwDecode(t, buf)[0]["session"], "an allowlisted group is exempt")
}

func TestScrubbedKeyFormat(t *testing.T) {
	var got []slog.Record
	h := Redact(nil)(&mwCapture{records: &got})
	r := slog.NewRecord(mwTime, slog.LevelInfo, "mail jane@example.com", 0)
	r.AddAttrs(slog.Group("grüße", slog.String("UserPassword", "x")), slog.Any("l", []any{map[string]string{"token": "t"}}))
	require.NoError(t, h.Handle(context.Background(), r))
	var s string
	got[0].Attrs(func(a slog.Attr) bool {
		if a.Key == ScrubbedKey {
			s = a.Value.String()
		}
		return true
	})
	// Python's json.dumps output, as Logfire's SDK writes it.
	assert.Equal(t, `[{"path": ["log_body"], "matched_substring": "email"}, `+
		`{"path": ["attributes", "gr\u00fc\u00dfe", "UserPassword"], "matched_substring": "Password"}, `+
		`{"path": ["attributes", "l", 0, "token"], "matched_substring": "token"}]`, s)
	assert.Equal(t, `"\ud83d\ude00\ufffd\n"`, string(appendPyJSONString(nil, "😀\xff\n")))
}

// shapeFormatter prints itself its own way, secret included.
type shapeFormatter struct{ tok string }

func (s shapeFormatter) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "session=%s", s.tok) }

type shapeKind string

type shapeWithValuer struct {
	Name string
	Tok  shapeToken
	tok  shapeToken
}

func TestRedactReflectedShapes(t *testing.T) {
	const R = DefaultReplacement
	t.Run("map with other value types", func(t *testing.T) {
		v, notes := redactOne(t, nil, slog.Any("m", map[string]int{"pin": 1234, "count": 2}))
		assert.Equal(t, map[string]any{"pin": R, "count": 2}, v.Any())
		assert.Equal(t, []mwScrubEntry{{[]string{"attributes", "m", "pin"}, "pin"}}, notes)
	})
	t.Run("map with named string keys", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("m", map[shapeKind]string{"secret": "s", "kind": "k"}))
		assert.Equal(t, map[string]any{"secret": R, "kind": "k"}, v.Any())
	})
	t.Run("map with int keys", func(t *testing.T) {
		v, notes := redactOne(t, nil, slog.Any("m", map[int]string{1: "mail a@b.io", 2: "ok"}))
		assert.Equal(t, map[string]any{"1": "mail " + R, "2": "ok"}, v.Any())
		assert.Equal(t, []mwScrubEntry{{[]string{"attributes", "m", "1"}, PatternEmail}}, notes)
		clean := map[int]string{1: "a"}
		v, _ = redactOne(t, nil, slog.Any("m", clean))
		assert.Equal(t, clean, v.Any(), "a clean map passes as it was")
	})
	t.Run("slice of structs", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("l", []shapeAccount{{User: "a"}, {User: "b", Password: "p"}}))
		assert.Equal(t, []any{shapeAccount{User: "a"}, map[string]any{"User": "b", "Password": R, "Number": "", "APIToken": "", "Note": "", "Limit": 0}}, v.Any())
	})
	t.Run("array of strings", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("a", [2]string{"x", "token=abc"}))
		assert.Equal(t, []any{"x", "token=" + R}, v.Any())
	})
	t.Run("named string and byte slice types", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("k", shapeKind("mail a@b.io")))
		assert.Equal(t, "mail "+R, v.Any())
		v, _ = redactOne(t, nil, slog.Any("raw", json.RawMessage(`not json: password=x`)))
		assert.Equal(t, "not json: password="+R, v.Any(), "invalid JSON comes back as text")
	})
	t.Run("numbers in lists", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("l", []any{int64(4111111111111111), uint64(5555555555554444), 7}))
		assert.Equal(t, []any{R, R, 7}, v.Any())
		v, _ = redactOne(t, nil, slog.Any("l", []any{4111111111111111, uint(5555555555554444), 8}))
		assert.Equal(t, []any{R, R, 8}, v.Any(), "plain int and uint, as a literal in a list is")
	})
	t.Run("LogValuer fields and values", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("w", shapeWithValuer{Name: "n", Tok: "raw-1", tok: "raw-2"}))
		assert.Equal(t, map[string]any{"Name": "n", "Tok": slog.StringValue("tok-hidden")}, v.Any())
		v, _ = redactOne(t, nil, slog.Any("l", []any{shapeToken("raw-3"), slog.GroupValue(slog.String("password", "p"))}))
		assert.Equal(t, []any{slog.StringValue("tok-hidden"), slog.GroupValue(slog.String("password", R))}, v.Any())
	})
	t.Run("a value that formats itself", func(t *testing.T) {
		v, _ := redactOne(t, nil, slog.Any("f", struct{ F shapeFormatter }{shapeFormatter{"abc123"}}))
		assert.NotContains(t, fmt.Sprintf("%+v", v.Any()), "abc123")
	})
	t.Run("nil and empty", func(t *testing.T) {
		var p *shapeAccount
		for _, x := range []any{p, map[string]string(nil), []string(nil), map[int]int{}, struct{}{}} {
			v, notes := redactOne(t, nil, slog.Any("x", x))
			assert.Equal(t, x, v.Any())
			assert.Empty(t, notes)
		}
	})
	t.Run("one-byte custom fragment", func(t *testing.T) {
		v, _ := redactOne(t, &RedactOptions{NoDefaultDenyKeys: true, DenyKeys: []string{"Q"}}, slog.Any("m", map[string]string{"aqb": "x", "b": "y"}))
		assert.Equal(t, map[string]any{"aqb": R, "b": "y"}, v.Any())
	})
}
