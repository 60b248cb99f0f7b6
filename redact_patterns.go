package slogotlp

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Names of the built-in value patterns; they appear in ScrubbedKey entries
// and may be listed in RedactOptions.DisablePatterns. BuiltinPatterns lists
// them all, the provider token formats included.
const (
	PatternEmail        = "email"
	PatternBearer       = "bearer"
	PatternJWT          = "jwt"
	PatternLogfireToken = "logfire_token"
	PatternAPIKey       = "api_key" // sk-... keys: OpenAI, Anthropic, DeepSeek and others
	PatternIPv4         = "ipv4"
	PatternIPv6         = "ipv6"
	PatternCreditCard   = "credit_card"
	// PatternPrivateKey is a PEM private key block ("-----BEGIN ... PRIVATE
	// KEY-----" to its END line, or to the end of the text when cut off).
	PatternPrivateKey = "private_key_block"
	// PatternURLCredentials is the password in a URL's user info
	// ("postgres://app:<password>@db/x").
	PatternURLCredentials = "url_credentials"
	// PatternWebhookURL is the secret part of a Slack, Discord, Microsoft
	// Teams or Zapier incoming-webhook URL.
	PatternWebhookURL = "webhook_url"
	// PatternSecretAssignment is the value in a key=value pair of free text
	// whose key the key rules deny: "password=hunter2", `"token": "..."`,
	// "aws_secret_access_key = ...", "Authorization: Basic ...",
	// "<password>...</password>". Its ScrubbedKey entries name the key text
	// that matched (as Logfire's do), not this rule.
	PatternSecretAssignment = "secret_assignment"
	// PatternCLICredentials is the user:password of curl's -u/--user flag.
	PatternCLICredentials = "cli_credentials"
)

// BuiltinPatterns returns the names of every built-in value pattern, in the
// order they run.
func BuiltinPatterns() []string {
	var out []string
	for _, r := range builtinRules {
		if r.name == ruleTokens {
			for _, t := range tokenFormats {
				if !slices.Contains(out, t.name) {
					out = append(out, t.name)
				}
			}
			continue
		}
		out = append(out, r.name)
	}
	return out
}

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
// checks them before doing any real work.
type features struct {
	at         bool // '@'
	digitDot   bool // digit '.' digit
	eq         bool // '='
	lt         bool // '<'
	gt         bool // '>'
	comma      bool // ','
	dashes     bool // "-----"
	scheme     bool // "://"
	dot        bool // '.'
	dash       bool // '-'
	under      bool // '_'
	tilde      bool // '~'
	tokenRun   int  // longest run of [A-Za-z0-9_.-]
	colons     int
	dblColon   bool // "::"
	hexColons  int  // most ':' in one run of [0-9A-Fa-f:], as in IPv6
	cardDigits int  // longest digit run, single ' ' or '-' allowed between digits
	wordRun    int  // longest run of [A-Za-z0-9_-]
}

// Byte classes for scan.
const (
	bDigit   = 1 << iota // 0-9
	bLetter              // A-Z a-z
	bHex                 // 0-9 A-F a-f
	bRun                 // [A-Za-z0-9_-]: a word run
	bToken               // [A-Za-z0-9_.-]: a token run
	bSpecial             // one of the bytes scan looks at one by one
	bStop                // a byte that makes a string not plain
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if isDigit(b) {
			t[c] |= bDigit | bHex
		}
		if isLower(b) || isUpper(b) {
			t[c] |= bLetter
		}
		if (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F') {
			t[c] |= bHex
		}
		if isAlnum(b) || b == '_' || b == '-' {
			t[c] |= bRun | bToken
		}
		if strings.IndexByte("@:=<>,.~_- ", b) >= 0 {
			t[c] |= bSpecial
		}
		if strings.IndexByte("@:=<>,.~_-", b) >= 0 {
			t[c] |= bStop
		}
	}
	t['.'] |= bToken
	return t
}()

// plain reports, more cheaply than scan, that s has none of the bytes any
// built-in rule needs and no run of word bytes as long as any rule's
// shortest match: letters, digits, spaces and slashes in short words ("GET",
// "/api/v1/items", "request handled"). A plain string is quiet.
func plain(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		cl := byteClass[s[i]]
		if cl&bStop != 0 {
			return false
		}
		if cl&bRun == 0 {
			// A space between digits continues a card number.
			if !(s[i] == ' ' && i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1])) {
				run = 0
			}
			continue
		}
		if run++; run >= 8 {
			return false
		}
	}
	return true
}

