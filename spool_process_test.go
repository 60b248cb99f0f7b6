//go:build unix && !aix && !solaris

package slogotlp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The child processes of the handler-level spool tests: this test binary
// run again with procModeEnv set.
const (
	procModeEnv = "SLOGOTLP_TEST_SPOOL_PROC"
	procRunEnv  = "SLOGOTLP_TEST_SPOOL_RUN"
)

// TestSpoolProcessChild is the child of the tests below:
//   - cli: a command-line program configured only by the environment
//     (NewFromEnv, SLOGOTLP_SPOOL_DIR and OTEL_EXPORTER_OTLP_LOGS_ENDPOINT):
//     it logs five records tagged with its run and exits through Shutdown;
//   - flood: a handler whose receiver cannot be reached logs records
//     numbered from procRunEnv in a loop, printing "spooled N" whenever
//     Stats().Spooled grows, until it is killed.
func TestSpoolProcessChild(t *testing.T) {
	mode := os.Getenv(procModeEnv)
	if mode == "" {
		t.Skip("the child of the spool's process tests")
	}
	run, err := strconv.Atoi(os.Getenv(procRunEnv))
	require.NoError(t, err)
	switch mode {
	case "cli":
		h, err := NewFromEnv(&Config{ServiceName: "spool-cli"})
		require.NoError(t, err)
		l := slog.New(h)
		for i := range 5 {
			l.Info("run "+strconv.Itoa(run), "id", run*100+i)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, h.Shutdown(ctx), "nothing is lost: what is not sent is spooled")
	case "flood":
		exp := &toggleExporter{}
		exp.down.Store(true)
		h := NewHandler(exp, &HandlerOptions{
			SpoolDir: os.Getenv(EnvSpoolDir), MaxQueueSize: 256, BatchSize: 32, DropReportInterval: -1,
			InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, OnError: func(error) {},
		})
		l := slog.New(h)
		l.Error("probe", "id", run)
		fmt.Println("ready")
		deadline := time.Now().Add(30 * time.Second) // should the parent never kill it
		var shown uint64
		for id := run + 1; time.Now().Before(deadline); id++ {
			l.Info("flood", "id", id)
			if s := h.Stats().Spooled; s > shown {
				shown = s
				fmt.Println("spooled", s)
			}
		}
		t.Fatal("not killed")
	}
}

// procChild starts the child in mode with env, its stdout piped back.
func procChild(t *testing.T, mode string, run int, env ...string) (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolProcessChild$", "-test.count=1")
	// Only what the child needs: no LOGFIRE_TOKEN or OTEL_* of the
	// machine running the tests.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		procModeEnv + "=" + mode, procRunEnv + "=" + strconv.Itoa(run)}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewScanner(out), &stderr
}

// TestSpoolProcessRestarts is the subprocess test, with a program
// configured by the environment alone: run 1 exits while the receiver is
// down, and keeps its records on disk; run 2, with the receiver up,
// delivers run 1's records first with the times they were logged at, then
// its own; run 3 resends nothing.
func TestSpoolProcessRestarts(t *testing.T) {
	rc := newReceiver(t, nil)
	rc.stop()
	env := []string{EnvSpoolDir + "=" + t.TempDir(), EnvLogsEndpoint + "=" + rc.URL + "/v1/logs"}
	runChild := func(run int) (start, end time.Time) {
		t.Helper()
		start = time.Now()
		cmd, out, stderr := procChild(t, "cli", run, env...)
		for out.Scan() {
		}
		require.NoError(t, cmd.Wait(), "run %d: %s", run, stderr)
		return start, time.Now()
	}

	start1, end1 := runChild(1)
	assert.Empty(t, accepted(t, rc))

	rc.restart(t)
	start2, _ := runChild(2)
	got := accepted(t, rc)
	require.Len(t, got, 10)
	for i, r := range got {
		want := "run 1"
		if i >= 5 {
			want = "run 2"
		}
		assert.Equal(t, want, r.body, "run 1's records first")
		ns, err := strconv.ParseInt(r.time, 10, 64)
		require.NoError(t, err)
		ts := time.Unix(0, ns)
		if i < 5 {
			assert.True(t, !ts.Before(start1.Truncate(time.Microsecond)) && !ts.After(end1),
				"record %d keeps the time run 1 logged it at: %v, not %v", i, ts, start2)
		} else {
			assert.False(t, ts.Before(start2.Truncate(time.Microsecond)))
		}
	}

	runChild(3)
	got = accepted(t, rc)
	require.Len(t, got, 15, "run 3 resends nothing")
	for _, r := range got[10:] {
		assert.Equal(t, "run 3", r.body)
	}
	for id, n := range rc.ids() {
		assert.Equal(t, 1, n, "record %s received %d times", id, n)
	}
}

// TestSpoolProcessKill9: a program spooling during an outage is killed
// with SIGKILL at random points, over and over, on one directory. Every
// next start opens the spool without error and sends what is there; no
// file comes back corrupt (a payload torn by the kill is a temp file,
// reaped); no record comes back twice; and every record the killed
// program had counted as spooled is delivered: the loss is bounded by
// what was still in memory.
func TestSpoolProcessKill9(t *testing.T) {
	iterations := 25
	if testing.Short() {
		iterations = 8
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	seen := map[string]int{}
	for iter := range iterations {
		base := (iter + 1) * 1_000_000
		cmd, out, stderr := procChild(t, "flood", base, EnvSpoolDir+"="+dir)
		require.True(t, out.Scan(), "the child did not start: %s", stderr)
		require.Equal(t, "ready", out.Text())
		lines := make(chan string)
		go func() {
			defer close(lines)
			for out.Scan() {
				lines <- out.Text()
			}
		}()
		kill := time.After(time.Duration(rng.IntN(60)) * time.Millisecond)
		var confirmed uint64
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				n, err := strconv.ParseUint(strings.TrimPrefix(l, "spooled "), 10, 64)
				require.NoError(t, err, l)
				confirmed = n
			case <-kill:
				require.NoError(t, cmd.Process.Kill())
				kill = nil
			}
		}
		err := cmd.Wait()
		require.Error(t, err)
		require.Contains(t, err.Error(), "killed", "iteration %d: the child died of the kill, not before: %s", iter, stderr)

		exp := &toggleExporter{}
		var el errLog
		h := NewHandler(exp, &HandlerOptions{SpoolDir: dir, DropReportInterval: -1, OnError: el.add})
		require.NotNil(t, h.c.b.spool, "iteration %d: the next start opens the spool: %v", iter, h.c.b.spoolErr)
		require.Eventually(t, func() bool {
			files, _, _, err := h.c.b.spool.usage()
			return err == nil && files == 0
		}, 20*time.Second, time.Millisecond, "iteration %d: everything spooled is sent", iter)
		require.NoError(t, shutdown(t, h))
		s := h.Stats()
		assert.LessOrEqual(t, s.SpoolCorrupt, uint64(1), "iteration %d: at most the payload being written is torn", iter)
		assert.Empty(t, el.with("corrupt"), "iteration %d: no file under a final name is corrupt", iter)
		assert.GreaterOrEqual(t, s.Restored, confirmed, "iteration %d: a record counted as spooled is lost", iter)
		for _, r := range exp.records(t) {
			id := anyValue(attrMap(r["attributes"])["id"])
			key := fmt.Sprint(id)
			seen[key]++
			assert.Equal(t, 1, seen[key], "iteration %d: record %s sent twice", iter, key)
		}
		assert.Empty(t, spoolNames(t, h.c.b.spool.dir), "iteration %d", iter)
	}
}
