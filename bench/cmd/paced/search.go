package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/soliplex/slogotlp/bench/internal/measure"
)

// searcher finds the highest rate at which one stack loses nothing in need
// runs of need: it climbs the steps until a run loses, then bisects between
// the last lossless rate and the first lossy one until they are within tol.
type searcher struct {
	name     string   // as tabled
	stack    string   // as the client knows it
	knobArgs []string // slogotlp knobs for its clients
	steps    []int
	need     int
	tol      float64
	bisects  int // bisection steps left

	step   int // index into steps while climbing; -1 once bisecting
	rate   int // the rate being tried
	lo, hi int // highest rate lossless need times (0: none); lowest lossy (0: none yet)
	done   bool
	runs   map[int][]runResult
}

func newSearcher(name, stack string, knobArgs []string, steps []int, need int, tol float64, bisects int) *searcher {
	return &searcher{name: name, stack: stack, knobArgs: knobArgs, steps: steps, need: need, tol: tol,
		bisects: bisects, rate: steps[0], runs: map[int][]runResult{}}
}

// record takes the result of a run at s.rate and picks the next rate.
func (s *searcher) record(r runResult) {
	s.runs[s.rate] = append(s.runs[s.rate], r)
	if !derive(r).lossless(r) {
		s.hi = s.rate
	} else if len(s.runs[s.rate]) >= s.need {
		s.lo = s.rate
	} else {
		return // more runs at this rate
	}
	if s.step >= 0 && s.hi == 0 {
		if s.step++; s.step < len(s.steps) {
			s.rate = s.steps[s.step]
			return
		}
		s.done = true // lossless at every step
		return
	}
	s.step = -1
	mid := roundRate((s.lo + s.hi) / 2)
	if s.bisects <= 0 || (s.lo > 0 && float64(s.hi) <= float64(s.lo)*(1+s.tol)) || mid <= s.lo || mid >= s.hi {
		s.done = true
		return
	}
	s.bisects--
	s.rate = mid
	// A rate already tried (one run, lossless) goes on where it stopped.
}

// roundRate keeps rates readable: to 1000 records/s, or 100 below 10,000.
func roundRate(r int) int {
	unit := 1000
	if r < 10_000 {
		unit = 100
	}
	return (r + unit/2) / unit * unit
}

// search runs the searchers' runs alternately, one run at a time, until
// each has its answer. Each round reverses the order, so no stack always
// runs right after the other.
func search(d *driver, ss []*searcher) error {
	for round := 0; ; round++ {
		active := 0
		order := slices.Clone(ss)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			if s.done {
				continue
			}
			active++
			r, err := d.run(s.stack, s.rate, s.knobArgs)
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, line(r))
			s.record(r)
		}
		if active == 0 {
			return nil
		}
	}
}

// med is the median of f over runs.
func med(runs []runResult, f func(runResult, derived) float64) float64 {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = f(r, derive(r))
	}
	return measure.Median(xs)
}

// backlogCell is the median max backlog, or n/a.
func backlogCell(runs []runResult) string {
	if len(runs) == 0 || runs[0].Client.MaxBacklog < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", med(runs, func(r runResult, _ derived) float64 { return float64(r.Client.MaxBacklog) }))
}

const figuresHeader = "| offered/s achieved | max backlog | client CPU s | client µs/record | receiver µs/record | peak RSS MiB | peak heap MiB | wire B/record | others' load (cores) |"

// printHeader prints a Markdown table's header row and the row under it,
// the first column left-aligned and the rest right-aligned.
func printHeader(h string) {
	fmt.Println(h)
	fmt.Println("|---|" + strings.Repeat("---:|", strings.Count(h, "|")-2))
}

// figures are the median columns of figuresHeader over runs.
func figures(runs []runResult) string {
	return fmt.Sprintf("| %.0f | %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %.2f |",
		med(runs, func(_ runResult, d derived) float64 { return d.offeredPerS }),
		backlogCell(runs),
		med(runs, func(_ runResult, d derived) float64 { return d.clientCPU }),
		med(runs, func(_ runResult, d derived) float64 { return d.clientUsPer }),
		med(runs, func(_ runResult, d derived) float64 { return d.recvUsPer }),
		med(runs, func(_ runResult, d derived) float64 { return d.rssMiB }),
		med(runs, func(_ runResult, d derived) float64 { return d.heapMiB }),
		med(runs, func(_ runResult, d derived) float64 { return d.wirePerRecord }),
		med(runs, func(r runResult, _ derived) float64 { return r.Others }))
}

