package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/soliplex/slogotlp"
	"github.com/soliplex/slogotlp/relay"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	secret = "0123456789abcdef0123456789abcdef-cmd-secret"
	token  = "pylf_v1_us_CMDTOKEN"
)

// syncBuffer is a log sink shared by the relay goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestRunServesAndShutsDown(t *testing.T) {
	var gotAuth, gotPath string
	var selfLogs []string // bodies of the relay's own records, shipped upstream
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err == nil {
				body, _ = io.ReadAll(zr)
			}
		}
		mu.Lock()
		if strings.Contains(string(body), "slogotlp-relay") {
			selfLogs = append(selfLogs, string(body))
		} else {
			gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer up.Close()

	env := map[string]string{
		"LOGFIRE_TOKEN":    token,
		"RELAY_JWT_SECRET": secret,
		"RELAY_UPSTREAM":   "http://127.0.0.1:1/wrong", // the flag below wins
		"RELAY_ADDR":       "127.0.0.1:1",              // so does -addr
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-upstream", up.URL + "/v1/logs", "-log-level", "debug"},
			func(k string) string { return env[k] }, logs, func(a net.Addr) { addrc <- a })
	}()
	base := "http://" + (<-addrc).String()
	client := &http.Client{}
	defer client.CloseIdleConnections()

	resp, err := client.Get(base + relay.HealthzPath)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	jwtTok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, base+relay.LogsPath, strings.NewReader(`{"resourceLogs":[]}`))
	req.Header.Set("Authorization", "Bearer "+jwtTok)
	resp, err = client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	mu.Lock()
	assert.Equal(t, token, gotAuth)
	assert.Equal(t, "/v1/logs", gotPath)
	mu.Unlock()

	cancel()
	require.NoError(t, <-done)
	out := logs.String()
	assert.Contains(t, out, "relay: listening")
	assert.Contains(t, out, "relay: stopped")
	assert.NotContains(t, out, token)
	assert.NotContains(t, out, secret)
	assert.NotContains(t, out, jwtTok)

	// The relay's own records reached the upstream through slogotlp
	// (Shutdown in run flushed them), without secrets.
	mu.Lock()
	defer mu.Unlock()
	shipped := strings.Join(selfLogs, "\n")
	assert.Contains(t, shipped, "relay: listening")
	assert.Contains(t, shipped, "relay: stopped")
	assert.Contains(t, shipped, `"name":"github.com/soliplex/slogotlp/relay"`)
	assert.NotContains(t, shipped, token)
	assert.NotContains(t, shipped, secret)
	assert.NotContains(t, shipped, jwtTok)
}

func TestRunRejectsBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"no jwt key":     {nil, map[string]string{}},
		"bad flag":       {[]string{"-nope"}, map[string]string{"RELAY_JWT_SECRET": secret}},
		"extra args":     {[]string{"x"}, map[string]string{"RELAY_JWT_SECRET": secret}},
		"bad log level":  {[]string{"-log-level", "loud"}, map[string]string{"RELAY_JWT_SECRET": secret}},
		"bad shutdown":   {nil, map[string]string{"RELAY_JWT_SECRET": secret, "RELAY_SHUTDOWN_TIMEOUT": "0"}},
		"bad addr":       {[]string{"-addr", "127.0.0.1:notaport"}, map[string]string{"RELAY_JWT_SECRET": secret}},
		"bad user-rate":  {[]string{"-user-rate", "fast"}, map[string]string{"RELAY_JWT_SECRET": secret}},
		"missing secret": {[]string{"-jwt-secret-file", "/nonexistent/secret"}, map[string]string{}},
	} {
		err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, io.Discard, nil)
		assert.Error(t, err, name)
	}
}

// TestRunWithOnlyTheDocumentedSettings starts the binary the way the README
// does: a token file and a JWT secret file, no RELAY_UPSTREAM. The upstream
// then defaults to the Logfire region the token names. (The log level keeps
// the relay's own records from being shipped to the real Logfire.)
func TestRunWithOnlyTheDocumentedSettings(t *testing.T) {
	dir := t.TempDir()
	tokFile, secretFile := dir+"/token", dir+"/jwt"
	require.NoError(t, os.WriteFile(tokFile, []byte("pylf_v1_eu_DOCTOKEN\n"), 0o600))
	require.NoError(t, os.WriteFile(secretFile, []byte(secret+"\n"), 0o600))
	env := map[string]string{"LOGFIRE_TOKEN_FILE": tokFile, "RELAY_JWT_SECRET_FILE": secretFile, "RELAY_LOG_LEVEL": "error"}

	s, err := readSettings([]string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	assert.Empty(t, s.cfg.Upstream, "nothing set it")
	assert.Equal(t, slogotlp.LogfireEUEndpoint, relay.DefaultUpstream(s.cfg.UpstreamToken), "an eu token goes to the EU region")

	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, s, io.Discard, func(a net.Addr) { addrc <- a }) }()
	resp, err := http.Get("http://" + (<-addrc).String() + relay.HealthzPath)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
}

// TestHeaderFloodStaysSmall sends 200 anonymous requests at once, each with
// a 1 MiB header, and checks how much the process allocated meanwhile (all
// allocations added up: more than the heap can have grown by). With Go's
// default MaxHeaderBytes the server buffers each header whole, about 1.2 GiB
// in all; with relay.MaxHeaderBytes it stops reading at 16 KiB and answers
// 431, for about 17 MiB, most of it net/http's own line buffers.
func TestHeaderFloodStaysSmall(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer up.Close()
	env := map[string]string{"RELAY_JWT_SECRET": secret, "RELAY_UPSTREAM": up.URL + "/v1/logs", "RELAY_ADDR": "127.0.0.1:0"}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, func(a net.Addr) { addrc <- a })
	}()
	addr := (<-addrc).String()

	// One request in one shared buffer, so the clients themselves allocate
	// next to nothing.
	req := []byte("POST " + relay.LogsPath + " HTTP/1.1\r\nHost: relay\r\nX-Flood: " + strings.Repeat("a", 1<<20) + "\r\n\r\n")
	const n = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	statuses := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				statuses <- err.Error()
				return
			}
			defer c.Close()
			_, _ = c.Write(req) // the server may hang up before it has all of it
			line, _ := bufio.NewReader(c).ReadString('\n')
			statuses <- line
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	close(statuses)
	cancel()
	require.NoError(t, <-done)

	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d requests with 1 MiB headers: the process allocated %.1f MiB", n, float64(grew)/(1<<20))
	assert.Less(t, grew, uint64(40<<20), "the relay buffered the oversized headers")
	answered := 0
	for s := range statuses {
		if strings.HasPrefix(s, "HTTP/1.1 431") {
			answered++
		}
	}
	assert.Positive(t, answered, "oversized headers are answered 431")
}
