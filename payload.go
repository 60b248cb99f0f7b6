package slogotlp

import (
	"log/slog"
	"slices"
)

// WireFormat is an OTLP/HTTP encoding of the payloads an Exporter receives.
type WireFormat int

const (
	// FormatDefault, the zero value, leaves the choice to the exporter:
	// protobuf for NewHTTPExporter and NewLogfireExporter (the encoding the
	// OTLP specification makes the default, and half the receiver's work of
	// JSON), JSON for NewProxyExporter (the relay takes JSON only).
	FormatDefault WireFormat = iota
	// FormatJSON is OTLP/JSON (Content-Type: application/json): readable,
	// and what the relay takes.
	FormatJSON
	// FormatProtobuf is binary protobuf (Content-Type:
	// application/x-protobuf), the encoding every OTLP receiver must accept
	// and some accept alone; about a third the size of JSON before
	// compression and cheaper to decode.
	FormatProtobuf
)

// String returns the format's name in OTEL_EXPORTER_OTLP_PROTOCOL terms.
func (f WireFormat) String() string {
	switch f {
	case FormatProtobuf:
		return "http/protobuf"
	case FormatDefault:
		return "default"
	}
	return "http/json"
}

// ContentType is the HTTP Content-Type of payloads in the format.
func (f WireFormat) ContentType() string {
	if f == FormatProtobuf {
		return "application/x-protobuf"
	}
	return "application/json"
}

// wireFormatOf returns the format exp asks for: an Exporter that has a
// WireFormat method gets payloads in that format, any other gets JSON.
func wireFormatOf(exp Exporter) WireFormat {
	if f, ok := exp.(interface{ WireFormat() WireFormat }); ok && f.WireFormat() == FormatProtobuf {
		return FormatProtobuf
	}
	return FormatJSON
}

// framing is what one wire format puts around the records of a payload:
// one resourceLogs with the handler's resource, one scopeLogs per
// instrumentation scope. Every size the batcher needs to split batches and
// to refuse a record too large to send is computed here, and nowhere else.
type framing struct {
	format WireFormat
	// resource is, in JSON, the payload's opening up to the first scopeLogs
	// entry ({"resourceLogs":[{"resource":{...},"scopeLogs":[), and in
	// protobuf the Resource message.
	resource []byte
}

// resourceSchemaURL is the semantic conventions version whose names the
// resource attributes DetectResource and NewFromEnv set follow (the version
// the OpenTelemetry Go SDK this module is tested against uses). Log records
// carry no schema URL: their attributes are the caller's.
const resourceSchemaURL = "https://opentelemetry.io/schemas/1.43.0"

// newFraming prepares the framing of format for a resource, given as the
// Resource message's attributes in protobuf form.
func newFraming(format WireFormat, resourceAttrs []byte) *framing {
	f := &framing{format: format}
	if format == FormatProtobuf {
		f.resource = resourceAttrs
		return f
	}
	env := []byte(`{"resourceLogs":[{"resource":{"attributes":[`)
	env = appendEachJSON(env, resourceAttrs, tagResourceAttribute, appendKeyValueJSON)
	env = closeList(env)
	f.resource = append(env, `},"schemaUrl":"`+resourceSchemaURL+`","scopeLogs":[`...)
	return f
}

// jsonClose ends a JSON payload after its last scopeLogs entry.
const jsonClose = "]}]}"

// jsonScopeOverhead is the JSON around one scopeLogs entry besides the scope
// and its records: {"scope":<scope>,"logRecords":[<records>]},
const jsonScopeOverhead = len(`{"scope":,"logRecords":[]},`)

// maxLenPrefix bounds a length-delimited field's tag and length: one tag
// byte and a varint of up to 5 bytes (lengths under 4 GiB).
const maxLenPrefix = 1 + 5

// base is the size of a payload with no scope and no record.
func (f *framing) base() int {
	if f.format == FormatProtobuf {
		// ExportLogsServiceRequest{resource_logs: ResourceLogs{resource: ...,
		// schema_url: ...}}
		return 3*maxLenPrefix + len(f.resource) + len(resourceSchemaURL)
	}
	return len(f.resource) + len(jsonClose)
}

// scopeCost is what one more scopeLogs entry for scope s adds.
func (f *framing) scopeCost(s *scopeInfo) int {
	if f.format == FormatProtobuf {
		return 2*maxLenPrefix + len(s.proto)
	}
	return jsonScopeOverhead + len(s.json)
}

