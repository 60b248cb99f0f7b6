//go:build unix && !aix && !solaris

package slogotlp

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openTestSpool opens a spool that is closed when the test ends.
func openTestSpool(t testing.TB, dir string, maxBytes int64) *spool {
	t.Helper()
	s, err := openSpool(dir, maxBytes)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.close() })
	return s
}

// spoolPayload is a payload that names its sequence number, of n bytes.
func spoolPayload(seq, n int) []byte {
	p := make([]byte, max(n, 8))
	binary.LittleEndian.PutUint64(p, uint64(seq))
	for i := 8; i < len(p); i++ {
		p[i] = byte(seq*31 + i)
	}
	return p
}

func payloadSeq(p []byte) int { return int(binary.LittleEndian.Uint64(p)) }

// spoolNames lists the directory's entries, temp files included, but not
// the owner files of open handles.
func spoolNames(t testing.TB, dir string) []string {
	t.Helper()
	return slices.DeleteFunc(allNames(t, dir), func(n string) bool { return strings.HasPrefix(n, spoolOwnerPrefix) })
}

// allNames lists the directory's entries.
func allNames(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// drain takes every payload left, oldest first, removing each.
func drain(t testing.TB, s *spool) []*spoolItem {
	t.Helper()
	var out []*spoolItem
	for {
		it, err := s.next()
		require.NoError(t, err)
		if it == nil {
			return out
		}
		require.NoError(t, s.remove(it))
		out = append(out, it)
	}
}

func seqs(items []*spoolItem) []int {
	var out []int
	for _, it := range items {
		out = append(out, payloadSeq(it.req))
	}
	return out
}

// TestSpoolRoundTrip: what put stores, a later spool on the same directory
// gives back byte for byte with its record count, class and time, and
// removes; nothing stays behind, and every record is counted both ways.
func TestSpoolRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "spool")
	w := openTestSpool(t, dir, 0)
	want := []struct {
		req     []byte
		records int
		class   uint8
	}{
		{spoolPayload(1, 1000), 3, classMid},
		{spoolPayload(2, 8), 1, classHigh},
		{spoolPayload(3, 200_000), 256, classLow},
	}
	before := time.Now()
	for _, p := range want {
		require.NoError(t, w.put(p.req, p.records, p.class))
	}
	assert.Equal(t, spoolCounts{Spooled: 260}, w.counts())
	require.NoError(t, w.close())
	assert.ErrorIs(t, w.put(spoolPayload(4, 8), 1, classLow), errSpoolClosed)

	r := openTestSpool(t, dir, 0)
	var last time.Time
	for _, p := range want {
		it, err := r.next()
		require.NoError(t, err)
		require.NotNil(t, it)
		assert.Equal(t, p.req, it.req)
		assert.Equal(t, p.records, it.records)
		assert.Equal(t, p.class, it.class)
		assert.False(t, it.created.Before(before))
		assert.True(t, it.created.After(last), "creation times strictly increase")
		last = it.created
		require.NoError(t, r.remove(it))
		assert.Error(t, r.remove(it), "a payload is removed once")
	}
	it, err := r.next()
	require.NoError(t, err)
	assert.Nil(t, it)
	assert.Equal(t, spoolCounts{Restored: 260}, r.counts())
	require.NoError(t, r.close())
	require.NoError(t, r.close(), "close twice")
	assert.Empty(t, allNames(t, dir), "nothing left, not even the owner files")
	_, err = r.next()
	assert.ErrorIs(t, err, errSpoolClosed)
}

