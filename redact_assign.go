package slogotlp

import "strings"

// The secret_assignment rule: the value of a key=value pair in free text is
// redacted when the key rules deny its key. Only assignment-like contexts
// count, so prose that merely mentions a password ("the password was
// changed") is left alone:
//
//	password=hunter2            key = value, key := value, key ?= value, key => value
//	"token": "abc"              key: value (YAML, JSON, HTTP headers)
//	Authorization: Basic dXNl   an auth scheme keeps its credential with it
//	<password>abc</password>    an XML element
//	setProperty("API_KEY", "x") a quoted key, a comma and a quoted value
//
// The value is a quoted string (up to its closing quote) or a bare word (up
// to white space or one of ,;&)]}<>"'`\). Values that carry nothing (empty,
// null, true, false, an already redacted value) and structured values ('{',
// '[') are left for the other rules.

// authSchemes are the HTTP authentication schemes whose credential follows
// after a space.
var authSchemes = []string{"basic", "bearer", "digest", "token", "negotiate", "ntlm", "bot", "oauth", "ssws", "apikey", "key", "jwt", "hoba", "mutual", "dpop"}

// keyByte reports whether c may be part of a key in free text.
func keyByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '$' || c == '@'
}

// valueEnd reports whether c ends a bare value.
func valueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ';', '&', ')', ']', '}', '<', '>', '"', '\'', '`', '\\':
		return true
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// keyBefore returns the key that ends just before s[end] (white space and
// one closing quote skipped), its start, and whether it was quoted.
func keyBefore(s string, end int) (key string, start int, quoted bool) {
	j := end
	for j > 0 && isSpace(s[j-1]) {
		j--
	}
	if j > 0 && s[j-1] == ']' { // headers["X-Api-Key"] = ...
		j--
	}
	if j > 0 && isQuote(s[j-1]) {
		j--
		quoted = true
		if j > 0 && s[j-1] == '\\' { // \"key\": inside JSON text
			j--
		}
	}
	i := j
	for i > 0 && j-i < 128 && keyByte(s[i-1]) {
		i--
	}
	key = s[i:j]
	// A type between the name and the operator: `var apiToken string = "..."`.
	if key == "string" || key == "String" || key == "str" {
		k := i
		for k > 0 && isSpace(s[k-1]) {
			k--
		}
		if k < i {
			if k2, st, _ := keyBefore(s, k); k2 != "" {
				return k2, st, false
			}
		}
	}
	return key, i, quoted
}

// valueAfter returns the span of the value that starts at or after s[i]
// (spaces and tabs skipped), or ok false when there is none worth redacting.
// authKey is set for keys of the auth rule (Authorization, X-Auth-...): any
// word followed by a credential is taken for a scheme there.
func valueAfter(s string, i int, rd *Redactor, authKey bool) (start, end int, ok bool) {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i >= len(s) {
		return 0, 0, false
	}
	c := s[i]
	switch {
	case c == '\\' && i+1 < len(s) && s[i+1] == '"': // \"value\" inside JSON text
		start = i + 2
		e := strings.Index(s[start:], `\"`)
		if e < 0 {
			return 0, 0, false
		}
		end = start + e
	case isQuote(c):
		start = i + 1
		end = closingQuote(s, start, c)
	case c == '{' || c == '[':
		return 0, 0, false
	default:
		start = i
		end = i
		for end < len(s) && !valueEnd(s[end]) {
			end++
		}
		// "Basic dXNlcjpw": the scheme and its credential go together.
		if end+1 < len(s) && s[end] == ' ' && !valueEnd(s[end+1]) && isScheme(s[start:end], authKey) {
			end++
			for end < len(s) && !valueEnd(s[end]) {
				end++
			}
		}
	}
	return start, end, worthRedacting(s[start:end], rd.replacement)
}

// closingQuote returns the index of the quote q that closes a string
// starting at s[i], skipping backslash escapes, or len(s) when unclosed.
func closingQuote(s string, i int, q byte) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return len(s)
}

// isScheme reports whether w is an HTTP authentication scheme.
func isScheme(w string, authKey bool) bool {
	for _, sch := range authSchemes {
		if len(w) == len(sch) && hasPrefixFold(w, sch) {
			return true
		}
	}
	if !authKey || len(w) > 32 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !isAlnum(w[i]) && w[i] != '-' && w[i] != '_' {
			return false
		}
	}
	return true
}

