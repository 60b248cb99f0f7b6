package slogotlp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/soliplex/slogotlp"
)

// The Logfire exporter sends the write token raw in Authorization and never
// prints it. Region "eu" picks Logfire's EU endpoint; without it the region
// comes from the token's prefix, else the US.
func ExampleNewLogfireExporter() {
	exp, err := slogotlp.NewLogfireExporter("pylf_v1_eu_0123456789abcdef", nil) // usually os.Getenv("LOGFIRE_TOKEN")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer exp.Shutdown(context.Background())
	fmt.Println(exp.Endpoint())

	_, err = slogotlp.NewLogfireExporter("", nil)
	fmt.Println(err)
	// Output:
	// https://logfire-eu.pydantic.dev/v1/logs
	// slogotlp: the Logfire write token is empty: set LOGFIRE_TOKEN to a write token from your project's settings (Settings > Write tokens)
}

// Any OTLP/HTTP receiver works, e.g. an OpenTelemetry Collector; credentials
// go in Headers, whose values never print.
func ExampleNewHTTPExporter() {
	exp, err := slogotlp.NewHTTPExporter("http://localhost:4318/v1/logs", &slogotlp.HTTPExporterOptions{
		Headers: slogotlp.Headers{"x-honeycomb-team": slogotlp.NewSecret("my-api-key")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer exp.Shutdown(context.Background())
	fmt.Println(exp.Endpoint())
	// Output:
	// http://localhost:4318/v1/logs
}

// Each Export reports one attempt; the handler's batcher acts on the Outcome.
func ExampleHTTPExporter_Export() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	exp, _ := slogotlp.NewHTTPExporter(srv.URL+"/v1/logs", nil)
	defer exp.Shutdown(context.Background())

	res := exp.Export(context.Background(), []byte(`{"resourceLogs":[]}`), 0)
	fmt.Println(res.Outcome, res.RetryAfter, res.Offline)
	// Output:
	// retryable 30s false
}

// The proxy exporter sends the user's session token to a relay as a Bearer
// token. SetToken replaces it at run time; Refresh is tried once on a 401.
func ExampleNewProxyExporter() {
	exp, err := slogotlp.NewProxyExporter("https://app.example.com/api/v1/telemetry/logs", "session-jwt",
		&slogotlp.ProxyOptions{
			Refresh: func(ctx context.Context) (string, error) {
				return "renewed-jwt", nil // e.g. call your sign-in service
			},
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer exp.Shutdown(context.Background())
	exp.SetToken("next-jwt") // after the app renews its session
	fmt.Println(exp.Endpoint())
	// Output:
	// https://app.example.com/api/v1/telemetry/logs
}
