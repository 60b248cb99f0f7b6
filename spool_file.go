package slogotlp

// This file holds the spool's on-disk format: the files, their names and
// checks, the listing that reaps what dead writers left, and the locks that
// let several processes share one directory (spool.go has the API).
//
// # Files
//
// Every payload is stored in one canonical form, a protobuf
// ExportLogsServiceRequest as framing.buildProto writes it, so it can be
// sent as is to a protobuf exporter or transcoded (appendRequestJSON) for a
// JSON one. One payload is one file:
//
//	offset size  field
//	0      8     magic "SLOGOTLP"
//	8      1     version, 1
//	9      1     payload format, 1: protobuf ExportLogsServiceRequest
//	10     1     severity class of the records (0 TRACE/DEBUG, 1 INFO/WARN,
//	             2 ERROR/FATAL; for a mixed payload its highest)
//	11     1     reserved, 0
//	12     4     record count (uint32, little endian, as all below)
//	16     8     creation time, Unix nanoseconds (int64)
//	24     4     payload length in bytes (uint32)
//	28     4     CRC-32C (Castagnoli) of bytes 0..28 followed by the payload
//	32     n     the payload
//
// The name repeats what listing and eviction need, so the directory is
// ordered and bounded from one listing, without a call per file:
//
//	<creation time, 20 digits>-<class>-<records>-<file size>-<writer token>.v1.otlp
//
// Names sort by creation time (the writer's wall clock; one writer's times
// strictly increase, and its token, 64 random bits, tells it from every
// other writer), so a directory listing is oldest first. A file is
// returned as data only when its size, magic, version, format, length, CRC
// and the name's fields all agree (the name is not under the checksum, but
// one that disagrees with a valid header marks the file corrupt, so the
// names of files that are read can be trusted); anything else is corrupt:
// removed, counted, and reported as an error wrapping errSpoolCorrupt,
// never returned. Other names (another version's files, a README) are ignored and
// not counted against the bound.
//
// # Crash safety
//
// put writes a temp file (".tmp-<token>-<seq>", mode 0600, created with
// O_EXCL), fsyncs it, renames it to its final name and fsyncs the
// directory. A rename is atomic, so a file under a final name is always
// complete: a kill -9 at any moment leaves either no file or a whole one
// for the payload being written, and loses at most that one payload (put
// had not returned, so the caller still counted it as its own). A power cut
// loses no more, provided the file system honours fsync. The temp files a
// dead writer left are removed by the next scan, each counted as corrupt
// when it held data.
//
// # Several processes on one directory
//
// Each spool handle holds, for its whole life, an exclusive flock on its
// owner file ".owner-<token>". flock locks belong to the open file
// description, so they separate two handles in one process as well as two
// processes, and the kernel drops a dead process's locks. A scan that can
// lock another handle's owner file knows that handle is gone: it removes
// the handle's temp files, then its owner file. A temp file is judged only
// by its owner, never by a lock of its own: a lock taken after creating a
// file leaves an instant in which a scan would take a live writer's file
// for a dead one's.
//
// A payload file is claimed with an exclusive flock before it is read for
// sending or removed to make room. The claimant checks, after locking,
// that the name still refers to the file it opened, and whoever removes a
// payload file removes it while holding its claim. So a file is given out
// to one claimant at a time, and a file already removed (delivered) cannot
// be claimed again through a descriptor opened before the removal: no
// payload is sent twice by two handles. A claim ends with remove
// (delivered: the file goes) or release (not delivered: the file stays for
// a later next); a process that dies releases its claims with its
// descriptors. Every handle sees the whole directory, so the size bound and
// the oldest-first order hold across processes. Processes that share a
// directory must export to the same destination, since a payload goes to
// whichever of them claims it: spool_dir.go gives each destination a
// directory of its own under the root the options name.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	spoolMagic        = "SLOGOTLP"
	spoolVersion      = 1
	spoolFormatProto  = 1
	spoolHeaderLen    = 32
	spoolSuffix       = ".v1.otlp"
	spoolTempPrefix   = ".tmp-"
	spoolOwnerPrefix  = ".owner-"
	defaultSpoolBytes = 64 << 20
	// maxSpoolPayload is far above any receiver's request limit (the
	// Collector's 20 MiB, Logfire's 100 MB): no payload put writes is
	// larger, so a longer file is corrupt and is never read into memory.
	maxSpoolPayload = 256 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errSpoolCorrupt: a file failed its checks; it was removed and counted.