// TestSpoolPermissions: the directory is created 0700 and files 0600 even
// under a permissive umask; a directory other users may write, or another
// user's, is refused with what to do.
func TestSpoolPermissions(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "spool")
	s := openTestSpool(t, dir, 0)
	require.NoError(t, s.put(spoolPayload(1, 10), 1, classMid))
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm())
	names := spoolNames(t, dir)
	require.Len(t, names, 1)
	fi, err = os.Stat(filepath.Join(dir, names[0]))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())

	open := filepath.Join(t.TempDir(), "open")
	require.NoError(t, os.Mkdir(open, 0o770))
	_, err = openSpool(open, 0)
	assert.ErrorContains(t, err, "writable by other users")
	assert.ErrorContains(t, err, "chmod 700")

	if os.Geteuid() != 0 {
		t.Log("not root: cannot make a directory of another user's")
		return
	}
	theirs := filepath.Join(t.TempDir(), "theirs")
	require.NoError(t, os.Mkdir(theirs, 0o700))
	require.NoError(t, os.Chown(theirs, 65534, 65534))
	_, err = openSpool(theirs, 0)
	assert.ErrorContains(t, err, "belongs to user id 65534")
}

// TestSpoolOldestFirst: payloads come back in the order they were written,
// whatever their class and whichever spool on the directory wrote them; one
// released comes back after the others.
func TestSpoolOldestFirst(t *testing.T) {
	dir := t.TempDir()
	w1, w2 := openTestSpool(t, dir, 0), openTestSpool(t, dir, 0)
	classes := []uint8{classHigh, classLow, classMid, classLow, classHigh, classMid}
	for i, c := range classes {
		w := w1
		if i%2 == 1 {
			w = w2
		}
		require.NoError(t, w.put(spoolPayload(i, 100), 1, c))
	}
	r := openTestSpool(t, dir, 0)
	first, err := r.next()
	require.NoError(t, err)
	require.Equal(t, 0, payloadSeq(first.req))
	r.release(first)
	assert.Equal(t, []int{1, 2, 3, 4, 5, 0}, seqs(drain(t, r)))

	// A clock that stands still or goes back does not reorder.
	clock := time.Unix(1000, 0)
	w1.now = func() time.Time { return clock }
	for i := range 3 {
		require.NoError(t, w1.put(spoolPayload(i, 10), 1, classMid))
		clock = clock.Add(-time.Duration(i) * time.Second)
	}
	assert.Equal(t, []int{0, 1, 2}, seqs(drain(t, r)))
}

