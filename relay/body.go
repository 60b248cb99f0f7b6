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
// object and each scopeLogs an array) without decoding the log records'
// values. When stamp is non-nil it also returns the body with every
// resource's attributes rewritten: any enduser.id or session.id the client
// sent is dropped and the encoded attributes in stamp are appended; and
// with enduser.id and session.id dropped from every scope's and every log
// record's attributes, so that no record can carry an identity but the
// token's. Everything else is kept byte for byte. Duplicate keys are
// rejected at every level inspected, so no receiver can read a different
// value than the one the relay checked.
func inspect(body []byte, stamp []byte) ([]byte, error) {
	if !json.Valid(body) {
		return nil, errBadBody
	}
	var edits []splice
	sawLogs := false
	_, _, err := objectFields(body, true, func(key string, val []byte, at int) error {
		switch key {
		case "resourceLogs":
			sawLogs = true
			return arrayElems(val, func(elem []byte, eat int) error {
				return inspectResourceLogs(elem, at+eat, stamp, &edits)
			})
		}
		// The proto field name (resource_logs) is an alias receivers
		// accept, and some decoders match names case-insensitively: either
		// would carry records past the stamping, so only the JSON name is
		// taken.
		if lookalike(key, "resourceLogs") || strings.EqualFold(key, "resource_logs") {
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
		if lookalike(key, "resource") || lookalike(key, "scopeLogs") || lookalike(key, "scope_logs") {
			return errBadBody
		}
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
			if stamp != nil && !isNull(val) {
				return dropInScopeLogs(val, base+at, edits)
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
		if lookalike(key, "attributes") {
			return errBadBody
		}
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
		kept, _, err := withoutStamped(attrs)
		if err != nil {
			return nil, err
		}
		if len(kept) > 0 {
			out = append(append(out, kept...), ',')
		}
	}
	out = append(append(out, stamp...), ']')
	return applySplices(res, []splice{{attrsAt, attrsAt + len(attrs), out}}), nil
}

// dropInScopeLogs drops enduser.id and session.id from the attributes of
// every scope and every log record in the scopeLogs array arr, which
// starts at base in the body.
func dropInScopeLogs(arr []byte, base int, edits *[]splice) error {
	return arrayElems(arr, func(sl []byte, at int) error {
		slBase := base + at
		_, _, err := objectFields(sl, false, func(key string, val []byte, vat int) error {
			if lookalike(key, "scope") || lookalike(key, "logRecords") || lookalike(key, "log_records") {
				return errBadBody
			}
			switch key {
			case "scope":
				if isNull(val) {
					return nil
				}
				if val[0] != '{' {
					return errBadBody
				}
				return dropInAttributes(val, slBase+vat, edits)
			case "logRecords", "log_records":
				if isNull(val) {
					return nil
				}
				if val[0] != '[' {
					return errBadBody
				}
				return arrayElems(val, func(rec []byte, rat int) error {
					if rec[0] != '{' {
						return errBadBody
					}
					return dropInAttributes(rec, slBase+vat+rat, edits)
				})
			}
			return nil
		})
		return err
	})
}

// dropInAttributes drops the relay's keys from the attributes array of
// obj (a scope or a log record), which starts at base in the body.
func dropInAttributes(obj []byte, base int, edits *[]splice) error {
	_, _, err := objectFields(obj, false, func(key string, val []byte, at int) error {
		if lookalike(key, "attributes") {
			return errBadBody
		}
		if key != "attributes" || isNull(val) {
			return nil
		}
		if val[0] != '[' {
			return errBadBody
		}
		kept, dropped, err := withoutStamped(val)
		if err != nil || !dropped {
			return err
		}
		out := append(append([]byte{'['}, kept...), ']')
		*edits = append(*edits, splice{base + at, base + at + len(val), out})
		return nil
	})
	return err
}

// withoutStamped returns the elements of the attributes array attrs that
// set no attribute the relay owns, joined by commas, and whether any was
// dropped.
func withoutStamped(attrs []byte) (kept []byte, dropped bool, err error) {
	err = arrayElems(attrs, func(kv []byte, _ int) error {
		owned, err := isStampedKey(kv)
		if err != nil {
			return err
		}
		if owned {
			dropped = true
			return nil
		}
		if len(kept) > 0 {
			kept = append(kept, ',')
		}
		kept = append(kept, kv...)
		return nil
	})
	return kept, dropped, err
}

// isStampedKey reports whether a KeyValue sets an attribute the relay owns.
func isStampedKey(kv []byte) (bool, error) {
	owned := false
	_, _, err := objectFields(kv, false, func(key string, val []byte, _ int) error {
		if lookalike(key, "key") {
			return errBadBody
		}
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

// lookalike reports a key that differs from want only in case, which a
// case-insensitive decoder downstream would read as want.
func lookalike(key, want string) bool { return key != want && strings.EqualFold(key, want) }

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
// value (a sub-slice of b, not a copy) and the value's offset in b. It
// returns the offset just inside the opening brace and the number of fields.
// Duplicate keys are an error. With whole, b must hold nothing but the
// object (and white space). b must be valid JSON (inspect checks the whole
// body with json.Valid first), so the walk only skips, never validates; it
// still checks every bound so that it cannot panic.
func objectFields(b []byte, whole bool, fn func(key string, val []byte, at int) error) (inner, n int, err error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, 0, errBadBody
	}
	inner = i + 1
	i = skipWS(b, inner)
	var seen []string // objects we walk have a handful of keys
	for i < len(b) && b[i] != '}' {
		if b[i] != '"' {
			return 0, 0, errBadBody
		}
		kend, err := skipString(b, i)
		if err != nil {
			return 0, 0, err
		}
		key, err := decodeKey(b[i:kend])
		if err != nil {
			return 0, 0, err
		}
		if slices.Contains(seen, key) {
			return 0, 0, errBadBody
		}
		seen = append(seen, key)
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, 0, errBadBody
		}
		vstart := skipWS(b, i+1)
		vend, err := skipValue(b, vstart)
		if err != nil {
			return 0, 0, err
		}
		if err := fn(key, b[vstart:vend], vstart); err != nil {
			return 0, 0, err
		}
		n++
		i = skipWS(b, vend)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	if i >= len(b) {
		return 0, 0, errBadBody
	}
	if whole && skipWS(b, i+1) != len(b) {
		return 0, 0, errBadBody
	}
	return inner, n, nil
}

// arrayElems walks the JSON array b, calling fn with each element and its
// offset in b. Like objectFields, it expects valid JSON.
func arrayElems(b []byte, fn func(elem []byte, at int) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return errBadBody
	}
	i = skipWS(b, i+1)
	for i < len(b) && b[i] != ']' {
		end, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if err := fn(b[i:end], i); err != nil {
			return err
		}
		i = skipWS(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	if i >= len(b) {
		return errBadBody
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the offset after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errBadBody
		}
		j += k
		bs := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			bs++
		}
		j++
		if bs%2 == 0 {
			return j, nil
		}
	}
}

// skipValue returns the offset after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errBadBody
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errBadBody
	}
	j := i
	for j < len(b) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(b[j])) {
		j++
	}
	if j == i {
		return 0, errBadBody
	}
	return j, nil
}

// decodeKey unescapes a JSON string (quotes included), taking the fast path
// when it holds no escapes.
func decodeKey(q []byte) (string, error) {
	if len(q) < 2 {
		return "", errBadBody
	}
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1]), nil
	}
	var k string
	if err := json.Unmarshal(q, &k); err != nil {
		return "", errBadBody
	}
	return k, nil
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
