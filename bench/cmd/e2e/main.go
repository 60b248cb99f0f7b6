// Command e2e sends N log records through slogotlp or through the official
// OpenTelemetry stack (otelslog bridge, sdk/log BatchProcessor, otlploghttp),
// both with default settings, logging in a tight loop into a loopback
// receiver that decodes and counts them. It reports throughput, loss, bytes
// on the wire per record and peak RSS.
//
//	e2e -stack ours -n 200000 [-gzip]   one run, receiver in the same process
//	e2e -runs 5                          both stacks, gzip off and on, each run
//	                                     in a child process; prints medians
//
// It binds only 127.0.0.1 and exits by itself after -timeout.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/soliplex/slogotlp"
	"github.com/soliplex/slogotlp/bench/internal/measure"
	"github.com/soliplex/slogotlp/bench/internal/otlprecv"
)

// result is what one run of one stack reports (a child prints it as JSON).
type result struct {
	Stack      string
	N          int
	Gzip       bool
	StartNano  int64           // wall clock just before the first log call
	LoggedNano int64           // just after the last log call
	DoneNano   int64           // after Shutdown returned
	PeakRSSKB  int64           // VmHWM of the process that logged
	Stats      *slogotlp.Stats `json:",omitempty"`

	// Filled in from the receiver.
	Received, WireBytes, RawBytes, Requests, Bad int64
	LastNano                                     int64
}

