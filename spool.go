package slogotlp

// This file holds the disk spool's storage layer: a directory of complete
// payloads that the receiver could not take yet, kept across restarts and
// given back oldest first. The batcher decides what goes to disk and when
// (spool_send.go) and sends it back (spool_restore.go); spool_dir.go picks
// each destination's directory; this layer only stores, bounds, lists,
// verifies and removes.
//
// The on-disk format, crash safety and the sharing of one directory by
// several processes are described in spool_file.go.
//
// # Delivery
//
// A payload leaves the directory only through remove, which the caller
// calls after the receiver answered 2xx: delivery is at-least-once. A crash
// between the answer and the removal sends the payload again on the next
// start; nothing is lost.
//
// # Bound
//
// The sizes of the spool's files (header included) stay within maxBytes,
// default 64 MiB. To make room put removes, among files of the new
// payload's class or lower, the lowest class first and the oldest first
// within a class, the queue's overflow order; files claimed for sending are
// skipped. When the files of lower or equal class cannot make room, the new
// payload is refused with errSpoolFull and nothing is removed (when it is
// the skipped files that would have made the difference, some may have gone
// first). Each put lists the directory, so the bound holds across handles,
// up to the payloads of handles writing at the same moment.
//
// # Counting
//
// counts reports records spooled (stored by put), restored (in files
// removed by remove; the batcher tells delivered from refused and expired
// ones), evicted (in files removed to make room) and the
// number of corrupt files removed (their record counts are not to be
// trusted). A put that returns an error stored nothing: its records are
// still the caller's to count.
//
// # Platforms
//
// The spool needs flock: it works on Linux, macOS, the BSDs, Android and
// iOS (spool_unix.go). Elsewhere (js/wasm, wasip1, Windows, AIX, Solaris)
// openSpool returns errSpoolUnsupported.

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// errSpoolFull: the payload does not fit, and the files that could
	// make room for it (lower or equal class) are not enough.
	errSpoolFull = errors.New("slogotlp: spool full: only records of a higher severity, or being sent, could make room")
	// errSpoolClosed: the spool was closed.
	errSpoolClosed = errors.New("slogotlp: spool is closed")
)

// spoolCounts is what the spool counts, for Stats.
type spoolCounts struct {
	Spooled  uint64 // records stored by put
	Restored uint64 // records in files removed after delivery
	Evicted  uint64 // records in files removed to make room
	Corrupt  uint64 // files found corrupt or torn, and removed
}

// spool is one process's handle on a spool directory. Its methods are safe
// for concurrent use.
type spool struct {
	dir      string
	maxBytes int64
	token    string   // names this handle's files apart from any other writer's
	owner    *os.File // its owner file, locked while the handle is open

	mu      sync.Mutex
	seq     uint64
	last    int64        // newest creation time written, for strict order
	pending []spoolEntry // the rest of the last listing next made, oldest first
	claimed map[*spoolItem]struct{}
	closed  bool

	spooled, restored, evicted, corrupt atomic.Uint64

	// Test seams: how put creates its temp file and writes to it, and the
	// clock that names files.
	create func(path string) (*os.File, error)
	write  func(f *os.File, b []byte) error
	now    func() time.Time
}

// spoolEntry is one spool file as its name describes it.
type spoolEntry struct {
	name    string
	created int64
	class   uint8
	records uint32
	size    int64 // of the whole file, header included
}

// spoolItem is a payload claimed by next: the caller sends it and then
// either removes it (delivered) or releases it (kept for later).
type spoolItem struct {
	name    string
	f       *os.File // open and locked while claimed
	req     []byte   // the ExportLogsServiceRequest
	records int
	class   uint8
	created time.Time
}

