//go:build unix && !aix && !solaris

package slogotlp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// The spool's platform side where flock exists (see spool.go).

const spoolSupported = true

// openNoFollow keeps a symlink planted under a spool file's name from being
// followed.
const openNoFollow = syscall.O_NOFOLLOW

// errQuota is the error of a full disk quota, a full disk for this user.
var errQuota error = syscall.EDQUOT

// errSpoolUnsupported is never returned here.
var errSpoolUnsupported = errors.New("slogotlp: the disk spool is not available on this platform")

// lockFile takes an exclusive flock on f without waiting, and reports
// whether it got it. flock locks belong to the open file description, so
// two opens of one file conflict even within a process, and the kernel
// drops a dead process's locks.
func lockFile(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// syncDir makes the directory's entries (a rename) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	_ = d.Close()
	return err
}

// dirSafe refuses a spool directory that another user owns or may write:
// what is in it is sent with this program's credentials, so another user
// could plant records in this program's name.
func dirSafe(dir string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("slogotlp: spool directory %s belongs to user id %d, not to this program's user (%d); choose a directory of this user's", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("slogotlp: spool directory %s is writable by other users (mode %v); run chmod 700 on it or choose another", dir, fi.Mode().Perm())
	}
	return nil
}
