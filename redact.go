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
)

// ScrubbedKey is the attribute that lists what the redactor removed, so a
// reader of the log sees why a value is missing. It follows the convention of
// Logfire's own SDK: a JSON array of {"path": [...], "matched_substring": ...}
// objects. matched_substring holds the rule's name (a key word such as
// "password", or a pattern name such as "email"), never the removed value.
const ScrubbedKey = "logfire.scrubbed"

// DefaultReplacement is the text that stands in for a redacted value or match.
const DefaultReplacement = "[REDACTED]"

// Rule names for removals that are not pattern matches.
const (
	// ruleAllowlist marks an attribute dropped because the allowlist lacks it.
	ruleAllowlist = "allowlist"
)

// Keys whose string values hold file paths; the redactor trims them.
const (
	stacktraceKey = "exception.stacktrace"
	codeFileKey   = "code.file.path"
)

// RedactOptions configures a Redactor. A nil or zero RedactOptions is valid
// and means: the default key denylist, every built-in pattern, path trimming
// on, replacement DefaultReplacement.
type RedactOptions struct {
	// AllowKeys, when not empty, turns on the allowlist: only attributes whose
	// dot-joined key path is listed survive ("req.user_id" keeps user_id inside
	// group req; "req" keeps the whole group). Others are dropped and listed in
	// ScrubbedKey. Group paths include groups opened with WithGroup. A listed
	// key is exempt from the key denylist (it was allowed on purpose), but its
	// string values are still scrubbed with the patterns. Default: no allowlist.
	AllowKeys []string

	// DenyKeys adds case-insensitive key fragments to the denylist: an
	// attribute whose key contains one has its value replaced (a group's whole
	// content included). Default: none beyond the default set.
	DenyKeys []string

	// NoDefaultDenyKeys drops the default key denylist (see DefaultDenyKeys).
	NoDefaultDenyKeys bool

	// Patterns adds custom value rules after the built-in ones.
	Patterns []Pattern

	// DisablePatterns lists built-in pattern names (PatternEmail, ...) to
	// turn off, for data where they would match legitimately. Default: none.
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
type Redactor struct {
	replacement string
	allow       *allowNode // nil: no allowlist
	keyRules    []keyRule
	rules       []valueRule
	trimmer     *pathTrimmer // nil: keep paths
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
	if !o.NoDefaultDenyKeys {
		rd.keyRules = append(rd.keyRules, defaultKeyRules...)
	}
	for _, k := range o.DenyKeys {
		if k = strings.ToLower(k); k != "" {
			rd.keyRules = append(rd.keyRules, keyRule{name: k, frags: []string{k}})
		}
	}
	for _, r := range builtinRules {
		if !slices.Contains(o.DisablePatterns, r.name) {
			rd.rules = append(rd.rules, r)
		}
	}
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
		return &redactHandler{rd: rd, next: next}
	}
}

// scrubState collects what one redaction pass removed, as JSON entries.
type scrubState struct {
	path    []string // current attribute path, reused
	entries []byte   // JSON objects separated by commas
}

func (st *scrubState) note(key, rule string) {
	st.open()
	st.entries = appendString(st.entries, "attributes")
	for _, p := range st.path {
		st.entries = append(st.entries, ',')
		st.entries = appendString(st.entries, p)
	}
	st.entries = append(st.entries, ',')
	st.entries = appendString(st.entries, key)
	st.close(rule)
}

func (st *scrubState) noteMessage(rule string) {
	st.open()
	st.entries = appendString(st.entries, "message")
	st.close(rule)
}

func (st *scrubState) open() {
	if len(st.entries) > 0 {
		st.entries = append(st.entries, ',')
	}
	st.entries = append(st.entries, `{"path":[`...)
}