// openSpool opens the spool in dir, creating the directory (mode 0700) if
// missing, with a bound of maxBytes (<= 0: 64 MiB). The directory must be
// owned by this user and not writable by others, since what is in it is
// sent with this program's credentials. It removes temp files of dead
// writers.
func openSpool(dir string, maxBytes int64) (*spool, error) {
	if !spoolSupported {
		return nil, errSpoolUnsupported
	}
	if dir == "" {
		return nil, errors.New("slogotlp: spool directory is empty; set it to a directory path")
	}
	if maxBytes <= 0 {
		maxBytes = defaultSpoolBytes
	}
	if err := makeSpoolDir(dir); err != nil {
		return nil, err
	}
	s := &spool{
		dir:      dir,
		maxBytes: maxBytes,
		claimed:  map[*spoolItem]struct{}{},
		create: func(path string) (*os.File, error) {
			return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|openNoFollow, 0o600)
		},
		write: func(f *os.File, b []byte) error {
			_, err := f.Write(b)
			return err
		},
		now: time.Now,
	}
	// Creating the owner file also finds out now, not at the first outage,
	// whether files can be created and locked here.
	if err := s.own(); err != nil {
		return nil, err
	}
	if _, err := s.scan(); err != nil {
		_ = s.close()
		return nil, err
	}
	return s, nil
}

// makeSpoolDir creates dir (mode 0700) if missing, and refuses it unless
// dirSafe accepts it.
func makeSpoolDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return spoolError(dir, "creating the directory", err)
	}
	fi, err := os.Stat(dir) // a directory: MkdirAll said so
	if err != nil {
		return spoolError(dir, "opening the directory", err)
	}
	return dirSafe(dir, fi)
}

// own creates and locks the handle's owner file under a fresh token. A scan
// elsewhere may lock the new file first, in the instant before our lock,
// take it for a dead handle's and remove it; then we start again with
// another token.
func (s *spool) own() error {
	for range 10 {
		s.token = fmt.Sprintf("%016x", rand.Uint64())
		path := filepath.Join(s.dir, spoolOwnerPrefix+s.token)
		f, err := s.create(path)
		if err != nil {
			return spoolError(s.dir, "creating a file", err)
		}
		ok, err := lockFile(f)
		if err != nil {
			_ = os.Remove(path)
			_ = f.Close()
			return spoolError(s.dir, "locking a file (the file system must support flock)", err)
		}
		if ok && sameFile(path, f) {
			s.owner = f
			return nil
		}
		_ = f.Close()
	}
	return fmt.Errorf("slogotlp: spool: could not create an owner file in %s", s.dir)
}

