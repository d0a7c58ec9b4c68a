package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ACMEOptions configure NewACME.
type ACMEOptions struct {
	// Dir stores the ACME account and the certificates (reused across restarts).
	Dir string
	// CA is the ACME directory URL (default: Let's Encrypt production); Email the account's.
	CA    string
	Email string
	// Roots, when set, are the roots trusted for the CA's own HTTPS (a private or test CA).
	Roots *x509.CertPool
	// Allow reports whether a certificate may be requested for a server name. It is the only
	// gate: names it refuses never reach the CA.
	Allow func(ctx context.Context, host string) bool
	// ListenHost and TLSALPNPort are where the TLS listener serving GetCertificate listens;
	// the CA's TLS-ALPN-01 validation reaches it there.
	ListenHost  string
	TLSALPNPort int
	Log         *slog.Logger
}

// ACME obtains certificates on demand, during the first handshake for a name that Allow
// accepts, through certmagic; it renews them in the background while it runs.
type ACME struct {
	cfg   *certmagic.Config
	cache *certmagic.Cache
}

// NewACME builds the on-demand ACME source. Close stops its renewals.
func NewACME(opt ACMEOptions) (*ACME, error) {
	if opt.Allow == nil {
		return nil, fmt.Errorf("certs: ACME needs an Allow function")
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	zl := zapLogger(opt.Log)
	a := &ACME{}
	a.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return a.cfg, nil },
		Logger:           zl,
	})
	a.cfg = certmagic.New(a.cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: opt.Dir},
		OnDemand: &certmagic.OnDemandConfig{
			DecisionFunc: func(ctx context.Context, name string) error {
				if !opt.Allow(ctx, strings.ToLower(name)) {
					return fmt.Errorf("%w: %q", ErrNotAllowed, name)
				}
				return nil
			},
		},
		OCSP:   certmagic.OCSPConfig{DisableStapling: true},
		Logger: zl,
	})
	ca := opt.CA
	if ca == "" {
		ca = certmagic.LetsEncryptProductionCA
	}
	issuer := certmagic.NewACMEIssuer(a.cfg, certmagic.ACMEIssuer{
		CA:                   ca,
		Email:                opt.Email,
		Agreed:               true,
		TrustedRoots:         opt.Roots,
		DisableHTTPChallenge: true,
		ListenHost:           opt.ListenHost,
		AltTLSALPNPort:       opt.TLSALPNPort,
		Logger:               zl,
	})
	a.cfg.Issuers = []certmagic.Issuer{issuer}
	return a, nil
}

// GetCertificate is tls.Config.GetCertificate; it also answers TLS-ALPN-01 challenges.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return a.cfg.GetCertificate(hello)
}

// Close stops background renewals.
func (a *ACME) Close() { a.cache.Stop() }

// zapLogger sends certmagic's logs to log, one record per entry.
func zapLogger(log *slog.Logger) *zap.Logger {
	enc := zapcore.NewConsoleEncoder(zapcore.EncoderConfig{MessageKey: "msg", LevelKey: "", TimeKey: "", NameKey: "logger"})
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(&slogWriter{log: log}), zapcore.InfoLevel))
}

type slogWriter struct {
	mu  sync.Mutex
	log *slog.Logger
}

func (w *slogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log.Info("acme", "entry", string(bytes.TrimSpace(p)))
	return len(p), nil
}
