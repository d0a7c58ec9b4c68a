package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/runtimeapi"
	"github.com/furl/furl/internal/sandbox"
	"github.com/furl/furl/internal/supervisor"
	"github.com/google/uuid"
)

// Config configures a Pool. Zero values take the defaults noted.
type Config struct {
	// MaxConcurrency is the account-wide cap on concurrent invocations (default 1000).
	MaxConcurrency int
	// IdleTimeout is how long an idle environment is kept warm (default 5 min).
	IdleTimeout time.Duration
	// InitTimeout limits the Init phase (default 10 s).
	InitTimeout time.Duration
	// WorkDir holds each environment's copy of the code and its temporary directory
	// (default <os temp dir>/furl-envs-<pid>).
	WorkDir string
	// Path is the PATH given to function processes (default /usr/local/bin:/usr/bin:/bin).
	Path string
	// MaxResponseBytes caps a buffered response (default 6 MB + 100 bytes, as the RIE).
	MaxResponseBytes int64
	// MaxStreamBytes caps a streamed response (default 200 MB).
	MaxStreamBytes int64
	// MemoryPollInterval is the memory watchdog's period (default 50 ms).
	MemoryPollInterval time.Duration
	// ColdStartWait is how long a request that finds every environment of its function busy
	// waits at least for one of them to be released before it starts a new one (default 10 ms;
	// negative: never wait, cold-start at once). The wait is the longer of this and the
	// function's last cold start (code copy + init; counted up to 100 ms): the request is then
	// hardly slower than with the cold start it would otherwise do, and usually much faster.
	// Released environments go to waiting requests first, in arrival order. Waiting requests
	// hold their concurrency slot, so reserved and account concurrency throttle exactly as
	// without waiting, and an environment still runs one invocation at a time. Under a burst of
	// short invocations this keeps the pool near the number of environments the load needs
	// instead of cold-starting one per queued request.
	ColdStartWait time.Duration
	// ColdStartWaitFrom is how many environments of a function must be busy before a request
	// waits (ColdStartWait) rather than cold-starting (default: the number of CPUs). Below
	// that a new environment adds parallelism the machine has: a queue behind one busy
	// environment would leave CPUs idle.
	ColdStartWaitFrom int
	// MaxConcurrentInits caps environments initialising at once (default 2 per CPU, at least
	// 4). A request that needs a new environment while the cap is reached waits for a slot or
	// for an environment of its function to be released, whichever comes first: on a small
	// machine a burst of N requests would otherwise start N runtimes at once, each init slowed
	// by the others until callers time out and the pool churns.
	MaxConcurrentInits int
	// CPUAffinity gives each environment as many of the machine's CPUs as Lambda gives vCPUs
	// for its memory size (one per 1,769 MB, rounded up): its processes run on those CPUs
	// only, the least occupied ones, and its runtime sees that many (nproc, GOMAXPROCS).
	CPUAffinity bool
	// Sandbox, when set, runs every environment in a sandbox (internal/sandbox): the code is
	// bound read-only at /var/task instead of copied, /tmp is private and capped, and the
	// Runtime API serves only the environment's own processes. nil runs them unsandboxed.
	Sandbox *sandbox.Sandbox
	// SandboxError, when set, is why the sandbox asked for could not be had: no environment
	// starts (never silently unsandboxed), and each cold start fails with this reason.
	SandboxError error
	// MaxLogBytesPerInvoke caps the output one invocation (or one init) may log: beyond it the
	// rest is dropped and one line says so. 0 means DefaultMaxLogBytesPerInvoke; < 0, no cap.
	MaxLogBytesPerInvoke int64
	// Credentials, when set, gives each new environment its function's execution role
	// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), as Lambda does
	// at init: an STS session of Target.Role named after the function. A running process's
	// environment cannot change, so an environment is retired (never given another invocation,
	// stopped when idle) once its credentials have less than the function's timeout plus
	// CredentialsMargin left; the next request starts a fresh one with a fresh session.
	Credentials func(ctx context.Context, roleARN, function string) (Creds, error)
	// CredentialsMargin is the credentials' validity an environment must keep beyond one
	// invocation's timeout to be given it (default 5 min).
	CredentialsMargin time.Duration
	// EndpointURL, when set, is AWS_ENDPOINT_URL in every environment: furl's own API, so an
	// AWS SDK inside a handler calls furl.
	EndpointURL func() string
}

// Creds are temporary credentials of an execution role session.
type Creds struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

// DefaultMaxLogBytesPerInvoke is Config.MaxLogBytesPerInvoke's default.
const DefaultMaxLogBytesPerInvoke = 1 << 20

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("pool: closed")

// Pool runs invocations on execution environments.
type Pool struct {
	cfg      Config
	log      *slog.Logger
	launcher Launcher
	logs     *invocationlog.Store

	staged staging // code copies made ahead of cold starts (staged.go)
	// placement spreads the environments' processes over furl's CPUs (Config.CPUAffinity).
	placement *supervisor.CPUSet

	// sched decides which environment each invocation runs on (scheduler.go); the pool is its
	// starter (newEnv) and brings the environments up (init.go).
	sched *scheduler

	wg       sync.WaitGroup // environment watchers and detached finishers
	stop     chan struct{}
	abandon  chan struct{} // closed when Close stops waiting for in-flight invocations
	reapDone chan struct{}
}

