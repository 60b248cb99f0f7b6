package slogotlp

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// JSON text in a string value (or a json.RawMessage) is parsed and scrubbed
// like a map: object keys go through the key rules, string values through
// the value rules (and are parsed again when they hold JSON themselves). Only
// what changes is rewritten, in place, so key order, numbers and formatting
// stay as they were and the result is valid JSON. Text that is not valid JSON
// gets the text rules instead.

// looksJSON reports whether s starts (after white space) like a JSON object
// or array.
func looksJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// scrubStr is the treatment of one string value: JSON text is scrubbed as
// JSON, anything else with the text rules.
func (rd *Redactor) scrubStr(s string, st *scrubState, depth int) (string, bool) {
	if looksJSON(s) && depth < maxDepth {
		if !rd.keys.any(s) && !rd.anyRuleMayMatch(s) {
			return s, false
		}
		if out, changed, ok := rd.scrubJSON(s, st, depth); ok {
			return out, changed
		}
	}
	return rd.scrubText(s, st)
}

// anyRuleMayMatch reports whether some value rule's prefilter passes. The
// key=value rule is left out: in JSON, keys are the key rules' business, and
// every JSON text has the ':' and ',' that rule looks for.
func (rd *Redactor) anyRuleMayMatch(s string) bool {
	f := scan(s)
	for i := range rd.rules {
		if r := &rd.rules[i]; r.name != PatternSecretAssignment && r.pre(s, f) {
			return true
		}
	}
	return false
}

// jsonEdit replaces s[start:end] with text.
type jsonEdit struct {
	start, end int
	text       string
}

// jsonWalker holds one pass over a JSON text.
type jsonWalker struct {
	rd    *Redactor
	s     string
	dec   *json.Decoder
	st    *scrubState
	depth int
	edits []jsonEdit
}

// scrubJSON scrubs the JSON text s. ok is false when s is not valid JSON.
func (rd *Redactor) scrubJSON(s string, st *scrubState, depth int) (out string, changed, ok bool) {
	if !json.Valid([]byte(s)) {
		return s, false, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	w := &jsonWalker{rd: rd, s: s, dec: dec, st: st, depth: depth}
	if err := w.value(); err != nil {
		return s, false, false
	}
	if len(w.edits) == 0 {
		return s, false, true
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, e := range w.edits {
		b.WriteString(s[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(s[last:])
	return b.String(), true, true
}

// next reads one token and returns it with the offset where it starts.
func (w *jsonWalker) next() (json.Token, int, error) {
	from := int(w.dec.InputOffset())
	t, err := w.dec.Token()
	if err != nil {
		return nil, 0, err
	}
	for from < len(w.s) && strings.IndexByte(" \t\r\n:,", w.s[from]) >= 0 {
		from++
	}
	return t, from, nil
}

var errJSONDepth = errors.New("json too deep")

// value walks one JSON value.
func (w *jsonWalker) value() error {
	t, start, err := w.next()
	if err != nil {
		return err
	}
	return w.walk(t, start)
}

func (w *jsonWalker) walk(t json.Token, start int) error {
	switch t := t.(type) {
	case json.Delim:
		if w.depth >= maxDepth {
			return errJSONDepth
		}
		w.depth++
		defer func() { w.depth-- }()
		if t == '{' {
			return w.object()
		}
		return w.array()
	case string:
		if out, ch := w.rd.scrubStr(t, w.st, w.depth+1); ch {
			w.edits = append(w.edits, jsonEdit{start, int(w.dec.InputOffset()), string(appendString(nil, out))})
		}
	case json.Number:
		if s := string(t); len(s) >= 13 && !strings.ContainsAny(s, ".eE-") {
			if w.rd.scrubNumber(s, w.st) {
				w.edits = append(w.edits, jsonEdit{start, int(w.dec.InputOffset()), strconv.Quote(w.rd.replacement)})
			}
		}
	}
	return nil
}

func (w *jsonWalker) object() error {
	for w.dec.More() {
		kt, _, err := w.next()
		if err != nil {
			return err
		}
		key, _ := kt.(string)
		if rule, matched := w.rd.keys.match(key); rule != "" {
			// Skip the whole value and replace it.
			t, start, err := w.next()
			if err != nil {
				return err
			}
			if err := w.skip(t); err != nil {
				return err
			}
			w.st.pushKey(key)
			w.st.note(matched)
			w.st.pop()
			w.edits = append(w.edits, jsonEdit{start, int(w.dec.InputOffset()), string(appendString(nil, w.rd.replacement))})
			continue
		}
		w.st.pushKey(key)
		err = w.value()
		w.st.pop()
		if err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	return err
}

func (w *jsonWalker) array() error {
	for i := 0; w.dec.More(); i++ {
		w.st.pushIndex(i)
		err := w.value()
		w.st.pop()
		if err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // ']'
	return err
}

// skip consumes the rest of a value whose first token is t.
func (w *jsonWalker) skip(t json.Token) error {
	d, ok := t.(json.Delim)
	if !ok || (d != '{' && d != '[') {
		return nil
	}
	for n := 1; n > 0; {
		t, err := w.dec.Token()
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				n++
			} else {
				n--
			}
		}
	}
	return nil
}
