package redactcorpus

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/report"

	"github.com/soliplex/slogotlp"
)

// capture keeps the string form of every attribute the redactor passes on.
type capture struct {
	mu   sync.Mutex
	vals map[string]string
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *capture) WithGroup(string) slog.Handler            { return c }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vals = map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		c.vals[a.Key] = a.Value.String()
		return true
	})
	return nil
}

// scrubber runs text through the whole middleware, as an attribute value
// under a neutral key, and returns what the next handler gets.
type scrubber struct {
	c   *capture
	log *slog.Logger
}

func newScrubber() *scrubber {
	c := &capture{}
	return &scrubber{c: c, log: slog.New(slogotlp.Redact(nil)(c))}
}

func (s *scrubber) scrub(text string) string {
	s.log.Info("m", "value", text)
	return s.c.vals["value"]
}

// survives reports whether the secret, or a 12-byte piece of it, is still
// in out: a secret replaced only in part has not been removed.
func survives(secret, out string) bool {
	if strings.Contains(out, secret) {
		return true
	}
	const w = 12
	for i := 0; i+w <= len(secret); i++ {
		if strings.Contains(out, secret[i:i+w]) {
			return true
		}
	}
	return false
}

// family groups gitleaks rule IDs by provider.
func family(rule string) string {
	for _, p := range []string{"new-relic", "microsoft-teams", "hashicorp-tf", "cisco-meraki", "defined-networking",
		"kubernetes-secret", "nuget-config", "octopus-deploy", "jwt", "private-key", "generic-api-key", "curl"} {
		if strings.HasPrefix(rule, p) {
			return p
		}
	}
	f, _, _ := strings.Cut(rule, "-")
	return f
}

// claimedBare are the gitleaks rules whose secrets have a format of their
// own (a provider prefix, a structure) that the redactor recognises without
// a key naming it. Every other rule is claimed only in context: when the
// secret stands in a key=value pair whose key the key rules deny, as nearly
// all of gitleaks' examples do.
var claimedBare = map[string]bool{}

func init() {
	for _, r := range []string{
		"1password-secret-key", "1password-service-account-token", "adobe-client-secret", "age-secret-key",
		"airtable-personnal-access-token", "alibaba-access-key-id", "anthropic-admin-api-key", "anthropic-api-key",
		"artifactory-api-key", "artifactory-reference-token", "authress-service-client-access-key", "aws-access-token",
		"aws-amazon-bedrock-api-key-long-lived", "aws-amazon-bedrock-api-key-short-lived", "azure-ad-client-secret",
		"beamer-api-token", "clickhouse-cloud-api-secret-key", "clojars-api-token", "cloudflare-origin-ca-key",
		"databricks-api-token", "digitalocean-access-token", "digitalocean-pat", "digitalocean-refresh-token",
		"doppler-api-token", "duffel-api-token", "dynatrace-api-token", "easypost-api-token", "easypost-test-api-token",
		"facebook-page-access-token", "flutterwave-encryption-key", "flutterwave-public-key", "flutterwave-secret-key",
		"flyio-access-token", "frameio-api-token", "gcp-api-key", "github-app-token", "github-fine-grained-pat",
		"github-oauth", "github-pat", "github-refresh-token", "gitlab-cicd-job-token", "gitlab-deploy-token",
		"gitlab-feature-flag-client-token", "gitlab-feed-token", "gitlab-incoming-mail-token",
		"gitlab-kubernetes-agent-token", "gitlab-oauth-app-secret", "gitlab-pat", "gitlab-pat-routable", "gitlab-ptt",
		"gitlab-rrt", "gitlab-runner-authentication-token", "gitlab-runner-authentication-token-routable",
		"gitlab-scim-token", "grafana-api-key", "grafana-cloud-api-token", "grafana-service-account-token",
		"harness-api-key", "heroku-api-key-v2", "huggingface-access-token", "huggingface-organization-api-token",
		"infracost-api-token", "intra42-client-secret", "jwt", "jwt-base64", "linear-api-key", "lob-api-key",
		"lob-pub-api-key", "mailchimp-api-key", "mailgun-private-api-token", "mapbox-api-token", "maxmind-license-key",
		"microsoft-teams-webhook", "new-relic-browser-api-token", "new-relic-insert-key", "new-relic-user-api-key",
		"notion-api-token", "npm-access-token", "octopus-deploy-api-key", "openai-api-key", "openshift-user-token",
		"perplexity-api-key", "planetscale-api-token", "planetscale-oauth-token", "planetscale-password",
		"plaid-api-token", "postman-api-token", "prefect-api-token", "private-key", "pulumi-api-token",
		"pypi-upload-token", "readme-api-token", "rubygems-api-token", "scalingo-api-token", "sendgrid-api-token",
		"sendinblue-api-token", "sentry-org-token", "sentry-user-token", "settlemint-application-access-token",
		"settlemint-personal-access-token", "settlemint-service-access-token", "shippo-api-token",
		"shopify-access-token", "shopify-custom-access-token", "shopify-private-app-access-token",
		"shopify-shared-secret", "slack-app-token", "slack-bot-token", "slack-config-access-token",
		"slack-config-refresh-token", "slack-legacy-bot-token", "slack-legacy-token", "slack-legacy-workspace-token",
		"slack-user-token", "slack-webhook-url", "square-access-token", "stripe-access-token", "telegram-bot-api-token",
		"twilio-api-key", "twitter-bearer-token", "typeform-api-token", "vault-batch-token", "vault-service-token",
		"yandex-access-token", "yandex-api-key", "yandex-aws-access-token",
	} {
		claimedBare[r] = true
	}
}

