package slogotlp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// This file decides where each destination's spool lives: one
// sub-directory of HandlerOptions.SpoolDir per destination, named by a keyed
// hash of what tells its receiver and credentials apart, so that programs
// sending to different receivers, or with different tokens, can share one
// root without sending each other's records.
//
// The hash is an HMAC-SHA-256, cut to 128 bits, keyed by 32 random bytes
// kept in the root (spoolKeyName, mode 0600) and made by the first program
// that used it. A name derived from a credential by a plain hash would let
// anyone who sees the name test guesses of the credential offline; with the
// key, a name says nothing to someone who cannot read the root, and the
// root holds the spooled records anyway. Nothing of the path goes into a
// record, and errors passed to OnError show it as <SpoolDir>.

// spoolKeyName is the root's key file.
const spoolKeyName = ".slogotlp-key"

// spoolKeyLen is the key's length in bytes.
const spoolKeyLen = 32

// spoolRootLabel stands for the spool's root directory in errors.
const spoolRootLabel = "<SpoolDir>"

// openDestSpool opens the spool of the destination whose identity is id
// under root, bounded by maxBytes. It returns the root made absolute, for
// scrubbing errors, even when it fails.
func openDestSpool(root string, maxBytes int64, id []byte) (*spool, string, error) {
	if !spoolSupported {
		return nil, root, errSpoolUnsupported
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, root, fmt.Errorf("slogotlp: spool directory %q: %w", root, err)
	}
	key, err := spoolKey(abs)
	if err != nil {
		return nil, abs, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(id)
	sub := filepath.Join(abs, hex.EncodeToString(mac.Sum(nil)[:16]))
	s, err := openSpool(sub, maxBytes)
	return s, abs, err
}

// spoolKey returns the root's key, creating the root (mode 0700) and the
// key when missing. The key is written to a temp file and then hard-linked
// under its name, which fails if another process linked its own first: so
// the name only ever holds a complete key, and every process reads the
// same one.
func spoolKey(root string) ([]byte, error) {
	if err := makeSpoolDir(root); err != nil {
		return nil, err
	}
	path := filepath.Join(root, spoolKeyName)
	for range 3 {
		key, err := readSpoolKey(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return key, err
		}
		var b [spoolKeyLen + 8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		tmp := filepath.Join(root, spoolTempPrefix+"key-"+hex.EncodeToString(b[spoolKeyLen:]))
		if err := writeSynced(tmp, b[:spoolKeyLen]); err != nil {
			return nil, spoolError(root, "creating the key file", err)
		}
		err = os.Link(tmp, path)
		_ = os.Remove(tmp)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, spoolError(root, "creating the key file (the file system must support hard links)", err)
		}
	}
	return nil, fmt.Errorf("slogotlp: spool: could not read the key file %s", filepath.Join(spoolRootLabel, spoolKeyName))
}

// readSpoolKey reads the key file at path, refusing one that is not a key.
func readSpoolKey(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, spoolError(filepath.Dir(path), "reading the key file", err)
	}
	defer func() { _ = f.Close() }()
	key, err := io.ReadAll(io.LimitReader(f, spoolKeyLen+1))
	if err != nil {
		return nil, spoolError(filepath.Dir(path), "reading the key file", err)
	}
	if len(key) != spoolKeyLen {
		return nil, fmt.Errorf("slogotlp: spool: %s is not a key this library wrote (%d bytes, want %d); "+
			"remove it (spooled records are then kept under new names, the old ones stay unsent)",
			filepath.Join(spoolRootLabel, spoolKeyName), len(key), spoolKeyLen)
	}
	return key, nil
}

// writeSynced creates path (mode 0600, failing if it exists), writes b and
// syncs it.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|openNoFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// spoolable reports whether exp's records may be spooled: not those of the
// exporters that write to a local stream (the console, a writer) or
// discard, which have no receiver to wait for.
func spoolable(exp Exporter) bool {
	switch exp.(type) {
	case *ConsoleExporter, *WriterExporter, discardExporter:
		return false
	}
	return true
}

// spoolIdentity returns what tells exp's receiver and credentials apart,
// hashed into the name of its spool's sub-directory:
//   - for NewHTTPExporter and NewLogfireExporter, the endpoint URL (its
//     query included) and every header but User-Agent, Authorization and
//     API keys included, so that two Logfire projects or two Collectors
//     never share;
//   - for NewProxyExporter, the relay's URL and its static headers, but not
//     the session token, which changes with every sign-in and refresh: the
//     records of one relay's users share a spool;
//   - for an exporter of the caller's, the destination's name and the
//     exporter's Go type, which is all that is known of it.
func spoolIdentity(exp Exporter, dest string) []byte {
	switch e := exp.(type) {
	case *HTTPExporter:
		if e != nil && e.c != nil {
			return e.c.spoolIdentity("http")
		}
	case *ProxyExporter:
		if e != nil && e.s != nil {
			return e.s.core.spoolIdentity("relay")
		}
	}
	return fmt.Appendf(nil, "exporter\x00%s\x00%T", dest, exp)
}

func (c *httpCore) spoolIdentity(kind string) []byte {
	id := []byte(kind + "\x00" + c.sec.endpoint)
	keys := make([]string, 0, len(c.sec.header))
	for k := range c.sec.header {
		if k != "User-Agent" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		id = append(id, 0)
		id = append(id, k...)
		id = append(id, '=')
		id = append(id, strings.Join(c.sec.header[k], "\x01")...)
	}
	return id
}

// scrubSpoolPath returns err with the spool's root directory in its text
// replaced by <SpoolDir>, keeping err in its chain.
func scrubSpoolPath(err error, root string) error {
	if err == nil || root == "" || !strings.Contains(err.Error(), root) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), root, spoolRootLabel), err: err}
}
