// Package measure holds what the bench commands share to report a run: the
// median of repeated measurements and the process's peak memory.
package measure

import (
	"os"
	"slices"
	"strconv"
	"strings"
)

// Median returns the median of xs (0 for none), leaving xs as it is.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// PeakRSSKB is this process's peak resident set size (VmHWM) in KiB, or -1
// where /proc is missing.
func PeakRSSKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb
			}
		}
	}
	return -1
}
