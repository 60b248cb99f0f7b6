package slogotlp_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	slogmulti "github.com/samber/slog-multi"

	"github.com/soliplex/slogotlp"
)

// noTime drops the time so the output below is stable.
func noTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// Redaction in front of any handler: secrets in keys, emails and tokens in
// values, and the message are replaced, and logfire.scrubbed says why.
func ExampleRedact() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})
	log := slog.New(slogotlp.Redact(nil)(h))

	log.Info("password reset for jane@example.com",
		slog.Group("req", slog.String("authorization", "Bearer abc.def.ghi"), slog.Int("status", 200)),
		slog.String("client", "203.0.113.7"))
	// Output:
	// level=INFO msg="password reset for [REDACTED]" req.authorization=[REDACTED] req.status=200 client=[REDACTED] logfire.scrubbed="[{\"path\": [\"log_body\"], \"matched_substring\": \"email\"}, {\"path\": [\"attributes\", \"req\", \"authorization\"], \"matched_substring\": \"auth\"}, {\"path\": [\"attributes\", \"client\"], \"matched_substring\": \"ipv4\"}]"
}

// Redaction reaches inside values: header names, map keys, struct fields and
// JSON text go through the same key rules as attribute keys, free text is
// searched for key=value pairs with a secret key and for credential formats,
// and a redacted value keeps its shape (a map stays a map).
func ExampleRedact_insideValues() {
	h := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})
	log := slog.New(slogotlp.Redact(nil)(h))

	type login struct {
		User     string
		Password string
	}
	log.Info("request",
		slog.Any("headers", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}, "Accept": {"*/*"}}),
		slog.Any("form", login{User: "jane", Password: "hunter2"}),
		slog.String("body", `{"user":"jane","token":"abc"}`),
		slog.String("note", "retrying with password=hunter2 and key ghp_16C7e42F292c6912E7710c838347Ae178B4a"))
	log.WithGroup("credentials").Info("loaded", "aws", "AKIA...")
	// Output:
	// {"level":"INFO","msg":"request","headers":{"Accept":["*/*"],"Authorization":"[REDACTED]"},"form":{"Password":"[REDACTED]","User":"jane"},"body":"{\"user\":\"jane\",\"token\":\"[REDACTED]\"}","note":"retrying with password=[REDACTED] and key [REDACTED]","logfire.scrubbed":"[{\"path\": [\"attributes\", \"headers\", \"Authorization\"], \"matched_substring\": \"Auth\"}, {\"path\": [\"attributes\", \"form\", \"Password\"], \"matched_substring\": \"Password\"}, {\"path\": [\"attributes\", \"body\", \"token\"], \"matched_substring\": \"token\"}, {\"path\": [\"attributes\", \"note\"], \"matched_substring\": \"github_token\"}, {\"path\": [\"attributes\", \"note\"], \"matched_substring\": \"password\"}]"}
	// {"level":"INFO","msg":"loaded","credentials":"[REDACTED]","logfire.scrubbed":"[{\"path\": [\"attributes\", \"credentials\"], \"matched_substring\": \"credential\"}]"}
}

// An allowlist keeps only the listed key paths; custom patterns and the
// replacement text are options too.
func ExampleNewRedactor() {
	rd, err := slogotlp.NewRedactor(&slogotlp.RedactOptions{
		AllowKeys:   []string{"req.user_id", "order"},
		Patterns:    []slogotlp.Pattern{{Name: "order_id", Expr: `ORD-[0-9]+`}},
		Replacement: "<hidden>",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})
	log := slog.New(rd.Middleware()(h))
	log.Info("shipped", slog.Group("req", "user_id", 42, "ip", "10.0.0.1"), "order", "ORD-1234")
	// Output:
	// level=INFO msg=shipped req.user_id=42 order=<hidden> logfire.scrubbed="[{\"path\": [\"attributes\", \"req\", \"ip\"], \"matched_substring\": \"allowlist\"}, {\"path\": [\"attributes\", \"order\"], \"matched_substring\": \"order_id\"}]"
}

// TrimPath turns build-machine paths into module-relative ones.
func ExampleTrimPath() {
	fmt.Println(slogotlp.TrimPath("/home/jane/go/pkg/mod/github.com/samber/slog-multi@v1.7.1/pipe.go"))
	fmt.Println(slogotlp.TrimPath("/home/jane/elsewhere/tool/main.go"))
	// Output:
	// github.com/samber/slog-multi@v1.7.1/pipe.go
	// tool/main.go
}

// Sampling keeps a fraction of low levels, caps each logger with a token
// bucket, never drops ERROR, and counts every drop.
func ExampleNewSampler() {
	s := slogotlp.NewSampler(&slogotlp.SampleOptions{
		Rates:    map[slog.Level]float64{slog.LevelDebug: 0},
		Limit:    1, // record per second per logger
		Burst:    2,
		LimitKey: "logger",
	})
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime})
	log := slog.New(s.Middleware()(h)).With("logger", "db")
	for i := range 4 {
		log.Info("query", "n", i)
	}
	log.Debug("dropped by rate")
	log.Error("always kept")
	fmt.Printf("%+v\n", s.Stats())
	// Output:
	// level=INFO msg=query logger=db n=0
	// level=INFO msg=query logger=db n=1
	// level=ERROR msg="always kept" logger=db
	// {Seen:6 Kept:3 DroppedRate:1 DroppedLimit:2}
}

// Both middlewares compose with slogmulti.Pipe in front of any handler:
// redact first, so nothing unredacted is ever kept.
func Example_redactAndSample() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})
	log := slog.New(slogmulti.Pipe(
		slogotlp.Redact(nil),
		slogotlp.Sample(&slogotlp.SampleOptions{Rates: map[slog.Level]float64{slog.LevelInfo: 1}}),
	).Handler(h))
	log.InfoContext(context.Background(), "hello", "api_key", "sk-live-123")
	// Output:
	// level=INFO msg=hello api_key=[REDACTED] logfire.scrubbed="[{\"path\": [\"attributes\", \"api_key\"], \"matched_substring\": \"api_key\"}]"
}
