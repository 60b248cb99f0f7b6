package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/soliplex/slogotlp"
	"github.com/soliplex/slogotlp/relay"
)

//go:embed static/index.html
var static embed.FS

var page = template.Must(template.ParseFS(static, "static/index.html"))

// sessionTTL is how long a page's session JWT is accepted by the relay. A
// real app mints it at sign-in and refreshes it (ProxyOptions.Refresh).
const sessionTTL = 15 * time.Minute

// siteConfig is what the example server serves and where its relay forwards.
type siteConfig struct {
	// Wasm is the compiled Go program (GOOS=js GOARCH=wasm).
	Wasm []byte
	// WasmExecJS is wasm_exec.js from the Go distribution that built Wasm.
	WasmExecJS []byte
	// Upstream is the OTLP/HTTP logs URL the relay forwards to.
	Upstream string
	// UpstreamToken is the write token the relay adds upstream; it stays in
	// this process.
	UpstreamToken string
	// Logger receives the relay's operational logs. Default: discard.
	Logger *slog.Logger
}

// site serves the page, wasm_exec.js and the program, and mounts the relay
// at /api/v1/telemetry/logs on the same origin, so the page posts to a
// relative URL.
type site struct {
	mux    *http.ServeMux
	relay  *relay.Relay
	secret []byte
	wasm   []byte
	execJS []byte
}

func newSite(cfg siteConfig) (*site, error) {
	if len(cfg.Wasm) == 0 || len(cfg.WasmExecJS) == 0 {
		return nil, errors.New("the compiled program and wasm_exec.js are both needed: build with buildWasm and read readWasmExecJS")
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("making the JWT secret: %w", err)
	}
	r, err := relay.New(relay.Config{
		Upstream:      cfg.Upstream,
		UpstreamToken: slogotlp.NewSecret(cfg.UpstreamToken),
		JWTSecret:     slogotlp.NewSecret(string(secret)),
		Logger:        cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the relay: %w", err)
	}
	s := &site{mux: http.NewServeMux(), relay: r, secret: secret, wasm: cfg.Wasm, execJS: cfg.WasmExecJS}
	s.mux.HandleFunc("GET /{$}", s.servePage)
	s.mux.HandleFunc("GET /wasm_exec.js", s.serveBytes("text/javascript; charset=utf-8", s.execJS))
	s.mux.HandleFunc("GET /app.wasm", s.serveBytes("application/wasm", s.wasm))
	s.mux.Handle(relay.LogsPath, r)
	return s, nil
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops the relay's sweeper.
func (s *site) Close() { s.relay.Close() }

// servePage serves index.html with a fresh session JWT in its <meta> tag.
func (s *site) servePage(w http.ResponseWriter, _ *http.Request) {
	tok, err := s.mintSession("demo-user", time.Now())
	if err != nil {
		http.Error(w, "could not mint a session token", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, struct{ Session string }{tok}); err != nil {
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store") // the page carries a session token
	_, _ = w.Write(buf.Bytes())
}

func (s *site) serveBytes(contentType string, b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(b)
	}
}

// mintSession signs the short-lived HS256 session JWT the relay checks: sub
// is the user (the relay stamps it as enduser.id), sid the session.
func (s *site) mintSession(user string, now time.Time) (string, error) {
	sid := make([]byte, 8)
	if _, err := rand.Read(sid); err != nil {
		return "", err
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user,
		"sid": hex.EncodeToString(sid),
		"iat": now.Unix(),
		"exp": now.Add(sessionTTL).Unix(),
	}).SignedString(s.secret)
}

// buildWasm compiles the Go program in srcDir for the browser and returns
// the binary. It needs the go command, as go run does.
func buildWasm(ctx context.Context, srcDir string) ([]byte, error) {
	out, err := os.MkdirTemp("", "slogotlp-wasm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	bin := filepath.Join(out, "app.wasm")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the wasm program in %s failed (%w): %s", srcDir, err, msg)
	}
	return os.ReadFile(bin)
}

// readWasmExecJS reads wasm_exec.js from the Go distribution that builds the
// program: the page and the binary must come from the same Go version.
func readWasmExecJS(ctx context.Context) ([]byte, error) {
	root, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("asking the go command for GOROOT: %w", err)
	}
	dir := strings.TrimSpace(string(root))
	var firstErr error
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} { // Go 1.24+, older
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("wasm_exec.js is not in the Go distribution at %s: %w", dir, firstErr)
}
