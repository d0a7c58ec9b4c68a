package pool

import (
	"context"
	"errors"
	"fmt"
	"github.com/furl/furl/internal/sandbox"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/runtimeapi"
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

	mu         sync.Mutex
	fns        map[fnKey]*fnState
	inflight   int
	fnInflight map[string]int
	counters   map[string]*counters
	envCount   int
	peak       int // most invocations in flight since the last PeakInflight
	closed     bool

	initSem  chan struct{}  // one token per environment initialising (Config.MaxConcurrentInits)
	wg       sync.WaitGroup // environment watchers and detached finishers
	stop     chan struct{}
	abandon  chan struct{} // closed when Close stops waiting for in-flight invocations
	reapDone chan struct{}
}

type fnKey struct{ name, version string }

// fnState is one function version's environments.
type fnState struct {
	key       fnKey
	configKey string
	idle      []*env // most recently used last
	envs      map[*env]struct{}
	// retired are superseded ConfigKeys: a late request still carrying one runs on a one-off
	// environment instead of draining the current ones again.
	retired map[string]bool
	// waiters are requests waiting for a busy environment (see Config.ColdStartWait), oldest first.
	waiters []*waiter
	// lastColdStart is how long the last successful cold start took (copy + init).
	lastColdStart time.Duration
}

const maxColdStartWait = 100 * time.Millisecond

// waiter is a request waiting for an environment; release hands one over on ch.
type waiter struct {
	ch chan *env
	// timed: it may start a new environment only after the wait (some environment is busy);
	// otherwise as soon as an init slot is free.
	timed bool
}

type counters struct {
	coldStarts, invocations, throttles, errors, timeouts uint64
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
		fns:        map[fnKey]*fnState{},
		fnInflight: map[string]int{},
		counters:   map[string]*counters{},
		stop:       make(chan struct{}),
		abandon:    make(chan struct{}),
		reapDone:   make(chan struct{}),
		initSem:    make(chan struct{}, cfg.MaxConcurrentInits),
	}
	p.removeStale()
	go p.reap()
	return p
}

// removeStale deletes environment directories left by an earlier process that did not shut
// down cleanly (only names that look like environment ids).
func (p *Pool) removeStale() {
	ents, err := os.ReadDir(p.cfg.WorkDir)
	if err != nil {
		return
	}
	for _, de := range ents {
		if n := de.Name(); len(n) == 32 && strings.Trim(n, "0123456789abcdef") == "" {
			_ = os.RemoveAll(filepath.Join(p.cfg.WorkDir, n))
		}
	}
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
		e, cold, w, err := p.acquire(&tt)
		if err != nil {
			return nil, err
		}
		if w != nil {
			if e, cold, err = p.awaitEnv(ctx, &tt, w); err != nil {
				return nil, err
			}
		}
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

// acquire takes an idle environment of t or reserves a slot for a new one (cold is then true and
// the environment is not started yet). When every environment is busy it may instead return a
// waiter (with the slot reserved) for awaitEnv.
func (p *Pool) acquire(t *Target) (*env, bool, *waiter, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false, nil, ErrClosed
	}
	c := p.countersLocked(t.FunctionName)
	if rc := t.ReservedConcurrency; rc != nil && p.fnInflight[t.FunctionName] >= *rc {
		c.throttles++
		return nil, false, nil, &ThrottleError{Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
	}
	if p.inflight >= p.cfg.MaxConcurrency {
		c.throttles++
		return nil, false, nil, &ThrottleError{Reason: "ConcurrentInvocationLimitExceeded"}
	}
	fs := p.fnLocked(t)
	p.inflight++
	p.notePeakLocked()
	p.fnInflight[t.FunctionName]++
	c.invocations++
	stale := t.ConfigKey != fs.configKey
	for n := len(fs.idle); n > 0 && !stale; n = len(fs.idle) {
		e := fs.idle[n-1]
		fs.idle = fs.idle[:n-1]
		if e.dead || e.killed {
			continue
		}
		e.busy = true
		return e, false, nil, nil
	}
	timed := !stale && p.cfg.ColdStartWait > 0 && p.busyEnvsLocked(fs) >= p.cfg.ColdStartWaitFrom
	if !timed {
		select {
		case p.initSem <- struct{}{}:
			return p.newEnvLocked(fs, t, stale), true, nil, nil
		default:
		}
	}
	w := &waiter{ch: make(chan *env, 1), timed: timed}
	fs.waiters = append(fs.waiters, w)
	return nil, false, w, nil
}

func (p *Pool) notePeakLocked() { p.peak = max(p.peak, p.inflight) }

// PeakInflight returns the most invocations in flight at once since its previous call (at
// least those in flight now).
func (p *Pool) PeakInflight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	peak := max(p.peak, p.inflight)
	p.peak = p.inflight
	return peak
}

