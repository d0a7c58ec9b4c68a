package pool

// Scheduling: which environment an invocation runs on. Admission against reserved and
// account concurrency, warm reuse, waiting for a busy environment instead of a cold start,
// init slots, draining on a new ConfigKey, eviction, idle expiry, and handing environments
// back. The scheduler knows environments only through the starter and instance interfaces, so
// its rules are tested without processes (scheduler_test.go).

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// starter makes the environments the scheduler places invocations on: the seam between
// scheduling and runtime processes. The pool's (Pool.newEnv) makes an env whose runtime
// initialisation starts (init.go); the scheduler's tests make in-process ones.
type starter interface {
	// newEnv returns the environment of the new slot s for t, not started yet. The scheduler's
	// lock is held: it must not block. (t is a copy: a pointer would make every caller's
	// Target escape to the heap, an allocation per invocation.)
	newEnv(s *slot, t Target) instance
}

// instance is an environment as the scheduler sees it.
type instance interface {
	// stop begins tearing the environment down, if it was started (reason: spindown, timeout,
	// failure). Once it has ended, its owner calls scheduler.gone. The scheduler's lock is held:
	// it must not block.
	stop(reason string)
}

// slot is the scheduler's record of one environment; env embeds it. Its fields are guarded by
// scheduler.mu, except permit.
type slot struct {
	inst      instance
	fs        *fnState
	configKey string
	busy      bool
	draining  bool
	dead      bool
	killed    bool
	fresh     bool // not yet used for an invocation (its first invoke is a cold start)
	// permit: the environment holds an init slot (scheduler.initSem) until its init ends; owned
	// by the goroutine running the init.
	permit   bool
	lastUsed time.Time
	// retireAt, when set, is when the environment stops taking invocations and is stopped
	// once idle: its execution role credentials could expire during one started later.
	retireAt time.Time
}

// retiring says s must not start an invocation at now (see slot.retireAt).
func (s *slot) retiring(now time.Time) bool { return !s.retireAt.IsZero() && !now.Before(s.retireAt) }

type fnKey struct{ name, version string }

// fnState is one function version's environments.
type fnState struct {
	key       fnKey
	configKey string
	idle      []*slot // most recently used last
	envs      map[*slot]struct{}
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
	ch chan *slot
	// timed: it may start a new environment only after the wait (some environment is busy);
	// otherwise as soon as an init slot is free.
	timed bool
}

type counters struct {
	coldStarts, invocations, throttles, errors, timeouts uint64
}

// scheduler holds every function version's environments and the concurrency accounting.
type scheduler struct {
	cfg  Config // with defaults applied (New)
	envs starter
	now  func() time.Time

	mu         sync.Mutex
	fns        map[fnKey]*fnState
	inflight   int
	fnInflight map[string]int
	counters   map[string]*counters
	envCount   int
	peak       int // most invocations in flight since the last peakInflight
	closed     bool

	initSem chan struct{} // one token per environment initialising (Config.MaxConcurrentInits)
}

func newScheduler(cfg Config, envs starter) *scheduler {
	return &scheduler{
		cfg: cfg, envs: envs, now: time.Now,
		fns:        map[fnKey]*fnState{},
		fnInflight: map[string]int{},
		counters:   map[string]*counters{},
		initSem:    make(chan struct{}, cfg.MaxConcurrentInits),
	}
}

// lease gives an invocation of t an environment: an idle one, a busy one released while it
// waits, or a new one (cold: not started yet, holding an init slot). It holds the invocation's
// concurrency slot until release (or releaseSlot). Throttling is a *ThrottleError.
func (sc *scheduler) lease(ctx context.Context, t *Target) (*slot, bool, error) {
	s, cold, w, err := sc.acquire(t)
	if err != nil || w == nil {
		return s, cold, err
	}
	return sc.await(ctx, t, w)
}

