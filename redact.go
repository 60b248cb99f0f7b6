package slogotlp

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// ScrubbedKey is the attribute that lists what the redactor removed, so a
// reader of the log sees why a value is missing. Its value is the JSON text
// Logfire's SDK writes (json.dumps of a list, separators and ASCII escapes
// included):
//
//	[{"path": ["attributes", "req", "password"], "matched_substring": "password"}]
//
// path starts with "attributes" (then the keys of groups, maps, struct
// fields and JSON objects, and the indexes of list elements) or "log_body"
// (the message). matched_substring is what Logfire puts there when the rule
// is a word: the text of the key that the key rules matched ("Password" in
// "UserPassword", "Auth" in "Authorization"), also for a key=value pair in
// free text. For a value pattern it is the pattern's name ("email",
// "github_token"): never the removed value.
const ScrubbedKey = "logfire.scrubbed"

// DefaultReplacement is the text that stands in for a redacted value or match.
const DefaultReplacement = "[REDACTED]"

// Rule names for removals that are not pattern matches.
const (
	// ruleAllowlist marks an attribute dropped because the allowlist lacks it.
	ruleAllowlist = "allowlist"
)

// RedactOptions configures a Redactor. A nil or zero RedactOptions is valid
// and means: the default key rules, every built-in pattern, path trimming
// on, replacement DefaultReplacement.
type RedactOptions struct {
	// AllowKeys, when not empty, turns on the allowlist: only attributes whose
	// dot-joined key path is listed survive ("req.user_id" keeps user_id inside
	// group req; "req" keeps the whole group). Others are dropped and listed in
	// ScrubbedKey. Group paths include groups opened with WithGroup. A listed
	// key is exempt from the key rules (it was allowed on purpose), but its
	// values are still scrubbed. Default: no allowlist.
	AllowKeys []string

	// DenyKeys adds case-insensitive key fragments to the key rules: a key
	// that contains one has its value replaced (a group's whole content
	// included). Default: none beyond DefaultDenyKeys.
	DenyKeys []string

	// NoDefaultDenyKeys drops the default key rules (see DefaultDenyKeys).
	NoDefaultDenyKeys bool

	// Patterns adds custom value rules after the built-in ones.
	Patterns []Pattern

	// DisablePatterns lists built-in pattern names (PatternEmail, ...; see
	// BuiltinPatterns) to turn off, for data where they would match
	// legitimately. Default: none.
	DisablePatterns []string

	// Replacement replaces a denied value or a pattern match. Default:
	// DefaultReplacement.
	Replacement string

	// TrimPrefixes are extra directory prefixes cut from file paths in
	// exception.stacktrace and code.file.path values, for layouts the
	// automatic detection misses (see TrimPath). Default: none.
	TrimPrefixes []string

	// KeepPaths turns path trimming off.
	KeepPaths bool
}

// A Redactor removes secrets and personal data from records before they
// reach the next handler. It is immutable after NewRedactor and safe for
// concurrent use; every regexp is compiled once, there.
//
// What it looks at: the message; every attribute, at any group depth,
// including those bound with WithAttrs; group names opened with WithGroup;
// and the inside of values of kind slog.KindAny (maps, structs, slices,
// errors, JSON text; see RedactTag). Key rules (DefaultDenyKeys) replace
// the whole value of a denied key; value patterns (BuiltinPatterns) replace
// the secrets they find in text. A redacted value keeps its shape: a map
// stays a map with the secret replaced, an error stays an error whose
// exception.type names the original type.
type Redactor struct {
	replacement string
	allow       *allowNode // nil: no allowlist
	keys        *keyMatcher
	rules       []valueRule // the built-in rules first, then the custom ones
	nBuiltin    int         // how many of rules are built in
	tokens      *tokenIndex
	cards       bool
	trimmer     *pathTrimmer // nil: keep paths
	fieldCache  fieldCache
}

