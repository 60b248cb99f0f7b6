//go:build !js && !wasip1

// Command httpservice is a small HTTP service whose request logs carry the
// trace they belong to: each request gets a span context (continuing the
// caller's W3C traceparent, or starting a trace), put in the request's
// context with trace.ContextWithSpanContext, and every record logged with
// that context gets traceId and spanId, so the backend links logs to traces.
//
// A service with the OpenTelemetry SDK gets this from its tracing
// middleware; this example builds the span context by hand so that the
// library needs no SDK.
//
//	go run ./examples/httpservice                 # serves on 127.0.0.1:8080 until Ctrl-C
//	curl -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' localhost:8080/hello?name=jo
//	go run ./examples/httpservice -selftest       # one request to itself, then exits
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/soliplex/slogotlp"
)

func main() {
	addr := flag.String("addr", "", "address to listen on (default 127.0.0.1:8080; with -selftest a free port)")
	selftest := flag.Bool("selftest", false, "make one request to itself, then shut down")
	flag.Parse()
	if *addr == "" {
		*addr = "127.0.0.1:8080"
		if *selftest {
			*addr = "127.0.0.1:0"
		}
	}
	if err := run(*addr, *selftest, &slogotlp.Config{}, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// selftestParent is the caller's traceparent the self-test sends.
const selftestParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// run serves until SIGINT/SIGTERM, or with selftest for one request, then
// shuts the server and the handler down. out gets the self-test's result.
func run(addr string, selftest bool, cfg *slogotlp.Config, out io.Writer) error {
	cfg.ServiceName = "httpservice"
	h, err := slogotlp.NewFromEnv(cfg)
	if err != nil {
		return fmt.Errorf("configuring log export: %w", err)
	}
	ctx, shutdown := h.NotifyShutdown(5 * time.Second)
	defer func() { _ = shutdown() }()
	logger := slog.New(h)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		if name == "" {
			name = "world"
		}
		// InfoContext passes the request's span context to the handler.
		logger.InfoContext(r.Context(), "saying hello", "name", name)
		fmt.Fprintf(w, "hello, %s\n", name)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	srv := &http.Server{Handler: traced(logger, mux), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String())

	if selftest {
		err = selfRequest(ctx, "http://"+ln.Addr().String()+"/hello?name=selftest", out)
	} else {
		<-ctx.Done()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("stopping the server: %w", serr)
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	logger.Info("stopped")
	return err
}

// selfRequest calls the service once as a traced client would.
func selfRequest(ctx context.Context, url string, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("traceparent", selftestParent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("self-test request: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(out, "selftest: %d %s", resp.StatusCode, body)
	fmt.Fprintf(out, "selftest: traceparent %s\n", resp.Header.Get("traceparent"))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("self-test: status %d", resp.StatusCode)
	}
	return nil
}

// traced gives each request a span of its own: a child of the caller's
// traceparent when there is a valid one, else the root of a new trace. It
// puts the span context in the request's context, returns it in the
// response's traceparent, and logs the request when it ends.
func traced(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sc := newSpan(parseTraceparent(r.Header.Get("traceparent")))
		ctx := trace.ContextWithSpanContext(r.Context(), sc)
		w.Header().Set("traceparent", formatTraceparent(sc))
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rw, r.WithContext(ctx))
		logger.InfoContext(ctx, "request", "http.request.method", r.Method, "url.path", r.URL.Path,
			"http.response.status_code", rw.status, "duration", time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// parseTraceparent reads a W3C traceparent header
// (version-traceid-parentid-flags); anything invalid gives the zero
// SpanContext, so the request starts a new trace.
func parseTraceparent(v string) trace.SpanContext {
	parts := strings.Split(strings.TrimSpace(v), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" || len(parts[3]) != 2 ||
		(parts[0] == "00" && len(parts) != 4) {
		return trace.SpanContext{}
	}
	tid, err := trace.TraceIDFromHex(parts[1])
	if err != nil {
		return trace.SpanContext{}
	}
	sid, err := trace.SpanIDFromHex(parts[2])
	if err != nil {
		return trace.SpanContext{}
	}
	var flags [1]byte
	if _, err := fmt.Sscanf(parts[3], "%02x", &flags[0]); err != nil {
		return trace.SpanContext{}
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]), Remote: true,
	})
}

// newSpan returns the span context of a new span: the parent's trace and
// flags, or a new sampled trace when there is no valid parent.
func newSpan(parent trace.SpanContext) trace.SpanContext {
	cfg := trace.SpanContextConfig{TraceID: parent.TraceID(), TraceFlags: parent.TraceFlags()}
	if !parent.IsValid() {
		_, _ = rand.Read(cfg.TraceID[:]) // crypto/rand.Read never fails
		cfg.TraceFlags = trace.FlagsSampled
	}
	_, _ = rand.Read(cfg.SpanID[:])
	return trace.NewSpanContext(cfg)
}

func formatTraceparent(sc trace.SpanContext) string {
	return fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
}
