// Package supervisor starts, watches, limits and kills function runtime processes. Each process
// runs in its own process group so the whole tree can be signalled; its stdout and stderr are
// read line by line and handed to a sink; its memory is limited with a cgroup v2 when one can be
// delegated, and otherwise by a watchdog that polls the group's resident set in /proc and kills
// it on overrun.
package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/furl/furl/internal/sandbox"
)

// Spec describes a process to start.
type Spec struct {
	Argv []string
	Env  []string
	Dir  string
	// MemoryLimit in bytes; 0 means unlimited.
	MemoryLimit int64
	// Output receives each line the process writes to stdout or stderr, without the newline.
	// It runs on the supervisor's reader (or in Drain) and must not retain line.
	Output func(line []byte)
	// PollInterval is the watchdog's period (default 50 ms).
	PollInterval time.Duration
	// Sandbox, if set, runs the process in that prepared sandbox: Argv is wrapped in its command
	// line, and its cgroup (when it has one) limits and measures memory.
	Sandbox *sandbox.Env
	// CPUs limits the process group to that many of furl's CPUs, the least occupied ones of
	// Placement (0, at least as many as furl has, or no Placement: no limit).
	CPUs int
	// Placement is the CPU set the process is placed on and released to when it exits,
	// shared by the processes that spread over the CPUs.
	Placement *CPUSet
}

// Process is a running function process and its group.
type Process struct {
	cmd       *exec.Cmd
	pgid      int
	log       *slog.Logger
	limit     int64
	out       *os.File
	outRC     syscall.RawConn
	sink      func([]byte)
	cg        *cgroup
	sb        *sandbox.Env
	poll      time.Duration
	sampled   atomic.Int64 // unix nanos of the last memory sample
	cpus      []int        // CPUs reserved for the process (released to placement when it exits)
	placement *CPUSet
	exited    chan struct{}
	waitErr   error

	outMu     sync.Mutex
	outFD     int
	outClosed bool
	partial   []byte
	rbuf      []byte

	maxRSS    atomic.Int64
	active    atomic.Int64 // unix nanos of the last Active call
	oomKilled atomic.Bool
	killed    atomic.Bool
	stopPoll  chan struct{}
	readDone  chan struct{}
}

// Start starts the process in its own process group.
func Start(spec Spec, log *slog.Logger) (*Process, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("supervisor: start: empty argv")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("supervisor: pipe: %w", err)
	}
	argv := spec.Argv
	if spec.Sandbox != nil {
		argv = spec.Sandbox.Argv(argv)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	cmd.Stdout = w
	cmd.Stderr = w
	// Pdeathsig: a runtime must not outlive furl (or a test binary) that dies without Close.
	// It fires when the forking OS thread exits; Go keeps its threads for the process's life
	// unless a goroutine exits while locked to one, which furl never does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if spec.Sandbox != nil {
		cmd.ExtraFiles = spec.Sandbox.Files()
	}
	p := &Process{
		cmd: cmd, log: log, limit: spec.MemoryLimit, out: r, sink: spec.Output, sb: spec.Sandbox,
		exited: make(chan struct{}), stopPoll: make(chan struct{}), readDone: make(chan struct{}),
		rbuf: make([]byte, 16<<10),
	}
	if p.sink == nil {
		p.sink = func([]byte) {}
	}
	if spec.MemoryLimit > 0 && !p.sandboxMemory() {
		if cg, err := newCgroup(spec.MemoryLimit); err == nil {
			p.cg = cg
			cmd.SysProcAttr.UseCgroupFD = true
			cmd.SysProcAttr.CgroupFD = cg.fd
		} else {
			log.Debug("supervisor: cgroup v2 unavailable, using RSS watchdog", "err", err)
		}
	}
	p.placement = spec.Placement
	p.cpus = p.placement.pick(spec.CPUs)
	err = startOn(cmd, p.cpus)
	if err != nil && p.cg != nil && !errors.Is(err, syscall.ETXTBSY) {
		// clone3 into a cgroup needs Linux 5.7+: fall back to the watchdog.
		log.Debug("supervisor: start in cgroup failed, using RSS watchdog", "err", err)
		p.cg.remove()
		p.cg = nil
		cmd = rebuild(cmd)
		cmd.SysProcAttr.UseCgroupFD = false
		cmd.SysProcAttr.CgroupFD = 0
		err = startOn(cmd, p.cpus)
	}
	// A freshly copied executable can be briefly "busy" while another goroutine's fork still
	// holds the write descriptor (until that child execs): retry.
	for i := 0; err != nil && errors.Is(err, syscall.ETXTBSY) && i < 50; i++ {
		time.Sleep(2 * time.Millisecond)
		cmd = rebuild(cmd)
		err = startOn(cmd, p.cpus)
	}
	if err != nil {
		r.Close()
		w.Close()
		if p.cg != nil {
			p.cg.remove()
		}
		p.placement.release(p.cpus)
		return nil, fmt.Errorf("supervisor: start %s: %w", spec.Argv[0], err)
	}
	w.Close()
	p.cmd = cmd
	p.pgid = cmd.Process.Pid
	if p.sb != nil {
		if err := p.sb.Started(p.pgid); err != nil {
			_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
			_ = cmd.Wait()
			r.Close()
			if p.cg != nil {
				p.cg.remove()
			}
			p.placement.release(p.cpus)
			return nil, fmt.Errorf("supervisor: start %s: %w", spec.Argv[0], err)
		}
	}
	if p.cg != nil {
		p.cg.closeFD()
	}
	rc, err := r.SyscallConn()
	if err != nil {
		_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
		_ = cmd.Wait()
		p.placement.release(p.cpus)
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	p.outRC = rc
	_ = rc.Control(func(fd uintptr) { p.outFD = int(fd) })
	go p.readLoop()
	go p.wait()
	interval := spec.PollInterval
	if interval <= 0 {
		interval = 50 * time.Millisecond
	}
	p.poll = interval
	go p.watch(interval)
	return p, nil
}

