package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// childEnv marks a process started by the driver; the test binary uses it to
// act as the receiver or client instead of running tests.
const childEnv = "SLOGOTLP_PACED_CHILD=1"

// runResult is one run: what the client and the receiver reported.
type runResult struct {
	Client clientResult
	Recv   recvReport
	// Others is the CPU other processes used during the run, in cores
	// (the machine's busy time less this run's client and receiver, over
	// the wall time); -1 where /proc/stat is missing.
	Others float64
}

// driver starts the child processes of each run, one run at a time.
type driver struct {
	self            string // the executable to start as receiver and client
	duration, grace time.Duration
	profileDir      string // where clients write CPU profiles, if set
	runs            int    // runs started so far, to name the profiles
}

// run offers rate records/s through the named stack, in a client process
// of its own, to a fresh receiver process, and returns both reports.
func (d *driver) run(stackName string, rate int, knobArgs []string) (runResult, error) {
	var rr runResult
	busy0, t0 := machineBusy(), time.Now()
	recv := exec.Command(d.self, "-role", "receiver", "-deadline", (d.duration + d.grace + 2*time.Minute).String())
	recv.Env = append(os.Environ(), childEnv)
	recv.Stderr = os.Stderr
	recvIn, err := recv.StdinPipe()
	if err != nil {
		return rr, err
	}
	recvOut, err := recv.StdoutPipe()
	if err != nil {
		return rr, err
	}
	if err := recv.Start(); err != nil {
		return rr, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = recvIn.Close()
			_ = recv.Process.Kill()
			_ = recv.Wait()
		}
	}()
	out := bufio.NewReader(recvOut)
	url, err := out.ReadString('\n')
	if err != nil {
		return rr, fmt.Errorf("receiver did not start: %w", err)
	}

	args := []string{"-role", "client", "-stack", stackName, "-endpoint", strings.TrimSpace(url),
		"-rate", strconv.Itoa(rate), "-duration", d.duration.String(), "-grace", d.grace.String()}
	d.runs++
	if d.profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(d.profileDir, fmt.Sprintf("%s-%d-%d.pprof", stackName, rate, d.runs)))
	}
	client := exec.Command(d.self, append(args, knobArgs...)...)
	client.Env = recv.Env
	client.Stderr = os.Stderr
	var cout bytes.Buffer
	client.Stdout = &cout
	// A pipe the client watches: it ends when this process does.
	if _, err := client.StdinPipe(); err != nil {
		return rr, err
	}
	if err := client.Run(); err != nil {
		return rr, fmt.Errorf("client %s at %d/s: %w", stackName, rate, err)
	}
	if err := json.Unmarshal(cout.Bytes(), &rr.Client); err != nil {
		return rr, fmt.Errorf("client %s output: %w", stackName, err)
	}

	_ = recvIn.Close()
	if err := json.NewDecoder(out).Decode(&rr.Recv); err != nil {
		return rr, fmt.Errorf("receiver report: %w", err)
	}
	stopped = true
	if err := recv.Wait(); err != nil {
		return rr, err
	}
	rr.Others = -1
	if busy0 >= 0 {
		ours := rr.Client.CPUUser + rr.Client.CPUSys + rr.Recv.CPUUser + rr.Recv.CPUSys
		rr.Others = max(0, (machineBusy()-busy0-ours).Seconds()/time.Since(t0).Seconds())
	}
	return rr, nil
}

// derived holds the figures a run is judged and tabled by.
type derived struct {
	offeredPerS   float64 // records offered per second of pacing loop
	delivered     int64
	lost          int64 // offered - delivered; negative means duplicates
	lossPct       float64
	behind        bool    // the pacing loop took over 1% longer than asked
	clientCPU     float64 // seconds, user+sys
	clientUsPer   float64 // client CPU µs per delivered record
	recvUsPer     float64 // receiver CPU µs per delivered record
	rssMiB        float64
	heapMiB       float64
	wirePerRecord float64
	rawPerRecord  float64
}

func derive(r runResult) derived {
	c := r.Client
	d := derived{
		delivered: r.Recv.Records,
		lost:      c.Offered - r.Recv.Records,
		behind:    c.LoopTook > c.Duration+c.Duration/100,
		clientCPU: (c.CPUUser + c.CPUSys).Seconds(),
		rssMiB:    float64(c.PeakRSSKB) / 1024,
		heapMiB:   float64(c.PeakHeap) / (1 << 20),
	}
	if s := c.LoopTook.Seconds(); s > 0 {
		d.offeredPerS = float64(c.Offered) / s
	}
	if c.Offered > 0 {
		d.lossPct = 100 * float64(d.lost) / float64(c.Offered)
	}
	if n := float64(d.delivered); n > 0 {
		d.clientUsPer = 1e6 * d.clientCPU / n
		d.recvUsPer = 1e6 * (r.Recv.CPUUser + r.Recv.CPUSys).Seconds() / n
		d.wirePerRecord = float64(r.Recv.WireBytes) / n
		d.rawPerRecord = float64(r.Recv.RawBytes) / n
	}
	return d
}

// lossless is the search's test: every record offered arrived, the pacing
// loop kept up with the rate, and the receiver refused nothing.
func (d derived) lossless(r runResult) bool {
	return d.lost <= 0 && !d.behind && r.Recv.Bad == 0
}

// line is one run in a line, for the log on stderr.
func line(r runResult) string {
	c, d := r.Client, derive(r)
	var b strings.Builder
	fmt.Fprintf(&b, "%-4s rate=%d offered=%d (%.0f/s", c.Stack, c.Rate, c.Offered, d.offeredPerS)
	if d.behind {
		b.WriteString(", LOOP FELL BEHIND")
	}
	fmt.Fprintf(&b, ") delivered=%d lost=%d (%.2f%%) max-lag=%v", d.delivered, d.lost, d.lossPct, c.MaxLag.Round(10*time.Microsecond))
	if c.MaxBacklog >= 0 {
		fmt.Fprintf(&b, " max-backlog=%d", c.MaxBacklog)
	}
	fmt.Fprintf(&b, " others=%.2fcores cpu=%.2fs (%.2fµs/rec) recv-cpu=%.2fµs/rec rss=%.1fMiB heap=%.1fMiB wire=%.1fB/rec raw=%.1fB/rec requests=%d shutdown=%v",
		r.Others, d.clientCPU, d.clientUsPer, d.recvUsPer, d.rssMiB, d.heapMiB, d.wirePerRecord, d.rawPerRecord, r.Recv.Requests, c.ShutdownTook.Round(time.Millisecond))
	if r.Recv.Bad > 0 {
		fmt.Fprintf(&b, " REFUSED=%d", r.Recv.Bad)
	}
	if c.ShutdownErr != "" {
		fmt.Fprintf(&b, " shutdown-err=%q", c.ShutdownErr)
	}
	if s := c.Ours; s != nil {
		verdict := "holds"
		if !s.identityHolds() {
			verdict = "BROKEN"
		}
		fmt.Fprintf(&b, " | Stats handled=%d exported=%d dropped=%d queued=%d identity %s %s",
			s.Handled, s.Exported, s.Dropped, s.Queued, verdict, s.DroppedBy)
	}
	if s := c.Official; s != nil {
		fmt.Fprintf(&b, " | exported=%d drops-reported=%d errors=%d", s.Exported, s.DroppedReported, s.Errors)
	}
	return b.String()
}