// TestSpoolBound: when full, put removes the lowest class first and the
// oldest first within it, never a file of a higher class than the new one
// nor one claimed for sending; a payload that cannot fit is refused and
// nothing is removed for it. Every removed record is counted.
func TestSpoolBound(t *testing.T) {
	dir := t.TempDir()
	const size = 1000
	fileSize := int64(spoolHeaderLen + size)
	s := openTestSpool(t, dir, 3*fileSize)
	put := func(seq, records int, class uint8) error {
		err := s.put(spoolPayload(seq, size), records, class)
		_, _, used, uerr := s.usage()
		require.NoError(t, uerr)
		require.LessOrEqual(t, used, 3*fileSize, "the bound holds after every put")
		return err
	}
	left := func() []int {
		t.Helper()
		var out []int
		for _, n := range spoolNames(t, dir) {
			e, ok := parseSpoolName(n)
			require.True(t, ok, n)
			out = append(out, int(e.records))
		}
		return out
	}
	// Record counts double as ids.
	require.NoError(t, put(1, 1, classLow))
	require.NoError(t, put(2, 2, classMid))
	require.NoError(t, put(3, 4, classLow))
	assert.Equal(t, []int{1, 2, 4}, left())

	require.NoError(t, put(4, 8, classMid), "the oldest low one goes")
	assert.Equal(t, []int{2, 4, 8}, left())
	assert.Equal(t, uint64(1), s.counts().Evicted)

	require.NoError(t, put(5, 16, classHigh), "the remaining low one goes, though newer than the mid ones")
	assert.Equal(t, []int{2, 8, 16}, left())
	assert.Equal(t, uint64(5), s.counts().Evicted)

	assert.ErrorIs(t, put(6, 32, classLow), errSpoolFull, "everything on disk outranks it")
	assert.Equal(t, []int{2, 8, 16}, left(), "nothing removed for a payload that does not fit")

	require.NoError(t, put(7, 64, classMid), "the oldest mid one goes")
	assert.Equal(t, []int{8, 16, 64}, left())
	assert.Equal(t, uint64(7), s.counts().Evicted)

	// The oldest mid one is being sent by another spool: the next goes.
	other := openTestSpool(t, dir, 0)
	held, err := other.next()
	require.NoError(t, err)
	require.Equal(t, 8, held.records)
	require.NoError(t, put(8, 128, classMid))
	assert.Equal(t, []int{8, 16, 128}, left())
	assert.Equal(t, uint64(71), s.counts().Evicted)
	other.release(held)

	err = s.put(spoolPayload(9, 4*size), 1, classHigh)
	assert.ErrorIs(t, err, errSpoolFull)
	assert.ErrorContains(t, err, "over the whole bound")
	assert.Equal(t, spoolCounts{Spooled: 1 + 2 + 4 + 8 + 16 + 64 + 128, Evicted: 71}, s.counts())

	// A file claimed for sending is no room: with the only file of the new
	// one's class held, the new one is refused and nothing is removed.
	dir2 := t.TempDir()
	s2 := openTestSpool(t, dir2, 2*fileSize)
	require.NoError(t, s2.put(spoolPayload(1, size), 1, classLow))
	require.NoError(t, s2.put(spoolPayload(2, size), 2, classHigh))
	reader := openTestSpool(t, dir2, 0)
	held, err = reader.next()
	require.NoError(t, err)
	require.Equal(t, 1, held.records)
	assert.ErrorIs(t, s2.put(spoolPayload(3, size), 4, classLow), errSpoolFull)
	assert.Len(t, spoolNames(t, dir2), 2)
	assert.Zero(t, s2.counts().Evicted)
	reader.release(held)

	// Removing the low one would not make room for a low one twice its
	// size: it stays, and the new one is refused.
	assert.ErrorIs(t, s2.put(spoolPayload(4, 2*size+spoolHeaderLen), 8, classLow), errSpoolFull)
	assert.Len(t, spoolNames(t, dir2), 2)
	assert.Zero(t, s2.counts().Evicted)
}

