package slogotlp

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// The disk spool's variables (see HandlerOptions.SpoolDir). Each sets its
// option when the caller left it zero.
const (
	// EnvSpoolDir turns the disk spool on: a directory of this user's.
	EnvSpoolDir = "SLOGOTLP_SPOOL_DIR"
	// EnvSpoolMaxBytes bounds each destination's spool: a whole number of
	// bytes, or of KiB, MiB or GiB ("256MiB").
	EnvSpoolMaxBytes = "SLOGOTLP_SPOOL_MAX_BYTES"
	// EnvSpoolMaxAge removes spooled payloads older than this unsent: a Go
	// duration ("24h", "90m").
	EnvSpoolMaxAge = "SLOGOTLP_SPOOL_MAX_AGE"
)

// spoolOptions fills the spool options the caller left zero from the
// environment.
func (r *resolver) spoolOptions(o *HandlerOptions) {
	if o.SpoolDir == "" {
		o.SpoolDir = r.env(EnvSpoolDir)
	}
	if v := r.env(EnvSpoolMaxBytes); v != "" && o.SpoolMaxBytes <= 0 {
		n, ok := parseByteSize(v)
		if !ok {
			r.fail(EnvSpoolMaxBytes, errors.New("want a positive whole number of bytes, or of KiB, MiB or GiB, e.g. 256MiB"))
		}
		o.SpoolMaxBytes = n
	}
	if v := r.env(EnvSpoolMaxAge); v != "" && o.SpoolMaxAge <= 0 {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			r.fail(EnvSpoolMaxAge, errors.New(`want a positive duration such as "24h" or "90m"`))
			d = 0
		}
		o.SpoolMaxAge = d
	}
}

// parseByteSize parses a positive size in bytes with an optional binary
// unit: "1048576", "512KiB", "64MiB", "1GiB".
func parseByteSize(v string) (int64, bool) {
	mult := int64(1)
	for _, u := range [...]struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}
