//go:build !unix || aix || solaris

package slogotlp

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
)

// The spool's platform side where there is no flock (js/wasm, wasip1,
// Windows, AIX, Solaris): openSpool refuses, and nothing else is reached.

const spoolSupported = false

const openNoFollow = 0

var errQuota = errors.New("disk quota exceeded")

// errSpoolUnsupported: this platform has no spool.
var errSpoolUnsupported = errors.New("slogotlp: the disk spool is not available on " + runtime.GOOS +
	" (it needs flock file locks); leave the spool directory (SLOGOTLP_SPOOL_DIR) unset here")

func lockFile(*os.File) (bool, error) { return false, errSpoolUnsupported }

func syncDir(string) error { return nil }

func dirSafe(string, fs.FileInfo) error { return nil }
