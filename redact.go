package slogotlp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
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

// Names of the built-in value patterns; they appear in ScrubbedKey entries
// and may be listed in RedactOptions.DisablePatterns.
const (
	PatternEmail        = "email"
	PatternBearer       = "bearer"
	PatternJWT          = "jwt"
	PatternLogfireToken = "logfire_token"
	PatternAPIKey       = "api_key"
	PatternIPv4         = "ipv4"
	PatternIPv6         = "ipv6"
	PatternCreditCard   = "credit_card"
)

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

// A Pattern is a custom value rule: every match of Expr in the message or a
// string value is replaced.
type Pattern struct {
	// Name identifies the rule in ScrubbedKey entries. Required.
	Name string
	// Expr is a regular expression in RE2 syntax (package regexp).
	Expr string
	// Hint is a literal that every match contains. When set, the regexp runs
	// only on strings containing it, which keeps clean records cheap. Default:
	// the regexp's literal prefix, if it has one.
	Hint string
}

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

// DefaultDenyKeys returns the key fragments the redactor denies by default.
// Matching is case-insensitive and looks for the fragment anywhere in the key,
// except where noted: a fragment marked "word" must stand at word boundaries
// (start, end, '_', '-', '.', ' ' or a lower-to-upper case change), so "ssn"
// hits "user_ssn" and "userSSN" but not "classname". It covers what Logfire's
// SDK scrubs by default plus "token":
//
//	password, passwd, mysql_pwd, passphrase, secret, auth (not "author(s)"),
//	credential, private_key, api_key (any of "_", "-", ".", " " or nothing
//	between the words), session, cookie, social_security, credit_card,
//	token (not "tokens", "tokenizer": "max_tokens" stays), and the words
//	csrf, xsrf, jwt, ssn.
func DefaultDenyKeys() []string {
	out := make([]string, 0, len(defaultKeyRules))
	for _, r := range defaultKeyRules {
		out = append(out, r.name)
	}
	return out
}

// keyRule matches a key fragment with optional boundary conditions.
type keyRule struct {
	name     string   // reported rule name
	frags    []string // lowercase fragments; any of them matches
	leftWord bool     // fragment must start at a word boundary
	rightEnd bool     // fragment must end at a word boundary
	notThen  []string // fragment must not be followed by one of these + boundary
}

func sepVariants(a, b string) []string {
	return []string{a + b, a + "_" + b, a + "-" + b, a + "." + b, a + " " + b}
}

var defaultKeyRules = []keyRule{
	{name: "password", frags: []string{"password", "passwd", "mysql_pwd", "passphrase"}},
	{name: "secret", frags: []string{"secret"}},
	{name: "auth", frags: []string{"auth"}, notThen: []string{"or", "ors"}},
	{name: "credential", frags: []string{"credential"}},
	{name: "private_key", frags: sepVariants("private", "key")},
	{name: "api_key", frags: sepVariants("api", "key")},
	{name: "session", frags: []string{"session"}},
	{name: "cookie", frags: []string{"cookie"}},
	{name: "social_security", frags: sepVariants("social", "security")},
	{name: "credit_card", frags: sepVariants("credit", "card")},
	{name: "token", frags: []string{"token"}, rightEnd: true},
	{name: "csrf", frags: []string{"csrf"}, leftWord: true, rightEnd: true},
	{name: "xsrf", frags: []string{"xsrf"}, leftWord: true, rightEnd: true},
	{name: "jwt", frags: []string{"jwt"}, leftWord: true, rightEnd: true},
	{name: "ssn", frags: []string{"ssn"}, leftWord: true, rightEnd: true},
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) }

// boundaryBefore reports whether a word starts at key[i].
func boundaryBefore(key string, i int) bool {
	if i == 0 || !isAlnum(key[i-1]) {
		return true
	}
	return isLower(key[i-1]) && isUpper(key[i])
}

