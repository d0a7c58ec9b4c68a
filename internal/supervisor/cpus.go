package supervisor

import (
	"os/exec"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// CPU placement. An environment may be limited to a number of CPUs, as a Lambda environment
// gets vCPUs in proportion to its memory. Its process is then started with an affinity mask of
// that many of furl's CPUs, the least occupied ones by the environments already placed, and
// the runtime sees that many CPUs (nproc, os.cpus()-based pools, Go's GOMAXPROCS).
//
// The mask is inherited from the forking thread: the start runs locked to an OS thread whose
// own mask is narrowed for the fork and restored after it. The thread is never left locked
// (Pdeathsig fires when the forking thread exits).

// CPUSet places processes on furl's CPUs, counting how many placed processes use each. One
// set is shared by the processes that should spread over the CPUs (the pool owns one); the
// zero value is ready to use.
type CPUSet struct {
	mu      sync.Mutex
	allowed []int // furl's own CPUs; nil when affinity is unavailable
	load    map[int]int
	once    sync.Once
}

// NewCPUSet returns an empty placement over furl's CPUs.
func NewCPUSet() *CPUSet { return &CPUSet{} }

func (c *CPUSet) init() {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return
	}
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			c.allowed = append(c.allowed, i)
		}
	}
	c.load = map[int]int{}
}

// pick reserves the n least loaded CPUs; nil when no narrowing applies (or c is nil).
func (c *CPUSet) pick(n int) []int {
	if c == nil {
		return nil
	}
	c.once.Do(c.init)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= 0 || n >= len(c.allowed) {
		return nil
	}
	chosen := make([]int, 0, n)
	for len(chosen) < n {
		best := -1
		for _, cpu := range c.allowed {
			if slices.Contains(chosen, cpu) {
				continue
			}
			if best < 0 || c.load[cpu] < c.load[best] {
				best = cpu
			}
		}
		chosen = append(chosen, best)
	}
	for _, cpu := range chosen {
		c.load[cpu]++
	}
	return chosen
}

func (c *CPUSet) release(chosen []int) {
	if c == nil || len(chosen) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cpu := range chosen {
		c.load[cpu]--
	}
}

// startOn starts cmd with an affinity mask of the given CPUs (all of furl's when empty).
func startOn(cmd *exec.Cmd, on []int) error {
	if len(on) == 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return cmd.Start()
	}
	for _, cpu := range on {
		set.Set(cpu)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return cmd.Start()
	}
	err := cmd.Start()
	_ = unix.SchedSetaffinity(0, &old)
	return err
}
