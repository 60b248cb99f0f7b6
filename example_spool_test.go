//go:build unix && !aix && !solaris

package slogotlp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/soliplex/slogotlp"
)

// laptopNetwork is an Exporter for the spool's example: it cannot reach
// the receiver until online is set, then takes every payload and keeps the
// messages of its records.
type laptopNetwork struct {
	online   bool
	received []string
}

func (n *laptopNetwork) Export(_ context.Context, payload []byte, _ int) slogotlp.Result {
	if !n.online {
		return slogotlp.Result{Outcome: slogotlp.ExportRetryable, Offline: true, Err: errors.New("no network")}
	}
	var req struct {
		ResourceLogs []struct {
			ScopeLogs []struct {
				LogRecords []struct{ Body struct{ StringValue string } }
			}
		}
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		return slogotlp.Result{Outcome: slogotlp.ExportRejected, Err: err}
	}
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				n.received = append(n.received, r.Body.StringValue)
			}
		}
	}
	return slogotlp.Result{}
}

func (*laptopNetwork) Shutdown(context.Context) error { return nil }

// A command-line tool that exits while the receiver cannot be reached
// keeps its records in the spool directory (SLOGOTLP_SPOOL_DIR through
// NewFromEnv); the next run sends them first, with the times they were
// logged at.
func ExampleHandlerOptions_spoolDir() {
	dir, err := os.MkdirTemp("", "slogotlp-spool-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	network := &laptopNetwork{}
	opts := &slogotlp.HandlerOptions{SpoolDir: dir, OnError: func(error) {}}

	// First run, offline: Shutdown keeps what it cannot send on disk.
	h := slogotlp.NewHandler(network, opts)
	slog.New(h).Info("backup finished", "files", 1200)
	err = h.Shutdown(context.Background())
	fmt.Printf("first run: %v; spooled %d\n", err, h.Stats().Spooled)

	// Second run, online: the spooled record goes first.
	network.online = true
	h = slogotlp.NewHandler(network, opts)
	slog.New(h).Info("backup started")
	_ = h.Shutdown(context.Background())
	s := h.Stats()
	fmt.Printf("second run: restored %d, exported %d\n", s.Restored, s.Exported)
	fmt.Println(network.received)
	// Output:
	// first run: <nil>; spooled 1
	// second run: restored 1, exported 1
	// [backup finished backup started]
}
