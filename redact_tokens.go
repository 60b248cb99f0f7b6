package slogotlp

import (
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
)

// This file holds the provider token table (about 75 credential formats,
// each with its own pattern name) and the index that finds a token by its
// first byte, so a clean string runs no regular expression.

// A tokenFormat is a provider's credential format: a literal prefix and an
// expression (anchored, prefix included) for the whole token.
type tokenFormat struct {
	name     string
	prefixes []string
	re       *regexp.Regexp
	check    func(tok, body string) bool // nil: any match counts; body follows the prefix
}

func tok(name, expr string, prefixes ...string) tokenFormat {
	return tokenFormat{name: name, prefixes: prefixes, re: regexp.MustCompile(`^(?:` + expr + `)`), check: looksRandom}
}

// looksRandom reports whether the body of a token (what follows its
// prefix) mixes at least two of digits, upper- and lowercase letters, as
// generated credentials do; a word or an identifier in one case
// ("sk-learn-compatible-estimators") or a placeholder ("glpat-XXXXXXXX")
// does not.
func looksRandom(_, body string) bool {
	var digit, upper, lower int
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case isDigit(c):
			digit = 1
		case isUpper(c):
			upper = 1
		case isLower(c):
			lower = 1
		}
	}
	return digit+upper+lower >= 2
}

// mixedCase accepts letter-only bodies whose case changes as randomly
// generated ones do, not as a camelCase identifier does
// ("hf_requiredCharacteristicTypes...").
func mixedCase(_, body string) bool {
	upper, letters := 0, 0
	for i := 0; i < len(body); i++ {
		if isUpper(body[i]) {
			upper++
		}
		if isUpper(body[i]) || isLower(body[i]) {
			letters++
		}
	}
	return letters > 0 && upper*5 >= letters && upper*5 <= letters*4
}

func withCheck(t tokenFormat, check func(tok, body string) bool) tokenFormat {
	t.check = check
	return t
}

