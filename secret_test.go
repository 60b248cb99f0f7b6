package slogotlp

// headersOf turns a plain header map into Headers, for tests that write
// their headers as strings.
func headersOf(m map[string]string) Headers {
	if m == nil {
		return nil
	}
	h := make(Headers, len(m))
	for k, v := range m {
		h[k] = NewSecret(v)
	}
	return h
}
