package server

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/furl/furl/internal/config"
)

// TestTLSListener: --tls-addr serves the same handler over TLS (HTTP/2 by ALPN) with a leaf
// from the local CA, and --http-redirect sends function URLs on the plain listener to it.
func TestTLSListener(t *testing.T) {
	s, cfg, addr := runServer(t, func(c *config.Config) { c.TLS.Addr, c.TLS.HTTPRedirect = "127.0.0.1:0", true })
	caPEM, err := os.ReadFile(filepath.Join(TLSDir(cfg.DataDir), "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, port, _ := net.SplitHostPort(s.TLSAddr())

	resp, err := c.Get("https://127.0.0.1:" + port + "/2015-03-31/functions/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.ProtoMajor != 2 || resp.Header.Get("x-amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Errorf("API over TLS: %d %s %q", resp.StatusCode, resp.Proto, resp.Header.Get("x-amzn-ErrorType"))
	}

	for _, tt := range []struct{ host, path, wantLoc string }{
		{"abc.lambda-url.us-east-1.localhost:1", "/p?q=1", "https://abc.lambda-url.us-east-1.localhost:" + port + "/p?q=1"},
		{"", "/lambda-url/abc/x", "https://127.0.0.1:" + port + "/lambda-url/abc/x"},
	} {
		req, _ := http.NewRequest("GET", "http://"+addr+tt.path, nil)
		if tt.host != "" {
			req.Host = tt.host
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != tt.wantLoc {
			t.Errorf("%s%s: %d %q, want 308 %q", tt.host, tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.wantLoc)
		}
	}
	// The API on the plain listener is not redirected.
	resp, err = c.Get("http://" + addr + "/2015-03-31/functions/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("plain API: %d", resp.StatusCode)
	}
}

func TestTLSConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		tls  config.TLS
		ok   bool
	}{
		{"off", config.TLS{LeafValidity: time.Hour}, true},
		{"local CA", config.TLS{Addr: "127.0.0.1:0", LeafValidity: time.Hour}, true},
		{"redirect without TLS", config.TLS{HTTPRedirect: true, LeafValidity: time.Hour}, false},
		{"cert without key", config.TLS{Addr: "127.0.0.1:0", CertFile: "c", LeafValidity: time.Hour}, false},
		{"cert and ACME", config.TLS{Addr: "127.0.0.1:0", CertFile: "c", KeyFile: "k", ACMEEmail: "a@b.c", LeafValidity: time.Hour}, false},
		{"bad addr", config.TLS{Addr: "nope", LeafValidity: time.Hour}, false},
		{"tiny validity", config.TLS{Addr: "127.0.0.1:0", LeafValidity: time.Millisecond}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.TLS = tt.tls
			if err := cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestTLSConnectionCap: the TLS listener draws from the same connection budget as the plain one,
// so idle connections to it cannot exhaust furl's file descriptors either.
func TestTLSConnectionCap(t *testing.T) {
	const cap = 4
	s, cfg, _ := runServer(t, func(c *config.Config) { c.TLS.Addr, c.MaxConnections = "127.0.0.1:0", cap })
	caPEM, err := os.ReadFile(filepath.Join(TLSDir(cfg.DataDir), "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	get := func() error {
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		resp, err := c.Get("https://" + s.TLSAddr() + "/2015-03-31/functions/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("before the flood: %v", err)
	}
	var held []net.Conn
	for range cap {
		c, err := net.Dial("tcp", s.TLSAddr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	if err := get(); err == nil {
		t.Fatalf("%d idle connections held every slot, yet one more TLS connection was served: no cap", cap)
	}
	for _, c := range held {
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := get()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the flood ended: %v", err)
		}
	}
}
