//go:build e2e

// acme_test.go runs furl's ACME on demand (--acme-email, --acme-ca) against Let's Encrypt's
// test ACME server pebble, built from its Go module, on loopback: pebble validates with
// TLS-ALPN-01 on furl's TLS listener, resolving names through a DNS server in this test that
// answers 127.0.0.1 for everything.
//
//	go test -tags e2e -run TestTLSACME ./test/e2e/ -v
package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// loopbackDNS answers A 127.0.0.1 for every name (and no AAAA) on a loopback port, over UDP
// and TCP (pebble's resolver uses TCP).
func loopbackDNS(t *testing.T) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if qq.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.ParseIP("127.0.0.1")})
			}
		}
		_ = w.WriteMsg(m)
	})
	for try := 0; ; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err != nil {
			ln.Close()
			if try < 10 {
				continue
			}
			t.Fatal(err)
		}
		tcp, udp := &dns.Server{Listener: ln, Handler: handler}, &dns.Server{PacketConn: pc, Handler: handler}
		go func() { _ = tcp.ActivateAndServe() }()
		go func() { _ = udp.ActivateAndServe() }()
		t.Cleanup(func() { _ = tcp.Shutdown(); _ = udp.Shutdown() })
		return ln.Addr().String()
	}
}

var pebbleBuild struct {
	sync.Once
	bin string
	err error
}

// pebbleBinary builds pebble (a tool of this module: go.mod's tool directive) once per run.
func pebbleBinary(t *testing.T) string {
	t.Helper()
	pebbleBuild.Do(func() {
		dir, err := os.MkdirTemp("", "furl-e2e-pebble-")
		if err != nil {
			pebbleBuild.err = err
			return
		}
		pebbleBuild.bin = filepath.Join(dir, "pebble")
		cmd := exec.Command("go", "build", "-o", pebbleBuild.bin, "github.com/letsencrypt/pebble/v2/cmd/pebble")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			pebbleBuild.err = fmt.Errorf("go build pebble: %v\n%s", err, out)
		}
	})
	if pebbleBuild.err != nil {
		t.Fatal(pebbleBuild.err)
	}
	return pebbleBuild.bin
}

