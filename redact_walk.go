package slogotlp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Values of kind slog.KindAny are walked, so the key rules see the keys
// inside them, not only attribute keys:
//
//   - maps with string keys (http.Header and url.Values included): each key
//     goes through the key rules, each value is walked; a map with something
//     redacted becomes a map[string]any with the same keys, which every
//     handler shows as the map it was (a kvlist in OTLP);
//   - structs: each field, exported or not, is denied by its name, by its
//     json tag's name, or by the tag `slogotlp:"redact"`; a field whose type
//     implements slog.LogValuer is resolved (as slog does for attributes, so
//     a `type Token string` with a LogValue method hides itself inside any
//     struct). A struct with something redacted becomes a map[string]any of
//     its exported fields;
//   - slices and arrays: each element is walked; []string stays []string;
//   - pointers and interfaces: what they point to;
//   - errors: the message is scrubbed and the error keeps its type for
//     exception.type (see redactedError);
//   - fmt.Stringer and []byte: their text is scrubbed;
//   - strings inside any of these: JSON text is parsed (json.RawMessage too),
//     other text gets the value rules.
//
// Values of the plain kinds (string, int, ...) never reach this code, and a
// value that needs no change is passed on as it was, unchanged and
// uncopied.

// RedactTag is the struct tag that marks a field as secret whatever its name:
//
//	type Account struct {
//		Holder string
//		Number string `slogotlp:"redact"`
//	}
const RedactTag = "slogotlp"

var (
	logValuerType = reflect.TypeFor[slog.LogValuer]()
	formatterType = reflect.TypeFor[fmt.Formatter]()
)

// scrubAny returns the redacted form of x and whether it differs.
func (rd *Redactor) scrubAny(x any, st *scrubState, depth int) (out any, changed bool) {
	defer func() {
		// A value's own methods (Error, String, LogValue, MarshalJSON) may
		// panic; the next handler shows such values as it does any other.
		if r := recover(); r != nil {
			out, changed = x, false
		}
	}()
	if depth >= maxDepth {
		return "!DEPTH", true
	}
	switch v := x.(type) {
	case nil:
		return x, false
	case string:
		return rd.scrubStr(v, st, depth)
	case slog.Value:
		nv, ch := rd.scrubValue(v, st, depth)
		return nv, ch
	case slog.LogValuer:
		nv, _ := rd.scrubValue(safeResolve(slog.AnyValue(v)), st, depth)
		return nv, true
	case error:
		return rd.scrubError(v, st)
	case json.RawMessage:
		out, ch := rd.scrubStr(string(v), st, depth)
		if !ch {
			return x, false
		}
		if json.Valid([]byte(out)) {
			return json.RawMessage(out), true
		}
		return out, true
	case fmt.Stringer:
		if out, ch := rd.scrubText(v.String(), st); ch {
			return out, true
		}
		return x, false
	case []byte:
		if out, ch := rd.scrubStr(string(v), st, depth); ch {
			return []byte(out), true
		}
		return x, false
	case http.Header:
		return rd.scrubStringsMap(v, st, depth)
	case url.Values:
		return rd.scrubStringsMap(v, st, depth)
	case map[string][]string:
		return rd.scrubStringsMap(v, st, depth)
	case map[string]string:
		return scrubMap(rd, v, st, func(s string) (any, bool) { return rd.scrubStr(s, st, depth+1) })
	case map[string]any:
		return scrubMap(rd, v, st, func(e any) (any, bool) { return rd.scrubAny(e, st, depth+1) })
	case []string:
		return rd.scrubStrings(v, st, depth)
	case []any:
		return scrubList(v, st, func(e any) (any, bool) { return rd.scrubAny(e, st, depth+1) })
	case int32, uint32, int16, uint16, int8, uint8, bool, float32, float64, complex64, complex128:
		return x, false // too short for a card number
	case int:
		return rd.scrubInt(x, rd.cardInt(int64(v), st))
	case uint:
		return rd.scrubInt(x, rd.cardUint(uint64(v), st))
	case int64:
		return rd.scrubInt(x, rd.cardInt(v, st))
	case uint64:
		return rd.scrubInt(x, rd.cardUint(v, st))
	}
	return rd.scrubReflect(reflect.ValueOf(x), st, depth)
}