func countLossless(runs []runResult) int {
	n := 0
	for _, r := range runs {
		if derive(r).lossless(r) {
			n++
		}
	}
	return n
}

// printSearch prints the search's answer per stack, then every rate tried.
// loopPerS is the pacing loop's own CPU seconds per second, taken out of
// the client's CPU in the net column.
func printSearch(ss []*searcher, loopPerS float64) {
	fmt.Printf("## Highest rate lossless in %d of %d runs (medians of the runs at that rate)\n\n", ss[0].need, ss[0].need)
	printHeader("| stack | lossless rate | first lossy rate: median loss | client µs/record net of the loop |" + strings.TrimPrefix(figuresHeader, "|"))
	for _, s := range ss {
		lossy := "none tried"
		if s.hi > 0 {
			lossy = fmt.Sprintf("%d: %.2f%%", s.hi, med(s.runs[s.hi], func(_ runResult, d derived) float64 { return d.lossPct }))
		}
		rate := fmt.Sprint(s.lo)
		if s.hi == 0 {
			rate = "≥ " + rate
		}
		if s.lo == 0 {
			fmt.Printf("| %s | < %d | %s | |%s\n", s.name, s.hi, lossy, strings.Repeat(" |", strings.Count(figuresHeader, "|")-1))
			continue
		}
		net := med(s.runs[s.lo], func(r runResult, d derived) float64 {
			return 1e6 * (d.clientCPU - loopPerS*r.Client.LoopTook.Seconds()) / float64(d.delivered)
		})
		fmt.Printf("| %s | %s | %s | %.2f %s\n", s.name, rate, lossy, net, figures(s.runs[s.lo]))
	}

	fmt.Println("\nmax backlog: slogotlp's Stats().Queued (waiting and in the export under way), sampled every tick;" +
		" official: offered − exported − drops it reported, an upper bound while drops are not yet reported.")
	fmt.Printf("\n## Every rate tried (medians)\n\n")
	printHeader("| stack | rate | lossless runs | median loss |" + strings.TrimPrefix(figuresHeader, "|"))
	for _, s := range ss {
		rates := make([]int, 0, len(s.runs))
		for r := range s.runs {
			rates = append(rates, r)
		}
		slices.Sort(rates)
		for _, rate := range rates {
			runs := s.runs[rate]
			fmt.Printf("| %s | %d | %d/%d | %.2f%% %s\n", s.name, rate, countLossless(runs), len(runs),
				med(runs, func(_ runResult, d derived) float64 { return d.lossPct }), figures(runs))
		}
	}
}

// losslessMode runs slogotlp with knobs sized for the burst at its rate and
// the official stack at its own lossless rate, alternately, and prints both.
func losslessMode(d *driver, oursRate int, knobArgs []string, otelRate, runs int) error {
	var ours, official []runResult
	for i := range runs {
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, isOurs := range order {
			var r runResult
			var err error
			if isOurs {
				r, err = d.run("ours", oursRate, knobArgs)
				ours = append(ours, r)
			} else {
				r, err = d.run("otel", otelRate, nil)
				official = append(official, r)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, line(r))
		}
	}
	fmt.Printf("\n## Lossless mode: slogotlp %s at %d/s against the official stack at %d/s (medians of %d)\n\n",
		strings.Join(knobArgs, " "), oursRate, otelRate, runs)
	printHeader("| stack | rate | lossless runs | median loss | max loss |" + strings.TrimPrefix(figuresHeader, "|"))
	for _, row := range []struct {
		name string
		rate int
		runs []runResult
	}{{"slogotlp lossless mode", oursRate, ours}, {"official, defaults", otelRate, official}} {
		maxLoss := 0.0
		for _, r := range row.runs {
			maxLoss = max(maxLoss, derive(r).lossPct)
		}
		fmt.Printf("| %s | %d | %d/%d | %.2f%% | %.2f%% %s\n", row.name, row.rate, countLossless(row.runs), len(row.runs),
			med(row.runs, func(_ runResult, d derived) float64 { return d.lossPct }), maxLoss, figures(row.runs))
	}
	rss := func(runs []runResult) float64 {
		return med(runs, func(_ runResult, d derived) float64 { return d.rssMiB })
	}
	fmt.Printf("\npeak RSS slogotlp/official: %.2f×\n", rss(ours)/rss(official))
	return nil
}