// recordCost is what a record of n bytes (in the payload's format) adds.
func (f *framing) recordCost(n int) int {
	if f.format == FormatProtobuf {
		return 1 + varintLen(uint64(n)) + n
	}
	return n + 1 // the comma
}

// maxRecord is the largest encoded record (in protobuf) that can be sent
// alone under maxPayload, leaving room for the largest scope a handler
// usually has. A record that passes here but is larger in JSON is refused
// when its payload is built.
func (f *framing) maxRecord(maxPayload int) int {
	const scopeRoom = 512
	return maxPayload - f.base() - 2*maxLenPrefix - scopeRoom
}

// wireRecords returns each entry's record in the payload's format: the
// queued protobuf bytes as they are, or their JSON transcoding, written into
// scratch (reused by the caller across batches).
func (f *framing) wireRecords(es []entry, out [][]byte, scratch []byte) ([][]byte, []byte) {
	out = out[:0]
	if f.format == FormatProtobuf {
		for _, e := range es {
			out = append(out, *e.buf)
		}
		return out, scratch
	}
	scratch = scratch[:0]
	for _, e := range es {
		start := len(scratch)
		scratch = appendRecordJSON(scratch, *e.buf)
		out = append(out, scratch[start:len(scratch):len(scratch)])
	}
	// scratch may have moved while it grew: take every record's bytes from
	// the final array (the lengths are right already).
	off := 0
	for i := range out {
		n := len(out[i])
		out[i] = scratch[off : off+n : off+n]
		off += n
	}
	return out, scratch
}

// build writes the payload for records (the wire forms of es, in logging
// order) into p: one resourceLogs, one scopeLogs per instrumentation scope
// in order of first appearance, records in logging order within each.
// ids is scratch for the scope order.
func (f *framing) build(p []byte, es []entry, records [][]byte, scopes []scopeInfo, ids []int32) ([]byte, []int32) {
	ids = ids[:0]
	for _, e := range es {
		if !slices.Contains(ids, e.scope) {
			ids = append(ids, e.scope)
		}
	}
	if f.format == FormatProtobuf {
		return f.buildProto(p[:0], es, records, scopes, ids), ids
	}
	p = append(p[:0], f.resource...)
	for _, id := range ids {
		p = append(p, `{"scope":`...)
		p = append(p, scopes[id].json...)
		p = append(p, `,"logRecords":[`...)
		for i, e := range es {
			if e.scope == id {
				p = append(p, records[i]...)
				p = append(p, ',')
			}
		}
		p = closeList(p)
		p = append(p, "},"...)
	}
	p = closeList(p)
	return append(p, "}]}"...), ids
}

// buildProto writes an ExportLogsServiceRequest. Every length is computed
// before it is written, so nothing moves.
func (f *framing) buildProto(p []byte, es []entry, records [][]byte, scopes []scopeInfo, ids []int32) []byte {
	scopeLogsLen := func(id int32) int {
		n := 1 + varintLen(uint64(len(scopes[id].proto))) + len(scopes[id].proto)
		for i, e := range es {
			if e.scope == id {
				n += 1 + varintLen(uint64(len(records[i]))) + len(records[i])
			}
		}
		return n
	}
	rl := 1 + varintLen(uint64(len(f.resource))) + len(f.resource)
	rl += 1 + varintLen(uint64(len(resourceSchemaURL))) + len(resourceSchemaURL)
	for _, id := range ids {
		n := scopeLogsLen(id)
		rl += 1 + varintLen(uint64(n)) + n
	}
	p = append(p, tagResourceLogs)
	p = appendVarint(p, uint64(rl))
	p = appendBytesField(p, tagResource, f.resource)
	p = appendStringField(p, tagLogsSchemaURL, resourceSchemaURL, 0)
	for _, id := range ids {
		p = append(p, tagScopeLogs)
		p = appendVarint(p, uint64(scopeLogsLen(id)))
		p = appendBytesField(p, tagScope, scopes[id].proto)
		for i, e := range es {
			if e.scope == id {
				p = appendBytesField(p, tagLogRecord, records[i])
			}
		}
	}
	return p
}

// encodeResource returns the Resource message's attributes for attrs. The
// attribute limits and ReplaceAttr are for log records: the specification
// exempts resources.
func encodeResource(enc *encoder, attrs []slog.Attr) []byte {
	re := encoder{maxValueLen: enc.maxValueLen}
	var arr [16]slog.Attr
	res := re.collect(arr[:0], attrs, nil, nil)
	return re.appendAttrs(nil, tagResourceAttribute, res, 0)
}
