// Package config holds furl's configuration: defaults, flags, environment and validation. It is
// the only package that reads environment variables (through the getenv it is given).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Config is the whole server configuration.
type Config struct {
	Addr      string
	DataDir   string
	Region    string
	AccountID string
	// URLDomain is the domain of Host-style function URLs: <id>.lambda-url.<region>.<URLDomain>,
	// for deployments whose DNS resolves those names to furl. Empty (the default): FunctionUrl is
	// path-style, http://<addr>/lambda-url/<id>/. Host-style requests are routed either way.
	URLDomain string

	// RootAccessKeyID and RootSecretAccessKey are the account root's credentials. When empty, the
	// server generates a pair on first start and keeps it in DataDir.
	RootAccessKeyID     string
	RootSecretAccessKey string

	// MaxConcurrency is the account-wide cap on execution environments (ConcurrentExecutions).
	MaxConcurrency int
	// IdleTimeout is how long an idle environment is kept warm.
	IdleTimeout time.Duration
	// InitTimeout is the Init phase limit.
	InitTimeout time.Duration
	// ColdStartWait is how long a request that finds every environment busy waits for one to
	// free up before starting a new one (0 = the pool's default; negative = never wait).
	ColdStartWait time.Duration
	// MaxConcurrentInits caps environments initialising at once (0 = the pool's default).
	MaxConcurrentInits int
	// CPUAffinity runs each environment on as many CPUs as Lambda gives vCPUs for its memory
	// size (one per 1,769 MB), the least occupied ones.
	CPUAffinity bool
	// Sandbox is "on" (every execution environment in a sandbox, internal/sandbox) or "off"
	// (functions run unsandboxed, as furl's own user; logged loudly).
	Sandbox string
	// AdaptiveProcs runs furl's own Go scheduler with one P while at most one request or
	// invocation is in flight, and with all of them under load (internal/procs).
	AdaptiveProcs bool
	// RequireInvokeFunctionForURLs demands lambda:InvokeFunction (with
	// lambda:InvokedViaFunctionUrl) in addition to lambda:InvokeFunctionUrl, as AWS accounts
	// created since October 2025 do.
	RequireInvokeFunctionForURLs bool
	// LogRetention is how long invocation logs are kept.
	LogRetention time.Duration
	// LogMaxBytesPerInvoke caps what one invocation may log (the rest is dropped, with a line
	// saying so); < 0 means no cap.
	LogMaxBytesPerInvoke int64
	// LogMaxBytesPerFunction and LogMaxBytes cap the invocation logs kept on disk, per function
	// and in all (oldest dropped first); 0 means no cap.
	LogMaxBytesPerFunction int64
	LogMaxBytes            int64
	// InspectRetention is how many inspected function URL requests (the console's request
	// inspector, /furl/v1/functions/<name>/events) are kept per function.
	InspectRetention int
	// StreamMaxBytes caps a RESPONSE_STREAM body (AWS: 200 MB). StreamBandwidthAfter is the size
	// past which streaming is shaped to StreamBandwidth bytes/s (AWS: 6 MB, 2 MB/s); 0 disables.
	StreamMaxBytes       int64
	StreamBandwidthAfter int64
	StreamBandwidth      int64
	// FunctionPath is the PATH given to function processes (default: furl's own PATH, so a
	// bootstrap script finds the machine's interpreters by name).
	FunctionPath string
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed for aws:SourceIp.
	TrustedProxies []*net.IPNet
	LogLevel       string
	// MaxConnections caps open client connections, both listeners together (0: from the open-file limit,
	// keeping a quarter of it free); BodyIdleTimeout is the longest pause allowed while a
	// request body arrives (0: 10s).
	MaxConnections  int
	BodyIdleTimeout time.Duration
	// Metrics says who may read /metrics: MetricsAuth (SigV4, lambda:ListFunctions; the
	// default), MetricsPublic (anyone who reaches the listener) or MetricsOff.
	Metrics string

	TLS TLS
}