// tokenFormats are the credential formats recognised on their own, without
// a key naming them. Each starts at a token boundary (not inside a longer
// identifier) and must end at one. Formats follow the providers' documented
// token shapes.
var tokenFormats = []tokenFormat{
	{name: PatternLogfireToken, prefixes: []string{"pylf_v"}, re: regexp.MustCompile(`^pylf_v[0-9]+_[A-Za-z0-9_\-]+`)},
	jwtFormat,
	tok(PatternJWT, `ZXlK[A-Za-z0-9+/_\-]{40,}={0,2}`, "ZXlK"), // a base64-encoded JWT
	tok(PatternAPIKey, `sk-[A-Za-z0-9_\-]{20,}`, "sk-"),
	tok("aws_access_key", `(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}`, "A3T", "AKIA", "ASIA", "ABIA", "ACCA"),
	tok("aws_bedrock_key", `ABSK[A-Za-z0-9+/]{100,280}={0,2}|bedrock-api-key-[A-Za-z0-9+/=]{20,}`, "ABSK", "bedrock-api-key-"),
	tok("github_token", `gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}`, "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
	tok("gitlab_token", `gl(?:pat|dt|rt|rtr|ft|imt|agent|oas|soat|ffct|ptt|cbt)-[0-9A-Za-z_.\-]{20,300}|GR1348941[0-9A-Za-z_\-]{20,}`,
		"glpat-", "gldt-", "glrt-", "glrtr-", "glft-", "glimt-", "glagent-", "gloas-", "glsoat-", "glffct-", "glptt-", "glcbt-", "GR1348941"),
	tok("slack_token", `xox[a-z](?:\.xox[a-z])?-[0-9A-Za-z\-]{8,}|xapp-[0-9]-[A-Za-z0-9\-]{20,}`, "xox", "xapp-"),
	tok("stripe_key", `(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,255}|whsec_[A-Za-z0-9+/=]{24,}`, "sk_", "rk_", "whsec_"),
	tok("google_api_key", `AIza[0-9A-Za-z_\-]{35}|GOCSPX-[A-Za-z0-9_\-]{20,}|ya29\.[0-9A-Za-z_\-]{20,}`, "AIza", "GOCSPX-", "ya29."),
	tok("npm_token", `npm_[A-Za-z0-9]{36}`, "npm_"),
	tok("pypi_token", `pypi-AgE[A-Za-z0-9_\-]{50,}`, "pypi-AgE"),
	tok("sendgrid_key", `SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}|SG\.[A-Za-z0-9_=\-.]{66}`, "SG."),
	tok("twilio_key", `SK[0-9a-fA-F]{32}`, "SK"),
	withCheck(tok("huggingface_token", `hf_[A-Za-z]{34}|api_org_[A-Za-z]{34}`, "hf_", "api_org_"), mixedCase),
	tok("digitalocean_token", `do[opr]_v1_[a-f0-9]{64}`, "dop_v1_", "doo_v1_", "dor_v1_"),
	tok("shopify_token", `shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`, "shpat_", "shpca_", "shppa_", "shpss_"),
	tok("databricks_token", `dapi[a-f0-9]{32}(?:-[0-9])?`, "dapi"),
	tok("doppler_token", `dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}`, "dp."),
	tok("postman_key", `PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}`, "PMAK-"),
	tok("linear_key", `lin_(?:api|oauth)_[A-Za-z0-9]{40}`, "lin_"),
	tok("sentry_token", `sntry[su]_[A-Za-z0-9+/=_]{40,}`, "sntrys_", "sntryu_"),
	tok("grafana_token", `glc_[A-Za-z0-9+/]{32,400}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{60,400}={0,3}`, "glc_", "glsa_", "eyJrIjoi"),
	tok("vault_token", `hvs\.[A-Za-z0-9_\-]{90,}|hvb\.[A-Za-z0-9_\-]{138,}`, "hvs.", "hvb."),
	withCheck(tok("vault_token", `s\.[A-Za-z0-9]{24}`, "s."), func(tok, body string) bool { // legacy: random base62
		return looksRandom(tok, body) && mixedCase(tok, body)
	}),
	tok("pulumi_token", `pul-[a-f0-9]{40}`, "pul-"),
	tok("planetscale_token", `pscale_(?:tkn|oauth|pw)_[A-Za-z0-9_=.\-]{32,64}`, "pscale_"),
	withCheck(tok("age_secret_key", `AGE-SECRET-KEY-1[0-9A-Z]{58}`, "AGE-SECRET-KEY-1"), nil), // the prefix says it all
	tok("onepassword_token", `ops_eyJ[A-Za-z0-9+/]{250,}={0,3}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}`, "ops_eyJ", "A3-"),
	tok("newrelic_key", `NRAK-[A-Za-z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9\-]{32}`, "NRAK-", "NRJS-", "NRII-"),
	tok("atlassian_token", `ATATT3[A-Za-z0-9_=\-]{150,}|ATCTT3[A-Za-z0-9_=\-]{150,}`, "ATATT3", "ATCTT3"),
	tok("notion_token", `ntn_[0-9]{11}[A-Za-z0-9]{35}`, "ntn_"),
	tok("dynatrace_token", `dt0[a-z][0-9]{2}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}`, "dt0"),
	tok("easypost_key", `EZ[AT]K[A-Za-z0-9]{54}`, "EZAK", "EZTK"),
	tok("heroku_key", `HRKU-[A-Za-z0-9_\-]{60}`, "HRKU-"),
	tok("flyio_token", `fo1_[A-Za-z0-9_\-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}`, "fo1_", "fm1", "fm2"),
	tok("square_token", `EAAA[A-Za-z0-9_\-]{22,60}|sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,43}`, "EAAA", "sq0"),
	tok("facebook_token", `EAA[MC][A-Za-z0-9]{100,}|EAACEdEose0cBA[0-9A-Za-z]+`, "EAAM", "EAAC"),
	tok("rubygems_key", `rubygems_[a-f0-9]{48}`, "rubygems_"),
	tok("clojars_token", `(?i:CLOJARS_[a-z0-9]{60})`, "CLOJARS_", "clojars_"),
	tok("sendinblue_key", `xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}`, "xkeysib-"),
	tok("mailgun_key", `key-[a-f0-9]{32}`, "key-"),
	tok("shippo_token", `shippo_(?:live|test)_[a-fA-F0-9]{40}`, "shippo_"),
	tok("settlemint_token", `sm_(?:pat|aat|sat)_[A-Za-z0-9]{16}`, "sm_"),
	tok("prefect_token", `pnu_[A-Za-z0-9]{36}`, "pnu_"),
	tok("readme_key", `rdme_[a-z0-9]{70}`, "rdme_"),
	tok("scalingo_token", `tk-us-[A-Za-z0-9_\-]{48}`, "tk-us-"),
	tok("infracost_token", `ico-[A-Za-z0-9]{32}`, "ico-"),
	tok("duffel_token", `duffel_(?:test|live)_[A-Za-z0-9_=\-]{43}`, "duffel_"),
	tok("frameio_token", `fio-u-[A-Za-z0-9_=\-]{64}`, "fio-u-"),
	tok("flutterwave_key", `FLW(?:SECK|PUBK)_TEST-[A-Za-z0-9]{12,32}(?:-X)?`, "FLWSECK_", "FLWPUBK_"),
	tok("openshift_token", `sha256~[A-Za-z0-9_\-]{43}`, "sha256~"),
	tok("harness_token", `(?:pat|sat)\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}`, "pat.", "sat."),
	tok("artifactory_key", `AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59}`, "AKCp", "cmVmd"),
	tok("authress_key", `(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_\-][a-z0-9\-]{10,32}\.[A-Za-z0-9+/_=\-]{30,120}`, "sc_", "ext_", "scauth_", "authress_"),
	tok("cloudflare_origin_ca_key", `v1\.0-[a-f0-9]{24}-[a-f0-9]{146}`, "v1.0-"),
	tok("defined_networking_key", `dnkey-[A-Za-z0-9=_\-]{26}-[A-Za-z0-9=_\-]{52}`, "dnkey-"),
	tok("perplexity_key", `pplx-[A-Za-z0-9]{48}`, "pplx-"),
	tok("sourcegraph_token", `sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}`, "sgp_"),
	tok("intra42_secret", `s-s4t2(?:ud|af)-[a-fA-F0-9]{64}`, "s-s4t2"),
	tok("octopus_key", `API-[A-Z0-9]{26}`, "API-"),
	tok("alibaba_key", `LTAI[A-Za-z0-9]{20}`, "LTAI"),
	tok("airtable_token", `pat[A-Za-z0-9]{14}\.[a-f0-9]{64}`, "pat"),
	tok("clickhouse_key", `4b1d[A-Za-z0-9]{38}`, "4b1d"),
	tok("adobe_secret", `p8e-[A-Za-z0-9]{32}`, "p8e-"),
	tok("mapbox_token", `[ps]k\.[A-Za-z0-9]{60,}\.[A-Za-z0-9_\-]{20,}`, "pk.", "sk."),
	tok("twitter_bearer", `A{22}[A-Za-z0-9%]{80,100}`, "AAAAAAAAAAAAAAAAAAAAAA"),
	tok("yandex_key", `t1\.[A-Za-z0-9_\-]+=*\.[A-Za-z0-9_\-]{86}=*|AQVN[A-Za-z0-9_\-]{35,38}|YC[A-Za-z0-9_\-]{38}`, "t1.", "AQVN", "YC"),
	tok("lob_key", `(?:live|test)_(?:pub_)?[a-f0-9]{31,35}`, "live_", "test_"),
	tok("plaid_token", `access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`, "access-"),
	tok("typeform_token", `tfp_[A-Za-z0-9_.=\-]{59}`, "tfp_"),
	tok("beamer_token", `b_[a-z0-9=_\-]{44}`, "b_"),
}

// jwtFormat is a JSON Web Token: three base64url segments whose first two
// decode to JSON objects. The header need not be compact JSON: "eyJ" is
// `{"`, "ewog" is "{\n " and "eyAi" is `{ "`.
var jwtFormat = tokenFormat{
	name:     PatternJWT,
	prefixes: []string{"ey", "ew"},
	re:       regexp.MustCompile(`^e[wy][A-Za-z0-9_\-]+\.e[wy][A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*={0,2}`),
	check: func(tok, _ string) bool {
		h, rest, _ := strings.Cut(tok, ".")
		p, _, _ := strings.Cut(rest, ".")
		if jsonObjectB64(h) && jsonObjectB64(p) {
			return true
		}
		// Not decodable, but the shape and length of one (a token cut or
		// re-encoded on the way): long random segments, not prose.
		return len(h) >= 17 && len(p) >= 17 && looksRandom("", h) && looksRandom("", p)
	},
}

// jsonObjectB64 reports whether the base64url text seg starts a JSON object:
// '{', optional white space, then '"'.
func jsonObjectB64(seg string) bool {
	if len(seg) < 4 {
		return false
	}
	var buf [6]byte
	n := min(len(seg), 8) &^ 3
	k, err := base64.RawURLEncoding.Decode(buf[:], []byte(seg[:n]))
	if err != nil || k == 0 || buf[0] != '{' {
		return false
	}
	for _, c := range buf[1:k] {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			return true
		default:
			return false
		}
	}
	return k < 3 // only white space after '{' so far
}

