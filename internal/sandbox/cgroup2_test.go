package sandbox

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCgroup makes dir look like a cgroup v2 directory with the given controllers and
// processes (plain files: the selection and set-up logic only reads and writes them).
func fakeCgroup(t *testing.T, dir, controllers, procs string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"cgroup.controllers": controllers, "cgroup.procs": procs, "cgroup.subtree_control": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCgroupV2Selection(t *testing.T) {
	pure := t.TempDir()
	fakeCgroup(t, pure, "cpuset cpu io memory pids", "")
	fakeCgroup(t, filepath.Join(pure, "system.slice/furl.service"), "cpu memory pids", "42\n")
	hybrid := t.TempDir()
	fakeCgroup(t, filepath.Join(hybrid, "unified"), "", "")
	fakeCgroup(t, filepath.Join(hybrid, "unified/user.slice"), "", "7\n")
	noMem := t.TempDir()
	fakeCgroup(t, noMem, "cpu pids", "")
	fakeCgroup(t, filepath.Join(noMem, "svc"), "cpu pids", "1\n")
	v1 := &cgroupV1{memory: "/sys/fs/cgroup/memory"}

	tests := []struct {
		name     string
		procSelf string
		root     string
		v1       *cgroupV1
		wantDir  string
		wantErr  string
		want     string
	}{
		{"systemd delegation on pure v2", "0::/system.slice/furl.service\n", pure, nil, filepath.Join(pure, "system.slice/furl.service"), "", "v2"},
		{"delegated v2 beats v1", "0::/system.slice/furl.service\n", pure, v1, filepath.Join(pure, "system.slice/furl.service"), "", "v2"},
		{"hybrid host with an empty v2 hierarchy (this build machine)", "9:memory:/\n0::/user.slice\n", hybrid, v1, filepath.Join(hybrid, "unified/user.slice"), "lacks the memory or pids controller", "v1"},
		{"no memory controller", "0::/svc\n", noMem, nil, filepath.Join(noMem, "svc"), "lacks the memory or pids controller", ""},
		{"not a member of v2", "4:memory:/x\n", pure, v1, "", "no cgroup v2 hierarchy", "v1"},
		{"not delegated (not writable)", "0::/nope\n", pure, nil, filepath.Join(pure, "nope"), "not writable", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := v2Dir([]byte(tc.procSelf), tc.root)
			if dir != tc.wantDir {
				t.Fatalf("v2Dir = %q, want %q", dir, tc.wantDir)
			}
			ctl, err := delegatedV2(dir)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("delegatedV2: %v, want %q", err, tc.wantErr)
			}
			if got := chooseCgroups(ctl, err, tc.v1); got != tc.want {
				t.Errorf("chooseCgroups = %q, want %q", got, tc.want)
			}
		})
	}
	if got := chooseCgroups(nil, errors.New("x"), nil); got != "" {
		t.Errorf("nothing usable: %q", got)
	}
}

// TestCgroupV2Setup: furl moves its processes into the leaf "furl", enables the controllers for
// its children, and an environment's cgroup gets memory.max, no swap, pids.max 1024 and a
// cpu.weight in proportion to its memory.
func TestCgroupV2Setup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "furl.service")
	fakeCgroup(t, dir, "cpu memory pids", "42\n")
	ctl, err := delegatedV2(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCgroupV2(dir, ctl, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("furl/cgroup.procs"); got != "42" {
		t.Errorf("furl's processes moved: %q", got)
	}
	if got := read("cgroup.subtree_control"); got != "+memory +pids +cpu" {
		t.Errorf("subtree_control = %q", got)
	}
	e, err := c.create("1", 256<<20, cpuShares(256))
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"memory.max": "268435456", "memory.swap.max": "0", "pids.max": "1024", "cpu.weight": "100"} {
		if got := read("furl-env-1/" + file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if !e.v2 || e.memory != filepath.Join(dir, "furl-env-1") || len(e.dirs()) != 1 {
		t.Errorf("envCgroup = %+v", e)
	}
	if err := os.WriteFile(filepath.Join(e.memory, "memory.events"), []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !e.oomKilled() {
		t.Error("oom_kill 1 not seen")
	}
}

// TestCgroupV2Host: on this host, whatever its cgroups, the choice is made without error and
// never picks a v2 hierarchy that lacks the memory controller.
func TestCgroupV2Host(t *testing.T) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skip(err)
	}
	dir := v2Dir(self, cgroupRoot)
	ctl, err := delegatedV2(dir)
	t.Logf("v2 dir %q: controllers %v, %v", dir, ctl, err)
	if chooseCgroups(ctl, err, nil) == "v2" && !ctl["memory"] {
		t.Error("v2 chosen without the memory controller")
	}
}
