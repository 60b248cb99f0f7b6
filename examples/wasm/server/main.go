// Command server runs the browser example: it compiles the Go program in the
// parent directory for GOOS=js GOARCH=wasm, serves it with index.html and
// wasm_exec.js, mounts the relay at /api/v1/telemetry/logs on the same
// origin, and runs a local OTLP receiver behind the relay that prints each
// record it gets. Open the page, switch to another tab, and the records
// appear here.
//
//	cd examples/wasm && go run ./server -addr 127.0.0.1:8080
//
// To forward to Logfire instead of the local receiver, set LOGFIRE_TOKEN and
// pass -upstream https://logfire-us.pydantic.dev/v1/logs. The token stays in
// this process: the page gets only a short-lived session JWT.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve the page and the relay on")
	src := fs.String("src", ".", "directory of the Go program to compile for the browser")
	upstream := fs.String("upstream", "", "OTLP/HTTP logs URL to forward to, with $LOGFIRE_TOKEN; default: a local receiver that prints records")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	cfg := siteConfig{Upstream: *upstream, UpstreamToken: os.Getenv("LOGFIRE_TOKEN"), Logger: logger}
	if cfg.Upstream == "" {
		tok := make([]byte, 16)
		if _, err := rand.Read(tok); err != nil {
			return err
		}
		cfg.UpstreamToken = "local-" + hex.EncodeToString(tok)
		rc := newReceiver(cfg.UpstreamToken, func(r received) {
			fmt.Printf("received: %q attrs=%v user=%s\n", r.Body, r.Attrs, r.Resource["enduser.id"])
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("starting the local receiver: %w", err)
		}
		rs := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = rs.Serve(ln) }()
		defer rs.Close()
		cfg.Upstream = "http://" + ln.Addr().String() + "/v1/logs"
	}

	var err error
	logger.Info("compiling the Go program for the browser", "dir", *src)
	if cfg.Wasm, err = buildWasm(ctx, *src); err != nil {
		return err
	}
	if cfg.WasmExecJS, err = readWasmExecJS(ctx); err != nil {
		return err
	}
	s, err := newSite(cfg)
	if err != nil {
		return err
	}
	defer s.Close()

	srv := &http.Server{Addr: *addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("serving the example", "url", "http://"+*addr+"/", "upstream", cfg.Upstream)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