// tokenIndex maps a token's first byte to the formats that may start there.
type tokenIndex [256][]*tokenFormat

func newTokenIndex(disabled []string) *tokenIndex {
	var ix tokenIndex
	for i := range tokenFormats {
		t := &tokenFormats[i]
		if slices.Contains(disabled, t.name) {
			continue
		}
		seen := [256]bool{}
		for _, p := range t.prefixes {
			c := p[0]
			if !seen[c] {
				seen[c] = true
				ix[c] = append(ix[c], t)
			}
		}
	}
	return &ix
}

// tokenByte reports whether c continues an identifier or a dotted name: a
// token is not matched inside one ("disk-sk-...", "my_sk_test_...",
// "video_box.ico-7a38...png").
func tokenByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// tokenStart reports whether a token may start at s[i].
func tokenStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	if !tokenByte(s[i-1]) {
		return true
	}
	// After an escaped control character in JSON text: "\n" + token.
	return i >= 2 && s[i-2] == '\\' && (s[i-1] == 'n' || s[i-1] == 'r' || s[i-1] == 't')
}

func findTokens(rd *Redactor, s string, _ features, out []span) []span {
	ix := rd.tokens
	for i := 0; i < len(s); i++ {
		cands := ix[s[i]]
		if len(cands) == 0 || !tokenStart(s, i) {
			continue
		}
		for _, t := range cands {
			plen := t.prefixLen(s[i:])
			if plen == 0 {
				continue
			}
			loc := t.re.FindStringIndex(s[i:])
			if loc == nil {
				continue
			}
			end := i + loc[1]
			if end < len(s) && isWordByte(s[end]) {
				continue
			}
			if t.check != nil && !t.check(s[i:end], s[i+plen:end]) {
				continue
			}
			out = append(out, span{i, end, t.name})
			i = end - 1
			break
		}
	}
	return out
}

// prefixLen returns the length of the prefix of t that s starts with, or 0.
func (t *tokenFormat) prefixLen(s string) int {
	for _, p := range t.prefixes {
		if strings.HasPrefix(s, p) {
			return len(p)
		}
	}
	return 0
}
