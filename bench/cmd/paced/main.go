// Command paced measures how much steady log traffic each stack delivers
// without loss: slogotlp at its defaults against the official OpenTelemetry
// stack (otelslog bridge, sdk/log BatchProcessor, otlploghttp) at its
// defaults, both logging the same record.
//
// Run it from bench/ (a full search took 4 to 6 minutes on 2 cores):
//
//	go run ./cmd/paced -search                       # both stacks: highest lossless rate, then lossless mode
//	go run ./cmd/paced -search -duration 2s -steps 20000,80000 -need 1   # a quick look
//	go run ./cmd/paced -rate 60000 -runs 3           # both stacks at one rate, alternating
//	go run ./cmd/paced -rate 120000 -stacks ours -queue 4096 -batch 512  # try slogotlp settings
//	go run ./cmd/paced -rate 50000 -stacks ours -cpuprofile /tmp/prof       # where the client's time goes
//
// Each run starts two processes of this binary: a receiver that decodes
// every request as an OpenTelemetry Collector does (gunzip, then the
// Collector's pdata JSON or protobuf decoder) and answers with an empty
// ExportLogsServiceResponse, and a client that logs -rate records/s in 1 ms
// ticks for -duration, then calls Shutdown with a -grace deadline. Runs
// never overlap. A run reports offered, delivered (counted by the
// receiver), lost, the largest backlog seen, the client's and the
// receiver's CPU time (user+sys) per delivered record, and the client's
// peak RSS and heap; for slogotlp also its Stats and whether Handled ==
// Exported + Dropped + Queued + Spooled holds. If the pacing loop falls
// behind the rate, the run says so and counts as not lossless.
//
// -search climbs -steps for each stack (runs alternating between stacks),
// needs -need lossless runs of -need at a rate, and bisects between the
// last lossless and first lossy rate until they are within -tol. Then the
// lossless mode: slogotlp with -lossless-knobs (by default a queue that
// holds every record of the run) at twice the official stack's lossless
// rate, against the official stack at its lossless rate. The pacing loop's
// own CPU cost (the "none" stack) is measured once first.
//
// The slogotlp flags (-queue, -batch, -queue-bytes, -flush-interval,
// -export-timeout, -no-gzip) are defined in ours.go, the only file that
// uses the library; a knob set on the command line applies to every
// slogotlp run except the lossless mode's, which takes -lossless-knobs.
//
// Every server binds 127.0.0.1 only. The children exit when the driver does
// (their stdin closes) and after a deadline in any case.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() { os.Exit(realMain(os.Args[1:])) }

func realMain(args []string) int {
	if err := run(args); err != nil {
		fmt.Fprintln(os.Stderr, "paced:", err)
		return 1
	}
	return 0
}

func run(args []string) error {
	fs := flag.NewFlagSet("paced", flag.ContinueOnError)
	role := fs.String("role", "", "internal: receiver or client (started by the driver)")
	deadline := fs.Duration("deadline", 10*time.Minute, "internal: the receiver exits after this long")
	endpoint := fs.String("endpoint", "", "internal: the receiver URL a client logs to")
	stackName := fs.String("stack", "ours", "internal: the stack a client runs (ours, otel or none)")

	rate := fs.Int("rate", 60_000, "records offered per second")
	duration := fs.Duration("duration", 10*time.Second, "how long each run offers records")
	grace := fs.Duration("grace", 30*time.Second, "Shutdown's deadline after the last record")
	stacks := fs.String("stacks", "ours,otel", "stacks to run without -search, alternating: ours, otel, none (the pacing loop alone)")
	runs := fs.Int("runs", 1, "runs per stack without -search")
	doSearch := fs.Bool("search", false, "search each stack's highest lossless rate, then run the lossless mode")
	steps := fs.String("steps", "20000,40000,60000,80000,120000,160000,240000,320000", "rates the search climbs")
	need := fs.Int("need", 3, "lossless runs needed at a rate (the search stops at the first lossy one)")
	tol := fs.Float64("tol", 0.10, "the search bisects until the lossy rate is within this fraction of the lossless one")
	maxBisect := fs.Int("max-bisect", 4, "bisection steps at most per stack")
	losslessKnobs := fs.String("lossless-knobs", "auto", "slogotlp knobs of the lossless mode, e.g. \"-queue=65536 -batch=1024\"; auto: a queue that holds every record of the run")
	losslessRuns := fs.Int("lossless-runs", 3, "runs per stack in the lossless mode (0: skip it)")
	timeout := fs.Duration("timeout", 40*time.Minute, "the driver exits with an error after this long")
	cpuProfile := fs.String("cpuprofile", "", "each client writes a CPU profile into this `directory` (stack-rate-run.pprof); internal: a client's profile file")

	var k knobs
	kfs := addKnobFlags(fs, &k)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	switch *role {
	case "receiver":
		return runReceiver(*deadline)
	case "client":
		return runClient(clientConfig{stack: *stackName, url: *endpoint, rate: *rate, duration: *duration, grace: *grace, knobs: k, cpuProfile: *cpuProfile})
	case "":
	default:
		return fmt.Errorf("unknown -role %q", *role)
	}

	exitAfter(*timeout, "driver")
	self, err := os.Executable()
	if err != nil {
		return err
	}
	d := &driver{self: self, duration: *duration, grace: *grace, profileDir: *cpuProfile}
	knobArgs := setKnobs(fs, kfs)
	fmt.Printf("paced: %v per run, Shutdown deadline %v; slogotlp knobs: %s\n\n", *duration, *grace, orDefaults(knobArgs))

	if !*doSearch {
		return fixedRate(d, strings.Split(*stacks, ","), *rate, *runs, knobArgs)
	}

	stepRates, err := parseRates(*steps)
	if err != nil {
		return err
	}
	var lk []string
	if *losslessKnobs != "auto" {
		lk = strings.Fields(*losslessKnobs)
		if err := new(knobs).parse(lk); err != nil {
			return fmt.Errorf("-lossless-knobs: %w", err)
		}
	}
	ours := newSearcher("slogotlp", "ours", knobArgs, stepRates, *need, *tol, *maxBisect)
	official := newSearcher("official", "otel", nil, stepRates, *need, *tol, *maxBisect)
	ss := []*searcher{ours, official}
	// The pacing loop's own cost, to read the CPU columns against.
	loop, err := d.run("none", stepRates[0], nil)
	if err != nil {
		return err
	}
	if err := search(d, ss); err != nil {
		return err
	}
	loopPerS := derive(loop).clientCPU / loop.Client.LoopTook.Seconds()
	printSearch(ss, loopPerS)
	fmt.Printf("\nThe pacing loop alone (no stack, process start to exit) used %.3f CPU seconds per second of run; "+
		"the client CPU columns include it, the net column takes it out.\n", loopPerS)
	if *losslessRuns > 0 && official.lo > 0 {
		rate := 2 * official.lo
		if lk == nil {
			lk = burstKnobs(rate, *duration)
		}
		return losslessMode(d, rate, lk, official.lo, *losslessRuns)
	}
	return nil
}

