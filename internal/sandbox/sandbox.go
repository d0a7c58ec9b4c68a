// Package sandbox runs an execution environment's processes in a sandbox laid out as Lambda's:
// own mount, PID, IPC and UTS namespaces; an unprivileged uid with no capabilities and
// no_new_privs; the code read-only at /var/task, the runtime's bootstrap at /var/runtime, layers
// at /opt, a private size-capped /tmp, the host's /usr and /etc read-only and nothing else;
// memory and process limits (cgroup v1 or v2 when furl can write them, RLIMIT_NPROC always).
//
// The namespaces and mounts are made by bubblewrap (bwrap), a small, well-kept setuid-free
// tool: measured against a re-executed furl init (tens of milliseconds of Go start-up for a
// large binary), it is the cheaper way in. When furl runs as root, bwrap sets up as root and
// the runtime is started through setpriv as a per-environment uid (no user namespace, so no
// uid of the host is mapped in); as an ordinary user, bwrap makes a user namespace in which the
// runtime is uid 993 (Lambda's sbx_user1051) and further user namespaces are disabled.
//
// The environment's first process is the PID namespace's init: when it ends every process of
// the environment ends with it, setsid'd ones included, and bwrap dies with furl
// (PR_SET_PDEATHSIG on both sides).
package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LambdaUID is the uid (and gid) a function runs as inside its user namespace, as on Lambda.
const LambdaUID = 993

// uidBase is the first host uid given to environments when furl runs as root; each live
// environment has its own (uidBase + slot), far above the ranges distributions hand out to
// accounts and to subordinate-id ranges.
const uidBase = 2_000_000_000

// Limits of every environment.
const (
	// MaxProcs is the process (and thread) limit of an environment, as Lambda's.
	MaxProcs = 1024
	// DefaultTmpBytes is the size of /tmp when a function configures none (512 MB).
	DefaultTmpBytes = 512 << 20
)

// Sandbox starts sandboxed environments. It is safe for concurrent use.
type Sandbox struct {
	bwrap   string
	setpriv string
	root    bool
	log     *slog.Logger
	binds   []bind // the host's read-only system directories
	cg      *cgroupV1
	cg2     *cgroupV2 // preferred over cg when furl has a delegated cgroup v2 subtree

	// id and cgSeq name the environments' cgroups uniquely, across Sandboxes of one process too.
	id    string
	cgSeq atomic.Uint64

	mu    sync.Mutex
	slots map[int]bool
}

type bind struct {
	src, dst string
	link     string // a symlink target instead of a bind
}

// Options configures New.
type Options struct {
	// Bwrap is the bubblewrap executable (default: "bwrap" on PATH).
	Bwrap string
}

// New finds bwrap (and setpriv when running as root), checks that the kernel lets it build an
// environment, and returns the Sandbox. The error says exactly what is missing and how to fix
// it; the caller refuses to run functions rather than run them unsandboxed.
func New(ctx context.Context, opts Options, log *slog.Logger) (*Sandbox, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	name := opts.Bwrap
	if name == "" {
		name = "bwrap"
	}
	bw, err := lookPath(name)
	if err != nil {
		return nil, fmt.Errorf("sandbox: bubblewrap (%s) not found: install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) or run with --sandbox=off", name)
	}
	var tok [4]byte
	_, _ = rand.Read(tok[:])
	s := &Sandbox{bwrap: bw, root: os.Geteuid() == 0, log: log, slots: map[int]bool{},
		id: strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(tok[:])}
	if s.root {
		sp, err := lookPath("setpriv")
		if err != nil {
			return nil, errors.New("sandbox: setpriv not found (util-linux): install util-linux or run with --sandbox=off")
		}
		s.setpriv = sp
		s.cg = newCgroupV1(log)
	}
	s.setupCgroupV2(log)
	s.binds = systemBinds()
	if err := s.probe(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// lookPath finds a system tool on PATH or, since furl's PATH may be narrowed to choose the
// functions' interpreters, in the system's own directories.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil || strings.Contains(name, "/") {
		return p, err
	}
	for _, dir := range []string{"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"} {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	return "", err
}

// Root reports whether environments run as per-environment host uids (furl is root) rather
// than as uid 993 in a user namespace of furl's own uid.
func (s *Sandbox) Root() bool { return s.root }

// systemBinds lists the host directories every environment sees read-only: /usr and /etc, and
// /bin, /sbin, /lib, /lib32, /lib64 as the host has them (symlinks into /usr on merged-/usr
// systems, directories elsewhere).
func systemBinds() []bind {
	var out []bind
	for _, d := range []string{"/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(d)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if t, err := os.Readlink(d); err == nil {
				out = append(out, bind{dst: d, link: t})
			}
			continue
		}
		if fi.IsDir() {
			out = append(out, bind{src: d, dst: d})
		}
	}
	return out
}

