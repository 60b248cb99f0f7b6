package relay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// FuzzRelay sends arbitrary Authorization headers and bodies: the relay must
// never panic, and must never answer 2xx unless the header carries a token
// that an independent parser accepts.
func FuzzRelay(f *testing.F) {
	valid := hsToken(f, "alice", "s")
	f.Add("Bearer "+valid, []byte(sampleBody), false)
	f.Add("Bearer "+valid, []byte(`{"resourceLogs":[{}]}`), true)
	f.Add("Bearer "+valid, []byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"enduser.id"}]}}]}`), false)
	f.Add("Bearer "+noneToken(f), []byte(sampleBody), false)
	f.Add("bearer "+valid[:len(valid)-1], []byte(`{}`), false)
	f.Add("", []byte(`[`), true)

	u := newUpstream(f)
	r := newTestRelay(f, u, func(c *Config) { c.UserRate, c.SessionRate = rate.Inf, rate.Inf })
	check := jwt.NewParser(jwt.WithValidMethods(hmacMethods), jwt.WithExpirationRequired(),
		jwt.WithIssuer(testIssuer), jwt.WithAudience(testAudience), jwt.WithLeeway(time.Minute))

	f.Fuzz(func(t *testing.T, auth string, body []byte, compress bool) {
		req := httptest.NewRequest(http.MethodPost, LogsPath, bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		if compress {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 299 {
			return
		}
		scheme, tok, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			t.Fatalf("2xx without a bearer token: %q", auth)
		}
		if _, err := check.Parse(strings.TrimSpace(tok), func(*jwt.Token) (any, error) { return []byte(testSecret), nil }); err != nil {
			t.Fatalf("2xx for a token the reference parser rejects (%v): %q", err, auth)
		}
	})
}

// fuzzAttrs are the keys of OTLP attributes as a decoder that matches
// names without regard to case (encoding/json) reads them; values inside
// scopes and records are not the relay's to check.
type fuzzAttrs []struct {
	Key string `json:"key"`
}

type fuzzScopeLogs []struct {
	Scope struct {
		Attributes fuzzAttrs `json:"attributes"`
	} `json:"scope"`
	LogRecords      []struct{ Attributes fuzzAttrs } `json:"logRecords"`
	LogRecordsProto []struct{ Attributes fuzzAttrs } `json:"log_records"`
}

// FuzzInspect checks the structural walk and the stamping on arbitrary
// bodies: no panic, and whatever it accepts comes out as valid JSON in which
// every resource carries exactly the stamped enduser.id, and no scope or
// log record carries an enduser.id or session.id at all.
func FuzzInspect(f *testing.F) {
	f.Add([]byte(sampleBody))
	f.Add([]byte(`{"resourceLogs":[{},{"resource":null},{"resource":{"attributes":null}}]}`))
	f.Add([]byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"enduser\u002eid","value":{}},{"key":"a\"b","value":{}}]}}]}`))
	f.Add([]byte(` { "resourceLogs" : [ { "resource" : { } } ] } `))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"scope":{"attributes":[{"key":"enduser.id","value":{"stringValue":"m"}}]},"logRecords":[{"attributes":[{"key":"session.id","value":{}}]}]}],"scope_logs":[{"log_records":[{"attributes":[{"key":"enduser.id","value":{}}]}]}]}]}`))
	stamp := stampAttrs(identity{user: "alice", session: "s"})
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := inspect(body, stamp)
		if err != nil {
			return
		}
		var req struct {
			ResourceLogs []struct {
				Resource struct {
					Attributes []struct {
						Key   string `json:"key"`
						Value struct {
							StringValue string `json:"stringValue"`
						} `json:"value"`
					} `json:"attributes"`
				} `json:"resource"`
				ScopeLogs      fuzzScopeLogs `json:"scopeLogs"`
				ScopeLogsProto fuzzScopeLogs `json:"scope_logs"`
			} `json:"resourceLogs"`
		}
		spoofed := func(as fuzzAttrs) bool {
			for _, a := range as {
				if a.Key == AttrUserID || a.Key == AttrSessionID {
					return true
				}
			}
			return false
		}
		if err := json.Unmarshal(out, &req); err != nil {
			t.Fatalf("accepted %q but produced invalid output %q: %v", body, out, err)
		}
		for _, rl := range req.ResourceLogs {
			users := 0
			for _, a := range rl.Resource.Attributes {
				if a.Key == AttrUserID {
					users++
					if a.Value.StringValue != "alice" {
						t.Fatalf("client enduser.id survived: %q -> %q", body, out)
					}
				}
			}
			if users != 1 {
				t.Fatalf("%d enduser.id in a resource: %q -> %q", users, body, out)
			}
			for _, sl := range append(rl.ScopeLogs, rl.ScopeLogsProto...) {
				if spoofed(sl.Scope.Attributes) {
					t.Fatalf("client identity survived in a scope: %q -> %q", body, out)
				}
				for _, lr := range append(sl.LogRecords, sl.LogRecordsProto...) {
					if spoofed(lr.Attributes) {
						t.Fatalf("client identity survived in a log record: %q -> %q", body, out)
					}
				}
			}
		}
	})
}
