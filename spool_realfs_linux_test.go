//go:build linux

package slogotlp

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "96k") on a fresh
// directory and unmounts it when the test ends. It skips the test where
// mounting is not allowed (not root, or a container without CAP_SYS_ADMIN):
// TestSpoolDiskFull covers the same outcomes with injected errors there.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("a real full or read-only file system needs a tmpfs mount, which this process may not make: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// TestSpoolRealDiskFull runs the spool on a file system that really runs
// out of space (a 96 KiB tmpfs), not on injected errors: OnError hears a
// clear error that names no path, the records are counted as
// Dropped.SpoolFailed and in Shutdown's error, no torn file is left behind,
// and logging goes on in memory: once the receiver answers, later records
// are delivered.
func TestSpoolRealDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "96k")
	exp := &toggleExporter{}
	exp.down.Store(true)
	var el errLog
	o := spoolOpts(mnt, &el)
	o.MaxQueueSize, o.BatchSize = 16, 8
	h := NewHandler(exp, o)
	dir := spoolDirOf(t, h)

	l := slog.New(h)
	l.Error("probe")
	require.Eventually(t, func() bool { return h.Stats().Offline }, 10*time.Second, time.Millisecond)
	// 4 KiB a record: 16 records evicted from the queue fill a
	// 96 KiB file system whatever the spool's bound (64 MiB).
	bulk := strings.Repeat("x", 4<<10)
	const lost = "could not be written to the disk spool and are lost"
	require.Eventually(t, func() bool {
		for range 16 {
			assert.NoError(t, h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, bulk, 0)))
		}
		return el.count(lost) > 0
	}, 20*time.Second, time.Millisecond)

	report := el.texts()[len(el.texts())-1]
	for _, r := range el.texts() {
		if strings.Contains(r, lost) {
			report = r
		}
		assert.NotContains(t, r, mnt, "errors name <SpoolDir>, not the path")
	}
	assert.Contains(t, report, "is full; free space there or lower the spool's size bound")
	assert.Positive(t, h.Stats().Dropped.SpoolFailed)

	exp.down.Store(false)
	require.Eventually(t, func() bool { return !h.Stats().Offline }, 10*time.Second, time.Millisecond)
	l.Error("after")
	err := shutdown(t, h)
	var de *DeliveryError
	require.ErrorAs(t, err, &de, "records lost to the disk are in Shutdown's error")
	assert.Equal(t, h.Stats().Dropped.SpoolFailed, de.Dropped.SpoolFailed)
	delivered := false
	for _, b := range exp.texts() {
		delivered = delivered || strings.Contains(b, `"after"`)
	}
	assert.True(t, delivered, "logging goes on: a record logged once the receiver is back is delivered")
	// Checked once the spool is closed: until then a write may be under way.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".tmp-"), "a failed write leaves no temp file: %s", e.Name())
	}
}

// TestSpoolRealReadOnly starts a handler on a spool directory in a file
// system mounted read-only, which refuses root too (TestSpoolOpenFails
// can only use permissions, which root ignores): the spool is off with one
// clear error naming no path, and records are exported from memory.
func TestSpoolRealReadOnly(t *testing.T) {
	mnt := mountTmpfs(t, "96k")
	require.NoError(t, syscall.Mount("", mnt, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""))
	var el errLog
	h, exp := newTestHandler(t, spoolOpts(mnt, &el))
	slog.New(h).Error("kept in memory")
	flush(t, h)
	assert.Equal(t, 1, exp.count(t))
	require.Len(t, el.texts(), 1, "%q", el.texts())
	msg := el.texts()[0]
	assert.Contains(t, msg, "the disk spool is off, records are kept in memory only")
	assert.Contains(t, msg, "not writable")
	assert.NotContains(t, msg, mnt)
	assert.Nil(t, h.c.b.spool)
}
