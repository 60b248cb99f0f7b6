package slogotlp

import "strings"

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

// deniedNode is the allowlist node of a group path no entry reaches.
var deniedNode = &allowNode{}
