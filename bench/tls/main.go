// Command tls measures what furl's TLS listener costs, side by side with the plain listener of
// the same server: the per-request latency on one warm keep-alive connection (HTTP/1.1 on both,
// and HTTP/2 over TLS), and the cost of a new connection (TCP, plus the TLS 1.3 handshake with
// a leaf from furl's local CA, plus the first request). It runs a real furl server (server.New,
// --addr and --tls-addr on loopback) in this process and prints one table.
//
//	go run ./bench/tls [-n 5000] [-conns 300]
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/server"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("tls", flag.ContinueOnError)
	n := fs.Int("n", 5000, "requests per keep-alive row (after 500 warm-up requests)")
	conns := fs.Int("conns", 300, "new connections per handshake row")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "furl-bench-tls-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Addr, cfg.TLS.Addr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", filepath.Join(dir, "data")
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "AKIAFURLBENCHTLS0001", "furl-bench-tls-secret-000000000000000"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	caPEM, err := os.ReadFile(filepath.Join(server.TLSDir(cfg.DataDir), "ca.pem"))
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	_, tlsPort, _ := net.SplitHostPort(srv.TLSAddr())
	plainURL := "http://" + ln.Addr().String() + "/2015-03-31/functions/"
	tlsURL := "https://127.0.0.1:" + tlsPort + "/2015-03-31/functions/"
	// Wait until both answer.
	for i := 0; ; i++ {
		if _, err := once(&http.Client{}, plainURL); err == nil {
			break
		}
		if i > 100 {
			return fmt.Errorf("server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	tlsConf := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	h1 := func(tlsOn bool) *http.Client {
		tr := &http.Transport{MaxIdleConnsPerHost: 1, ForceAttemptHTTP2: false, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
		if tlsOn {
			tr.TLSClientConfig = tlsConf.Clone()
		}
		return &http.Client{Transport: tr}
	}
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf.Clone(), ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 1}}

	fmt.Printf("furl TLS cost: GET %s (routing + AWS 403), one client, loopback, GOMAXPROCS=%d\n\n", "/2015-03-31/functions/", runtime.GOMAXPROCS(0))
	fmt.Printf("%-42s %10s %10s %10s %10s\n", "keep-alive, warm (per request)", "p50 ms", "p90 ms", "p99 ms", "req/s")
	plain, err := keepAlive(h1(false), plainURL, *n)
	if err != nil {
		return err
	}
	tls1, err := keepAlive(h1(true), tlsURL, *n)
	if err != nil {
		return err
	}
	tls2, err := keepAlive(h2, tlsURL, *n)
	if err != nil {
		return err
	}
	row("plain HTTP/1.1 (--addr)", plain)
	row("TLS 1.3 HTTP/1.1 (--tls-addr)", tls1)
	row("TLS 1.3 HTTP/2 (--tls-addr)", tls2)
	fmt.Printf("%-42s %10.4f   (target <= 0.05)\n", "TLS overhead, HTTP/1.1 p50", pct(tls1, 50)-pct(plain, 50))
	fmt.Printf("%-42s %10.4f\n\n", "TLS overhead, HTTP/2 p50", pct(tls2, 50)-pct(plain, 50))

	fmt.Printf("%-42s %10s %10s %10s %10s\n", "new connection + first request", "p50 ms", "p90 ms", "p99 ms", "conn/s")
	plainNew, err := newConns(plainURL, nil, *conns)
	if err != nil {
		return err
	}
	tlsNew, err := newConns(tlsURL, tlsConf, *conns)
	if err != nil {
		return err
	}
	row("plain TCP", plainNew)
	row("TLS 1.3 full handshake (ECDSA P-256 leaf)", tlsNew)
	fmt.Printf("%-42s %10.4f\n", "handshake overhead p50", pct(tlsNew, 50)-pct(plainNew, 50))
	return nil
}

func once(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

type sample struct {
	d     []time.Duration
	total time.Duration
}

// keepAlive sends n sequential requests on one kept-alive connection, after a warm-up.
func keepAlive(c *http.Client, url string, n int) (sample, error) {
	for i := 0; i < 500; i++ {
		if code, err := once(c, url); err != nil || code != http.StatusForbidden {
			return sample{}, fmt.Errorf("%s: %d %v", url, code, err)
		}
	}
	s := sample{d: make([]time.Duration, 0, n)}
	start := time.Now()
	for i := 0; i < n; i++ {
		t := time.Now()
		if _, err := once(c, url); err != nil {
			return s, err
		}
		s.d = append(s.d, time.Since(t))
	}
	s.total = time.Since(start)
	return s, nil
}

// newConns opens n connections one after another, each for one request.
func newConns(url string, conf *tls.Config, n int) (sample, error) {
	s := sample{d: make([]time.Duration, 0, n)}
	start := time.Now()
	for i := 0; i < n; i++ {
		tr := &http.Transport{DisableKeepAlives: true, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
		if conf != nil {
			tr.TLSClientConfig = conf.Clone() // no session cache: a full handshake each time
		}
		t := time.Now()
		code, err := once(&http.Client{Transport: tr}, url)
		if err != nil || code != http.StatusForbidden {
			return s, fmt.Errorf("%s: %d %v", url, code, err)
		}
		s.d = append(s.d, time.Since(t))
		tr.CloseIdleConnections()
	}
	s.total = time.Since(start)
	return s, nil
}

func pct(s sample, p int) float64 {
	d := slices.Clone(s.d)
	slices.Sort(d)
	i := (len(d)*p + 99) / 100
	if i > 0 {
		i--
	}
	return float64(d[i]) / float64(time.Millisecond)
}

func row(name string, s sample) {
	fmt.Printf("%-42s %10.4f %10.4f %10.4f %10.0f\n", name, pct(s, 50), pct(s, 90), pct(s, 99), float64(len(s.d))/s.total.Seconds())
}
