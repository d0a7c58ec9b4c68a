package bootstraps

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/sandbox"
)

// Hostile functions, run through the real pool in the real sandbox: every attempt must fail and
// the other functions keep serving.

func newSandboxPool(t *testing.T, set *Set, secretDir string) *pool.Pool {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("bwrap (bubblewrap) not installed")
		}
		t.Skip("bwrap (bubblewrap) not installed")
	}
	sb, err := sandbox.New(t.Context(), sandbox.Options{}, nil)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	work := filepath.Join(secretDir, "envs")
	p := pool.New(pool.Config{WorkDir: work, Path: "/usr/local/bin:/usr/bin:/bin", Sandbox: sb},
		slog.New(slog.NewTextHandler(io.Discard, nil)), pool.DefaultLauncher{Managed: set}, nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("close pool: %v", err)
		}
	})
	return p
}

// worldReadable makes the test's directories traversable as a packaged function's are
// (codestore unpacks with 0555 directories, 0444+ files).
func worldReadable(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := filepath.Walk(d, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if fi.IsDir() {
				return os.Chmod(p, 0o755)
			}
			return os.Chmod(p, fi.Mode().Perm()|0o444)
		}); err != nil {
			t.Fatal(err)
		}
	}
}

const otherPy = `
import os
def handler(e, c):
    return os.environ["AWS_LAMBDA_RUNTIME_API"] if e.get("api") else "other"
`

const attackPy = `
import os, json, socket, subprocess, ctypes, errno

def attempt(f):
    try:
        r = f()
        return "ok: " + str(r)[:200]
    except Exception as e:
        return "denied: " + type(e).__name__ + ": " + str(e)[:120]

def read(p):
    with open(p) as f:
        return f.read(100)

def write(p):
    with open(p, "w") as f:
        f.write("x")
    return p

def listdir(p):
    return os.listdir(p)

def kill(pid):
    os.kill(pid, 9)
    return pid

def mount():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "mounted"

def ptrace(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "attached"

def setuid0():
    os.setuid(0)
    return os.getuid()

def steal(addr):
    # The other environment's Runtime API (any local process can connect to its port, as
    # function A did to take B's events): try to take its next event and to answer one.
    host, port = addr.rsplit(":", 1)
    answered = []
    for req in (b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"):
        s = socket.create_connection((host, int(port)), timeout=5)
        try:
            s.sendall(req)
            data = s.recv(100)
        except OSError:
            data = b""
        finally:
            s.close()
        if data:
            answered.append(data[:40].decode("latin1"))
    if answered:
        return answered
    raise PermissionError("refused")

def handler(event, context):
    secret = event["secret"]
    other = event["other"]
    other_api = event["other_api"]
    out = {
        "uid": os.getuid(),
        "cwd": os.getcwd(),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "status": {l.split(":")[0]: l.split(":")[1].strip() for l in open("/proc/self/status") if l.startswith(("CapEff", "CapBnd", "NoNewPrivs"))},
        "init_caps": attempt(lambda: [l.split()[1] for l in open("/proc/1/status") if l.startswith(("CapEff", "CapPrm", "Uid"))]),
        "read_secret": attempt(lambda: read(secret + "/secret.txt")),
        "list_secret": attempt(lambda: listdir(secret)),
        "read_other_code": attempt(lambda: read(other + "/lambda_function.py")),
        "read_root_home": attempt(lambda: listdir("/root")),
        "read_home": attempt(lambda: listdir("/home")),
        "read_shadow": attempt(lambda: read("/etc/shadow")),
        "write_task": attempt(lambda: write("/var/task/x")),
        "write_etc": attempt(lambda: write("/etc/furl-owned")),
        "write_usr": attempt(lambda: write("/usr/furl-owned")),
        "write_root": attempt(lambda: write("/furl-owned")),
        "write_tmp": attempt(lambda: write("/tmp/mine")),
        "kill_furl": attempt(lambda: kill(event["furl_pid"])),
        "mount": attempt(mount),
        "ptrace_init": attempt(lambda: ptrace(1)),
        "setuid0": attempt(setuid0),
        "steal_runtime_api": attempt(lambda: steal(other_api)),
        "unshare_user": attempt(lambda: subprocess.run(["unshare", "-U", "-r", "true"], check=True, capture_output=True)),
    }
    return out
`