// scrubValue redacts a resolved slog.Value found inside another value.
func (rd *Redactor) scrubValue(v slog.Value, st *scrubState, depth int) (slog.Value, bool) {
	switch v.Kind() {
	case slog.KindString:
		if out, ch := rd.scrubStr(v.String(), st, depth); ch {
			return slog.StringValue(out), true
		}
	case slog.KindGroup:
		attrs, ch := rd.redactAttrs(v.Group(), nil, st)
		if ch {
			return slog.GroupValue(attrs...), true
		}
	case slog.KindAny:
		if out, ch := rd.scrubAny(v.Any(), st, depth+1); ch {
			return slog.AnyValue(out), true
		}
	}
	return v, false
}

// scrubInt returns the replacement for the integer x when it is a card
// number, else x.
func (rd *Redactor) scrubInt(x any, card bool) (any, bool) {
	if card {
		return rd.replacement, true
	}
	return x, false
}

// redactedError stands in for an error whose message held a secret: it
// prints the scrubbed message, and the handler reports the original's Go
// type as exception.type. It does not unwrap to the original, whose message
// still holds the secret.
type redactedError struct {
	msg     string // scrubbed Error()
	verbose string // scrubbed %+v (a stack trace, for errors that print one), or ""
	typ     string // the original's type, as errorType names it
}

func (e *redactedError) Error() string { return e.msg }

// ErrorType is the original error's type, for exception.type: the
// OpenTelemetry convention a handler asks an error for its type by.
func (e *redactedError) ErrorType() string { return e.typ }

// Format prints the scrubbed verbose form under %+v, so the handler still
// finds the stack trace of errors that carry one.
func (e *redactedError) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('+') && e.verbose != "" {
		_, _ = f.Write([]byte(e.verbose))
		return
	}
	_, _ = f.Write([]byte(e.msg))
}

func (rd *Redactor) scrubError(err error, st *scrubState) (any, bool) {
	msg := err.Error()
	out, ch := rd.scrubText(msg, st)
	if !ch {
		return err, false
	}
	re := &redactedError{msg: out, typ: errorType(err)}
	if inner, ok := err.(*redactedError); ok {
		re.typ = inner.typ
	}
	if errorStack(err, msg) != "" {
		// The stack trace repeats the message; the scrub state already
		// noted what fired.
		re.verbose, _ = rd.scrubText(fmt.Sprintf("%+v", err), &scrubState{})
	}
	return re, true
}

func (rd *Redactor) scrubStringsMap(m map[string][]string, st *scrubState, depth int) (any, bool) {
	return scrubMap(rd, m, st, func(v []string) (any, bool) { return rd.scrubStrings(v, st, depth+1) })
}

// scrubMap walks a map with string keys: each key through the key rules
// (scrubEntry), each value through walk.
func scrubMap[V any](rd *Redactor, m map[string]V, st *scrubState, walk func(V) (any, bool)) (any, bool) {
	var out map[string]any
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		nv, ch := rd.scrubEntry(k, st, func() (any, bool) { return walk(v) })
		if ch && out == nil {
			out = make(map[string]any, len(m))
		}
		if out != nil {
			out[k] = nv
		}
	}
	return finishMap(m, out)
}