// acquire takes an idle environment of t or reserves a slot for a new one (cold is then true and
// the environment is not started yet). When every environment is busy it may instead return a
// waiter (with the slot reserved) for await.
func (sc *scheduler) acquire(t *Target) (*slot, bool, *waiter, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return nil, false, nil, ErrClosed
	}
	c := sc.countersLocked(t.FunctionName)
	if rc := t.ReservedConcurrency; rc != nil && sc.fnInflight[t.FunctionName] >= *rc {
		c.throttles++
		return nil, false, nil, &ThrottleError{Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
	}
	if sc.inflight >= sc.cfg.MaxConcurrency {
		c.throttles++
		return nil, false, nil, &ThrottleError{Reason: "ConcurrentInvocationLimitExceeded"}
	}
	fs := sc.fnLocked(t)
	sc.inflight++
	sc.notePeakLocked()
	sc.fnInflight[t.FunctionName]++
	c.invocations++
	stale := t.ConfigKey != fs.configKey
	for n := len(fs.idle); n > 0 && !stale; n = len(fs.idle) {
		s := fs.idle[n-1]
		fs.idle = fs.idle[:n-1]
		if s.dead || s.killed {
			continue
		}
		if s.retiring(sc.now()) {
			sc.killLocked(s, "spindown")
			continue
		}
		s.busy = true
		return s, false, nil, nil
	}
	timed := !stale && sc.cfg.ColdStartWait > 0 && sc.busyLocked(fs) >= sc.cfg.ColdStartWaitFrom
	if !timed {
		select {
		case sc.initSem <- struct{}{}:
			return sc.newSlotLocked(fs, t, stale), true, nil, nil
		default:
		}
	}
	w := &waiter{ch: make(chan *slot, 1), timed: timed}
	fs.waiters = append(fs.waiters, w)
	return nil, false, w, nil
}

func (sc *scheduler) notePeakLocked() { sc.peak = max(sc.peak, sc.inflight) }

// peakInflight returns the most invocations in flight at once since its previous call (at
// least those in flight now).
func (sc *scheduler) peakInflight() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	peak := max(sc.peak, sc.inflight)
	sc.peak = sc.inflight
	return peak
}

// busyLocked counts fs's live environments that run (or start for) an invocation of the
// current configuration: the ones a waiting request may get.
func (sc *scheduler) busyLocked(fs *fnState) int {
	n := 0
	for s := range fs.envs {
		if s.busy && !s.killed && !s.dead && !s.draining && s.configKey == fs.configKey {
			n++
		}
	}
	return n
}

