package redactcorpus

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"
)

// Ordinary strings that a redactor must leave alone, from sources nobody
// here wrote: the string literals of Go's own standard library (error
// messages, header names, formats, documentation examples), the lines of
// this module's go.sum (module paths, versions, hashes), and the shapes the
// issue names (versions, user agents, ids, hashes, timestamps, paths, MAC
// addresses, prose that mentions secrets without holding one).

// stdlibPackages are read for their string literals (non-test files).
var stdlibPackages = []string{
	"net/http", "net/url", "net", "net/mail", "net/smtp", "os", "os/exec", "io/fs", "database/sql", "encoding/json",
	"encoding/xml", "crypto/tls", "crypto/x509", "log/slog", "time", "flag", "mime", "mime/multipart",
	"text/template", "html/template", "archive/zip", "compress/gzip", "go/build", "runtime", "runtime/pprof",
	"strconv", "fmt", "regexp/syntax", "path/filepath", "testing", "context", "net/http/httputil",
}

func goroot(t *testing.T) string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skip("no go command to find GOROOT:", err)
	}
	return strings.TrimSpace(string(out))
}

func stdlibLiterals(t *testing.T) []string {
	root := filepath.Join(goroot(t), "src")
	seen := map[string]bool{}
	var out []string
	for _, pkg := range stdlibPackages {
		dir := filepath.Join(root, pkg)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if bl, ok := n.(*ast.BasicLit); ok && bl.Kind == token.STRING {
					if s, err := strconv.Unquote(bl.Value); err == nil && len(s) >= 8 && !seen[s] {
						seen[s] = true
						out = append(out, s)
					}
				}
				return true
			})
			// Doc comments are ordinary prose too.
			for _, cg := range f.Comments {
				for line := range strings.SplitSeq(cg.Text(), "\n") {
					if line = strings.TrimSpace(line); len(line) >= 20 && !seen[line] {
						seen[line] = true
						out = append(out, line)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func goSumLines(t *testing.T) []string {
	f, err := os.Open("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// logShapes are the ordinary values the issue lists, in the shapes services
// log them.
var logShapes = []string{
	// versions
	"4.0.0.0", "version 4.0.0.0", "1.2.3.4-beta", "v10.0.0.1", "go1.26.8", "10.0.19045.3803", "v2.1.0+incompatible",
	"release 2024.1.2.3", "Version 120.0.6099.129", "openssl 3.0.13", "kernel 6.1.0-18-amd64", "libc6 2.36-9+deb12u4",
	// user agents
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
	"curl/8.5.0", "Go-http-client/1.1", "python-requests/2.31.0", "okhttp/4.12.0", "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A.231105.004)",
	// modules and remotes
	"github.com/samber/slog-multi@v1.7.1", "golang.org/x/text@v0.22.0", "module@v1.7.1", "pkg@latest",
	"git@github.com:soliplex/slogotlp.git", "git@gitlab.com:group/sub/project.git", "ssh://git@github.com/org/repo.git",
	"docker.io/library/golang@sha256:4a3f1c9e2b7d8e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f",
	"npm install @babel/core@7.23.7", "icon@2x.png", "logo@3x.jpg",
	// ids
	"550e8400-e29b-41d4-a716-446655440000", "018d3f4e-7b2a-7c3d-9e1f-2a3b4c5d6e7f", "01HN3ZK6Q8V7W5X4Y3Z2A1B0C9",
	"order 4111111111111112", "request_id=8f14e45fceea167a5a36dedd4bea2543", "user 12345678", "tenant t-1a2b3c4d",
	"sk-learn-compatible-estimators", "task-runner-0123456789abcdefghij", "disk-sk-0123456789abcdefghijklmn",
	"my_sk_test_helper_function_name_here", "desk_live_configuration_panel_id", "risk_test_0123456789abcdefABC",
	"ask-proj-0123456789abcdefghijklmnop", "pod api-7d9f8b6c5d-x2k4m", "i-0abcd1234efgh5678", "arn:aws:iam::123456789012:role/app",
	"projects/my-project/locations/us-central1/functions/fn", "cus_NffrFeUfNV2Hib", "pi_3MtwBwLkdIwHu7ix28a3tqPa",
	// hashes and trace ids
	"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"da39a3ee5e6b4b0d3255bfef95601890afd80709", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
	"etag \"33a64df551425fcc55e4d42a148795d9f25f89d4\"", "md5 d41d8cd98f00b204e9800998ecf8427e",
	"h1:8mX2Jg8q9V6b5ZQ3Zr9p7m3QxX8lJ4k2nV0Y1s2t3u4=", "dGhpcyBpcyBqdXN0IGJhc2U2NCB0ZXh0Cg==",
	// timestamps and durations
	"2024-01-02T03:04:05.123456Z", "2024-01-02 03:04:05.123 +0000 UTC", "12:30:45", "12:30:45.123", "Mon Jan  2 15:04:05 2006",
	"1700000000123456789", "1700000000123", "took 1.234567s", "uptime 3h2m1s", "2024/01/02 15:04:05 server started",
	// paths and URLs
	"/api/v1/items/42", "/home/jane/go/pkg/mod/github.com/x/y@v1.0.0/z.go:12", `C:\Users\jane\AppData\Local\Temp\x.tmp`,
	"https://example.com/search?q=golang&page=2", "http://localhost:8080/healthz", "s3://bucket/path/to/object.json",
	"file:///etc/ssl/certs/ca-certificates.crt", "https://pkg.go.dev/log/slog#Handler", "/var/run/secrets/kubernetes.io/serviceaccount",
	"https://accounts.google.com/o/oauth2/auth", "/oauth/authorize?response_type=code&client_id=app",
	// network shapes that are not personal addresses
	"00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5E", "00:1a:2b:ff:fe:3c:4d:5e", "20:00:00:25:b5:00:00:0f", "listen [::]:443", "bind [::1]:8080",
	"dial tcp 127.0.0.1:5432", "0.0.0.0:8080", "10.0.0.0/8", "192.168.0.0/16", "255.255.255.0", "std::vector<int>",
	"fingerprint 43:51:43:a1:b5:fc:8b:b7:0a:3a:a9:b1:0f:66:73:a8", "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
	// prose with sensitive words but no secret
	"the password was changed", "password reset email sent", "invalid password", "password must be at least 12 characters",
	"the bearer of bad news", "bearer token missing", "Bearer authentication failed", "token expired", "refresh token rotated",
	"session started", "session expired after 30m", "cookie consent accepted", "secret rotation scheduled", "api key revoked",
	"authentication succeeded for user 42", "authorization denied: missing scope", "credentials loaded from environment",
	"using token bucket limiter", "tokenizer loaded 50257 tokens", "max_tokens=4096", "token_count=1234", "input_tokens: 512",
	"private key loaded from /etc/app/key.pem", "PIN entry failed twice", "OTP sent to device", "CSRF check passed",
	"password=", "password: ", "token: null", "auth: true", "session: nil", "secret: \"\"",
	// structured but clean
	`{"user_id":42,"action":"login","ok":true}`, `{"items":[{"id":1},{"id":2}],"next":null}`, `[1,2,3]`, "{not json}",
	"SELECT id, name FROM users WHERE id = $1", "GET /api/users 200 12ms", "level=info msg=started port=8080",
	"k8s: deployment/api scaled to 3", "exit status 1", "context deadline exceeded", "EOF", "connection reset by peer",
}

func TestOrdinaryStrings(t *testing.T) {
	det, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	sc := newScrubber()
	type source struct {
		name    string
		strs    []string
		maxRate float64
	}
	sources := []source{
		{"Go stdlib literals and doc lines", stdlibLiterals(t), 0.01},
		{"go.sum lines", goSumLines(t), 0.01},
		{"log shapes", logShapes, 0},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-34s %-20s %s\n", "ordinary strings", "altered", "Logfire's default altered")
	var total, lfTotal tally
	var altered []string
	for _, src := range sources {
		// A string gitleaks calls a secret is not ordinary. Only the altered
		// strings are checked (detection is the slow part): the few secrets
		// left unaltered stay in the count, which can only lower the rate a
		// little.
		var tl, lf tally
		for _, s := range src.strs {
			out, lfOut := sc.scrub(s), logfireScrub(s)
			if (out != s || lfOut != s) && len(det.DetectString(s)) > 0 {
				continue
			}
			tl.n++
			lf.n++
			if lfOut != s {
				lf.hit++
			}
			if out != s {
				tl.hit++
				altered = append(altered, src.name+": "+firstChange(s, out))
			}
		}
		fmt.Fprintf(&b, "%-34s %-20s %s\n", src.name, tl, lf)
		total.n += tl.n
		total.hit += tl.hit
		lfTotal.n += lf.n
		lfTotal.hit += lf.hit
		if tl.rate() > src.maxRate {
			t.Errorf("%s: %s altered, want <= %.0f%%", src.name, tl, 100*src.maxRate)
		}
	}
	fmt.Fprintf(&b, "%-34s %-20s %s\n", "ALL", total, lfTotal)
	t.Log(b.String())
	if testing.Verbose() || t.Failed() {
		for _, a := range altered {
			t.Log("altered", a)
		}
	}
}
