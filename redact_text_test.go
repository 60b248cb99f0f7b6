package slogotlp

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// scrubCase is one free-text case: want is the scrubbed text, and names
// the ScrubbedKey entries (matched substrings) expected, in order.
type scrubCase struct {
	name, in, want string
	notes          []string
}

func runScrubCases(t *testing.T, rd *Redactor, cases []scrubCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			st := &scrubState{}
			st.reset("log_body")
			got, changed := rd.scrubStr(tt.in, st, 0)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.in != tt.want, changed)
			var notes []string
			for _, e := range strings.Split(string(st.entries), `"matched_substring": "`)[1:] {
				notes = append(notes, e[:strings.IndexByte(e, '"')])
			}
			if tt.notes != nil || notes != nil {
				assert.Equal(t, tt.notes, notes)
			}
		})
	}
}

func TestRedactSecretAssignment(t *testing.T) {
	const R = DefaultReplacement
	n := func(s ...string) []string { return s }
	runScrubCases(t, mustRedactor(t, nil), []scrubCase{
		{"url query", "GET /cb?code=1&password=hunter2&x=1", "GET /cb?code=1&password=" + R + "&x=1", n("password")},
		{"env line", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "aws_secret_access_key = " + R, n("secret")},
		{"export", "export DB_PASSWORD='p@ss w0rd' && run", "export DB_PASSWORD='" + R + "' && run", n("PASSWORD")},
		{"json pair in text", `got {"token": "abc", "n": 1} back`, `got {"token": "` + R + `", "n": 1} back`, n("token")},
		{"escaped json pair", `body="{\"api_key\":\"k-9\"}"`, `body="{\"api_key\":\"` + R + `\"}"`, n("api_key")},
		{"yaml", "  client_secret: s3cr3t\n  name: x", "  client_secret: " + R + "\n  name: x", n("secret")},
		{"header basic", "Authorization: Basic dXNlcjpwYXNz", "Authorization: " + R, n("Auth")},
		{"header custom scheme", `-H "Authorization: Api-Token 22cb98785"`, `-H "Authorization: ` + R + `"`, n("Auth")},
		{"go short", `apiToken := "tok-123"`, `apiToken := "` + R + `"`, n("Token")},
		{"go typed", `var apiToken string = "tok-123"`, `var apiToken string = "` + R + `"`, n("Token")},
		{"php concat", `$dbPassword .= "p"`, `$dbPassword .= "` + R + `"`, n("Password")},
		{"fat arrow", `"secret_key" => "sk_x"`, `"secret_key" => "` + R + `"`, n("secret")},
		{"make", `DB_PASSWD ?= "p"`, `DB_PASSWD ?= "` + R + `"`, n("PASSWD")},
		{"xml", "<password>\n  hunter2\n</password>", "<password>\n  " + R + "\n</password>", n("password")},
		{"quoted pair", `System.setProperty("API_KEY", "k-1")`, `System.setProperty("API_KEY", "` + R + `")`, n("API_KEY")},
		{"curl user", "curl -u admin:hunter2 https://x", "curl -u " + R + " https://x", n(PatternCLICredentials)},
		{"url credentials", "dial postgres://app:s3cret@db:5432/x", "dial postgres://app:" + R + "@db:5432/x", n(PatternURLCredentials)},
		{"pin", "PIN=1234", "PIN=" + R, n("PIN")},
		// prose and empty values stay
		{"prose", "the password was changed by the user", "the password was changed by the user", nil},
		{"prose bearer", "bearer token missing from request", "bearer token missing from request", nil},
		{"empty", "password=", "password=", nil},
		{"null", `"token": null, "session": false`, `"token": null, "session": false`, nil},
		{"template", "PrivateKey: %s", "PrivateKey: %s", nil},
		{"not a key", "max_tokens=4096 tokenizer=bpe token_count=7", "max_tokens=4096 tokenizer=bpe token_count=7", nil},
		{"url", "see https://example.com/auth/callback", "see https://example.com/auth/callback", nil},
		{"closing tag only", "</password>", "</password>", nil},
	})
}

