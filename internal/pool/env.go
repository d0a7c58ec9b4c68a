package pool

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/runtimeapi"
	"github.com/furl/furl/internal/sandbox"
	"github.com/furl/furl/internal/supervisor"
	"github.com/google/uuid"
)

// env is one execution environment: a runtime process, its Runtime API, its own copy of the
// code and its own temporary directory.
type env struct {
	*slot    // the scheduler's record (scheduler.go)
	p        *Pool
	target   Target
	id       string
	dir      string
	taskRoot string
	optDir   string // the environment's merged layers; "" without layers
	stream   string

	srv  *runtimeapi.Server
	proc *supervisor.Process

	ready      chan struct{} // closed when the runtime first enters /next
	initFailed chan struct{} // closed when the runtime posts /init/error
	initMu     sync.Mutex
	initType   string
	initBody   []byte
	failOnce   sync.Once

	// creds are the execution role's credentials, given at start (Config.Credentials).
	creds Creds

	startedAt    time.Time
	initDuration time.Duration
	copyDuration time.Duration
	staged       bool // the code was a staged copy (see Pool.Stage)
	timer        *time.Timer

	outMu sync.Mutex
	cur   *invLog
}

// invLog collects one invocation's lines for Result.Log.
type invLog struct {
	requestID  string
	lines      []byte
	collecting bool
	logged     int64 // bytes of output seen, for the cap (Config.MaxLogBytesPerInvoke)
	truncated  bool
}

const maxCollected = 16 << 10

func (c *invLog) add(line []byte) {
	if !c.collecting {
		return
	}
	if len(c.lines)+len(line)+1 > maxCollected {
		// Keep the tail: X-Amz-Log-Result only shows the last 4 KB.
		keep := maxCollected / 2
		if keep > len(c.lines) {
			keep = len(c.lines)
		}
		n := copy(c.lines, c.lines[len(c.lines)-keep:])
		c.lines = c.lines[:n]
		if len(line) > maxCollected/2 {
			line = line[len(line)-maxCollected/2:]
		}
	}
	c.lines = append(c.lines, line...)
	c.lines = append(c.lines, '\n')
}

// output attributes one line of the runtime's stdout/stderr.
func (e *env) output(line []byte) {
	now := time.Now()
	var reqID string
	e.outMu.Lock()
	if c := e.cur; c != nil {
		reqID = c.requestID
		if max := e.p.maxLogBytes(); max > 0 {
			c.logged += int64(len(line)) + 1
			if c.logged > max {
				if c.truncated {
					e.outMu.Unlock()
					return
				}
				c.truncated = true
				line = fmt.Appendf(nil, "furl: log output truncated: this invocation printed more than %d bytes; the rest is dropped", max)
			}
		}
		c.add(line)
	}
	e.outMu.Unlock()
	if e.p.logs != nil {
		e.p.logs.Append(invocationlog.Event{Time: now, Function: e.target.FunctionName, Stream: e.stream, RequestID: reqID, Message: string(line)})
	}
}

// maxLogBytes is the per-invocation output cap, or 0 for none.
func (p *Pool) maxLogBytes() int64 {
	switch n := p.cfg.MaxLogBytesPerInvoke; {
	case n < 0:
		return 0
	case n == 0:
		return DefaultMaxLogBytesPerInvoke
	default:
		return n
	}
}

func (e *env) appendLog(now time.Time, reqID string, msgs ...[]byte) {
	if e.p.logs == nil {
		return
	}
	evs := make([]invocationlog.Event, len(msgs))
	for i, m := range msgs {
		evs[i] = invocationlog.Event{Time: now, Function: e.target.FunctionName, Stream: e.stream, RequestID: reqID, Message: string(m)}
	}
	e.p.logs.Append(evs...)
}