// rewriteHeader changes a spool file's header with edit and, when fixCRC is
// set, writes the checksum that matches, so that only the edited field is
// wrong.
func rewriteHeader(t testing.TB, path string, fixCRC bool, edit func(h []byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	edit(b[:spoolHeaderLen])
	if fixCRC {
		crc := crc32.Update(crc32.Checksum(b[:28], castagnoli), castagnoli, b[spoolHeaderLen:])
		binary.LittleEndian.PutUint32(b[28:], crc)
	}
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// TestSpoolCorruptFiles: a file that fails any check is never returned as
// data: next reports it (errSpoolCorrupt, naming the reason), removes and
// counts it, and the payloads after it still come back.
func TestSpoolCorruptFiles(t *testing.T) {
	flip := func(off int) func(t testing.TB, path string) {
		return func(t testing.TB, path string) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[off] ^= 0x10
			require.NoError(t, os.WriteFile(path, b, 0o600))
		}
	}
	truncate := func(n int64) func(t testing.TB, path string) {
		return func(t testing.TB, path string) {
			require.NoError(t, os.Truncate(path, n))
		}
	}
	header := func(edit func(h []byte)) func(t testing.TB, path string) {
		return func(t testing.TB, path string) { rewriteHeader(t, path, true, edit) }
	}
	const size = 100
	for _, tt := range []struct {
		name   string
		mutate func(t testing.TB, path string)
		reason string
	}{
		{"empty", truncate(0), "truncated to 0 bytes"},
		{"torn header", truncate(20), "truncated to 20 bytes"},
		{"torn payload", truncate(spoolHeaderLen + size - 1), "torn"},
		{"appended bytes", func(t testing.TB, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.Write([]byte("more"))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, "the file holds"},
		{"flipped payload byte", flip(spoolHeaderLen + 50), "checksum mismatch"},
		{"flipped record count", flip(12), "checksum mismatch"},
		{"flipped checksum", flip(29), "checksum mismatch"},
		{"wrong magic", header(func(h []byte) { copy(h, "NOTSPOOL") }), "wrong magic"},
		{"unknown version", header(func(h []byte) { h[8] = 2 }), "unknown version 2"},
		{"unknown format", header(func(h []byte) { h[9] = 9 }), "format 9"},
		{"flags set", header(func(h []byte) { h[11] = 1 }), "flags 1"},
		{"huge length field", header(func(h []byte) { binary.LittleEndian.PutUint32(h[24:], 0xffffffff) }), "length field says 4294967295"},
		{"header and name disagree", header(func(h []byte) { binary.LittleEndian.PutUint32(h[12:], 99) }), "does not match the file name"},
		{"size and name disagree", func(t testing.TB, path string) {
			e, ok := parseSpoolName(filepath.Base(path))
			require.True(t, ok)
			token := strings.Split(strings.TrimSuffix(filepath.Base(path), spoolSuffix), "-")[4]
			e.size++
			require.NoError(t, os.Rename(path, filepath.Join(filepath.Dir(path), e.format(token))))
		}, "does not match the file name"},
		// Sparse: checked by its size before anything is read into memory.
		{"larger than any payload", truncate(spoolHeaderLen + maxSpoolPayload + 1), "more than any payload"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w := openTestSpool(t, dir, 1<<30)
			require.NoError(t, w.put(spoolPayload(1, size), 3, classMid))
			require.NoError(t, w.put(spoolPayload(2, size), 5, classMid))
			names := spoolNames(t, dir)
			require.Len(t, names, 2)
			tt.mutate(t, filepath.Join(dir, names[0]))
			names = spoolNames(t, dir) // a mutation may rename

			r := openTestSpool(t, dir, 1<<30)
			it, err := r.next()
			assert.Nil(t, it)
			require.ErrorIs(t, err, errSpoolCorrupt)
			assert.ErrorContains(t, err, tt.reason)
			assert.ErrorContains(t, err, names[0], "names the file")
			assert.Equal(t, spoolCounts{Corrupt: 1}, r.counts())
			assert.Equal(t, names[1:], spoolNames(t, dir), "removed")

			assert.Equal(t, []int{2}, seqs(drain(t, r)), "the next payload still comes back")
		})
	}
}

// TestSpoolIgnoresForeignFiles: files the spool did not name (another
// version's, a README, a directory, a symlink under a spool name) are
// neither read, nor removed, nor counted against the bound.
func TestSpoolIgnoresForeignFiles(t *testing.T) {
	dir := t.TempDir()
	valid := spoolEntry{created: 5, class: classMid, records: 1, size: 40}.format("0123456789abcdef")
	target := filepath.Join(t.TempDir(), "target")
	require.NoError(t, os.WriteFile(target, []byte("secret"), 0o600))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, valid)))
	foreign := []string{
		"README", "00000000000000000001-1-1-40-x.v2.otlp", "1-1-1-40-x.v1.otlp",
		"00000000000000000001-7-1-40-x.v1.otlp", "00000000000000000001-1-1-x.v1.otlp",
		"-0000000000000000001-1-1-40-x.v1.otlp", "00000000000000000001-1-01-40-x.v1.otlp",
		"00000000000000000001-1-1-040-x.v1.otlp", "00000000000000000001-1-1-31-x.v1.otlp",
	}
	for _, n := range foreign {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("not ours"), 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "00000000000000000002-1-1-40-y.v1.otlp"), 0o700))

	s := openTestSpool(t, dir, spoolHeaderLen+10)
	f, err := s.claim(valid)
	assert.Nil(t, f)
	assert.ErrorIs(t, err, syscall.ELOOP, "a symlink under a spool name is not followed")
	require.NoError(t, s.put(spoolPayload(1, 10), 1, classLow), "foreign files take no room")
	files, _, _, err := s.usage()
	require.NoError(t, err)
	assert.Equal(t, 1, files)
	assert.Equal(t, []int{1}, seqs(drain(t, s)))
	assert.Len(t, spoolNames(t, dir), len(foreign)+2, "all left alone")
	assert.Zero(t, s.counts().Corrupt)
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "secret", string(b))
}

