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
	buf = appendEachJSON(buf, req, tagResourceLogs, appendResourceLogsJSON)
	buf = closeList(buf)
	return append(buf, '}')
}

// appendResourceLogsJSON appends {"resource":...,"schemaUrl":...,
// "scopeLogs":[...]} for a protobuf ResourceLogs.
func appendResourceLogsJSON(buf, rl []byte) []byte {
	buf = append(buf, '{')
	if res, ok := firstField(rl, tagResource); ok {
		buf = append(buf, `"resource":{"attributes":[`...)
		buf = appendEachJSON(buf, res, tagResourceAttribute, appendKeyValueJSON)
		buf = closeList(buf)
		buf = append(buf, "},"...)
	}
	if url, ok := firstField(rl, tagLogsSchemaURL); ok {
		buf = append(buf, `"schemaUrl":`...)
		buf = appendString(buf, string(url))
		buf = append(buf, ',')
	}
	buf = append(buf, `"scopeLogs":[`...)
	buf = appendEachJSON(buf, rl, tagScopeLogs, appendScopeLogsJSON)
	buf = closeList(buf)
	return append(buf, '}')
}

// firstField returns the content of msg's first field with tag.
func firstField(msg []byte, tag uint64) ([]byte, bool) {
	for f, rest, ok := nextField(msg); ok; f, rest, ok = nextField(rest) {
		if f.tag == tag {
			return f.data, true
		}
	}
	return nil, false
}

// appendScopeLogsJSON appends {"scope":...,"logRecords":[...]} for a
// protobuf ScopeLogs.
func appendScopeLogsJSON(buf, sl []byte) []byte {
	buf = append(buf, '{')
	if scope, ok := firstField(sl, tagScope); ok {
		buf = append(buf, `"scope":`...)
		buf = appendScopeJSON(buf, scope)
		buf = append(buf, ',')
	}
	buf = append(buf, `"logRecords":[`...)
	buf = appendEachJSON(buf, sl, tagLogRecord, appendRecordJSON)
	buf = closeList(buf)
	return append(buf, '}')
}

// appendScopeJSON appends the JSON of a protobuf InstrumentationScope as
// scopeRegistry writes it: the name always, the version when set.
func appendScopeJSON(buf, scope []byte) []byte {
	name, version := fieldPair(scope, tagScopeName, tagScopeVersion)
	buf = append(buf, `{"name":`...)
	buf = appendString(buf, string(name))
	if version != nil {
		buf = append(buf, `,"version":`...)
		buf = appendString(buf, string(version))
	}
	return append(buf, '}')
}