// Pid is the process id (also the process group id).
func (p *Process) Pid() int { return p.pgid }

// Exited is closed when the main process has exited (the rest of the group is then killed).
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitError is the exit status once Exited is closed: nil for status 0, else an *exec.ExitError.
func (p *Process) ExitError() error {
	<-p.exited
	return p.waitErr
}

// OutOfMemory reports whether the process was killed for exceeding its memory limit.
func (p *Process) OutOfMemory() bool { return p.oomKilled.Load() }

// sandboxMemory reports whether the sandbox's cgroup limits and measures memory.
func (p *Process) sandboxMemory() bool { return p.sb != nil && p.sb.HasMemoryCgroup() }

// MaxRSS is the peak memory (bytes) of the environment's processes: the cgroup's peak when there
// is one, else the largest resident set of the group seen by the watchdog, sampled now when the
// last sample is older than the watchdog's period (so a cold start's REPORT sees its init).
func (p *Process) MaxRSS() int64 {
	if p.sandboxMemory() {
		if v := p.sb.MemoryPeak(); v > 0 {
			return v
		}
	}
	if p.cg != nil {
		if v := p.cg.peak(); v > 0 {
			return v
		}
	}
	if time.Now().UnixNano()-p.sampled.Load() > int64(p.poll) {
		select {
		case <-p.exited:
		default:
			if rss := p.sample(nil, make([]byte, 512)); rss > p.maxRSS.Load() {
				p.maxRSS.Store(rss)
			}
		}
	}
	return p.maxRSS.Load()
}

// Active tells the memory watchdog the process is working (an invocation began), so it polls at
// full rate. It is one atomic store.
func (p *Process) Active() { p.active.Store(time.Now().UnixNano()) }

// Kill sends SIGKILL to the whole process group. It does not wait.
func (p *Process) Kill() {
	p.killed.Store(true)
	_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
	if p.sb != nil {
		p.sb.Kill()
	}
	if p.cg != nil {
		p.cg.kill()
	}
}

// Terminate sends SIGTERM to the group and SIGKILL after grace (or at once if grace <= 0). It
// blocks until the process has exited.
func (p *Process) Terminate(grace time.Duration) {
	if grace > 0 {
		_ = syscall.Kill(-p.pgid, syscall.SIGTERM)
		t := time.NewTimer(grace)
		select {
		case <-p.exited:
		case <-t.C:
		}
		t.Stop()
	}
	p.Kill()
	<-p.exited
}

func (p *Process) wait() {
	err := p.cmd.Wait()
	// Nothing of the group may outlive the main process.
	_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
	p.placement.release(p.cpus)
	if p.sb != nil {
		p.sb.Kill()
		if p.sb.OOMKilled() {
			p.oomKilled.Store(true)
		}
	}
	if p.cg != nil {
		p.cg.kill()
	}
	if p.cg != nil && p.cg.oomKilled() {
		p.oomKilled.Store(true)
	}
	p.waitErr = err
	close(p.stopPoll)
	close(p.exited)
	// Let the reader finish what the group wrote, then release the cgroup.
	select {
	case <-p.readDone:
	case <-time.After(2 * time.Second):
		p.closeOut()
	}
	if p.cg != nil {
		p.cg.remove()
	}
	if p.sb != nil {
		p.sb.Release()
	}
}

