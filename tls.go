package slogotlp

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// LoadTLSConfig builds a TLS configuration from PEM files, the way
// NewFromEnv reads OTEL_EXPORTER_OTLP_[LOGS_]CERTIFICATE, _CLIENT_CERTIFICATE
// and _CLIENT_KEY: caFile holds the certificates to trust, which replace the
// system's roots (a private CA); certFile and keyFile a client certificate
// (its chain) and its private key, for mutual TLS. An empty name skips its
// part; certFile and keyFile go together. Pass the result as
// Config.TLSConfig or HTTPExporterOptions.TLSConfig. Errors name the file
// and never quote its content.
func LoadTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	c := &tls.Config{}
	if caFile != "" {
		pool, err := loadCAPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("slogotlp: CA file: %w", err)
		}
		c.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("slogotlp: a client certificate needs both its certificate file and its key file")
	}
	if certFile != "" {
		pair, keyFault, err := loadKeyPair(certFile, keyFile)
		if err != nil {
			part := "client certificate"
			if keyFault {
				part = "client key"
			}
			return nil, fmt.Errorf("slogotlp: %s: %w", part, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// maxPEMFile bounds a certificate or key file: a larger one is the wrong
// file.
const maxPEMFile = 1 << 20

func readPEMFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("cannot read the file: %w", err)
	case len(data) > maxPEMFile:
		return nil, errors.New("the file is larger than 1 MiB, too large for PEM certificates: check the path")
	}
	return data, nil
}

// loadCAPool reads the PEM certificates to trust.
func loadCAPool(name string) (*x509.CertPool, error) {
	data, err := readPEMFile(name)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("the file holds no PEM certificate (-----BEGIN CERTIFICATE-----): point it at the CA's certificate")
	}
	return pool, nil
}

// loadKeyPair reads a client certificate and its key. keyFault reports that
// the key file is the one to fix. The errors are this package's own words,
// never the parser's, so no byte of the key can reach them.
func loadKeyPair(certFile, keyFile string) (pair tls.Certificate, keyFault bool, err error) {
	certPEM, err := readPEMFile(certFile)
	if err != nil {
		return pair, false, err
	}
	block := firstPEMBlock(certPEM, "CERTIFICATE")
	if block == nil {
		return pair, false, errors.New("the file holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return pair, false, errors.New("the file's first certificate is not a valid X.509 certificate")
	}
	keyPEM, err := readPEMFile(keyFile)
	if err != nil {
		return pair, true, err
	}
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return pair, true, errors.New("the key is not a PEM private key, or not the one of the client certificate")
	}
	return pair, false, nil
}

// firstPEMBlock returns data's first PEM block of the given type, or nil.
func firstPEMBlock(data []byte, typ string) *pem.Block {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil || b.Type == typ {
			return b
		}
	}
}