func main() {
	n := flag.Int("n", 200_000, "records to log")
	stack := flag.String("stack", "ours", "ours or otel")
	gz := flag.Bool("gzip", false, "compress request bodies")
	endpoint := flag.String("endpoint", "", "log to this receiver URL and print the result as JSON (child mode)")
	runs := flag.Int("runs", 0, "run both stacks this many times each, alternating, gzip off and on, and print medians")
	timeout := flag.Duration("timeout", 10*time.Minute, "exit with an error after this long")
	flag.Parse()

	time.AfterFunc(*timeout, func() {
		fmt.Fprintln(os.Stderr, "e2e: timed out")
		os.Exit(3)
	})
	if err := run(*n, *stack, *gz, *endpoint, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

func run(n int, stack string, gz bool, endpoint string, runs int) error {
	if stack != "ours" && stack != "otel" {
		return fmt.Errorf("-stack must be ours or otel, not %q", stack)
	}
	if endpoint != "" {
		res, err := logRecords(stack, n, gz, endpoint)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(res)
	}

	rc := &otlprecv.Receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/v1/logs"

	if runs <= 0 {
		rc.Reset()
		res, err := logRecords(stack, n, gz, url)
		if err != nil {
			return err
		}
		fill(&res, rc)
		printTable([]result{res})
		return nil
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	var all []result
	for _, gz := range []bool{false, true} {
		for i := range runs {
			order := []string{"ours", "otel"}
			if i%2 == 1 {
				order = []string{"otel", "ours"}
			}
			for _, s := range order {
				rc.Reset()
				res, err := child(self, s, n, gz, url)
				if err != nil {
					return err
				}
				fill(&res, rc)
				fmt.Fprintln(os.Stderr, line(res))
				all = append(all, res)
			}
		}
	}
	printTable(all)
	return nil
}

func child(self, stack string, n int, gz bool, url string) (result, error) {
	args := []string{"-stack", stack, "-n", strconv.Itoa(n), "-endpoint", url, "-timeout", "5m"}
	if gz {
		args = append(args, "-gzip")
	}
	cmd := exec.Command(self, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	var res result
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("child %s: %w", stack, err)
	}
	return res, json.Unmarshal(out.Bytes(), &res)
}

func fill(res *result, rc *otlprecv.Receiver) {
	c := rc.Counts()
	res.Received, res.WireBytes, res.RawBytes = c.Records, c.WireBytes, c.RawBytes
	res.Requests, res.Bad, res.LastNano = c.Requests, c.Bad, c.LastNano
}

// logRecords builds the stack, logs n records in a tight loop, shuts the
// stack down (which exports what is queued) and reports.
func logRecords(stack string, n int, gz bool, url string) (result, error) {
	res := result{Stack: stack, N: n, Gzip: gz}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var logger *slog.Logger
	var shutdown func(context.Context) error
	var ours *slogotlp.Handler
	switch stack {
	case "ours":
		exp, err := slogotlp.NewHTTPExporter(url, &slogotlp.HTTPExporterOptions{DisableGzip: !gz})
		if err != nil {
			return res, err
		}
		ours = slogotlp.NewHandler(exp, nil)
		logger, shutdown = slog.New(ours), ours.Shutdown
	case "otel":
		comp := otlploghttp.NoCompression
		if gz {
			comp = otlploghttp.GzipCompression
		}
		exp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(url), otlploghttp.WithCompression(comp))
		if err != nil {
			return res, err
		}
		lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
		logger, shutdown = otelslog.NewLogger("e2e", otelslog.WithLoggerProvider(lp)), lp.Shutdown
	}

	res.StartNano = time.Now().UnixNano()
	for i := range n {
		logger.Info("request handled",
			"status", i,
			"path", "/api/v1/items",
			"ratio", 0.25,
			"cached", true,
			"latency", 1500*time.Microsecond)
	}
	res.LoggedNano = time.Now().UnixNano()
	if err := shutdown(ctx); err != nil {
		return res, fmt.Errorf("shutdown: %w", err)
	}
	res.DoneNano = time.Now().UnixNano()
	if ours != nil {
		st := ours.Stats()
		res.Stats = &st
	}
	res.PeakRSSKB = measure.PeakRSSKB()
	return res, nil
}

// metrics derived from a result.
type metrics struct {
	elapsed      time.Duration // first log call to last record received
	offeredPerS  float64       // N / elapsed
	deliveredPer float64       // received / elapsed
	loss         float64       // (N - received) / N
	wirePerRec   float64
	rawPerRec    float64
	rssMiB       float64
	nsPerCall    float64 // time in the logging loop per call
	counted      int64   // drops counted in Stats (ours), -1 for otel
	uncounted    int64   // N - received - counted (ours)
}

func derive(r result) metrics {
	end := r.LastNano
	if end == 0 {
		end = r.DoneNano
	}
	m := metrics{elapsed: time.Duration(end - r.StartNano), counted: -1}
	s := m.elapsed.Seconds()
	m.offeredPerS = float64(r.N) / s
	m.deliveredPer = float64(r.Received) / s
	m.loss = float64(int64(r.N)-r.Received) / float64(r.N)
	if r.Received > 0 {
		m.wirePerRec = float64(r.WireBytes) / float64(r.Received)
		m.rawPerRec = float64(r.RawBytes) / float64(r.Received)
	}
	m.rssMiB = float64(r.PeakRSSKB) / 1024
	m.nsPerCall = float64(r.LoggedNano-r.StartNano) / float64(r.N)
	if r.Stats != nil {
		m.counted = int64(r.Stats.Dropped.Total())
		m.uncounted = int64(r.N) - r.Received - m.counted
	}
	return m
}

func line(r result) string {
	m := derive(r)
	s := fmt.Sprintf("%-4s gzip=%-5v elapsed=%v offered/s=%.0f delivered/s=%.0f loss=%.2f%% wire=%.1fB/rec raw=%.1fB/rec rss=%.1fMiB loop=%.0fns/call requests=%d bad=%d",
		r.Stack, r.Gzip, m.elapsed.Round(time.Millisecond), m.offeredPerS, m.deliveredPer, 100*m.loss, m.wirePerRec, m.rawPerRec, m.rssMiB, m.nsPerCall, r.Requests, r.Bad)
	if r.Stats != nil {
		s += fmt.Sprintf(" dropped=%+v uncounted=%d", r.Stats.Dropped, m.uncounted)
	}
	return s
}

// printTable prints the median of each metric per stack and gzip setting.
func printTable(all []result) {
	type key struct {
		stack string
		gz    bool
	}
	groups := map[key][]metrics{}
	var keys []key
	for _, r := range all {
		k := key{r.Stack, r.Gzip}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], derive(r))
		if r.Bad > 0 {
			fmt.Fprintf(os.Stderr, "warning: %s gzip=%v: receiver refused %d requests\n", r.Stack, r.Gzip, r.Bad)
		}
	}
	col := func(ms []metrics, f func(metrics) float64) float64 {
		xs := make([]float64, len(ms))
		for i, m := range ms {
			xs[i] = f(m)
		}
		return measure.Median(xs)
	}
	fmt.Printf("N=%d records per run; medians of %d runs\n\n", all[0].N, len(groups[keys[0]]))
	fmt.Println("| stack | gzip | end-to-end records/s (N/elapsed) | delivered/s | loss | wire B/record | JSON/proto B/record | peak RSS MiB | ns per log call | drops counted in Stats | uncounted |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, k := range keys {
		ms := groups[k]
		name := "slogotlp"
		if k.stack == "otel" {
			name = "otelslog+sdk/log+otlploghttp"
		}
		counted, uncounted := "n/a", "n/a"
		if ms[0].counted >= 0 {
			counted = fmt.Sprintf("%.0f", col(ms, func(m metrics) float64 { return float64(m.counted) }))
			uncounted = fmt.Sprintf("%.0f", col(ms, func(m metrics) float64 { return float64(m.uncounted) }))
		}
		fmt.Printf("| %s | %v | %.0f | %.0f | %.2f%% | %.1f | %.1f | %.1f | %.0f | %s | %s |\n",
			name, k.gz,
			col(ms, func(m metrics) float64 { return m.offeredPerS }),
			col(ms, func(m metrics) float64 { return m.deliveredPer }),
			100*col(ms, func(m metrics) float64 { return m.loss }),
			col(ms, func(m metrics) float64 { return m.wirePerRec }),
			col(ms, func(m metrics) float64 { return m.rawPerRec }),
			col(ms, func(m metrics) float64 { return m.rssMiB }),
			col(ms, func(m metrics) float64 { return m.nsPerCall }),
			counted, uncounted)
	}
}