// TestSpoolNameRoundTrip: parseSpoolName reads what format writes, and only
// that.
func TestSpoolNameRoundTrip(t *testing.T) {
	e := spoolEntry{created: 1767225600123456789, class: classHigh, records: 4294967295, size: 1 << 40}
	name := e.format("9f86d081884c7d65")
	assert.Equal(t, "01767225600123456789-2-4294967295-1099511627776-9f86d081884c7d65.v1.otlp", name)
	got, ok := parseSpoolName(name)
	require.True(t, ok)
	e.name = name
	assert.Equal(t, e, got)
	_, ok = parseSpoolName(strings.Replace(name, "-2-", "-3-", 1))
	assert.False(t, ok, "no class 3")
	e = spoolEntry{created: 0, class: classLow, records: 0, size: spoolHeaderLen}
	assert.Equal(t, "00000000000000000000-0-0-32-t.v1.otlp", e.format("t"))
}

// TestSpoolReapsTornTemps: the temp files of a handle that is gone (its
// owner file unlocked, or removed) are removed when a spool lists the
// directory, each counted as corrupt if it held data, and then its owner
// file; a live handle's temp file is left alone however often others list.
func TestSpoolReapsTornTemps(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	write(spoolOwnerPrefix+"dead1", "")
	write(spoolTempPrefix+"dead1-1", "half a payl")
	write(spoolTempPrefix+"dead1-2", "")     // died before writing
	write(spoolTempPrefix+"dead2-7", "torn") // its owner file is gone already
	live := openTestSpool(t, dir, 0)
	assert.Equal(t, spoolCounts{Corrupt: 2}, live.counts(), "the two torn ones count")
	assert.Equal(t, []string{spoolOwnerPrefix + live.token}, allNames(t, dir))

	live.mu.Lock()
	f, path, err := live.createTemp()
	live.mu.Unlock()
	require.NoError(t, err)
	require.NoError(t, live.write(f, []byte("being written")))
	other := openTestSpool(t, dir, 0)
	for range 3 {
		_, _, _, err = other.usage()
		require.NoError(t, err)
	}
	assert.Equal(t, []string{filepath.Base(path)}, spoolNames(t, dir), "a live writer's temp stays")
	assert.Zero(t, other.counts().Corrupt)

	// The writer's process dies: its descriptors close, its lock goes.
	require.NoError(t, f.Close())
	require.NoError(t, live.owner.Close())
	_, _, _, err = other.usage()
	require.NoError(t, err)
	assert.Equal(t, []string{spoolOwnerPrefix + other.token}, allNames(t, dir))
	assert.Equal(t, uint64(1), other.counts().Corrupt)

	// A listing that missed a live handle's owner file but shows its temp
	// file: the owner file is looked up before the temp file goes.
	other.mu.Lock()
	f, path, err = other.createTemp()
	other.mu.Unlock()
	require.NoError(t, err)
	defer f.Close()
	live2 := openTestSpool(t, dir, 0)
	live2.reapOrphans(map[string][]string{other.token: {filepath.Base(path)}})
	assert.FileExists(t, path)
}