// TLS configures the HTTPS listener beside Addr. Without TLSAddr there is none.
type TLS struct {
	// Addr is the TLS listener's address (HTTP/1.1 and HTTP/2, the same handler as Addr).
	Addr string
	// CertFile and KeyFile are the user's certificate, reloaded on SIGHUP. Without them (and
	// without ACME) furl's own local CA in <data-dir>/tls issues the certificates.
	CertFile string
	KeyFile  string
	// ACMEEmail and ACMECA turn on ACME on demand (ACMECA defaults to Let's Encrypt);
	// ACMECARoot is a PEM file of roots trusted for the ACME server's own HTTPS.
	ACMEEmail  string
	ACMECA     string
	ACMECARoot string
	// APIHost is the API's public host name: the local CA puts it on the API's certificate
	// beside localhost and 127.0.0.1, ACME may request a certificate for it.
	APIHost string
	// LeafValidity is how long the local CA's leaves are valid (renewed with a third left).
	LeafValidity time.Duration
	// HTTPRedirect makes the plain listener answer function URLs with 308 to https.
	HTTPRedirect bool
}

// Default returns the configuration furl runs with when nothing is set.
func Default() Config {
	return Config{
		Addr:                   "127.0.0.1:9000",
		DataDir:                defaultDataDir(),
		Region:                 "us-east-1",
		AccountID:              "000000000000",
		MaxConcurrency:         1000,
		CPUAffinity:            true,
		Sandbox:                "on",
		AdaptiveProcs:          true,
		IdleTimeout:            5 * time.Minute,
		InitTimeout:            10 * time.Second,
		LogRetention:           7 * 24 * time.Hour,
		LogMaxBytesPerInvoke:   1 << 20,
		LogMaxBytesPerFunction: 256 << 20,
		LogMaxBytes:            2 << 30,
		InspectRetention:       100,
		StreamMaxBytes:         200 << 20,
		StreamBandwidthAfter:   0,
		StreamBandwidth:        2 << 20,
		LogLevel:               "info",
		Metrics:                MetricsAuth,
		TLS:                    TLS{LeafValidity: 7 * 24 * time.Hour},
	}
}

func defaultDataDir() string {
	if d, err := os.UserHomeDir(); err == nil && d != "" {
		return filepath.Join(d, ".furl")
	}
	return ".furl"
}

