package slogotlp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCA is a private certificate authority made for one test, with the
// PEM files a program would be given.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	dir     string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "slogotlp test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	ca := &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), dir: t.TempDir()}
	return ca
}

// file writes content into the CA's directory and returns its path.
func (ca *testCA) file(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(ca.dir, name)
	require.NoError(t, os.WriteFile(p, content, 0o600))
	return p
}

// issue signs a certificate for a server (127.0.0.1) or a client, and
// returns it with its key in PEM.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// tlsReceiver is an https OTLP receiver on 127.0.0.1 whose certificate the
// test CA signed; with clientCA it demands a client certificate signed by
// it. It records the client certificates' names and counts requests.
type tlsReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	clients []string
	posts   int
}

func newTLSReceiver(t *testing.T, ca *testCA, clientCA bool) *tlsReceiver {
	t.Helper()
	rc := &tlsReceiver{}
	certPEM, keyPEM := ca.issue(t, "receiver", true)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	rc.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.posts++
		for _, c := range r.TLS.PeerCertificates {
			rc.clients = append(rc.clients, c.Subject.CommonName)
		}
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	rc.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	if clientCA {
		pool := x509.NewCertPool()
		pool.AddCert(ca.cert)
		rc.TLS.ClientCAs = pool
		rc.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	rc.StartTLS()
	t.Cleanup(rc.Close)
	return rc
}

func (rc *tlsReceiver) seen() (posts int, clients []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.posts, append([]string(nil), rc.clients...)
}

func TestHTTPExporterPrivateCA(t *testing.T) {
	ca := newTestCA(t)
	srv := newTLSReceiver(t, ca, false)
	endpoint := srv.URL + "/v1/logs"

	// Without the CA the certificate check fails: retryable, never sent.
	exp := newTestExporter(t, endpoint, nil)
	res := exp.Export(context.Background(), []byte(testPayload), 1)
	assert.Equal(t, ExportRetryable, res.Outcome)
	assert.ErrorContains(t, res.Err, "certificate")

	conf, err := LoadTLSConfig(ca.file(t, "ca.pem", ca.certPEM), "", "")
	require.NoError(t, err)
	exp = newTestExporter(t, endpoint, &HTTPExporterOptions{TLSConfig: conf})
	assert.Equal(t, Result{}, exp.Export(context.Background(), []byte(testPayload), 1))
	posts, _ := srv.seen()
	assert.Equal(t, 1, posts)
	assert.Nil(t, conf.Certificates, "the caller's config is cloned, not changed")

	_, err = NewHTTPExporter(endpoint, &HTTPExporterOptions{TLSConfig: conf, Client: &http.Client{}})
	assert.ErrorContains(t, err, "both Client and TLSConfig")
}

func TestHTTPExporterClientCertificate(t *testing.T) {
	ca := newTestCA(t)
	srv := newTLSReceiver(t, ca, true)
	caFile := ca.file(t, "ca.pem", ca.certPEM)
	certPEM, keyPEM := ca.issue(t, "checkout-service", false)

	// The CA alone is not enough: the receiver wants a client certificate.
	conf, err := LoadTLSConfig(caFile, "", "")
	require.NoError(t, err)
	exp := newTestExporter(t, srv.URL+"/v1/logs", &HTTPExporterOptions{TLSConfig: conf})
	assert.NotEqual(t, ExportSuccess, exp.Export(context.Background(), []byte(testPayload), 1).Outcome)

	conf, err = LoadTLSConfig(caFile, ca.file(t, "client.pem", certPEM), ca.file(t, "client.key", keyPEM))
	require.NoError(t, err)
	exp = newTestExporter(t, srv.URL+"/v1/logs", &HTTPExporterOptions{TLSConfig: conf})
	assert.Equal(t, Result{}, exp.Export(context.Background(), []byte(testPayload), 1))
	_, clients := srv.seen()
	assert.Equal(t, []string{"checkout-service"}, clients)
}

func TestLoadTLSConfigErrors(t *testing.T) {
	ca := newTestCA(t)
	certPEM, keyPEM := ca.issue(t, "c", false)
	_, otherKey := ca.issue(t, "other", false)
	const marker = "KEYSECRETMARKER"
	good := ca.file(t, "ca.pem", ca.certPEM)
	cert := ca.file(t, "c.pem", certPEM)
	key := ca.file(t, "c.key", keyPEM)
	garbageKey := ca.file(t, "garbage.key", []byte("-----BEGIN PRIVATE KEY-----\n"+marker+"\n-----END PRIVATE KEY-----\n"))
	plainKey := ca.file(t, "plain.key", []byte(marker))
	big := ca.file(t, "big.pem", make([]byte, maxPEMFile+1))
	badCert := ca.file(t, "bad.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	for _, tc := range []struct {
		name          string
		ca, cert, key string
		want          string
	}{
		{"CA missing", "/nonexistent/ca.pem", "", "", "slogotlp: CA file: cannot read the file"},
		{"CA not PEM", plainKey, "", "", "slogotlp: CA file: the file holds no PEM certificate"},
		{"CA too large", big, "", "", "slogotlp: CA file: the file is larger than 1 MiB"},
		{"cert without key", good, cert, "", "needs both"},
		{"key without cert", "", "", key, "needs both"},
		{"cert is a key", "", key, key, "slogotlp: client certificate: the file holds no PEM certificate"},
		{"cert not X.509", "", badCert, key, "slogotlp: client certificate: the file's first certificate is not a valid X.509"},
		{"cert missing", "", "/nonexistent/c.pem", key, "slogotlp: client certificate: cannot read the file"},
		{"key missing", "", cert, "/nonexistent/c.key", "slogotlp: client key: cannot read the file"},
		{"key garbage", "", cert, garbageKey, "slogotlp: client key: the key is not a PEM private key"},
		{"key not PEM", "", cert, plainKey, "slogotlp: client key: the key is not a PEM private key"},
		{"key of another cert", "", cert, ca.file(t, "other.key", otherKey), "slogotlp: client key: the key is not a PEM private key, or not the one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadTLSConfig(tc.ca, tc.cert, tc.key)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), marker)
			assert.NotContains(t, err.Error(), string(keyPEM[30:60]))
		})
	}
	conf, err := LoadTLSConfig("", "", "")
	require.NoError(t, err)
	assert.Nil(t, conf.RootCAs, "no CA: the system's roots")
}
