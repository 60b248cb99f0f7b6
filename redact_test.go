package slogotlp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"unicode/utf8"

	slogmulti "github.com/samber/slog-multi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mwJSONLogger returns a logger whose records pass mw and land as JSON lines in
// the returned buffer (time dropped for stable output).
func mwJSONLogger(t testing.TB, mw func(slog.Handler) slog.Handler) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		Level: slog.Level(-8),
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(mw(h)), &buf
}

func mwDecode(t testing.TB, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m), string(line))
		out = append(out, m)
	}
	return out
}

type mwScrubEntry struct {
	Path mwPath `json:"path"`
	Rule string `json:"matched_substring"`
}

// mwPath is a ScrubbedKey path with list indexes written as strings, so
// tables can spell paths as []string.
type mwPath []string

func (p *mwPath) UnmarshalJSON(b []byte) error {
	var raw []any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*p = make(mwPath, len(raw))
	for i, e := range raw {
		(*p)[i] = fmt.Sprint(e)
	}
	return nil
}

func mwScrubbed(t testing.TB, rec map[string]any) []mwScrubEntry {
	t.Helper()
	s, ok := rec[ScrubbedKey].(string)
	if !ok {
		return nil
	}
	var out []mwScrubEntry
	require.NoError(t, json.Unmarshal([]byte(s), &out), s)
	return out
}

func mustRedactor(t testing.TB, o *RedactOptions) *Redactor {
	t.Helper()
	rd, err := NewRedactor(o)
	require.NoError(t, err)
	return rd
}

func TestRedactPatterns(t *testing.T) {
	rd := mustRedactor(t, nil)
	const R = DefaultReplacement
	tests := []struct {
		name, in, want string
	}{
		// positives
		{"email", "mail bob.smith+x@example.co.uk now", "mail " + R + " now"},
		{"email upper", "Contact: ALICE@EXAMPLE.COM.", "Contact: " + R + "."},
		{"bearer", "Authorization: Bearer abcDEF123456.xyz", "Authorization: " + R},
		{"bearer lower", "sent bearer 0123456789abcdef", "sent " + R},
		{"short jwt", "x eyJ0.eyJ0.0 y", "x " + R + " y"},
		{"jwt", "tok=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig-nat_ure rest", "tok=" + R + " rest"},
		{"logfire token", "token pylf_v1_us_0123456789abcdefABCDEF end", "token " + R + " end"},
		{"openai key", "key sk-proj-Ab3dEf9hIjKlMn0pQrStUvWx", "key " + R},
		{"aws key", "AKIAIOSFODNN7EXAMPLE used", R + " used"},
		{"github token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", R},
		{"stripe", "sk_live_abcdefghijklmnop1234", R},
		{"ipv4", "client 192.168.1.20 connected", "client " + R + " connected"},
		{"ipv4 port", "dial 10.0.0.1:8080", "dial " + R + ":8080"},
		{"ipv4 end of sentence", "from 203.0.113.9.", "from " + R + "."},
		{"ipv6", "peer 2001:db8::8a2e:370:7334 ok", "peer " + R + " ok"},
		{"ipv6 bracketed", "peer [2001:db8::1]:80", "peer [" + R + "]:80"},
		{"ipv6 full", "fe80:0000:0000:0000:0202:b3ff:fe1e:8329", R},
		{"ipv6 mapped", "::ffff:192.0.2.128", R},
		{"visa", "card 4111111111111111 charged", "card " + R + " charged"},
		{"visa spaced", "card 4111 1111 1111 1111.", "card " + R + "."},
		{"mastercard dashed", "5555-5555-5555-4444", R},
		{"amex", "378282246310005", R},
		// negatives
		{"version 4 parts", "version 1.2.3.4-beta", "version 1.2.3.4-beta"},
		{"version v prefix", "v10.0.0.1 released", "v10.0.0.1 released"},
		{"version 5 parts", "1.2.3.4.5", "1.2.3.4.5"},
		{"semver", "go1.26.8 linux/amd64", "go1.26.8 linux/amd64"},
		{"uuid", "id 550e8400-e29b-41d4-a716-446655440000", "id 550e8400-e29b-41d4-a716-446655440000"},
		{"uuid digits", "12345678-1234-1234-1234-123456789012", "12345678-1234-1234-1234-123456789012"},
		{"timestamp", "at 2024-01-02T03:04:05.123456Z", "at 2024-01-02T03:04:05.123456Z"},
		{"clock", "12:30:45", "12:30:45"},
		{"cpp scope", "std::vector<int>", "std::vector<int>"},
		{"double colon", "a :: b", "a :: b"},
		{"mac", "00:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5e"},
		{"non luhn", "order 4111111111111112", "order 4111111111111112"},
		{"unix nanos", "ts 1700000000123456789", "ts 1700000000123456789"},
		{"phone-ish", "call 555-1234", "call 555-1234"},
		{"no domain dot", "user@localhost", "user@localhost"},
		{"bearer prose", "the bearer of news", "the bearer of news"},
		{"short sk", "task-runner", "task-runner"},
		{"plain", "GET /api/users 200", "GET /api/users 200"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := rd.ScrubString(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.in != tt.want, changed)
		})
	}
}