// TestSpoolErrors: a path that is a file, a full disk and a read-only
// directory each give an error that wraps the cause and says what to do;
// a failed put leaves nothing behind, counts nothing, and the spool works
// again once the cause is gone.
func TestSpoolErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		_, err := openSpool(dir, 0)
		assert.ErrorIs(t, err, syscall.ENOTDIR, dir)
		assert.ErrorContains(t, err, "is not a directory; choose a directory")
	}
	_, err := openSpool("", 0)
	assert.ErrorContains(t, err, "spool directory is empty")

	dir := t.TempDir()
	s := openTestSpool(t, dir, 0)
	writes := 0
	s.write = func(f *os.File, b []byte) error {
		writes++
		if writes == 2 { // the header went out, the payload does not fit
			return &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
		}
		_, err := f.Write(b)
		return err
	}
	err = s.put(spoolPayload(1, 100), 1, classMid)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.ErrorContains(t, err, "is full; free space there or lower the spool's size bound")
	assert.Empty(t, spoolNames(t, dir), "no temp file left behind")

	s.create = func(path string) (*os.File, error) {
		return nil, &fs.PathError{Op: "open", Path: path, Err: syscall.EROFS}
	}
	err = s.put(spoolPayload(2, 100), 1, classMid)
	assert.ErrorIs(t, err, syscall.EROFS)
	assert.ErrorContains(t, err, "is not writable; make it writable by this user")
	assert.Zero(t, s.counts().Spooled)

	s.create = func(path string) (*os.File, error) {
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	s.write = func(f *os.File, b []byte) error { _, err := f.Write(b); return err }
	require.NoError(t, s.put(spoolPayload(3, 100), 1, classMid))
	assert.Equal(t, []int{3}, seqs(drain(t, s)))

	assert.ErrorContains(t, s.put(nil, 1, numClasses), "bad class")
	assert.ErrorContains(t, s.put(nil, -1, classLow), "record count")

	if os.Geteuid() == 0 {
		t.Log("root writes to read-only directories: the seam above stands in")
		return
	}
	ro := filepath.Join(t.TempDir(), "ro")
	require.NoError(t, os.Mkdir(ro, 0o500))
	_, err = openSpool(ro, 0)
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.ErrorContains(t, err, "is not writable")
}

// TestSpoolNoClaimAfterRemoval: a spool that opened a file just before
// another delivered and removed it must not claim it when its lock then
// succeeds: that would send the payload twice.
func TestSpoolNoClaimAfterRemoval(t *testing.T) {
	dir := t.TempDir()
	a, b := openTestSpool(t, dir, 0), openTestSpool(t, dir, 0)
	require.NoError(t, a.put(spoolPayload(1, 10), 1, classMid))
	path := filepath.Join(dir, spoolNames(t, dir)[0])
	f, err := os.Open(path) // b's open, before a's removal
	require.NoError(t, err)
	defer f.Close()

	it, err := a.next()
	require.NoError(t, err)
	require.NoError(t, a.remove(it))
	assert.False(t, b.lockOpened(path, f), "claimed a file already delivered")
}

// TestSpoolTwoSpoolsNoDoubleDelivery: two spools take payloads from one
// directory while a third writes into it: each payload is delivered exactly
// once.
func TestSpoolTwoSpoolsNoDoubleDelivery(t *testing.T) {
	dir := t.TempDir()
	w := openTestSpool(t, dir, 1<<30)
	readers := []*spool{openTestSpool(t, dir, 0), openTestSpool(t, dir, 0)}
	const n = 60
	var (
		mu        sync.Mutex
		delivered = map[int]int{}
		written   atomic.Bool
		wg        sync.WaitGroup
	)
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				done := written.Load() // before looking: a nil after it is final
				it, err := r.next()
				if !assert.NoError(t, err) {
					return
				}
				if it == nil {
					if done {
						return
					}
					runtime.Gosched()
					continue
				}
				mu.Lock()
				delivered[payloadSeq(it.req)]++
				mu.Unlock()
				assert.NoError(t, r.remove(it))
			}
		}()
	}
	for i := range n {
		require.NoError(t, w.put(spoolPayload(i, 10+i), 1, uint8(i%3)))
	}
	written.Store(true)
	wg.Wait()

	require.Len(t, delivered, n)
	for seq, c := range delivered {
		assert.Equal(t, 1, c, "payload %d delivered %d times", seq, c)
	}
	assert.Equal(t, uint64(n), readers[0].counts().Restored+readers[1].counts().Restored)
	assert.Empty(t, spoolNames(t, dir))
}

