package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeEnvs is an in-process starter: its environments come up when the test finishes their
// init, run one invocation at a time, and end on their own goroutine after stop, reporting it
// to the scheduler as a runtime's watcher does.
type fakeEnvs struct {
	sc *scheduler

	mu      sync.Mutex
	n       map[string]int
	stopped []string // in stop order: "f#1 spindown"
	all     []*fakeEnv
}

type fakeEnv struct {
	name    string
	s       *slot
	f       *fakeEnvs
	stopped chan struct{}
	ended   chan struct{}
	running bool // an invocation holds it (set and cleared by the harness)
}

func (f *fakeEnvs) newEnv(s *slot, t Target) instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[t.FunctionName]++
	e := &fakeEnv{name: fmt.Sprintf("%s#%d", t.FunctionName, f.n[t.FunctionName]), s: s, f: f,
		stopped: make(chan struct{}), ended: make(chan struct{})}
	f.all = append(f.all, e)
	go func() {
		<-e.stopped
		f.sc.gone(e.s)
		close(e.ended)
	}()
	return e
}

// stop ends the environment on its own goroutine, as a runtime's watcher reports its process's
// end; the fake keeps the order of ends for the test's expectations.
func (e *fakeEnv) stop(reason string) {
	e.f.mu.Lock()
	e.f.stopped = append(e.f.stopped, e.name+" "+reason)
	e.f.mu.Unlock()
	close(e.stopped)
}

func nameOf(s *slot) string { return s.inst.(*fakeEnv).name }

// step is one thing that happens to the scheduler. Invocations are named by the test (inv);
// environments by the fake: "<function>#<n>" in creation order.
type step struct {
	op string
	// invoke: acquire an environment for inv (want: "cold f#1", "warm f#1", "wait",
	//   "throttled <Reason>", "closed"); a cold environment's init finishes at once unless initing.
	// got: the waiting inv's outcome ("warm f#1", "cold f#2", "cancelled", "closed").
	// cancel: inv's caller goes away.
	// ready: inv's pending init finishes.
	// done / crash: inv ends; its environment is reused / destroyed.
	// tick: the clock moves by d; then idle environments past IdleTimeout are reaped.
	// drain: every environment of fn is retired (Pool.Drain).
	// close: the pool closes.
	inv      string
	fn       string // default "f"
	key      string // ConfigKey; default "v1"
	reserved *int
	initing  bool
	d        time.Duration
	want     string
	// After the step (when set): the idle environments per function, most recently used last
	// ("f: f#1 f#2; g: g#1"), and the environments stopped so far ("f#1 spindown, ...").
	idle    *string
	stopped *string
}

func ptr[T any](v T) *T { return &v }

type fakeInv struct {
	t       Target
	s       *slot
	initing bool
	res     chan string
	cancel  context.CancelFunc
}

type schedHarness struct {
	t     *testing.T
	sc    *scheduler
	envs  *fakeEnvs
	clock time.Time
	invs  map[string]*fakeInv
}

func newSchedHarness(t *testing.T, cfg Config) *schedHarness {
	if cfg.MaxConcurrency == 0 {
		cfg.MaxConcurrency = 1000
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = time.Minute
	}
	if cfg.ColdStartWait == 0 {
		cfg.ColdStartWait = time.Hour // a waiting request gets a released environment, never a timeout
	}
	if cfg.ColdStartWaitFrom == 0 {
		cfg.ColdStartWaitFrom = 2
	}
	if cfg.MaxConcurrentInits == 0 {
		cfg.MaxConcurrentInits = 4
	}
	h := &schedHarness{t: t, envs: &fakeEnvs{}, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), invs: map[string]*fakeInv{}}
	h.sc = newScheduler(cfg, h.envs)
	h.envs.sc = h.sc
	h.sc.now = func() time.Time { return h.clock }
	t.Cleanup(func() {
		for _, inv := range h.invs {
			if inv.cancel != nil {
				inv.cancel()
			}
		}
		h.sc.close()
		h.sc.killAll()
		for _, e := range h.envs.all {
			select {
			case <-e.ended:
			case <-time.After(time.Minute):
				t.Errorf("environment %s never ended", e.name)
			}
		}
	})
	return h
}

