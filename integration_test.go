//go:build !js && !wasip1

package slogotlp

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv marks the re-executed test binary as the child of
// TestSIGTERMDeliversRecords.
const childEnv = "SLOGOTLP_TEST_SIGTERM_CHILD"

const childRecords = 200

// TestSIGTERMDeliversRecords runs a program (this test binary, re-executed)
// that configures itself from the environment, logs, and blocks until
// SIGTERM; the records it logged must all reach the receiver, delivered by
// NotifyShutdown's flush on the way out.
func TestSIGTERMDeliversRecords(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	rc := newReceiver(t, nil)

	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGTERMChild$", "-test.count=1")
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(allEnv, k)
	})
	cmd.Env = append(env, childEnv+"=1",
		EnvLogsEndpoint+"="+rc.URL+"/v1/logs",
		EnvScheduleDelay+"=600000", // nothing leaves before the signal
		EnvServiceName+"=sigterm-child")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }() // a no-op once it has exited

	ready := make(chan bool, 1)
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if sc.Text() == "ready" && !found {
				found = true
				ready <- true
			}
		}
		if !found {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		require.True(t, ok, "child exited before logging: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("child did not get ready: %s", stderr.String())
	}
	assert.Zero(t, rc.count(), "nothing may be exported before the signal, or the test proves nothing")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	require.NoError(t, err, "child failed: stdout %s stderr %s", out.String(), stderr.String())

	msgs, _ := rc.got()
	require.Len(t, msgs, childRecords)
	for i, m := range msgs {
		assert.Equal(t, fmt.Sprintf("record %d", i), m)
	}
}

// TestSIGTERMChild is the program TestSIGTERMDeliversRecords runs.
func TestSIGTERMChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("the child of TestSIGTERMDeliversRecords")
	}
	h, err := NewFromEnv(nil)
	require.NoError(t, err)
	ctx, shutdown := h.NotifyShutdown(10 * time.Second)
	logger := slog.New(h)
	for i := range childRecords {
		logger.Info(fmt.Sprintf("record %d", i), "i", i)
	}
	fmt.Println("ready")
	<-ctx.Done()
	require.NoError(t, shutdown())
	st := h.Stats()
	require.Equal(t, uint64(childRecords), st.Exported, "%+v", st)
}

// TestOfflineAndRecovery stops the receiver mid-run and starts it again on
// the same port: the handler must notice it is offline, probe with backoff
// instead of hammering, keep every record (MaxRetryTime does not apply
// offline), and deliver everything once the receiver is back.
func TestOfflineAndRecovery(t *testing.T) {
	setEnv(t, nil)
	rc := newReceiver(t, nil)
	h, err := NewFromEnv(&Config{
		Endpoint: rc.URL + "/v1/logs",
		HandlerOptions: HandlerOptions{
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			MaxRetryTime:       200 * time.Millisecond, // would drop the batch if it applied offline
			DropReportInterval: -1, NoResourceDetection: true,
		},
	})
	require.NoError(t, err)
	defer func() { _ = h.Shutdown(context.Background()) }()
	logger := slog.New(h)

	logger.Error("up")
	require.Eventually(t, func() bool { return rc.count() == 1 }, 5*time.Second, 5*time.Millisecond)
	assert.False(t, h.Stats().Offline)

	rc.stop()
	const n = 50
	for i := range n {
		logger.Error(fmt.Sprintf("down %d", i))
		logger.Info(fmt.Sprintf("info %d", i))
	}
	require.Eventually(t, func() bool { return h.Stats().Offline }, 5*time.Second, 5*time.Millisecond)

	// No retry storm: with a 100ms cap, half a second of probing is a
	// handful of attempts, where retrying at once would be thousands. And
	// nothing is given up although MaxRetryTime passes.
	before := h.Stats()
	assert.Never(t, func() bool {
		s := h.Stats()
		return s.ExportAttempts > before.ExportAttempts+20 || s.Dropped.Total() > 0
	}, 500*time.Millisecond, 10*time.Millisecond)
	s := h.Stats()
	assert.True(t, s.Offline)
	assert.Greater(t, s.ExportAttempts, before.ExportAttempts, "it keeps probing")
	assert.Equal(t, uint64(2*n), s.Queued, "everything logged while offline is kept")
	checkStats(t, s)

	rc.restart(t)
	require.Eventually(t, func() bool { return rc.count() == 1+2*n }, 10*time.Second, 5*time.Millisecond)
	assert.Eventually(t, func() bool { return !h.Stats().Offline }, 5*time.Second, 5*time.Millisecond)

	msgs, levels := rc.got()
	var errs []string
	for i, m := range msgs {
		if levels[i] == "ERROR" {
			errs = append(errs, m)
		}
	}
	want := []string{"up"}
	for i := range n {
		want = append(want, fmt.Sprintf("down %d", i))
	}
	assert.Equal(t, want, errs, "every ERROR arrives, in order")
	// The receiver counts a request before the handler reads the answer:
	// wait for the handler's own count to settle.
	require.Eventually(t, func() bool { return h.Stats().Exported == 1+2*n }, 5*time.Second, 5*time.Millisecond)
	s = h.Stats()
	assert.Zero(t, s.Dropped.Total())
	checkStats(t, s)
}