var errSpoolCorrupt = errors.New("slogotlp: spool: corrupt file removed")

// header returns the header of e's file, whose payload is req.
func (e spoolEntry) header(req []byte) [spoolHeaderLen]byte {
	var hdr [spoolHeaderLen]byte
	copy(hdr[:], spoolMagic)
	hdr[8], hdr[9], hdr[10] = spoolVersion, spoolFormatProto, e.class
	binary.LittleEndian.PutUint32(hdr[12:], e.records)
	binary.LittleEndian.PutUint64(hdr[16:], uint64(e.created))
	binary.LittleEndian.PutUint32(hdr[24:], uint32(len(req)))
	crc := crc32.Update(crc32.Checksum(hdr[:28], castagnoli), castagnoli, req)
	binary.LittleEndian.PutUint32(hdr[28:], crc)
	return hdr
}

// read reads and verifies the claimed file f. A non-empty reason says why
// the file is corrupt; err is an I/O error that says nothing about the
// file's content.
func (s *spool) read(f *os.File, e spoolEntry) (it *spoolItem, reason string, err error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	size := fi.Size()
	switch {
	case size < spoolHeaderLen:
		return nil, fmt.Sprintf("truncated to %d bytes, under the %d-byte header", size, spoolHeaderLen), nil
	case size > spoolHeaderLen+maxSpoolPayload:
		return nil, fmt.Sprintf("%d bytes, more than any payload", size), nil
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, "shorter than its size", nil
		}
		return nil, "", err
	}
	h := buf[:spoolHeaderLen]
	length := binary.LittleEndian.Uint32(h[24:])
	switch {
	case string(h[:8]) != spoolMagic:
		return nil, "not a spool file (wrong magic)", nil
	case h[8] != spoolVersion || h[9] != spoolFormatProto || h[11] != 0:
		return nil, fmt.Sprintf("unknown version %d, format %d or flags %d", h[8], h[9], h[11]), nil
	case int64(length) != size-spoolHeaderLen:
		return nil, fmt.Sprintf("length field says %d bytes, the file holds %d (torn)", length, size-spoolHeaderLen), nil
	}
	crc := crc32.Update(crc32.Checksum(h[:28], castagnoli), castagnoli, buf[spoolHeaderLen:])
	if crc != binary.LittleEndian.Uint32(h[28:]) {
		return nil, "checksum mismatch", nil
	}
	records := binary.LittleEndian.Uint32(h[12:])
	created := int64(binary.LittleEndian.Uint64(h[16:]))
	if h[10] != e.class || records != e.records || created != e.created || size != e.size {
		return nil, "header does not match the file name", nil
	}
	return &spoolItem{
		name: e.name, f: f, req: buf[spoolHeaderLen:],
		records: int(records), class: h[10], created: time.Unix(0, created),
	}, "", nil
}

// scan lists the spool files, oldest first, with their sizes, and removes
// what handles that are gone left behind. s.mu must be held.
func (s *spool) scan() ([]spoolEntry, error) {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, spoolError(s.dir, "listing the directory", err)
	}
	// ReadDir sorts by name, and a name starts with its fixed-width
	// creation time: the list is oldest first.
	es := make([]spoolEntry, 0, len(des))
	var owners []string
	temps := map[string][]string{} // by token
	for _, de := range des {
		name := de.Name()
		if token, ok := strings.CutPrefix(name, spoolOwnerPrefix); ok {
			owners = append(owners, token)
			continue
		}
		if rest, ok := strings.CutPrefix(name, spoolTempPrefix); ok {
			if i := strings.LastIndexByte(rest, '-'); i >= 0 {
				temps[rest[:i]] = append(temps[rest[:i]], name)
			}
			continue
		}
		if e, ok := parseSpoolName(name); ok && de.Type().IsRegular() {
			es = append(es, e)
		}
	}
	for _, token := range owners {
		if token != s.token {
			s.reapOwner(token, temps[token])
		}
		delete(temps, token)
	}
	s.reapOrphans(temps)
	return es, nil
}

// reapOrphans removes the temp files, by token, whose owner file was not
// listed and does not exist. A handle writes temp files only while its
// owner file exists, and an owner file is removed only by a holder of its
// lock, so if it is gone its handle is too. It must be looked up again: a
// listing may miss a file created while it ran, such as the owner file of
// a handle opened meanwhile, yet show that handle's first temp file.
func (s *spool) reapOrphans(temps map[string][]string) {
	for token, names := range temps {
		if _, err := os.Lstat(filepath.Join(s.dir, spoolOwnerPrefix+token)); errors.Is(err, fs.ErrNotExist) {
			s.reapTemps(names)
		}
	}
}