// RegisterFlags binds the serve flags to c.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address for the API, function URLs and metrics")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the database, code and logs")
	fs.StringVar(&c.Region, "region", c.Region, "AWS region furl presents itself as")
	fs.StringVar(&c.AccountID, "account-id", c.AccountID, "12-digit account id furl presents itself as")
	fs.StringVar(&c.URLDomain, "url-domain", c.URLDomain, "domain with wildcard DNS for Host-style FunctionUrl values (<id>.lambda-url.<region>.<domain>); empty: path-style http://<addr>/lambda-url/<id>/")
	fs.IntVar(&c.MaxConcurrency, "max-concurrency", c.MaxConcurrency, "account-wide concurrent execution limit")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "how long idle environments stay warm")
	fs.DurationVar(&c.ColdStartWait, "cold-start-wait", c.ColdStartWait, "how long a request waits for a busy environment before a cold start (0 = default 10ms, negative = never)")
	fs.IntVar(&c.MaxConcurrentInits, "max-concurrent-inits", c.MaxConcurrentInits, "environments initialising at once (0 = 2 per CPU, at least 4)")
	fs.StringVar(&c.Sandbox, "sandbox", c.Sandbox, "run every function in a sandbox laid out as Lambda's (on), or unsandboxed as furl's own user (off)")
	fs.BoolVar(&c.CPUAffinity, "cpu-affinity", c.CPUAffinity, "run each environment on as many CPUs as Lambda gives vCPUs for its memory (1 per 1769 MB)")
	fs.BoolVar(&c.AdaptiveProcs, "adaptive-procs", c.AdaptiveProcs, "run furl's scheduler on one CPU while at most one request is in flight (lower latency), on all under load")
	fs.BoolVar(&c.RequireInvokeFunctionForURLs, "require-invoke-function", c.RequireInvokeFunctionForURLs,
		"function URLs also need lambda:InvokeFunction (AWS's rule for accounts created since Oct 2025)")
	fs.DurationVar(&c.LogRetention, "log-retention", c.LogRetention, "how long invocation logs are kept")
	fs.Int64Var(&c.LogMaxBytesPerInvoke, "log-max-bytes-per-invoke", c.LogMaxBytesPerInvoke, "output one invocation may log; the rest is dropped with a line saying so (-1 = no cap)")
	fs.Int64Var(&c.LogMaxBytesPerFunction, "log-max-bytes-per-function", c.LogMaxBytesPerFunction, "invocation logs kept on disk per function; oldest dropped first (0 = no cap)")
	fs.Int64Var(&c.LogMaxBytes, "log-max-bytes", c.LogMaxBytes, "invocation logs kept on disk in all; oldest dropped first (0 = no cap)")
	fs.IntVar(&c.InspectRetention, "inspect-retention", c.InspectRetention, "inspected function URL requests kept per function for the console")
	fs.Int64Var(&c.StreamMaxBytes, "stream-max-bytes", c.StreamMaxBytes, "cap on a streamed response body")
	fs.Int64Var(&c.StreamBandwidthAfter, "stream-shape-after", c.StreamBandwidthAfter, "bytes after which streamed responses are bandwidth-shaped (0 = never)")
	fs.Int64Var(&c.StreamBandwidth, "stream-bandwidth", c.StreamBandwidth, "bytes/s for shaped streamed responses")
	fs.IntVar(&c.MaxConnections, "max-connections", c.MaxConnections, "open client connections at once (0 = three quarters of the open-file limit)")
	fs.DurationVar(&c.BodyIdleTimeout, "body-idle-timeout", c.BodyIdleTimeout, "longest pause while a request body arrives (0 = 10s); bodies must also average 1 KiB/s after 20s")
	fs.StringVar(&c.Metrics, "metrics", c.Metrics, "who may read /metrics (it names every function and URL id): auth (SigV4, lambda:ListFunctions), public, or off")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.TLS.Addr, "tls-addr", c.TLS.Addr, "HTTPS listen address (HTTP/1.1 and HTTP/2) beside --addr; certificates from furl's local CA unless --tls-cert or --acme-email")
	fs.StringVar(&c.TLS.CertFile, "tls-cert", c.TLS.CertFile, "PEM certificate (chain) for --tls-addr, reloaded on SIGHUP")
	fs.StringVar(&c.TLS.KeyFile, "tls-key", c.TLS.KeyFile, "PEM private key of --tls-cert")
	fs.StringVar(&c.TLS.ACMEEmail, "acme-email", c.TLS.ACMEEmail, "obtain certificates with ACME on demand for URL hosts and --api-host, with this account email")
	fs.StringVar(&c.TLS.ACMECA, "acme-ca", c.TLS.ACMECA, "ACME directory URL (default Let's Encrypt)")
	fs.StringVar(&c.TLS.ACMECARoot, "acme-ca-root", c.TLS.ACMECARoot, "PEM roots to trust for the ACME server's own HTTPS (a private ACME CA)")
	fs.StringVar(&c.TLS.APIHost, "api-host", c.TLS.APIHost, "public host name of the API, for its TLS certificate")
	fs.DurationVar(&c.TLS.LeafValidity, "tls-leaf-validity", c.TLS.LeafValidity, "validity of the local CA's leaf certificates (renewed with a third left)")
	fs.BoolVar(&c.TLS.HTTPRedirect, "http-redirect", c.TLS.HTTPRedirect, "answer function URLs on --addr with 308 to https (needs --tls-addr)")
	fs.Func("trusted-proxies", "comma-separated CIDRs (or addresses) of reverse proxies whose X-Forwarded-For gives the caller's address (aws:SourceIp, sourceIp)", func(v string) error {
		nets, err := ParseCIDRs(v)
		if err != nil {
			return err
		}
		c.TrustedProxies = append(c.TrustedProxies, nets...)
		return nil
	})
}

