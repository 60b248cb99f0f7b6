package logfire

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogsEndpoint(t *testing.T) {
	us, eu := USBaseURL+LogsPath, EUBaseURL+LogsPath
	tests := []struct {
		token, region, base string
		want                string
	}{
		{"tok", "", "", us},
		{"tok", "us", "", us},
		{"tok", "EU", "", eu},
		{"tok", " eu ", "", eu},
		{"pylf_v1_eu_abc", "", "", eu},
		{"pylf_v2_us_abc", "", "", us},
		{"pylf_v1_eu_abc", "us", "", us}, // an explicit region wins
		{"pylf_v1_mars_abc", "", "", us}, // an unknown region in a token: the US, as Logfire's SDKs do
		{"pylf_v1_stagingus_abc", "", "", "https://logfire-us.pydantic.info/v1/logs"},
		{"tok", "stagingeu", "", "https://logfire-eu.pydantic.info/v1/logs"},
		{"tok", "eu", "https://logfire.example.com", "https://logfire.example.com/v1/logs"},
		{"tok", "", "https://logfire.example.com/", "https://logfire.example.com/v1/logs"},
		{"tok", "", "https://logfire.example.com/v1/logs", "https://logfire.example.com/v1/logs"},
	}
	for _, tt := range tests {
		got, err := LogsEndpoint(tt.token, tt.region, tt.base)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "%+v", tt)
	}
	_, err := LogsEndpoint("tok", "asia", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown Logfire region "asia": use "us" or "eu"`)

	for _, tok := range []string{"pylf_v1_eu", "pylf_vx_eu_a", "pylf_v_eu_a", "pylf_v1", "xx"} {
		assert.Empty(t, TokenRegion(tok), tok)
	}
	assert.Equal(t, "eu", TokenRegion("pylf_v12_eu_abc"))
}

func TestTokenFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(file, []byte("  pylf_v1_eu_SECRETFROMFILE\n"), 0o600))
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	big := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(big, make([]byte, maxTokenFile+1), 0o600))

	for _, tt := range []struct {
		name            string
		env             map[string]string
		token, source   string
		errVar, errText string
	}{
		{name: "neither", env: map[string]string{}},
		{name: "variable", env: map[string]string{EnvToken: " pylf_v1_us_SECRETFROMVAR "}, token: "pylf_v1_us_SECRETFROMVAR", source: EnvToken},
		{name: "file", env: map[string]string{EnvTokenFile: file}, token: "pylf_v1_eu_SECRETFROMFILE", source: EnvTokenFile},
		{name: "both", env: map[string]string{EnvToken: "x", EnvTokenFile: file}, errVar: EnvTokenFile, errText: "both LOGFIRE_TOKEN and LOGFIRE_TOKEN_FILE are set"},
		{name: "missing file", env: map[string]string{EnvTokenFile: filepath.Join(dir, "nope")}, errVar: EnvTokenFile, errText: "cannot read the token file"},
		{name: "empty file", env: map[string]string{EnvTokenFile: empty}, errVar: EnvTokenFile, errText: "the token file is empty"},
		{name: "large file", env: map[string]string{EnvTokenFile: big}, errVar: EnvTokenFile, errText: "larger than 64 KiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, src, err := TokenFromEnv(func(k string) string { return tt.env[k] })
			assert.Equal(t, tt.token, tok)
			assert.Equal(t, tt.source, src)
			if tt.errVar == "" {
				require.NoError(t, err)
				return
			}
			var te *TokenError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tt.errVar, te.Var)
			assert.Contains(t, err.Error(), tt.errText)
			assert.NotContains(t, err.Error(), "SECRETFROM", "the error never quotes the token")
		})
	}
}
