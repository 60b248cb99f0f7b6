package slogotlp

// This file transcodes a whole payload: a protobuf ExportLogsServiceRequest,
// the form the disk spool keeps (spool.go), to OTLP/JSON for an exporter
// that takes JSON. For a request framing.buildProto wrote, the output is
// byte for byte what framing.build writes in JSON for the same records.

// appendRequestJSON appends the OTLP/JSON form of req, a protobuf
// ExportLogsServiceRequest. It writes the fields this package writes (the
// resource's attributes, each scope's name and version, the records) and
// skips any other. Like the record transcoder it stops at malformed input
// and always appends valid JSON.
func appendRequestJSON(buf, req []byte) []byte {
	buf = append(buf, `{"resourceLogs":[`...)
	for f, rest, ok := nextField(req); ok; f, rest, ok = nextField(rest) {
		if f.tag == tagResourceLogs {
			buf = appendResourceLogsJSON(buf, f.data)
			buf = append(buf, ',')
		}
	}
	buf = closeList(buf)
	return append(buf, '}')
}

// appendResourceLogsJSON appends {"resource":...,"schemaUrl":...,
// "scopeLogs":[...]} for a protobuf ResourceLogs.
func appendResourceLogsJSON(buf, rl []byte) []byte {
	buf = append(buf, '{')
	for f, rest, ok := nextField(rl); ok; f, rest, ok = nextField(rest) {
		if f.tag == tagResource {
			buf = append(buf, `"resource":{"attributes":[`...)
			buf = appendKeyValuesJSON(buf, f.data, tagResourceAttribute)
			buf = closeList(buf)
			buf = append(buf, "},"...)
			break
		}
	}
	for f, rest, ok := nextField(rl); ok; f, rest, ok = nextField(rest) {
		if f.tag == tagLogsSchemaURL {
			buf = append(buf, `"schemaUrl":`...)
			buf = appendString(buf, string(f.data))
			buf = append(buf, ',')
			break
		}
	}
	buf = append(buf, `"scopeLogs":[`...)
	for f, rest, ok := nextField(rl); ok; f, rest, ok = nextField(rest) {
		if f.tag == tagScopeLogs {
			buf = appendScopeLogsJSON(buf, f.data)
			buf = append(buf, ',')
		}
	}
	buf = closeList(buf)
	return append(buf, '}')
}

// appendScopeLogsJSON appends {"scope":...,"logRecords":[...]} for a
// protobuf ScopeLogs.
func appendScopeLogsJSON(buf, sl []byte) []byte {
	buf = append(buf, '{')
	for f, rest, ok := nextField(sl); ok; f, rest, ok = nextField(rest) {
		if f.tag == tagScope {
			buf = append(buf, `"scope":`...)
			buf = appendScopeJSON(buf, f.data)
			buf = append(buf, ',')
			break
		}
	}
	buf = append(buf, `"logRecords":[`...)
	for f, rest, ok := nextField(sl); ok; f, rest, ok = nextField(rest) {
		if f.tag == tagLogRecord {
			buf = appendRecordJSON(buf, f.data)
			buf = append(buf, ',')
		}
	}
	buf = closeList(buf)
	return append(buf, '}')
}

// appendScopeJSON appends the JSON of a protobuf InstrumentationScope as
// scopeRegistry writes it: the name always, the version when set.
func appendScopeJSON(buf, scope []byte) []byte {
	var name, version []byte
	for f, rest, ok := nextField(scope); ok; f, rest, ok = nextField(rest) {
		switch f.tag {
		case tagScopeName:
			name = f.data
		case tagScopeVersion:
			version = f.data
		}
	}
	buf = append(buf, `{"name":`...)
	buf = appendString(buf, string(name))
	if version != nil {
		buf = append(buf, `,"version":`...)
		buf = appendString(buf, string(version))
	}
	return append(buf, '}')
}