// start copies the code (or, sandboxed, binds it read-only at /var/task), opens the Runtime API
// and starts the runtime process.
func (e *env) start(ctx context.Context) error {
	t := &e.target
	if err := e.p.cfg.SandboxError; err != nil {
		return &EntrypointError{Runtime: t.Runtime, Reason: err.Error()}
	}
	if err := e.fetchCreds(ctx); err != nil {
		return err
	}
	e.dir = filepath.Join(e.p.cfg.WorkDir, e.id)
	sb := e.p.cfg.Sandbox
	hostTask := t.CodeDir
	tmp := "/tmp"
	if sb == nil {
		e.taskRoot = filepath.Join(e.dir, "task")
		hostTask = e.taskRoot
		tmp = filepath.Join(e.dir, "tmp")
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return fmt.Errorf("pool: env dir: %w", err)
		}
		copyStart := time.Now()
		staged, err := e.p.placeCode(t.CodeDir, e.taskRoot)
		if err != nil {
			return fmt.Errorf("pool: copy code: %w", err)
		}
		e.copyDuration, e.staged = time.Since(copyStart), staged
	} else {
		e.taskRoot = sandboxTask
	}
	if err := e.mergeLayers(sb != nil); err != nil {
		return err
	}
	argv, lenv, err := e.p.launcher.Command(t.Runtime, t.Handler, hostTask)
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		return &EntrypointError{Runtime: t.Runtime, Reason: "launcher returned no command"}
	}
	var jail *sandbox.Env
	if sb != nil {
		runtimeDir := runtimeDirOf(e.p.launcher)
		argv, lenv = toSandbox(argv, hostTask, runtimeDir), toSandbox(lenv, hostTask, runtimeDir)
		spec := sandbox.Spec{TaskDir: t.CodeDir, RuntimeDir: runtimeDir, OptDir: t.OptDir,
			TmpBytes: int64(t.EphemeralStorageMB) << 20, MemoryBytes: int64(t.MemoryMB) << 20}
		var ro []string
		argv[0], ro = interpreterBinds(argv[0])
		spec.ReadOnly = append(spec.ReadOnly, ro...)
		if jail, err = sb.Prepare(spec); err != nil {
			return err
		}
	}
	// Set before the server exists, so its goroutines see it (the race detector cannot see the
	// ordering through the runtime process).
	e.startedAt = time.Now()
	rcfg := runtimeapi.Config{
		FunctionName: t.FunctionName, FunctionVersion: t.Version, Handler: t.Handler,
		MaxResponseBytes: e.p.cfg.MaxResponseBytes, MaxStreamBytes: e.p.cfg.MaxStreamBytes,
	}
	if jail != nil {
		rcfg.Admit = jail.Owns
	}
	srv, err := runtimeapi.New(rcfg, runtimeapi.Hooks{Idle: e.onIdle, InitError: e.onInitError}, e.p.log)
	if err != nil {
		if jail != nil {
			jail.Release()
		}
		return err
	}
	e.srv = srv
	e.outMu.Lock()
	e.cur = &invLog{collecting: true}
	e.outMu.Unlock()
	dir := e.taskRoot
	if jail != nil {
		dir = "/"
	}
	proc, err := supervisor.Start(supervisor.Spec{
		Argv:         argv,
		Env:          e.environ(lenv, tmp),
		Dir:          dir,
		MemoryLimit:  int64(t.MemoryMB) << 20,
		Output:       e.output,
		PollInterval: e.p.cfg.MemoryPollInterval,
		CPUs:         e.p.cpus(t.MemoryMB),
		Sandbox:      jail,
		Placement:    e.p.placement,
	}, e.p.log)
	if err != nil {
		srv.Close()
		if jail != nil {
			jail.Release()
		}
		var pe *fs.PathError
		if errors.As(err, &pe) || errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist) {
			return &EntrypointError{Runtime: t.Runtime, Reason: err.Error()}
		}
		return err
	}
	e.proc = proc
	return nil
}

// fetchCreds gets the execution role's credentials for a new environment (Config.Credentials).
func (e *env) fetchCreds(ctx context.Context) error {
	t := &e.target
	if e.p.cfg.Credentials == nil || t.Role == "" {
		return nil
	}
	// The session outlives the request that cold-starts the environment.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	c, err := e.p.cfg.Credentials(ctx, t.Role, t.FunctionName)
	if err != nil {
		return &EntrypointError{Runtime: t.Runtime, Reason: "execution role credentials: " + err.Error()}
	}
	e.creds = c
	if !c.Expiration.IsZero() {
		e.p.sched.retire(e.slot, c.Expiration.Add(-(t.Timeout + e.p.cfg.CredentialsMargin)))
	}
	return nil
}

