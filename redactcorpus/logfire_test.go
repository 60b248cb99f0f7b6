package redactcorpus

import (
	"encoding/json"
	"regexp"
	"strings"
)

// A baseline to compare with: the default scrubber of Pydantic Logfire's
// Python SDK, as its source defines it (logfire/_internal/scrubbing.py:
// DEFAULT_PATTERNS and SpanScrubber.scrub). A string value that contains one
// of the patterns anywhere (ignoring case) is replaced whole, unless the
// pattern matches the whole string; a string that parses as JSON is scrubbed
// as the parsed value, whose keys are checked too. Go's regexp has no
// lookahead, so auth(?!ors?\b) is checked by hand.
var logfirePattern = regexp.MustCompile(`(?is)password|passwd|mysql_pwd|secret|auth|credential|private[._ -]?key|api[._ -]?key|session|cookie|social[._ -]?security|credit[._ -]?card|logfire[._ -]?token|pylf_v\d+_|(?:\b|_)(?:csrf|xsrf|jwt|ssn)(?:\b|_)`)

// logfireMatch reports whether s holds one of Logfire's default patterns,
// and whether that match is all of s (which Logfire leaves alone).
func logfireMatch(s string) (found, whole bool) {
	if !logfireMayMatch(s) {
		return false, false
	}
	for _, m := range logfirePattern.FindAllStringIndex(s, -1) {
		if strings.EqualFold(s[m[0]:m[1]], "auth") {
			rest := strings.ToLower(s[m[1]:])
			if authorsWord(rest, "ors") || authorsWord(rest, "or") {
				continue
			}
		}
		return true, m[0] == 0 && m[1] == len(s)
	}
	return false, false
}

// logfireWords are literals every match of logfirePattern contains; a
// string without any of them cannot match (a prefilter, as Logfire's own
// _DEFAULT_PATTERN_START_CHARS is).
var logfireWords = []string{"passw", "mysql_pwd", "secret", "auth", "credential", "private", "api", "session", "cookie",
	"social", "credit", "logfire", "pylf_v", "csrf", "xsrf", "jwt", "ssn"}

func logfireMayMatch(s string) bool {
	lower := strings.ToLower(s)
	for _, w := range logfireWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

func authorsWord(rest, w string) bool {
	if !strings.HasPrefix(rest, w) {
		return false
	}
	rest = rest[len(w):]
	return rest == "" || !isWordChar(rest[0])
}

func isWordChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

const logfireScrubbed = "[Scrubbed]"

// logfireScrub is Logfire's treatment of one string attribute value.
func logfireScrub(s string) string {
	found, whole := logfireMatch(s)
	if !found || whole {
		return s
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return logfireScrubbed
	}
	out, _ := json.Marshal(logfireScrubValue(v))
	return string(out)
}

func logfireScrubValue(v any) any {
	switch v := v.(type) {
	case string:
		return logfireScrub(v)
	case []any:
		for i := range v {
			v[i] = logfireScrubValue(v[i])
		}
	case map[string]any:
		for k, x := range v {
			if found, _ := logfireMatch(k); found {
				v[k] = logfireScrubbed
			} else {
				v[k] = logfireScrubValue(x)
			}
		}
	}
	return v
}