func (st *scrubState) close(rule string) {
	st.entries = append(st.entries, `],"matched_substring":`...)
	st.entries = appendString(st.entries, rule)
	st.entries = append(st.entries, '}')
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
	explicit := false
	if an != nil && !an.all {
		child := an.children[a.Key]
		if child == nil || (!child.all && a.Value.Kind() != slog.KindGroup) {
			if !a.Equal(slog.Attr{}) {
				st.note(a.Key, ruleAllowlist)
			}
			return a, false, true
		}
		an = child
		explicit = child.all
	}
	if !explicit {
		if rule := rd.deniedKey(a.Key); rule != "" {
			st.note(a.Key, rule)
			return slog.String(a.Key, rd.replacement), true, true
		}
	}
	switch a.Value.Kind() {
	case slog.KindString:
		s := a.Value.String()
		out, ch := s, false
		if rd.trimmer != nil && (a.Key == stacktraceKey || a.Key == codeFileKey) {
			out = rd.trimmer.trimText(out)
			ch = out != s
		}
		out, ch2 := rd.scrubNoted(out, a.Key, st)
		if ch || ch2 {
			return slog.String(a.Key, out), true, true
		}
	case slog.KindGroup:
		st.path = append(st.path, a.Key)
		attrs, ch := rd.redactAttrs(a.Value.Group(), an, st)
		st.path = st.path[:len(st.path)-1]
		if ch {
			return slog.Attr{Key: a.Key, Value: slog.GroupValue(attrs...)}, true, true
		}
	case slog.KindInt64:
		if v := a.Value.Int64(); v >= 1e12 || v <= -1e12 {
			return rd.scrubNumber(a, strconv.FormatInt(v, 10), st, changed)
		}
	case slog.KindUint64:
		if v := a.Value.Uint64(); v >= 1e12 {
			return rd.scrubNumber(a, strconv.FormatUint(v, 10), st, changed)
		}
	case slog.KindAny:
		text, ok := textOf(a.Value.Any())
		if !ok {
			break
		}
		if out, ch := rd.scrubNoted(text, a.Key, st); ch {
			return slog.String(a.Key, out), true, true
		}
	}
	return a, true, changed
}

func (rd *Redactor) scrubNoted(s, key string, st *scrubState) (string, bool) {
	out, hits := rd.scrubString(s)
	if hits != 0 {
		rd.ruleNames(hits, func(name string) { st.note(key, name) })
	}
	return out, hits != 0
}

// textOf returns the text of errors, Stringers and other values the next
// handler would format; ok is false for values with no text to scrub or
// whose formatting panics.
func textOf(v any) (text string, ok bool) {
	defer func() {
		if recover() != nil {
			text, ok = "", false
		}
	}()
	switch x := v.(type) {
	case nil:
		return "", false
	case error:
		return x.Error(), true
	case fmt.Stringer:
		return x.String(), true
	case []byte:
		return string(x), true
	default:
		return fmt.Sprint(v), true
	}
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
}

var _ slog.Handler = (*redactHandler)(nil)

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	st := scrubState{path: slices.Clone(h.groups)}
	red, _ := h.rd.redactAttrs(attrs, h.startNode(), &st)
	c := *h
	if len(st.entries) > 0 {
		n := slices.Clip(h.noted)
		if len(n) > 0 {
			n = append(n, ',')
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
	if parent := h.startNode(); parent != nil && !parent.all {
		c.an = parent.children[name]
		if c.an == nil {
			c.an = deniedNode // no allowlist entry reaches below this group
		}
	}
	return &c
}

// attrPool holds the slices Handle copies a record's attrs into; the next
// handler gets them through Record.AddAttrs, which copies.
var attrPool = sync.Pool{New: func() any { s := make([]slog.Attr, 0, 16); return &s }}

func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	st := scrubState{path: slices.Clip(h.groups)}
	msg, msgChanged := r.Message, false
	if m, hits := h.rd.scrubString(msg); hits != 0 {
		msg, msgChanged = m, true
		h.rd.ruleNames(hits, st.noteMessage)
	}
	bp := attrPool.Get().(*[]slog.Attr)
	defer func() {
		clear(*bp)
		*bp = (*bp)[:0]
		attrPool.Put(bp)
	}()
	attrs := (*bp)[:0]
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	*bp = attrs
	red, changed := h.rd.redactAttrs(attrs, h.startNode(), &st)
	if !msgChanged && !changed && len(st.entries) == 0 && len(h.noted) == 0 && len(h.groups) == 0 {
		return h.next.Handle(ctx, r)
	}
	nr := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	if len(h.groups) == 0 {
		nr.AddAttrs(red...)
	} else {
		inner := append(slices.Clip(h.bound[len(h.bound)-1]), red...)
		for i := len(h.groups) - 1; i >= 0; i-- {
			g := slog.Attr{Key: h.groups[i], Value: slog.GroupValue(inner...)}
			if i == 0 {
				nr.AddAttrs(g)
				break
			}
			inner = append(slices.Clip(h.bound[i-1]), g)
		}
	}
	if len(h.noted) > 0 || len(st.entries) > 0 {
		nr.AddAttrs(slog.String(ScrubbedKey, scrubbedJSON(h.noted, st.entries)))
	}
	return h.next.Handle(ctx, nr)
}

func scrubbedJSON(a, b []byte) string {
	buf := make([]byte, 0, len(a)+len(b)+3)
	buf = append(buf, '[')
	buf = append(buf, a...)
	if len(a) > 0 && len(b) > 0 {
		buf = append(buf, ',')
	}
	buf = append(buf, b...)
	buf = append(buf, ']')
	return string(buf)
}
