package slogotlp

import "strings"

// DefaultDenyKeys returns the names of the key rules the redactor applies by
// default. A key is denied when it contains one of a rule's fragments,
// compared without regard to ASCII case; fragments marked "word" below must
// stand at word boundaries (start, end, a non-alphanumeric byte or a
// lower-to-upper case change), so "ssn" hits "user_ssn" and "userSSN" but
// not "classname". The rules cover what Logfire's SDK scrubs by default and
// more:
//
//	password (also passwd, passphrase, passcode, mysql_pwd), secret,
//	auth (not "author(s)"), credential, private_key, api_key, access_key,
//	account_key, signing_key, encryption_key, subscription_key (any of "_",
//	"-", ".", " " or nothing between the words), session (also sessid),
//	cookie, social_security, credit_card, card_number, account_number,
//	security_code, connection_string (also conn_str), logfire_token,
//	token (not "tokens", "tokenizer", "token_usage", "token_limit"), and
//	the words pwd, pin, cvv, cvc, otp, totp,
//	dsn, iban, bearer, sid, sig, csrf, xsrf, jwt, ssn.
//
// A key that names something about a secret rather than the secret itself
// is not denied: the fragment (but for session, whose id is the credential)
// followed by id, name, url, uri, endpoint, file, path, dir, length, size,
// type, kind, count, ttl, expiry, provider, policy, version or ref
// ("secret_name", "password_file", "credentialsId", "token_type").
//
// The same rules apply to attribute keys, group names (slog.Group and
// WithGroup), map keys, struct field names, HTTP header names, URL query
// keys, JSON object keys, and the key of a key=value pair in free text.
func DefaultDenyKeys() []string {
	out := make([]string, 0, len(defaultKeyRules))
	for _, r := range defaultKeyRules {
		out = append(out, r.name)
	}
	return out
}

// keyRule matches a key fragment with optional boundary conditions.
type keyRule struct {
	name     string   // rule name, as DefaultDenyKeys lists it
	frags    []string // lowercase fragments; any of them matches
	leftWord bool     // fragment must start at a word boundary
	rightEnd bool     // fragment must end at a word boundary
	notThen  []string // fragment must not be followed by one of these + boundary
	// refs: a key that names something about the secret rather than the
	// secret itself (secret_name, password_file, credentialsId, api_key_url,
	// private_key_path, token_type) is not denied.
	refs bool
}

// refWords are the words that, after a fragment (and an optional plural
// 's' and separator), make a key name something about the secret: its id,
// name, location, size or kind.
var refWords = []string{"id", "ids", "name", "names", "url", "uri", "endpoint", "file", "path", "dir", "length", "len",
	"size", "type", "types", "kind", "count", "ttl", "expiry", "expires", "expiresat", "expiresin", "expires_at",
	"expires_in", "provider", "policy", "version", "ref"}

// sep in a fragment matches one optional separator: '_', '-', '.' or ' '.
const sep = "\x00"

func sepVariants(a, b string) []string { return []string{a + sep + b} }

// word is a rule whose fragments stand at word boundaries on both sides,
// leaving keys that name something about the secret (refs).
func word(name string, frags ...string) keyRule {
	if len(frags) == 0 {
		frags = []string{name}
	}
	return keyRule{name: name, frags: frags, leftWord: true, rightEnd: true, refs: true}
}

var defaultKeyRules = []keyRule{
	{name: "password", frags: []string{"password", "passwd", "passphrase", "passcode", "mysql_pwd"}, refs: true},
	{name: "secret", frags: []string{"secret"}, refs: true},
	{name: "auth", frags: []string{"auth"}, notThen: []string{"or", "ors"}, refs: true},
	{name: "credential", frags: []string{"credential", "creds"}, refs: true},
	{name: "private_key", frags: sepVariants("private", "key"), refs: true},
	{name: "api_key", frags: sepVariants("api", "key"), refs: true},
	{name: "access_key", frags: sepVariants("access", "key"), refs: true},
	{name: "account_key", frags: sepVariants("account", "key"), refs: true},
	{name: "signing_key", frags: sepVariants("signing", "key"), refs: true},
	{name: "encryption_key", frags: sepVariants("encryption", "key"), refs: true},
	{name: "subscription_key", frags: sepVariants("subscription", "key"), refs: true},
	// session_id is the credential itself: no refs.
	{name: "session", frags: []string{"session", "sessid"}},
	{name: "cookie", frags: []string{"cookie"}, refs: true},
	{name: "social_security", frags: sepVariants("social", "security")},
	{name: "credit_card", frags: sepVariants("credit", "card"), refs: true},
	{name: "card_number", frags: sepVariants("card", "number")},
	{name: "account_number", frags: sepVariants("account", "number")},
	{name: "security_code", frags: sepVariants("security", "code")},
	{name: "connection_string", frags: append(sepVariants("connection", "string"), sepVariants("conn", "str")...)},
	{name: "logfire_token", frags: sepVariants("logfire", "token"), refs: true},
	{name: "token", frags: []string{"token"}, rightEnd: true, refs: true, notThen: []string{
		"_usage", "_limit", "_limits", "usage", "limit", "limits", // LLM token counts: max_tokens, tokenLimit
	}},
	word("pwd"), word("pin", "pin", "pincode"), word("cvv", "cvv", "cvv2"), word("cvc", "cvc", "cvc2"),
	word("otp"), word("totp"), word("dsn"), word("iban"), word("bearer"),
	{name: "sid", frags: []string{"sid"}, leftWord: true, rightEnd: true}, // a session id: no refs, as session
	word("sig"), word("csrf"), word("xsrf"), word("jwt"), word("ssn"),
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) }

func toUpper(c byte) byte {
	if isLower(c) {
		return c - ('a' - 'A')
	}
	return c
}

