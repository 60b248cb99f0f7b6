package slogotlp

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewFromEnvAttributeLimits(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          map[string]string
		opts         HandlerOptions
		count, value int
	}{
		{"unset", nil, HandlerOptions{}, 0, 0},
		{"log record variables", map[string]string{EnvAttributeCountLimit: "64", EnvAttributeValueLengthLimit: " 1024 "}, HandlerOptions{}, 64, 1024},
		{"general ones in their place", map[string]string{EnvGeneralAttributeCountLimit: "32", EnvGeneralAttributeValueLengthLimit: "100"}, HandlerOptions{}, 32, 100},
		{"log record ones win", map[string]string{EnvAttributeCountLimit: "64", EnvGeneralAttributeCountLimit: "32"}, HandlerOptions{}, 64, 0},
		{"negative: no limit", map[string]string{EnvAttributeCountLimit: "-5", EnvAttributeValueLengthLimit: "-1"}, HandlerOptions{}, -1, -1},
		{"options win", map[string]string{EnvAttributeCountLimit: "64", EnvAttributeValueLengthLimit: "10"},
			HandlerOptions{AttributeCountLimit: 8, AttributeValueLengthLimit: -1}, 8, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := resolved(t, &Config{HandlerOptions: tc.opts, Getenv: mapEnv(tc.env), Stdout: discardWriter{}})
			assert.Equal(t, tc.count, p.opts.AttributeCountLimit)
			assert.Equal(t, tc.value, p.opts.AttributeValueLengthLimit)
		})
	}
}

func TestNewFromEnvAttributeLimitErrors(t *testing.T) {
	for _, v := range []string{"0", "many", "1.5"} {
		_, err := resolveConfig(&Config{Getenv: mapEnv(map[string]string{EnvAttributeCountLimit: v, EnvGeneralAttributeValueLengthLimit: v}), Stdout: discardWriter{}})
		require.Error(t, err, v)
		var ce *ConfigError
		require.True(t, errors.As(err, &ce))
		assert.Contains(t, err.Error(), EnvAttributeCountLimit)
		assert.Contains(t, err.Error(), EnvGeneralAttributeValueLengthLimit)
		assert.NotContains(t, err.Error(), v, "the value is never quoted")
	}
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