// boundaryAt reports whether a word ends just before key[j].
func boundaryAt(key string, j int) bool {
	if j >= len(key) || !isAlnum(key[j]) {
		return true
	}
	return isUpper(key[j]) && !isUpper(key[j-1])
}

// match reports whether key (lower is its ASCII-lowercased form) hits r.
func (r *keyRule) match(key, lower string) bool {
	for _, f := range r.frags {
		for off := 0; off <= len(lower)-len(f); {
			i := strings.Index(lower[off:], f)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			j := i + len(f)
			if r.leftWord && !boundaryBefore(key, i) {
				continue
			}
			if r.rightEnd && !boundaryAt(key, j) {
				continue
			}
			if r.excluded(key, lower, j) {
				continue
			}
			return true
		}
	}
	return false
}

func (r *keyRule) excluded(key, lower string, j int) bool {
	for _, n := range r.notThen {
		if strings.HasPrefix(lower[j:], n) && boundaryAt(key, j+len(n)) {
			return true
		}
	}
	return false
}

// lowerASCII lowercases ASCII letters, using buf when the key needs a copy.
func lowerASCII(s string, buf []byte) string {
	i := 0
	for i < len(s) && !isUpper(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := append(buf[:0], s...)
	for ; i < len(b); i++ {
		if isUpper(b[i]) {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// features are facts about a string gathered in one pass; each value rule
// checks them before running its regexp.
type features struct {
	at         bool // '@'
	digitDot   bool // digit '.' digit
	colons     int
	cardDigits int // longest digit run, single ' ' or '-' allowed between digits
	wordRun    int // longest run of [A-Za-z0-9_-]
}

func scan(s string) features {
	var f features
	run, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
			run++
			if i+2 < len(s) && s[i+1] == '.' && isDigit(s[i+2]) {
				f.digitDot = true
			}
		case isAlnum(c) || c == '_':
			run++
			digits = 0
		case c == '-':
			run++
			if !(i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1])) {
				digits = 0
			}
		case c == ' ':
			run = 0
			if !(i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1])) {
				digits = 0
			}
		default:
			if c == '@' {
				f.at = true
			} else if c == ':' {
				f.colons++
			}
			run, digits = 0, 0
		}
		f.wordRun = max(f.wordRun, run)
		f.cardDigits = max(f.cardDigits, digits)
	}
	return f
}

// valueRule replaces matches of re in strings that pass pre.
type valueRule struct {
	name  string
	re    *regexp.Regexp
	pre   func(s string, f features) bool
	valid func(s string, start, end int) bool // nil: every match counts
}

var (
	reEmail   = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+`)
	reBearer  = regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{8,}=*`)
	reJWT     = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`)
	reLogfire = regexp.MustCompile(`pylf_v[0-9]+_[A-Za-z0-9_\-]+`)
	reAPIKey  = regexp.MustCompile(`(?:sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}|[spr]k_(?:live|test)_[A-Za-z0-9]{16,}|A[KS]IA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_\-]{20,}|xox[abposr]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35})`)
	reIPv4    = regexp.MustCompile(`(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}`)
	reIPv6    = regexp.MustCompile(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}`)
	reCard    = regexp.MustCompile(`[2-6](?:[ \-]?[0-9]){12,18}`)
)

func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }

// validIPv4 rejects dotted numbers that are part of something longer, such as
// the version strings "1.2.3.4-beta", "v1.2.3.4" and "1.2.3.4.5".
func validIPv4(s string, i, j int) bool {
	if i > 0 && (isWordByte(s[i-1]) || s[i-1] == '.' || s[i-1] == '-') {
		return false
	}
	if j < len(s) {
		c := s[j]
		if isWordByte(c) || c == '-' || c == '+' {
			return false
		}
		if c == '.' && j+1 < len(s) && isAlnum(s[j+1]) {
			return false
		}
	}
	return true
}