// await waits for a released environment or, after the wait (see Config.ColdStartWait) and
// once an init slot is free, reserves a new one. The waiter already holds an invocation slot.
func (sc *scheduler) await(ctx context.Context, t *Target, w *waiter) (*slot, bool, error) {
	var timerC <-chan time.Time
	if w.timed {
		sc.mu.Lock()
		wait := max(sc.cfg.ColdStartWait, min(sc.fnLocked(t).lastColdStart, maxColdStartWait))
		sc.mu.Unlock()
		timer := time.NewTimer(wait)
		defer timer.Stop()
		timerC = timer.C
	}
	var sem chan struct{}
	if !w.timed {
		sem = sc.initSem
	}
	for {
		select {
		case s := <-w.ch:
			return s, false, nil
		case <-timerC:
			timerC, sem = nil, sc.initSem
			continue
		case sem <- struct{}{}:
			sc.mu.Lock()
			fs := sc.fnLocked(t)
			if !removeWaiter(fs, w) {
				sc.mu.Unlock()
				<-sc.initSem
				return <-w.ch, false, nil
			}
			if sc.closed {
				sc.inflight--
				sc.fnInflight[t.FunctionName]--
				sc.mu.Unlock()
				<-sc.initSem
				return nil, false, ErrClosed
			}
			s := sc.newSlotLocked(fs, t, t.ConfigKey != fs.configKey)
			sc.mu.Unlock()
			return s, true, nil
		case <-ctx.Done():
		}
		break
	}
	sc.mu.Lock()
	fs := sc.fnLocked(t)
	if !removeWaiter(fs, w) {
		// release handed an environment over meanwhile.
		sc.mu.Unlock()
		sc.release(<-w.ch, true)
		return nil, false, fmt.Errorf("pool: invoke: %w", ctx.Err())
	}
	sc.inflight--
	sc.fnInflight[t.FunctionName]--
	sc.mu.Unlock()
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

// newSlotLocked registers a new (not yet started) environment for an invocation whose slot is
// already reserved and which holds an init slot.
func (sc *scheduler) newSlotLocked(fs *fnState, t *Target, stale bool) *slot {
	c := sc.countersLocked(t.FunctionName)
	s := &slot{fs: fs, configKey: t.ConfigKey, busy: true, fresh: true, draining: stale, permit: true}
	s.inst = sc.envs.newEnv(s, *t)
	fs.envs[s] = struct{}{}
	sc.envCount++
	c.coldStarts++
	if sc.envCount > sc.cfg.MaxConcurrency {
		sc.evictIdleLocked()
	}
	return s
}

// replace registers a new environment (made by mk) in old's place for the same invocation: old
// gives back its invocation slot (see releaseSlot), the new one holds it. It does not count as
// a cold start and takes no init slot (the suppressed init's retry).
func (sc *scheduler) replace(old *slot, mk func(*slot) instance) *slot {
	sc.mu.Lock()
	s := &slot{fs: old.fs, configKey: old.configKey, busy: true, fresh: true}
	s.inst = mk(s)
	old.fs.envs[s] = struct{}{}
	sc.envCount++
	sc.inflight++ // old's slot is released below
	sc.notePeakLocked()
	sc.fnInflight[old.fs.key.name]++
	sc.mu.Unlock()
	sc.releaseSlot(old)
	return s
}

func (sc *scheduler) countersLocked(name string) *counters {
	c := sc.counters[name]
	if c == nil {
		c = &counters{}
		sc.counters[name] = c
	}
	return c
}

// fnLocked returns t's function state; a new ConfigKey drains the old environments.
func (sc *scheduler) fnLocked(t *Target) *fnState {
	k := fnKey{t.FunctionName, t.Version}
	fs := sc.fns[k]
	if fs == nil {
		fs = &fnState{key: k, configKey: t.ConfigKey, envs: map[*slot]struct{}{}}
		sc.fns[k] = fs
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
		sc.drainLocked(fs)
	}
	return fs
}

// drainLocked kills the idle environments of fs and marks the busy ones to die when released.
func (sc *scheduler) drainLocked(fs *fnState) {
	for s := range fs.envs {
		s.draining = true
		if !s.busy {
			sc.killLocked(s, "spindown")
		}
	}
	fs.idle = fs.idle[:0]
}

// drain retires every environment of the function (all versions when version is ""): idle ones
// die now, busy ones after their current invocation.
func (sc *scheduler) drain(functionName, version string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for k, fs := range sc.fns {
		if k.name == functionName && (version == "" || k.version == version) {
			sc.drainLocked(fs)
		}
	}
}

func (sc *scheduler) evictIdleLocked() {
	var oldest *slot
	for _, fs := range sc.fns {
		for _, s := range fs.idle {
			if !s.dead && !s.killed && (oldest == nil || s.lastUsed.Before(oldest.lastUsed)) {
				oldest = s
			}
		}
	}
	if oldest != nil {
		sc.killLocked(oldest, "spindown")
	}
}

// killLocked starts killing s; its owner reports the end (gone) once the environment is gone.
func (sc *scheduler) killLocked(s *slot, reason string) {
	if s.killed {
		return
	}
	s.killed = true
	removeIdle(s)
	s.inst.stop(reason)
}

func removeIdle(s *slot) {
	fs := s.fs
	for i, x := range fs.idle {
		if x == s {
			fs.idle = append(fs.idle[:i], fs.idle[i+1:]...)
			return
		}
	}
}

// kill is killLocked for callers without the lock.
func (sc *scheduler) kill(s *slot, reason string) {
	sc.mu.Lock()
	sc.killLocked(s, reason)
	sc.mu.Unlock()
}

// release ends an invocation's hold on s: to the oldest waiting request or back to the idle
// list if reuse, else killed.
func (sc *scheduler) release(s *slot, reuse bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.inflight--
	sc.fnInflight[s.fs.key.name]--
	s.busy = false
	s.fresh = false
	if !reuse || s.draining || s.dead || sc.closed || s.configKey != s.fs.configKey || s.retiring(sc.now()) {
		sc.killLocked(s, "spindown")
		return
	}
	if s.killed {
		return
	}
	s.lastUsed = sc.now()
	if fs := s.fs; len(fs.waiters) > 0 {
		// Straight to the oldest waiting request: its slot is already counted.
		w := fs.waiters[0]
		fs.waiters = fs.waiters[1:]
		s.busy = true
		w.ch <- s
		return
	}
	s.fs.idle = append(s.fs.idle, s)
}

// releaseSlot gives back an invocation slot held by an environment that failed or was replaced.
func (sc *scheduler) releaseSlot(s *slot) {
	sc.mu.Lock()
	sc.inflight--
	sc.fnInflight[s.fs.key.name]--
	s.busy = false
	sc.mu.Unlock()
}

// initDone gives back s's init slot, if it holds one.
func (sc *scheduler) initDone(s *slot) {
	if s.permit {
		s.permit = false
		<-sc.initSem
	}
}

// readied records a successful cold start's duration (copy + init), the basis of the wait for
// a busy environment (Config.ColdStartWait).
func (sc *scheduler) readied(s *slot, d time.Duration) {
	sc.mu.Lock()
	s.fs.lastColdStart = d
	sc.mu.Unlock()
}

// retire sets when s stops taking invocations (slot.retireAt).
func (sc *scheduler) retire(s *slot, at time.Time) {
	sc.mu.Lock()
	s.retireAt = at
	sc.mu.Unlock()
}

// gone forgets an environment that has ended (or never started).
func (sc *scheduler) gone(s *slot) {
	sc.mu.Lock()
	s.dead = true
	removeIdle(s)
	delete(s.fs.envs, s)
	sc.envCount--
	sc.mu.Unlock()
}

// expireIdle kills the environments idle for longer than Config.IdleTimeout at now, and idle
// ones retiring (slot.retireAt).
func (sc *scheduler) expireIdle(now time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, fs := range sc.fns {
		for _, s := range append([]*slot(nil), fs.idle...) {
			if now.Sub(s.lastUsed) > sc.cfg.IdleTimeout || s.retiring(now) {
				sc.killLocked(s, "spindown")
			}
		}
	}
}

func (sc *scheduler) count(fn string, failed, timedOut bool) {
	if !failed && !timedOut {
		return
	}
	sc.mu.Lock()
	c := sc.countersLocked(fn)
	if failed {
		c.errors++
	}
	if timedOut {
		c.timeouts++
	}
	sc.mu.Unlock()
}

// open runs f under the lock unless the scheduler is closed, and says whether it ran.
func (sc *scheduler) open(f func()) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return false
	}
	if f != nil {
		f()
	}
	return true
}

