package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/runtimeapi"
)

var emptyEvent = []byte("{}")

type awaitKind int

const (
	awaitDone awaitKind = iota
	awaitTimeout
	awaitExited
	awaitCancelled
	awaitNotTaken  // the runtime never took the event (no /next by the deadline, or it is gone)
	awaitWithdrawn // cancelled before the runtime took the event
)

// run dispatches req to the (initialised) environment e and waits for the outcome. retry says
// the environment died before it took the event, so the caller may try another one.
func (p *Pool) run(ctx context.Context, e *env, req *Request, deadline time.Time) (*Result, bool, error) {
	t := &e.target
	cold := e.fresh
	now := time.Now()
	if deadline.IsZero() {
		deadline = now.Add(t.Timeout)
	}
	inv := &runtimeapi.Invocation{
		RequestID:       req.RequestID,
		Payload:         req.Payload,
		Deadline:        deadline,
		FunctionARN:     req.InvokedFunctionARN,
		TraceID:         req.TraceID,
		ClientContext:   req.ClientContext,
		CognitoIdentity: req.CognitoIdentity,
		AllowStream:     req.Streaming,
	}
	if len(inv.Payload) == 0 {
		inv.Payload = emptyEvent
	}
	if inv.FunctionARN == "" {
		inv.FunctionARN = t.FunctionARN
	}
	if inv.TraceID == "" {
		inv.TraceID = newTraceID(now)
	}
	e.begin(req.RequestID, cold)
	e.proc.Active()
	if err := e.srv.Offer(inv); err != nil {
		// The environment is gone.
		p.sched.release(e.slot, false)
		return nil, true, nil
	}
	dispatched := now
	res := &Result{RequestID: req.RequestID, ColdStart: cold}
	if cold {
		res.InitDuration = e.initDuration
	}
	k := p.await(ctx.Done(), e, inv, deadline)
	switch k {
	case awaitNotTaken:
		// Never dispatched: the environment died or hangs after its last response.
		p.sched.release(e.slot, false)
		return nil, true, nil
	case awaitWithdrawn:
		p.sched.release(e.slot, true)
		return nil, false, fmt.Errorf("pool: invoke: %w", ctx.Err())
	case awaitCancelled:
		// The caller went away: the invocation still runs to its end (or its timeout) in the
		// background, and only then is the environment reused or destroyed.
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			k := p.await(nil, e, inv, deadline)
			if r := p.finish(e, inv, k, res, dispatched); r.Stream != nil {
				_ = r.Stream.Close()
			}
		}()
		return nil, false, fmt.Errorf("pool: invoke: %w", ctx.Err())
	}
	return p.finish(e, inv, k, res, dispatched), false, nil
}

// await waits for inv's outcome. The deadline, the environment's end and cancel first try to
// withdraw the event, which succeeds only while no /next has taken it (awaitNotTaken,
// awaitWithdrawn); then they fail the invocation. The event being taken wakes nobody.
func (p *Pool) await(cancel <-chan struct{}, e *env, inv *runtimeapi.Invocation, deadline time.Time) awaitKind {
	d := time.Until(deadline)
	if e.timer == nil {
		e.timer = time.NewTimer(d)
	} else {
		e.timer.Reset(d)
	}
	defer e.timer.Stop()
	withdrawn := func() bool { return e.srv.Withdraw(inv) }
	select {
	case <-inv.Done():
		return awaitDone
	case <-e.timer.C:
		if withdrawn() {
			return awaitNotTaken
		}
		select {
		case <-inv.Done():
			return awaitDone
		default:
		}
		return awaitTimeout
	case <-e.proc.Exited():
		if withdrawn() {
			return awaitNotTaken
		}
		select {
		case <-inv.Done():
			return awaitDone
		default:
		}
		return awaitExited
	case <-cancel:
		if withdrawn() {
			return awaitWithdrawn
		}
		return awaitCancelled
	}
}

