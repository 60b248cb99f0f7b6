package slogotlp

import (
	"slices"
	"sync"
	"sync/atomic"
)

// ScopeKey is the attribute key that gives a logger its own instrumentation
// scope when bound with With at the top level:
//
//	billing := logger.With(slogotlp.ScopeKey, "billing")
//
// The attribute is consumed, not exported: records of different scopes land
// in separate scopeLogs entries of one payload. It works through middleware
// that forwards WithAttrs; (*Handler).WithScope does the same directly.
const ScopeKey = "otel.scope.name"

// WithScope returns a handler whose records belong to the instrumentation
// scope name (and version), the per-logger name of other logging APIs:
//
//	billing := slog.New(h.WithScope("billing", ""))
func (h *Handler) WithScope(name, version string) *Handler {
	h2 := *h
	h2.scope = h.c.scopes.id(name, version)
	return &h2
}

// scopeRegistry interns instrumentation scopes. Handlers hold an index; the
// batcher reads the pre-encoded forms through a lock-free snapshot.
type scopeRegistry struct {
	mu    sync.Mutex
	byKey map[[2]string]int32
	list  atomic.Pointer[[]scopeInfo]
}

type scopeInfo struct {
	json  []byte // {"name":"...","version":"..."}
	proto []byte // the InstrumentationScope message
}

func (s *scopeRegistry) id(name, version string) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{name, version}
	if id, ok := s.byKey[k]; ok {
		return id
	}
	if s.byKey == nil {
		s.byKey = map[[2]string]int32{}
	}
	p := appendStringField(nil, tagScopeName, name, 0)
	if version != "" {
		p = appendStringField(p, tagScopeVersion, version, 0)
	}
	// The JSON form is read off the protobuf one, as the spool's
	// transcoder reads it, so both agree byte for byte.
	j := appendScopeJSON(nil, p)
	var list []scopeInfo
	if p := s.list.Load(); p != nil {
		list = slices.Clone(*p)
	}
	list = append(list, scopeInfo{json: j, proto: p})
	id := int32(len(list) - 1)
	s.byKey[k] = id
	s.list.Store(&list)
	return id
}

func (s *scopeRegistry) snapshot() []scopeInfo { return *s.list.Load() }