// deniedKey returns the name of the key rule that key hits, or "".
func (rd *Redactor) deniedKey(key string) string {
	rule, _ := rd.keys.match(key)
	return rule
}

func TestRedactDenyKeys(t *testing.T) {
	rd := mustRedactor(t, nil)
	tests := []struct {
		key  string
		rule string
	}{
		{"password", "password"}, {"UserPassword", "password"}, {"db_passwd", "password"},
		{"MYSQL_PWD", "password"}, {"client_secret", "secret"}, {"Authorization", "auth"},
		{"x-auth-token", "auth"}, {"authority", "auth"}, {"credentials", "credential"},
		{"private_key", "private_key"}, {"privateKey", "private_key"}, {"api-key", "api_key"},
		{"apikey", "api_key"}, {"API_KEY", "api_key"}, {"session_id", "session"},
		{"Set-Cookie", "cookie"}, {"social_security_number", "social_security"},
		{"credit card", "credit_card"}, {"access_token", "token"}, {"token", "token"},
		{"refreshToken", "token"}, {"csrf", "csrf"}, {"x_xsrf_header", "xsrf"},
		{"jwt", "jwt"}, {"user_jwt", "jwt"}, {"ssn", "ssn"}, {"userSSN", "ssn"},
		{"user.ssn", "ssn"},
		// not denied
		{"author", ""}, {"authors", ""}, {"max_tokens", ""}, {"tokenizer", ""},
		{"classname", ""}, {"lesson", ""}, {"user_id", ""}, {"msg", ""}, {"", ""},
		{"jwtish", ""}, {"ssnack", ""}, {"tokenType", ""}, {"token_count", ""}, {"input_tokens", ""},
		// beyond Logfire's list
		{"pwd", "pwd"}, {"DB_PWD", "pwd"}, {"passcode", "password"}, {"pin", "pin"}, {"card_pin", "pin"}, {"PIN", "pin"},
		{"cvv", "cvv"}, {"cvv2", "cvv"}, {"otp", "otp"}, {"otp_code", "otp"}, {"dsn", "dsn"}, {"sentry_dsn", "dsn"},
		{"connection_string", "connection_string"}, {"ConnectionString", "connection_string"}, {"conn_str", "connection_string"},
		{"accessKey", "access_key"}, {"AccountKey", "account_key"}, {"card_number", "card_number"}, {"cardNumber", "card_number"},
		{"iban", "iban"}, {"bearer", "bearer"}, {"PHPSESSID", "session"}, {"JSESSIONID", "session"}, {"connect.sid", "sid"},
		{"Ocp-Apim-Subscription-Key", "subscription_key"}, {"sig", "sig"}, {"x-api-key", "api_key"},
		{"spin", ""}, {"pinned", ""}, {"ping", ""}, {"options", ""}, {"dsnap", ""}, {"signal", ""}, {"sidebar", ""}, {"inside", ""},
		{"creds", "credential"},
		// keys that name something about a secret, not the secret
		{"credentialsId", ""}, {"secret_name", ""}, {"SECRET_NAME", ""}, {"password_file", ""}, {"private_key_path", ""},
		{"TokenFile", ""}, {"access_token_url", ""}, {"tokenCount", ""}, {"UserSecretsId", ""}, {"auth_type", ""},
		{"session_id", "session"}, {"sessionId", "session"}, {"passwordHash", "password"}, {"secrets", "secret"}, {"pin_type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.rule, rd.deniedKey(tt.key))
		})
	}
	assert.Contains(t, DefaultDenyKeys(), "password")
	assert.Contains(t, DefaultDenyKeys(), "ssn")

	custom := mustRedactor(t, &RedactOptions{NoDefaultDenyKeys: true, DenyKeys: []string{"Internal", ""}})
	assert.Equal(t, "internal", custom.deniedKey("myInternalNote"))
	assert.Equal(t, "", custom.deniedKey("password"))
}