// unclaimed are gitleaks rules whose examples carry neither a denied key nor
// a format the redactor knows: Kubernetes Secret manifests (arbitrary data
// keys), Sidekiq's BUNDLE_*__COM user:password variables, Facebook app
// tokens (a bare id|secret pair), PKCS#12 files (found by path), SonarQube
// tokens under SONAR_LOGIN, Sumo Logic access ids (an id, named as one) and
// Sourcegraph's bare 40-hex tokens (the shape of a git commit hash).
var unclaimed = map[string]bool{
	"kubernetes-secret-yaml": true, "sidekiq-secret": true, "facebook-access-token": true, "pkcs12-file": true,
	"nuget-config-password": true, // a secret in an XML attribute next to key="ClearTextPassword"
	"sonar-api-token":       true, "sumologic-access-id": true, "sourcegraph-access-token": true,
}

// secretOf is the part of a gitleaks finding that must not survive. For
// most rules that is the finding's Secret. jwt-base64 and
// microsoft-teams-webhook put a capture group there (a fragment of the
// header's base64, one group of a UUID), so their whole match is taken. A
// webhook URL's scheme, host and fixed path name the service, not the
// secret: what follows them is what must go.
//
// bare is what the bare-secret test logs on its own: the secret, or for a
// webhook the whole URL (its secret part alone has no format to know it by).
func secretOf(f report.Finding) (secret, bare string) {
	s := f.Secret
	switch f.RuleID {
	case "jwt-base64", "microsoft-teams-webhook":
		s = f.Match
	}
	for _, marker := range []string{"hooks.slack.com/services/", "hooks.slack.com/workflows/", "hooks.slack.com/triggers/", "/webhookb2/"} {
		if i := strings.Index(s, marker); i >= 0 {
			return s[i+len(marker):], s
		}
	}
	return s, s
}

type tally struct{ n, hit int }

func (t tally) rate() float64 {
	if t.n == 0 {
		return 0
	}
	return float64(t.hit) / float64(t.n)
}

func (t tally) String() string {
	if t.n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", t.hit, t.n, 100*t.rate())
}