// outcome describes a lease and takes the environment for inv.
func (h *schedHarness) outcome(inv *fakeInv, s *slot, cold bool, err error) string {
	var te *ThrottleError
	switch {
	case errors.As(err, &te):
		return "throttled " + te.Reason
	case errors.Is(err, ErrClosed):
		return "closed"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case err != nil:
		return "error " + err.Error()
	}
	inv.s = s
	e := s.inst.(*fakeEnv)
	if e.running {
		h.t.Errorf("%s handed out while it runs an invocation", e.name)
	}
	e.running = true
	if cold {
		if s.fs.key.name != inv.t.FunctionName || !s.fresh {
			h.t.Errorf("cold environment %s: function %s fresh %v", e.name, s.fs.key.name, s.fresh)
		}
		if !inv.initing {
			h.initDone(inv)
		}
		return "cold " + e.name
	}
	return "warm " + e.name
}

// initDone is what initialisation does when a runtime reaches /next.
func (h *schedHarness) initDone(inv *fakeInv) {
	h.sc.readied(inv.s, time.Millisecond)
	h.sc.initDone(inv.s)
}

func (h *schedHarness) run(i int, st step) {
	t := h.t
	t.Helper()
	if st.fn == "" {
		st.fn = "f"
	}
	if st.key == "" {
		st.key = "v1"
	}
	what := fmt.Sprintf("step %d (%s %s)", i, st.op, st.inv)
	got := ""
	switch st.op {
	case "invoke":
		inv := &fakeInv{t: Target{FunctionName: st.fn, Version: "$LATEST", ConfigKey: st.key, ReservedConcurrency: st.reserved}, initing: st.initing}
		h.invs[st.inv] = inv
		s, cold, w, err := h.sc.acquire(&inv.t)
		if w == nil {
			got = h.outcome(inv, s, cold, err)
			break
		}
		got = "wait"
		ctx, cancel := context.WithCancel(context.Background())
		inv.cancel, inv.res = cancel, make(chan string, 1)
		go func() {
			s, cold, err := h.sc.await(ctx, &inv.t, w)
			inv.res <- h.outcome(inv, s, cold, err)
		}()
	case "got":
		select {
		case got = <-h.invs[st.inv].res:
		case <-time.After(time.Minute):
			t.Fatalf("%s: still waiting", what)
		}
	case "cancel":
		h.invs[st.inv].cancel()
	case "ready":
		h.initDone(h.invs[st.inv])
	case "done", "crash":
		inv := h.invs[st.inv]
		inv.s.inst.(*fakeEnv).running = false
		h.sc.release(inv.s, st.op == "done")
	case "tick":
		h.clock = h.clock.Add(st.d)
		h.sc.expireIdle(h.clock)
	case "drain":
		h.sc.drain(st.fn, "")
	case "close":
		h.sc.close()
	default:
		t.Fatalf("%s: unknown op", what)
	}
	if got != st.want {
		t.Errorf("%s: got %q, want %q", what, got, st.want)
	}
	if st.idle != nil {
		if diff := cmp.Diff(*st.idle, h.idleString()); diff != "" {
			t.Errorf("%s: idle environments (-want +got):\n%s", what, diff)
		}
	}
	if st.stopped != nil {
		h.envs.mu.Lock()
		s := strings.Join(h.envs.stopped, ", ")
		h.envs.mu.Unlock()
		if diff := cmp.Diff(*st.stopped, s); diff != "" {
			t.Errorf("%s: stopped environments (-want +got):\n%s", what, diff)
		}
	}
}

func (h *schedHarness) idleString() string {
	h.sc.mu.Lock()
	defer h.sc.mu.Unlock()
	var fns []string
	for k, fs := range h.sc.fns {
		if len(fs.idle) == 0 {
			continue
		}
		names := make([]string, len(fs.idle))
		for i, s := range fs.idle {
			names[i] = nameOf(s)
		}
		fns = append(fns, k.name+": "+strings.Join(names, " "))
	}
	slices.Sort(fns)
	return strings.Join(fns, "; ")
}

