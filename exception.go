package slogotlp

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// appendException appends the OpenTelemetry exception attributes for err:
// exception.type (the Go type, as %T prints it), exception.message, and
// exception.stacktrace when the error carries a stack (it formats itself
// differently under %+v, as github.com/pkg/errors and its kin do) or, when
// capture is set, the stack of the logging goroutine.
func (e *encoder) appendException(buf []byte, err error, capture bool) (out []byte) {
	mark := len(buf)
	defer func() {
		if r := recover(); r != nil {
			out = appendStringAttr(buf[:mark], tagAttribute, "exception.message", fmt.Sprintf("!PANIC: %v", r), e.maxValueLen)
		}
	}()
	msg := err.Error()
	buf = appendStringAttr(buf, tagAttribute, "exception.type", exceptionType(err), 0)
	buf = appendStringAttr(buf, tagAttribute, "exception.message", msg, e.maxValueLen)
	if st := errorStack(err, msg); st != "" {
		buf = appendStringAttr(buf, tagAttribute, "exception.stacktrace", e.trim(st), e.maxValueLen)
	} else if capture {
		buf = appendStringAttr(buf, tagAttribute, "exception.stacktrace", e.trim(callerStack()), e.maxValueLen)
	}
	return buf
}

// exceptionType is the Go type of err as %T prints it. An error the
// redactor replaced (its message held a secret) answers with the type of the
// error it replaced, through this small unexported interface, so
// exception.type still names the original type.
func exceptionType(err error) string {
	if o, ok := err.(interface{ exceptionType() string }); ok {
		return o.exceptionType()
	}
	return fmt.Sprintf("%T", err)
}

func (e *encoder) trim(s string) string {
	if e.trimPath == nil {
		return s
	}
	return e.trimPath(s)
}

// errorStack returns the stack an error carries, found by asking each error
// in the chain that formats itself for %+v.
func errorStack(err error, msg string) string {
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
// code.function.name for the record's program counter.
func (e *encoder) appendSource(buf []byte, pc uintptr) []byte {
	if pc == 0 {
		return buf
	}
	fs := runtime.CallersFrames([]uintptr{pc})
	f, _ := fs.Next()
	if f.File != "" {
		buf = appendStringAttr(buf, tagAttribute, "code.file.path", e.trim(f.File), 0)
	}
	if f.Line != 0 {
		buf = appendIntAttr(buf, tagAttribute, "code.line.number", int64(f.Line))
	}
	if f.Function != "" {
		buf = appendStringAttr(buf, tagAttribute, "code.function.name", f.Function, 0)
	}
	return buf
}
