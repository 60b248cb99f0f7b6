package slogotlp

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file reads the kinds of values the variables hold, each with the
// rules of the specification (or SDK) that defines the variable: the
// OpenTelemetry specification for OTEL_*, Logfire's config_params.py for
// LOGFIRE_*. An error never quotes a value that may be a secret.

func (r *resolver) millis(name string) time.Duration {
	return time.Duration(r.positive(name, "milliseconds, e.g. 5000 for 5s")) * time.Millisecond
}

// positive reads a positive integer; unset is 0, the option's default.
func (r *resolver) positive(name, unit string) int {
	v := r.env(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail(name, fmt.Errorf("want a positive whole number of %s", unit))
		return 0
	}
	return n
}

// noTimeout stands for the specification's timeout of 0, no limit: about
// 292 years.
const noTimeout = time.Duration(math.MaxInt64)

// timeoutSetting is a timeout variable's value and whether it was set.
type timeoutSetting struct {
	d   time.Duration
	set bool
}

// timeout reads an OpenTelemetry Timeout: whole milliseconds, 0 meaning no
// limit. The specification asks to warn about and ignore a negative value;
// like every number here it is an error instead, so a typo cannot pass.
func (r *resolver) timeout(name string) timeoutSetting {
	v := r.env(name)
	if v == "" {
		return timeoutSetting{}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/int64(time.Millisecond) {
		r.fail(name, errors.New("want a whole number of milliseconds, e.g. 10000 for 10s (0: no limit)"))
		return timeoutSetting{}
	}
	if n == 0 {
		return timeoutSetting{d: noTimeout, set: true}
	}
	return timeoutSetting{d: time.Duration(n) * time.Millisecond, set: true}
}

// otelBool reads an OpenTelemetry boolean: true only for "true" in any case.
// Any other value but "false" is false too, with a warning, as the
// specification says (so OTEL_SDK_DISABLED=1 leaves the SDK enabled);
// meaning says what false does. set reports whether the variable was set.
func (r *resolver) otelBool(name, meaning string) (on, set bool) {
	v := r.env(name)
	switch strings.ToLower(v) {
	case "":
		return false, false
	case "true":
		return true, true
	case "false":
		return false, true
	}
	r.warn(name, fmt.Errorf("%q is not \"true\", so it counts as false: %s (the OpenTelemetry specification "+
		"takes only true and false, in any case)", v, meaning))
	return false, true
}

// logfireBool reads a Logfire boolean as its SDK does: 1, true or t, and 0,
// false or f, in any case. ok is false when the variable is unset or bad
// (the error names it).
func (r *resolver) logfireBool(name string) (on, ok bool) {
	v := r.env(name)
	switch strings.ToLower(v) {
	case "":
		return false, false
	case "1", "true", "t":
		return true, true
	case "0", "false", "f":
		return false, true
	}
	r.fail(name, errors.New("want a boolean: true or false (1/0 and t/f too, as Logfire reads them)"))
	return false, false
}

// sendToLogfire is LOGFIRE_SEND_TO_LOGFIRE's value.
type sendToLogfire int

const (
	sendIfTokenPresent sendToLogfire = iota // unset: our default
	sendAlways                              // true: a token is required
	sendNever                               // false
)

func (r *resolver) sendToLogfire() sendToLogfire {
	if strings.EqualFold(r.env(EnvLogfireSend), "if-token-present") {
		return sendIfTokenPresent
	}
	on, ok := r.logfireBool(EnvLogfireSend)
	switch {
	case !ok:
		return sendIfTokenPresent
	case on:
		return sendAlways
	}
	return sendNever
}

// logfireLevels are Logfire's level names (its LevelName) as slog levels:
// each OTLP severity number minus 9, the inverse of severityNumber.
var logfireLevels = map[string]slog.Level{
	"trace":   LevelTrace,
	"debug":   slog.LevelDebug,
	"info":    slog.LevelInfo,
	"notice":  slog.LevelInfo + 1,
	"warn":    slog.LevelWarn,
	"warning": slog.LevelWarn,
	"error":   slog.LevelError,
	"fatal":   LevelFatal,
}

// level reads a Logfire level name (any case; Logfire itself takes only
// lower case).
func (r *resolver) level(name string) (slog.Level, bool) {
	v := r.env(name)
	if v == "" {
		return 0, false
	}
	l, ok := logfireLevels[strings.ToLower(v)]
	if !ok {
		r.fail(name, fmt.Errorf("unknown level %q: use trace, debug, info, notice, warn, error or fatal", v))
	}
	return l, ok
}

// consoleColors reads LOGFIRE_CONSOLE_COLORS.
func (r *resolver) consoleColors() ConsoleColors {
	switch v := strings.ToLower(r.env(EnvLogfireConsoleColors)); v {
	case "", "auto":
		return ColorsAuto
	case "always":
		return ColorsAlways
	case "never":
		return ColorsNever
	default:
		r.fail(EnvLogfireConsoleColors, fmt.Errorf("unknown value %q: use auto, always or never", v))
	}
	return ColorsAuto
}

// isSet reports whether a setting holds more than spaces.
func isSet(s string) bool { return strings.TrimSpace(s) != "" }

// appendLogsPath turns OTEL_EXPORTER_OTLP_ENDPOINT, a base URL, into the
// logs URL as the specification says: "/v1/logs" after the base path.
func appendLogsPath(base string) (string, error) {
	if _, err := parseEndpoint(base); err != nil {
		return "", err
	}
	u, _ := url.Parse(base) // parseEndpoint accepted it
	u.Path = strings.TrimRight(u.Path, "/") + "/v1/logs"
	if u.RawPath != "" {
		u.RawPath = strings.TrimRight(u.RawPath, "/") + "/v1/logs"
	}
	return u.String(), nil
}

// parseKeyValues reads the W3C-Baggage-like list the OpenTelemetry
// variables use: "k1=v1,k2=v2", spaces around keys and values trimmed, empty
// entries skipped, and with decode keys and values percent-decoded (Logfire's
// LOGFIRE_RESOURCE_ATTRIBUTES is not decoded). The errors name the entry by
// position and never quote a value, which may be a secret.
func parseKeyValues(s string, headers, decode bool) ([][2]string, error) {
	var out [][2]string
	unescape := url.PathUnescape
	if !decode {
		unescape = func(s string) (string, error) { return s, nil }
	}
	for i, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %d is not key=value: write the list as key1=value1,key2=value2", i+1)
		}
		dk, err := unescape(k)
		if err != nil || (headers && !validHeaderName(dk)) {
			return nil, fmt.Errorf("entry %d: the key is not a valid %s: use letters, digits, '-' and '.'",
				i+1, map[bool]string{true: "header name", false: "attribute key"}[headers])
		}
		dv, err := unescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("entry %d (key %q): the value has a malformed %%-escape: encode %% as %%25", i+1, dk)
		}
		if hasControl(dv) {
			return nil, fmt.Errorf("entry %d (key %q): the value contains a control character: remove it", i+1, dk)
		}
		out = append(out, [2]string{dk, dv})
	}
	return out, nil
}