// TestNoPIIReachesNext logs a realistic record and checks the next handler's
// output holds none of the secrets, and that logfire.scrubbed says why.
func TestRedactNoPIIReachesNext(t *testing.T) {
	log, buf := mwJSONLogger(t, Redact(nil))
	const (
		email = "jane.doe@example.com"
		jwt   = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXZhbHVl"
		ip    = "203.0.113.7"
		pw    = "hunter2-correct-horse"
		cc    = "4111111111111111"
	)
	log = log.With("user", email, slog.Group("auth", "password", pw))
	err := fmt.Errorf("dial tcp %s:443: connection refused", ip)
	log.Error("login failed for "+email,
		slog.Group("req",
			slog.String("path", "/login"),
			slog.Group("headers", slog.String("x-forwarded", "Bearer "+jwt)),
			slog.Any("meta", map[string]string{"note": "call " + email}),
		),
		slog.Any("error", err),
		slog.Int64("card", 4111111111111111),
		slog.String("card_text", "paid with "+cc),
		slog.Any("lazy", mwLazyValue{email}),
	)
	out := buf.String()
	for _, secret := range []string{email, jwt, ip, pw, cc, "eyJ"} {
		assert.NotContains(t, out, secret)
	}
	recs := mwDecode(t, buf)
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, "login failed for "+DefaultReplacement, rec["msg"])
	assert.Equal(t, "/login", rec["req"].(map[string]any)["path"], "clean values stay")
	assert.Equal(t, map[string]any{"note": "call " + DefaultReplacement}, rec["req"].(map[string]any)["meta"], "a map stays a map")
	assert.Equal(t, "dial tcp "+DefaultReplacement+":443: connection refused", rec["error"])
	got := mwScrubbed(t, rec)
	assert.ElementsMatch(t, []mwScrubEntry{
		{[]string{"attributes", "user"}, PatternEmail},
		{[]string{"attributes", "auth"}, "auth"},
		{[]string{"log_body"}, PatternEmail},
		{[]string{"attributes", "req", "headers", "x-forwarded"}, PatternJWT},
		{[]string{"attributes", "req", "meta", "note"}, PatternEmail},
		{[]string{"attributes", "error"}, PatternIPv4},
		{[]string{"attributes", "card"}, PatternCreditCard},
		{[]string{"attributes", "card_text"}, PatternCreditCard},
		{[]string{"attributes", "lazy"}, PatternEmail},
	}, got)
	assert.NotContains(t, rec[ScrubbedKey], "example.com")
}

type mwLazyValue struct{ email string }

func (l mwLazyValue) LogValue() slog.Value { return slog.StringValue("owner " + l.email) }

type mwPanicValuer struct{}

func (mwPanicValuer) LogValue() slog.Value { panic("boom") }

type mwPanicStringer struct{}

func (mwPanicStringer) String() string { panic("boom") }

func TestRedactCleanRecordPassesThrough(t *testing.T) {
	var got []slog.Record
	next := &mwCapture{records: &got}
	h := Redact(nil)(next)
	r := slog.NewRecord(mwTime, slog.LevelInfo, "hello", 0)
	r.AddAttrs(slog.Int("n", 1), slog.String("path", "/x"))
	require.NoError(t, h.Handle(context.Background(), r))
	require.Len(t, got, 1)
	assert.Equal(t, 2, got[0].NumAttrs())
	assert.Equal(t, "hello", got[0].Message)
}

