// Command relay serves the slogotlp relay: clients post OTLP JSON logs with a
// session JWT, and the relay forwards them to Logfire with the server's write
// token. Every flag overrides the environment variable named in its help.
// Secrets are taken from the environment or from files, never from flags,
// so they do not show in the process list.
//
//	LOGFIRE_TOKEN=... RELAY_JWT_SECRET_FILE=/run/secrets/jwt relay -addr 127.0.0.1:8080
//
// SIGTERM or SIGINT stops accepting connections and lets requests in flight
// finish, up to -shutdown-timeout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	slogmulti "github.com/samber/slog-multi"

	"github.com/soliplex/slogotlp"
	"github.com/soliplex/slogotlp/relay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "relay:", err)
		}
		os.Exit(2)
	}
}

// flagEnv maps each flag to the environment variable it overrides.
var flagEnv = []struct{ flag, env, help string }{
	{"addr", "RELAY_ADDR", "listen address (default 127.0.0.1:8080)"},
	{"upstream", "RELAY_UPSTREAM", "upstream OTLP/HTTP logs URL (default: the Logfire region the token names, else " + relay.LogfireUSLogs + ")"},
	{"upstream-timeout", "RELAY_UPSTREAM_TIMEOUT", "timeout of one upstream request (default 10s)"},
	{"token-file", "LOGFIRE_TOKEN_FILE", "file holding the Logfire write token (else LOGFIRE_TOKEN)"},
	{"jwt-secret-file", "RELAY_JWT_SECRET_FILE", "file holding the HMAC secret for HS256/384/512 (else RELAY_JWT_SECRET)"},
	{"jwt-public-key", "RELAY_JWT_PUBLIC_KEY", "PEM file of an RSA or ECDSA public key"},
	{"jwks-url", "RELAY_JWKS_URL", "JWKS URL for RSA/EC keys"},
	{"jwks-refresh", "RELAY_JWKS_REFRESH", "JWKS cache lifetime (default 5m)"},
	{"issuer", "RELAY_JWT_ISSUER", "required iss claim"},
	{"audience", "RELAY_JWT_AUDIENCE", "required aud value"},
	{"clock-skew", "RELAY_JWT_CLOCK_SKEW", "leeway for exp/nbf/iat (default 30s)"},
	{"max-token-lifetime", "RELAY_JWT_MAX_LIFETIME", "longest token lifetime accepted: exp-iat, or exp-now without iat (default 24h)"},
	{"user-rate", "RELAY_USER_RATE", "requests/s per user (default 10)"},
	{"user-burst", "RELAY_USER_BURST", "burst per user (default 50)"},
	{"session-rate", "RELAY_SESSION_RATE", "requests/s per session (default 5)"},
	{"session-burst", "RELAY_SESSION_BURST", "burst per session (default 20)"},
	{"max-body-bytes", "RELAY_MAX_BODY_BYTES", "body cap, before and after gunzip (default 1048576)"},
	{"stamp-identity", "RELAY_STAMP_IDENTITY", "true|false: set enduser.id/session.id from the token (default true)"},
	{"shutdown-timeout", "RELAY_SHUTDOWN_TIMEOUT", "how long requests in flight may finish after SIGTERM (default 20s)"},
	{"log-level", "RELAY_LOG_LEVEL", "debug|info|warn|error (default info)"},
}

// run serves until ctx is done, then shuts down gracefully. ready, when
// non-nil, learns the bound address (tests listen on port 0).
func run(ctx context.Context, args []string, getenv func(string) string, logOut io.Writer, ready func(net.Addr)) error {
	s, err := readSettings(args, getenv, logOut)
	if err != nil {
		return err
	}
	return serve(ctx, s, logOut, ready)
}

// settings is everything the relay binary was told, checked.
type settings struct {
	addr            string
	level           slog.Level
	shutdownTimeout time.Duration
	cfg             relay.Config
}

