package slogotlp

import (
	"net/netip"
	"strconv"
	"strings"
)

// This file holds the checks that keep the value patterns precise: whether
// a candidate IP address, card number or e-mail address stands alone and is
// well formed, so that versions, ids and prose are left alone.

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