// validIPv6 keeps candidates that parse as an IPv6 address and stand alone,
// so "std::vector" and "12:30:45" are left alone.
func validIPv6(s string, i, j int) bool {
	if i > 0 && (isWordByte(s[i-1]) || s[i-1] == ':' || s[i-1] == '.') {
		return false
	}
	if j < len(s) && (isWordByte(s[j]) || s[j] == ':') {
		return false
	}
	cand := s[i:j]
	if strings.Trim(cand, ":") == "" {
		return false
	}
	a, err := netip.ParseAddr(cand)
	return err == nil && a.Is6()
}

// validCard keeps 13 to 19 digit numbers with one consistent separator (or
// none) that pass the Luhn check and are not part of a longer number.
func validCard(s string, i, j int) bool {
	if i > 0 && (isWordByte(s[i-1]) || s[i-1] == '-' || s[i-1] == '.') {
		return false
	}
	if j < len(s) && (isWordByte(s[j]) || s[j] == '-' || (s[j] == '.' && j+1 < len(s) && isAlnum(s[j+1]))) {
		return false
	}
	var sep byte
	digits := 0
	for k := i; k < j; k++ {
		c := s[k]
		if isDigit(c) {
			digits++
			continue
		}
		if sep != 0 && c != sep {
			return false
		}
		sep = c
	}
	return digits >= 13 && digits <= 19 && luhn(s[i:j])
}

