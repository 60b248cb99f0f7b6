//go:build !js && !wasip1

package slogotlp

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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
			rc := &receiver{}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			cmd, stderr := startChild(t, tc.mode, srv.URL)
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

// relisten binds addr again after its server stopped. Another process may
// hold the port for a moment, so it retries for a bounded time.
func relisten(t *testing.T, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not listen on %s again: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // waiting on the OS, not on our own goroutines
	}
}

func serveOn(l net.Listener, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	return srv
}

// TestOfflineAndRecovery stops the receiver mid-run and starts it again on
// the same port: the handler must notice it is offline, probe with backoff
// instead of hammering, keep every record (MaxRetryTime does not apply
// offline), and deliver everything once the receiver is back.
func TestOfflineAndRecovery(t *testing.T) {
	setEnv(t, nil)
	rc := &receiver{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	srv := serveOn(l, rc)

	h, err := NewFromEnv(&Config{
		Endpoint: "http://" + addr + "/v1/logs",
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

	srv.Close()
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

	srv = serveOn(relisten(t, addr), rc)
	defer srv.Close()
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