// put stores req, an ExportLogsServiceRequest holding records records of
// severity class class, making room as the bound requires. When it returns
// an error nothing was stored (errSpoolFull: no room; anything else: the
// disk said no, see the message). It waits for two fsyncs and lists the
// directory: call it from the export goroutine, never from Handle.
func (s *spool) put(req []byte, records int, class uint8) error {
	if class >= numClasses || records < 0 || uint64(records) > math.MaxUint32 {
		return fmt.Errorf("slogotlp: spool: bad class %d or record count %d", class, records)
	}
	size := int64(spoolHeaderLen + len(req))
	if len(req) > maxSpoolPayload || size > s.maxBytes {
		return fmt.Errorf("%w (a payload of %d bytes, over the whole bound of %d)", errSpoolFull, len(req), s.maxBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errSpoolClosed
	}
	if err := s.makeRoom(size, class); err != nil {
		return err
	}

	// Strictly after the last one, whatever the clock does: a coarse clock
	// or one set back must not reorder, or reuse, names.
	created := max(s.now().UnixNano(), s.last+1, 0)
	e := spoolEntry{created: created, class: class, records: uint32(records), size: size}
	e.name = e.format(s.token)
	hdr := e.header(req)

	f, tmp, err := s.createTemp()
	if err != nil {
		return err
	}
	err = s.write(f, hdr[:])
	if err == nil {
		err = s.write(f, req)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, e.name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		_ = f.Close()
		return spoolError(s.dir, "writing a payload", err)
	}
	// The file is complete and visible; the directory's fsync only makes
	// the rename survive a power cut, and some file systems refuse it.
	_ = syncDir(s.dir)
	_ = f.Close()
	s.last = created
	s.spooled.Add(uint64(records))
	return nil
}

// createTemp creates a new temp file. No scan removes it while the handle
// owns its token.
func (s *spool) createTemp() (*os.File, string, error) {
	s.seq++
	path := filepath.Join(s.dir, spoolTempPrefix+s.token+"-"+strconv.FormatUint(s.seq, 10))
	f, err := s.create(path)
	if err != nil {
		return nil, "", spoolError(s.dir, "creating a file", err)
	}
	return f, path, nil
}

// makeRoom removes files until one of size bytes and class fits the bound.
func (s *spool) makeRoom(size int64, class uint8) error {
	es, err := s.scan()
	if err != nil {
		return err
	}
	over := size - s.maxBytes
	for _, e := range es {
		over += e.size
	}
	if over <= 0 {
		return nil
	}
	// Lowest class first; the listing is oldest first and the sort is
	// stable, so within a class the oldest goes first.
	slices.SortStableFunc(es, func(a, b spoolEntry) int { return cmp.Compare(a.class, b.class) })
	var room int64
	for _, e := range es {
		if e.class <= class {
			room += e.size
		}
	}
	if room < over {
		return errSpoolFull
	}
	for _, e := range es {
		if over <= 0 || e.class > class {
			break
		}
		f, err := s.claim(e.name)
		if err != nil {
			return err
		}
		if f == nil {
			continue // being sent by someone, or gone
		}
		err = os.Remove(filepath.Join(s.dir, e.name))
		_ = f.Close()
		if err != nil {
			return spoolError(s.dir, "removing a file to make room", err)
		}
		s.evicted.Add(uint64(e.records))
		over -= e.size
	}
	if over > 0 {
		return errSpoolFull
	}
	return nil
}

// next claims the oldest payload that nobody else holds, and returns it
// verified; it returns nil, nil when there is none. A corrupt file is
// removed and counted, and returned as an error wrapping errSpoolCorrupt;
// call next again for the payloads after it. A payload released earlier
// comes back only after the others, when next lists the directory anew.
func (s *spool) next() (*spoolItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errSpoolClosed
	}
	listed := false
	for {
		if len(s.pending) == 0 {
			if listed {
				return nil, nil
			}
			es, err := s.scan()
			if err != nil {
				return nil, err
			}
			s.pending, listed = es, true
			continue
		}
		e := s.pending[0]
		s.pending = s.pending[1:]
		f, err := s.claim(e.name)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		it, reason, err := s.read(f, e)
		if reason != "" {
			_ = os.Remove(filepath.Join(s.dir, e.name))
			_ = f.Close()
			s.corrupt.Add(1)
			return nil, fmt.Errorf("%w: %s: %s", errSpoolCorrupt, e.name, reason)
		}
		if err != nil {
			_ = f.Close()
			return nil, spoolError(s.dir, "reading a payload", err)
		}
		s.claimed[it] = struct{}{}
		return it, nil
	}
}

// remove settles a claimed payload as done with: delivered, or refused or
// expired for good; its file goes. An error means the file stays and will
// be sent again (at-least-once); its records count as restored either way.
func (s *spool) remove(it *spoolItem) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.claimed[it]; !ok {
		return errors.New("slogotlp: spool: payload already removed or released")
	}
	delete(s.claimed, it)
	err := os.Remove(filepath.Join(s.dir, it.name))
	_ = it.f.Close()
	s.restored.Add(uint64(it.records))
	if err != nil {
		return spoolError(s.dir, "removing a delivered payload (it will be sent again)", err)
	}
	return nil
}

// release settles a claimed payload as not delivered: it stays on disk, for
// a later next or another process.
func (s *spool) release(it *spoolItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.claimed[it]; ok {
		delete(s.claimed, it)
		_ = it.f.Close()
	}
}

// close releases every claim and gives up the handle's owner file; later
// calls fail with errSpoolClosed. It is safe to call more than once.
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	for it := range s.claimed {
		_ = it.f.Close()
	}
	clear(s.claimed)
	s.closed, s.pending = true, nil
	// Removed while locked, so no scan takes it for a dead handle's first.
	_ = os.Remove(filepath.Join(s.dir, spoolOwnerPrefix+s.token))
	return s.owner.Close()
}

// counts returns the spool's counters.
func (s *spool) counts() spoolCounts {
	return spoolCounts{
		Spooled:  s.spooled.Load(),
		Restored: s.restored.Load(),
		Evicted:  s.evicted.Load(),
		Corrupt:  s.corrupt.Load(),
	}
}

// usage lists the directory and returns how many spool files it holds, the
// records their names count, and their bytes.
func (s *spool) usage() (files int, records uint64, bytes int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	es, err := s.scan()
	for _, e := range es {
		records += uint64(e.records)
		bytes += e.size
	}
	return len(es), records, bytes, err
}
