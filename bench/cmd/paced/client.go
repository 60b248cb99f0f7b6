package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"github.com/soliplex/slogotlp/bench/internal/measure"
)

// stack is one logging pipeline under test.
type stack struct {
	logger *slog.Logger
	// backlog reports the records accepted but neither delivered nor
	// dropped, given how many were offered; nil when it cannot be observed.
	backlog  func(offered int64) int64
	shutdown func(context.Context) error
	finish   func(*clientResult) // adds the stack's own end-of-run counts
}

// newStack builds the named stack logging to url.
func newStack(name, url string, k knobs) (*stack, error) {
	switch name {
	case "ours":
		return newOurs(url, k)
	case "otel":
		return newOfficial(url)
	case "none":
		// The pacing loop alone, for its own CPU cost: every record is
		// discarded before it is built.
		return &stack{
			logger:   slog.New(slog.DiscardHandler),
			shutdown: func(context.Context) error { return nil },
			finish:   func(*clientResult) {},
		}, nil
	}
	return nil, fmt.Errorf("unknown stack %q (ours, otel or none)", name)
}

// clientResult is what a client process prints as JSON when it is done.
type clientResult struct {
	Stack        string
	Rate         int           // records/s asked for
	Duration     time.Duration // pacing window asked for
	Offered      int64         // records logged
	LoopTook     time.Duration // first tick to last; longer than Duration when the loop fell behind
	MaxLag       time.Duration // the latest a tick started after its due time
	MaxBacklog   int64         // -1: not observable
	ShutdownTook time.Duration
	ShutdownErr  string        `json:",omitempty"`
	CPUUser      time.Duration // the whole process, start to end
	CPUSys       time.Duration
	PeakRSSKB    int64
	PeakHeap     uint64         // heap object bytes, sampled every 10 ms and at the end
	Ours         *ourStats      `json:",omitempty"`
	Official     *officialStats `json:",omitempty"`
}

// clientConfig is one client process's run.
type clientConfig struct {
	stack, url      string
	rate            int
	duration, grace time.Duration // pacing window; Shutdown's deadline
	knobs           knobs
	cpuProfile      string // a file to write a CPU profile of the run to
}

// runClient is the client process: it builds the stack, offers the load,
// shuts the stack down within the grace period and prints a clientResult.
func runClient(c clientConfig) error {
	exitAfter(c.duration+c.grace+time.Minute, "client")
	go func() {
		waitStdinEOF()
		fmt.Fprintln(os.Stderr, "paced client: driver gone, exiting")
		os.Exit(2)
	}()
	st, err := newStack(c.stack, c.url, c.knobs)
	if err != nil {
		return err
	}
	res := clientResult{Stack: c.stack, Rate: c.rate, Duration: c.duration, MaxBacklog: -1}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	pace(st, c.rate, c.duration, &res)

	ctx, cancel := context.WithTimeout(context.Background(), c.grace)
	defer cancel()
	t0 := time.Now()
	if err := st.shutdown(ctx); err != nil {
		res.ShutdownErr = err.Error()
	}
	res.ShutdownTook = time.Since(t0)
	pprof.StopCPUProfile() // the drain is part of the cost; a no-op without a profile
	st.finish(&res)
	res.PeakHeap = max(res.PeakHeap, heapBytes())
	res.PeakRSSKB = measure.PeakRSSKB()
	res.CPUUser, res.CPUSys = cpuTime()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// pace offers rate records/s for d in 1 ms ticks: by the end of tick k,
// rate*k/1000 records have been logged, so each tick logs rate/1000 and the
// remainder carries over. Ticks are due at fixed times from the start; a
// late tick logs what is due and the next ones follow without sleeping, so
// a loop that cannot keep up shows as LoopTook > d, never as fewer records.
func pace(st *stack, rate int, d time.Duration, res *clientResult) {
	ctx := context.Background()
	ticks := int64(d / time.Millisecond)
	var offered int64
	start := time.Now()
	for k := int64(1); k <= ticks; k++ {
		due := start.Add(time.Duration(k) * time.Millisecond)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		res.MaxLag = max(res.MaxLag, time.Since(due))
		for target := int64(rate) * k / 1000; offered < target; offered++ {
			logRecord(ctx, st.logger, offered)
		}
		if st.backlog != nil {
			res.MaxBacklog = max(res.MaxBacklog, st.backlog(offered))
		}
		if k%10 == 0 {
			res.PeakHeap = max(res.PeakHeap, heapBytes())
		}
	}
	res.LoopTook = time.Since(start)
	res.Offered = offered
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// Values the records draw from, so consecutive records differ as a
// service's request logs do and compression is not handed a best case.
var (
	methods  = [...]string{"GET", "GET", "GET", "POST", "PUT", "DELETE", "GET", "PATCH"}
	paths    = [...]string{"/api/v1/items", "/api/v1/items/4711", "/api/v1/users/me", "/api/v1/orders", "/healthz", "/api/v1/search", "/api/v1/orders/88213/lines"}
	statuses = [...]int64{200, 200, 200, 201, 204, 304, 400, 404, 200, 500, 200}
	plans    = [...]string{"free", "pro", "team"}

	requestIDs, userIDs = func() (r [1021]string, u [61]string) {
		rng := rand.New(rand.NewPCG(11, 1))
		for i := range r {
			r[i] = fmt.Sprintf("%016x", rng.Uint64())
		}
		for i := range u {
			u[i] = fmt.Sprintf("u-%08d", rng.IntN(1e8))
		}
		return r, u
	}()
)

// logRecord logs the i-th record: a message and six attributes, one of
// them a group of two. Both stacks log the same. It is about 590 bytes as
// OTLP JSON and 260 as protobuf: OTLP JSON spends some 36 bytes of framing
// on every attribute, so short keys are as close to 400 bytes as six
// attributes get.
func logRecord(ctx context.Context, l *slog.Logger, i int64) {
	l.LogAttrs(ctx, slog.LevelInfo, "request handled",
		slog.String("method", methods[i%int64(len(methods))]),
		slog.String("path", paths[i%int64(len(paths))]),
		slog.Int64("status", statuses[i%int64(len(statuses))]),
		slog.Duration("duration", time.Duration(700+i%4999)*time.Microsecond),
		slog.String("request_id", requestIDs[i%int64(len(requestIDs))]),
		slog.GroupAttrs("user",
			slog.String("id", userIDs[i%int64(len(userIDs))]),
			slog.String("plan", plans[i%int64(len(plans))])),
	)
}
