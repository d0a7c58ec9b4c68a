// Package server is furl's composition root: it builds every part from the configuration,
// routes the one listener to the control plane, IAM/STS, function URLs and metrics, and owns
// startup and shutdown order.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/furl/furl/internal/config"
)

// Server is a running furl.
type Server struct {
	cfg config.Config
	log *slog.Logger

	// The planes, wired in New. Each is an http.Handler.
	controlPlane http.Handler // Lambda REST API
	queryAPI     http.Handler // IAM and STS (Query protocol: POST / with Action=)
	urls         http.Handler // function URL data plane
	metrics      http.Handler // Prometheus /metrics

	closers []func(context.Context) error
}

// New builds a server from cfg. It opens the store and prepares everything, but listens only in
// Serve.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{cfg: cfg, log: log}
	notYet := func(plane string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, plane+" is not available yet", http.StatusNotImplemented)
		})
	}
	s.controlPlane = notYet("control plane")
	s.queryAPI = notYet("IAM/STS")
	s.urls = notYet("function URLs")
	s.metrics = notYet("metrics")
	return s, nil
}

// Handler is the root handler: it routes by Host first (function URLs), then by path.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.route)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if IsURLHost(r.Host) || strings.HasPrefix(r.URL.Path, "/lambda-url/") {
		s.urls.ServeHTTP(w, r)
		return
	}
	switch {
	case r.URL.Path == "/metrics":
		s.metrics.ServeHTTP(w, r)
	case r.URL.Path == "/" && r.Method == http.MethodPost:
		s.queryAPI.ServeHTTP(w, r)
	default:
		s.controlPlane.ServeHTTP(w, r)
	}
}

// IsURLHost reports whether host (with or without port) is a function URL host:
// <id>.lambda-url.<region>.<domain>.
func IsURLHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	i := strings.IndexByte(host, '.')
	return i > 0 && strings.HasPrefix(strings.ToLower(host[i+1:]), "lambda-url.")
}

// Serve listens on cfg.Addr (or uses ln when non-nil) until ctx ends, then shuts down in order:
// stop accepting, drain in-flight requests, stop environments, close the store.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", s.cfg.Addr)
		if err != nil {
			return fmt.Errorf("server: listen: %w", err)
		}
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("furl listening", "addr", ln.Addr().String(), "region", s.cfg.Region, "account", s.cfg.AccountID)
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := hs.Shutdown(shutCtx)
	for i := len(s.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, s.closers[i](shutCtx))
	}
	return err
}