// busyEnvsLocked counts fs's live environments that run (or start for) an invocation of the
// current configuration: the ones a waiting request may get.
func (p *Pool) busyEnvsLocked(fs *fnState) int {
	n := 0
	for e := range fs.envs {
		if e.busy && !e.killed && !e.dead && !e.draining && e.configKey == fs.configKey {
			n++
		}
	}
	return n
}

// awaitEnv waits for a released environment or, after the wait (see Config.ColdStartWait) and
// once an init slot is free, reserves a new one. The waiter already holds an invocation slot.
func (p *Pool) awaitEnv(ctx context.Context, t *Target, w *waiter) (*env, bool, error) {
	var timerC <-chan time.Time
	if w.timed {
		p.mu.Lock()
		wait := max(p.cfg.ColdStartWait, min(p.fnLocked(t).lastColdStart, maxColdStartWait))
		p.mu.Unlock()
		timer := time.NewTimer(wait)
		defer timer.Stop()
		timerC = timer.C
	}
	var sem chan struct{}
	if !w.timed {
		sem = p.initSem
	}
	for {
		select {
		case e := <-w.ch:
			return e, false, nil
		case <-timerC:
			timerC, sem = nil, p.initSem
			continue
		case sem <- struct{}{}:
			p.mu.Lock()
			fs := p.fnLocked(t)
			if !removeWaiter(fs, w) {
				p.mu.Unlock()
				<-p.initSem
				return <-w.ch, false, nil
			}
			if p.closed {
				p.inflight--
				p.fnInflight[t.FunctionName]--
				p.mu.Unlock()
				<-p.initSem
				return nil, false, ErrClosed
			}
			e := p.newEnvLocked(fs, t, t.ConfigKey != fs.configKey)
			p.mu.Unlock()
			return e, true, nil
		case <-ctx.Done():
		}
		break
	}
	p.mu.Lock()
	fs := p.fnLocked(t)
	if !removeWaiter(fs, w) {
		// release handed an environment over meanwhile.
		p.mu.Unlock()
		p.release(<-w.ch, true)
		return nil, false, fmt.Errorf("pool: invoke: %w", ctx.Err())
	}
	p.inflight--
	p.fnInflight[t.FunctionName]--
	p.mu.Unlock()
	return nil, false, fmt.Errorf("pool: invoke: %w", ctx.Err())
}