// NewRedactor compiles opts into a Redactor. It fails only for a custom
// Pattern without a name or with an invalid Expr; fix the pattern.
func NewRedactor(opts *RedactOptions) (*Redactor, error) {
	var o RedactOptions
	if opts != nil {
		o = *opts
	}
	rd := &Redactor{replacement: o.Replacement}
	if rd.replacement == "" {
		rd.replacement = DefaultReplacement
	}
	if len(o.AllowKeys) > 0 {
		rd.allow = &allowNode{}
		for _, k := range o.AllowKeys {
			if k != "" {
				rd.allow.add(strings.Split(k, "."))
			}
		}
	}
	var keyRules []keyRule
	if !o.NoDefaultDenyKeys {
		keyRules = append(keyRules, defaultKeyRules...)
	}
	for _, k := range o.DenyKeys {
		if k = strings.ToLower(k); k != "" {
			keyRules = append(keyRules, keyRule{name: k, frags: []string{k}})
		}
	}
	if len(keyRules) > 0 {
		rd.keys = newKeyMatcher(keyRules)
	}
	for _, r := range builtinRules {
		if !slices.Contains(o.DisablePatterns, r.name) {
			rd.rules = append(rd.rules, r)
		}
	}
	rd.nBuiltin = len(rd.rules)
	rd.tokens = newTokenIndex(o.DisablePatterns)
	rd.cards = !slices.Contains(o.DisablePatterns, PatternCreditCard)
	for i, p := range o.Patterns {
		if p.Name == "" {
			return nil, fmt.Errorf("slogotlp: redact pattern %d has no Name: name it so scrubbed entries say which rule fired", i)
		}
		re, err := regexp.Compile(p.Expr)
		if err != nil {
			return nil, fmt.Errorf("slogotlp: redact pattern %q: fix its Expr (RE2 syntax): %w", p.Name, err)
		}
		hint := p.Hint
		if hint == "" {
			hint, _ = re.LiteralPrefix()
		}
		rd.rules = append(rd.rules, valueRule{name: p.Name, re: re, pre: hintPrefilter(hint)})
	}
	if !o.KeepPaths {
		rd.trimmer = defaultTrimmer().with(o.TrimPrefixes)
	}
	return rd, nil
}

// Redact returns a middleware that redacts with opts, for slogmulti.Pipe or
// direct use: Redact(nil)(next). Custom patterns are code, so an invalid one
// is a programming error: Redact panics with NewRedactor's error, as
// regexp.MustCompile does, rather than run without the rule. Build the
// Redactor with NewRedactor to handle the error instead (patterns read from
// a file), or to call ScrubString.
func Redact(opts *RedactOptions) func(slog.Handler) slog.Handler {
	rd, err := NewRedactor(opts)
	if err != nil {
		panic(err)
	}
	return rd.Middleware()
}

// Middleware returns the redactor as slog middleware: Middleware()(next)
// wraps next so that every record passes through the redactor.
func (rd *Redactor) Middleware() func(slog.Handler) slog.Handler {
	return func(next slog.Handler) slog.Handler {
		return &redactHandler{rd: rd, next: next, deniedAt: -1}
	}
}

// pathElem is one step of a ScrubbedKey path: a key, or a list index when
// index >= 0.
type pathElem struct {
	key   string
	index int
}

// scrubState collects what one redaction pass removed, as JSON entries.
type scrubState struct {
	path    []pathElem // current path, reused
	entries []byte     // JSON objects separated by ", "
	spans   []span     // scratch space of scrubText, reused
}

func (st *scrubState) reset(root string) {
	st.path = append(st.path[:0], pathElem{key: root, index: -1})
	st.entries = st.entries[:0]
}

func (st *scrubState) pushKey(k string) { st.path = append(st.path, pathElem{key: k, index: -1}) }

func (st *scrubState) pushIndex(i int) { st.path = append(st.path, pathElem{index: i}) }

func (st *scrubState) pop() { st.path = st.path[:len(st.path)-1] }

