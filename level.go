package slogotlp

import (
	"log/slog"
	"strconv"
)

// Levels beyond the four of log/slog, so callers can log TRACE and FATAL:
//
//	logger.Log(ctx, slogotlp.LevelTrace, "cache probe", "key", k)
const (
	LevelTrace slog.Level = -8
	LevelFatal slog.Level = 12
)

// severityNumber maps a slog level to an OTLP SeverityNumber: level + 9, as
// the official otelslog bridge maps it, clamped to 1..24 so that no level
// falls outside the enum (the bridge does not clamp). TRACE is 1, DEBUG 5,
// INFO 9, WARN 13, ERROR 17 and FATAL 21.
func severityNumber(l slog.Level) int {
	n := int(l) + 9
	return min(max(n, 1), 24)
}

// appendSeverityText appends the level's name the way log/slog names levels
// ("INFO", "WARN+2"), with TRACE and FATAL added below DEBUG and above ERROR.
func appendSeverityText(buf []byte, l slog.Level) []byte {
	name, base := "INFO", slog.LevelInfo
	switch {
	case l < slog.LevelDebug:
		name, base = "TRACE", LevelTrace
	case l < slog.LevelInfo:
		name, base = "DEBUG", slog.LevelDebug
	case l < slog.LevelWarn:
	case l < slog.LevelError:
		name, base = "WARN", slog.LevelWarn
	case l < LevelFatal:
		name, base = "ERROR", slog.LevelError
	default:
		name, base = "FATAL", LevelFatal
	}
	buf = append(buf, name...)
	if d := int64(l - base); d != 0 {
		if d > 0 {
			buf = append(buf, '+')
		}
		buf = strconv.AppendInt(buf, d, 10)
	}
	return buf
}