func worthRedacting(v, replacement string) bool {
	if v == "" || strings.HasPrefix(v, replacement) || isVerb(v) {
		return false
	}
	for _, w := range []string{"null", "nil", "none", "true", "false", "undefined"} {
		if len(v) == len(w) && hasPrefixFold(v, w) {
			return false
		}
	}
	return true
}

// findAssignments finds the values of key=value pairs whose key is denied.
// Spans are named by the key text that matched (Logfire's
// matched_substring).
func findAssignments(rd *Redactor, s string, f features, out []span) []span {
	if rd.keys == nil {
		return out
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		var keyEnd, valFrom int
		xml := false
		switch c {
		case '=', ':':
			keyEnd = i
			for keyEnd > 0 && strings.IndexByte(":.+?|!", s[keyEnd-1]) >= 0 && c == '=' {
				keyEnd--
			}
			valFrom = i + 1
			for valFrom < len(s) && (s[valFrom] == '=' || s[valFrom] == ':' || s[valFrom] == '>') {
				valFrom++
			}
			if c == ':' && valFrom < len(s) && s[valFrom] == '/' {
				continue // "https://"
			}
		case '>':
			if !f.lt {
				continue
			}
			keyEnd, valFrom, xml = i, i+1, true
		case ',':
			// setProperty("API_KEY", "x"): both sides quoted.
			j := i
			for j > 0 && isSpace(s[j-1]) {
				j--
			}
			if j == 0 || !isQuote(s[j-1]) {
				continue
			}
			k := i + 1
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			if k >= len(s) || !isQuote(s[k]) {
				continue
			}
			keyEnd, valFrom = i, i+1
		default:
			continue
		}
		key, keyStart, quoted := keyBefore(s, keyEnd)
		if key == "" {
			continue
		}
		if xml && (keyStart == 0 || s[keyStart-1] != '<') {
			continue
		}
		if c == ',' && !quoted {
			continue
		}
		rule, matched := rd.keys.match(key)
		if matched == "" {
			continue
		}
		var start, end int
		var ok bool
		if xml {
			start, end, ok = xmlText(s, valFrom, rd.replacement)
		} else {
			start, end, ok = valueAfter(s, valFrom, rd, rule == "auth")
		}
		if !ok {
			continue
		}
		out = append(out, span{start, end, matched})
		i = end
	}
	return out
}

// isVerb reports whether v is a printf verb ("%s", "%+v", "%q"): a log
// template, not a value.
func isVerb(v string) bool {
	if len(v) < 2 || len(v) > 4 || v[0] != '%' {
		return false
	}
	return strings.IndexByte("vsdqxXT", v[len(v)-1]) >= 0 && strings.Trim(v[1:len(v)-1], "+#0123456789.") == ""
}

// findCLICredentials finds the user:password of curl's -u/--user flag (and
// of other tools that copied it): the argument up to white space outside
// quotes, when it holds a ':'.
func findCLICredentials(_ *Redactor, s string, _ features, out []span) []span {
	for i := 0; i < len(s); i++ {
		if s[i] != '-' || (i > 0 && !isSpace(s[i-1]) && s[i-1] != '\n') {
			continue
		}
		j := i
		switch {
		case strings.HasPrefix(s[i:], "--user"):
			j += 6
		case strings.HasPrefix(s[i:], "-u"):
			j += 2
		default:
			continue
		}
		if j >= len(s) || (s[j] != '=' && !isSpace(s[j])) {
			continue
		}
		for j < len(s) && (s[j] == '=' || isSpace(s[j])) {
			j++
		}
		start := j
		var q byte
		for ; j < len(s); j++ {
			c := s[j]
			if q != 0 {
				if c == q {
					q = 0
				}
				continue
			}
			if isQuote(c) {
				q = c
				continue
			}
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
		}
		if strings.IndexByte(s[start:j], ':') >= 0 {
			out = append(out, span{start, j, PatternCLICredentials})
		}
		i = j
	}
	return out
}

// xmlText returns the span of an element's text that starts at s[i], white
// space trimmed, up to the next '<'.
func xmlText(s string, i int, replacement string) (start, end int, ok bool) {
	e := strings.IndexByte(s[i:], '<')
	if e < 0 {
		return 0, 0, false
	}
	start, end = i, i+e
	for start < end && strings.IndexByte(" \t\r\n", s[start]) >= 0 {
		start++
	}
	for end > start && strings.IndexByte(" \t\r\n", s[end-1]) >= 0 {
		end--
	}
	return start, end, worthRedacting(s[start:end], replacement)
}
