package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/furl/furl/internal/certs"
	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/gateway"
)

// tlsPlane is the HTTPS listener's certificate source, built in New when --tls-addr is set.
type tlsPlane struct {
	config *tls.Config
	ca     *certs.LocalCA  // the default source
	file   *certs.FileCert // --tls-cert/--tls-key
	acme   *certs.ACME     // --acme-email/--acme-ca
	port   string          // the TLS listener's port once bound
	ln     net.Listener    // bound in New, so the port is known before Serve
	log    *slog.Logger
}

// TLSDir is where the local CA and ACME state live inside the data directory.
func TLSDir(dataDir string) string { return filepath.Join(dataDir, "tls") }

// setupTLS builds the certificate source and binds the TLS listener. isURLHost reports
// whether a server name is the host of an existing function URL.
func (s *Server) setupTLS(ctx context.Context) error {
	t := s.cfg.TLS
	if t.Addr == "" {
		return nil
	}
	p := &tlsPlane{log: s.log}
	var getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	switch {
	case t.CertFile != "":
		f, err := certs.LoadFileCert(t.CertFile, t.KeyFile)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		p.file, getCert = f, f.GetCertificate
	case t.ACME():
		host, port, _ := net.SplitHostPort(t.Addr)
		ln, err := net.Listen("tcp", t.Addr)
		if err != nil {
			return fmt.Errorf("server: listen tls: %w", err)
		}
		p.ln = ln
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		portN, _ := strconv.Atoi(port)
		var roots *x509.CertPool
		if t.ACMECARoot != "" {
			pemBytes, err := os.ReadFile(t.ACMECARoot)
			if err != nil {
				return fmt.Errorf("server: --acme-ca-root: %w", err)
			}
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pemBytes) {
				return fmt.Errorf("server: --acme-ca-root %s: no PEM certificates", t.ACMECARoot)
			}
		}
		a, err := certs.NewACME(certs.ACMEOptions{
			Dir: filepath.Join(TLSDir(s.cfg.DataDir), "acme"), CA: t.ACMECA, Email: t.ACMEEmail, Roots: roots,
			Allow: func(ctx context.Context, name string) bool {
				return (t.APIHost != "" && strings.EqualFold(name, t.APIHost)) || s.isFunctionURLHost(ctx, name)
			},
			ListenHost: host, TLSALPNPort: portN, Log: s.log.With("component", "acme"),
		})
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		p.acme, getCert = a, a.GetCertificate
		s.closers = append(s.closers, func(context.Context) error { a.Close(); return nil })
	default:
		names := []string{"localhost", "127.0.0.1", "::1"}
		if t.APIHost != "" {
			names = append(names, t.APIHost)
		}
		if h, _, _ := net.SplitHostPort(t.Addr); h != "" && !strings.EqualFold(h, "localhost") && net.ParseIP(h) != nil && !net.ParseIP(h).IsUnspecified() && !net.ParseIP(h).IsLoopback() {
			names = append(names, h)
		}
		ca, err := certs.OpenLocalCA(TLSDir(s.cfg.DataDir), certs.LocalCAOptions{
			LeafValidity: t.LeafValidity, APINames: names,
			Allow: func(name string) bool { return s.isFunctionURLHost(ctx, name) },
		})
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		p.ca, getCert = ca, ca.GetCertificate
		s.log.Info("TLS certificates from furl's local CA; trust it to use https (see 'furl ca')", "ca", ca.CertPath())
	}
	p.config = certs.ServerConfig(getCert)
	if p.acme != nil {
		// The CA's TLS-ALPN-01 validation speaks acme-tls/1 to this listener.
		p.config.NextProtos = append(p.config.NextProtos, "acme-tls/1")
	}
	if p.ln == nil {
		ln, err := net.Listen("tcp", t.Addr)
		if err != nil {
			return fmt.Errorf("server: listen tls: %w", err)
		}
		p.ln = ln
	}
	s.closers = append(s.closers, func(context.Context) error {
		if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	_, p.port, _ = net.SplitHostPort(p.ln.Addr().String())
	s.tls = p
	return nil
}

// urlPort is the port FunctionUrl values carry: none for https's default 443.
func (p *tlsPlane) urlPort() string {
	if p.port == "443" {
		return ""
	}
	return p.port
}

// isFunctionURLHost reports whether name is <id>.lambda-url.<region>.<url-domain> of this
// server with an id that exists.
func (s *Server) isFunctionURLHost(ctx context.Context, name string) bool {
	id, region, ok := gateway.ParseHost(name)
	if !ok || region != strings.ToLower(s.cfg.Region) {
		return false
	}
	domain := s.cfg.URLDomain
	if domain == "" {
		// No --url-domain: FunctionUrl values are path-style, and Host-style names are the
		// local *.localhost ones.
		domain = "localhost"
	}
	if !strings.HasSuffix(strings.ToLower(name), "."+strings.ToLower(domain)) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t, err := s.functions.ResolveURL(ctx, id)
	return err == nil && t != nil
}

// TLSAddr is the TLS listener's address, or "" without --tls-addr.
func (s *Server) TLSAddr() string {
	if s.tls == nil {
		return ""
	}
	return s.tls.ln.Addr().String()
}

// serveTLS serves h on the TLS listener (HTTP/2 and HTTP/1.1) and, with --tls-cert, reloads
// the certificate on SIGHUP. Its connections take slots from the plain listener's budget. The
// returned stop shuts both down.
func (s *Server) serveTLS(h http.Handler, slots chan struct{}) (stop func(context.Context) error) {
	p := s.tls
	if p == nil {
		return func(context.Context) error { return nil }
	}
	hs := &http.Server{
		Handler:           h,
		TLSConfig:         p.config,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.ServeTLS(limitConns(p.ln, slots), "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("tls listener stopped", "err", err)
		}
	}()
	s.log.Info("furl listening (TLS)", "addr", p.ln.Addr().String())
	hupDone := make(chan struct{})
	stopHup := func() {}
	if p.file != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		quit := make(chan struct{})
		stopHup = func() { signal.Stop(hup); close(quit) }
		go func() {
			defer close(hupDone)
			for {
				select {
				case <-quit:
					return
				case <-hup:
					if err := p.file.Reload(); err != nil {
						s.log.Error("SIGHUP: TLS certificate not reloaded; serving the previous one", "err", err)
						continue
					}
					s.log.Info("SIGHUP: TLS certificate reloaded", "subject", p.file.Leaf().Subject.String(), "not_after", p.file.Leaf().NotAfter)
				}
			}
		}()
	} else {
		close(hupDone)
	}
	return func(ctx context.Context) error {
		stopHup()
		<-hupDone
		err := hs.Shutdown(ctx)
		<-done
		return err
	}
}

// redirectToHTTPS wraps the plain listener's handler with --http-redirect: function URL
// requests get a 308 to the same URL on the TLS listener; everything else passes.
func (s *Server) redirectToHTTPS(h http.Handler) http.Handler {
	if s.tls == nil || !s.cfg.TLS.HTTPRedirect {
		return h
	}
	port := s.tls.port
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsURLHost(r.Host) && !strings.HasPrefix(r.URL.Path, "/lambda-url/") {
			h.ServeHTTP(w, r)
			return
		}
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if port != "443" {
			host += ":" + port
		}
		target := "https://" + host + r.URL.RequestURI()
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}

// urlScheme is the scheme of FunctionUrl values: https when the TLS listener is on.
func urlScheme(cfg config.Config) string {
	if cfg.TLS.Addr != "" {
		return "https"
	}
	return "http"
}