func TestRedactErrorValueKeptWhenClean(t *testing.T) {
	var got []slog.Record
	h := Redact(nil)(&mwCapture{records: &got})
	sentinel := errors.New("plain failure")
	r := slog.NewRecord(mwTime, slog.LevelError, "x", 0)
	r.AddAttrs(slog.Any("err", sentinel), slog.Any("nil", nil), slog.Any("bytes", []byte("to a@b.io")),
		slog.Any("stringer", mwPanicStringer{}), slog.Any("valuer", mwPanicValuer{}))
	require.NoError(t, h.Handle(context.Background(), r))
	require.Len(t, got, 1)
	attrs := map[string]slog.Value{}
	got[0].Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
	assert.Equal(t, sentinel, attrs["err"].Any(), "a clean error stays an error for exception mapping")
	assert.Equal(t, []byte("to "+DefaultReplacement), attrs["bytes"].Any(), "[]byte stays []byte")
	assert.Equal(t, mwPanicStringer{}, attrs["stringer"].Any(), "a panicking Stringer is left to the next handler")
	assert.Contains(t, fmt.Sprint(attrs["valuer"].Any()), "LogValue panicked")
}

func TestRedactAllowlist(t *testing.T) {
	rd := mustRedactor(t, &RedactOptions{AllowKeys: []string{"req.user_id", "resp", "session_kind", "g.inner.ok"}})
	log, buf := mwJSONLogger(t, rd.Middleware())
	log.Info("m",
		slog.Group("req", slog.Int("user_id", 7), slog.String("ip", "x"), slog.Group("sub", "a", 1)),
		slog.Group("resp", slog.Int("status", 200), slog.String("token", "abc")),
		slog.String("session_kind", "web"),
		slog.String("other", "dropped"),
		slog.String("req2", "dropped"),
		slog.Group("", slog.String("inline_dropped", "x"), slog.Group("req", slog.Int("user_id", 8))),
	)
	recs := mwDecode(t, buf)
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, map[string]any{"user_id": float64(8)}, rec["req"], "the inline group's req wins as the last key in JSON")
	assert.Equal(t, map[string]any{"status": float64(200), "token": DefaultReplacement}, rec["resp"])
	assert.Equal(t, "web", rec["session_kind"], "an explicitly allowed key is exempt from the denylist")
	assert.NotContains(t, rec, "other")
	assert.NotContains(t, rec, "req2")
	assert.NotContains(t, rec, "inline_dropped")
	assert.ElementsMatch(t, []mwScrubEntry{
		{[]string{"attributes", "req", "ip"}, ruleAllowlist},
		{[]string{"attributes", "req", "sub"}, ruleAllowlist},
		{[]string{"attributes", "resp", "token"}, "token"},
		{[]string{"attributes", "other"}, ruleAllowlist},
		{[]string{"attributes", "req2"}, ruleAllowlist},
		{[]string{"attributes", "inline_dropped"}, ruleAllowlist},
	}, mwScrubbed(t, rec))

	// Paths through WithGroup.
	buf.Reset()
	log.WithGroup("g").With("bound", 1).WithGroup("inner").Info("m", "ok", 1, "no", 2)
	log.WithGroup("resp").Info("m", "any", 1)
	log.WithGroup("nope").WithGroup("deeper").Info("m", "x", 1)
	recs = mwDecode(t, buf)
	require.Len(t, recs, 3)
	assert.Equal(t, map[string]any{"inner": map[string]any{"ok": float64(1)}}, recs[0]["g"])
	assert.ElementsMatch(t, []mwScrubEntry{
		{[]string{"attributes", "g", "bound"}, ruleAllowlist},
		{[]string{"attributes", "g", "inner", "no"}, ruleAllowlist},
	}, mwScrubbed(t, recs[0]))
	assert.Equal(t, map[string]any{"any": float64(1)}, recs[1]["resp"])
	assert.NotContains(t, recs[2], "nope")
}