func scan(s string) features {
	var f features
	run, digits, dashes, trun, hexc := 0, 0, 0, 0, 0
	noCard := false // the current digit run started inside a word
	for i := 0; i < len(s); i++ {
		c := s[i]
		cl := byteClass[c]
		if cl&bRun != 0 {
			run++
			f.wordRun = max(f.wordRun, run)
		} else {
			run = 0
		}
		if cl&bToken != 0 {
			trun++
			f.tokenRun = max(f.tokenRun, trun)
		} else {
			trun = 0
		}
		if cl&bHex == 0 && c != ':' {
			hexc = 0
		}
		if cl&bDigit != 0 {
			if digits == 0 {
				noCard = i > 0 && isWordByte(s[i-1])
			}
			digits++
			if !noCard {
				f.cardDigits = max(f.cardDigits, digits)
			}
			if i+2 < len(s) && s[i+1] == '.' && isDigit(s[i+2]) {
				f.digitDot = true
			}
			dashes = 0
			continue
		}
		if cl&bSpecial == 0 {
			// A letter or another byte: ends a digit run, a dash run.
			digits, dashes = 0, 0
			continue
		}
		if c != '-' {
			dashes = 0
		}
		switch c {
		case '-', ' ':
			if c == '-' {
				f.dash = true
				if dashes++; dashes == 5 {
					f.dashes = true
				}
			}
			// One separator between digits keeps a card number going.
			if !(i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1])) {
				digits = 0
			}
			continue
		case '_':
			f.under = true
		case '@':
			f.at = true
		case ':':
			f.colons++
			hexc++
			f.hexColons = max(f.hexColons, hexc)
			if i > 0 && s[i-1] == ':' {
				f.dblColon = true
			}
			if i+2 < len(s) && s[i+1] == '/' && s[i+2] == '/' {
				f.scheme = true
			}
		case '=':
			f.eq = true
		case '<':
			f.lt = true
		case '>':
			f.gt = true
		case ',':
			f.comma = true
		case '.':
			f.dot = true
		case '~':
			f.tilde = true
		}
		digits = 0
	}
	return f
}

// quiet reports that no built-in rule's prefilter can pass: the common case
// of a short clean string, decided without calling any of them. It must
// stay in step with builtinRules (TestQuietGate checks it does).
func (f *features) quiet() bool {
	return f.tokenRun < 10 && f.wordRun < 8 && !f.dashes && !f.at && !f.eq && f.colons == 0 && !f.gt && !f.comma &&
		!f.tilde && !f.digitDot && f.cardDigits < 13 && !f.dblColon && f.hexColons < 7
}

// span is one match to replace: s[start:end], found by the rule name.
type span struct {
	start, end int
	name       string
}

// valueRule finds secrets in strings that pass pre: either the matches of re
// (submatch group, when set, is what gets replaced) that valid accepts, or
// whatever find reports.
type valueRule struct {
	name  string
	re    *regexp.Regexp
	group int
	pre   func(s string, f features) bool
	valid func(s string, start, end int) bool
	find  func(rd *Redactor, s string, f features, out []span) []span
}

// Rule names used internally.
const ruleTokens = "tokens" // the provider token table, each entry named apart

var (
	reEmail   = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}\b`)
	reBearer  = regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)`)
	reIPv6    = regexp.MustCompile(`[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}`)
	reCard    = regexp.MustCompile(`[2-6](?:[ \-]?[0-9]){12,18}`)
	reURLCred = regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^/\s:@"'<>]{0,128}:([^/\s@"'<>]{1,256})@[A-Za-z0-9\[]`)
	reWebhook = regexp.MustCompile(`(?:hooks\.slack\.com/(?:services|workflows|triggers)/|discord(?:app)?\.com/api/webhooks/|\.webhook\.office\.com/webhook(?:b2)?/|hooks\.zapier\.com/hooks/catch/)([A-Za-z0-9_\-+/@.]{8,})`)
	reAzure   = regexp.MustCompile(`(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?:$|[^A-Za-z0-9_~.\-])`)
	reTgBot   = regexp.MustCompile(`\b[0-9]{5,16}:A[A-Za-z0-9_\-]{34}\b`)
	reMailchp = regexp.MustCompile(`\b[0-9a-f]{32}-us[0-9]{1,2}\b`)
	reMaxmind = regexp.MustCompile(`\b[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk\b`)
)

