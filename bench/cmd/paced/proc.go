package main

import (
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used so far, user and system.
func cpuTime() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1, -1
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// waitStdinEOF returns once stdin reaches EOF. The driver holds each
// child's stdin open while it needs the child, and the kernel closes it when
// the driver dies, so no child outlives its driver.
func waitStdinEOF() { _, _ = io.Copy(io.Discard, os.Stdin) }

// exitAfter ends the process after d whatever it is doing, so a stuck child
// cannot hang a benchmark run.
func exitAfter(d time.Duration, who string) {
	time.AfterFunc(d, func() {
		os.Stderr.WriteString("paced " + who + ": deadline " + d.String() + " passed, exiting\n")
		os.Exit(3)
	})
}

// machineBusy is the CPU time all processes have used since boot, from the
// first line of /proc/stat (user, nice, system, irq, softirq, steal), or -1.
// Its change over a run, less the run's own processes, is the load others
// put on the machine meanwhile.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	l, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(l)
	if len(f) < 9 || f[0] != "cpu" {
		return -1
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return -1
		}
		ticks += n
	}
	// USER_HZ is 100 on every Linux platform Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond
}