// finish turns the outcome into the Result, writes END/REPORT and releases the environment.
func (p *Pool) finish(e *env, inv *runtimeapi.Invocation, k awaitKind, res *Result, dispatched time.Time) *Result {
	t := &e.target
	rep := invocationlog.Report{RequestID: res.RequestID, MemoryMB: t.MemoryMB, InitDuration: res.InitDuration}
	switch k {
	case awaitDone:
		o := inv.Outcome()
		if o.Stream != nil {
			return p.streamResult(e, inv, o, res, dispatched)
		}
		res.Payload, res.ContentType = o.Payload, o.ContentType
		if o.Kind != runtimeapi.OutcomeResponse {
			res.FunctionError, res.ErrorType = "Unhandled", o.ErrorType
		}
		if o.Kind == runtimeapi.OutcomePlatformError {
			rep.Status, rep.ErrorType = "error", o.ErrorType
		}
		res.Duration = time.Since(dispatched)
		rep.Duration = res.Duration
		rep.MaxMemoryMB = maxMemMB(e)
		res.Log = e.end(res.RequestID, rep)
		p.sched.count(t.FunctionName, res.FunctionError != "", false)
		p.sched.release(e.slot, true)
	case awaitTimeout:
		p.sched.kill(e.slot, "timeout")
		now := time.Now()
		res.Duration = now.Sub(dispatched)
		res.FunctionError, res.ErrorType, res.ContentType = "Unhandled", "Sandbox.Timedout", "application/json"
		res.Payload = runtimeapi.ErrorJSON("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", res.RequestID, t.Timeout.Seconds()))
		rep.Duration, rep.Status = res.Duration, "timeout"
		rep.MaxMemoryMB = maxMemMB(e)
		res.Log = e.end(res.RequestID, rep, invocationlog.AppendTimedOut(nil, now, res.RequestID, t.Timeout))
		p.sched.count(t.FunctionName, true, true)
		p.sched.release(e.slot, false)
	case awaitExited:
		typ := exitType(e)
		res.Duration = time.Since(dispatched)
		res.FunctionError, res.ErrorType, res.ContentType = "Unhandled", typ, "application/json"
		res.Payload = runtimeapi.ErrorJSON(typ, "RequestId: "+res.RequestID+" Error: "+exitMessage(e))
		rep.Duration, rep.Status, rep.ErrorType = res.Duration, "error", typ
		rep.MaxMemoryMB = maxMemMB(e)
		if typ == "Runtime.OutOfMemory" {
			rep.MaxMemoryMB = t.MemoryMB
		}
		res.Log = e.end(res.RequestID, rep)
		p.sched.count(t.FunctionName, true, false)
		p.sched.release(e.slot, false)
	}
	return res
}

// begin opens the invocation's log: the START line, after the init output on a cold start.
func (e *env) begin(reqID string, cold bool) {
	start := invocationlog.AppendStart(make([]byte, 0, 96), reqID, e.target.Version)
	now := time.Now()
	e.outMu.Lock()
	var lines []byte
	if cold && e.cur != nil {
		lines = e.cur.lines
	}
	lines = append(lines, start...)
	lines = append(lines, '\n')
	e.cur = &invLog{requestID: reqID, lines: lines, collecting: true}
	e.outMu.Unlock()
	e.appendLog(now, reqID, start)
}

// end closes the invocation's log: output written so far, extra platform lines, END, REPORT.
// It returns the invocation's lines for Result.Log.
func (e *env) end(reqID string, rep invocationlog.Report, extra ...[]byte) []byte {
	e.proc.Drain()
	now := time.Now()
	e.outMu.Lock()
	var lines []byte
	if c := e.cur; c != nil {
		lines = c.lines
		c.lines = nil
		c.collecting = false
	}
	e.outMu.Unlock()
	msgs := append(extra, invocationlog.AppendEnd(nil, reqID), invocationlog.AppendReport(nil, rep))
	e.appendLog(now, reqID, msgs...)
	return appendLines(lines, msgs...)
}