// readSettings reads the flags, each overriding the environment variable
// named in its help, then the relay's Config from the result.
func readSettings(args []string, getenv func(string) string, logOut io.Writer) (settings, error) {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(logOut)
	vals := make(map[string]*string, len(flagEnv))
	for _, f := range flagEnv {
		vals[f.flag] = fs.String(f.flag, "", f.help+" [$"+f.env+"]")
	}
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	if fs.NArg() > 0 {
		return settings{}, fmt.Errorf("unexpected arguments %q; configure with flags or environment variables", fs.Args())
	}
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		for _, fe := range flagEnv {
			if fe.flag == f.Name {
				set[fe.env] = *vals[f.Name]
			}
		}
	})
	get := func(k string) string {
		if v, ok := set[k]; ok {
			return v
		}
		return getenv(k)
	}

	s := settings{addr: get("RELAY_ADDR"), shutdownTimeout: 20 * time.Second}
	if s.addr == "" {
		s.addr = "127.0.0.1:8080"
	}
	if v := get("RELAY_LOG_LEVEL"); v != "" {
		if err := s.level.UnmarshalText([]byte(v)); err != nil {
			return settings{}, fmt.Errorf("RELAY_LOG_LEVEL=%q: use debug, info, warn or error", v)
		}
	}
	if v := get("RELAY_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return settings{}, fmt.Errorf("RELAY_SHUTDOWN_TIMEOUT=%q is not a duration like 20s", v)
		}
		s.shutdownTimeout = d
	}
	cfg, err := relay.ConfigFromEnv(get)
	if err != nil {
		return settings{}, err
	}
	s.cfg = cfg
	return s, nil
}

// serve runs the relay with s until ctx is done.
func serve(ctx context.Context, s settings, logOut io.Writer, ready func(net.Addr)) error {
	cfg := s.cfg
	if cfg.Upstream == "" {
		cfg.Upstream = relay.DefaultUpstream(cfg.UpstreamToken)
	}
	// Dogfooding: the relay's own records go to stderr and, through the
	// slogotlp handler, to the same upstream with the server's token.
	otlp, err := selfLogger(cfg, s.level)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = otlp.Shutdown(sctx)
	}()
	handler := slogmulti.Fanout(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: s.level}), otlp)
	logger := slog.New(handler)
	cfg.Logger = logger
	rl, err := relay.New(cfg)
	if err != nil {
		return err
	}
	defer rl.Close()

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen on %s (RELAY_ADDR): %w", s.addr, err)
	}
	srv := &http.Server{
		Handler: rl,
		// Headers past this get 431 before any allocation grows with them.
		MaxHeaderBytes:    relay.MaxHeaderBytes,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}
	logger.Info("relay: listening", slog.String("addr", ln.Addr().String()), slog.Any("config", cfg))
	if ready != nil {
		ready(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("relay: shutting down", slog.Duration("deadline", s.shutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		<-served
		return fmt.Errorf("requests still in flight after %s: %w", s.shutdownTimeout, err)
	}
	<-served
	logger.Info("relay: stopped")
	return nil
}

// selfLogger returns the slogotlp handler that ships the relay's own log
// records upstream. Export errors go to nowhere but Stats: the relay must
// not log about failing to log.
func selfLogger(cfg relay.Config, level slog.Level) (*slogotlp.Handler, error) {
	// OTLP JSON, as the records the relay forwards: its upstream sees one
	// encoding.
	opts := &slogotlp.HTTPExporterOptions{Format: slogotlp.FormatJSON}
	if cfg.UpstreamToken.Reveal() != "" {
		opts.Headers = slogotlp.Headers{"Authorization": cfg.UpstreamToken}
	}
	exp, err := slogotlp.NewHTTPExporter(cfg.Upstream, opts)
	if err != nil {
		return nil, fmt.Errorf("RELAY_UPSTREAM: %w", err)
	}
	return slogotlp.NewHandler(exp, &slogotlp.HandlerOptions{
		Level:     level,
		ScopeName: "github.com/soliplex/slogotlp/relay",
		Resource:  []slog.Attr{slog.String("service.name", "slogotlp-relay")},
	}), nil
}
