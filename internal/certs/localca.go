// Package certs provides the certificates of furl's TLS listener: its own local CA that issues
// short-lived leaves on demand (by SNI) and renews them without a restart, a certificate the
// user supplies (reloaded on request), and ACME on demand through certmagic. Every source is a
// GetCertificate function for a tls.Config built by Config.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Files in the local CA's directory (<data-dir>/tls).
const (
	CAFile    = "ca.pem"     // the CA certificate, world-readable: what clients trust
	CAKeyFile = "ca-key.pem" // the CA's private key, 0600
)

// DefaultLeafValidity is how long a leaf issued by the local CA is valid. Leaves are renewed
// when a third of that is left.
const DefaultLeafValidity = 7 * 24 * time.Hour

// maxLeaves bounds the leaves kept in memory; past it the oldest are dropped (and reissued
// when asked for again).
const maxLeaves = 4096

// ErrNotAllowed is returned for a server name the local CA does not issue for.
var ErrNotAllowed = errors.New("certs: no certificate for this server name")

// LocalCA is furl's own certificate authority: a CA key pair kept in a directory and leaves
// issued from it in memory, on demand, per server name.
type LocalCA struct {
	dir      string
	cert     *x509.Certificate
	certDER  []byte
	key      crypto.Signer
	validity time.Duration
	now      func() time.Time
	allow    func(host string) bool
	apiNames []string // names on the certificate served without (or for an API) SNI

	mu     sync.Mutex
	leaves map[string]*tls.Certificate // server name ("" = API) -> leaf
	issued int                         // leaves issued so far (for tests and logs)
}

// LocalCAOptions configure OpenLocalCA.
type LocalCAOptions struct {
	// LeafValidity is how long each leaf is valid (default DefaultLeafValidity).
	LeafValidity time.Duration
	// Allow reports whether a server name other than the API names may get a leaf (a function
	// URL host whose id exists). Nil allows none.
	Allow func(host string) bool
	// APINames are the names and IP addresses on the API's certificate, served when the client
	// sends no SNI or one of these names (default localhost, 127.0.0.1, ::1).
	APINames []string
	Now      func() time.Time
}

// OpenLocalCA loads the CA in dir, or creates it (dir 0700, ca.pem 0644, ca-key.pem 0600).
func OpenLocalCA(dir string, opt LocalCAOptions) (*LocalCA, error) {
	if opt.LeafValidity <= 0 {
		opt.LeafValidity = DefaultLeafValidity
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Allow == nil {
		opt.Allow = func(string) bool { return false }
	}
	if len(opt.APINames) == 0 {
		opt.APINames = []string{"localhost", "127.0.0.1", "::1"}
	}
	ca := &LocalCA{dir: dir, validity: opt.LeafValidity, now: opt.Now, allow: opt.Allow,
		apiNames: opt.APINames, leaves: map[string]*tls.Certificate{}}
	if err := ca.load(); err != nil {
		return nil, err
	}
	return ca, nil
}

// CertPath is the path of the CA certificate clients trust.
func (ca *LocalCA) CertPath() string { return filepath.Join(ca.dir, CAFile) }

// Certificate is the CA certificate.
func (ca *LocalCA) Certificate() *x509.Certificate { return ca.cert }

func (ca *LocalCA) load() error {
	certPEM, err := os.ReadFile(filepath.Join(ca.dir, CAFile))
	if errors.Is(err, os.ErrNotExist) {
		return ca.create()
	}
	if err != nil {
		return fmt.Errorf("certs: read CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(ca.dir, CAKeyFile))
	if err != nil {
		return fmt.Errorf("certs: read CA key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("certs: CA in %s: %w", ca.dir, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return fmt.Errorf("certs: CA key in %s cannot sign", ca.dir)
	}
	ca.cert, ca.certDER, ca.key = pair.Leaf, pair.Certificate[0], signer
	if !ca.cert.IsCA {
		return fmt.Errorf("certs: %s is not a CA certificate", ca.CertPath())
	}
	return nil
}

func (ca *LocalCA) create() error {
	if err := os.MkdirAll(ca.dir, 0o700); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("certs: CA key: %w", err)
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{Organization: []string{"furl local CA"}, CommonName: "furl local CA " + now.UTC().Format("2006-01-02 15:04:05")},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("certs: CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	// The key first, so a crash between the two leaves no certificate without its key.
	if err := writeFileAtomic(filepath.Join(ca.dir, CAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(ca.dir, CAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	ca.cert, _ = x509.ParseCertificate(der)
	ca.certDER, ca.key = der, key
	return nil
}

// writeFileAtomic writes data to a temporary file beside path with mode and renames it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

func randSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

// GetCertificate is tls.Config.GetCertificate: the leaf for the client's server name, issued
// now when there is none or the one held is due for renewal (a third of its life left).
func (ca *LocalCA) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	key := name
	if name == "" || ca.isAPIName(name) {
		key = ""
	} else if !ca.allow(name) {
		return nil, fmt.Errorf("%w: %q", ErrNotAllowed, name)
	}
	now := ca.now()
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c := ca.leaves[key]; c != nil && now.Before(renewAt(c.Leaf)) {
		return c, nil
	}
	names := ca.apiNames
	if key != "" {
		names = []string{name}
	}
	c, err := ca.issue(names, now)
	if err != nil {
		return nil, err
	}
	if _, held := ca.leaves[key]; !held && len(ca.leaves) >= maxLeaves {
		ca.evictOldest()
	}
	ca.leaves[key] = c
	ca.issued++
	return c, nil
}

// Issued reports how many leaves the CA has issued since it was opened.
func (ca *LocalCA) Issued() int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.issued
}

func (ca *LocalCA) isAPIName(name string) bool {
	for _, n := range ca.apiNames {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func (ca *LocalCA) evictOldest() {
	var oldest string
	var at time.Time
	first := true
	for k, c := range ca.leaves {
		if first || c.Leaf.NotBefore.Before(at) {
			oldest, at, first = k, c.Leaf.NotBefore, false
		}
	}
	delete(ca.leaves, oldest)
}

// renewAt is when a leaf is replaced: when a third of its validity is left.
func renewAt(c *x509.Certificate) time.Time {
	life := c.NotAfter.Sub(c.NotBefore)
	return c.NotAfter.Add(-life / 3)
}

// issue signs a leaf for names (DNS names or IP addresses) valid from now for ca.validity.
func (ca *LocalCA) issue(names []string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: leaf key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{Organization: []string{"furl"}, CommonName: names[0]},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(ca.validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	// Never past the CA's own expiry.
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("certs: issue %v: %w", names, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.certDER}, PrivateKey: key, Leaf: leaf}, nil
}

// SPKIHash is the base64 SHA-256 of a certificate's SubjectPublicKeyInfo, the form Chromium's
// --ignore-certificate-errors-spki-list takes.
func SPKIHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