func TestRedactWithAttrsAndGroups(t *testing.T) {
	log, buf := mwJSONLogger(t, Redact(nil))
	l := log.With("api_key", "k1", "svc", "a").WithGroup("g").With("to", "x@y.io").WithGroup("h")
	l.Info("m", "password", "p", "n", 1)
	l2 := l.With("z", 2)
	l2.Info("m2")
	log.WithGroup("empty").Info("m3")
	recs := mwDecode(t, buf)
	require.Len(t, recs, 3)
	assert.Equal(t, DefaultReplacement, recs[0]["api_key"])
	assert.Equal(t, "a", recs[0]["svc"])
	assert.Equal(t, map[string]any{"to": DefaultReplacement, "h": map[string]any{"password": DefaultReplacement, "n": float64(1)}}, recs[0]["g"])
	assert.ElementsMatch(t, []mwScrubEntry{
		{[]string{"attributes", "api_key"}, "api_key"},
		{[]string{"attributes", "g", "to"}, PatternEmail},
		{[]string{"attributes", "g", "h", "password"}, "password"},
	}, mwScrubbed(t, recs[0]), "WithAttrs entries are repeated on every record")
	assert.Equal(t, map[string]any{"to": DefaultReplacement, "h": map[string]any{"z": float64(2)}}, recs[1]["g"])
	assert.NotContains(t, recs[2], "empty", "an empty group is omitted")
	assert.NotContains(t, recs[2], ScrubbedKey)

	h := Redact(nil)(slog.NewJSONHandler(io.Discard, nil))
	assert.Same(t, h, h.WithGroup(""))
	assert.Same(t, h, h.WithAttrs(nil))
}

