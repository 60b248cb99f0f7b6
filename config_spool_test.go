package slogotlp

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewFromEnvSpool(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		opts  HandlerOptions
		dir   string
		bytes int64
		age   time.Duration
	}{
		{"unset: off", nil, HandlerOptions{}, "", 0, 0},
		{"variables", map[string]string{EnvSpoolDir: " /var/spool/app ", EnvSpoolMaxBytes: "1048576", EnvSpoolMaxAge: "24h"},
			HandlerOptions{}, "/var/spool/app", 1 << 20, 24 * time.Hour},
		{"binary units", map[string]string{EnvSpoolMaxBytes: "256MiB"}, HandlerOptions{}, "", 256 << 20, 0},
		{"KiB and GiB", map[string]string{EnvSpoolMaxBytes: "2 GiB"}, HandlerOptions{}, "", 2 << 30, 0},
		{"options win", map[string]string{EnvSpoolDir: "/env", EnvSpoolMaxBytes: "1KiB", EnvSpoolMaxAge: "1h"},
			HandlerOptions{SpoolDir: "/opt", SpoolMaxBytes: 5000, SpoolMaxAge: time.Minute}, "/opt", 5000, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := resolved(t, &Config{HandlerOptions: tc.opts, Getenv: mapEnv(tc.env), Stdout: discardWriter{}})
			assert.Equal(t, tc.dir, p.opts.SpoolDir)
			assert.Equal(t, tc.bytes, p.opts.SpoolMaxBytes)
			assert.Equal(t, tc.age, p.opts.SpoolMaxAge)
		})
	}
	assert.Equal(t, int64(defaultSpoolBytes), (&HandlerOptions{}).withDefaults().SpoolMaxBytes, "64 MiB by default")
}

func TestNewFromEnvSpoolErrors(t *testing.T) {
	for _, tc := range []struct{ name, v string }{
		{EnvSpoolMaxBytes, "0"}, {EnvSpoolMaxBytes, "-5"}, {EnvSpoolMaxBytes, "lots"}, {EnvSpoolMaxBytes, "64MB"},
		{EnvSpoolMaxBytes, "99999999999GiB"}, {EnvSpoolMaxAge, "1d"}, {EnvSpoolMaxAge, "-1h"}, {EnvSpoolMaxAge, "0s"},
	} {
		_, err := resolveConfig(&Config{Getenv: mapEnv(map[string]string{tc.name: tc.v}), Stdout: discardWriter{}})
		require.Error(t, err, tc.v)
		var ce *ConfigError
		require.True(t, errors.As(err, &ce))
		assert.Equal(t, tc.name, ce.Var)
	}
}
