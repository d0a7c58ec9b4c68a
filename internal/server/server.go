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
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/furl/furl/internal/bootstraps"
	"github.com/furl/furl/internal/codestore"
	"github.com/furl/furl/internal/config"
	"github.com/furl/furl/internal/console"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/gateway"
	"github.com/furl/furl/internal/iamapi"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/inspect"
	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/metrics"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/procs"
	"github.com/furl/furl/internal/sandbox"
	"github.com/furl/furl/internal/series"
	"github.com/furl/furl/internal/store"
)

// Server is a running furl.
type Server struct {
	cfg config.Config
	log *slog.Logger

	functions *functions.Service
	pool      *pool.Pool
	// endpointURL is AWS_ENDPOINT_URL for functions: the plain listener, once bound (a string).
	endpointURL atomic.Value

	// The planes, wired in New. Each is an http.Handler.
	controlPlane http.Handler // Lambda REST API and furl's /furl/v1 extras
	queryAPI     http.Handler // IAM and STS (Query protocol: POST / with Action=)
	urls         http.Handler // function URL data plane
	events       http.Handler // recent URL events per function (/furl/v1/functions/{name}/events)
	metrics      http.Handler // Prometheus /metrics
	console      http.Handler // web console (/furl/console/) and its link API

	// tls is the HTTPS listener beside the plain one (tls.go); nil without --tls-addr.
	tls *tlsPlane

	// nofile is the open-file limit after raising it; the connection cap derives from it.
	nofile uint64

	// credsFromFile: the root credentials are <data-dir>/root-credentials (not FURL_ROOT_*).
	credsFromFile bool

	// inflight counts HTTP requests in flight, for procs.Adapt.
	inflight procs.Counter
	// closers run in reverse order at shutdown.
	closers []func(context.Context) error
}

// New builds a server from cfg: data directory, root credentials, store, code store, logs,
// bootstraps, pool, identity, functions, and the HTTP planes. It listens only in Serve.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{cfg: cfg, log: log}
	if err := s.build(ctx); err != nil {
		_ = s.close(context.Background())
		if ctx.Err() != nil {
			return nil, fmt.Errorf("server: interrupted during startup: %w", ctx.Err())
		}
		return nil, err
	}
	return s, nil
}

