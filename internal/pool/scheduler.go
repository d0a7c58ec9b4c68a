package pool

// Scheduling: which environment an invocation runs on. Admission against reserved and
// account concurrency, warm reuse, waiting for a busy environment instead of a cold start,
// init slots, draining on a new ConfigKey, eviction, and handing environments back.

import (
	"context"
	"fmt"
	"time"
)

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

// releaseSlot gives back an invocation slot held by an environment that was replaced.
func (p *Pool) releaseSlot(e *env) {
	p.mu.Lock()
	p.inflight--
	p.fnInflight[e.target.FunctionName]--
	e.busy = false
	p.mu.Unlock()
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