// sandboxTask is where a sandboxed environment sees its code, as on Lambda.
const sandboxTask = "/var/task"

// runtimeDirer is implemented by launchers whose bootstraps live in one host directory, bound
// at /var/runtime in a sandbox.
type runtimeDirer interface{ RuntimeDir() string }

func runtimeDirOf(l Launcher) string {
	if r, ok := l.(runtimeDirer); ok {
		return r.RuntimeDir()
	}
	return ""
}

// toSandbox rewrites host paths in argv or KEY=value entries to the sandbox's: the code
// directory to /var/task, the bootstraps' directory to /var/runtime.
func toSandbox(list []string, hostTask, runtimeDir string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		s = replacePrefix(s, hostTask, sandboxTask)
		if runtimeDir != "" {
			s = replacePrefix(s, runtimeDir, "/var/runtime")
		}
		out[i] = s
	}
	return out
}

// replacePrefix replaces dir (a whole path element prefix) in s, which may be "KEY=path" or a
// ':'-separated list of paths.
func replacePrefix(s, dir, to string) string {
	if dir == "" || !strings.Contains(s, dir) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], dir)
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		j += i
		end := j + len(dir)
		startOK := j == 0 || s[j-1] == '=' || s[j-1] == ':'
		endOK := end == len(s) || s[end] == '/' || s[end] == ':'
		b.WriteString(s[i:j])
		if startOK && endOK {
			b.WriteString(to)
		} else {
			b.WriteString(dir)
		}
		i = end
	}
	return b.String()
}

// interpreterBinds returns the interpreter to run in the sandbox and the host trees to bind
// read-only for it: the tree of the path as found (a virtualenv's bin/python3 keeps its
// environment) and the tree its symlinks lead to (a python3 on PATH may be a symlink into a
// tree elsewhere). A path under /tmp, which the sandbox replaces with its own, is run through
// its resolved path.
func interpreterBinds(argv0 string) (string, []string) {
	var ro []string
	add := func(p string) {
		if p != "" && p != "/tmp" && !strings.HasPrefix(p, "/tmp/") && !slices.Contains(ro, p) {
			ro = append(ro, p)
		}
	}
	add(interpreterPrefix(argv0))
	if !filepath.IsAbs(argv0) || strings.HasPrefix(argv0, sandboxTask+"/") || strings.HasPrefix(argv0, "/var/runtime/") {
		return argv0, ro
	}
	real, err := filepath.EvalSymlinks(argv0)
	if err != nil || real == argv0 {
		return argv0, ro
	}
	add(interpreterPrefix(real))
	if strings.HasPrefix(argv0, "/tmp/") {
		argv0 = real
	}
	return argv0, ro
}

// interpreterPrefix is the installation prefix of an interpreter outside the sandbox's system
// directories (a pyenv or nvm install: <prefix>/bin/python3), bound read-only at the same path.
func interpreterPrefix(argv0 string) string {
	if !filepath.IsAbs(argv0) || strings.HasPrefix(argv0, sandboxTask+"/") || strings.HasPrefix(argv0, "/var/runtime/") ||
		strings.HasPrefix(argv0, "/usr/") {
		return ""
	}
	prefix := filepath.Dir(filepath.Dir(argv0))
	if prefix == "/" || prefix == "." {
		return filepath.Dir(argv0)
	}
	return prefix
}

func (e *env) onIdle(first bool) {
	if first {
		e.initDuration = time.Since(e.startedAt)
		close(e.ready)
	}
}

func (e *env) onInitError(typ string, body []byte) {
	e.failOnce.Do(func() {
		e.initMu.Lock()
		e.initType, e.initBody = typ, body
		e.initMu.Unlock()
		close(e.initFailed)
	})
}

