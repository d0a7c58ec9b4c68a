package pool

// Initialisation: a cold start brings a new environment's runtime up to its first /next,
// retries a failed init once inside the invocation, and turns a failure into the Result.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/runtimeapi"
)

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
	p.sched.kill(e.slot, "failure")
	e2 := &env{
		p: p, target: e.target, id: newEnvID(),
		ready: make(chan struct{}), initFailed: make(chan struct{}), stream: e.stream,
	}
	p.sched.replace(e.slot, func(s *slot) instance { e2.slot = s; return e2 })
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
			p.sched.initDone(e.slot)
		}
	}()
	if err := e.start(ctx); err != nil {
		var ee *EntrypointError
		if !errors.As(err, &ee) {
			p.log.Error("pool: start environment", "function", e.target.FunctionName, "err", err)
			ee = &EntrypointError{Runtime: e.target.Runtime, Reason: err.Error()}
		}
		if e.srv != nil && e.proc == nil {
			e.srv.Close()
		}
		_ = os.RemoveAll(e.dir)
		p.sched.gone(e.slot)
		return initEntrypoint, ee.Reason
	}
	p.wg.Add(1)
	go p.watch(e)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-e.ready:
		p.sched.readied(e.slot, e.copyDuration+e.initDuration)
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
			defer p.sched.initDone(e.slot)
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			select {
			case <-e.ready:
				p.sched.release(e.slot, true)
				return
			case <-e.initFailed:
			case <-e.proc.Exited():
			case <-t.C:
			case <-p.abandon:
			}
			p.sched.kill(e.slot, "failure")
			p.sched.releaseSlot(e.slot)
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
		p.sched.kill(e.slot, "failure")
	}
	p.sched.releaseSlot(e.slot)
	p.sched.count(t.FunctionName, true, false)
	return &Result{
		RequestID: req.RequestID, Payload: body, FunctionError: "Unhandled", ErrorType: typ,
		ContentType: "application/json", ColdStart: true, InitDuration: initDur, Log: lines,
	}
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
