package slogotlp

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

const (
	// LogfireUSEndpoint is where Logfire's US region takes OTLP/HTTP logs.
	LogfireUSEndpoint = "https://logfire-us.pydantic.dev/v1/logs"
	// LogfireEUEndpoint is where Logfire's EU region takes OTLP/HTTP logs.
	LogfireEUEndpoint = "https://logfire-eu.pydantic.dev/v1/logs"
)

// LogfireOptions configures NewLogfireExporter. A nil or zero value sends to
// the region the token names, else the US region.
type LogfireOptions struct {
	// Region is "us" or "eu" (any case). Default: the region a current
	// Logfire token names in its prefix ("pylf_v1_eu_..."), else "us".
	Region string
	// BaseURL replaces the region's host, for a self-hosted Logfire or a
	// test server: "https://logfire.example.com" sends to
	// https://logfire.example.com/v1/logs. Default: the region's URL.
	BaseURL string
	HTTPExporterOptions
}

// String describes the options with every credential redacted.
func (o LogfireOptions) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "slogotlp.LogfireOptions{Region:%q BaseURL:%q ", o.Region, displayURL(o.BaseURL))
	o.HTTPExporterOptions.appendFields(&b)
	b.WriteByte('}')
	return b.String()
}

// GoString is String, so %#v redacts too.
func (o LogfireOptions) GoString() string { return o.String() }

// MarshalJSON writes the options with every credential redacted.
func (o LogfireOptions) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Region  string `json:"region,omitempty"`
		BaseURL string `json:"baseURL,omitempty"`
		httpOptionsJSON
	}{o.Region, displayURL(o.BaseURL), o.HTTPExporterOptions.jsonForm()})
}

// LogValue logs the options with every credential redacted.
func (o LogfireOptions) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("region", o.Region), slog.String("base_url", displayURL(o.BaseURL))}
	return slog.GroupValue(append(attrs, o.HTTPExporterOptions.logAttrs()...)...)
}

// NewLogfireExporter returns an exporter for Pydantic Logfire: the region's
// /v1/logs endpoint, and the write token sent raw in Authorization, as
// Logfire's own SDKs send it. The token is trimmed of surrounding spaces (a
// trailing newline from a secrets file is common) and is never printed.
func NewLogfireExporter(token string, opts *LogfireOptions) (*HTTPExporter, error) {
	var o LogfireOptions
	if opts != nil {
		o = *opts
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errors.New("slogotlp: the Logfire write token is empty: set LOGFIRE_TOKEN to a write token " +
			"from your project's settings (Settings > Write tokens)")
	}
	if hasControl(token) {
		return nil, errors.New("slogotlp: the Logfire write token contains a control character or line break: " +
			"copy the token again into LOGFIRE_TOKEN")
	}
	endpoint, err := logfireEndpoint(token, o.Region, o.BaseURL)
	if err != nil {
		return nil, err
	}
	h := make(map[string]string, len(o.Headers)+1)
	for k, v := range o.Headers {
		if !strings.EqualFold(k, "Authorization") {
			h[k] = v
		}
	}
	h["Authorization"] = token
	o.Headers = h
	c, err := newHTTPCore(endpoint, o.HTTPExporterOptions)
	if err != nil {
		return nil, err
	}
	c.authFailure = func(status int) string {
		return fmt.Sprintf("Logfire rejected the write token (HTTP %d): check LOGFIRE_TOKEN is a current write "+
			"token for this project and that the region matches the token (LogfireOptions.Region)", status)
	}
	return &HTTPExporter{c: c}, nil
}

// logfireEndpoint picks the logs URL: BaseURL, else the named region, else
// the region in the token's prefix, else the US region.
func logfireEndpoint(token, region, baseURL string) (string, error) {
	if baseURL = strings.TrimSpace(baseURL); baseURL != "" {
		base := strings.TrimRight(baseURL, "/")
		if strings.HasSuffix(base, "/v1/logs") {
			return base, nil
		}
		return base + "/v1/logs", nil
	}
	switch strings.ToLower(strings.TrimSpace(region)) {
	case "us":
		return LogfireUSEndpoint, nil
	case "eu":
		return LogfireEUEndpoint, nil
	case "":
		if tokenRegion(token) == "eu" {
			return LogfireEUEndpoint, nil
		}
		return LogfireUSEndpoint, nil
	}
	return "", fmt.Errorf("slogotlp: unknown Logfire region %q: use \"us\" or \"eu\", or set LogfireOptions.BaseURL", region)
}

// tokenRegion reads the region from a token of the form
// pylf_v<digits>_<region>_<secret>; it returns "" for any other form.
func tokenRegion(token string) string {
	rest, ok := strings.CutPrefix(token, "pylf_v")
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
