package slogotlp

import (
	"fmt"
	"io"
	"strconv"
)

// Secret holds a credential (a write token, a session token, a header value,
// an HMAC key) in a configuration struct. It never prints: fmt (every verb,
// also inside a struct, a slice or a map), encoding/json and log/slog show
// "[REDACTED]", or "" when it is unset, so a Config can be logged at
// start-up and a struct of your own that holds a Secret is as safe. Only
// Reveal returns the value.
//
// This is log/slog's pattern for secrets (a type whose printed forms are a
// placeholder), with the value behind a pointer: when fmt meets a verb it
// cannot apply (%s of a pointer, say) it prints the pointed-to struct with
// every method switched off, and then a Secret still shows only an address.
type Secret struct{ v *string }

// NewSecret returns a Secret holding s. An empty s is an unset Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the value; "" when the Secret is unset.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// Format prints the placeholder for every verb: %v, %+v, %s and %x show
// [REDACTED]; %q and %#v show it quoted.
func (s Secret) Format(f fmt.State, verb rune) {
	shown := s.shown()
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		shown = strconv.Quote(shown)
	}
	_, _ = io.WriteString(f, shown)
}

// MarshalText is the placeholder, so encoding/json and slog's text and JSON
// handlers print [REDACTED] too.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

func (s Secret) shown() string {
	if s.Reveal() == "" {
		return ""
	}
	return redacted
}

// redacted is the text that stands in for a secret wherever one would be
// printed: tokens, header values, keys in URLs.
const redacted = "[REDACTED]"

// Headers are HTTP headers sent with every request, e.g.
//
//	slogotlp.Headers{"x-honeycomb-team": slogotlp.NewSecret(key)}
//
// No list of names can tell which header carries a key, so every value is a
// Secret: the names print, the values never do.
type Headers map[string]Secret
