package slogotlp

import (
	"encoding/base64"
	"net/netip"
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

// findIPv4 finds dotted quads: runs of digits and dots made of exactly four
// numbers (a trailing '.' ends a sentence) that validIPv4 accepts. Longer
// runs ("1.2.3.4.5", OIDs) are not addresses. It allocates only for a match.
func findIPv4(_ *Redactor, s string, _ features, out []span) []span {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && (isDigit(s[i-1]) || s[i-1] == '.')) {
			i++
			continue
		}
		j := i
		for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
			j++
		}
		end := j
		if s[end-1] == '.' {
			end-- // "from 203.0.113.9."
		}
		if quad(s[i:end]) && validIPv4(s, i, end) {
			out = append(out, span{i, end, PatternIPv4})
		}
		i = j
	}
	return out
}

// quad reports whether s is four dot-separated numbers of 1 to 3 digits.
func quad(s string) bool {
	groups, n := 0, 0
	for k := 0; k <= len(s); k++ {
		if k == len(s) || s[k] == '.' {
			if n == 0 || n > 3 {
				return false
			}
			groups++
			n = 0
			continue
		}
		n++
	}
	return groups == 4
}

// validIPv4 rejects dotted numbers that are not a host's address: parts of
// something longer ("1.2.3.4-beta", "v1.2.3.4", "1.2.3.4.5"), product
// versions ("Chrome/120.0.0.0", "version 1.2.3.4"), section numbers
// ("Section 4.2.1.6"), networks in CIDR notation ("10.0.0.0/8"), network,
// broadcast and unspecified addresses (ending in .0 or .255), netmasks and
// loopback 127/8.
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
	// A product token: "Name/1.2.3.4".
	if i > 1 && s[i-1] == '/' && isAlnum(s[i-2]) {
		return false
	}
	if i > 0 && s[i-1] == ' ' {
		for _, w := range []string{"version", "section", "sec", "chapter", "clause", "step", "rfc"} {
			if hasSuffixFold(s[:i-1], w) {
				return false
			}
		}
	}
	if strings.HasPrefix(s[:i], "§") || (i >= 2 && s[i-2:i] == "§") {
		return false
	}
	if cidrSuffix(s, j) {
		return false
	}
	a, err := netip.ParseAddr(s[i:j])
	if err != nil {
		return false
	}
	b := a.As4()
	if b[0] <= 9 && b[1] <= 12 && b[2] <= 12 && b[3] <= 12 {
		return false // "4.2.11.2", "8.1.2.3": a section or version number
	}
	return b[3] != 0 && b[3] != 255 && b[0] != 127 && b[0] != 255
}

// cidrSuffix reports whether s[j:] is "/<digits>": the candidate before it
// is a network prefix, not a host.
func cidrSuffix(s string, j int) bool {
	return j+1 < len(s) && s[j] == '/' && isDigit(s[j+1])
}

func hasSuffixFold(s, lower string) bool {
	return len(s) >= len(lower) && hasPrefixFold(s[len(s)-len(lower):], lower)
}

// validIPv6 keeps candidates that parse as an IPv6 address and stand alone,
// so "std::vector", "12:30:45", MAC-style byte lists ("00:1a:2b:3c:4d:5e:6f:70")
// and the loopback and unspecified addresses are left alone.
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
	if cidrSuffix(s, j) {
		return false
	}
	a, err := netip.ParseAddr(cand)
	if err != nil || !a.Is6() || a.IsLoopback() || a.IsUnspecified() || a == netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}) {
		return false
	}
	if !strings.Contains(cand, "::") && !strings.Contains(cand, ".") {
		// Eight groups of exactly two hex digits: a byte list (EUI-64, WWN,
		// fingerprint), not an address written out.
		bytesOnly := true
		for g := range strings.SplitSeq(cand, ":") {
			if len(g) != 2 {
				bytesOnly = false
				break
			}
		}
		if bytesOnly {
			return false
		}
	}
	return true
}

