package relay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// Resource attribute keys the relay owns when identity stamping is on.
const (
	AttrUserID    = "enduser.id"
	AttrSessionID = "session.id"
)

// statusError carries the HTTP status a request failure maps to, with a
// message that is safe to show the client.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

var (
	errTooLarge    = &statusError{http.StatusRequestEntityTooLarge, "request body too large"}
	errBadEncoding = &statusError{http.StatusUnsupportedMediaType, "unsupported Content-Encoding; send identity or gzip"}
	errBadType     = &statusError{http.StatusUnsupportedMediaType, "unsupported Content-Type; send application/json"}
	errBadBody     = &statusError{http.StatusBadRequest, "body is not an OTLP JSON logs request"}
	errReadBody    = &statusError{http.StatusBadRequest, "could not read the request body"}
)

// readBody reads at most max bytes of the request body and, for gzip, at most
// max bytes of its decompressed form. It returns the bytes as sent and the
// plain JSON (the same slice when not compressed).
func readBody(w http.ResponseWriter, r *http.Request, max int64) (sent, plain []byte, gz bool, err error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, perr := mime.ParseMediaType(ct)
		if perr != nil || mt != "application/json" {
			return nil, nil, false, errBadType
		}
	}
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		return nil, nil, false, errBadEncoding
	}
	if r.ContentLength > max {
		return nil, nil, false, errTooLarge
	}
	body := http.MaxBytesReader(w, r.Body, max)
	sent, err = readAll(body, r.ContentLength)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, nil, false, errTooLarge
		}
		return nil, nil, false, errReadBody
	}
	if !gz {
		return sent, sent, false, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(sent))
	if err != nil {
		return nil, nil, false, errBadBody
	}
	// One byte over the cap tells a zip bomb from a body of exactly max.
	plain, err = readAll(io.LimitReader(zr, max+1), -1)
	if err != nil {
		return nil, nil, false, errBadBody
	}
	if int64(len(plain)) > max {
		return nil, nil, false, errTooLarge
	}
	return sent, plain, true, nil
}