func removeWaiter(fs *fnState, w *waiter) bool {
	for i, x := range fs.waiters {
		if x == w {
			fs.waiters = append(fs.waiters[:i], fs.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// newEnvLocked registers a new (not yet started) environment for an invocation whose slot is
// already reserved.
func (p *Pool) newEnvLocked(fs *fnState, t *Target, stale bool) *env {
	c := p.countersLocked(t.FunctionName)
	e := &env{
		p: p, fs: fs, target: *t, configKey: t.ConfigKey, id: newEnvID(),
		ready: make(chan struct{}), initFailed: make(chan struct{}),
		busy: true, fresh: true, draining: stale, permit: true,
	}
	e.stream = time.Now().UTC().Format("2006/01/02") + "/[" + t.Version + "]" + e.id
	fs.envs[e] = struct{}{}
	p.envCount++
	c.coldStarts++
	if p.envCount > p.cfg.MaxConcurrency {
		p.evictIdleLocked()
	}
	return e
}

func (p *Pool) countersLocked(name string) *counters {
	c := p.counters[name]
	if c == nil {
		c = &counters{}
		p.counters[name] = c
	}
	return c
}

// fnLocked returns t's function state; a new ConfigKey drains the old environments.
func (p *Pool) fnLocked(t *Target) *fnState {
	k := fnKey{t.FunctionName, t.Version}
	fs := p.fns[k]
	if fs == nil {
		fs = &fnState{key: k, configKey: t.ConfigKey, envs: map[*env]struct{}{}}
		p.fns[k] = fs
		return fs
	}
	if fs.configKey != t.ConfigKey && !fs.retired[t.ConfigKey] {
		if fs.retired == nil {
			fs.retired = map[string]bool{}
		}
		if len(fs.retired) > 64 {
			clear(fs.retired)
		}
		fs.retired[fs.configKey] = true
		fs.configKey = t.ConfigKey
		p.drainLocked(fs)
	}
	return fs
}

// drainLocked kills the idle environments of fs and marks the busy ones to die when released.
func (p *Pool) drainLocked(fs *fnState) {
	for e := range fs.envs {
		e.draining = true
		if !e.busy {
			p.killLocked(e, "spindown")
		}
	}
	fs.idle = fs.idle[:0]
}

// Drain retires every environment of the function (all versions when version is ""): idle ones
// die now, busy ones after their current invocation. Call it when a function is updated or
// deleted outside of a ConfigKey change.
func (p *Pool) Drain(functionName, version string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, fs := range p.fns {
		if k.name == functionName && (version == "" || k.version == version) {
			p.drainLocked(fs)
		}
	}
}

func (p *Pool) evictIdleLocked() {
	var oldest *env
	for _, fs := range p.fns {
		for _, e := range fs.idle {
			if !e.dead && !e.killed && (oldest == nil || e.lastUsed.Before(oldest.lastUsed)) {
				oldest = e
			}
		}
	}
	if oldest != nil {
		p.killLocked(oldest, "spindown")
	}
}

// killLocked starts killing e; its watcher cleans up once the process is gone.
func (p *Pool) killLocked(e *env, reason string) {
	if e.killed {
		return
	}
	e.killed = true
	removeIdle(e)
	if e.proc == nil {
		return
	}
	go e.terminate(reason)
}

func removeIdle(e *env) {
	fs := e.fs
	for i, x := range fs.idle {
		if x == e {
			fs.idle = append(fs.idle[:i], fs.idle[i+1:]...)
			return
		}
	}
}

// terminate stops the runtime: SIGKILL at once without extensions; with extensions, SHUTDOWN to
// them, SIGTERM to the group and SIGKILL after 500 ms.
func (e *env) terminate(reason string) {
	e.srv.Shutdown(reason)
	if e.srv.HasExtensions() {
		e.proc.Terminate(500 * time.Millisecond)
	} else {
		e.proc.Kill()
	}
}

// kill is killLocked for callers without the lock.
func (p *Pool) kill(e *env, reason string) {
	p.mu.Lock()
	p.killLocked(e, reason)
	p.mu.Unlock()
}

// release ends an invocation's hold on e: back to the idle list if reuse, else killed.
func (p *Pool) release(e *env, reuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	p.fnInflight[e.target.FunctionName]--
	e.busy = false
	e.fresh = false
	if !reuse || e.draining || e.dead || p.closed || e.configKey != e.fs.configKey {
		p.killLocked(e, "spindown")
		return
	}
	if e.killed {
		return
	}
	e.lastUsed = time.Now()
	if fs := e.fs; len(fs.waiters) > 0 {
		// Straight to the oldest waiting request: its slot is already counted.
		w := fs.waiters[0]
		fs.waiters = fs.waiters[1:]
		e.busy = true
		w.ch <- e
		return
	}
	e.fs.idle = append(e.fs.idle, e)
}

// watch waits for the runtime process to end and cleans the environment up.
func (p *Pool) watch(e *env) {
	defer p.wg.Done()
	<-e.proc.Exited()
	e.srv.Close()
	p.mu.Lock()
	e.dead = true
	removeIdle(e)
	delete(e.fs.envs, e)
	p.envCount--
	p.mu.Unlock()
	if err := os.RemoveAll(e.dir); err != nil {
		p.log.Warn("pool: remove environment dir", "dir", e.dir, "err", err)
	}
}

// coldStart starts e and waits for its init. On failure it retries init once inside the
// invocation (the "suppressed init") in a new environment, which it returns with the deadline the
// retry set. ok=false ends the invocation: res is its result, or nil when ctx ended.
func (p *Pool) coldStart(ctx context.Context, e *env, req *Request) (ready *env, res *Result, deadline time.Time, ok bool) {
	t := &e.target
	status, typ := p.initEnv(ctx, e, time.Now().Add(p.cfg.InitTimeout))
	switch status {
	case initOK:
		return e, nil, time.Time{}, true
	case initCancelled:
		return nil, nil, time.Time{}, false
	case initEntrypoint:
		return nil, p.initFailure(e, req, typ, nil, 0), time.Time{}, false
	}
	// Init failed or timed out: report it, reset, and re-run init as part of this invocation.
	now := time.Now()
	phase := "error"
	if status == initTimeout {
		phase = "timeout"
	}
	e.appendLog(now, "", invocationlog.AppendInitReport(nil, now.Sub(e.startedAt), "init", phase, typ))
	cachedType, cachedBody := e.initError()
	p.kill(e, "failure")
	p.mu.Lock()
	e2 := &env{
		p: p, fs: e.fs, target: e.target, configKey: e.configKey, id: newEnvID(),
		ready: make(chan struct{}), initFailed: make(chan struct{}), busy: true, fresh: true,
		stream: e.stream,
	}
	e.fs.envs[e2] = struct{}{}
	p.envCount++
	p.inflight++ // the first environment's slot is released below
	p.notePeakLocked()
	p.fnInflight[t.FunctionName]++
	p.mu.Unlock()
	p.releaseSlot(e)
	start := time.Now()
	deadline = start.Add(t.Timeout)
	status, typ = p.initEnv(ctx, e2, deadline)
	switch status {
	case initOK:
		return e2, nil, deadline, true
	case initCancelled:
		return nil, nil, time.Time{}, false
	}
	now = time.Now()
	phase = "error"
	if status == initTimeout {
		phase = "timeout"
	}
	e2.appendLog(now, "", invocationlog.AppendInitReport(nil, now.Sub(start), "invoke", phase, typ))
	if t2, b2 := e2.initError(); b2 != nil {
		cachedType, cachedBody = t2, b2
	}
	if status == initTimeout {
		typ = "Sandbox.Timedout"
		cachedBody = nil
	} else if cachedBody != nil {
		typ = cachedType
	}
	return nil, p.initFailure(e2, req, typ, cachedBody, now.Sub(start)), time.Time{}, false
}

// releaseSlot gives back an invocation slot held by an environment that was replaced.
func (p *Pool) releaseSlot(e *env) {
	p.mu.Lock()
	p.inflight--
	p.fnInflight[e.target.FunctionName]--
	e.busy = false
	p.mu.Unlock()
}

// initDone gives back e's init slot, if it holds one.
func (p *Pool) initDone(e *env) {
	if e.permit {
		e.permit = false
		<-p.initSem
	}
}

type initStatus int

const (
	initOK initStatus = iota
	initFailed
	initTimeout
	initCancelled
	initEntrypoint
)

// initEnv starts e and waits until its runtime is in /next, fails, or the deadline passes. It
// returns the error type of a failure (for an entrypoint failure: the detail).
func (p *Pool) initEnv(ctx context.Context, e *env, deadline time.Time) (initStatus, string) {
	background := false
	defer func() {
		if !background {
			p.initDone(e)
		}
	}()
	if err := e.start(); err != nil {
		var ee *EntrypointError
		if !errors.As(err, &ee) {
			p.log.Error("pool: start environment", "function", e.target.FunctionName, "err", err)
			ee = &EntrypointError{Runtime: e.target.Runtime, Reason: err.Error()}
		}
		if e.srv != nil && e.proc == nil {
			e.srv.Close()
		}
		_ = os.RemoveAll(e.dir)
		p.mu.Lock()
		delete(e.fs.envs, e)
		p.envCount--
		e.dead = true
		p.mu.Unlock()
		return initEntrypoint, ee.Reason
	}
	p.wg.Add(1)
	go p.watch(e)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-e.ready:
		p.mu.Lock()
		e.fs.lastColdStart = e.copyDuration + e.initDuration
		p.mu.Unlock()
		p.log.Debug("pool: environment ready", "function", e.target.FunctionName, "env", e.id,
			"copy", e.copyDuration, "staged", e.staged, "init", e.initDuration)
		return initOK, ""
	case <-e.initFailed:
		typ, _ := e.initError()
		return initFailed, typ
	case <-e.proc.Exited():
		select {
		case <-e.ready:
			// Reached /next and then exited: the invocation will see the exit.
			return initOK, ""
		default:
		}
		if typ, b := e.initError(); b != nil {
			return initFailed, typ
		}
		return initFailed, exitType(e)
	case <-timer.C:
		return initTimeout, "Sandbox.Timedout"
	case <-ctx.Done():
		// The caller went away, but the environment's init goes on and, if it succeeds, the
		// environment joins the pool: killing it would throw the work away, and under a burst
		// of clients that give up (load generators' timeouts) that turns into a cold-start storm.
		background = true
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.initDone(e)
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			select {
			case <-e.ready:
				p.release(e, true)
				return
			case <-e.initFailed:
			case <-e.proc.Exited():
			case <-t.C:
			case <-p.abandon:
			}
			p.kill(e, "failure")
			p.releaseSlot(e)
		}()
		return initCancelled, ""
	}
}

func exitType(e *env) string {
	if e.proc.OutOfMemory() {
		return "Runtime.OutOfMemory"
	}
	return "Runtime.ExitError"
}

func exitMessage(e *env) string {
	err := e.proc.ExitError()
	var xe *exec.ExitError
	switch {
	case err == nil:
		return "Runtime exited without providing a reason"
	case errors.As(err, &xe):
		return "Runtime exited with error: " + xe.String()
	}
	return "Runtime exited with error: " + err.Error()
}

// initFailure ends an invocation whose environment could not be initialised.
func (p *Pool) initFailure(e *env, req *Request, typ string, body []byte, initDur time.Duration) *Result {
	t := &e.target
	if body == nil {
		var detail string
		switch typ {
		case "Sandbox.Timedout":
			detail = fmt.Sprintf("Task timed out after %.2f seconds", t.Timeout.Seconds())
		case "Runtime.ExitError", "Runtime.OutOfMemory":
			detail = exitMessage(e)
		default:
			detail, typ = typ, "Runtime.InvalidEntrypoint"
		}
		body = runtimeapi.ErrorJSON(typ, "RequestId: "+req.RequestID+" Error: "+detail)
	}
	now := time.Now()
	var lines []byte
	if e.proc != nil {
		e.proc.Drain()
		e.outMu.Lock()
		if e.cur != nil {
			lines = append(lines, e.cur.lines...)
			e.cur.collecting = false
		}
		e.outMu.Unlock()
	}
	start := invocationlog.AppendStart(nil, req.RequestID, t.Version)
	end := invocationlog.AppendEnd(nil, req.RequestID)
	rep := invocationlog.AppendReport(nil, invocationlog.Report{
		RequestID: req.RequestID, Duration: initDur, MemoryMB: t.MemoryMB, MaxMemoryMB: maxMemMB(e),
		Status: "error", ErrorType: typ,
	})
	e.appendLog(now, req.RequestID, start, end, rep)
	lines = appendLines(lines, start, end, rep)
	if e.proc != nil {
		p.kill(e, "failure")
		p.releaseSlot(e)
	} else {
		p.mu.Lock()
		p.inflight--
		p.fnInflight[t.FunctionName]--
		p.mu.Unlock()
	}
	p.count(t.FunctionName, true, false)
	return &Result{
		RequestID: req.RequestID, Payload: body, FunctionError: "Unhandled", ErrorType: typ,
		ContentType: "application/json", ColdStart: true, InitDuration: initDur, Log: lines,
	}
}

func (p *Pool) count(fn string, failed, timedOut bool) {
	if !failed && !timedOut {
		return
	}
	p.mu.Lock()
	c := p.countersLocked(fn)
	if failed {
		c.errors++
	}
	if timedOut {
		c.timeouts++
	}
	p.mu.Unlock()
}

func appendLines(b []byte, lines ...[]byte) []byte {
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}

func maxMemMB(e *env) int {
	if e.proc == nil {
		return 0
	}
	mb := int((e.proc.MaxRSS() + (1<<20 - 1)) >> 20)
	if mb > e.target.MemoryMB {
		mb = e.target.MemoryMB
	}
	return mb
}

// Close stops accepting invocations, lets running ones finish until ctx ends, then kills every
// environment and waits for them to be gone.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for _, fs := range p.fns {
		for e := range fs.envs {
			if !e.busy {
				p.killLocked(e, "spindown")
			}
		}
	}
	p.mu.Unlock()
	close(p.stop)
	<-p.reapDone
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		p.mu.Lock()
		n := p.inflight
		p.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			err = fmt.Errorf("pool: close: %w", ctx.Err())
			break wait
		case <-tick.C:
		}
	}
	close(p.abandon)
	p.mu.Lock()
	for _, fs := range p.fns {
		for e := range fs.envs {
			p.killLocked(e, "spindown")
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.removeStale()
	return err
}

// reap kills environments idle for longer than IdleTimeout.
func (p *Pool) reap() {
	defer close(p.reapDone)
	every := p.cfg.IdleTimeout / 4
	every = max(every, 50*time.Millisecond)
	every = min(every, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.expireStaged(now, p.cfg.IdleTimeout)
			p.mu.Lock()
			for _, fs := range p.fns {
				for _, e := range append([]*env(nil), fs.idle...) {
					if now.Sub(e.lastUsed) > p.cfg.IdleTimeout {
						p.killLocked(e, "spindown")
					}
				}
			}
			p.mu.Unlock()
		}
	}
}

// Stats returns a snapshot of concurrency and counters per function.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Environments being killed are not counted: they run nothing and are gone once their
	// process has exited.
	s := Stats{Inflight: p.inflight, Functions: map[string]FunctionStats{}}
	for name, c := range p.counters {
		s.Functions[name] = FunctionStats{
			Inflight: p.fnInflight[name], ColdStarts: c.coldStarts, Invocations: c.invocations,
			Throttles: c.throttles, Errors: c.errors, Timeouts: c.timeouts,
		}
	}
	for k, fs := range p.fns {
		f := s.Functions[k.name]
		for e := range fs.envs {
			if !e.killed && !e.dead {
				f.Environments++
				s.Environments++
			}
		}
		f.Idle += len(fs.idle)
		s.Functions[k.name] = f
	}
	return s
}

var _ io.Closer = (*streamBody)(nil)
