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
	// However slowly this machine runs it, it keeps probing.
	require.Eventually(t, func() bool { return h.Stats().ExportAttempts > before.ExportAttempts },
		10*time.Second, 5*time.Millisecond, "it keeps probing")
	s := h.Stats()
	assert.True(t, s.Offline)
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