// validCard keeps 13 to 19 digit numbers with one consistent separator (or
// none) that pass the Luhn check, fit a card network's prefix and length,
// and are not part of a longer number.
func validCard(s string, i, j int) bool {
	if i > 0 && (isWordByte(s[i-1]) || s[i-1] == '-' || s[i-1] == '.') {
		return false
	}
	if j < len(s) && (isWordByte(s[j]) || s[j] == '-' || (s[j] == '.' && j+1 < len(s) && isAlnum(s[j+1]))) {
		return false
	}
	var sep byte
	var digits [19]byte
	n := 0
	for k := i; k < j; k++ {
		c := s[k]
		if isDigit(c) {
			if n == len(digits) {
				return false
			}
			digits[n] = c
			n++
			continue
		}
		if sep != 0 && c != sep {
			return false
		}
		sep = c
	}
	return n >= 13 && cardNetwork(string(digits[:n])) && luhn(s[i:j])
}

// cardNetwork reports whether d has the prefix and length of a card issued by
// Visa, Mastercard, American Express, Discover, JCB, Diners Club or UnionPay.
func cardNetwork(d string) bool {
	n := len(d)
	p2, _ := strconv.Atoi(d[:2])
	p3, _ := strconv.Atoi(d[:3])
	p4, _ := strconv.Atoi(d[:4])
	switch {
	case d[0] == '4':
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return n == 16
	case p2 == 34 || p2 == 37:
		return n == 15
	case p4 == 6011, p2 == 65, p3 >= 644 && p3 <= 649:
		return n >= 16 && n <= 19
	case p4 >= 3528 && p4 <= 3589:
		return n >= 16 && n <= 19
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39:
		return n >= 14 && n <= 19
	case p2 == 62:
		return n >= 16 && n <= 19
	}
	return false
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

// validEmail rejects what only looks like an address: an SSH remote or
// host:port after the domain ("git@github.com:org/repo"), the user of a URL
// ("ssh://git@github.com/org/repo"), and image assets at a pixel density
// ("icon@2x.png").
func validEmail(s string, i, j int) bool {
	if j+1 < len(s) && s[j] == ':' && s[j+1] != ' ' {
		return false
	}
	if i >= 3 && s[i-3:i] == "://" {
		return false
	}
	at := strings.IndexByte(s[i:j], '@') + i
	d := s[at+1 : j]
	if len(d) > 2 && isDigit(d[0]) && d[1] == 'x' && d[2] == '.' {
		return false
	}
	return s[i] != '.' && s[at-1] != '.'
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

// A tokenFormat is a provider's credential format: a literal prefix and an
// expression (anchored, prefix included) for the whole token.
type tokenFormat struct {
	name     string
	prefixes []string
	re       *regexp.Regexp
	check    func(tok, body string) bool // nil: any match counts; body follows the prefix
}

func tok(name, expr string, prefixes ...string) tokenFormat {
	return tokenFormat{name: name, prefixes: prefixes, re: regexp.MustCompile(`^(?:` + expr + `)`), check: looksRandom}
}

// looksRandom reports whether the body of a token (what follows its
// prefix) mixes at least two of digits, upper- and lowercase letters, as
// generated credentials do; a word or an identifier in one case
// ("sk-learn-compatible-estimators") or a placeholder ("glpat-XXXXXXXX")
// does not.
func looksRandom(_, body string) bool {
	var digit, upper, lower int
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case isDigit(c):
			digit = 1
		case isUpper(c):
			upper = 1
		case isLower(c):
			lower = 1
		}
	}
	return digit+upper+lower >= 2
}

// mixedCase accepts letter-only bodies whose case changes as randomly
// generated ones do, not as a camelCase identifier does
// ("hf_requiredCharacteristicTypes...").
func mixedCase(_, body string) bool {
	upper, letters := 0, 0
	for i := 0; i < len(body); i++ {
		if isUpper(body[i]) {
			upper++
		}
		if isUpper(body[i]) || isLower(body[i]) {
			letters++
		}
	}
	return letters > 0 && upper*5 >= letters && upper*5 <= letters*4
}

func withCheck(t tokenFormat, check func(tok, body string) bool) tokenFormat {
	t.check = check
	return t
}