// The child processes of the subprocess tests: this test binary, run again
// with spoolChildEnv set to what it should do.
const (
	spoolChildEnv = "SLOGOTLP_TEST_SPOOL_CHILD"
	spoolDirEnv   = "SLOGOTLP_TEST_SPOOL_DIR"
	spoolSeqEnv   = "SLOGOTLP_TEST_SPOOL_SEQ"
)

func spoolChild(t *testing.T, mode, dir string, seq int) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpoolChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), spoolChildEnv+"="+mode, spoolDirEnv+"="+dir, spoolSeqEnv+"="+strconv.Itoa(seq))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stdin = nil
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// TestSpoolChild is the child of the subprocess tests:
//   - hold: claims the oldest payload, prints its sequence number and
//     waits to be killed;
//   - write: writes payloads numbered from the given one in a loop,
//     printing each number once put returned, until it is killed.
func TestSpoolChild(t *testing.T) {
	mode := os.Getenv(spoolChildEnv)
	if mode == "" {
		t.Skip("the child of the spool's subprocess tests")
	}
	s, err := openSpool(os.Getenv(spoolDirEnv), 1<<30)
	require.NoError(t, err)
	seq, err := strconv.Atoi(os.Getenv(spoolSeqEnv))
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second) // should the parent never kill it
	switch mode {
	case "hold":
		it, err := s.next()
		require.NoError(t, err)
		require.NotNil(t, it)
		fmt.Println("held", payloadSeq(it.req))
		for time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	case "write":
		fmt.Println("ready")
		for ; time.Now().Before(deadline); seq++ {
			require.NoError(t, s.put(killPayload(seq), seq%7+1, uint8(seq%3)))
			fmt.Println("ok", seq)
		}
	}
	t.Fatal("not killed")
}

// TestSpoolSubprocessHoldsClaim: a payload another process holds is not
// given out here; once that process dies (kill -9 releases its locks) it
// is.
func TestSpoolSubprocessHoldsClaim(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 0)
	for i := range 3 {
		require.NoError(t, s.put(spoolPayload(i, 10), 1, classMid))
	}
	cmd, out := spoolChild(t, "hold", dir, 0)
	require.True(t, out.Scan(), "the child claimed nothing")
	require.Equal(t, "held 0", out.Text())

	assert.Equal(t, []int{1, 2}, seqs(drain(t, s)), "not the held one")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	assert.Equal(t, []int{0}, seqs(drain(t, s)), "released by the child's death")
}

// killPayload is the payload numbered seq in the kill test: up to 512 KiB,
// so a kill often lands inside a write.
func killPayload(seq int) []byte { return spoolPayload(seq, (seq*7919)%(512<<10)) }