// luhn runs the Luhn checksum over the digits of s.
func luhn(s string) bool {
	sum, double := 0, false
	for k := len(s) - 1; k >= 0; k-- {
		c := s[k]
		if !isDigit(c) {
			continue
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func containsFold(s, lowerSub string) bool {
	n := len(lowerSub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], lowerSub) {
			return true
		}
	}
	return false
}

var builtinRules = []valueRule{
	{name: PatternLogfireToken, re: reLogfire, pre: func(s string, _ features) bool { return strings.Contains(s, "pylf_v") }},
	{name: PatternJWT, re: reJWT, pre: func(s string, _ features) bool { return strings.Contains(s, "eyJ") }},
	{name: PatternBearer, re: reBearer, pre: func(s string, f features) bool { return f.wordRun >= 8 && containsFold(s, "bearer") }},
	{name: PatternAPIKey, re: reAPIKey, pre: func(_ string, f features) bool { return f.wordRun >= 14 }},
	{name: PatternEmail, re: reEmail, pre: func(_ string, f features) bool { return f.at }},
	{name: PatternIPv6, re: reIPv6, pre: func(_ string, f features) bool { return f.colons >= 2 }, valid: validIPv6},
	{name: PatternIPv4, re: reIPv4, pre: func(_ string, f features) bool { return f.digitDot }, valid: validIPv4},
	{name: PatternCreditCard, re: reCard, pre: func(_ string, f features) bool { return f.cardDigits >= 13 }, valid: validCard},
}

// allowNode is one level of the allowlist trie.
type allowNode struct {
	all      bool // this path itself is listed: keep the whole subtree
	children map[string]*allowNode
}

func (n *allowNode) add(path []string) {
	for _, p := range path {
		if n.children == nil {
			n.children = map[string]*allowNode{}
		}
		c := n.children[p]
		if c == nil {
			c = &allowNode{}
			n.children[p] = c
		}
		n = c
	}
	n.all = true
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

func hintPrefilter(hint string) func(string, features) bool {
	if hint == "" {
		return func(string, features) bool { return true }
	}
	return func(s string, _ features) bool { return strings.Contains(s, hint) }
}

// Redact returns a middleware that redacts with opts. It never panics: when
// opts holds an invalid custom pattern, that pattern is skipped and the rest
// applies; use NewRedactor to see the error.
func Redact(opts *RedactOptions) func(slog.Handler) slog.Handler {
	rd, err := NewRedactor(opts)
	if err != nil {
		o := *opts
		o.Patterns = slices.DeleteFunc(slices.Clone(o.Patterns), func(p Pattern) bool {
			_, err := regexp.Compile(p.Expr)
			return p.Name == "" || err != nil
		})
		rd, _ = NewRedactor(&o)
	}
	return rd.Middleware()
}

// Middleware returns the redactor as slog middleware, for slogmulti.Pipe or
// direct use: Middleware()(next).
func (rd *Redactor) Middleware() func(slog.Handler) slog.Handler {
	return func(next slog.Handler) slog.Handler {
		return &redactHandler{rd: rd, next: next}
	}
}

// Handler wraps next so that every record passes through the redactor.
func (rd *Redactor) Handler(next slog.Handler) slog.Handler {
	return &redactHandler{rd: rd, next: next}
}

// ScrubString returns s with every value pattern match replaced, and whether
// anything matched. It is what the redactor applies to messages and string
// values.
func (rd *Redactor) ScrubString(s string) (string, bool) {
	out, hits := rd.scrubString(s)
	return out, hits != 0
}

// scrubString replaces pattern matches in s and reports which rules fired as
// a bit set over rd.rules (rules past 63 share the last bit).
func (rd *Redactor) scrubString(s string) (string, uint64) {
	if s == "" {
		return s, 0
	}
	f := scan(s)
	var hits uint64
	for i := range rd.rules {
		r := &rd.rules[i]
		if !r.pre(s, f) {
			continue
		}
		out, ok := rd.replaceAll(r, s)
		if !ok {
			continue
		}
		s = out
		hits |= 1 << min(i, 63)
		f = scan(s)
	}
	return s, hits
}

// ruleNames calls fn with the name of each rule in the bit set hits.
func (rd *Redactor) ruleNames(hits uint64, fn func(string)) {
	for i := range rd.rules {
		if hits&(1<<min(i, 63)) != 0 {
			fn(rd.rules[i].name)
			if i >= 63 {
				return
			}
		}
	}
}

func (rd *Redactor) replaceAll(r *valueRule, s string) (string, bool) {
	locs := r.re.FindAllStringIndex(s, -1)
	if len(locs) == 0 {
		return s, false
	}
	var b strings.Builder
	last, n := 0, 0
	for _, l := range locs {
		if r.valid != nil && !r.valid(s, l[0], l[1]) {
			continue
		}
		if n == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(rd.replacement)
		last = l[1]
		n++
	}
	if n == 0 {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// deniedKey returns the name of the key rule that key hits, or "".
func (rd *Redactor) deniedKey(key string) string {
	if len(rd.keyRules) == 0 || key == "" {
		return ""
	}
	var buf [64]byte
	lower := lowerASCII(key, buf[:])
	for i := range rd.keyRules {
		if rd.keyRules[i].match(key, lower) {
			return rd.keyRules[i].name
		}
	}
	return ""
}

// scrubState collects what one redaction pass removed, as JSON entries.
type scrubState struct {
	path    []string // current attribute path, reused
	entries []byte   // JSON objects separated by commas
}

func (st *scrubState) note(key, rule string) {
	st.open()
	st.entries = appendString(st.entries, "attributes", 0)
	for _, p := range st.path {
		st.entries = append(st.entries, ',')
		st.entries = appendString(st.entries, p, 0)
	}
	st.entries = append(st.entries, ',')
	st.entries = appendString(st.entries, key, 0)
	st.close(rule)
}

func (st *scrubState) noteMessage(rule string) {
	st.open()
	st.entries = appendString(st.entries, "message", 0)
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
	st.entries = appendString(st.entries, rule, 0)
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

// scrubNumber redacts an integer that is a card number.
func (rd *Redactor) scrubNumber(a slog.Attr, digits string, st *scrubState, changed bool) (slog.Attr, bool, bool) {
	for i := range rd.rules {
		if rd.rules[i].name == PatternCreditCard && reCard.MatchString(digits) && validCard(digits, 0, len(digits)) {
			st.note(a.Key, PatternCreditCard)
			return slog.String(a.Key, rd.replacement), true, true
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

// deniedNode is the allowlist node of a group path no entry reaches.
var deniedNode = &allowNode{}

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
// Relative paths are returned as they are. The handler applies it to source
// locations; the redactor applies it to exception.stacktrace and
// code.file.path values.
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