func TestSandboxHostilePython(t *testing.T) {
	needPython(t)
	set := newTestSet(t)
	secret := t.TempDir()
	if err := os.WriteFile(filepath.Join(secret, "secret.txt"), []byte("root credentials"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newSandboxPool(t, set, secret)
	worldReadable(t, set.Dir())

	other := poolTarget(t, "other", "python3.12", "lambda_function.handler",
		map[string]string{"lambda_function.py": otherPy})
	evil := poolTarget(t, "evil", "python3.12", "lambda_function.handler",
		map[string]string{"lambda_function.py": attackPy})
	worldReadable(t, other.CodeDir, evil.CodeDir)

	res := poolInvoke(t, p, other, &pool.Request{Payload: []byte(`{"api": true}`)})
	otherAPI := strings.Trim(string(res.Payload), `"`)
	if res.FunctionError != "" || !strings.HasPrefix(otherAPI, "127.0.0.1:") {
		t.Fatalf("other: %s %s", res.FunctionError, res.Payload)
	}
	// Nor may a process outside every environment (this test) use it.
	if c, err := net.DialTimeout("tcp", otherAPI, 5*time.Second); err == nil {
		_, _ = c.Write([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, _ := c.Read(make([]byte, 100)); n > 0 {
			t.Errorf("a process outside the environment got an answer from its Runtime API")
		}
		c.Close()
	}
	ev, _ := json.Marshal(map[string]any{"secret": secret, "other": other.CodeDir, "other_api": otherAPI, "furl_pid": os.Getpid()})
	res = poolInvoke(t, p, evil, &pool.Request{Payload: ev})
	if res.FunctionError != "" {
		t.Fatalf("evil: %s %s\n%s", res.FunctionError, res.Payload, res.Log)
	}
	var out map[string]any
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("%v: %s", err, res.Payload)
	}
	t.Logf("%s", res.Payload)
	if uid := out["uid"].(float64); uid == 0 {
		t.Errorf("function runs as root")
	}
	if out["cwd"] != "/var/task" || out["task_root"] != "/var/task" {
		t.Errorf("cwd %v, LAMBDA_TASK_ROOT %v; want /var/task", out["cwd"], out["task_root"])
	}
	if pids := out["pids"].([]any); len(pids) > 3 {
		t.Errorf("function sees %d processes: %v", len(pids), pids)
	}
	st := out["status"].(map[string]any)
	if st["CapEff"] != "0000000000000000" || st["NoNewPrivs"] != "1" {
		t.Errorf("capabilities/no_new_privs: %v", st)
	}
	for _, k := range []string{"read_secret", "list_secret", "read_other_code", "read_root_home", "read_shadow",
		"write_task", "write_etc", "write_usr", "write_root", "kill_furl", "mount", "setuid0", "steal_runtime_api"} {
		if v, _ := out[k].(string); !strings.HasPrefix(v, "denied") {
			t.Errorf("%s: %v", k, out[k])
		}
	}
	// The environment's init (bwrap's reaper) may be traced only where that gains nothing: as an
	// ordinary user it is the function's own uid with no capabilities; as root it is root's.
	if v, _ := out["ptrace_init"].(string); !strings.HasPrefix(v, "denied") && out["init_caps"] != "ok: ['993', '0000000000000000', '0000000000000000']" {
		t.Errorf("ptrace_init: %v (init: %v)", v, out["init_caps"])
	}
	if v, _ := out["write_tmp"].(string); !strings.HasPrefix(v, "ok") {
		t.Errorf("write_tmp: %v", out["write_tmp"])
	}
	if res := poolInvoke(t, p, other, &pool.Request{Payload: []byte(`{}`)}); string(res.Payload) != `"other"` {
		t.Fatalf("other after the attack: %s %s", res.FunctionError, res.Payload)
	}
}

// TestSandboxLimitsPython: a fork bomb, a memory bomb, a /tmp filler and a setsid'd child each
// end (or are capped in) their own environment only, with AWS's error, while another function
// keeps answering.
func TestSandboxLimitsPython(t *testing.T) {
	needPython(t)
	set := newTestSet(t)
	p := newSandboxPool(t, set, t.TempDir())
	worldReadable(t, set.Dir())
	other := poolTarget(t, "other", "python3.12", "lambda_function.handler",
		map[string]string{"lambda_function.py": "def handler(e, c):\n    return 'other'\n"})
	worldReadable(t, other.CodeDir)
	otherOK := func(when string) {
		t.Helper()
		start := time.Now()
		if res := poolInvoke(t, p, other, &pool.Request{Payload: []byte(`{}`)}); string(res.Payload) != `"other"` {
			t.Fatalf("other %s: %s %s", when, res.FunctionError, res.Payload)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("other %s took %v", when, d)
		}
	}
	otherOK("before")

	fn := func(name, code string, mem int) *pool.Target {
		tg := poolTarget(t, name, "python3.12", "lambda_function.handler", map[string]string{"lambda_function.py": code})
		tg.MemoryMB = mem
		worldReadable(t, tg.CodeDir)
		return tg
	}
	t.Run("fork bomb", func(t *testing.T) {
		tg := fn("forkbomb", `
import os, time
def handler(e, c):
    n = 0
    try:
        while n < 5000:
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            n += 1
    except OSError as err:
        return {"forked": n, "error": str(err)}
    return {"forked": n}
`, 3008)
		tg.Timeout = 90 * time.Second
		ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
		defer cancel()
		res, err := p.Invoke(ctx, tg, &pool.Request{Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Forked int
			Error  string
		}
		_ = json.Unmarshal(res.Payload, &out)
		if out.Forked >= sandbox.MaxProcs || out.Error == "" {
			t.Errorf("fork bomb not capped: %s %s", res.FunctionError, res.Payload)
		}
		otherOK("during the fork bomb")
	})
	t.Run("memory bomb", func(t *testing.T) {
		tg := fn("membomb", `
def handler(e, c):
    hog = []
    while True:
        hog.append(b"\x01" * (16 << 20))
`, 128)
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
		if res.ErrorType != "Runtime.OutOfMemory" {
			t.Errorf("memory bomb: %s %s %s", res.FunctionError, res.ErrorType, res.Payload)
		}
		if !strings.Contains(string(res.Log), "Max Memory Used: 128 MB") {
			t.Errorf("memory bomb REPORT: %s", res.Log)
		}
		otherOK("after the memory bomb")
	})
	t.Run("tmp filler", func(t *testing.T) {
		tg := fn("tmpfill", `
import os
def handler(e, c):
    n = 0
    try:
        with open("/tmp/fill", "wb") as f:
            while n < 2048:
                f.write(b"x" * (1 << 20))
                f.flush()
                n += 1
    except OSError as err:
        return {"mb": n, "error": str(err)}
    return {"mb": n}
`, 1024)
		tg.EphemeralStorageMB = 600
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
		var out struct {
			MB    int
			Error string
		}
		_ = json.Unmarshal(res.Payload, &out)
		if out.MB > 600 || !strings.Contains(out.Error, "No space left") {
			t.Errorf("/tmp not capped at 600 MB: %s", res.Payload)
		}
		otherOK("after the /tmp filler")
	})
	t.Run("setsid child dies with its environment", func(t *testing.T) {
		tg := fn("runaway", `
import subprocess, os
def handler(e, c):
    p = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    os._exit(3) if e.get("exit") else None
    return p.pid
`, 128)
		before := sleepers(t)
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{"exit": true}`)})
		if res.ErrorType != "Runtime.ExitError" {
			t.Errorf("exit: %s %s", res.ErrorType, res.Payload)
		}
		deadline := time.Now().Add(5 * time.Second)
		for sleepers(t) > before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := sleepers(t); n > before {
			t.Errorf("%d setsid'd children outlived their environment", n-before)
		}
	})
}

// sleepers counts "sleep 1000" processes on the host.
func sleepers(t *testing.T) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(b) == "sleep\x001000\x00" {
			n++
		}
	}
	return n
}

// TestSandboxDiesWithFurl: a SIGKILL of furl (here a child test process running the pool) takes
// every process of every environment with it, setsid'd ones included.
func TestSandboxDiesWithFurl(t *testing.T) {
	if os.Getenv("FURL_TEST_SANDBOX_CHILD") == "1" {
		sandboxChild(t)
		return
	}
	needPython(t)
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap not installed")
	}
	before := countCmdline("sleep\x001001\x00")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSandboxDiesWithFurl$", "-test.v")
	cmd.Env = append(os.Environ(), "FURL_TEST_SANDBOX_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4096)
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(string(buf), "SANDBOX-READY") && time.Now().Before(deadline) {
		b := make([]byte, 512)
		n, err := out.Read(b)
		buf = append(buf, b[:n]...)
		if err != nil {
			break
		}
	}
	if !strings.Contains(string(buf), "SANDBOX-READY") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not get ready: %s", buf)
	}
	if n := countCmdline("sleep\x001001\x00"); n <= before {
		t.Fatalf("the function's setsid'd sleep is not running (%d)", n)
	}
	_ = cmd.Process.Signal(os.Kill)
	_ = cmd.Wait()
	deadline = time.Now().Add(5 * time.Second)
	for countCmdline("sleep\x001001\x00") > before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := countCmdline("sleep\x001001\x00"); n > before {
		t.Errorf("%d processes of the environment outlived a SIGKILL of furl", n-before)
	}
}

func sandboxChild(t *testing.T) {
	set := newTestSet(t)
	p := newSandboxPool(t, set, t.TempDir())
	worldReadable(t, set.Dir())
	tg := poolTarget(t, "survivor", "python3.12", "lambda_function.handler", map[string]string{"lambda_function.py": `
import subprocess
def handler(e, c):
    subprocess.Popen(["sleep", "1001"], start_new_session=True)
    return "started"
`})
	worldReadable(t, tg.CodeDir)
	res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
	if string(res.Payload) != `"started"` {
		t.Fatalf("%s %s", res.FunctionError, res.Payload)
	}
	time.Sleep(200 * time.Millisecond)
	os.Stdout.WriteString("SANDBOX-READY\n")
	time.Sleep(5 * time.Minute)
}

func countCmdline(want string) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(b) == want {
			n++
		}
	}
	return n
}

// TestSandboxHostileNode: a Node.js ESM (.mjs) handler in the sandbox: the same file-system,
// process and privilege attempts fail, /tmp works across warm invokes.
func TestSandboxHostileNode(t *testing.T) {
	needNode(t)
	set, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	secret := t.TempDir()
	if err := os.WriteFile(filepath.Join(secret, "secret.txt"), []byte("root credentials"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newSandboxPool(t, set, secret)
	worldReadable(t, set.Dir())
	evil := poolTarget(t, "evil-node", "nodejs20.x", "index.handler", map[string]string{"index.mjs": `
import fs from "node:fs";
const attempt = (f) => { try { return "ok: " + String(f()).slice(0, 100); } catch (e) { return "denied: " + e.code; } };
export const handler = async (event) => ({
  uid: process.getuid(),
  cwd: process.cwd(),
  pids: fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).length,
  read_secret: attempt(() => fs.readFileSync(event.secret + "/secret.txt", "utf8")),
  write_task: attempt(() => fs.writeFileSync("/var/task/x", "x")),
  write_etc: attempt(() => fs.writeFileSync("/etc/x", "x")),
  kill_furl: attempt(() => process.kill(event.furl_pid, "SIGKILL")),
  tmp_before: attempt(() => fs.readFileSync("/tmp/state", "utf8")),
  tmp_write: attempt(() => { fs.writeFileSync("/tmp/state", "kept"); return "written"; }),
});
`})
	worldReadable(t, evil.CodeDir)
	ev, _ := json.Marshal(map[string]any{"secret": secret, "furl_pid": os.Getpid()})
	var out map[string]any
	for i := 0; i < 2; i++ {
		res := poolInvoke(t, p, evil, &pool.Request{Payload: ev})
		if res.FunctionError != "" {
			t.Fatalf("evil: %s %s\n%s", res.FunctionError, res.Payload, res.Log)
		}
		out = nil
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatalf("%v: %s", err, res.Payload)
		}
		t.Logf("%s", res.Payload)
	}
	if out["uid"].(float64) == 0 || out["cwd"] != "/var/task" || out["pids"].(float64) > 3 {
		t.Errorf("uid %v cwd %v pids %v", out["uid"], out["cwd"], out["pids"])
	}
	for _, k := range []string{"read_secret", "write_task", "write_etc", "kill_furl"} {
		if v, _ := out[k].(string); !strings.HasPrefix(v, "denied") {
			t.Errorf("%s: %v", k, out[k])
		}
	}
	if out["tmp_before"] != "ok: kept" {
		t.Errorf("/tmp across warm invokes: %v", out["tmp_before"])
	}
}