func TestRedactFormats(t *testing.T) {
	const R = DefaultReplacement
	n := func(s ...string) []string { return s }
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	spacedJWT := b64("{\n  \"alg\": \"HS256\"\n}") + "." + b64("{ \"sub\": \"1\" }") + ".c2ln"
	pem := "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----"
	runScrubCases(t, mustRedactor(t, nil), []scrubCase{
		{"jwt spaced header", "t " + spacedJWT + " end", "t " + R + " end", n(PatternJWT)},
		{"pem", "key:\n" + pem + "\nnext", "key:\n" + R + "\nnext", n(PatternPrivateKey)},
		{"pem cut off", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNz", R, n(PatternPrivateKey)},
		{"pem escaped in json", `{"private_key_id":"1","pem":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}`,
			`{"private_key_id":"1","pem":"` + R + `\n"}`, n(PatternPrivateKey)},
		{"public key stays", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", nil},
		{"slack webhook", "post https://hooks.slack.com/services/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 ok",
			"post https://hooks.slack.com/services/" + R + " ok", n(PatternWebhookURL)},
		{"discord webhook", "https://discord.com/api/webhooks/1234567890/AbCdEf-ghIjk_lmnOP", "https://discord.com/api/webhooks/" + R, n(PatternWebhookURL)},
		{"stripe webhook secret", "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH", R, n("stripe_key")},
		{"stripe key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", R, n("stripe_key")},
		{"github pat", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", R, n("github_token")},
		{"github fine grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij", R, n("github_token")},
		{"gitlab", "glpat-xR7bZk2Lq9Vw4Nt8Yp3M", R, n("gitlab_token")},
		{"npm", "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", R, n("npm_token")},
		{"pypi", "pypi-AgEIcHlwaS5vcmcCJGI4YjNhMzQ2LTk3OWEtNDA4MC1iYzA5LWFmZTYzM2I5YjMzNgACKlszLCJmMjA4", R, n("pypi_token")},
		{"sendgrid", "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", R, n("sendgrid_key")},
		{"twilio", "SK2a3b4c5d6e7f8091a2b3c4d5e6f70819", R, n("twilio_key")},
		{"google", "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", R, n("google_api_key")},
		{"azure client secret", "secret-ish abc8Q~sAUd3eKdKRKqLxTz2bBQ1rDf3ThT5~x9vo end", "secret-ish " + R + " end", n("azure_client_secret")},
		{"aws key id", "AKIAIOSFODNN7EXAMPLE", R, n("aws_access_key")},
		{"anthropic", "sk-ant-api03-Ab3dEf9hIjKlMn0pQrStUvWxYz012345", R, n(PatternAPIKey)},
		{"slack bot", "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", R, n("slack_token")},
		{"escaped newline before a token", `a\nghp_16C7e42F292c6912E7710c838347Ae178B4a`, `a\n` + R, n("github_token")},
	})
}

// TestRedactPrecision is the list of ordinary text that was once
// altered, and more of the same kinds.
func TestRedactPrecision(t *testing.T) {
	rd := mustRedactor(t, nil)
	for _, s := range []string{
		"4.0.0.0", "version 4.0.0.0", "Chrome/120.0.0.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
		"Section 4.2.1.6", "RFC 7540, 8.1.2.2", "10.0.0.0/8", "2001:db8::/32", "255.255.255.0", "127.0.0.1:8080", "[::1]:8080", "0.0.0.0",
		"github.com/samber/slog-multi@v1.7.1", "module@v1.7.1", "git@github.com:soliplex/slogotlp.git", "ssh://git@github.com/x/y", "icon@2x.png",
		"disk-sk-0123456789abcdefghijABCDEFGHIJ", "my_sk_test_0123456789abcdefABCDEF", "task-sk-proj-0123456789abcdefABCDEFGH", "sk-learn-compatible-estimators",
		"user 12345678", "id 550e8400-e29b-41d4-a716-446655440000", "ulid 01HN3ZK6Q8V7W5X4Y3Z2A1B0C9",
		"sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"2024-01-02T03:04:05.123456Z", "1700000000123456789", "/home/jane/go/pkg/mod/x@v1.0.0/z.go:12", `C:\Users\jane\x.go`,
		"00:1a:2b:3c:4d:5e", "00:1a:2b:ff:fe:3c:4d:5e", "20:00:00:25:b5:00:00:0f", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"the bearer of bad news", "Bearer authentication failed", "s.ReadUint16LengthPrefixed", "video_box.ico-7a388b69018576d24b59331fd60aab0c.png",
		"hf_requiredCharacteristicTypesForDisplayMetadata", "order 4111111111111112", "ts 5105105105105101 ns",
	} {
		got, changed := rd.ScrubString(s)
		assert.False(t, changed, "%q became %q", s, got)
	}
}

// TestQuietGate checks that features.quiet, the shortcut that skips every
// built-in rule, never skips a rule whose prefilter would pass: on the
// strings of the other tables and on strings drawn from the bytes the
// prefilters look at.
func TestQuietGate(t *testing.T) {
	rd := mustRedactor(t, nil)
	check := func(s string) {
		f := scan(s)
		if plain(s) && !f.quiet() {
			t.Fatalf("plain(%q) but not quiet", s)
		}
		if !f.quiet() {
			return
		}
		for _, r := range rd.rules[:rd.nBuiltin] {
			if r.pre(s, f) {
				t.Fatalf("quiet skips rule %s, whose prefilter passes on %q", r.name, s)
			}
		}
	}
	for _, s := range []string{"", "a", "GET", "/api/v1/items", "request handled", "bearer abcdefgh", "a:b", "a=b", "<x>", "x,y",
		"1.2", "4111111111111111", "4111 1111 1111 1111", "12 34 56 78 90 12 34", "::1", "a~b", "-----", "a@b", "eyJ0.eyJ0.0", "hooks.slack.com/x"} {
		check(s)
	}
	const alphabet = "aZ09_-.:@=<>,~/ \n\"'eyJbearerQ~hooks"
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(string(b))
	}
}

// TestDisablePatterns: every name BuiltinPatterns lists can be turned off,
// provider token formats included, and the others keep working.
func TestDisablePatterns(t *testing.T) {
	names := BuiltinPatterns()
	for _, n := range []string{PatternEmail, PatternBearer, PatternJWT, PatternLogfireToken, PatternAPIKey, PatternIPv4, PatternIPv6,
		PatternCreditCard, PatternPrivateKey, PatternURLCredentials, PatternWebhookURL, PatternSecretAssignment, PatternCLICredentials,
		"github_token", "aws_access_key", "stripe_key"} {
		assert.Contains(t, names, n)
	}
	const pat = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
	rd := mustRedactor(t, &RedactOptions{DisablePatterns: []string{"github_token", PatternSecretAssignment}})
	got, _ := rd.ScrubString("pat " + pat + " token=abc mail a@b.io")
	assert.Equal(t, "pat "+pat+" token=abc mail "+DefaultReplacement, got)
}