// close refuses new invocations and kills the idle environments; false if already closed.
func (sc *scheduler) close() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return false
	}
	sc.closed = true
	for _, fs := range sc.fns {
		for s := range fs.envs {
			if !s.busy {
				sc.killLocked(s, "spindown")
			}
		}
	}
	return true
}

// inflightNow is the number of invocations holding a concurrency slot.
func (sc *scheduler) inflightNow() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.inflight
}

// killAll kills every environment, busy or not.
func (sc *scheduler) killAll() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, fs := range sc.fns {
		for s := range fs.envs {
			sc.killLocked(s, "spindown")
		}
	}
}

// stats returns a snapshot of concurrency and counters per function.
func (sc *scheduler) stats() Stats {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	// Environments being killed are not counted: they run nothing and are gone once their
	// process has exited.
	st := Stats{Inflight: sc.inflight, Functions: map[string]FunctionStats{}}
	for name, c := range sc.counters {
		st.Functions[name] = FunctionStats{
			Inflight: sc.fnInflight[name], ColdStarts: c.coldStarts, Invocations: c.invocations,
			Throttles: c.throttles, Errors: c.errors, Timeouts: c.timeouts,
		}
	}
	for k, fs := range sc.fns {
		f := st.Functions[k.name]
		for s := range fs.envs {
			if !s.killed && !s.dead {
				f.Environments++
				st.Environments++
			}
		}
		f.Idle += len(fs.idle)
		st.Functions[k.name] = f
	}
	return st
}
