package relay_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/soliplex/slogotlp"
	"github.com/soliplex/slogotlp/relay"
)

// A backend mounts the relay in its own mux. The client's session JWT says
// who is logging; the relay stamps that identity into the resource and
// forwards the logs with the server's write token.
func ExampleNew() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println("upstream Authorization:", r.Header.Get("Authorization"))
		fmt.Println("upstream body:", string(body))
	}))
	defer upstream.Close()

	secret := "an HMAC secret of at least 32 bytes!"
	rl, err := relay.New(relay.Config{
		Upstream:      upstream.URL + "/v1/logs",
		UpstreamToken: slogotlp.NewSecret("server-write-token"),
		JWTSecret:     slogotlp.NewSecret(secret),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rl.Close()
	mux := http.NewServeMux()
	mux.Handle("/api/v1/telemetry/", rl)

	session, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "sid": "s-42", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
	req := httptest.NewRequest(http.MethodPost, relay.LogsPath, strings.NewReader(
		`{"resourceLogs":[{"resource":{"attributes":[{"key":"enduser.id","value":{"stringValue":"mallory"}}]},"scopeLogs":[]}]}`))
	req.Header.Set("Authorization", "Bearer "+session)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println("client status:", rec.Code)
	// Output:
	// upstream Authorization: server-write-token
	// upstream body: {"resourceLogs":[{"resource":{"attributes":[{"key":"enduser.id","value":{"stringValue":"alice"}},{"key":"session.id","value":{"stringValue":"s-42"}}]},"scopeLogs":[]}]}
	// client status: 200
}

// Printing or logging a Config never shows the write token or the JWT secret:
// both are slogotlp.Secret values.
func ExampleConfig_secrets() {
	cfg := relay.Config{UpstreamToken: slogotlp.NewSecret("pylf_v1_us_secret"), JWTSecret: slogotlp.NewSecret("hmac secret"), Issuer: "https://auth.example"}
	s := fmt.Sprintf("%+v", cfg)
	fmt.Println(strings.Contains(s, "pylf_v1_us_secret"), strings.Contains(s, "hmac secret"), strings.Contains(s, "UpstreamToken:[REDACTED]"))
	// Output: false false true
}

// cmd/relay reads its settings from the environment; flags override them.
func ExampleConfigFromEnv() {
	env := map[string]string{
		"LOGFIRE_TOKEN":        "pylf_v1_us_secret",
		"RELAY_JWT_SECRET":     "an HMAC secret of at least 32 bytes!",
		"RELAY_UPSTREAM":       "http://127.0.0.1:4318/v1/logs",
		"RELAY_USER_RATE":      "20",
		"RELAY_STAMP_IDENTITY": "true",
	}
	cfg, err := relay.ConfigFromEnv(func(k string) string { return env[k] })
	fmt.Println(err, cfg.Upstream, cfg.UserRate, cfg.DisableIdentityStamping)
	// Output: <nil> http://127.0.0.1:4318/v1/logs 20 false
}