func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }

// bearerToken accepts "Bearer x" only when x looks like a credential rather
// than a word of prose: it has a digit or one of ._~+/=- , or is long.
func bearerToken(s string, i, j int) bool {
	if j < len(s) && isWordByte(s[j]) {
		return false
	}
	tok := s[i:j]
	if sp := strings.IndexAny(tok, " \t\r\n"); sp >= 0 {
		tok = strings.TrimLeft(tok[sp:], " \t\r\n")
	}
	return len(tok) >= 24 || strings.ContainsAny(tok, "0123456789._~+/=-")
}

func containsFold(s, lowerSub string) bool {
	n := len(lowerSub)
	for i := 0; i+n <= len(s); i++ {
		if hasPrefixFold(s[i:], lowerSub) {
			return true
		}
	}
	return false
}

var builtinRules = []valueRule{
	{name: PatternPrivateKey, pre: func(s string, f features) bool { return f.dashes }, find: findPrivateKeys},
	{name: PatternURLCredentials, re: reURLCred, group: 1, pre: func(_ string, f features) bool { return f.scheme && f.at }},
	{name: PatternWebhookURL, re: reWebhook, group: 1, pre: func(s string, f features) bool {
		return f.dot && f.tokenRun >= 10 && (strings.Contains(s, "hooks.") || strings.Contains(s, "webhook"))
	}},
	// The shortest token is a JWT of 11 bytes ("eyJ0.eyJ0.0"); real ones are
	// longer than 16.
	{name: ruleTokens, pre: func(_ string, f features) bool { return f.tokenRun >= 11 }, find: findTokens},
	{name: "azure_client_secret", re: reAzure, group: 1, pre: func(s string, f features) bool { return f.tilde && strings.Contains(s, "Q~") }},
	{name: "telegram_bot_token", re: reTgBot, pre: func(s string, f features) bool {
		return f.colons > 0 && f.wordRun >= 34 && strings.Contains(s, ":A")
	}},
	{name: "mailchimp_key", re: reMailchp, pre: func(s string, f features) bool {
		return f.dash && f.wordRun >= 35 && strings.Contains(s, "-us")
	}},
	{name: "maxmind_key", re: reMaxmind, pre: func(s string, f features) bool {
		return f.under && f.wordRun >= 40 && strings.Contains(s, "_mmk")
	}},
	{name: PatternSecretAssignment, pre: func(_ string, f features) bool { return f.eq || f.colons > 0 || f.gt || f.comma }, find: findAssignments},
	{name: PatternCLICredentials, find: findCLICredentials, pre: func(s string, f features) bool {
		return f.colons > 0 && (strings.Contains(s, "-u") || strings.Contains(s, "--user"))
	}},
	{name: PatternBearer, re: reBearer, valid: bearerToken, pre: func(s string, f features) bool { return f.wordRun >= 8 && containsFold(s, "bearer") }},
	{name: PatternEmail, re: reEmail, valid: validEmail, pre: func(_ string, f features) bool { return f.at }},
	// An IPv6 address has "::" or, written out, seven colons.
	{name: PatternIPv6, re: reIPv6, pre: func(_ string, f features) bool { return f.dblColon || f.hexColons >= 7 }, valid: validIPv6},
	{name: PatternIPv4, pre: func(_ string, f features) bool { return f.digitDot }, find: findIPv4},
	{name: PatternCreditCard, re: reCard, pre: func(_ string, f features) bool { return f.cardDigits >= 13 }, valid: validCard},
}

