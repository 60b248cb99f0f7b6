package slogotlp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/soliplex/slogotlp"
)

// printResource prints the resource and the record messages of the OTLP
// JSON payloads in buf, one payload per line.
func printResource(buf *bytes.Buffer, keys ...string) {
	dec := json.NewDecoder(buf)
	for dec.More() {
		var req struct {
			ResourceLogs []struct {
				Resource struct {
					Attributes []struct {
						Key   string
						Value struct{ StringValue string }
					}
				}
				ScopeLogs []struct {
					LogRecords []struct {
						Body struct{ StringValue string }
					}
				}
			}
		}
		if err := dec.Decode(&req); err != nil {
			fmt.Println(err)
			return
		}
		for _, rl := range req.ResourceLogs {
			for _, k := range keys {
				for _, a := range rl.Resource.Attributes {
					if a.Key == k {
						fmt.Printf("%s=%s\n", k, a.Value.StringValue)
					}
				}
			}
			for _, sl := range rl.ScopeLogs {
				for _, r := range sl.LogRecords {
					fmt.Println("record:", r.Body.StringValue)
				}
			}
		}
	}
}

func ExampleNewFromEnv() {
	// A real service passes nil (or a Config with the settings it wants to
	// pin) and sets LOGFIRE_TOKEN or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT. Here
	// the environment is a map, and with no destination set the payloads go
	// to Stdout.
	env := map[string]string{
		"OTEL_SERVICE_NAME":        "checkout",
		"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging,team=payments",
	}
	var out bytes.Buffer
	h, err := slogotlp.NewFromEnv(&slogotlp.Config{
		Getenv: func(k string) string { return env[k] },
		Stdout: &out,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	slog.New(h).Info("order placed", "order_id", 1042)
	_ = h.Shutdown(context.Background())
	printResource(&out, "service.name", "deployment.environment.name", "team")
	// Output:
	// service.name=checkout
	// deployment.environment.name=staging
	// team=payments
	// record: order placed
}

func ExampleNewFromEnv_badVariable() {
	env := map[string]string{"OTEL_BLRP_SCHEDULE_DELAY": "5s"} // the spec wants milliseconds
	h, err := slogotlp.NewFromEnv(&slogotlp.Config{Getenv: func(k string) string { return env[k] }})
	var logger *slog.Logger
	if err != nil {
		// The service chooses to start without export rather than fail.
		var ce *slogotlp.ConfigError
		if errors.As(err, &ce) {
			fmt.Println("variable:", ce.Var)
		}
		fmt.Println(err)
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	} else {
		defer h.Shutdown(context.Background())
		logger = slog.New(h)
	}
	logger.Info("running")
	// Output:
	// variable: OTEL_BLRP_SCHEDULE_DELAY
	// slogotlp: OTEL_BLRP_SCHEDULE_DELAY: want a positive whole number of milliseconds, e.g. 5000 for 5s
}

func ExampleNewFromEnv_disabled() {
	env := map[string]string{"OTEL_SDK_DISABLED": "true"}
	var out bytes.Buffer
	h, _ := slogotlp.NewFromEnv(&slogotlp.Config{Getenv: func(k string) string { return env[k] }, Stdout: &out})
	fmt.Println("enabled:", h.Enabled(context.Background(), slog.LevelError))
	slog.New(h).Error("not sent")
	_ = h.Shutdown(context.Background())
	fmt.Println("bytes written:", out.Len())
	// Output:
	// enabled: false
	// bytes written: 0
}

// Credentials in a Config have types that never print them: a Config can be
// logged at start-up. A struct of your own holding a Secret is as safe.
func ExampleSecret() {
	cfg := slogotlp.Config{
		LogfireToken: slogotlp.NewSecret("pylf_v1_eu_0123456789abcdef"), // usually os.Getenv("LOGFIRE_TOKEN")
		Headers:      slogotlp.Headers{"X-Api-Key": slogotlp.NewSecret("secret")},
		ServiceName:  "checkout",
	}
	fmt.Println(cfg.LogfireToken, cfg.Headers, cfg.ServiceName)
	fmt.Printf("%+v\n", struct{ DBPassword slogotlp.Secret }{slogotlp.NewSecret("hunter2")})
	js, _ := json.Marshal(cfg.Headers)
	fmt.Println(string(js))
	// Output:
	// [REDACTED] map[X-Api-Key:[REDACTED]] checkout
	// {DBPassword:[REDACTED]}
	// {"X-Api-Key":"[REDACTED]"}
}