// tokenFormats are the credential formats recognised on their own, without
// a key naming them. Each starts at a token boundary (not inside a longer
// identifier) and must end at one. Formats follow the providers' documented
// token shapes.
var tokenFormats = []tokenFormat{
	{name: PatternLogfireToken, prefixes: []string{"pylf_v"}, re: regexp.MustCompile(`^pylf_v[0-9]+_[A-Za-z0-9_\-]+`)},
	jwtFormat,
	tok(PatternJWT, `ZXlK[A-Za-z0-9+/_\-]{40,}={0,2}`, "ZXlK"), // a base64-encoded JWT
	tok(PatternAPIKey, `sk-[A-Za-z0-9_\-]{20,}`, "sk-"),
	tok("aws_access_key", `(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}`, "A3T", "AKIA", "ASIA", "ABIA", "ACCA"),
	tok("aws_bedrock_key", `ABSK[A-Za-z0-9+/]{100,280}={0,2}|bedrock-api-key-[A-Za-z0-9+/=]{20,}`, "ABSK", "bedrock-api-key-"),
	tok("github_token", `gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}`, "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
	tok("gitlab_token", `gl(?:pat|dt|rt|rtr|ft|imt|agent|oas|soat|ffct|ptt|cbt)-[0-9A-Za-z_.\-]{20,300}|GR1348941[0-9A-Za-z_\-]{20,}`,
		"glpat-", "gldt-", "glrt-", "glrtr-", "glft-", "glimt-", "glagent-", "gloas-", "glsoat-", "glffct-", "glptt-", "glcbt-", "GR1348941"),
	tok("slack_token", `xox[a-z](?:\.xox[a-z])?-[0-9A-Za-z\-]{8,}|xapp-[0-9]-[A-Za-z0-9\-]{20,}`, "xox", "xapp-"),
	tok("stripe_key", `(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,255}|whsec_[A-Za-z0-9+/=]{24,}`, "sk_", "rk_", "whsec_"),
	tok("google_api_key", `AIza[0-9A-Za-z_\-]{35}|GOCSPX-[A-Za-z0-9_\-]{20,}|ya29\.[0-9A-Za-z_\-]{20,}`, "AIza", "GOCSPX-", "ya29."),
	tok("npm_token", `npm_[A-Za-z0-9]{36}`, "npm_"),
	tok("pypi_token", `pypi-AgE[A-Za-z0-9_\-]{50,}`, "pypi-AgE"),
	tok("sendgrid_key", `SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}|SG\.[A-Za-z0-9_=\-.]{66}`, "SG."),
	tok("twilio_key", `SK[0-9a-fA-F]{32}`, "SK"),
	withCheck(tok("huggingface_token", `hf_[A-Za-z]{34}|api_org_[A-Za-z]{34}`, "hf_", "api_org_"), mixedCase),
	tok("digitalocean_token", `do[opr]_v1_[a-f0-9]{64}`, "dop_v1_", "doo_v1_", "dor_v1_"),
	tok("shopify_token", `shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`, "shpat_", "shpca_", "shppa_", "shpss_"),
	tok("databricks_token", `dapi[a-f0-9]{32}(?:-[0-9])?`, "dapi"),
	tok("doppler_token", `dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}`, "dp."),
	tok("postman_key", `PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}`, "PMAK-"),
	tok("linear_key", `lin_(?:api|oauth)_[A-Za-z0-9]{40}`, "lin_"),
	tok("sentry_token", `sntry[su]_[A-Za-z0-9+/=_]{40,}`, "sntrys_", "sntryu_"),
	tok("grafana_token", `glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{60,400}={0,3}`, "glc_", "glsa_", "eyJrIjoi"),
	tok("vault_token", `hvs\.[A-Za-z0-9_\-]{90,}|hvb\.[A-Za-z0-9_\-]{138,}`, "hvs.", "hvb."),
	withCheck(tok("vault_token", `s\.[A-Za-z0-9]{24}`, "s."), func(tok, body string) bool { // legacy: random base62
		return looksRandom(tok, body) && mixedCase(tok, body)
	}),
	tok("pulumi_token", `pul-[a-f0-9]{40}`, "pul-"),
	tok("planetscale_token", `pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.\-]{32,64}`, "pscale_"),
	withCheck(tok("age_secret_key", `AGE-SECRET-KEY-1[0-9A-Z]{58}`, "AGE-SECRET-KEY-1"), nil), // the prefix says it all
	tok("onepassword_token", `ops_eyJ[A-Za-z0-9+/]{250,}={0,3}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}`, "ops_eyJ", "A3-"),
	tok("newrelic_key", `NRAK-[A-Za-z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9\-]{32}`, "NRAK-", "NRJS-", "NRII-"),
	tok("atlassian_token", `ATATT3[A-Za-z0-9_=\-]{150,}|ATCTT3[A-Za-z0-9_=\-]{150,}`, "ATATT3", "ATCTT3"),
	tok("notion_token", `ntn_[0-9]{11}[A-Za-z0-9]{35}`, "ntn_"),
	tok("dynatrace_token", `dt0[a-z][0-9]{2}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}`, "dt0"),
	tok("easypost_key", `EZ[AT]K[A-Za-z0-9]{54}`, "EZAK", "EZTK"),
	tok("heroku_key", `HRKU-[A-Za-z0-9_\-]{60}`, "HRKU-"),
	tok("flyio_token", `fo1_[A-Za-z0-9_\-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}`, "fo1_", "fm1", "fm2"),
	tok("square_token", `EAAA[A-Za-z0-9_\-]{22,60}|sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,43}`, "EAAA", "sq0"),
	tok("facebook_token", `EAA[MC][A-Za-z0-9]{100,}|EAACEdEose0cBA[0-9A-Za-z]+`, "EAAM", "EAAC"),
	tok("rubygems_key", `rubygems_[a-f0-9]{48}`, "rubygems_"),
	tok("clojars_token", `(?i:CLOJARS_[a-z0-9]{60})`, "CLOJARS_", "clojars_"),
	tok("sendinblue_key", `xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}`, "xkeysib-"),
	tok("mailgun_key", `key-[a-f0-9]{32}`, "key-"),
	tok("shippo_token", `shippo_(?:live|test)_[a-fA-F0-9]{40}`, "shippo_"),
	tok("settlemint_token", `sm_(?:pat|aat|sat)_[A-Za-z0-9]{16}`, "sm_"),
	tok("prefect_token", `pnu_[A-Za-z0-9]{36}`, "pnu_"),
	tok("readme_key", `rdme_[a-z0-9]{70}`, "rdme_"),
	tok("scalingo_token", `tk-us-[A-Za-z0-9_\-]{48}`, "tk-us-"),
	tok("infracost_token", `ico-[A-Za-z0-9]{32}`, "ico-"),
	tok("duffel_token", `duffel_(?:test|live)_[A-Za-z0-9_=\-]{43}`, "duffel_"),
	tok("frameio_token", `fio-u-[A-Za-z0-9_=\-]{64}`, "fio-u-"),
	tok("flutterwave_key", `FLW(?:SECK|PUBK)_TEST-[A-Za-z0-9]{12,32}(?:-X)?`, "FLWSECK_", "FLWPUBK_"),
	tok("openshift_token", `sha256~[A-Za-z0-9_\-]{43}`, "sha256~"),
	tok("harness_token", `(?:pat|sat)\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}`, "pat.", "sat."),
	tok("artifactory_key", `AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59}`, "AKCp", "cmVmd"),
	tok("authress_key", `(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_\-][a-z0-9\-]{10,32}\.[A-Za-z0-9+/_=\-]{30,120}`, "sc_", "ext_", "scauth_", "authress_"),
	tok("cloudflare_origin_ca_key", `v1\.0-[a-f0-9]{24}-[a-f0-9]{146}`, "v1.0-"),
	tok("defined_networking_key", `dnkey-[A-Za-z0-9=_\-]{26}-[A-Za-z0-9=_\-]{52}`, "dnkey-"),
	tok("perplexity_key", `pplx-[A-Za-z0-9]{48}`, "pplx-"),
	tok("sourcegraph_token", `sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}`, "sgp_"),
	tok("intra42_secret", `s-s4t2(?:ud|af)-[a-fA-F0-9]{64}`, "s-s4t2"),
	tok("octopus_key", `API-[A-Z0-9]{26}`, "API-"),
	tok("alibaba_key", `LTAI[A-Za-z0-9]{20}`, "LTAI"),
	tok("airtable_token", `pat[A-Za-z0-9]{14}\.[a-f0-9]{64}`, "pat"),
	tok("clickhouse_key", `4b1d[A-Za-z0-9]{38}`, "4b1d"),
	tok("adobe_secret", `p8e-[A-Za-z0-9]{32}`, "p8e-"),
	tok("mapbox_token", `[ps]k\.[A-Za-z0-9]{60,}\.[A-Za-z0-9_\-]{20,}`, "pk.", "sk."),
	tok("twitter_bearer", `A{22}[A-Za-z0-9%]{80,100}`, "AAAAAAAAAAAAAAAAAAAAAA"),
	tok("yandex_key", `t1\.[A-Za-z0-9_\-]+=*\.[A-Za-z0-9_\-]{86}=*|AQVN[A-Za-z0-9_\-]{35,38}|YC[A-Za-z0-9_\-]{38}`, "t1.", "AQVN", "YC"),
	tok("lob_key", `(?:live|test)_(?:pub_)?[a-f0-9]{31,35}`, "live_", "test_"),
	tok("plaid_token", `access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`, "access-"),
	tok("typeform_token", `tfp_[A-Za-z0-9_.=\-]{59}`, "tfp_"),
	tok("beamer_token", `b_[a-z0-9=_\-]{44}`, "b_"),
}

// jwtFormat is a JSON Web Token: three base64url segments whose first two
// decode to JSON objects. The header need not be compact JSON: "eyJ" is
// `{"`, "ewog" is "{\n " and "eyAi" is `{ "`.
var jwtFormat = tokenFormat{
	name:     PatternJWT,
	prefixes: []string{"ey", "ew"},
	re:       regexp.MustCompile(`^e[wy][A-Za-z0-9_\-]+\.e[wy][A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*={0,2}`),
	check: func(tok, _ string) bool {
		h, rest, _ := strings.Cut(tok, ".")
		p, _, _ := strings.Cut(rest, ".")
		if jsonObjectB64(h) && jsonObjectB64(p) {
			return true
		}
		// Not decodable, but the shape and length of one (a token cut or
		// re-encoded on the way): long random segments, not prose.
		return len(h) >= 17 && len(p) >= 17 && looksRandom("", h) && looksRandom("", p)
	},
}

// jsonObjectB64 reports whether the base64url text seg starts a JSON object:
// '{', optional white space, then '"'.
func jsonObjectB64(seg string) bool {
	if len(seg) < 4 {
		return false
	}
	var buf [6]byte
	n := min(len(seg), 8) &^ 3
	k, err := base64.RawURLEncoding.Decode(buf[:], []byte(seg[:n]))
	if err != nil || k == 0 || buf[0] != '{' {
		return false
	}
	for _, c := range buf[1:k] {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			return true
		default:
			return false
		}
	}
	return k < 3 // only white space after '{' so far
}