// note records that matched fired at the current path, in the form
// Python's json.dumps gives Logfire's notes.
func (st *scrubState) note(matched string) {
	if len(st.entries) > 0 {
		st.entries = append(st.entries, ", "...)
	}
	st.entries = append(st.entries, `{"path": [`...)
	for i, p := range st.path {
		if i > 0 {
			st.entries = append(st.entries, ", "...)
		}
		if p.index >= 0 {
			st.entries = strconv.AppendInt(st.entries, int64(p.index), 10)
		} else {
			st.entries = appendPyJSONString(st.entries, p.key)
		}
	}
	st.entries = append(st.entries, `], "matched_substring": `...)
	st.entries = appendPyJSONString(st.entries, matched)
	st.entries = append(st.entries, '}')
}

// appendPyJSONString appends s as Python's json.dumps writes a string:
// ASCII only, other characters as \uXXXX (surrogate pairs above U+FFFF),
// invalid UTF-8 as \ufffd.
func appendPyJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	u4 := func(buf []byte, r rune) []byte {
		return append(buf, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
	}
	buf = append(buf, '"')
	for _, r := range s { // invalid bytes come as utf8.RuneError
		switch {
		case r == '"' || r == '\\':
			buf = append(buf, '\\', byte(r))
		case r == '\n':
			buf = append(buf, '\\', 'n')
		case r == '\r':
			buf = append(buf, '\\', 'r')
		case r == '\t':
			buf = append(buf, '\\', 't')
		case r == '\b':
			buf = append(buf, '\\', 'b')
		case r == '\f':
			buf = append(buf, '\\', 'f')
		case r < 0x20:
			buf = u4(buf, r)
		case r < utf8.RuneSelf:
			buf = append(buf, byte(r))
		case r > 0xFFFF:
			r -= 0x10000
			buf = u4(buf, 0xD800+(r>>10))
			buf = u4(buf, 0xDC00+(r&0x3FF))
		default:
			buf = u4(buf, r)
		}
	}
	return append(buf, '"')
}

// redactAttrs redacts attrs at the path in st, under allowlist node an
// (nil: everything allowed). It returns the attrs to keep and whether they
// differ from the input; it never modifies the input slice.
func (rd *Redactor) redactAttrs(attrs []slog.Attr, an *allowNode, st *scrubState) ([]slog.Attr, bool) {
	var out []slog.Attr
	changed := false
	for i, a := range attrs {
		na, keep, ch := rd.redactAttr(a, an, st)
		if (ch || !keep) && !changed {
			changed = true
			out = make([]slog.Attr, i, len(attrs))
			copy(out, attrs[:i])
		}
		if changed && keep {
			out = append(out, na)
		}
	}
	if !changed {
		return attrs, false
	}
	return out, true
}

// redactAttr redacts one attribute. keep is false when the attribute is to be
// dropped; changed is true when na differs from a.
func (rd *Redactor) redactAttr(a slog.Attr, an *allowNode, st *scrubState) (na slog.Attr, keep, changed bool) {
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = safeResolve(a.Value)
		changed = true
	}
	if a.Key == "" && a.Value.Kind() == slog.KindGroup { // inlined group
		attrs, ch := rd.redactAttrs(a.Value.Group(), an, st)
		if ch {
			a.Value = slog.GroupValue(attrs...)
		}
		return a, true, changed || ch
	}
	st.pushKey(a.Key)
	defer st.pop()
	explicit := false
	if an != nil && !an.all {
		child := an.children[a.Key]
		if child == nil || (!child.all && a.Value.Kind() != slog.KindGroup) {
			if !isEmptyAttr(a) {
				st.note(ruleAllowlist)
			}
			return a, false, true
		}
		an = child
		explicit = child.all
	}
	if !explicit {
		if _, matched := rd.keys.match(a.Key); matched != "" {
			st.note(matched)
			return slog.String(a.Key, rd.replacement), true, true
		}
	}
	switch a.Value.Kind() {
	case slog.KindString:
		s := a.Value.String()
		out, ch := s, false
		if rd.trimmer != nil && (a.Key == keyExceptionStacktrace || a.Key == keyCodeFilePath) {
			out = rd.trimmer.trimText(out)
			ch = out != s
		}
		out, ch2 := rd.scrubStr(out, st, 0)
		if ch || ch2 {
			return slog.String(a.Key, out), true, true
		}
	case slog.KindGroup:
		attrs, ch := rd.redactAttrs(a.Value.Group(), an, st)
		if ch {
			return slog.Attr{Key: a.Key, Value: slog.GroupValue(attrs...)}, true, true
		}
	case slog.KindInt64:
		if rd.cardInt(a.Value.Int64(), st) {
			return slog.String(a.Key, rd.replacement), true, true
		}
	case slog.KindUint64:
		if rd.cardUint(a.Value.Uint64(), st) {
			return slog.String(a.Key, rd.replacement), true, true
		}
	case slog.KindAny:
		if out, ch := rd.scrubAny(a.Value.Any(), st, 0); ch {
			if v, ok := out.(slog.Value); ok {
				return slog.Attr{Key: a.Key, Value: v}, true, true
			}
			return slog.Any(a.Key, out), true, true
		}
	}
	return a, true, changed
}