// FunctionStats are one function's numbers (all versions together).
type FunctionStats struct {
	Inflight     int // invocations running now (its concurrency)
	Environments int // environments alive (busy, idle or starting)
	Idle         int
	ColdStarts   uint64
	Invocations  uint64
	Throttles    uint64
	Errors       uint64 // invocations that ended with a function error
	Timeouts     uint64
}

// Stats is a snapshot of the pool for metrics.
type Stats struct {
	Inflight     int
	Environments int
	Functions    map[string]FunctionStats
}

// New returns a pool. launcher starts the runtimes (use DefaultLauncher{Managed: ...}); logs may
// be nil to keep no logs beyond Result.Log.
func New(cfg Config, log *slog.Logger, launcher Launcher, logs *invocationlog.Store) *Pool {
	if cfg.MaxConcurrency <= 0 {
		cfg.MaxConcurrency = 1000
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = 10 * time.Second
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = filepath.Join(os.TempDir(), fmt.Sprintf("furl-envs-%d", os.Getpid()))
	}
	if cfg.Path == "" {
		cfg.Path = "/usr/local/bin:/usr/bin:/bin"
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = runtimeapi.DefaultMaxResponseBytes
	}
	if cfg.MaxStreamBytes <= 0 {
		cfg.MaxStreamBytes = runtimeapi.DefaultMaxStreamBytes
	}
	if cfg.ColdStartWait == 0 {
		cfg.ColdStartWait = 10 * time.Millisecond
	}
	if cfg.ColdStartWaitFrom <= 0 {
		cfg.ColdStartWaitFrom = runtime.NumCPU()
	}
	if cfg.CredentialsMargin <= 0 {
		cfg.CredentialsMargin = 5 * time.Minute
	}
	if cfg.MaxConcurrentInits <= 0 {
		cfg.MaxConcurrentInits = max(4, 2*runtime.NumCPU())
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if launcher == nil {
		launcher = DefaultLauncher{}
	}
	p := &Pool{
		cfg: cfg, log: log, launcher: launcher, logs: logs, placement: supervisor.NewCPUSet(),
		stop:     make(chan struct{}),
		abandon:  make(chan struct{}),
		reapDone: make(chan struct{}),
	}
	p.sched = newScheduler(cfg, p)
	p.removeStale()
	go p.reap()
	return p
}

// Invoke runs one invocation of t. Platform refusals (throttling, a closed pool, a cancelled
// ctx before the event reached a runtime) are errors; everything that happened on the
// function's behalf is a Result.
func (p *Pool) Invoke(ctx context.Context, t *Target, req *Request) (*Result, error) {
	if t == nil || req == nil {
		return nil, errors.New("pool: invoke: nil target or request")
	}
	tt := *t
	if tt.Timeout <= 0 {
		tt.Timeout = 3 * time.Second
	}
	if tt.MemoryMB <= 0 {
		tt.MemoryMB = 128
	}
	if tt.Version == "" {
		tt.Version = "$LATEST"
	}
	if tt.Region == "" {
		tt.Region = "us-east-1"
	}
	r := *req
	if r.RequestID == "" {
		r.RequestID = uuid.NewString()
	}
	for attempt := 0; ; attempt++ {
		s, cold, err := p.sched.lease(ctx, &tt)
		if err != nil {
			return nil, err
		}
		e := s.inst.(*env)
		var deadline time.Time
		if cold {
			ne, res, dl, ok := p.coldStart(ctx, e, &r)
			if !ok {
				if res == nil {
					return nil, fmt.Errorf("pool: invoke: %w", ctx.Err())
				}
				return res, nil
			}
			e, deadline = ne, dl
		}
		res, retry, err := p.run(ctx, e, &r, deadline)
		if cold {
			// Copy the package for the next environment now: not while this one's init and
			// first invocation compete for the CPU.
			p.Stage(tt.CodeDir)
		}
		if retry && attempt < 5 {
			continue
		}
		if retry {
			return nil, errors.New("pool: invoke: environments keep dying before dispatch")
		}
		return res, err
	}
}

// newEnv makes the environment of a new scheduler slot (starter); initEnv starts it.
func (p *Pool) newEnv(s *slot, t Target) instance {
	e := &env{
		slot: s, p: p, target: t, id: newEnvID(),
		ready: make(chan struct{}), initFailed: make(chan struct{}),
	}
	e.stream = time.Now().UTC().Format("2006/01/02") + "/[" + t.Version + "]" + e.id
	return e
}

// Drain retires every environment of the function (all versions when version is ""): idle ones
// die now, busy ones after their current invocation. Call it when a function is updated or
// deleted outside of a ConfigKey change.
func (p *Pool) Drain(functionName, version string) { p.sched.drain(functionName, version) }

// PeakInflight returns the most invocations in flight at once since its previous call (at
// least those in flight now).
func (p *Pool) PeakInflight() int { return p.sched.peakInflight() }

// Close stops accepting invocations, lets running ones finish until ctx ends, then kills every
// environment and waits for them to be gone.
func (p *Pool) Close(ctx context.Context) error {
	if !p.sched.close() {
		return nil
	}
	close(p.stop)
	<-p.reapDone
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for p.sched.inflightNow() > 0 {
		select {
		case <-ctx.Done():
			err = fmt.Errorf("pool: close: %w", ctx.Err())
			break wait
		case <-tick.C:
		}
	}
	close(p.abandon)
	p.sched.killAll()
	p.wg.Wait()
	p.removeStale()
	return err
}

// Stats returns a snapshot of concurrency and counters per function.
func (p *Pool) Stats() Stats { return p.sched.stats() }

var _ io.Closer = (*streamBody)(nil)