// burstKnobs sizes slogotlp's queue for a whole run at rate: every record
// offered fits, by count and by bytes (2 KiB each, above the pooled buffer
// a record of about 600 bytes takes), so nothing is dropped for room.
func burstKnobs(rate int, d time.Duration) []string {
	n := int(float64(rate) * d.Seconds())
	return []string{"-queue=" + strconv.Itoa(n), "-queue-bytes=" + strconv.Itoa(n*2048)}
}

// addKnobFlags defines k's flags in fs and returns them in a flag set of
// their own, for setKnobs.
func addKnobFlags(fs *flag.FlagSet, k *knobs) *flag.FlagSet {
	kfs := flag.NewFlagSet("knobs", flag.ContinueOnError)
	k.register(kfs)
	kfs.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	return kfs
}

// setKnobs returns the knobs set on fs's command line as arguments for a
// client, which takes the same flags.
func setKnobs(fs, kfs *flag.FlagSet) []string {
	var args []string
	fs.Visit(func(f *flag.Flag) {
		if kfs.Lookup(f.Name) != nil {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	return args
}

// parse checks knob flags given as a list of arguments.
func (k *knobs) parse(args []string) error {
	fs := flag.NewFlagSet("knobs", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error says what is wrong
	k.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

func orDefaults(knobArgs []string) string {
	if len(knobArgs) == 0 {
		return "library defaults"
	}
	return strings.Join(knobArgs, " ")
}

func parseRates(s string) ([]int, error) {
	var rates []int
	for f := range strings.SplitSeq(s, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("bad rate %q in %q", f, s)
		}
		if len(rates) > 0 && r <= rates[len(rates)-1] {
			return nil, errors.New("-steps must increase")
		}
		rates = append(rates, r)
	}
	return rates, nil
}

// fixedRate runs each stack runs times at one rate, alternating, and prints
// the medians.
func fixedRate(d *driver, stacks []string, rate, runs int, knobArgs []string) error {
	byStack := map[string][]runResult{}
	for i := range runs {
		order := stacks
		if i%2 == 1 {
			order = make([]string, len(stacks))
			for j, s := range stacks {
				order[len(stacks)-1-j] = s
			}
		}
		for _, s := range order {
			r, err := d.run(s, rate, knobArgs)
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, line(r))
			byStack[s] = append(byStack[s], r)
		}
	}
	fmt.Printf("## %d records/s for %v (medians of %d)\n\n", rate, d.duration, runs)
	printHeader("| stack | lossless runs | median loss |" + strings.TrimPrefix(figuresHeader, "|"))
	for _, s := range stacks {
		rs := byStack[s]
		if s == "none" { // nothing is sent: only the loop's own cost counts
			fmt.Printf("| none (the pacing loop alone) | n/a | n/a %s\n", figures(rs))
			continue
		}
		fmt.Printf("| %s | %d/%d | %.2f%% %s\n", s, countLossless(rs), len(rs),
			med(rs, func(_ runResult, d derived) float64 { return d.lossPct }), figures(rs))
	}
	return nil
}
