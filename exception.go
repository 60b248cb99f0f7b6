package slogotlp

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strconv"
	"strings"
)

// The attributes a record derives from its error value and its caller. A
// caller's own attribute of the same key, at the top level, wins.
const (
	keyExceptionType       = "exception.type"
	keyExceptionMessage    = "exception.message"
	keyExceptionStacktrace = "exception.stacktrace"
	keyCodeFilePath        = "code.file.path"
	keyCodeLineNumber      = "code.line.number"
	keyCodeFunctionName    = "code.function.name"
	// Logfire's Python SDK still sends the source under the semantic
	// conventions' older names, and Logfire reads them
	// (logfire/_internal/stack_info.py).
	keyLogfireFilePath = "code.filepath"
	keyLogfireLineNo   = "code.lineno"
	keyLogfireFunction = "code.function"
	// keyLogfireMsg fills Logfire's message column for records from other
	// OpenTelemetry SDKs (docs/reference/sql.md); Logfire does not keep it
	// among the attributes.
	keyLogfireMsg = "logfire.msg"
)

// appendDerived appends the attributes the record derives rather than the
// caller gives: the source location, the exception of the error value err,
// and Logfire's message. They come first in the list, so the count limit
// keeps them, and each yields to a caller's own attribute of its key.
func (h *Handler) appendDerived(buf []byte, t *topLevel, r slog.Record, err error) []byte {
	c := h.c
	e := &c.enc
	if c.addSource && r.PC != 0 {
		buf = e.appendSource(buf, t, r)
	}
	if err != nil {
		buf = e.appendException(buf, t, err, c.stacks && r.Level >= slog.LevelError)
	}
	if e.logfire {
		buf = e.derivedString(buf, t, keyLogfireMsg, r.Message)
	}
	return buf
}

// derivedString appends the derived string attribute k unless the caller
// gives k.
func (e *encoder) derivedString(buf []byte, t *topLevel, k, v string) []byte {
	if t.callerHas(k) {
		return buf
	}
	start := len(buf)
	buf = e.appendStringKV(buf, tagAttribute, k, v)
	return t.put(buf, start, k)
}

// derivedInt appends the derived int attribute k unless the caller gives k.
func (e *encoder) derivedInt(buf []byte, t *topLevel, k string, n int64) []byte {
	if t.callerHas(k) {
		return buf
	}
	start := len(buf)
	buf = appendIntAttr(buf, tagAttribute, k, n)
	return t.put(buf, start, k)
}

// appendException appends the OpenTelemetry exception attributes for err,
// each unless the caller gives it: exception.type (see errorType),
// exception.message (when not empty), and exception.stacktrace when the
// error carries a stack (it formats itself differently under %+v, as
// github.com/pkg/errors and its kin do) or, when capture is set, the stack
// of the logging goroutine. An Error method that panics costs the message,
// never the type.
func (e *encoder) appendException(buf []byte, t *topLevel, err error, capture bool) []byte {
	buf = e.derivedString(buf, t, keyExceptionType, errorType(err))
	hasMsg, hasStack := t.callerHas(keyExceptionMessage), t.callerHas(keyExceptionStacktrace)
	if hasMsg && hasStack {
		return buf
	}
	msg, ok := errorMessage(err)
	if !hasMsg && msg != "" {
		buf = e.derivedString(buf, t, keyExceptionMessage, msg)
	}
	if hasStack {
		return buf
	}
	st := ""
	if ok {
		st = errorStack(err, msg)
	}
	if st == "" && capture {
		st = callerStack()
	}
	if st != "" {
		buf = e.derivedString(buf, t, keyExceptionStacktrace, e.trim(st))
	}
	return buf
}

// errorMessage returns err.Error(), or "!PANIC: ..." and false when Error
// panics.
func errorMessage(err error) (msg string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, ok = fmt.Sprintf("!PANIC: %v", r), false
		}
	}()
	return err.Error(), true
}

// fmtWrapError is the type of fmt.Errorf's single-%w wrapper.
var fmtWrapError = reflect.TypeOf(fmt.Errorf("%w", errors.New("")))

