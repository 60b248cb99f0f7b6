package slogotlp

import (
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"
)

// This file gathers a record's attributes as the encoder writes them:
// LogValuers resolved, empty attributes and groups dropped, empty-key groups
// inlined, ReplaceAttr applied, and duplicate keys found.

// isEmptyAttr reports whether a is the zero Attr, which slog handlers ignore.
// (Attr.Equal is not used: it panics on values of uncomparable types.)
func isEmptyAttr(a slog.Attr) bool {
	return a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil
}

// direct is what the attributes a caller passes directly (to a log call, to
// With, or through AttrFromContext; not inside a group value) say about the
// record besides themselves: its exception and its event name.
type direct struct {
	err   error  // the last error value
	event string // the last string EventNameKey value
}

// collect appends attrs to dst in the form the encoder writes them (see
// prepare), groups with an empty key inlined.
func (e *encoder) collect(dst, attrs []slog.Attr, rs *replaceScratch, d *direct) []slog.Attr {
	for _, a := range attrs {
		dst = e.collectAttr(dst, a, rs, d)
	}
	return dst
}

// collectAttr is collect for one attribute.
func (e *encoder) collectAttr(dst []slog.Attr, a slog.Attr, rs *replaceScratch, d *direct) []slog.Attr {
	a, ok := e.prepare(a, rs, d)
	switch {
	case !ok:
		return dst
	case a.Key == "" && a.Value.Kind() == slog.KindGroup:
		return e.collect(dst, a.Value.Group(), rs, d)
	}
	return append(dst, a)
}

// prepare readies one attribute for encoding and reports whether to keep
// it: its value resolved; empty attrs and empty groups dropped. With rs set,
// a non-group attribute first passes through ReplaceAttr as slog.JSONHandler
// passes it, with the names of the groups that hold it (rs.groups) and its
// value resolved, and a group's members do too, here, depth first and in
// order, so that encoding calls ReplaceAttr no more. With d set, a is one of
// the caller's direct attributes: d notes the last error value and
// consumes the event name. A group with an empty key comes back as it is,
// for the caller to inline.
func (e *encoder) prepare(a slog.Attr, rs *replaceScratch, d *direct) (slog.Attr, bool) {
	a.Value = a.Value.Resolve()
	if rs != nil && a.Value.Kind() != slog.KindGroup {
		a = e.replace(rs.groups, a)
		a.Value = a.Value.Resolve()
	}
	if isEmptyAttr(a) {
		return a, false
	}
	// Compare keys as they will be written, so two keys that differ only in
	// invalid bytes are duplicates too.
	a.Key = validUTF8(a.Key)
	switch a.Value.Kind() {
	case slog.KindGroup:
		if len(a.Value.Group()) == 0 {
			return a, false
		}
		if a.Key != "" && rs != nil {
			v, ok := e.replaceGroup(a.Key, a.Value.Group(), rs)
			if !ok {
				return a, false // ReplaceAttr left nothing in it
			}
			a.Value = v
		}
	case slog.KindString:
		if d != nil && a.Key == EventNameKey {
			d.event = a.Value.String()
			return a, false
		}
	case slog.KindAny:
		if d != nil {
			if err, ok := a.Value.Any().(error); ok && err != nil {
				d.err = err
			}
		}
	}
	return a, true
}

// replaceScratch is the state of applying ReplaceAttr to one record (or one
// WithAttrs call): the names of the open groups, the members of the groups
// being collected (a stack: a group's members sit above its parent's), and
// the final storage of the groups whose members ReplaceAttr rewrote.
// Records take theirs from a pool, so ReplaceAttr costs no allocation once
// the pool is warm.
type replaceScratch struct {
	groups []string
	stack  []slog.Attr
	attrs  []slog.Attr
}

var scratchPool = sync.Pool{New: func() any {
	return &replaceScratch{groups: make([]string, 0, 8), stack: make([]slog.Attr, 0, 32), attrs: make([]slog.Attr, 0, 32)}
}}

func getScratch() *replaceScratch { return scratchPool.Get().(*replaceScratch) }

func putScratch(rs *replaceScratch) {
	clear(rs.attrs) // the pool must not keep the caller's values alive
	clear(rs.stack[:cap(rs.stack)])
	rs.groups, rs.stack, rs.attrs = rs.groups[:0], rs.stack[:0], rs.attrs[:0]
	scratchPool.Put(rs)
}

// replaceGroup collects the members of group key through ReplaceAttr and
// returns them as the group's new value, false when none is left. Past
// maxDepth the group becomes "!DEPTH", as encoding would show it.
//
// The members are collected on rs.stack, not in a local array: prepare and
// this function call each other, and escape analysis would move such an
// array to the heap.
func (e *encoder) replaceGroup(key string, g []slog.Attr, rs *replaceScratch) (slog.Value, bool) {
	if len(rs.groups) >= maxDepth {
		return slog.StringValue("!DEPTH"), true
	}
	rs.groups = append(rs.groups, key)
	base := len(rs.stack)
	e.stackMembers(g, rs)
	rs.groups = rs.groups[:len(rs.groups)-1]
	members := rs.stack[base:]
	if len(members) == 0 {
		return slog.Value{}, false
	}
	start := len(rs.attrs)
	rs.attrs = append(rs.attrs, members...)
	rs.stack = rs.stack[:base]
	// No member is an empty group (collect dropped those), so GroupValue
	// keeps this slice as it is, without copying it. rs.attrs only grows
	// while the record is encoded, so the slice stays as written.
	return slog.GroupValue(rs.attrs[start:len(rs.attrs):len(rs.attrs)]...), true
}

// stackMembers prepares the members of a group onto rs.stack, inlining
// groups with an empty key. A member group collects its own members above
// these and takes them off again.
func (e *encoder) stackMembers(g []slog.Attr, rs *replaceScratch) {
	for _, m := range g {
		m, ok := e.prepare(m, rs, nil)
		switch {
		case !ok:
		case m.Key == "" && m.Value.Kind() == slog.KindGroup:
			e.stackMembers(m.Value.Group(), rs)
		default:
			rs.stack = append(rs.stack, m)
		}
	}
}

// validUTF8 returns s with each invalid byte replaced by U+FFFD, as
// appendString writes it. Valid strings (nearly all) cost one scan.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		sb.WriteRune(r) // RuneError for an invalid byte
		i += size
	}
	return sb.String()
}

// shadowed reports whether key appears among later. slog allows duplicate
// keys but OTLP forbids them in one list; the last value wins. Attribute
// lists are short, so a scan beats building a map per record.
func shadowed(key string, later []slog.Attr) bool {
	for _, b := range later {
		if b.Key == key {
			return true
		}
	}
	return false
}