// safeResolve resolves a LogValuer; a panicking LogValuer resolves to an
// error value, as slog does, so logging goes on.
func safeResolve(v slog.Value) (out slog.Value) {
	defer func() {
		if r := recover(); r != nil {
			out = slog.AnyValue(fmt.Errorf("LogValue panicked: %v", r))
		}
	}()
	return v.Resolve()
}

// redactHandler is the middleware around next. Groups opened with WithGroup
// are held here, not forwarded, so that ScrubbedKey can sit at the top level
// of the record; attrs bound before any group go to next.WithAttrs (keeping
// next's pre-formatting), attrs bound inside groups are kept here.
type redactHandler struct {
	rd     *Redactor
	next   slog.Handler
	groups []string      // open groups, outermost first
	bound  [][]slog.Attr // bound[i]: redacted attrs bound inside groups[:i+1]
	an     *allowNode    // allowlist node for the innermost open group
	noted  []byte        // ScrubbedKey entries from WithAttrs

	// A group name the key rules deny hides everything logged inside it:
	// groups[deniedAt] becomes one attribute holding the replacement.
	deniedAt    int    // index into groups, or -1
	deniedMatch string // matched text of groups[deniedAt]
	deniedBound bool   // attrs were bound inside the denied group
}

var _ slog.Handler = (*redactHandler)(nil)

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	if h.deniedAt >= 0 {
		c.deniedBound = true // hidden with the group; nothing to scrub
		return &c
	}
	st := scrubState{}
	st.reset("attributes")
	for _, g := range h.groups {
		st.pushKey(g)
	}
	red, _ := h.rd.redactAttrs(attrs, h.startNode(), &st)
	if len(st.entries) > 0 {
		n := slices.Clip(h.noted)
		if len(n) > 0 {
			n = append(n, ", "...)
		}
		c.noted = append(n, st.entries...)
	}
	if len(h.groups) == 0 {
		if len(red) > 0 {
			c.next = h.next.WithAttrs(red)
		}
		return &c
	}
	c.bound = slices.Clone(h.bound)
	last := len(c.bound) - 1
	c.bound[last] = append(slices.Clip(c.bound[last]), red...)
	return &c
}

// startNode is the allowlist node for attrs added at the current group depth
// (nil when there is no allowlist).
func (h *redactHandler) startNode() *allowNode {
	if len(h.groups) == 0 {
		return h.rd.allow
	}
	return h.an
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups = append(slices.Clip(h.groups), name)
	c.bound = append(slices.Clip(h.bound), nil)
	explicit := false
	if parent := h.startNode(); parent != nil && !parent.all {
		c.an = parent.children[name]
		if c.an == nil {
			c.an = deniedNode // no allowlist entry reaches below this group
		}
		explicit = c.an.all
	}
	if h.deniedAt < 0 && !explicit {
		if _, matched := h.rd.keys.match(name); matched != "" {
			c.deniedAt, c.deniedMatch = len(h.groups), matched
		}
	}
	return &c
}

// handleState is the scratch space of one Handle call, pooled so a clean
// record allocates nothing.
type handleState struct {
	attrs []slog.Attr
	st    scrubState
}

