// Package conformance checks slogotlp's OTLP/HTTP JSON output against the
// OpenTelemetry Collector's own decoder. It is a nested module so that the
// collector and SDK dependencies stay out of the library's go.mod.
package conformance
