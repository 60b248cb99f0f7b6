package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/soliplex/slogotlp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	var console, exported bytes.Buffer
	err := run(&console, &slogotlp.Config{
		Getenv:   func(string) string { return "" }, // nothing configured: payloads to the Fallback
		Fallback: slogotlp.NewWriterExporter(&exported, false),
	})
	require.NoError(t, err)

	// The console sees every record, as logged.
	assert.Equal(t, 20, strings.Count(console.String(), "msg=\"cache lookup\""))
	assert.Contains(t, console.String(), "jane@example.com")

	// The exported copy is redacted and sampled.
	out := exported.String()
	assert.NotContains(t, out, "jane@example.com")
	assert.NotContains(t, out, "4111 1111 1111 1111")
	assert.Contains(t, out, `"payment failed"`)
	debug := strings.Count(out, `"cache lookup"`)
	assert.Less(t, debug, 20, "DEBUG records are sampled")
	assert.Positive(t, debug, "about one in ten is kept")
	assert.Contains(t, console.String(), "export dropped 0")
}