// findPrivateKeys finds PEM private key blocks: from "-----BEGIN <label>-----"
// where the label ends in "PRIVATE KEY" or "PRIVATE KEY BLOCK", to the
// matching END line, or to the end of s when the block was cut off.
func findPrivateKeys(_ *Redactor, s string, _ features, out []span) []span {
	for off := 0; ; {
		i := strings.Index(s[off:], "-----BEGIN ")
		if i < 0 {
			return out
		}
		i += off
		labelEnd := strings.Index(s[i+11:], "-----")
		if labelEnd < 0 || labelEnd > 64 {
			off = i + 11
			continue
		}
		label := s[i+11 : i+11+labelEnd]
		if !strings.HasSuffix(label, "PRIVATE KEY") && !strings.HasSuffix(label, "PRIVATE KEY BLOCK") {
			off = i + 11
			continue
		}
		end := len(s)
		body := i + 11 + labelEnd + 5
		if e := strings.Index(s[body:], "-----END "); e >= 0 {
			end = body + e + 9
			if k := strings.Index(s[end:], "-----"); k >= 0 && k <= 64 {
				end += k + 5
			}
		}
		out = append(out, span{i, end, PatternPrivateKey})
		off = end
	}
}

func hintPrefilter(hint string) func(string, features) bool {
	if hint == "" {
		return func(string, features) bool { return true }
	}
	return func(s string, _ features) bool { return strings.Contains(s, hint) }
}

// ScrubString returns s with every secret the value rules find replaced, and
// whether anything was. It is what the redactor applies to the message and
// to string values (JSON text included); key rules apply only where there is
// a key (attributes, maps, JSON objects, key=value pairs in the text).
func (rd *Redactor) ScrubString(s string) (string, bool) {
	return rd.scrubStr(s, &scrubState{}, 0)
}

// scrubText applies the value rules to s in order, each to the output of
// the one before, and notes each rule that fired in st.
func (rd *Redactor) scrubText(s string, st *scrubState) (string, bool) {
	if s == "" {
		return s, false
	}
	var f features
	i0 := 0
	if plain(s) {
		i0 = rd.nBuiltin
	} else if f = scan(s); f.quiet() {
		i0 = rd.nBuiltin
	}
	changed := false
	for i := i0; i < len(rd.rules); i++ {
		r := &rd.rules[i]
		if !r.pre(s, f) {
			continue
		}
		spans := rd.findSpans(r, s, f, st.spans[:0])
		st.spans = spans[:0] // keep the grown buffer for the next string
		if len(spans) == 0 {
			continue
		}
		s = rd.replaceSpans(s, spans, st)
		changed = true
		f = scan(s)
	}
	return s, changed
}

func (rd *Redactor) findSpans(r *valueRule, s string, f features, out []span) []span {
	if r.find != nil {
		return r.find(rd, s, f, out)
	}
	if r.group == 0 && r.valid == nil {
		for _, l := range r.re.FindAllStringIndex(s, -1) {
			out = append(out, span{l[0], l[1], r.name})
		}
		return out
	}
	for _, l := range r.re.FindAllStringSubmatchIndex(s, -1) {
		a, b := l[2*r.group], l[2*r.group+1]
		if a < 0 || (r.valid != nil && !r.valid(s, a, b)) {
			continue
		}
		out = append(out, span{a, b, r.name})
	}
	return out
}

// replaceSpans replaces the (ordered, disjoint) spans of s and notes their
// rule names, each once.
func (rd *Redactor) replaceSpans(s string, spans []span, st *scrubState) string {
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for k, sp := range spans {
		if sp.start < last {
			continue
		}
		b.WriteString(s[last:sp.start])
		b.WriteString(rd.replacement)
		last = sp.end
		dup := false
		for _, prev := range spans[:k] {
			if prev.name == sp.name {
				dup = true
				break
			}
		}
		if !dup {
			st.note(sp.name)
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// cardInt reports whether v is a card number, noting it in st. Numbers of
// fewer than 13 digits, which cannot be one, are not formatted.
func (rd *Redactor) cardInt(v int64, st *scrubState) bool {
	return (v >= 1e12 || v <= -1e12) && rd.scrubNumber(strconv.FormatInt(v, 10), st)
}

// cardUint is cardInt for unsigned integers.
func (rd *Redactor) cardUint(v uint64, st *scrubState) bool {
	return v >= 1e12 && rd.scrubNumber(strconv.FormatUint(v, 10), st)
}

// scrubNumber redacts an integer that is a card number.
func (rd *Redactor) scrubNumber(digits string, st *scrubState) bool {
	if !rd.cards || !reCard.MatchString(digits) || !validCard(digits, 0, len(digits)) {
		return false
	}
	st.note(PatternCreditCard)
	return true
}
