package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLocalCAFilesAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	ca, err := OpenLocalCA(dir, LocalCAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{CAFile: 0o644, CAKeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v", fi.Mode().Perm())
	}
	again, err := OpenLocalCA(dir, LocalCAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Certificate().Equal(ca.Certificate()) {
		t.Error("reopening the CA made a new one")
	}
}

func verify(t *testing.T, ca *LocalCA, c *tls.Certificate, name string, at time.Time) error {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	_, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: at})
	return err
}

func TestLocalCALeaves(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	allowed := "abc.lambda-url.us-east-1.localhost"
	ca, err := OpenLocalCA(t.TempDir(), LocalCAOptions{
		LeafValidity: time.Hour, Now: clk.now,
		Allow: func(h string) bool { return h == allowed },
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sni, verifyAs string
		wantErr       bool
	}{
		{"", "localhost", false},
		{"", "127.0.0.1", false},
		{"localhost", "localhost", false},
		{"LOCALHOST.", "localhost", false},
		{allowed, allowed, false},
		{"ABC.lambda-url.us-east-1.localhost", allowed, false},
		{"zzz.lambda-url.us-east-1.localhost", "", true},
		{"example.com", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.sni+"/"+tt.verifyAs, func(t *testing.T) {
			c, err := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: tt.sni})
			if tt.wantErr {
				if !errors.Is(err, ErrNotAllowed) {
					t.Fatalf("err = %v, want ErrNotAllowed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := verify(t, ca, c, tt.verifyAs, clk.now()); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n := ca.Issued(); n != 2 {
		t.Errorf("issued %d leaves, want 2 (API and one URL host)", n)
	}

	// Renewal: the same leaf until a third of its life is left, then a new one.
	first, _ := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: allowed})
	clk.add(30 * time.Minute)
	if c, _ := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: allowed}); c != first {
		t.Error("renewed too early")
	}
	clk.add(15 * time.Minute)
	renewed, _ := ca.GetCertificate(&tls.ClientHelloInfo{ServerName: allowed})
	if renewed == first {
		t.Fatal("not renewed with less than a third of its life left")
	}
	if !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Error("renewed leaf does not outlive the old one")
	}
	if err := verify(t, ca, renewed, allowed, clk.now()); err != nil {
		t.Fatal(err)
	}
}

func TestLocalCAHandshakeTLS12Minimum(t *testing.T) {
	ca, err := OpenLocalCA(t.TempDir(), LocalCAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerConfig(ca.GetCertificate))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	dial := func(cfg *tls.Config) (*tls.Conn, error) {
		cfg.RootCAs = roots
		return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cfg)
	}
	c, err := dial(&tls.Config{ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("version %x, want TLS 1.3", v)
	}
	c.Close()
	c, err = dial(&tls.Config{ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	if cs := c.ConnectionState().CipherSuite; cs != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("TLS 1.2 suite %s", tls.CipherSuiteName(cs))
	}
	c.Close()
	if _, err := dial(&tls.Config{ServerName: "localhost", MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}); err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}
	if _, err := dial(&tls.Config{ServerName: "localhost", MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}); err == nil {
		t.Error("a CBC suite was accepted")
	}
	if _, err := dial(&tls.Config{ServerName: "evil.example"}); err == nil {
		t.Error("handshake for a name furl does not serve succeeded")
	}
}

// selfSigned writes a self-signed pair for cn into dir and returns the paths.
func selfSigned(t *testing.T, dir, cn string) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: randSerial(), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	cp, kp := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cp, kp
}

func TestFileCertReload(t *testing.T) {
	dir := t.TempDir()
	cp, kp := selfSigned(t, dir, "one.example")
	f, err := LoadFileCert(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Leaf().Subject.CommonName; got != "one.example" {
		t.Fatalf("CN %q", got)
	}
	selfSigned(t, dir, "two.example")
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	c, _ := f.GetCertificate(nil)
	if got := c.Leaf.Subject.CommonName; got != "two.example" {
		t.Fatalf("after reload CN %q", got)
	}
	if err := os.WriteFile(kp, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err == nil {
		t.Fatal("reload of a broken key succeeded")
	}
	if got := f.Leaf().Subject.CommonName; got != "two.example" {
		t.Fatalf("a failed reload replaced the certificate: CN %q", got)
	}
}