// TestSpoolKill9: a writer killed with SIGKILL at random points, over and
// over, on one directory: the next open never fails, no file ever comes
// back corrupt, every payload whose put returned is there intact, and at
// most one more (the one being written) is there too; the torn temp file
// of that one, if any, is reaped and counted.
func TestSpoolKill9(t *testing.T) {
	iterations := 50
	if testing.Short() {
		iterations = 10
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	seq := 0
	for iter := range iterations {
		cmd, out := spoolChild(t, "write", dir, seq)
		require.True(t, out.Scan(), "the child did not start")
		require.Equal(t, "ready", out.Text())
		var confirmed []int
		for range rng.IntN(4) {
			require.True(t, out.Scan())
			n, err := strconv.Atoi(strings.TrimPrefix(out.Text(), "ok "))
			require.NoError(t, err)
			confirmed = append(confirmed, n)
		}
		// Somewhere in the next put, or the one after.
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Kill())
		for out.Scan() { // confirmed before the kill, read after it
			n, err := strconv.Atoi(strings.TrimPrefix(out.Text(), "ok "))
			require.NoError(t, err)
			confirmed = append(confirmed, n)
		}
		_ = cmd.Wait()

		s, err := openSpool(dir, 1<<30)
		require.NoError(t, err, "iteration %d", iter)
		var got []int
		for {
			it, err := s.next()
			require.NoError(t, err, "iteration %d: a corrupt file under a final name", iter)
			if it == nil {
				break
			}
			n := payloadSeq(it.req)
			require.Equal(t, killPayload(n), it.req, "iteration %d", iter)
			require.Equal(t, n%7+1, it.records)
			got = append(got, n)
			require.NoError(t, s.remove(it))
		}
		assert.LessOrEqual(t, s.counts().Corrupt, uint64(1), "at most the payload being written is torn")
		require.NoError(t, s.close())
		assert.Empty(t, spoolNames(t, dir), "iteration %d: every file delivered or reaped", iter)

		next := seq + len(confirmed) // the payload being written at the kill
		require.Subset(t, append(slices.Clone(confirmed), next), got, "iteration %d: only written payloads come back", iter)
		require.Subset(t, got, confirmed, "iteration %d: a payload whose put returned is lost", iter)
		assert.True(t, slices.IsSorted(got), "oldest first")
		seq = next + 1
	}
}

// benchRequest is a protobuf request of 256 records of a typical size, the
// payload the batcher would spool for one batch.
func benchRequest(b *testing.B) ([]byte, int) {
	const n = 256
	pb, _ := goldenPayloads(b, []slog.Attr{slog.String("service.name", "bench")}, func(h *Handler) []goldenRecord {
		var out []goldenRecord
		for i := range n {
			r := slog.NewRecord(goldenTime, slog.LevelInfo, "request handled", 0)
			r.AddAttrs(slog.String("method", "GET"), slog.String("path", "/api/v1/items/"+strconv.Itoa(i)),
				slog.Int("status", 200), slog.Duration("elapsed", 1234567*time.Nanosecond), slog.String("user", "u-42"))
			out = append(out, goldenRecord{h, context.Background(), r})
		}
		return out
	})
	return pb, n
}

// BenchmarkSpoolPut is the cost of spooling one batch, per record: the time
// (the two fsyncs dominate) and the bytes on disk, with the spool below its
// bound and full (each put then also removes a file to make room).
func BenchmarkSpoolPut(b *testing.B) {
	req, records := benchRequest(b)
	for _, bc := range []struct {
		name     string
		maxBytes int64
	}{{"below_bound", 1 << 40}, {"full", 4 << 20}} {
		b.Run(bc.name, func(b *testing.B) {
			s := openTestSpool(b, b.TempDir(), bc.maxBytes)
			if bc.name == "full" {
				for range bc.maxBytes/int64(spoolHeaderLen+len(req)) + 1 {
					require.NoError(b, s.put(req, records, classMid))
				}
			}
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.put(req, records, classMid); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
			b.ReportMetric(float64(spoolHeaderLen+len(req))/float64(records), "disk-B/record")
		})
	}
}

// BenchmarkSpoolRestore is the cost of taking a batch back: claim, read,
// verify, remove.
func BenchmarkSpoolRestore(b *testing.B) {
	req, records := benchRequest(b)
	s := openTestSpool(b, b.TempDir(), 0)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		require.NoError(b, s.put(req, records, classMid))
		b.StartTimer()
		it, err := s.next()
		if err != nil || it == nil {
			b.Fatal(err)
		}
		if err := s.remove(it); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}