// probe starts one environment running /bin/true (or the shell's true) and reports why it
// could not.
func (s *Sandbox) probe(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "furl-sandbox-probe-")
	if err != nil {
		return fmt.Errorf("sandbox: probe: %w", err)
	}
	defer os.RemoveAll(tmp)
	_ = os.Chmod(tmp, 0o755)
	truePath := "/usr/bin/true"
	if _, err := os.Stat(truePath); err != nil {
		truePath = "/bin/true"
	}
	e, err := s.Prepare(Spec{TaskDir: tmp, TmpBytes: 1 << 20})
	if err != nil {
		return err
	}
	defer e.Release()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh") // replaced below
	argv := e.Argv([]string{truePath})
	cmd.Path, cmd.Args = argv[0], argv
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.ExtraFiles = e.Files()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		e.CloseFiles()
		return fmt.Errorf("sandbox: start %s: %w", s.bwrap, err)
	}
	e.CloseFiles()
	serr := e.Started(cmd.Process.Pid)
	if serr != nil {
		// The sandboxed child waits on the block pipe: end it, or Wait never returns.
		e.Kill()
		_ = cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if serr != nil || werr != nil {
		msg := strings.TrimSpace(stderr.String())
		return fmt.Errorf("sandbox: the kernel refused to build an execution environment (%s%v): %s; "+
			"furl needs user namespaces (sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces>0, "+
			"and on Ubuntu 24.04+ kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap) "+
			"or to run as root; or run with --sandbox=off to run functions unsandboxed", msg, errors.Join(serr, werr), hint(msg))
	}
	return nil
}

func hint(msg string) string {
	switch {
	case strings.Contains(msg, "setting up uid map"), strings.Contains(msg, "No permissions to creating new namespace"),
		strings.Contains(msg, "Operation not permitted"):
		return "creating namespaces is not permitted"
	case msg == "":
		return "no message"
	}
	return msg
}

// Spec describes one environment's file system and limits.
type Spec struct {
	// TaskDir is the function's code, bound read-only at /var/task (the working directory).
	TaskDir string
	// RuntimeDir, if set, is bound read-only at /var/runtime.
	RuntimeDir string
	// OptDir, if set, is bound read-only at /opt (the function's merged layers); otherwise /opt
	// is an empty read-only directory.
	OptDir string
	// ReadOnly are further host paths bound read-only at the same path (an interpreter
	// installed outside /usr, for example).
	ReadOnly []string
	// TmpBytes caps /tmp (default DefaultTmpBytes).
	TmpBytes int64
	// MemoryBytes is the memory limit enforced through a cgroup v1 when furl can write one (0:
	// none here; the caller's own watchdog or cgroup v2 applies).
	MemoryBytes int64
	// CPUShares sets the environment's cgroup v1 cpu.shares (v2: the equivalent cpu.weight);
	// 0: in proportion to MemoryBytes (cpuShares).
	CPUShares int
}

// Env is one prepared sandbox: the bwrap command line and the pipes that hold the environment
// until its limits are in place.
type Env struct {
	s        *Sandbox
	spec     Spec
	slot     int
	uid      int
	cg       *envCgroup
	infoR    *os.File
	infoW    *os.File
	blockR   *os.File
	blockW   *os.File
	initPid  atomic.Int64 // written by Started, read by the Runtime API's accept loop (Owns)
	released bool
}

