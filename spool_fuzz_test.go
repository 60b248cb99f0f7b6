//go:build unix && !aix && !solaris

package slogotlp

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validSpoolFile is a reference check, written apart from spool.read: it
// returns the payload of b, the content of a file named for e, when b is a
// well-formed spool file whose checksum matches.
func validSpoolFile(b []byte, e spoolEntry) ([]byte, bool) {
	if len(b) < 32 || string(b[:8]) != "SLOGOTLP" || b[8] != 1 || b[9] != 1 || b[11] != 0 ||
		int(binary.LittleEndian.Uint32(b[24:])) != len(b)-32 {
		return nil, false
	}
	sum := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	sum.Write(b[:28])
	sum.Write(b[32:])
	if sum.Sum32() != binary.LittleEndian.Uint32(b[28:]) {
		return nil, false
	}
	if b[10] != e.class || binary.LittleEndian.Uint32(b[12:]) != e.records ||
		int64(binary.LittleEndian.Uint64(b[16:])) != e.created || int64(len(b)) != e.size {
		return nil, false
	}
	return b[32:], true
}

// FuzzSpoolFile puts arbitrary bytes in a spool file: opening the spool and
// taking the next payload never panics, and returns the file as data only
// when it is well formed and its checksum matches; otherwise it reports the
// file corrupt, removes and counts it. The file is named from its own
// header where it can be, so that valid files are reachable.
func FuzzSpoolFile(f *testing.F) {
	dir := f.TempDir()
	s, err := openSpool(dir, 0)
	require.NoError(f, err)
	require.NoError(f, s.put(spoolPayload(1, 64), 3, classMid))
	require.NoError(f, s.put(nil, 0, classHigh))
	require.NoError(f, s.close())
	for _, n := range spoolNames(f, dir) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(f, err)
		f.Add(b)
		f.Add(b[:len(b)-1])
		flipped := append([]byte(nil), b...)
		flipped[len(b)-1] ^= 1
		f.Add(flipped)
		huge := append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(huge[24:], 0xfffffff0)
		f.Add(huge)
		f.Add(append([]byte("NOTSPOOL"), b[8:]...))
	}
	f.Add([]byte{})
	f.Add([]byte("SLOGOTLP"))

	f.Fuzz(func(t *testing.T, content []byte) {
		e := spoolEntry{created: 1, class: classMid, records: 3, size: spoolHeaderLen + 64}
		if len(content) >= 32 && content[10] < numClasses && int64(binary.LittleEndian.Uint64(content[16:])) >= 0 {
			e = spoolEntry{
				created: int64(binary.LittleEndian.Uint64(content[16:])),
				class:   content[10],
				records: binary.LittleEndian.Uint32(content[12:]),
				size:    int64(len(content)),
			}
		}
		dir := t.TempDir()
		name := e.format("fuzz")
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), content, 0o600))
		s, err := openSpool(dir, 0)
		require.NoError(t, err)
		defer func() { _ = s.close() }()

		it, err := s.next()
		if want, ok := validSpoolFile(content, e); ok {
			require.NoError(t, err)
			require.NotNil(t, it)
			assert.Equal(t, want, it.req)
			assert.Equal(t, int(e.records), it.records)
			require.NoError(t, s.remove(it))
		} else {
			assert.Nil(t, it, "returned as data")
			assert.ErrorIs(t, err, errSpoolCorrupt)
			assert.Equal(t, uint64(1), s.counts().Corrupt)
		}
		assert.Empty(t, spoolNames(t, dir))
		it, err = s.next()
		assert.NoError(t, err)
		assert.Nil(t, it)
	})
}

// FuzzSpoolName: any name parses without a panic, and a name that parses is
// one format writes.
func FuzzSpoolName(f *testing.F) {
	f.Add(spoolEntry{created: 5, class: 2, records: 7, size: 40}.format("0123456789abcdef"))
	f.Add("00000000000000000001-1-1-40-x.v1.otlp")
	f.Add("-1-1-1-x.v1.otlp")
	f.Add(".v1.otlp")
	f.Fuzz(func(t *testing.T, name string) {
		e, ok := parseSpoolName(name)
		if !ok {
			return
		}
		assert.Equal(t, name, e.name)
		assert.Less(t, e.class, uint8(numClasses))
		assert.GreaterOrEqual(t, e.created, int64(0))
		token := strings.SplitN(strings.TrimSuffix(name, spoolSuffix), "-", 5)[4]
		assert.Equal(t, name, e.format(token))
	})
}
