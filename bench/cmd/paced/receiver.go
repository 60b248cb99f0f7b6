package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/soliplex/slogotlp/bench/internal/measure"
	"github.com/soliplex/slogotlp/bench/internal/otlprecv"
)

// recvReport is what the receiver process prints when its stdin closes.
type recvReport struct {
	otlprecv.Counts
	CPUUser, CPUSys time.Duration // this process's CPU time over its life
	PeakRSSKB       int64
}

// runReceiver is the receiver process: it serves OTLP/HTTP logs on a free
// loopback port, prints its URL as the first line of stdout, and when stdin
// closes (the driver is done, or died) finishes the requests under way,
// prints a recvReport as JSON and returns. It exits by itself after
// deadline in any case. One receiver serves one run, so its CPU time is that
// run's decoding cost.
func runReceiver(deadline time.Duration) error {
	exitAfter(deadline, "receiver")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rc := &otlprecv.Receiver{}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	if _, err := fmt.Println("http://" + ln.Addr().String() + "/v1/logs"); err != nil {
		return err
	}

	waitStdinEOF()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	rep := recvReport{Counts: rc.Counts(), PeakRSSKB: measure.PeakRSSKB()}
	rep.CPUUser, rep.CPUSys = cpuTime()
	return json.NewEncoder(os.Stdout).Encode(rep)
}