// pebble is a running pebble.
type pebble struct {
	dir       string // its HTTPS certificate's CA: pebbleCA
	api, mgmt string
	logs      *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startPebble runs pebble on loopback: its directory over HTTPS with a certificate from a CA
// made here (written to <dir>/pebble-ca.pem), validating TLS-ALPN-01 on tlsPort and resolving
// through dnsAddr.
func startPebble(t *testing.T, tlsPort, dnsAddr string) *pebble {
	t.Helper()
	p := &pebble{dir: t.TempDir(), api: freeAddr(t), mgmt: freeAddr(t), logs: &syncBuffer{}}
	// A CA and a leaf for 127.0.0.1 for pebble's own HTTPS.
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pebble https test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	leafKeyDER, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	write := func(name string, b *pem.Block) string {
		f := filepath.Join(p.dir, name)
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	write("pebble-ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certFile := write("cert.pem", &pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	keyFile := write("key.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: leafKeyDER})
	_, httpPort, _ := net.SplitHostPort(freeAddr(t))
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": p.api, "managementListenAddress": p.mgmt,
		"certificate": certFile, "privateKey": keyFile,
		"httpPort": atoi(httpPort), "tlsPort": atoi(tlsPort),
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(p.dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pebbleBinary(t), "-config", cfgFile, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("pebble log tail:\n%s", tail(p.logs.String(), 4000))
		}
	})
	client := p.client()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("https://" + p.api + "/dir")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not start: %v\n%s", err, p.logs.String())
		}
		select {
		case <-exited:
			t.Fatalf("pebble exited:\n%s", p.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func (p *pebble) caFile() string { return filepath.Join(p.dir, "pebble-ca.pem") }

// client trusts pebble's own HTTPS certificate.
func (p *pebble) client() *http.Client {
	pemBytes, _ := os.ReadFile(p.caFile())
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

// issuingRoot is the root pebble signs certificates under (it makes a new one each start).
func (p *pebble) issuingRoot(t *testing.T) string {
	t.Helper()
	resp, err := p.client().Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	f := filepath.Join(p.dir, "issuing-root.pem")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTLSACMEPebble(t *testing.T) {
	needCommands(t, "/usr/bin/aws", "curl", "python3")
	dnsAddr := loopbackDNS(t)
	tlsAddr := freeAddr(t)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	pb := startPebble(t, tlsPort, dnsAddr)
	work := t.TempDir()
	data := filepath.Join(work, "data")
	flags := []string{"--tls-addr", tlsAddr, "--url-domain", "furl.test", "--api-host", "api.furl.test",
		"--acme-email", "ops@furl.test", "--acme-ca", "https://" + pb.api + "/dir", "--acme-ca-root", pb.caFile()}
	addr := freeAddr(t)
	start := func() *tlsServer {
		cp := startFurl(t, data, addr, urlKey, urlSecret, flags...)
		s := &tlsServer{urlServer: &urlServer{cpServer: cp, work: work}, tlsAddr: tlsAddr}
		t.Cleanup(func() {
			s.stop(syscall.SIGTERM)
			if t.Failed() {
				t.Logf("furl log tail:\n%s", tail(s.logs.String(), 4000))
			}
		})
		return s
	}
	s := start()
	s.ca = pb.issuingRoot(t)
	id := s.deploy("echo", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(tlsEcho)}, "NONE", "")
	host := id + ".lambda-url.us-east-1.furl.test"
	resolve := host + ":" + tlsPort + ":127.0.0.1"

	var first *x509.Certificate
	t.Run("a URL host gets a certificate from the ACME CA on its first handshake", func(t *testing.T) {
		out := s.curl("--max-time", "60", "--cacert", s.ca, "--resolve", resolve, "-o", "/dev/null", "-w", "%{http_code}", "https://"+host+":"+tlsPort+"/x")
		if out != "200" {
			t.Fatalf("curl: %q", out)
		}
		first = s.peerCert(host)
		if len(first.DNSNames) != 1 || first.DNSNames[0] != host || !strings.Contains(first.Issuer.CommonName, "Pebble") {
			t.Errorf("certificate %v from %q", first.DNSNames, first.Issuer.CommonName)
		}
		if api := s.peerCert("api.furl.test"); api.DNSNames[0] != "api.furl.test" {
			t.Errorf("API certificate %v", api.DNSNames)
		}
	})
	t.Run("names that are not URL ids or the API host never reach the CA", func(t *testing.T) {
		orders := strings.Count(pb.logs.String(), "Added order")
		for _, name := range []string{"nope0000.lambda-url.us-east-1.furl.test", "evil.example", id + ".lambda-url.eu-west-1.furl.test"} {
			cmd := exec.Command("curl", "-sS", "--max-time", "20", "--cacert", s.ca, "--resolve", name+":"+tlsPort+":127.0.0.1", "https://"+name+":"+tlsPort+"/")
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("%s: handshake succeeded: %s", name, out)
			}
		}
		if n := strings.Count(pb.logs.String(), "Added order"); n != orders {
			t.Errorf("pebble got %d orders for names furl must not request", n-orders)
		}
	})
	t.Run("stored in the data dir and reused after a restart", func(t *testing.T) {
		if first == nil {
			t.Skip("no first certificate")
		}
		issued := strings.Count(pb.logs.String(), "Issued certificate serial")
		s.stop(syscall.SIGTERM)
		if _, err := os.Stat(filepath.Join(data, "tls", "acme")); err != nil {
			t.Fatalf("ACME storage: %v", err)
		}
		s2 := start()
		s2.ca = s.ca
		again := s2.peerCert(host)
		if again.SerialNumber.Cmp(first.SerialNumber) != 0 {
			t.Errorf("a new certificate after restart (serial %s, was %s)", again.SerialNumber, first.SerialNumber)
		}
		if n := strings.Count(pb.logs.String(), "Issued certificate serial"); n != issued {
			t.Errorf("pebble issued %d certificates after the restart", n-issued)
		}
	})
}