// reapOwner removes the temp files and then the owner file of the handle
// token, if that handle is gone (its owner file can be locked).
func (s *spool) reapOwner(token string, temps []string) {
	path := filepath.Join(s.dir, spoolOwnerPrefix+token)
	f, err := os.OpenFile(path, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	if !s.lockOpened(path, f) {
		return // alive, or reaped by someone else
	}
	s.reapTemps(temps)
	_ = os.Remove(path)
}

// reapTemps removes temp files of a handle that is gone, counting each that
// held data as corrupt: a payload torn by a crash.
func (s *spool) reapTemps(names []string) {
	for _, name := range names {
		path := filepath.Join(s.dir, name)
		fi, err := os.Lstat(path)
		if err == nil && os.Remove(path) == nil && fi.Size() > 0 {
			s.corrupt.Add(1)
		}
	}
}

// claim opens the file name and locks it. It returns nil, nil when the file
// is gone or someone else holds it.
func (s *spool) claim(name string) (*os.File, error) {
	path := filepath.Join(s.dir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|openNoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, spoolError(s.dir, "opening a file", err)
	}
	if s.lockOpened(path, f) {
		return f, nil
	}
	_ = f.Close()
	return nil, nil
}

// lockOpened locks f, opened from path, and reports whether we now hold
// the file that path names. The check after the lock matters: another
// claimant may have removed the file (delivered it) between our open and
// our lock, and an unlinked file must not be claimed and sent again.
func (s *spool) lockOpened(path string, f *os.File) bool {
	ok, err := lockFile(f)
	return err == nil && ok && sameFile(path, f)
}

// sameFile reports whether path still names the open file f.
func sameFile(path string, f *os.File) bool {
	pfi, err := os.Lstat(path)
	if err != nil {
		return false
	}
	ffi, err := f.Stat()
	return err == nil && os.SameFile(pfi, ffi)
}

// format returns e's file name for a writer's token. One writer's creation
// times strictly increase, so its names never repeat.
func (e spoolEntry) format(token string) string {
	var b [96]byte
	return string(e.appendName(b[:0], token))
}

func (e spoolEntry) appendName(b []byte, token string) []byte {
	var digits [20]byte // the largest int64 has 19
	d := strconv.AppendInt(digits[:0], e.created, 10)
	b = append(b, "00000000000000000000"[len(d):]...) // fixed width sorts by time
	b = append(b, d...)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(e.class), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(e.records), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, e.size, 10)
	b = append(b, '-')
	b = append(b, token...)
	return append(b, spoolSuffix...)
}

// parseSpoolName parses a spool file's name. Only the exact form format
// writes is accepted.
func parseSpoolName(name string) (spoolEntry, bool) {
	rest, ok := strings.CutSuffix(name, spoolSuffix)
	if !ok {
		return spoolEntry{}, false
	}
	var parts [5]string
	for i := range 4 {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, "-"); !ok {
			return spoolEntry{}, false
		}
	}
	parts[4] = rest
	created, err1 := strconv.ParseInt(parts[0], 10, 64)
	class, err2 := strconv.ParseUint(parts[1], 10, 8)
	records, err3 := strconv.ParseUint(parts[2], 10, 32)
	size, err4 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || created < 0 || class >= numClasses || size < spoolHeaderLen {
		return spoolEntry{}, false
	}
	e := spoolEntry{name: name, created: created, class: uint8(class), records: uint32(records), size: size}
	var b [96]byte
	if string(e.appendName(b[:0], parts[4])) != name {
		return spoolEntry{}, false // not the one form format writes
	}
	return e, true
}

// spoolError wraps err from op on the spool directory dir in a message that
// says what to do about it.
func spoolError(dir, op string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, errQuota):
		return fmt.Errorf("slogotlp: spool: %s: the disk holding %s is full; free space there or lower the spool's size bound: %w", op, dir, err)
	case errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("slogotlp: spool: %s: directory %s is not writable; make it writable by this user, or choose another spool directory: %w", op, dir, err)
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("slogotlp: spool: %s: %s is not a directory; choose a directory for the spool: %w", op, dir, err)
	}
	return fmt.Errorf("slogotlp: spool: %s in %s: %w", op, dir, err)
}
