// Package logfire holds what the slogotlp library and its relay both need to
// know about Pydantic Logfire: where each region takes OTLP/HTTP logs, how a
// write token names its region, and how the token is read from the
// environment. It is the one place these facts are written down.
//
// The region rules follow Logfire's own SDKs (pydantic/logfire,
// logfire/_internal/config.py get_base_url_from_token and auth.py; the Rust
// SDK's token.rs is the same): a token "pylf_v<N>_<region>_..." names its
// region; a token of any other form, or an unknown region, goes to the US.
package logfire

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Base URLs of Logfire's regions, and the path that takes OTLP/HTTP logs.
const (
	USBaseURL = "https://logfire-us.pydantic.dev"
	EUBaseURL = "https://logfire-eu.pydantic.dev"
	LogsPath  = "/v1/logs"
)

// regions maps a region name, as tokens and LogfireOptions.Region spell it,
// to its base URL. The staging regions are Logfire's own, as its SDKs know
// them.
var regions = map[string]string{
	"us":        USBaseURL,
	"eu":        EUBaseURL,
	"stagingus": "https://logfire-us.pydantic.info",
	"stagingeu": "https://logfire-eu.pydantic.info",
}

// TokenRegion reads the region from a token of the form
// pylf_v<digits>_<region>_<secret>; it returns "" for any other form.
func TokenRegion(token string) string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), "pylf_v")
	if !ok {
		return ""
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(rest) || rest[i] != '_' {
		return ""
	}
	region, _, ok := strings.Cut(rest[i+1:], "_")
	if !ok {
		return ""
	}
	return region
}

// LogsEndpoint returns the URL that takes token's logs: baseURL with
// LogsPath appended (unless it already ends in it) when baseURL is set, else
// the named region's, else the region the token names, else the US region.
// An unknown explicit region is an error; an unknown region in a token falls
// back to the US, as Logfire's SDKs do.
func LogsEndpoint(token, region, baseURL string) (string, error) {
	if base := strings.TrimRight(strings.TrimSpace(baseURL), "/"); base != "" {
		if strings.HasSuffix(base, LogsPath) {
			return base, nil
		}
		return base + LogsPath, nil
	}
	if region = strings.ToLower(strings.TrimSpace(region)); region != "" {
		base, ok := regions[region]
		if !ok {
			return "", fmt.Errorf("unknown Logfire region %q: use \"us\" or \"eu\", or set the base URL", region)
		}
		return base + LogsPath, nil
	}
	if base, ok := regions[TokenRegion(token)]; ok {
		return base + LogsPath, nil
	}
	return USBaseURL + LogsPath, nil
}

// SplitTokens reads a list of write tokens, one per Logfire project, as
// Logfire's SDK reads LOGFIRE_TOKEN (normalize_token): separated by commas,
// each trimmed of spaces, empty entries dropped.
func SplitTokens(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// The variables that carry the write token.
const (
	EnvToken     = "LOGFIRE_TOKEN"
	EnvTokenFile = "LOGFIRE_TOKEN_FILE"
)

// maxTokenFile bounds what the token file may hold: a token is short, so
// anything larger is the wrong file.
const maxTokenFile = 64 << 10

// TokenError is a problem with one of the token variables; Var names it.
// The message never quotes the token.
type TokenError struct {
	Var string
	Err error
}

func (e *TokenError) Error() string { return e.Var + ": " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// TokenFromEnv reads the write token from LOGFIRE_TOKEN or from the file
// LOGFIRE_TOKEN_FILE names (a Kubernetes or Docker secret), trimmed of
// surrounding spaces and line breaks. Setting both is an error, since
// nothing says which one is current; setting neither returns "" and no
// error. source is the variable the token came from.
func TokenFromEnv(getenv func(string) string) (token, source string, err error) {
	tok, file := strings.TrimSpace(getenv(EnvToken)), strings.TrimSpace(getenv(EnvTokenFile))
	switch {
	case tok != "" && file != "":
		return "", "", &TokenError{EnvTokenFile, fmt.Errorf("both %s and %s are set: unset one of them", EnvToken, EnvTokenFile)}
	case tok != "":
		return tok, EnvToken, nil
	case file == "":
		return "", "", nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", "", &TokenError{EnvTokenFile, fmt.Errorf("cannot read the token file: %w: mount the secret or fix the path", err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	switch {
	case err != nil:
		return "", "", &TokenError{EnvTokenFile, fmt.Errorf("cannot read the token file: %w: mount the secret or fix the path", err)}
	case len(data) > maxTokenFile:
		return "", "", &TokenError{EnvTokenFile, errors.New("the file is larger than 64 KiB, too large for a token: point it at the file holding only the write token")}
	case strings.TrimSpace(string(data)) == "":
		return "", "", &TokenError{EnvTokenFile, errors.New("the token file is empty: write the Logfire write token into it")}
	}
	return strings.TrimSpace(string(data)), EnvTokenFile, nil
}