// tokenIndex maps a token's first byte to the formats that may start there.
type tokenIndex [256][]*tokenFormat

func newTokenIndex(disabled []string) *tokenIndex {
	var ix tokenIndex
	for i := range tokenFormats {
		t := &tokenFormats[i]
		if slices.Contains(disabled, t.name) {
			continue
		}
		seen := [256]bool{}
		for _, p := range t.prefixes {
			c := p[0]
			if !seen[c] {
				seen[c] = true
				ix[c] = append(ix[c], t)
			}
		}
	}
	return &ix
}

// tokenByte reports whether c continues an identifier or a dotted name: a
// token is not matched inside one ("disk-sk-...", "my_sk_test_...",
// "video_box.ico-7a38...png").
func tokenByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// tokenStart reports whether a token may start at s[i].
func tokenStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	if !tokenByte(s[i-1]) {
		return true
	}
	// After an escaped control character in JSON text: "\n" + token.
	return i >= 2 && s[i-2] == '\\' && (s[i-1] == 'n' || s[i-1] == 'r' || s[i-1] == 't')
}

func findTokens(rd *Redactor, s string, _ features, out []span) []span {
	ix := rd.tokens
	for i := 0; i < len(s); i++ {
		cands := ix[s[i]]
		if len(cands) == 0 || !tokenStart(s, i) {
			continue
		}
		for _, t := range cands {
			plen := t.prefixLen(s[i:])
			if plen == 0 {
				continue
			}
			loc := t.re.FindStringIndex(s[i:])
			if loc == nil {
				continue
			}
			end := i + loc[1]
			if end < len(s) && isWordByte(s[end]) {
				continue
			}
			if t.check != nil && !t.check(s[i:end], s[i+plen:end]) {
				continue
			}
			out = append(out, span{i, end, t.name})
			i = end - 1
			break
		}
	}
	return out
}

// prefixLen returns the length of the prefix of t that s starts with, or 0.
func (t *tokenFormat) prefixLen(s string) int {
	for _, p := range t.prefixes {
		if strings.HasPrefix(s, p) {
			return len(p)
		}
	}
	return 0
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

// scrubNumber redacts an integer that is a card number.
func (rd *Redactor) scrubNumber(digits string, st *scrubState) bool {
	if !rd.cards || !reCard.MatchString(digits) || !validCard(digits, 0, len(digits)) {
		return false
	}
	st.note(PatternCreditCard)
	return true
}