func TestRedactCustomPatternsAndReplacement(t *testing.T) {
	rd, err := NewRedactor(&RedactOptions{
		Replacement:     "***",
		Patterns:        []Pattern{{Name: "order", Expr: `ORD-[0-9]{6}`}, {Name: "acct", Expr: `[0-9]{4}-acct`, Hint: "-acct"}},
		DisablePatterns: []string{PatternIPv4},
	})
	require.NoError(t, err)
	got, _ := rd.ScrubString("ORD-123456 from 10.1.2.3 via 1234-acct")
	assert.Equal(t, "*** from 10.1.2.3 via ***", got)

	_, err = NewRedactor(&RedactOptions{Patterns: []Pattern{{Name: "bad", Expr: `(`}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"bad"`)
	_, err = NewRedactor(&RedactOptions{Patterns: []Pattern{{Expr: `x`}}})
	require.Error(t, err)

	// Redact never runs without a rule it was given: a bad pattern is a
	// programming error, reported at once with the pattern's name.
	assert.PanicsWithError(t, `slogotlp: redact pattern "bad": fix its Expr (RE2 syntax): error parsing regexp: missing closing ): `+"`(`",
		func() {
			Redact(&RedactOptions{Patterns: []Pattern{{Name: "bad", Expr: `(`}, {Name: "ok", Expr: `zzz`}}})
		})
}

func TestRedactScrubbedJSONEscapes(t *testing.T) {
	log, buf := mwJSONLogger(t, Redact(nil))
	log.Info("m", slog.Group("we\"ird\n\xff", slog.String("my\\password", "x")))
	got := mwScrubbed(t, mwDecode(t, buf)[0])
	assert.Equal(t, []mwScrubEntry{{[]string{"attributes", "we\"ird\n\ufffd", "my\\password"}, "password"}}, got)
}

func TestTrimPath(t *testing.T) {
	tr := &pathTrimmer{gorootSrc: "/usr/local/go/src/", mainDir: "/home/jane/code/app/", mainPath: "github.com/x/app"}
	tr = tr.with([]string{"/opt/build", `C:\agent\work\`, ""})
	tests := []struct{ in, want string }{
		{"/home/jane/go/pkg/mod/github.com/samber/slog-multi@v1.7.1/pipe.go", "github.com/samber/slog-multi@v1.7.1/pipe.go"},
		{"/usr/local/go/src/net/http/server.go", "net/http/server.go"},
		{"/home/jane/code/app/cmd/app/main.go", "github.com/x/app/cmd/app/main.go"},
		{"/opt/build/internal/x.go", "internal/x.go"},
		{`C:\agent\work\pkg\y.go`, "pkg/y.go"},
		{`C:\Users\jane\go\pkg\mod\golang.org\x\time@v0.16.0\rate\rate.go`, "golang.org/x/time@v0.16.0/rate/rate.go"},
		{"/home/jane/go/src/github.com/x/app/a/b.go", "github.com/x/app/a/b.go"},
		{"/home/jane/secret/project/file.go", "project/file.go"},
		{"/file.go", "file.go"},
		{`\\server\share\dir\f.go`, "dir/f.go"},
		{"already/relative.go", "already/relative.go"},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tr.trim(tt.in), tt.in)
	}

	stack := "goroutine 1 [running]:\nmain.main()\n\t/home/jane/code/app/main.go:12 +0x1d\n" +
		"github.com/x/app/pkg.(*T).M(...)\n\t/home/jane/go/pkg/mod/github.com/y/z@v1.0.0/z.go:7 +0x2"
	want := "goroutine 1 [running]:\nmain.main()\n\tgithub.com/x/app/main.go:12 +0x1d\n" +
		"github.com/x/app/pkg.(*T).M(...)\n\tgithub.com/y/z@v1.0.0/z.go:7 +0x2"
	assert.Equal(t, want, tr.trimText(stack))
	assert.Equal(t, "no paths here", tr.trimText("no paths here"))
	assert.Equal(t, "a/b c", tr.trimText("a/b c"))
}

func TestTrimPathDetectsThisBuild(t *testing.T) {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	assert.Equal(t, "github.com/soliplex/slogotlp/redact_test.go", TrimPath(file), "main module directory found from the stack")

	pc := make([]uintptr, 1)
	runtime.Callers(1, pc) // inside testing.tRunner's goroutine
	frames := runtime.CallersFrames(pc)
	f, _ := frames.Next()
	assert.NotContains(t, TrimStack("\t"+f.File+":1"), "/root/")

	var stdFile string
	var mw = slogmulti.Pipe() // any function from the module cache
	_ = mw
	pcs := make([]uintptr, 16)
	n := runtime.Callers(0, pcs)
	frames = runtime.CallersFrames(pcs[:n])
	for {
		fr, more := frames.Next()
		if fr.Function == "testing.tRunner" {
			stdFile = fr.File
		}
		if !more {
			break
		}
	}
	require.NotEmpty(t, stdFile)
	assert.Equal(t, "testing/testing.go", TrimPath(stdFile))
}

func TestRedactorTrimsStackAttrs(t *testing.T) {
	rd := mustRedactor(t, &RedactOptions{TrimPrefixes: []string{"/srv/ci/"}})
	log, buf := mwJSONLogger(t, rd.Middleware())
	log.Error("boom", "exception.stacktrace", "main.f()\n\t/srv/ci/app/f.go:3 +0x1", "code.file.path", "/srv/ci/app/f.go", "other", "/srv/ci/app/f.go")
	rec := mwDecode(t, buf)[0]
	assert.Equal(t, "main.f()\n\tapp/f.go:3 +0x1", rec["exception.stacktrace"])
	assert.Equal(t, "app/f.go", rec["code.file.path"])
	assert.Equal(t, "/srv/ci/app/f.go", rec["other"], "other keys are not paths")
	assert.Equal(t, "x\n\tapp/y.go:1", rd.TrimStack("x\n\t/srv/ci/app/y.go:1"))

	keep := mustRedactor(t, &RedactOptions{KeepPaths: true})
	assert.Equal(t, "/srv/ci/y.go", keep.TrimStack("/srv/ci/y.go"))
}

func TestRedactSlogtest(t *testing.T) {
	var buf bytes.Buffer
	newHandler := func(*testing.T) slog.Handler {
		buf.Reset()
		return Redact(nil)(slog.NewJSONHandler(&buf, nil))
	}
	result := func(t *testing.T) map[string]any {
		var m map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
		return m
	}
	slogtest.Run(t, newHandler, result)
}

func TestRedactConcurrent(t *testing.T) {
	var mu sync.Mutex
	var got []slog.Record
	base := slog.New(Redact(nil)(&mwCapture{records: &got, mu: &mu}))
	l := base.With("k", "v").WithGroup("g")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			li := l.With("i", i).WithGroup(fmt.Sprint("w", i))
			for range 50 {
				li.Info("mail a@b.io", "token", "t", "n", i)
			}
		}()
	}
	wg.Wait()
	assert.Len(t, got, 400)
}

// fuzzAccount is a struct value for FuzzRedact.
type fuzzAccount struct {
	Name     string
	Password string
	Extra    any
}

// FuzzRedact plants secrets the redactor must always find (e-mail
// addresses, JWTs, Logfire tokens, a value under a denied key) in text, maps,
// structs, headers, errors, JSON text and json.RawMessage, around arbitrary
// keys and values, and checks that none survives and that the output is
// still valid: each record a JSON line of valid UTF-8, and JSON text still
// valid JSON.
func FuzzRedact(f *testing.F) {
	f.Add("hi", "jane", "example.com", "k", "4111111111111111", "x")
	f.Add("", "a.b", "c.de", "password", "", "\xff")
	f.Add("v1.2.3.4-beta", "x+y", "sub.example.org", "", "eyJ", "::")
	f.Add("0", "", "", "", "0", "0000") // a short JWT once slipped past the prefilter
	f.Add("{", "q", "w.io", "\"", "{\"a\":[1,2]}", "Zz9aQ")
	rd := mustRedactor(f, nil)
	f.Fuzz(func(t *testing.T, msg, local, domain, key, val, tokenTail string) {
		local = strings.Trim(mwKeepOnly(local, "abcdefghijklmnopqrstuvwxyz0123456789._+"), ".")
		domain = strings.Trim(mwKeepOnly(domain, "abcdefghijklmnopqrstuvwxyz0123456789."), ".")
		tokenTail = mwKeepOnly(tokenTail, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
		var secrets []string
		if tld := domain[strings.LastIndexByte(domain, '.')+1:]; local != "" && strings.Contains(domain, ".") &&
			!strings.Contains(domain, "..") && len(tld) >= 2 && mwKeepOnly(tld, "abcdefghijklmnopqrstuvwxyz") == tld {
			secrets = append(secrets, local+"@"+domain)
		}
		if len(tokenTail) >= 4 {
			secrets = append(secrets, "eyJ"+tokenTail+".eyJ"+tokenTail+"."+tokenTail, "pylf_v1_us_"+tokenTail)
		}
		// A value under a denied key is caught whatever it is.
		denied := "Qv7" + tokenTail + "Jm2"
		for _, x := range []string{msg, local, domain, key, val} {
			if strings.Contains(x, denied) {
				t.Skip("the fuzzer wrote the planted value itself")
			}
			for _, s := range secrets {
				if strings.Contains(x, s) {
					t.Skip("the fuzzer wrote a planted secret itself")
				}
			}
		}
		text := strings.Join(secrets, " ")
		jsonText, err := json.Marshal(map[string]any{key: val, "password": denied, "list": []any{val, text, map[string]string{"token": denied}}})
		require.NoError(t, err)

		var buf bytes.Buffer
		log := slog.New(rd.Middleware()(slog.NewJSONHandler(&buf, nil)))
		args := []any{key, val, slog.Group("g", key, msg)}
		for i, s := range secrets {
			args = append(args, fmt.Sprint("s", i), "x "+s+" y", slog.Group("n", "v", s))
		}
		args = append(args,
			"map", map[string]any{key: val, "password": denied, "note": text, "nested": map[string]string{"api_key": denied, key: text}},
			"struct", fuzzAccount{Name: val, Password: denied, Extra: &fuzzAccount{Name: text}},
			"header", http.Header{"Authorization": {"Basic " + denied}, key: {val, text}},
			"err", fmt.Errorf("%s: token=%s %s", val, denied, text),
			"json", string(jsonText),
			"raw", json.RawMessage(jsonText),
			"list", []any{val, text, map[string]any{"secret": denied}},
		)
		log.With(key, val).WithGroup(key).Info(msg+" "+text, args...)
		out := buf.String()
		for _, s := range append(secrets, denied) {
			if strings.Contains(out, s) {
				t.Fatalf("secret %q reached the output: %s", s, out)
			}
		}
		require.True(t, utf8.ValidString(out), out)
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &rec), out)
		if g, ok := rec[key].(map[string]any); ok && key != "" {
			rec = g // the WithGroup(key) group, when it was not denied
		}
		if js, ok := rec["json"].(string); ok {
			require.True(t, json.Valid([]byte(js)), js)
		}

		_, _ = rd.ScrubString(msg + val)
		_ = TrimStack(val)
		_ = TrimPath(val)
	})
}

func mwKeepOnly(s, allowed string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(allowed, r) {
			return r
		}
		return -1
	}, s)
}
