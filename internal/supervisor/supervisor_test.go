package supervisor_test

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/furl/furl/internal/supervisor"
)

type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) add(b []byte) { l.mu.Lock(); l.l = append(l.l, string(b)); l.mu.Unlock() }
func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.l...)
}

func start(t *testing.T, script string, limit int64, out *lines) *supervisor.Process {
	t.Helper()
	p, err := supervisor.Start(supervisor.Spec{
		Argv: []string{"/bin/sh", "-c", script}, Env: []string{"PATH=" + os.Getenv("PATH")}, Dir: t.TempDir(),
		MemoryLimit: limit, Output: out.add, PollInterval: 10 * time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); <-p.Exited() })
	return p
}

func TestOutputAndExit(t *testing.T) {
	var out lines
	p := start(t, `echo one; echo two >&2; printf 'partial'; exit 3`, 0, &out)
	<-p.Exited()
	var xe *exec.ExitError
	if err := p.ExitError(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("exit: %v %T", err, xe)
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(out.get()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := strings.Join(out.get(), "|"); got != "one|two|partial" {
		t.Errorf("lines %q", got)
	}
}

func TestDrainIsSynchronous(t *testing.T) {
	var out lines
	p := start(t, `i=0; while [ $i -lt 50 ]; do echo line$i; i=$((i+1)); done; touch marker; sleep 10`, 0, &out)
	_ = p
	// Once the process has certainly written its lines, Drain must hand all of them over.
	dir, _ := os.Readlink("/proc/" + itoa(p.Pid()) + "/cwd")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(dir + "/marker"); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Drain()
	if n := len(out.get()); n != 50 {
		t.Errorf("after Drain: %d lines", n)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestKillWholeGroup(t *testing.T) {
	var out lines
	p := start(t, `sleep 30 & echo child $!; wait`, 0, &out)
	deadline := time.Now().Add(2 * time.Second)
	for len(out.get()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	var child int
	for _, f := range strings.Fields(strings.Join(out.get(), " "))[1:] {
		for _, c := range f {
			child = child*10 + int(c-'0')
		}
	}
	p.Kill()
	<-p.Exited()
	time.Sleep(50 * time.Millisecond)
	if err := syscall.Kill(child, 0); err == nil {
		if b, _ := os.ReadFile("/proc/" + itoa(child) + "/stat"); !strings.Contains(string(b), ") Z ") {
			t.Errorf("child %d survived the group kill", child)
		}
	}
}

func TestMemoryWatchdog(t *testing.T) {
	var out lines
	// python3 allocates 200 MB and holds it; the limit is 50 MB.
	// The bytes are written (not a lazily zeroed bytearray), so they count in RSS at once.
	p := start(t, `exec python3 -c 'import time; b = b"x" * (200*1024*1024); time.sleep(60)'`, 50<<20, &out)
	select {
	case <-p.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("not killed")
	}
	if !p.OutOfMemory() || p.MaxRSS() < 50<<20 {
		t.Errorf("oom=%v maxRSS=%d", p.OutOfMemory(), p.MaxRSS())
	}
}

func TestTerminateGrace(t *testing.T) {
	var out lines
	p := start(t, `trap 'echo got TERM; exit 0' TERM; echo ready; while true; do sleep 0.05; done`, 0, &out)
	deadline := time.Now().Add(2 * time.Second)
	for len(out.get()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.Terminate(2 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if got := strings.Join(out.get(), "|"); !strings.HasPrefix(got, "ready|") || !strings.HasSuffix(got, "|got TERM") {
		t.Errorf("lines %q", got)
	}
}

// An environment limited to one CPU sees one CPU; environments spread over furl's CPUs; what
// furl starts afterwards without a limit sees all of them (the forking thread's mask is restored).
func TestCPUAffinity(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs at least 2 CPUs")
	}
	var outs [2]lines
	var procs [2]*supervisor.Process
	placement := supervisor.NewCPUSet()
	for i := range procs {
		p, err := supervisor.Start(supervisor.Spec{
			Argv: []string{"/bin/sh", "-c", "nproc; grep Cpus_allowed_list /proc/self/status; sleep 30"},
			Env:  []string{"PATH=" + os.Getenv("PATH")}, Dir: t.TempDir(), Output: outs[i].add, CPUs: 1, Placement: placement,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Kill(); <-p.Exited() })
		procs[i] = p
	}
	var lists [2]string
	for i := range outs {
		deadline := time.Now().Add(5 * time.Second)
		for len(outs[i].get()) < 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		got := outs[i].get()
		if len(got) < 2 || got[0] != "1" {
			t.Fatalf("process %d: nproc output %q, want 1", i, got)
		}
		lists[i] = got[1]
	}
	if lists[0] == lists[1] {
		t.Errorf("both environments on the same CPU: %q", lists[0])
	}
	out, err := exec.Command("nproc").Output()
	if err != nil || strings.TrimSpace(string(out)) == "1" {
		t.Errorf("a process furl starts without CPUs sees %q (%v)", out, err)
	}
}