// errorType names err's type as the OpenTelemetry Go SDK does, so that a
// backend groups the same failures under one exception.type whether they
// came through slogotlp or through otelslog: the error's ErrorType()
// string if it has that method; else the package path and name of its
// concrete type, looking through fmt.Errorf("...%w...") wrappers (the
// semantic conventions allow it: the wrapper does not classify the
// failure); else the type as reflect prints it ("*errors.errorString").
// It calls no Error method.
func errorType(err error) (name string) {
	if et, ok := err.(interface{ ErrorType() string }); ok {
		if s := safeErrorType(et); s != "" {
			return s
		}
	}
	for reflect.TypeOf(err) == fmtWrapError {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	t := reflect.TypeOf(err)
	if pkg, n := t.PkgPath(), t.Name(); pkg != "" && n != "" {
		return pkg + "." + n
	}
	return t.String()
}

// safeErrorType calls ErrorType, treating a panic as no answer.
func safeErrorType(et interface{ ErrorType() string }) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return et.ErrorType()
}

func (e *encoder) trim(s string) string {
	if e.trimPath == nil {
		return s
	}
	return e.trimPath(s)
}

// errorStack returns the stack an error carries, found by asking each error
// in the chain that formats itself for %+v. A formatter that panics has
// none.
func errorStack(err error, msg string) (st string) {
	defer func() {
		if recover() != nil {
			st = ""
		}
	}()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, ok := e.(fmt.Formatter); ok {
			if s := fmt.Sprintf("%+v", err); s != msg && strings.Contains(s, "\n") {
				return s
			}
			return ""
		}
	}
	return ""
}

// callerStack formats the logging goroutine's stack the way a Go panic does,
// starting at the caller of the logger: the leading frames of log/slog, this
// package's handlers and slog middleware are left out.
func callerStack() string {
	var pcs [64]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	var sb strings.Builder
	leading := true
	for {
		f, more := frames.Next()
		if leading && internalFrame(f.Function) {
			if !more {
				break
			}
			continue
		}
		leading = false
		sb.WriteString(f.Function)
		sb.WriteString("\n\t")
		sb.WriteString(f.File)
		sb.WriteByte(':')
		sb.WriteString(strconv.Itoa(f.Line))
		sb.WriteByte('\n')
		if !more {
			break
		}
	}
	return sb.String()
}

func internalFrame(fn string) bool {
	for _, p := range []string{"log/slog.", "github.com/soliplex/slogotlp.(", "github.com/samber/slog-"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// appendSource appends code.file.path, code.line.number and
// code.function.name for the record's caller (and, for Logfire, the same
// under Logfire's names). With ReplaceAttr set, the location is first
// offered to it as slog.JSONHandler offers it: key slog.SourceKey, a
// *slog.Source value. A zero Attr back drops the location; a *slog.Source
// back (under any key) is the location to write; anything else is written
// as it is, as an attribute of its own.
func (e *encoder) appendSource(buf []byte, t *topLevel, r slog.Record) []byte {
	var src slog.Source
	if e.replace != nil {
		a := e.replace(nil, slog.Any(slog.SourceKey, r.Source()))
		a.Value = a.Value.Resolve()
		if isEmptyAttr(a) {
			return buf
		}
		s, ok := a.Value.Any().(*slog.Source)
		if !ok || a.Value.Kind() != slog.KindAny {
			a.Key = validUTF8(a.Key)
			if a.Key == "" || t.callerHas(a.Key) {
				return buf
			}
			start := len(buf)
			buf = e.appendAttr(buf, tagAttribute, a, 0)
			if buf = t.put(buf, start, a.Key); len(buf) > start {
				t.source = a.Key // the other derived attributes yield to it
			}
			return buf
		}
		if s == nil {
			return buf
		}
		src = *s
	} else {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		src = slog.Source{Function: f.Function, File: f.File, Line: f.Line}
	}
	buf = e.appendSourceAs(buf, t, &src, keyCodeFilePath, keyCodeLineNumber, keyCodeFunctionName)
	if e.logfire {
		buf = e.appendSourceAs(buf, t, &src, keyLogfireFilePath, keyLogfireLineNo, keyLogfireFunction)
	}
	return buf
}

// appendSourceAs appends the parts of src that are known under the given
// keys, each yielding to a caller's own attribute of its key.
func (e *encoder) appendSourceAs(buf []byte, t *topLevel, src *slog.Source, fileKey, lineKey, funcKey string) []byte {
	if src.File != "" {
		buf = e.derivedString(buf, t, fileKey, e.trim(src.File))
	}
	if src.Line != 0 {
		buf = e.derivedInt(buf, t, lineKey, int64(src.Line))
	}
	if src.Function != "" {
		buf = e.derivedString(buf, t, funcKey, src.Function)
	}
	return buf
}
