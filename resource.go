package slogotlp

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
)

// DetectResource returns the resource attributes slogotlp can learn from the
// program itself: service.name (the executable's name), service.version
// (the main module's version, else its VCS revision), os.type, host.name,
// process.pid, process.runtime.*, and telemetry.sdk.*. Attributes it cannot
// learn on this platform (a host name in the browser) are left out.
//
// NewHandler adds these under the caller's HandlerOptions.Resource, which
// wins for any key both name; set HandlerOptions.NoResourceDetection to
// send only the caller's.
func DetectResource() []slog.Attr {
	attrs := []slog.Attr{
		slog.String("service.name", serviceNameFromExecutable()),
	}
	if v := serviceVersion(); v != "" {
		attrs = append(attrs, slog.String("service.version", v))
	}
	attrs = append(attrs,
		slog.String("os.type", osType()),
		slog.String("process.runtime.name", "go"),
		slog.String("process.runtime.version", runtime.Version()),
		slog.String("process.runtime.description", runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH),
		slog.String("telemetry.sdk.name", "slogotlp"),
		slog.String("telemetry.sdk.language", "go"),
		slog.String("telemetry.sdk.version", moduleVersion()),
	)
	return append(attrs, platformResource()...)
}

// serviceNameFromExecutable follows the OpenTelemetry default,
// "unknown_service:" + the executable's name, when nothing better is known.
func serviceNameFromExecutable() string {
	name := ""
	if exe, err := os.Executable(); err == nil {
		name = filepath.Base(exe)
	} else if len(os.Args) > 0 {
		name = filepath.Base(os.Args[0])
	}
	name = strings.TrimSuffix(name, ".exe")
	if name == "" || name == "." || name == "/" {
		return "unknown_service:go"
	}
	return "unknown_service:" + name
}

// serviceVersion reads the version the Go toolchain stamped into the binary:
// the main module's version when built from a tagged module, otherwise the
// VCS revision (with "-dirty" for a modified work tree).
func serviceVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// osType maps GOOS to the OpenTelemetry os.type values.
func osType() string {
	switch runtime.GOOS {
	case "dragonfly":
		return "dragonflybsd"
	case "illumos":
		return "solaris"
	}
	return runtime.GOOS
}

// mergeResource returns detected followed by user, dropping detected
// attributes whose key user also names: the caller's values win.
func mergeResource(detected, user []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, 0, len(detected)+len(user))
	for _, d := range detected {
		if !shadowed(d.Key, user) {
			out = append(out, d)
		}
	}
	return append(out, user...)
}