// TestScheduler runs the scheduling rules against in-process environments: warm reuse, limits
// and throttling, waiting for a busy environment instead of a cold start (burst smoothing), the
// init cap, draining on a new ConfigKey, eviction, idle reaping and close.
func TestScheduler(t *testing.T) {
	const (
		reservedExceeded = "throttled ReservedFunctionConcurrentInvocationLimitExceeded"
		accountExceeded  = "throttled ConcurrentInvocationLimitExceeded"
	)
	tests := []struct {
		name  string
		cfg   Config
		steps []step
		// stats after the last step, for the function "f"
		want *FunctionStats
	}{
		{
			name: "warm reuse takes the most recently used idle environment",
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "done", inv: "a", idle: ptr("f: f#1")},
				{op: "done", inv: "b", idle: ptr("f: f#1 f#2")},
				{op: "invoke", inv: "c", want: "warm f#2", idle: ptr("f: f#1")},
				{op: "invoke", inv: "d", want: "warm f#1", idle: ptr("")},
				{op: "done", inv: "d"},
				{op: "done", inv: "c", idle: ptr("f: f#1 f#2")},
			},
			want: &FunctionStats{Environments: 2, Idle: 2, ColdStarts: 2, Invocations: 4},
		},
		{
			name: "an environment whose invocation failed is destroyed, not reused",
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "crash", inv: "a", idle: ptr(""), stopped: ptr("f#1 spindown")},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "done", inv: "b"},
			},
			want: &FunctionStats{Environments: 1, Idle: 1, ColdStarts: 2, Invocations: 2},
		},
		{
			name: "functions and versions never share environments",
			steps: []step{
				{op: "invoke", inv: "a", fn: "f", want: "cold f#1"},
				{op: "done", inv: "a"},
				{op: "invoke", inv: "b", fn: "g", want: "cold g#1"},
				{op: "done", inv: "b", idle: ptr("f: f#1; g: g#1")},
			},
		},
		{
			name: "reserved concurrency throttles the function beyond it",
			steps: []step{
				{op: "invoke", inv: "a", reserved: ptr(2), want: "cold f#1"},
				{op: "invoke", inv: "b", reserved: ptr(2), want: "cold f#2"},
				{op: "invoke", inv: "c", reserved: ptr(2), want: reservedExceeded},
				{op: "invoke", inv: "g", fn: "g", want: "cold g#1"},
				{op: "done", inv: "a"},
				{op: "invoke", inv: "d", reserved: ptr(2), want: "warm f#1"},
			},
			want: &FunctionStats{Inflight: 2, Environments: 2, ColdStarts: 2, Invocations: 3, Throttles: 1},
		},
		{
			name: "reserved concurrency 0 throttles every invocation",
			steps: []step{
				{op: "invoke", inv: "a", reserved: ptr(0), want: reservedExceeded},
				{op: "invoke", inv: "b", reserved: ptr(0), want: reservedExceeded},
			},
			want: &FunctionStats{Throttles: 2},
		},
		{
			name: "the account limit throttles across functions",
			cfg:  Config{MaxConcurrency: 2},
			steps: []step{
				{op: "invoke", inv: "a", fn: "f", want: "cold f#1"},
				{op: "invoke", inv: "b", fn: "g", want: "cold g#1"},
				{op: "invoke", inv: "c", fn: "f", want: accountExceeded},
				{op: "done", inv: "b"},
				{op: "invoke", inv: "d", fn: "f", want: "cold f#2"},
			},
			want: &FunctionStats{Inflight: 2, Environments: 2, ColdStarts: 2, Invocations: 2, Throttles: 1},
		},
		{
			name: "a waiting request holds its concurrency slot",
			cfg:  Config{MaxConcurrency: 3, ColdStartWaitFrom: 2},
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "invoke", inv: "c", want: "wait"},
				{op: "invoke", inv: "d", want: accountExceeded},
				{op: "done", inv: "a"},
				{op: "got", inv: "c", want: "warm f#1"},
			},
			want: &FunctionStats{Inflight: 2, Environments: 2, ColdStarts: 2, Invocations: 3, Throttles: 1},
		},
		{
			name: "burst: beyond ColdStartWaitFrom busy environments requests wait and get released ones in arrival order",
			cfg:  Config{ColdStartWaitFrom: 2},
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "invoke", inv: "c", want: "wait"},
				{op: "invoke", inv: "d", want: "wait"},
				{op: "done", inv: "b", idle: ptr("")},
				{op: "got", inv: "c", want: "warm f#2"},
				{op: "done", inv: "a"},
				{op: "got", inv: "d", want: "warm f#1"},
			},
			want: &FunctionStats{Inflight: 2, Environments: 2, ColdStarts: 2, Invocations: 4},
		},
		{
			name: "burst: after the wait a waiting request starts a new environment",
			cfg:  Config{ColdStartWaitFrom: 1, ColdStartWait: time.Millisecond},
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "wait"},
				{op: "got", inv: "b", want: "cold f#2"},
			},
			want: &FunctionStats{Inflight: 2, Environments: 2, ColdStarts: 2, Invocations: 2},
		},
		{
			name: "burst: a negative ColdStartWait cold-starts at once",
			cfg:  Config{ColdStartWaitFrom: 1, ColdStartWait: -1},
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "invoke", inv: "c", want: "cold f#3"},
			},
			want: &FunctionStats{Inflight: 3, Environments: 3, ColdStarts: 3, Invocations: 3},
		},
		{
			name: "burst: busy environments of an old ConfigKey do not make a request wait",
			cfg:  Config{ColdStartWaitFrom: 1},
			steps: []step{
				{op: "invoke", inv: "a", key: "v1", want: "cold f#1"},
				{op: "invoke", inv: "b", key: "v2", want: "cold f#2"},
			},
		},
		{
			name: "init cap: a request waits for an init slot, or a released environment, whichever first",
			cfg:  Config{MaxConcurrentInits: 1, ColdStartWaitFrom: 8},
			steps: []step{
				{op: "invoke", inv: "a", initing: true, want: "cold f#1"},
				{op: "invoke", inv: "b", want: "wait"},
				{op: "ready", inv: "a"},
				{op: "got", inv: "b", want: "cold f#2"},
				{op: "invoke", inv: "c", initing: true, want: "cold f#3"},
				{op: "invoke", inv: "d", want: "wait"},
				{op: "done", inv: "a"},
				{op: "got", inv: "d", want: "warm f#1"},
				{op: "ready", inv: "c"},
			},
			want: &FunctionStats{Inflight: 3, Environments: 3, ColdStarts: 3, Invocations: 4},
		},
		{
			name: "a new ConfigKey drains: idle environments die now, busy ones when released",
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "done", inv: "a", idle: ptr("f: f#1")},
				{op: "invoke", inv: "c", key: "v2", want: "cold f#3", idle: ptr(""), stopped: ptr("f#1 spindown")},
				{op: "done", inv: "b", idle: ptr(""), stopped: ptr("f#1 spindown, f#2 spindown")},
				{op: "done", inv: "c", idle: ptr("f: f#3")},
				// A late request with the retired key runs on a one-off environment and leaves
				// the current ones alone.
				{op: "invoke", inv: "d", key: "v1", want: "cold f#4", idle: ptr("f: f#3")},
				{op: "done", inv: "d", idle: ptr("f: f#3"), stopped: ptr("f#1 spindown, f#2 spindown, f#4 spindown")},
				{op: "invoke", inv: "e", key: "v2", want: "warm f#3"},
			},
		},
		{
			name: "drain retires the function's environments",
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "done", inv: "a"},
				{op: "invoke", inv: "g", fn: "g", want: "cold g#1"},
				{op: "done", inv: "g"},
				{op: "drain", fn: "f", idle: ptr("g: g#1"), stopped: ptr("f#1 spindown")},
				{op: "done", inv: "b", stopped: ptr("f#1 spindown, f#2 spindown")},
				{op: "invoke", inv: "c", want: "cold f#3"},
			},
		},
		{
			name: "idle environments are reaped after IdleTimeout, recently used ones kept",
			cfg:  Config{IdleTimeout: time.Minute},
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "done", inv: "a"},
				{op: "tick", d: 30 * time.Second, stopped: ptr("")},
				{op: "done", inv: "b"},
				{op: "tick", d: 31 * time.Second, idle: ptr("f: f#2"), stopped: ptr("f#1 spindown")},
				{op: "invoke", inv: "c", want: "warm f#2"},
				{op: "tick", d: time.Hour, stopped: ptr("f#1 spindown")}, // busy: never reaped
			},
			want: &FunctionStats{Inflight: 1, Environments: 1, ColdStarts: 2, Invocations: 3},
		},
		{
			name: "beyond MaxConcurrency environments the least recently used idle one is evicted",
			cfg:  Config{MaxConcurrency: 2},
			steps: []step{
				{op: "invoke", inv: "a", fn: "f", want: "cold f#1"},
				{op: "done", inv: "a"},
				{op: "tick", d: time.Second},
				{op: "invoke", inv: "b", fn: "g", want: "cold g#1"},
				{op: "done", inv: "b"},
				{op: "invoke", inv: "c", fn: "h", want: "cold h#1", idle: ptr("g: g#1"), stopped: ptr("f#1 spindown")},
			},
		},
		{
			name: "a waiting caller that goes away gives its slot back",
			cfg:  Config{ColdStartWaitFrom: 1},
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "wait"},
				{op: "cancel", inv: "b"},
				{op: "got", inv: "b", want: "cancelled"},
				{op: "done", inv: "a", idle: ptr("f: f#1")},
			},
			want: &FunctionStats{Environments: 1, Idle: 1, ColdStarts: 1, Invocations: 2},
		},
		{
			name: "close refuses new invocations and stops idle environments; busy ones die when released",
			steps: []step{
				{op: "invoke", inv: "a", want: "cold f#1"},
				{op: "invoke", inv: "b", want: "cold f#2"},
				{op: "done", inv: "a"},
				{op: "close", stopped: ptr("f#1 spindown")},
				{op: "invoke", inv: "c", want: "closed"},
				{op: "done", inv: "b", stopped: ptr("f#1 spindown, f#2 spindown")},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newSchedHarness(t, tc.cfg)
			for i, st := range tc.steps {
				h.run(i, st)
			}
			if tc.want == nil {
				return
			}
			got := h.sc.stats().Functions["f"]
			// Environments stopped but not yet gone are not counted; Idle counts the idle list.
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("stats of f (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSchedulerRetiresExpiringCredentials: an environment past its retireAt (its execution role
// credentials could expire during a new invocation) takes no invocation: it is stopped when
// released, when found idle by a request, or by the idle reaper.
func TestSchedulerRetiresExpiringCredentials(t *testing.T) {
	h := newSchedHarness(t, Config{IdleTimeout: time.Hour})
	retire := func(inv string, after time.Duration) { h.sc.retire(h.invs[inv].s, h.clock.Add(after)) }
	for i, st := range []step{
		{op: "invoke", inv: "a", want: "cold f#1"},
		{op: "done", inv: "a", idle: ptr("f: f#1")},
		{op: "invoke", inv: "b", want: "warm f#1"},
	} {
		h.run(i, st)
	}
	retire("b", 10*time.Minute)
	for i, st := range []step{
		{op: "done", inv: "b", idle: ptr("f: f#1")},
		{op: "tick", d: 5 * time.Minute, idle: ptr("f: f#1"), stopped: ptr("")},
		{op: "tick", d: 5 * time.Minute, idle: ptr(""), stopped: ptr("f#1 spindown")}, // the reaper
		{op: "invoke", inv: "c", want: "cold f#2"},
	} {
		h.run(10+i, st)
	}
	retire("c", time.Minute)
	for i, st := range []step{
		{op: "tick", d: 2 * time.Minute},
		{op: "done", inv: "c", idle: ptr(""), stopped: ptr("f#1 spindown, f#2 spindown")}, // on release
		{op: "invoke", inv: "d", want: "cold f#3"},
		{op: "done", inv: "d", idle: ptr("f: f#3")},
	} {
		h.run(20+i, st)
	}
	retire("d", time.Minute)
	h.clock = h.clock.Add(2 * time.Minute) // no reaper tick: the request itself finds it retiring
	for i, st := range []step{
		{op: "invoke", inv: "e", want: "cold f#4", stopped: ptr("f#1 spindown, f#2 spindown, f#3 spindown")},
		{op: "done", inv: "e", idle: ptr("f: f#4")},
	} {
		h.run(30+i, st)
	}
}