// Prepare reserves a uid and the environment's cgroups and returns the Env to start.
func (s *Sandbox) Prepare(spec Spec) (*Env, error) {
	if spec.TmpBytes <= 0 {
		spec.TmpBytes = DefaultTmpBytes
	}
	e := &Env{s: s, spec: spec, slot: -1, uid: LambdaUID}
	if s.root {
		e.slot = s.takeSlot()
		e.uid = uidBase + e.slot
	}
	if spec.CPUShares == 0 && spec.MemoryBytes > 0 {
		spec.CPUShares = cpuShares(spec.MemoryBytes >> 20)
		e.spec.CPUShares = spec.CPUShares
	}
	// The name is never reused: an environment's teardown kills whatever is left in its
	// cgroups, so a later environment must never share them (slots are reused at once).
	name := s.id + "-" + strconv.FormatUint(s.cgSeq.Add(1), 10)
	switch {
	case s.cg2 != nil:
		cg, err := s.cg2.create(name, spec.MemoryBytes, spec.CPUShares)
		if err != nil {
			s.log.Debug("sandbox: cgroup v2 unavailable", "err", err)
		} else {
			e.cg = cg
		}
	case s.root && s.cg != nil:
		cg, err := s.cg.create(name, spec.MemoryBytes, spec.CPUShares)
		if err != nil {
			s.log.Debug("sandbox: cgroup v1 unavailable", "err", err)
		} else {
			e.cg = cg
		}
	}
	var err error
	if e.infoR, e.infoW, err = os.Pipe(); err != nil {
		e.Release()
		return nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	if e.blockR, e.blockW, err = os.Pipe(); err != nil {
		e.Release()
		return nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	return e, nil
}

// cpuShares is the cgroup v1 cpu.shares of an environment of memoryMB: CPU in proportion to
// memory, as Lambda gives it, scaled so that 1,769 MB (Lambda's one full vCPU) weighs as much
// as an ordinary process of the host (1024); never less than that, so that a small function is
// not starved by furl's own work on a busy host (Lambda gives 128 MB a fourteenth of a vCPU).
func cpuShares(memoryMB int64) int {
	return int(max(1024, min(262144, memoryMB*1024/1769)))
}

func (s *Sandbox) takeSlot() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; ; i++ {
		if !s.slots[i] {
			s.slots[i] = true
			return i
		}
	}
}

// UID is the host uid of the environment's processes (furl's own uid when it is not root).
func (e *Env) UID() int {
	if e.s.root {
		return e.uid
	}
	return os.Getuid()
}

// Files are the descriptors the bwrap process must inherit, in order, as fds 3, 4.
func (e *Env) Files() []*os.File { return []*os.File{e.infoW, e.blockR} }

// CloseFiles closes furl's copies of the child's ends once the child has started.
func (e *Env) CloseFiles() {
	if e.infoW != nil {
		e.infoW.Close()
		e.infoW = nil
	}
	if e.blockR != nil {
		e.blockR.Close()
		e.blockR = nil
	}
}

// Argv wraps the runtime's argv (whose paths are already the sandbox's: /var/task/...,
// /var/runtime/...) in the bwrap (and setpriv) command line.
func (e *Env) Argv(argv []string) []string {
	s := e.s
	a := []string{s.bwrap,
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--die-with-parent", "--new-session",
		"--info-fd", "3", "--block-fd", "4",
	}
	if !s.root {
		a = append(a, "--unshare-user", "--uid", strconv.Itoa(LambdaUID), "--gid", strconv.Itoa(LambdaUID), "--disable-userns")
	}
	for _, b := range s.binds {
		if b.link != "" {
			a = append(a, "--symlink", b.link, b.dst)
		} else {
			a = append(a, "--ro-bind", b.src, b.dst)
		}
	}
	for _, p := range e.spec.ReadOnly {
		if !covered(p, s.binds) {
			a = append(a, traversable(p)...)
			a = append(a, "--ro-bind", p, p)
		}
	}
	a = append(a, "--proc", "/proc", "--dev", "/dev",
		"--perms", "1777", "--size", strconv.FormatInt(e.spec.TmpBytes, 10), "--tmpfs", "/tmp",
		"--dir", "/var", "--ro-bind", e.spec.TaskDir, "/var/task")
	if e.spec.RuntimeDir != "" {
		a = append(a, "--ro-bind", e.spec.RuntimeDir, "/var/runtime")
	} else {
		a = append(a, "--dir", "/var/runtime")
	}
	if e.spec.OptDir != "" {
		a = append(a, "--ro-bind", e.spec.OptDir, "/opt")
	} else {
		a = append(a, "--dir", "/opt")
	}
	a = append(a, "--remount-ro", "/", "--chdir", "/var/task", "--")
	if s.root {
		id := strconv.Itoa(e.uid)
		a = append(a, s.setpriv, "--reuid="+id, "--regid="+id, "--clear-groups",
			"--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--")
	}
	return append(a, argv...)
}

// traversable makes the ancestors of p (below /) directories of mode 0711 in the sandbox's
// root. bwrap otherwise gives the directories it makes for a bind the modes of the host's
// (/root is 0700), so the environment's uid could not reach an interpreter installed under a
// home directory (pyenv, nvm): its executable still starts, but the dynamic loader and
// Python's own prefix search fall back to whatever /usr has, a different interpreter's library.
// These directories are the sandbox's own (its root is a tmpfs) and hold only the bind; they
// can be traversed, not listed.
func traversable(p string) []string {
	var out []string
	for d := filepath.Dir(filepath.Clean(p)); d != "/" && d != "."; d = filepath.Dir(d) {
		out = append([]string{"--perms", "0711", "--dir", d}, out...)
	}
	return out
}

// covered reports whether p is inside one of the system binds.
func covered(p string, binds []bind) bool {
	for _, b := range binds {
		if p == b.dst || strings.HasPrefix(p, b.dst+"/") {
			return true
		}
	}
	return false
}

// Started is called with the bwrap process's pid right after it started: it learns the pid of
// the environment's init, puts it into the environment's cgroups, caps its processes, then lets
// the runtime start. On error the caller kills the process.
func (e *Env) Started(bwrapPid int) error {
	e.CloseFiles()
	pid, err := readChildPid(e.infoR)
	e.infoR.Close()
	e.infoR = nil
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	e.initPid.Store(int64(pid))
	if e.cg != nil {
		if err := e.cg.join(pid); err != nil {
			return fmt.Errorf("sandbox: join cgroup: %w", err)
		}
	}
	lim := unix.Rlimit{Cur: MaxProcs, Max: MaxProcs}
	if err := unix.Prlimit(pid, unix.RLIMIT_NPROC, &lim, nil); err != nil {
		return fmt.Errorf("sandbox: limit processes: %w", err)
	}
	if _, err := e.blockW.Write([]byte{1}); err != nil {
		return fmt.Errorf("sandbox: release: %w", err)
	}
	e.blockW.Close()
	e.blockW = nil
	return nil
}

// readChildPid reads bwrap's --info-fd JSON up to its closing brace.
func readChildPid(r io.Reader) (int, error) {
	br := bufio.NewReader(r)
	var buf []byte
	for {
		line, err := br.ReadBytes('\n')
		buf = append(buf, line...)
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("}")) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("bwrap ended before the environment existed: %w", err)
		}
	}
	var info struct {
		ChildPid int `json:"child-pid"`
	}
	if err := json.Unmarshal(buf, &info); err != nil || info.ChildPid <= 0 {
		return 0, fmt.Errorf("bwrap info %q: %v", buf, err)
	}
	return info.ChildPid, nil
}