func (e *env) initError() (string, []byte) {
	e.initMu.Lock()
	defer e.initMu.Unlock()
	return e.initType, e.initBody
}

// environ builds the process environment: defaults < launcher < function configuration <
// platform-reserved variables (Runtime API spec §3.1).
func (e *env) environ(launcherEnv []string, tmp string) []string {
	t := &e.target
	m := map[string]string{
		"PATH":               e.p.cfg.Path,
		"LANG":               "en_US.UTF-8",
		"LD_LIBRARY_PATH":    "/lib64:/usr/lib64:" + e.taskRoot + ":" + e.taskRoot + "/lib",
		"LAMBDA_RUNTIME_DIR": "/var/runtime",
	}
	for _, kv := range launcherEnv {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	for k, v := range t.Environment {
		if !lambda.ReservedEnv(k) {
			m[k] = v
		}
	}
	if e.optDir != "" {
		for k, v := range layerPathEnv(t.Runtime, e.optDir, m) {
			m[k] = v
		}
	}
	mem := strconv.Itoa(t.MemoryMB)
	reserved := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          e.srv.Addr(),
		"_HANDLER":                        t.Handler,
		"LAMBDA_TASK_ROOT":                e.taskRoot,
		"AWS_REGION":                      t.Region,
		"AWS_DEFAULT_REGION":              t.Region,
		"AWS_LAMBDA_FUNCTION_NAME":        t.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION":     t.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": mem,
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + t.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME":      e.stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"TZ":                              ":UTC",
		"TMPDIR":                          tmp,
	}
	if e.creds.AccessKeyID != "" {
		reserved["AWS_ACCESS_KEY_ID"] = e.creds.AccessKeyID
		reserved["AWS_SECRET_ACCESS_KEY"] = e.creds.SecretAccessKey
		reserved["AWS_SESSION_TOKEN"] = e.creds.SessionToken
	}
	if f := e.p.cfg.EndpointURL; f != nil {
		if u := f(); u != "" {
			reserved["AWS_ENDPOINT_URL"] = u
		}
	}
	for k, v := range reserved {
		m[k] = v
	}
	// Never: they switch aws-lambda-go to net/rpc or the RICs to managed-instances mode.
	delete(m, "_LAMBDA_SERVER_PORT")
	delete(m, "AWS_LAMBDA_MAX_CONCURRENCY")
	if m["AWS_LAMBDA_INITIALIZATION_TYPE"] == "snap-start" {
		m["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// copyTree copies src into dst (a fresh directory): regular files with their modes,
// directories and symlinks. No hard links, so environments never share inodes.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFile(path, target, info.Mode().Perm())
		}
		return nil // sockets, devices, fifos: skipped
	})
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func newEnvID() string {
	u := uuid.New()
	return hex.EncodeToString(u[:])
}

// newTraceID returns an X-Ray trace header: Root=1-<8 hex time>-<24 hex>;Parent=<16 hex>;Sampled=0.
func newTraceID(now time.Time) string {
	b := make([]byte, 0, 80)
	b = append(b, "Root=1-"...)
	b = appendHex(b, uint64(now.Unix()), 8)
	b = append(b, '-')
	b = appendHex(b, rand.Uint64()>>32, 8)
	b = appendHex(b, rand.Uint64(), 16)
	b = append(b, ";Parent="...)
	b = appendHex(b, rand.Uint64(), 16)
	b = append(b, ";Sampled=0"...)
	return string(b)
}

func appendHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for i := width - 1; i >= 0; i-- {
		b = append(b, digits[(v>>(uint(i)*4))&0xf])
	}
	return b
}

// mbPerVCPU is the memory size at which Lambda gives a function one full vCPU.
const mbPerVCPU = 1769

// cpus is the number of CPUs an environment of memoryMB gets (0: no limit).
func (p *Pool) cpus(memoryMB int) int {
	if !p.cfg.CPUAffinity || memoryMB <= 0 {
		return 0
	}
	return (memoryMB + mbPerVCPU - 1) / mbPerVCPU
}
