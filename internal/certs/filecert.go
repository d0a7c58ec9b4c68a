package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync/atomic"
)

// FileCert is a certificate and key the user supplies as PEM files, served for every server
// name and read again by Reload (on SIGHUP).
type FileCert struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadFileCert reads the pair once; it fails when either file is missing or they do not match.
func LoadFileCert(certFile, keyFile string) (*FileCert, error) {
	f := &FileCert{certFile: certFile, keyFile: keyFile}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reload reads the files again; on error the certificate served so far stays.
func (f *FileCert) Reload() error {
	c, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("certs: load %s: %w", f.certFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return fmt.Errorf("certs: %s: %w", f.certFile, err)
		}
	}
	f.cur.Store(&c)
	return nil
}

// Leaf is the certificate served now.
func (f *FileCert) Leaf() *x509.Certificate { return f.cur.Load().Leaf }

// GetCertificate is tls.Config.GetCertificate: the pair loaded last.
func (f *FileCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load(), nil
}

// ServerConfig is the TLS configuration of furl's TLS listener around getCert: TLS 1.2 at
// least, and for TLS 1.2 only forward-secret AEAD suites (TLS 1.3's are all modern).
func ServerConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		GetCertificate: getCert,
		MinVersion:     tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos: []string{"h2", "http/1.1"},
	}
}
