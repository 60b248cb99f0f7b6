//go:build !js && !wasip1

package slogotlp

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
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
// TestSignalDeliversRecords; its value says whether the child watches the
// context NotifyShutdown returns.
const childEnv = "SLOGOTLP_TEST_SIGNAL_CHILD"

const childRecords = 200

// TestSignalDeliversRecords runs a program (this test binary, re-executed)
// that configures itself from the environment, logs, and then either waits
// for NotifyShutdown's context to end or ignores it and serves forever, as
// an http.ListenAndServe service does. On the first signal every record it
// logged must reach the receiver, and the program must end: by returning
// from main (it watched the context) or with the conventional status
// 128+signal (it did not).
func TestSignalDeliversRecords(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	for _, tc := range []struct {
		name   string
		mode   string
		sig    syscall.Signal
		status int
	}{
		{"watches the context, SIGTERM", "watch", syscall.SIGTERM, 0},
		{"ignores the context, SIGTERM", "ignore", syscall.SIGTERM, 128 + int(syscall.SIGTERM)},
		{"ignores the context, SIGINT", "ignore", syscall.SIGINT, 128 + int(syscall.SIGINT)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			cmd, stderr := startChild(t, tc.mode, rc.URL)
			assert.Zero(t, rc.count(), "nothing may be exported before the signal, or the test proves nothing")

			require.NoError(t, cmd.Process.Signal(tc.sig))
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			var err error
			select {
			case err = <-exited:
			case <-time.After(time.Minute): // a bound against hanging, far above the run's few milliseconds
				t.Fatalf("the child still runs a minute after the signal: it was swallowed; stderr: %s", stderr.String())
			}
			if tc.status == 0 {
				require.NoError(t, err, "child failed: %s", stderr.String())
			} else {
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee, "the child must exit on the first signal: %s", stderr.String())
				assert.Equal(t, tc.status, ee.ExitCode(), "stderr: %s", stderr.String())
			}
			assert.NotContains(t, stderr.String(), "dropped", "nothing is lost")

			msgs, _ := rc.got()
			require.Len(t, msgs, childRecords)
			for i, m := range msgs {
				assert.Equal(t, fmt.Sprintf("record %d", i), m)
			}
		})
	}
}

// startChild starts TestSignalChild in mode, logging to url, and returns
// once it has logged its records.
func startChild(t *testing.T, mode, url string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalChild$", "-test.count=1")
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(allEnv, k)
	})
	cmd.Env = append(env, childEnv+"="+mode,
		EnvLogsEndpoint+"="+url+"/v1/logs",
		EnvScheduleDelay+"=600000", // nothing leaves before the signal
		EnvServiceName+"=signal-child")
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // a no-op once it has exited

	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
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
	return cmd, stderr
}

// TestSignalChild is the program TestSignalDeliversRecords runs.
func TestSignalChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("the child of TestSignalDeliversRecords")
	}
	h, err := NewFromEnv(nil)
	require.NoError(t, err)
	ctx, shutdown := h.NotifyShutdown(10 * time.Second)
	defer shutdown()
	logger := slog.New(h)
	for i := range childRecords {
		logger.Info(fmt.Sprintf("record %d", i), "i", i)
	}
	var done <-chan struct{}
	if mode == "watch" {
		done = ctx.Done() // watching from before the signal can come
	}
	fmt.Println("ready")
	if mode == "ignore" {
		// Serve until killed, never looking at ctx, as a service built on
		// http.ListenAndServe does.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		for {
			c, err := ln.Accept()
			require.NoError(t, err)
			_ = c.Close()
		}
	}
	<-done
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
			ConcurrentExports: 1, // in order across batches too
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