var handlePool = sync.Pool{New: func() any {
	return &handleState{attrs: make([]slog.Attr, 0, 16), st: scrubState{path: make([]pathElem, 0, 8)}}
}}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	hs := handlePool.Get().(*handleState)
	defer func() {
		clear(hs.attrs)
		hs.attrs = hs.attrs[:0]
		clear(hs.st.path)
		if cap(hs.st.entries) > 16<<10 {
			hs.st.entries = nil
		}
		if cap(hs.st.spans) > 256 {
			hs.st.spans = nil
		}
		handlePool.Put(hs)
	}()
	st := &hs.st
	st.reset("log_body")
	msg, msgChanged := h.rd.scrubStr(r.Message, st, 0)

	st.path = st.path[:0]
	st.pushKey("attributes")
	for _, g := range h.groups {
		st.pushKey(g)
	}
	// The record's attrs are redacted where they are; only from the first
	// change on are they copied (the ones before it, then the redacted).
	var red []slog.Attr
	changed := false
	if h.deniedAt < 0 {
		an := h.startNode()
		i := 0
		r.Attrs(func(a slog.Attr) bool {
			na, keep, ch := h.rd.redactAttr(a, an, st)
			if (ch || !keep) && !changed {
				changed = true
				red = hs.attrs[:0]
				r.Attrs(func(b slog.Attr) bool {
					if len(red) == i {
						return false
					}
					red = append(red, b)
					return true
				})
			}
			if changed && keep {
				red = append(red, na)
			}
			i++
			return true
		})
		if !changed && len(h.groups) > 0 {
			// Nested into the groups below: the record's attrs as they are.
			red = hs.attrs[:0]
			r.Attrs(func(a slog.Attr) bool {
				red = append(red, a)
				return true
			})
		}
		if red != nil {
			hs.attrs = red // keep the grown buffer for the next record
		}
	}
	if !msgChanged && !changed && len(st.entries) == 0 && len(h.noted) == 0 && len(h.groups) == 0 {
		return h.next.Handle(ctx, r)
	}
	nr := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	if len(h.groups) == 0 {
		nr.AddAttrs(red...)
	} else {
		nr.AddAttrs(h.nest(r, red, st)...)
	}
	if len(h.noted) > 0 || len(st.entries) > 0 {
		nr.AddAttrs(slog.String(ScrubbedKey, scrubbedJSON(h.noted, st.entries)))
	}
	return h.next.Handle(ctx, nr)
}

// nest wraps the record's redacted attrs in the open groups, with the attrs
// bound inside each; a denied group becomes one attribute holding the
// replacement (when anything was logged inside it).
func (h *redactHandler) nest(r slog.Record, red []slog.Attr, st *scrubState) []slog.Attr {
	var x []slog.Attr
	k := len(h.groups) - 1
	if h.deniedAt >= 0 {
		k = h.deniedAt
		inside := h.deniedBound
		r.Attrs(func(a slog.Attr) bool {
			inside = inside || !isEmptyAttr(a)
			return !inside
		})
		if inside {
			st.path = st.path[:k+1] // "attributes" and groups[:k]
			st.pushKey(h.groups[k])
			st.note(h.deniedMatch)
			x = []slog.Attr{slog.String(h.groups[k], h.rd.replacement)}
		}
	} else {
		inner := append(slices.Clip(h.bound[k]), red...)
		x = []slog.Attr{{Key: h.groups[k], Value: slog.GroupValue(inner...)}}
	}
	for k--; k >= 0; k-- {
		inner := append(slices.Clip(h.bound[k]), x...)
		x = []slog.Attr{{Key: h.groups[k], Value: slog.GroupValue(inner...)}}
	}
	return x
}

func scrubbedJSON(a, b []byte) string {
	buf := make([]byte, 0, len(a)+len(b)+4)
	buf = append(buf, '[')
	buf = append(buf, a...)
	if len(a) > 0 && len(b) > 0 {
		buf = append(buf, ", "...)
	}
	buf = append(buf, b...)
	buf = append(buf, ']')
	return string(buf)
}