// finishMap completes a map copy: out holds the entries from the first
// change on; the earlier, unchanged ones come from m.
func finishMap[V any](m map[string]V, out map[string]any) (any, bool) {
	if out == nil {
		return m, false
	}
	for k, v := range m {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out, true
}

// scrubEntry redacts the value under key k: the replacement when k is
// denied, else what walk returns.
func (rd *Redactor) scrubEntry(k string, st *scrubState, walk func() (any, bool)) (any, bool) {
	st.pushKey(k)
	defer st.pop()
	if _, matched := rd.keys.match(k); matched != "" {
		st.note(matched)
		return rd.replacement, true
	}
	return walk()
}

func (rd *Redactor) scrubStrings(v []string, st *scrubState, depth int) (any, bool) {
	return scrubList(v, st, func(s string) (string, bool) { return rd.scrubStr(s, st, depth) })
}

// scrubList walks the elements of v with walk; v is copied only when
// something changes.
func scrubList[E any](v []E, st *scrubState, walk func(E) (E, bool)) (any, bool) {
	var out []E
	for i, e := range v {
		st.pushIndex(i)
		ne, ch := walk(e)
		st.pop()
		if ch && out == nil {
			out = slices.Clone(v)
		}
		if out != nil {
			out[i] = ne
		}
	}
	if out == nil {
		return v, false
	}
	return out, true
}

// scrubReflect walks maps, structs, slices, arrays, pointers and interfaces
// of any type.
func (rd *Redactor) scrubReflect(rv reflect.Value, st *scrubState, depth int) (any, bool) {
	if !rv.IsValid() {
		return nil, false
	}
	if depth >= maxDepth {
		return "!DEPTH", true
	}
	t := rv.Type()
	if rv.CanInterface() && t.Implements(formatterType) {
		// It prints itself its own way: scrub what it prints.
		return rd.scrubPrinted(rv.Interface(), st)
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return rvInterface(rv), false
		}
		e := rv.Elem()
		if e.CanInterface() && (rv.Kind() == reflect.Interface || !e.Type().Implements(errorIface)) {
			out, ch := rd.scrubAny(e.Interface(), st, depth+1)
			if ch {
				return out, true
			}
			return rvInterface(rv), false
		}
		return rd.scrubReflect(e, st, depth+1)
	case reflect.Map:
		return rd.scrubMapValue(rv, st, depth)
	case reflect.Struct:
		return rd.scrubStruct(rv, st, depth)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return rvInterface(rv), false
		}
		if t.Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			if out, ch := rd.scrubStr(string(b), st, depth); ch {
				return out, true
			}
			return rvInterface(rv), false
		}
		var out []any
		for i := range rv.Len() {
			st.pushIndex(i)
			ne, ch := rd.scrubElem(rv.Index(i), st, depth+1)
			st.pop()
			if ch && out == nil {
				out = make([]any, rv.Len())
				for j := range i {
					out[j] = rvInterface(rv.Index(j))
				}
			}
			if out != nil {
				out[i] = ne
			}
		}
		if out == nil {
			return rvInterface(rv), false
		}
		return out, true
	case reflect.String:
		if out, ch := rd.scrubStr(rv.String(), st, depth); ch {
			return out, true
		}
	case reflect.Int, reflect.Int64:
		return rd.scrubInt(rvInterface(rv), rd.cardInt(rv.Int(), st))
	case reflect.Uint, reflect.Uint64:
		return rd.scrubInt(rvInterface(rv), rd.cardUint(rv.Uint(), st))
	}
	return rvInterface(rv), false
}

// rvInterface returns rv's value, or for an unexported field (which cannot
// be handed out) a plain copy of it: its string or number, or its printed
// form.
func rvInterface(rv reflect.Value) any {
	if rv.CanInterface() {
		return rv.Interface()
	}
	switch rv.Kind() {
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint()
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Bool:
		return rv.Bool()
	}
	return fmt.Sprint(rv)
}

// scrubElem walks an element reached by reflection.
func (rd *Redactor) scrubElem(rv reflect.Value, st *scrubState, depth int) (any, bool) {
	if rv.CanInterface() {
		return rd.scrubAny(rv.Interface(), st, depth)
	}
	if rv.Type().Implements(logValuerType) {
		// An unexported field hiding itself by type: it cannot be resolved
		// from here, so it is left out.
		return rd.replacement, true
	}
	return rd.scrubReflect(rv, st, depth)
}