// ParseCIDRs parses a comma-separated list of CIDRs; a bare address is a /32 (IPv4) or /128
// (IPv6) network. Empty items are ignored.
func ParseCIDRs(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			ip := net.ParseIP(item)
			if ip == nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an IP address", item)
			}
			bits := 128
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR: %w", item, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// ApplyEnv reads the FURL_* environment variables that override defaults.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if v := getenv("FURL_ROOT_ACCESS_KEY_ID"); v != "" {
		c.RootAccessKeyID = v
	}
	if v := getenv("FURL_ROOT_SECRET_ACCESS_KEY"); v != "" {
		c.RootSecretAccessKey = v
	}
	if v := getenv("PATH"); v != "" && c.FunctionPath == "" {
		c.FunctionPath = v
	}
	if v := getenv("FURL_SANDBOX"); v != "" {
		c.Sandbox = v
	}
	if v := getenv("FURL_DATA_DIR"); v != "" {
		c.DataDir = v
	}
}

// The values of Config.Metrics.
const (
	MetricsAuth   = "auth"
	MetricsPublic = "public"
	MetricsOff    = "off"
)

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	domainRE  = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$`)
)

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: %w", c.Addr, err))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.Sandbox != "on" && c.Sandbox != "off" {
		errs = append(errs, fmt.Errorf("--sandbox %q: must be on or off", c.Sandbox))
	}
	if !accountRE.MatchString(c.AccountID) {
		errs = append(errs, fmt.Errorf("--account-id %q: must be 12 digits", c.AccountID))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("--region must not be empty"))
	}
	switch c.Metrics {
	case MetricsAuth, MetricsPublic, MetricsOff:
	default:
		errs = append(errs, fmt.Errorf("--metrics %q: must be auth, public or off", c.Metrics))
	}
	if c.URLDomain != "" && !domainRE.MatchString(c.URLDomain) {
		errs = append(errs, fmt.Errorf("--url-domain %q: must be a DNS name such as furl.example.com (no scheme, port or path)", c.URLDomain))
	}
	if c.MaxConcurrency < 1 {
		errs = append(errs, fmt.Errorf("--max-concurrency %d: must be at least 1", c.MaxConcurrency))
	}
	errs = append(errs, c.TLS.validate())
	if c.InspectRetention < 0 || c.InspectRetention > 10000 {
		errs = append(errs, fmt.Errorf("--inspect-retention %d: must be between 0 and 10000", c.InspectRetention))
	}
	if (c.RootAccessKeyID == "") != (c.RootSecretAccessKey == "") {
		errs = append(errs, errors.New("set both FURL_ROOT_ACCESS_KEY_ID and FURL_ROOT_SECRET_ACCESS_KEY, or neither"))
	}
	return errors.Join(errs...)
}

func (t *TLS) validate() error {
	var errs []error
	if t.Addr == "" {
		if t.CertFile != "" || t.KeyFile != "" || t.ACMEEmail != "" || t.ACMECA != "" || t.HTTPRedirect {
			errs = append(errs, errors.New("--tls-cert, --tls-key, --acme-email, --acme-ca and --http-redirect need --tls-addr"))
		}
		return errors.Join(errs...)
	}
	if _, _, err := net.SplitHostPort(t.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--tls-addr %q: %w", t.Addr, err))
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, errors.New("set both --tls-cert and --tls-key, or neither"))
	}
	if t.CertFile != "" && (t.ACMEEmail != "" || t.ACMECA != "") {
		errs = append(errs, errors.New("--tls-cert and ACME (--acme-email, --acme-ca) exclude each other"))
	}
	if t.LeafValidity < time.Second {
		errs = append(errs, fmt.Errorf("--tls-leaf-validity %s: must be at least 1s", t.LeafValidity))
	}
	return errors.Join(errs...)
}

// ACME reports whether certificates come from ACME.
func (t *TLS) ACME() bool { return t.ACMEEmail != "" || t.ACMECA != "" }
