package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroupV1 is where furl makes per-environment cgroups on a cgroup v1 host: a directory under
// furl's own cgroup in each of the memory, pids and cpu hierarchies it can write.
type cgroupV1 struct {
	memory, pids, cpu string // furl's own cgroup directory in each hierarchy ("" if unusable)
}

// newCgroupV1 finds furl's cgroups in the v1 hierarchies; nil when there are none (a pure v2
// host, where the supervisor's own cgroup v2 handling applies).
func newCgroupV1(log *slog.Logger) *cgroupV1 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	c := &cgroupV1{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || parts[0] == "0" {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			dir := filepath.Join(cgroupRoot, ctl, parts[2])
			if !writable(dir) {
				continue
			}
			switch ctl {
			case "memory":
				c.memory = dir
			case "pids":
				c.pids = dir
			case "cpu":
				c.cpu = dir
			}
		}
	}
	if c.memory == "" && c.pids == "" && c.cpu == "" {
		return nil
	}
	log.Debug("sandbox: cgroup v1", "memory", c.memory, "pids", c.pids, "cpu", c.cpu)
	return c
}

func writable(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "cgroup.procs"))
	return err == nil && !fi.IsDir() && syscall.Access(dir, 2 /* W_OK */) == nil
}

// envCgroup is one environment's cgroup directories: one per v1 hierarchy, or (v2) the one
// unified directory, in memory.
type envCgroup struct {
	memory, pids, cpu string
	v2                bool
}

func (c *cgroupV1) create(name string, memory int64, shares int) (*envCgroup, error) {
	e := &envCgroup{}
	mk := func(parent string) (string, error) {
		if parent == "" {
			return "", nil
		}
		d := filepath.Join(parent, "furl-env-"+name)
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", err
		}
		return d, nil
	}
	var err error
	if memory > 0 {
		if e.memory, err = mk(c.memory); err != nil {
			e.remove()
			return nil, err
		}
		if e.memory != "" {
			if err := write(e.memory, "memory.limit_in_bytes", memory); err != nil {
				e.remove()
				return nil, err
			}
			_ = write(e.memory, "memory.memsw.limit_in_bytes", memory) // no swap, when accounted
			_ = write(e.memory, "memory.swappiness", 0)
		}
	}
	if e.pids, err = mk(c.pids); err != nil {
		e.remove()
		return nil, err
	}
	if e.pids != "" {
		if err := write(e.pids, "pids.max", MaxProcs); err != nil {
			e.remove()
			return nil, err
		}
	}
	if shares > 0 {
		if e.cpu, err = mk(c.cpu); err != nil {
			e.remove()
			return nil, err
		}
		if e.cpu != "" {
			_ = write(e.cpu, "cpu.shares", int64(shares))
		}
	}
	return e, nil
}

func write(dir, file string, v int64) error {
	return os.WriteFile(filepath.Join(dir, file), []byte(strconv.FormatInt(v, 10)), 0)
}

func (e *envCgroup) dirs() []string {
	var out []string
	for _, d := range []string{e.memory, e.pids, e.cpu} {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}

func (e *envCgroup) join(pid int) error {
	for _, d := range e.dirs() {
		if err := write(d, "cgroup.procs", int64(pid)); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	return nil
}

func (e *envCgroup) readInt(dir, name string) int64 {
	if dir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v
}

// oomKilled reads memory.oom_control's oom_kill counter (Linux 4.13+), falling back to the
// failure count reaching the limit.
func (e *envCgroup) oomKilled() bool {
	if e.memory == "" {
		return false
	}
	if e.v2 {
		return oomKillCounted(filepath.Join(e.memory, "memory.events"))
	}
	return oomKillCounted(filepath.Join(e.memory, "memory.oom_control"))
}

// oomKillCounted reports whether the "oom_kill N" line of a cgroup file (v1's
// memory.oom_control, v2's memory.events) counts a kill.
func oomKillCounted(file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			n, _ := strconv.Atoi(v)
			return n > 0
		}
	}
	return false
}

// killAll SIGKILLs every process left in the environment's cgroups.
func (e *envCgroup) killAll() {
	if e.v2 {
		_ = os.WriteFile(filepath.Join(e.memory, "cgroup.kill"), []byte("1"), 0) // Linux 5.14+
	}
	for _, d := range e.dirs() {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range bytes.Fields(b) {
			if pid, err := strconv.Atoi(string(f)); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// remove deletes the directories, waiting briefly for exiting processes to leave them.
func (e *envCgroup) remove() {
	for _, d := range e.dirs() {
		for i := 0; i < 50; i++ {
			err := os.Remove(d)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			e.killAll()
			time.Sleep(10 * time.Millisecond)
		}
	}
}