// InitPid is the host pid of the environment's PID-namespace init (0 before Started).
func (e *Env) InitPid() int { return int(e.initPid.Load()) }

// Kill kills every process of the environment: its PID namespace's init, which takes the rest
// with it.
func (e *Env) Kill() {
	if pid := e.InitPid(); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if e.cg != nil {
		e.cg.killAll()
	}
}

// HasMemoryCgroup reports whether memory is limited and measured by the environment's cgroup.
func (e *Env) HasMemoryCgroup() bool {
	return e.cg != nil && e.cg.memory != "" && e.spec.MemoryBytes > 0
}

// MemoryCurrent is the cgroup's memory use in bytes (0 without a cgroup).
func (e *Env) MemoryCurrent() int64 {
	if e.cg == nil {
		return 0
	}
	if e.cg.v2 {
		return e.cg.readInt(e.cg.memory, "memory.current")
	}
	return e.cg.readInt(e.cg.memory, "memory.usage_in_bytes")
}

// MemoryPeak is the cgroup's peak memory use in bytes (0 without a cgroup).
func (e *Env) MemoryPeak() int64 {
	if e.cg == nil {
		return 0
	}
	if e.cg.v2 {
		return e.cg.readInt(e.cg.memory, "memory.peak") // Linux 5.19+
	}
	return e.cg.readInt(e.cg.memory, "memory.max_usage_in_bytes")
}

// setupCgroupV2 takes furl's cgroup v2 subtree when it is delegated to furl and preferred by
// chooseCgroups; otherwise environments keep the v1 hierarchies (or none).
func (s *Sandbox) setupCgroupV2(log *slog.Logger) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	dir := v2Dir(self, cgroupRoot)
	ctl, verr := delegatedV2(dir)
	if chooseCgroups(ctl, verr, s.cg) != "v2" {
		log.Debug("sandbox: no delegated cgroup v2 subtree", "dir", dir, "err", verr)
		return
	}
	cg2, err := newCgroupV2(dir, ctl, log)
	if err != nil {
		log.Warn("sandbox: cannot use the delegated cgroup v2 subtree", "dir", dir, "err", err)
		return
	}
	s.cg2 = cg2
}

// OOMKilled reports whether the kernel killed a process of the environment for memory.
func (e *Env) OOMKilled() bool { return e.cg != nil && e.cg.oomKilled() }

// Release frees the uid and removes the cgroups once every process has exited.
func (e *Env) Release() {
	if e.released {
		return
	}
	e.released = true
	e.CloseFiles()
	for _, f := range []*os.File{e.infoR, e.blockW} {
		if f != nil {
			f.Close()
		}
	}
	if e.cg != nil {
		e.cg.remove()
	}
	if e.slot >= 0 {
		e.s.mu.Lock()
		delete(e.s.slots, e.slot)
		e.s.mu.Unlock()
	}
}

// HostPath maps a sandbox path (/var/task/..., /var/runtime/...) back to the host.
func (e *Env) HostPath(p string) string {
	for _, m := range [][2]string{{"/var/task", e.spec.TaskDir}, {"/var/runtime", e.spec.RuntimeDir}} {
		if m[1] == "" {
			continue
		}
		if p == m[0] || strings.HasPrefix(p, m[0]+"/") {
			return filepath.Join(m[1], strings.TrimPrefix(p, m[0]))
		}
	}
	return p
}