// TestSetEnabledToggleWhileLogging switches export off and on while several
// goroutines log through clones; run it with -race.
func TestSetEnabledToggleWhileLogging(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{DropReportInterval: -1, MaxQueueSize: 1 << 16})
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logger := slog.New(h).With("g", g)
			for {
				select {
				case <-stop:
					return
				default:
				}
				logger.Info("tick")
				_ = h.Enabled(ctx, slog.LevelInfo)
			}
		}()
	}
	// Toggle while the loggers run: at least 200 switches, and until they
	// have logged through both states.
	for i := 0; i < 200 || h.Stats().Handled < 1000 || h.Stats().Dropped.Paused == 0; i++ {
		h.SetEnabled(i%2 == 1)
		runtime.Gosched()
	}
	close(stop)
	wg.Wait()

	// Off: Enabled is false, so loggers skip the record entirely, and a
	// record handed to Handle anyway is refused, counted, not queued.
	h.SetEnabled(false)
	flush(t, h)
	before := h.Stats()
	assert.False(t, h.Enabled(ctx, slog.LevelError))
	slog.New(h).Error("off")
	assert.Equal(t, before.Handled, h.Stats().Handled)
	err := h.Handle(ctx, slog.NewRecord(time.Now(), slog.LevelError, "forced", 0))
	assert.ErrorIs(t, err, ErrPaused)
	s := h.Stats()
	assert.Equal(t, before.Dropped.Paused+1, s.Dropped.Paused)
	assert.Zero(t, s.Queued)

	// On again: records flow.
	h.SetEnabled(true)
	assert.True(t, h.Enabled(ctx, slog.LevelInfo))
	slog.New(h).Error("on")
	flush(t, h)
	recs := exp.records(t)
	require.NotEmpty(t, recs)
	last := recs[len(recs)-1]["body"].(map[string]any)["stringValue"]
	assert.Equal(t, "on", last)
	for _, r := range recs {
		assert.NotEqual(t, "off", r["body"].(map[string]any)["stringValue"])
	}
	checkStats(t, h.Stats())
}

// TestSkippedRecordAfterResume pins the race the toggle test found: Handle
// saw export off and skipped encoding, then SetEnabled(true) came before the
// record was counted. The unencoded record must be counted as dropped, never
// queued, or the payload holds an empty element (",,").
func TestSkippedRecordAfterResume(t *testing.T) {
	h, exp := newTestHandler(t, &HandlerOptions{DropReportInterval: -1})
	b := h.c.b
	assert.ErrorIs(t, b.refuse(), ErrPaused) // export is on again by now
	slog.New(h).Error("real")
	flush(t, h)
	s := h.Stats()
	assert.Equal(t, uint64(1), s.Dropped.Paused)
	assert.Equal(t, uint64(1), s.Exported)
	assert.Len(t, exp.records(t), 1)
	checkStats(t, s)
}