func readAll(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > 1<<20 {
		size = 512
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// splice replaces b[start:end] with repl.
type splice struct {
	start, end int
	repl       []byte
}

// inspect checks that body looks like an OTLP JSON ExportLogsServiceRequest
// (an object whose resourceLogs is an array of objects, each resource an
// object and each scopeLogs an array) without decoding the log records. When
// stamp is non-nil it also returns the body with every resource's attributes
// rewritten: any enduser.id or session.id the client sent is dropped and the
// encoded attributes in stamp are appended. Everything else is kept byte for
// byte. Duplicate keys are rejected at every level inspected, so no receiver
// can read a different value than the one the relay checked.
func inspect(body []byte, stamp []byte) ([]byte, error) {
	var edits []splice
	sawLogs := false
	_, _, err := objectFields(body, true, func(key string, val []byte, at int) error {
		switch key {
		case "resourceLogs":
			sawLogs = true
			return arrayElems(val, func(elem []byte, eat int) error {
				return inspectResourceLogs(elem, at+eat, stamp, &edits)
			})
		case "resource_logs":
			// The proto field name is an alias receivers accept; it would
			// carry records past the stamping, so only the JSON name is taken.
			return errBadBody
		}
		return nil
	})
	if err != nil || !sawLogs {
		return nil, errBadBody
	}
	if stamp == nil || len(edits) == 0 {
		return body, nil
	}
	return applySplices(body, edits), nil
}

func inspectResourceLogs(elem []byte, base int, stamp []byte, edits *[]splice) error {
	var res []byte
	resAt := -1
	inner, n, err := objectFields(elem, false, func(key string, val []byte, at int) error {
		switch key {
		case "resource":
			res, resAt = val, at
			if val[0] != '{' && !isNull(val) {
				return errBadBody
			}
		case "scopeLogs", "scope_logs":
			if val[0] != '[' && !isNull(val) {
				return errBadBody
			}
		}
		return nil
	})
	if err != nil || stamp == nil {
		return err
	}
	attrs := append(append([]byte(`{"attributes":[`), stamp...), ']', '}')
	switch {
	case resAt < 0:
		ins := append(append([]byte(`"resource":`), attrs...), sep(n)...)
		*edits = append(*edits, splice{base + inner, base + inner, ins})
	case isNull(res):
		*edits = append(*edits, splice{base + resAt, base + resAt + len(res), attrs})
	default:
		out, err := stampResource(res, stamp)
		if err != nil {
			return err
		}
		*edits = append(*edits, splice{base + resAt, base + resAt + len(res), out})
	}
	return nil
}

// stampResource rewrites one resource object's attributes.
func stampResource(res []byte, stamp []byte) ([]byte, error) {
	var attrs []byte
	attrsAt := -1
	inner, n, err := objectFields(res, false, func(key string, val []byte, at int) error {
		if key == "attributes" {
			if val[0] != '[' && !isNull(val) {
				return errBadBody
			}
			attrs, attrsAt = val, at
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if attrsAt < 0 {
		ins := append(append([]byte(`"attributes":[`), stamp...), ']')
		ins = append(ins, sep(n)...)
		return applySplices(res, []splice{{inner, inner, ins}}), nil
	}
	out := []byte{'['}
	if !isNull(attrs) {
		err = arrayElems(attrs, func(kv []byte, _ int) error {
			owned, err := isStampedKey(kv)
			if err != nil || owned {
				return err
			}
			out = append(append(out, kv...), ',')
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out = append(append(out, stamp...), ']')
	return applySplices(res, []splice{{attrsAt, attrsAt + len(attrs), out}}), nil
}

// isStampedKey reports whether a KeyValue sets an attribute the relay owns.
func isStampedKey(kv []byte) (bool, error) {
	owned := false
	_, _, err := objectFields(kv, false, func(key string, val []byte, _ int) error {
		if key != "key" {
			return nil
		}
		var k string
		if err := json.Unmarshal(val, &k); err != nil {
			return errBadBody
		}
		owned = k == AttrUserID || k == AttrSessionID
		return nil
	})
	return owned, err
}

func sep(fields int) []byte {
	if fields > 0 {
		return []byte{','}
	}
	return nil
}

func isNull(v []byte) bool { return string(v) == "null" }

func applySplices(b []byte, edits []splice) []byte {
	slices.SortFunc(edits, func(a, b splice) int { return a.start - b.start })
	grow := 0
	for _, e := range edits {
		grow += len(e.repl) - (e.end - e.start)
	}
	out := make([]byte, 0, len(b)+grow)
	last := 0
	for _, e := range edits {
		out = append(out, b[last:e.start]...)
		out = append(out, e.repl...)
		last = e.end
	}
	return append(out, b[last:]...)
}

// objectFields walks the JSON object b, calling fn with each key, its raw
// value and the value's offset in b. It returns the offset just inside the
// opening brace and the number of fields. Duplicate keys are an error. With
// whole, b must hold nothing but the object (and white space).
func objectFields(b []byte, whole bool, fn func(key string, val []byte, at int) error) (inner, n int, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, errBadBody
	}
	inner = int(dec.InputOffset())
	seen := make(map[string]struct{}, 4)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, errBadBody
		}
		key, ok := t.(string)
		if !ok {
			return 0, 0, errBadBody
		}
		if _, dup := seen[key]; dup {
			return 0, 0, errBadBody
		}
		seen[key] = struct{}{}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, errBadBody
		}
		end := int(dec.InputOffset())
		if err := fn(key, raw, end-len(raw)); err != nil {
			return 0, 0, err
		}
		n++
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return 0, 0, errBadBody
	}
	if whole {
		if _, err := dec.Token(); err != io.EOF {
			return 0, 0, errBadBody
		}
	}
	return inner, n, nil
}

// arrayElems walks the JSON array b, calling fn with each element and its
// offset in b.
func arrayElems(b []byte, fn func(elem []byte, at int) error) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return errBadBody
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return errBadBody
		}
		end := int(dec.InputOffset())
		if err := fn(raw, end-len(raw)); err != nil {
			return err
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim(']') {
		return errBadBody
	}
	return nil
}

// stampAttrs encodes the identity as OTLP KeyValues (without brackets).
func stampAttrs(id identity) []byte {
	out := appendKV(nil, AttrUserID, id.user)
	if id.session != "" {
		out = append(out, ',')
		out = appendKV(out, AttrSessionID, id.session)
	}
	return out
}

func appendKV(b []byte, key, val string) []byte {
	k, _ := json.Marshal(key)
	v, _ := json.Marshal(val)
	b = append(b, `{"key":`...)
	b = append(b, k...)
	b = append(b, `,"value":{"stringValue":`...)
	b = append(b, v...)
	return append(b, `}}`...)
}