func (rd *Redactor) scrubPrinted(x any, st *scrubState) (any, bool) {
	if out, ch := rd.scrubText(fmt.Sprintf("%+v", x), st); ch {
		return out, true
	}
	return x, false
}

func (rd *Redactor) scrubMapValue(rv reflect.Value, st *scrubState, depth int) (any, bool) {
	if rv.IsNil() || rv.Len() == 0 {
		return rvInterface(rv), false
	}
	strKeys := rv.Type().Key().Kind() == reflect.String
	keys := rv.MapKeys()
	names := make([]string, len(keys))
	for i, k := range keys {
		if strKeys {
			names[i] = k.String()
		} else {
			names[i] = fmt.Sprint(rvInterface(k))
		}
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	var out map[string]any
	for n, i := range order {
		ev := rv.MapIndex(keys[i])
		var nv any
		var ch bool
		if strKeys {
			nv, ch = rd.scrubEntry(names[i], st, func() (any, bool) { return rd.scrubElem(ev, st, depth+1) })
		} else {
			st.pushKey(names[i])
			nv, ch = rd.scrubElem(ev, st, depth+1)
			st.pop()
		}
		if ch && out == nil {
			out = make(map[string]any, len(keys))
			for _, j := range order[:n] {
				out[names[j]] = rvInterface(rv.MapIndex(keys[j]))
			}
		}
		if out != nil {
			out[names[i]] = nv
		}
	}
	if out == nil {
		return rvInterface(rv), false
	}
	return out, true
}

// fieldInfo is what the redactor knows about a struct field from its type.
type fieldInfo struct {
	name     string // Go name
	exported bool
	denied   string // matched key text ("" when the name is fine)
}

// fieldCache holds each struct type's fields, per Redactor (key rules
// differ between redactors).
type fieldCache struct{ m sync.Map } // reflect.Type -> []fieldInfo

func (rd *Redactor) fields(t reflect.Type) []fieldInfo {
	if v, ok := rd.fieldCache.m.Load(t); ok {
		return v.([]fieldInfo)
	}
	fs := make([]fieldInfo, t.NumField())
	for i := range fs {
		sf := t.Field(i)
		fi := fieldInfo{name: sf.Name, exported: sf.IsExported()}
		if tag, ok := sf.Tag.Lookup(RedactTag); ok && tag == "redact" {
			fi.denied = RedactTag
		} else if _, m := rd.keys.match(sf.Name); m != "" {
			fi.denied = m
		} else if jn, _, _ := strings.Cut(sf.Tag.Get("json"), ","); jn != "" && jn != "-" {
			if _, m := rd.keys.match(jn); m != "" {
				fi.denied = m
			}
		}
		fs[i] = fi
	}
	v, _ := rd.fieldCache.m.LoadOrStore(t, fs)
	return v.([]fieldInfo)
}

func (rd *Redactor) scrubStruct(rv reflect.Value, st *scrubState, depth int) (any, bool) {
	fs := rd.fields(rv.Type())
	var out map[string]any
	changed := false
	for i, fi := range fs {
		fv := rv.Field(i)
		st.pushKey(fi.name)
		var nv any
		var ch bool
		switch {
		case fi.denied != "":
			if !fv.IsZero() {
				st.note(fi.denied)
				nv, ch = rd.replacement, true
			} else {
				nv = rvInterface(fv)
			}
		case fv.Type().Implements(logValuerType) && fv.CanInterface():
			v := safeResolve(slog.AnyValue(fv.Interface()))
			nv, _ = rd.scrubValue(v, st, depth+1)
			ch = true
		default:
			nv, ch = rd.scrubElem(fv, st, depth+1)
		}
		st.pop()
		if ch && !changed {
			changed = true
			out = make(map[string]any, len(fs))
			for j, fj := range fs[:i] {
				if fj.exported {
					out[fj.name] = rvInterface(rv.Field(j))
				}
			}
		}
		if changed && fi.exported {
			out[fi.name] = nv
		}
	}
	if !changed {
		return rvInterface(rv), false
	}
	return out, true
}