// streamBody is Result.Stream: it converts stream errors and releases the environment on Close.
type streamBody struct {
	p         *Pool
	e         *env
	inv       *runtimeapi.Invocation
	r         io.ReadCloser
	closeOnce sync.Once
	closed    chan struct{}
	released  chan struct{}
	sawEnd    atomic.Bool // the reader got EOF or the stream's error: the body is complete
}

func (p *Pool) streamResult(e *env, inv *runtimeapi.Invocation, o runtimeapi.Outcome, res *Result, dispatched time.Time) *Result {
	sb := &streamBody{p: p, e: e, inv: inv, r: o.Stream, closed: make(chan struct{}), released: make(chan struct{})}
	res.Stream, res.ContentType = sb, o.ContentType
	p.wg.Add(1)
	go sb.watch(res, dispatched, inv.Deadline)
	return res
}

// watch ends a streamed invocation: when the runtime finishes the body, times out, dies, or the
// caller closes early (the environment is then destroyed: it is still mid-invoke).
func (sb *streamBody) watch(res *Result, dispatched, deadline time.Time) {
	defer sb.p.wg.Done()
	defer close(sb.released)
	e, inv, t := sb.e, sb.inv, &sb.e.target
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	rep := invocationlog.Report{RequestID: res.RequestID, MemoryMB: t.MemoryMB, InitDuration: res.InitDuration}
	var extra [][]byte
	reuse := true
	select {
	case <-inv.StreamDone():
	case <-timer.C:
		select {
		case <-inv.StreamDone():
		default:
			sb.p.sched.kill(e.slot, "timeout")
			now := time.Now()
			inv.Abort(&runtimeapi.StreamError{Type: "Sandbox.Timedout", Body: runtimeapi.ErrorJSON("Sandbox.Timedout",
				fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", res.RequestID, t.Timeout.Seconds()))})
			rep.Status, reuse = "timeout", false
			extra = append(extra, invocationlog.AppendTimedOut(nil, now, res.RequestID, t.Timeout))
			sb.p.sched.count(t.FunctionName, true, true)
		}
	case <-e.proc.Exited():
		select {
		case <-inv.StreamDone():
		default:
			typ := exitType(e)
			inv.Abort(&runtimeapi.StreamError{Type: typ, Body: runtimeapi.ErrorJSON(typ, "RequestId: "+res.RequestID+" Error: "+exitMessage(e))})
			rep.Status, rep.ErrorType, reuse = "error", typ, false
			sb.p.sched.count(t.FunctionName, true, false)
		}
	case <-sb.closed:
		if sb.sawEnd.Load() {
			// The runtime has sent the whole body; its request is about to complete.
			select {
			case <-inv.StreamDone():
			case <-timer.C:
			case <-e.proc.Exited():
			}
		}
		select {
		case <-inv.StreamDone():
		default:
			sb.p.sched.kill(e.slot, "failure")
			inv.Abort(io.ErrClosedPipe)
			reuse = false
		}
	}
	res.Duration = time.Since(dispatched)
	rep.Duration = res.Duration
	rep.MaxMemoryMB = maxMemMB(e)
	res.Log = e.end(res.RequestID, rep, extra...)
	select {
	case <-sb.closed:
	case <-sb.p.abandon: // the pool is shutting down and the caller never closed the stream
		reuse = false
	}
	sb.p.sched.release(e.slot, reuse)
}

// Read implements io.Reader; a function error in the trailers comes back as a *StreamError.
func (sb *streamBody) Read(b []byte) (int, error) {
	n, err := sb.r.Read(b)
	if err != nil {
		select {
		case <-sb.closed: // the error comes from Close, not from the end of the body
		default:
			sb.sawEnd.Store(true)
		}
	}
	if err != nil && err != io.EOF {
		var se *runtimeapi.StreamError
		if errors.As(err, &se) {
			return n, &StreamError{Type: se.Type, Body: se.Body}
		}
	}
	return n, err
}

// Close releases the environment (destroying it if the stream was not finished) and returns
// once the invocation's log is complete.
func (sb *streamBody) Close() error {
	sb.closeOnce.Do(func() {
		close(sb.closed)
		_ = sb.r.Close()
	})
	<-sb.released
	return nil
}
