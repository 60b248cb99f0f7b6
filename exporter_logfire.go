package slogotlp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/soliplex/slogotlp/internal/logfire"
)

const (
	// LogfireUSEndpoint is where Logfire's US region takes OTLP/HTTP logs.
	LogfireUSEndpoint = logfire.USBaseURL + logfire.LogsPath
	// LogfireEUEndpoint is where Logfire's EU region takes OTLP/HTTP logs.
	LogfireEUEndpoint = logfire.EUBaseURL + logfire.LogsPath
)

// LogfireOptions configures NewLogfireExporter. A nil or zero value sends to
// the region the token names, else the US region.
type LogfireOptions struct {
	// Region is "us" or "eu" (any case; Logfire's staging regions
	// "stagingus" and "stagingeu" too). Default: the region the token names
	// in its prefix ("pylf_v1_eu_..."), else "us", as Logfire's SDKs do.
	Region string
	// BaseURL replaces the region's host, for a self-hosted Logfire or a
	// test server: "https://logfire.example.com" sends to
	// https://logfire.example.com/v1/logs. Default: the region's URL.
	BaseURL string
	HTTPExporterOptions
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
	endpoint, err := logfire.LogsEndpoint(token, o.Region, o.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("slogotlp: %w", err)
	}
	h := make(Headers, len(o.Headers)+1)
	for k, v := range o.Headers {
		if !strings.EqualFold(k, "Authorization") {
			h[k] = v
		}
	}
	h["Authorization"] = NewSecret(token)
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
