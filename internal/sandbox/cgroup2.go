package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// cgroupV2 is furl's delegated subtree of the unified hierarchy (a systemd service with
// Delegate=yes, a container with its own cgroup namespace): furl moves its own processes into
// a leaf, "furl", enables the memory, pids and cpu controllers for its children, and gives each
// environment a sibling cgroup with memory.max, pids.max and cpu.weight.
type cgroupV2 struct {
	dir string          // furl's own (delegated) cgroup
	ctl map[string]bool // controllers enabled for the children
}

// v2Dir finds the directory of this process's cgroup in the unified hierarchy, given the text
// of /proc/self/cgroup and the cgroup file system root: the "0::" line under root (a pure v2
// host) or root/unified (a hybrid one). "" when there is none.
func v2Dir(procSelf []byte, root string) string {
	var rel string
	found := false
	sc := bufio.NewScanner(bytes.NewReader(procSelf))
	for sc.Scan() {
		if r, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			rel, found = r, true
		}
	}
	if !found {
		return ""
	}
	for _, mnt := range []string{root, filepath.Join(root, "unified")} {
		if _, err := os.Stat(filepath.Join(mnt, "cgroup.controllers")); err == nil {
			return filepath.Join(mnt, rel)
		}
	}
	return ""
}

// delegatedV2 reports whether dir is a cgroup furl may use as a delegated subtree: writable,
// with at least the memory and pids controllers available to it. It returns the controllers
// (of memory, pids, cpu) it can enable for its children.
func delegatedV2(dir string) (map[string]bool, error) {
	if dir == "" {
		return nil, errors.New("no cgroup v2 hierarchy")
	}
	if !writable(dir) {
		return nil, fmt.Errorf("%s is not writable (not delegated to furl)", dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	ctl := map[string]bool{}
	for _, c := range strings.Fields(string(b)) {
		if c == "memory" || c == "pids" || c == "cpu" {
			ctl[c] = true
		}
	}
	if !ctl["memory"] || !ctl["pids"] {
		return nil, fmt.Errorf("%s lacks the memory or pids controller (has %q)", dir, strings.TrimSpace(string(b)))
	}
	return ctl, nil
}

// chooseCgroups picks the hierarchy environments are limited by: a delegated v2 subtree when
// there is one, else the v1 memory/pids/cpu hierarchies furl can write (root only), else none
// (the supervisor's memory watchdog and RLIMIT_NPROC still apply).
func chooseCgroups(v2Ctl map[string]bool, v2Err error, v1 *cgroupV1) string {
	switch {
	case v2Err == nil && v2Ctl["memory"]:
		return "v2"
	case v1 != nil:
		return "v1"
	}
	return ""
}

// newCgroupV2 makes dir ready to hold environments: furl's processes move into the leaf
// dir/furl (a cgroup with processes cannot enable controllers for its children) and the
// controllers are enabled in dir's cgroup.subtree_control.
func newCgroupV2(dir string, ctl map[string]bool, log *slog.Logger) (*cgroupV2, error) {
	leaf := filepath.Join(dir, "furl")
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	for _, f := range bytes.Fields(b) {
		if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), f, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("move %s into %s: %w", f, leaf, err)
		}
	}
	var enable []string
	for _, c := range []string{"memory", "pids", "cpu"} {
		if ctl[c] {
			enable = append(enable, "+"+c)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0); err != nil {
		return nil, fmt.Errorf("enable %v in %s: %w", enable, dir, err)
	}
	log.Debug("sandbox: cgroup v2", "dir", dir, "controllers", enable)
	return &cgroupV2{dir: dir, ctl: ctl}, nil
}

// cpuWeight converts cgroup v1 cpu.shares (default 1024) to cgroup v2 cpu.weight (default
// 100, 1..10000) in proportion, so an environment weighs against the host's ordinary processes
// as it does on v1.
func cpuWeight(shares int) int64 {
	return max(1, min(10000, int64(shares)*100/1024))
}

func (c *cgroupV2) create(name string, memory int64, shares int) (*envCgroup, error) {
	d := filepath.Join(c.dir, "furl-env-"+name)
	if err := os.Mkdir(d, 0o755); err != nil {
		return nil, err
	}
	e := &envCgroup{memory: d, v2: true}
	if memory > 0 {
		if err := write(d, "memory.max", memory); err != nil {
			e.remove()
			return nil, err
		}
		_ = write(d, "memory.swap.max", 0) // no swap, when accounted
	}
	if err := write(d, "pids.max", MaxProcs); err != nil {
		e.remove()
		return nil, err
	}
	if shares > 0 && c.ctl["cpu"] {
		_ = write(d, "cpu.weight", cpuWeight(shares))
	}
	return e, nil
}