func toLower(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

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

// matchFrag returns the length of the text at the start of s that fragment
// f matches (ASCII case ignored in s, sep standing for an optional
// separator), or -1.
func matchFrag(s, f string) int {
	n := 0
	for k := 0; k < len(f); k++ {
		if f[k] == 0 {
			if n < len(s) && (s[n] == '_' || s[n] == '-' || s[n] == '.' || s[n] == ' ') {
				n++
			}
			continue
		}
		if n >= len(s) || toLower(s[n]) != f[k] {
			return -1
		}
		n++
	}
	return n
}

// hasPrefixFold reports whether s starts with the lowercase ASCII string
// lower, ignoring ASCII case in s.
func hasPrefixFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if toLower(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

// matchAt reports whether r's fragment, known to match key[i:j], hits.
func (r *keyRule) matchAt(key string, i, j int) bool {
	if r.leftWord && !boundaryBefore(key, i) {
		return false
	}
	if r.rightEnd && !boundaryAt(key, j) {
		return false
	}
	for _, n := range r.notThen {
		if hasPrefixFold(key[j:], n) && boundaryAt(key, j+len(n)) {
			return false
		}
	}
	return !r.refs || !refFollows(key, j)
}

// refFollows reports whether one of refWords follows key[:j] as its own
// word, after an optional plural 's' and an optional separator.
func refFollows(key string, j int) bool {
	if j < len(key) && (key[j] == 's' || key[j] == 'S') && boundaryAt(key, j+1) {
		j++
	}
	if j < len(key) && (key[j] == '_' || key[j] == '-' || key[j] == '.' || key[j] == ' ') {
		j++
	} else if !boundaryAt(key, j) || j == len(key) {
		return false
	}
	for _, w := range refWords {
		if hasPrefixFold(key[j:], w) && (j+len(w) == len(key) || boundaryAt(key, j+len(w))) {
			return true
		}
	}
	return false
}

// keyMatcher finds key rules in a key without allocating: fragments are
// indexed by their first byte, and a bit set of the (lowercase) byte pairs
// that start a fragment rejects most positions of a key with one test.
type keyMatcher struct {
	rules []keyRule
	first [256][]fragRef
	pairs [1 << 16 / 64]uint64 // bit a<<8|b: a fragment starts with bytes a, b
	solo  [256]bool            // a fragment of one byte, or with a separator second, starts with this byte
}

func (m *keyMatcher) pair(a, b byte) bool {
	k := uint(lowerTab[a])<<8 | uint(lowerTab[b])
	return m.pairs[k>>6]&(1<<(k&63)) != 0
}

type fragRef struct {
	rule int
	frag string
	// head and mask: the fragment's first bytes up to 4 (before any
	// separator), as word4 packs them, for a quick reject.
	head, mask uint32
}

// lowerTab maps ASCII upper case to lower case and every other byte to
// itself.
var lowerTab = func() (t [256]byte) {
	for i := range t {
		t[i] = toLower(byte(i))
	}
	return t
}()

// word4 packs the lowercase bytes s[i:i+4] (zero past the end).
func word4(s string, i int) uint32 {
	var w uint32
	for k := 0; k < 4; k++ {
		w <<= 8
		if i+k < len(s) {
			w |= uint32(lowerTab[s[i+k]])
		}
	}
	return w
}

func newKeyMatcher(rules []keyRule) *keyMatcher {
	m := &keyMatcher{rules: rules}
	for ri, r := range rules {
		for _, f := range r.frags {
			if f == "" {
				continue
			}
			ref := fragRef{rule: ri, frag: f}
			for k := 0; k < 4; k++ {
				ref.head <<= 8
				ref.mask <<= 8
				if k < len(f) && f[k] != 0 && !strings.Contains(f[:k], sep) {
					ref.head |= uint32(f[k])
					ref.mask |= 0xFF
				}
			}
			if len(f) > 1 && f[1] != 0 {
				k := uint(f[0])<<8 | uint(f[1])
				m.pairs[k>>6] |= 1 << (k & 63)
			} else {
				m.solo[f[0]] = true
				m.solo[toUpper(f[0])] = true
			}
			c := f[0]
			m.first[c] = append(m.first[c], ref)
			if isLower(c) {
				m.first[c-'a'+'A'] = append(m.first[c-'a'+'A'], ref)
			}
		}
	}
	return m
}

// match returns the name of the first rule that key hits and the text of key
// that matched (Logfire's matched_substring), or "" and "".
func (m *keyMatcher) match(key string) (rule, matched string) {
	if m == nil {
		return "", ""
	}
	for i := 0; i < len(key); i++ {
		if !m.solo[key[i]] && (i+1 >= len(key) || !m.pair(key[i], key[i+1])) {
			continue
		}
		refs := m.first[key[i]]
		w := word4(key, i)
		for k := range refs {
			ref := &refs[k]
			if w&ref.mask != ref.head {
				continue
			}
			n := matchFrag(key[i:], ref.frag)
			if n < 0 {
				continue
			}
			r := &m.rules[ref.rule]
			if r.matchAt(key, i, i+n) {
				return r.name, key[i : i+n]
			}
		}
	}
	return "", ""
}

// any reports whether some fragment occurs anywhere in s, boundaries aside:
// the cheap test that tells whether a JSON text is worth parsing.
func (m *keyMatcher) any(s string) bool {
	if m == nil {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !m.solo[s[i]] && (i+1 >= len(s) || !m.pair(s[i], s[i+1])) {
			continue
		}
		for _, ref := range m.first[s[i]] {
			if matchFrag(s[i:], ref.frag) >= 0 {
				return true
			}
		}
	}
	return false
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

// deniedNode is the allowlist node of a group path no entry reaches.
var deniedNode = &allowNode{}