// readLoop reads output as it becomes available. Reads happen under outMu so Drain can take
// everything already written, synchronously, and attribute it before the caller moves on.
func (p *Process) readLoop() {
	defer close(p.readDone)
	for {
		var eof bool
		err := p.outRC.Read(func(fd uintptr) bool {
			p.outMu.Lock()
			defer p.outMu.Unlock()
			for {
				n, err := syscall.Read(int(fd), p.rbuf)
				if n > 0 {
					p.consume(p.rbuf[:n])
				}
				switch {
				case err == syscall.EAGAIN:
					return false
				case err == syscall.EINTR:
					continue
				case err != nil || n == 0:
					eof = true
					p.flushPartial()
					return true
				}
			}
		})
		if eof || err != nil {
			p.closeOut()
			return
		}
	}
}

// Drain consumes every byte the process has written so far and hands it to the sink, including
// a trailing partial line. Call it before closing an invocation's log.
func (p *Process) Drain() {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	// The fd is non-blocking (it belongs to the runtime poller); read it directly, since the
	// reader goroutine holds the RawConn's read lock while it waits.
	for !p.outClosed {
		n, err := syscall.Read(p.outFD, p.rbuf)
		if n > 0 {
			p.consume(p.rbuf[:n])
			continue
		}
		if err == syscall.EINTR {
			continue
		}
		break
	}
	p.flushPartial()
}

func (p *Process) closeOut() {
	p.outMu.Lock()
	if p.outClosed {
		p.outMu.Unlock()
		return
	}
	p.outClosed = true
	p.outMu.Unlock()
	p.out.Close()
}

const maxLine = 256 << 10

func (p *Process) consume(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.partial = append(p.partial, b...)
			if len(p.partial) >= maxLine {
				p.flushPartial()
			}
			return
		}
		line := b[:i]
		if len(p.partial) > 0 {
			p.partial = append(p.partial, line...)
			line = p.partial
		}
		p.sink(bytes.TrimSuffix(line, []byte{'\r'}))
		p.partial = p.partial[:0]
		b = b[i+1:]
	}
}

func (p *Process) flushPartial() {
	if len(p.partial) > 0 {
		p.sink(p.partial)
		p.partial = p.partial[:0]
	}
}

// poll samples the group's memory, records the peak and kills on overrun. It polls every
// interval while memory moves, is above half the limit or the process was marked Active in the
// last second, and backs off to 250 ms while it sits idle, so warm environments cost little.
func (p *Process) watch(interval time.Duration) {
	const maxInterval = 250 * time.Millisecond
	t := time.NewTimer(interval)
	defer t.Stop()
	var pids []int
	buf := make([]byte, 512)
	var last int64
	wait := interval
	for {
		rss := p.sample(pids[:0], buf)
		if rss > p.maxRSS.Load() {
			p.maxRSS.Store(rss)
		}
		if p.limit > 0 && p.cg == nil && !p.sandboxMemory() && rss > p.limit {
			p.log.Info("supervisor: memory limit exceeded, killing", "pid", p.pgid, "rss", rss, "limit", p.limit)
			p.oomKilled.Store(true)
			p.Kill()
		}
		recent := time.Now().UnixNano()-p.active.Load() < int64(time.Second)
		if d := rss - last; !recent && d > -1<<20 && d < 1<<20 && (p.limit == 0 || rss < p.limit/2) {
			wait = min(wait*2, maxInterval)
		} else {
			wait = interval
		}
		last = rss
		t.Reset(wait)
		select {
		case <-p.stopPoll:
			return
		case <-t.C:
		}
	}
}

// sample measures the group's memory now: the cgroup's usage, or the sum of the resident sets of
// the group's processes.
func (p *Process) sample(pids []int, buf []byte) int64 {
	p.sampled.Store(time.Now().UnixNano())
	switch {
	case p.sandboxMemory():
		return p.sb.MemoryCurrent()
	case p.cg != nil:
		return p.cg.current()
	}
	var rss int64
	for _, pid := range groupPids(p.pgid, pids, buf) {
		rss += readRSS(pid, buf)
	}
	return rss
}

// rebuild returns a fresh, unstarted copy of cmd (an exec.Cmd cannot be started twice).
func rebuild(c *exec.Cmd) *exec.Cmd {
	n := exec.Command(c.Path, c.Args[1:]...)
	n.Env, n.Dir, n.Stdout, n.Stderr, n.ExtraFiles = c.Env, c.Dir, c.Stdout, c.Stderr, c.ExtraFiles
	attr := *c.SysProcAttr
	n.SysProcAttr = &attr
	return n
}
