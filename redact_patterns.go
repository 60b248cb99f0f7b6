package slogotlp

import (
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
)

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

func hintPrefilter(hint string) func(string, features) bool {
	if hint == "" {
		return func(string, features) bool { return true }
	}
	return func(s string, _ features) bool { return strings.Contains(s, hint) }
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
