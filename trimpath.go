package slogotlp

import (
	"path"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// pathTrimmer turns build-machine file paths into module-relative ones, the
// form `go build -trimpath` gives.
type pathTrimmer struct {
	gorootSrc string   // "<GOROOT>/src/", or "" when unknown or already trimmed
	mainDir   string   // the main module's directory with a trailing '/', or ""
	mainPath  string   // the main module's path, e.g. "github.com/x/app"
	prefixes  []string // extra prefixes, longest first, each ending in '/'
}

var defaultTrimmer = sync.OnceValue(func() *pathTrimmer {
	t := &pathTrimmer{}
	// The binary records the files of the machine that built it: the entry
	// of a standard library function says where GOROOT/src was there.
	if fn := runtime.FuncForPC(reflect.ValueOf(strings.Cut).Pointer()); fn != nil {
		file, _ := fn.FileLine(fn.Entry())
		if dir, ok := strings.CutSuffix(file, "strings/strings.go"); ok && path.IsAbs(dir) {
			t.gorootSrc = dir
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		t.mainPath = bi.Main.Path
		t.mainDir = findModuleDir(bi.Path, bi.Main.Path)
	}
	return t
})

// findModuleDir finds the main module's directory from the frames of the
// calling goroutine: a frame of a function in the main module tells both its
// file's directory and its package path.
func findModuleDir(mainPkg, modPath string) string {
	if modPath == "" {
		return ""
	}
	var pcs [64]uintptr
	n := runtime.Callers(1, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if dir := moduleDirOf(f.Function, f.File, mainPkg, modPath); dir != "" {
			return dir
		}
		if !more {
			return ""
		}
	}
}

// moduleDirOf returns the directory of module modPath given that function fn
// lives in file, or "" when fn is not in that module.
func moduleDirOf(fn, file, mainPkg, modPath string) string {
	pkg := funcPackage(fn)
	if pkg == "main" {
		pkg = mainPkg
	}
	rel, ok := strings.CutPrefix(pkg, modPath)
	if !ok || (rel != "" && rel[0] != '/') || !path.IsAbs(file) {
		return ""
	}
	dir, ok := strings.CutSuffix(path.Dir(file), rel)
	if !ok {
		return ""
	}
	return dir + "/"
}

// funcPackage returns the package path of a runtime function name such as
// "github.com/x/y/pkg.(*T).M".
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// with returns a copy of t with extra prefixes.
func (t *pathTrimmer) with(prefixes []string) *pathTrimmer {
	c := *t
	c.prefixes = nil
	for _, p := range prefixes {
		if p = strings.ReplaceAll(p, `\`, "/"); p != "" {
			if !strings.HasSuffix(p, "/") {
				p += "/"
			}
			c.prefixes = append(c.prefixes, p)
		}
	}
	slices.SortFunc(c.prefixes, func(a, b string) int { return len(b) - len(a) })
	return &c
}

// trim applies the rules documented on TrimPath.
func (t *pathTrimmer) trim(p string) string {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		p = strings.ReplaceAll(p[2:], `\`, "/") // drop a Windows drive letter
	} else if strings.HasPrefix(p, `\`) {
		p = strings.ReplaceAll(p, `\`, "/")
	}
	if !strings.HasPrefix(p, "/") {
		return p // relative: already trimmed (-trimpath) or not a path
	}
	if i := strings.LastIndex(p, "/pkg/mod/"); i >= 0 {
		return p[i+len("/pkg/mod/"):]
	}
	for _, pre := range t.prefixes {
		if rest, ok := strings.CutPrefix(p, pre); ok {
			return rest
		}
	}
	if t.mainDir != "" {
		if rest, ok := strings.CutPrefix(p, t.mainDir); ok {
			return t.mainPath + "/" + rest
		}
	}
	if t.gorootSrc != "" {
		if rest, ok := strings.CutPrefix(p, t.gorootSrc); ok {
			return rest
		}
	}
	if t.mainPath != "" { // GOPATH layout: .../src/<module path>/...
		if i := strings.LastIndex(p, "/"+t.mainPath+"/"); i >= 0 {
			return p[i+1:]
		}
	}
	// Unknown location: keep the last directory and the file name only, so no
	// home directory or build path leaves the process.
	last := strings.LastIndexByte(p, '/')
	if prev := strings.LastIndexByte(p[:last], '/'); prev >= 0 {
		return p[prev+1:]
	}
	return p[last+1:]
}

// absPathRe finds absolute file paths in a stack trace: at the start of a
// line, after white space, '(', '=' or a quote.
var absPathRe = regexp.MustCompile(`(?m)(?:^|[\s("'=])((?:[A-Za-z]:)?[/\\][^\s:"'()<>]+)`)

// trimText trims every absolute path in s (a single path or a stack trace).
func (t *pathTrimmer) trimText(s string) string {
	if !strings.ContainsAny(s, `/\`) {
		return s
	}
	locs := absPathRe.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, l := range locs {
		b.WriteString(s[last:l[2]])
		b.WriteString(t.trim(s[l[2]:l[3]]))
		last = l[3]
	}
	b.WriteString(s[last:])
	return b.String()
}

// TrimPath cuts a source file path to the module-relative form that
// `go build -trimpath` produces, so no home directory or build machine path
// leaves the process:
//
//   - module cache files lose everything up to ".../pkg/mod/"
//     ("github.com/samber/slog-multi@v1.7.1/pipe.go");
//   - standard library files lose "<GOROOT>/src/" ("net/http/server.go");
//   - main module files get the module path in place of their directory
//     ("github.com/x/app/cmd/app/main.go"); the directory is found from the
//     build info and the caller's stack on first use;
//   - any other absolute path keeps its last directory and file name.
//
// Relative paths are returned as they are. The redactor applies it to
// exception.stacktrace and code.file.path values; the handler applies it
// to its own only when HandlerOptions.TrimPaths is set (TrimStack fits).
func TrimPath(path string) string {
	return defaultTrimmer().trim(path)
}

// TrimStack applies TrimPath to every absolute path in a stack trace (or in a
// single path), leaving the rest of the text as it is.
func TrimStack(stack string) string {
	return defaultTrimmer().trimText(stack)
}

// TrimStack is the package TrimStack with the redactor's TrimPrefixes; it
// returns stack unchanged when the redactor keeps paths.
func (rd *Redactor) TrimStack(stack string) string {
	if rd.trimmer == nil {
		return stack
	}
	return rd.trimmer.trimText(stack)
}