// build does New's work; on error New closes whatever it built.
func (s *Server) build(ctx context.Context) error {
	cfg, log := s.cfg, s.log
	if err := prepareDataDir(cfg.DataDir, log); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.closers = append(s.closers, func(context.Context) error { return lock.Close() })
	if n, err := raiseFileLimit(); err != nil {
		log.Warn("could not raise the open-file limit", "err", err)
	} else {
		s.nofile = n
		log.Debug("open-file limit", "nofile", n, "max_connections", connectionCap(n))
	}
	credsFromFile := cfg.RootAccessKeyID == ""
	if credsFromFile {
		id, secret, created, err := identity.EnsureRootCredentials(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		cfg.RootAccessKeyID, cfg.RootSecretAccessKey = id, secret
		if created {
			log.Info("generated root credentials; use them with the AWS CLI and SDKs",
				"file", filepath.Join(cfg.DataDir, identity.RootCredentialsFile),
				"AWS_ACCESS_KEY_ID", id,
				"hint", "export AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(cfg.DataDir, identity.RootCredentialsFile))
		}
	}
	s.cfg = cfg
	s.credsFromFile = credsFromFile

	dbPath := filepath.Join(cfg.DataDir, "furl.db")
	if err := createPrivate(dbPath); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.closers = append(s.closers, func(context.Context) error { return db.Close() })

	code, err := codestore.Open(filepath.Join(cfg.DataDir, "code"), codestore.Limits{})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	logs, err := invocationlog.Open(filepath.Join(cfg.DataDir, "logs"), cfg.LogRetention,
		invocationlog.Limits{PerFunction: cfg.LogMaxBytesPerFunction, Total: cfg.LogMaxBytes}, log)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.closers = append(s.closers, func(context.Context) error { return logs.Close() })

	boots, err := bootstraps.New(filepath.Join(cfg.DataDir, "runtimes"))
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	// Find the interpreters now (a pyenv shim costs ~0.7 s per start; resolved once here it
	// costs nothing on cold starts).
	resolveCtx, cancelResolve := context.WithTimeout(ctx, 10*time.Second)
	boots.Resolve(resolveCtx)
	logRuntimes(resolveCtx, log, boots)
	cancelResolve()
	var sb *sandbox.Sandbox
	var sbErr error
	if cfg.Sandbox == "on" {
		sb, sbErr = sandbox.New(ctx, sandbox.Options{}, log)
		if sbErr != nil {
			log.Error("server: functions cannot run: the sandbox is unavailable", "err", sbErr)
		} else {
			log.Info("server: functions run sandboxed", "per_environment_uid", sb.Root())
		}
	} else {
		log.Warn("server: SANDBOX OFF: functions run unsandboxed as furl's own user and can read and change everything furl can (--sandbox=off)")
	}
	ids, err := identity.New(identity.Options{
		Store: db, AccountID: cfg.AccountID, Region: cfg.Region,
		RootAccessKeyID: cfg.RootAccessKeyID, RootSecretAccessKey: cfg.RootSecretAccessKey,
		TrustedProxies: cfg.TrustedProxies, Log: log,
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}

	// First run: the execution role `furl deploy` uses when given none.
	if err := ids.EnsureDefaultLambdaRole(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.pool = pool.New(pool.Config{
		Credentials:          roleCredentials(ids),
		EndpointURL:          func() string { u, _ := s.endpointURL.Load().(string); return u },
		Sandbox:              sb,
		SandboxError:         sbErr,
		MaxConcurrency:       cfg.MaxConcurrency,
		IdleTimeout:          cfg.IdleTimeout,
		InitTimeout:          cfg.InitTimeout,
		WorkDir:              filepath.Join(cfg.DataDir, "envs"),
		MaxStreamBytes:       cfg.StreamMaxBytes,
		Path:                 cfg.FunctionPath,
		ColdStartWait:        cfg.ColdStartWait,
		MaxConcurrentInits:   cfg.MaxConcurrentInits,
		CPUAffinity:          cfg.CPUAffinity,
		MaxLogBytesPerInvoke: cfg.LogMaxBytesPerInvoke,
	}, log, pool.DefaultLauncher{Managed: boots}, logs)
	s.closers = append(s.closers, s.pool.Close)

	s.functions = functions.New(db, code, functions.Options{
		Region: cfg.Region, AccountID: cfg.AccountID,
		URLDomain: cfg.URLDomain, URLHost: LocalHost(urlAddr(cfg)), MaxConcurrency: cfg.MaxConcurrency,
		URLScheme:        urlScheme(cfg),
		Stage:            s.pool.Stage,
		RuntimeAvailable: runtimeAvailable(boots),
		RoleAssumable:    roleAssumable(ids),
	}, log)
	if err := s.functions.Recover(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := s.setupTLS(ctx); err != nil {
		return err
	}

	met := metrics.New(s.pool)
	// The console's charts keep 15 minutes of per-function traffic beside the Prometheus
	// metrics: the gateway records into the series, which forwards to the metrics.
	traffic := series.New(met, nil)
	// One inspection record per function URL request: the events endpoint and the console read it.
	keep := cfg.InspectRetention
	if keep == 0 {
		keep = -1 // keep none (subscribers still see every request)
	}
	insp := inspect.NewStore(inspect.Options{PerFunction: keep})
	gw := gateway.New(s.functions, s.pool, gateway.Options{
		Log: log, Region: cfg.Region, Auth: ids, Metrics: traffic, Inspect: insp,
		RequireInvokeFunction: cfg.RequireInvokeFunctionForURLs,
		StreamMaxBytes:        cfg.StreamMaxBytes,
		StreamBandwidthAfter:  cfg.StreamBandwidthAfter,
		StreamBandwidth:       cfg.StreamBandwidth,
	})
	s.urls = gw
	s.events = s.requireFunctionRead(ids, gw.EventsHandler())
	switch cfg.Metrics {
	case config.MetricsPublic:
		s.metrics = met.Handler()
	case config.MetricsOff:
		s.metrics = http.NotFoundHandler()
	default:
		s.metrics = s.requireMetricsRead(ids, met.Handler())
	}
	if s.queryAPI, err = iamapi.New(iamapi.Options{Identity: ids, Store: db, Log: log}); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.controlPlane = controlapi.New(s.functions, ids, ids, s.pool, logs, log)
	s.console, err = console.New(console.Options{
		Log: log, Region: cfg.Region, AccountID: cfg.AccountID, Auth: ids,
		Functions: s.functions, Invoker: s.pool, Stats: s.pool, Logs: logs, Series: traffic,
		URLs: gw, Inspect: console.FromInspect(insp),
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// logListening tells a person where furl is and how to reach it: the endpoint, the console, the
// data directory and how to point the AWS CLI at it.
func (s *Server) logListening(addr string) {
	_, port, _ := net.SplitHostPort(addr)
	endpoint := "http://" + net.JoinHostPort(strings.Trim(LocalHost(addr), "[]"), port)
	s.log.Info("furl listening", "addr", addr, "endpoint", endpoint, "console", endpoint+"/furl/console/",
		"data_dir", s.cfg.DataDir, "region", s.cfg.Region, "account", s.cfg.AccountID)
	creds := "AWS_ACCESS_KEY_ID=$FURL_ROOT_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$FURL_ROOT_SECRET_ACCESS_KEY"
	if s.credsFromFile {
		creds = "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s.cfg.DataDir, identity.RootCredentialsFile)
	}
	s.log.Info("credentials: use the root key with the AWS CLI and SDKs",
		"hint", "export "+creds+" AWS_DEFAULT_REGION="+s.cfg.Region+"; aws --endpoint-url "+endpoint+" lambda list-functions")
}

// urlAddr is the listener FunctionUrl values point at: the HTTPS one when there is one.
func urlAddr(cfg config.Config) string {
	if cfg.TLS.Addr != "" {
		return cfg.TLS.Addr
	}
	return cfg.Addr
}

// LocalHost is the host part of a listen address as a client on this machine writes it in a
// URL: an unspecified address (0.0.0.0, ::, empty) becomes 127.0.0.1, an IPv6 address is
// bracketed.
func LocalHost(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.IsUnspecified():
		return "127.0.0.1"
	case ip != nil && ip.To4() == nil:
		return "[" + host + "]"
	}
	return host
}

// roleCredentials gives an environment its execution role's session, named after the function.
func roleCredentials(ids *identity.Service) func(ctx context.Context, roleARN, function string) (pool.Creds, error) {
	return func(ctx context.Context, roleARN, function string) (pool.Creds, error) {
		c, err := ids.LambdaRoleSession(ctx, roleARN, function, 0)
		if err != nil {
			return pool.Creds{}, err
		}
		return pool.Creds{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expiration: c.Expiration}, nil
	}
}

// roleAssumable says whether Lambda can assume an execution role.
func roleAssumable(ids *identity.Service) func(ctx context.Context, roleARN string) (bool, error) {
	return func(ctx context.Context, roleARN string) (bool, error) {
		err := ids.CheckLambdaRole(ctx, roleARN)
		if errors.Is(err, identity.ErrRoleNotAssumable) {
			return false, nil
		}
		return err == nil, err
	}
}

// runtimeAvailable says whether this machine can start a runtime: the provided runtimes and
// go1.x bring their own bootstrap; python* and nodejs* need the machine's interpreter.
func runtimeAvailable(boots *bootstraps.Set) func(ctx context.Context, runtime string) error {
	return func(ctx context.Context, runtime string) error {
		if runtime == "go1.x" || runtime == "provided" || strings.HasPrefix(runtime, "provided.") {
			return nil
		}
		return boots.Available(ctx, runtime)
	}
}

// logRuntimes says at start which runtimes this machine can run, and on what.
func logRuntimes(ctx context.Context, log *slog.Logger, boots *bootstraps.Set) {
	var runnable, missing []string
	for _, in := range boots.Interpreters(ctx) {
		span := in.Runtimes[0] + "–" + in.Runtimes[len(in.Runtimes)-1]
		if in.Err != nil {
			missing = append(missing, span+" ("+in.Err.Error()+")")
			continue
		}
		on := in.Path
		if in.Version != "" {
			on += " " + in.Version
		}
		runnable = append(runnable, span+" on "+on)
	}
	runnable = append(runnable, "provided, provided.al2, provided.al2023, go1.x (the package's own bootstrap)")
	log.Info("runtimes this machine can run", "runtimes", strings.Join(runnable, "; "))
	if len(missing) > 0 {
		log.Warn("runtimes this machine cannot run; CreateFunction refuses them", "runtimes", strings.Join(missing, "; "))
	}
}

func (s *Server) close(ctx context.Context) error {
	var err error
	for i := len(s.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, s.closers[i](ctx))
	}
	s.closers = nil
	return err
}

// Handler is the root handler: it routes by Host first (function URLs), then by path.
func (s *Server) Handler() http.Handler {
	return withBodyDeadlines(s.cfg.BodyIdleTimeout, s.inflight.Wrap(http.HandlerFunc(s.route)))
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if IsURLHost(r.Host) || strings.HasPrefix(r.URL.Path, "/lambda-url/") {
		s.urls.ServeHTTP(w, r)
		return
	}
	switch {
	case r.URL.Path == "/metrics":
		s.metrics.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, "/furl/console") || r.URL.Path == console.LinkAPIPath:
		s.console.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, "/furl/v1/functions/") && strings.HasSuffix(r.URL.Path, "/events"):
		s.events.ServeHTTP(w, r)
	case r.URL.Path == "/" && (r.Method == http.MethodPost || r.URL.Query().Has("Action")):
		s.queryAPI.ServeHTTP(w, r)
	default:
		s.controlPlane.ServeHTTP(w, r)
	}
}

// IsURLHost reports whether host (with or without port) is a function URL host:
// <id>.lambda-url.<region>.<domain>, as the gateway parses it.
func IsURLHost(host string) bool {
	_, _, ok := gateway.ParseHost(host)
	return ok
}

// Listen opens the TCP listener for addr, with a message that says what to do when the port is
// taken.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s: the address is in use (another furl, or another server); choose another with --addr", addr)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve listens on cfg.Addr (or uses ln when non-nil) until ctx ends, then shuts down in order:
// stop accepting, drain in-flight requests, stop environments, close the store.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		var err error
		ln, err = Listen(s.cfg.Addr)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	maxConns := s.cfg.MaxConnections
	if maxConns == 0 {
		maxConns = connectionCap(s.nofile)
	}
	slots := connSlots(maxConns)
	ln = limitConns(ln, slots)
	hs := &http.Server{
		Handler:           s.redirectToHTTPS(s.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if _, port, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		s.functions.SetURLPort(port)
		// Functions reach furl's API over plain HTTP on this listener (the sandbox shares the
		// host's network namespace).
		s.endpointURL.Store("http://" + net.JoinHostPort(strings.Trim(LocalHost(ln.Addr().String()), "[]"), port))
	}
	if s.tls != nil {
		s.functions.SetURLPort(s.tls.urlPort())
	}
	stopTLS := s.serveTLS(s.Handler(), slots)
	asyncCtx, stopAsync := context.WithCancel(context.Background())
	asyncDone := make(chan struct{})
	go func() { defer close(asyncDone); s.functions.RunAsync(asyncCtx, s.pool) }()
	adaptCtx, stopAdapt := context.WithCancel(context.Background())
	adaptDone := make(chan struct{})
	go func() {
		defer close(adaptDone)
		if s.cfg.AdaptiveProcs {
			procs.Adapt(adaptCtx, 0, func() int { return max(s.inflight.Peak(), s.pool.PeakInflight()) })
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.logListening(ln.Addr().String())
	var serveErr error
	select {
	case serveErr = <-errc:
		serveErr = fmt.Errorf("server: %w", serveErr)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := errors.Join(hs.Shutdown(shutCtx), stopTLS(shutCtx))
	stopAsync()
	<-asyncDone
	stopAdapt()
	<-adaptDone
	return errors.Join(serveErr, err, s.close(shutCtx))
}