type familyResult struct {
	context, bare, fp tally
	lfContext, lfBare tally // Logfire's default scrubber on the same examples
	claimedBare       bool
	unclaimed         bool
	missed            []string
}

func TestGitleaksCorpus(t *testing.T) {
	dir, err := rulesDir()
	if err != nil {
		t.Fatal(err)
	}
	x, err := extractExamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.rules) < 150 || len(x.examples) < 1000 {
		t.Fatalf("read only %d rules and %d examples from %s: has gitleaks changed how it keeps them?", len(x.rules), len(x.examples), dir)
	}
	det, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	sc := newScrubber()
	fams := map[string]*familyResult{}
	get := func(rule string) *familyResult {
		f := family(rule)
		r := fams[f]
		if r == nil {
			r = &familyResult{}
			fams[f] = r
		}
		return r
	}
	undetected := 0
	var lfFP tally
	bareSeen := map[string]bool{}
	var fpAltered []string
	fpNoContext := tally{}
	// A true positive is run through a detector of its own rule only, as
	// gitleaks' utils.Validate does (the whole rule set is slow under -race).
	ruleDets := map[string]*detect.Detector{}
	for _, ex := range x.examples {
		r := get(ex.rule)
		r.claimedBare = r.claimedBare || claimedBare[ex.rule]
		r.unclaimed = r.unclaimed || unclaimed[ex.rule]
		var findings []report.Finding
		if ex.tp {
			rd, ok := ruleDets[ex.rule]
			if !ok {
				rd = ruleDetector(det, ex.rule)
				ruleDets[ex.rule] = rd
			}
			if rd != nil {
				findings = rd.DetectString(ex.text)
			}
		} else {
			findings = det.DetectString(ex.text)
		}
		if !ex.tp {
			if len(findings) > 0 {
				continue // a secret to another of gitleaks' rules
			}
			out := sc.scrub(ex.text)
			altered := out != ex.text
			r.fp.n++
			lfFP.n++
			if logfireScrub(ex.text) != ex.text {
				lfFP.hit++
			}
			if altered {
				r.fp.hit++
				fpAltered = append(fpAltered, ex.rule+": "+firstChange(ex.text, out))
			}
			continue
		}
		var secrets, bares []string
		for _, f := range findings {
			if s, b := secretOf(f); f.RuleID == ex.rule && s != "" {
				secrets = append(secrets, s)
				bares = append(bares, b)
			}
		}
		if len(secrets) == 0 {
			undetected++ // gitleaks' default config itself finds nothing (allowlisted, path rules)
			continue
		}
		out := sc.scrub(ex.text)
		r.context.n++
		r.lfContext.n++
		lfOut := logfireScrub(ex.text)
		lfCaught := true
		for _, s := range secrets {
			lfCaught = lfCaught && !survives(s, lfOut)
		}
		if lfCaught {
			r.lfContext.hit++
		}
		caught := true
		for _, s := range secrets {
			if survives(s, out) {
				caught = false
				r.missed = append(r.missed, fmt.Sprintf("%s: %.160q -> %.160q", ex.rule, ex.text, out))
				break
			}
		}
		if caught {
			r.context.hit++
		}
		if claimedBare[ex.rule] {
			for k, s := range secrets {
				if bareSeen[s] {
					continue // gitleaks repeats one secret in many contexts
				}
				bareSeen[s] = true
				r.bare.n++
				r.lfBare.n++
				if !survives(s, logfireScrub(bares[k])) {
					r.lfBare.hit++
				}
				if !survives(s, sc.scrub(bares[k])) {
					r.bare.hit++
				} else {
					r.missed = append(r.missed, fmt.Sprintf("%s (bare): %.160q", ex.rule, s))
				}
			}
		}
	}
	_ = fpNoContext

	names := make([]string, 0, len(fams))
	for f := range fams {
		names = append(names, f)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-20s %-18s %-18s %-16s %-15s %-18s %s\n", "family", "in context", "bare secret", "gitleaks FPs", "claim",
		"Logfire in context", "Logfire bare")
	var claimedCtx, claimedBareT, unclaimedCtx, allFP, lfCtx, lfBare tally
	for _, f := range names {
		r := fams[f]
		claim := "context"
		switch {
		case r.unclaimed:
			claim = "not claimed"
		case r.claimedBare:
			claim = "format+context"
		}
		fmt.Fprintf(&b, "%-20s %-18s %-18s %-16s %-15s %-18s %s\n", f, r.context, r.bare, r.fp, claim, r.lfContext, r.lfBare)
		if r.unclaimed {
			unclaimedCtx.n += r.context.n
			unclaimedCtx.hit += r.context.hit
		} else {
			claimedCtx.n += r.context.n
			claimedCtx.hit += r.context.hit
		}
		if !r.unclaimed {
			lfCtx.n += r.lfContext.n
			lfCtx.hit += r.lfContext.hit
		}
		lfBare.n += r.lfBare.n
		lfBare.hit += r.lfBare.hit
		claimedBareT.n += r.bare.n
		claimedBareT.hit += r.bare.hit
		allFP.n += r.fp.n
		allFP.hit += r.fp.hit
	}
	fmt.Fprintf(&b, "%-20s %-18s %-18s %-16s %-15s %-18s %s\n", "ALL claimed", claimedCtx, claimedBareT, allFP, "", lfCtx, lfBare)
	fmt.Fprintf(&b, "%-20s %-18s %-18s %-16s\n", "Logfire baseline", lfCtx, lfBare, lfFP)
	fmt.Fprintf(&b, "%-20s %-18s\n", "ALL not claimed", unclaimedCtx)
	fmt.Fprintf(&b, "rules read: %d, examples: %d, true positives gitleaks' default config does not detect (skipped): %d, statements not evaluated: %d\n",
		len(x.rules), len(x.examples), undetected, sumValues(x.skipped))
	t.Log(b.String())
	if testing.Verbose() {
		for _, f := range names {
			for _, m := range fams[f].missed {
				t.Log("missed ", m)
			}
		}
		for _, a := range fpAltered {
			t.Log("altered", a)
		}
	}

	// The claims: in every claimed family, at least 95% of gitleaks' true
	// positives lose their secret, in context and, where claimed, bare.
	for _, f := range names {
		r := fams[f]
		if r.unclaimed {
			continue
		}
		if r.context.n > 0 && r.context.rate() < 0.95 {
			t.Errorf("family %s: in-context recall %s, want >= 95%%", f, r.context)
		}
		if r.bare.n > 0 && r.bare.rate() < 0.95 {
			t.Errorf("family %s: bare-secret recall %s, want >= 95%%", f, r.bare)
		}
	}
	if claimedCtx.rate() < 0.95 || claimedBareT.rate() < 0.95 {
		t.Errorf("overall recall %s in context, %s bare, want >= 95%%", claimedCtx, claimedBareT)
	}
}

// ruleDetector is gitleaks' detector with its default configuration (the
// global allowlists included) cut down to one rule, as gitleaks'
// utils.Validate builds it; nil when the default configuration lacks the
// rule.
func ruleDetector(full *detect.Detector, id string) *detect.Detector {
	cfg := full.Config
	r, ok := cfg.Rules[id]
	if !ok {
		return nil
	}
	cfg.Rules = map[string]config.Rule{id: r}
	cfg.OrderedRules = []string{id}
	cfg.Keywords = map[string]struct{}{}
	for _, k := range r.Keywords {
		cfg.Keywords[strings.ToLower(k)] = struct{}{}
	}
	return detect.NewDetector(cfg)
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// firstChange returns the neighbourhood of the first difference of a and b.
func firstChange(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-60)
	return fmt.Sprintf("%q -> %q", a[lo:min(len(a), i+60)], b[lo:min(len(b), i+60)])
}
