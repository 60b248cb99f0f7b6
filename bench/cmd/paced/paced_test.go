package main

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The driver starts this test binary as the receiver and the client; with
// childEnv set it plays that part instead of running the tests.
func TestMain(m *testing.M) {
	if slices.Contains(os.Environ(), childEnv) {
		os.Exit(realMain(os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// TestPacedRun runs each stack for a second at a rate no queue can
// overflow at, through real receiver and client processes, and checks that
// every record arrived and slogotlp accounts for each one.
func TestPacedRun(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{self: self, duration: time.Second, grace: 30 * time.Second}
	for _, stack := range []string{"ours", "otel"} {
		r, err := d.run(stack, 1000, nil)
		if err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
		t.Log(line(r))
		c := r.Client
		if c.Offered != 1000 || r.Recv.Records != c.Offered || r.Recv.Bad != 0 {
			t.Errorf("%s: offered %d, delivered %d, refused %d requests; want 1000 delivered", stack, c.Offered, r.Recv.Records, r.Recv.Bad)
		}
		if c.ShutdownErr != "" {
			t.Errorf("%s: Shutdown: %s", stack, c.ShutdownErr)
		}
		if stack != "ours" {
			continue
		}
		s := c.Ours
		if s == nil {
			t.Fatal("ours: no Stats reported")
		}
		if !s.identityHolds() || s.Handled != uint64(c.Offered) || s.Exported != uint64(r.Recv.Records) {
			t.Errorf("ours: Stats %+v for %d offered, %d delivered", *s, c.Offered, r.Recv.Records)
		}
	}
}

// TestSearcher drives the search with made-up runs: lossless up to 60k,
// lossy from 80k, so it climbs to 80k and bisects to 70k, then 75k.
func TestSearcher(t *testing.T) {
	s := newSearcher("x", "ours", nil, []int{20_000, 40_000, 60_000, 80_000, 120_000}, 3, 0.10, 4)
	capacity := 72_000
	var tried []int
	for i := 0; !s.done; i++ {
		if i > 100 {
			t.Fatal("the search does not end")
		}
		tried = append(tried, s.rate)
		r := runResult{Client: clientResult{Rate: s.rate, Duration: time.Second, LoopTook: time.Second, Offered: int64(s.rate)}}
		r.Recv.Records = int64(min(s.rate, capacity))
		s.record(r)
	}
	want := []int{20_000, 20_000, 20_000, 40_000, 40_000, 40_000, 60_000, 60_000, 60_000, 80_000, 70_000, 70_000, 70_000, 75_000}
	if !slices.Equal(tried, want) {
		t.Errorf("rates tried %v, want %v", tried, want)
	}
	if s.lo != 70_000 || s.hi != 75_000 {
		t.Errorf("lossless %d, lossy %d; want 70000, 75000", s.lo, s.hi)
	}
}

// TestKnobsForwarded checks that the knobs set on the driver's command line,
// and only those, are passed on to the clients, and that the lossless
// mode's knobs parse.
func TestKnobsForwarded(t *testing.T) {
	fs := flag.NewFlagSet("paced", flag.ContinueOnError)
	fs.Int("rate", 0, "")
	var k knobs
	kfs := addKnobFlags(fs, &k)
	if err := fs.Parse(strings.Fields("-rate 5 -queue 4096 -no-gzip")); err != nil {
		t.Fatal(err)
	}
	if got, want := setKnobs(fs, kfs), []string{"-no-gzip=true", "-queue=4096"}; !slices.Equal(got, want) {
		t.Errorf("forwarded %q, want %q", got, want)
	}

	var lk knobs
	if err := lk.parse(setKnobs(fs, kfs)); err != nil || lk.queue != 4096 || !lk.noGzip {
		t.Errorf("a client parsed the forwarded knobs as %+v, %v", lk, err)
	}
	if err := lk.parse([]string{"-nonsense=1"}); err == nil {
		t.Error("an unknown knob parsed")
	}
}
