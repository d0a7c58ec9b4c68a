// Command hostilego is a hostile Lambda function built with aws-lambda-go for the sandbox
// tests: each "op" tries to break out of its execution environment, or to exhaust it, and
// reports what happened.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Op       string `json:"op"`
	Secret   string `json:"secret"`
	Other    string `json:"other"`
	OtherAPI string `json:"other_api"`
	FurlPid  int    `json:"furl_pid"`
}

func attempt(f func() (string, error)) string {
	r, err := f()
	if err != nil {
		return "denied: " + err.Error()
	}
	if len(r) > 200 {
		r = r[:200]
	}
	return "ok: " + r
}

func read(p string) func() (string, error) {
	return func() (string, error) {
		b, err := os.ReadFile(p)
		return string(b), err
	}
}

func list(p string) func() (string, error) {
	return func() (string, error) {
		ents, err := os.ReadDir(p)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return strings.Join(names, ","), err
	}
}

func write(p string) func() (string, error) {
	return func() (string, error) { return p, os.WriteFile(p, []byte("x"), 0o644) }
}

// steal connects to another environment's Runtime API and tries to take its next event.
func steal(addr string) func() (string, error) {
	return func() (string, error) {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			return "", err
		}
		defer c.Close()
		_, _ = c.Write([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 256)
		n, err := c.Read(buf)
		if n > 0 {
			return string(buf[:n]), nil
		}
		return "", fmt.Errorf("refused: %v", err)
	}
}

func handle(ctx context.Context, ev event) (any, error) {
	switch ev.Op {
	case "attack":
		wd, _ := os.Getwd()
		out := map[string]any{
			"uid":             os.Getuid(),
			"cwd":             wd,
			"task_root":       os.Getenv("LAMBDA_TASK_ROOT"),
			"read_secret":     attempt(read(filepath.Join(ev.Secret, "secret.txt"))),
			"list_secret":     attempt(list(ev.Secret)),
			"read_other_code": attempt(read(filepath.Join(ev.Other, "bootstrap"))),
			"read_root_home":  attempt(list("/root")),
			"read_shadow":     attempt(read("/etc/shadow")),
			"write_task":      attempt(write("/var/task/x")),
			"write_etc":       attempt(write("/etc/furl-owned")),
			"write_root":      attempt(write("/furl-owned")),
			"write_tmp":       attempt(write("/tmp/mine")),
			"kill_furl": attempt(func() (string, error) {
				return "killed", syscall.Kill(ev.FurlPid, syscall.SIGKILL)
			}),
			"mount": attempt(func() (string, error) {
				return "mounted", syscall.Mount("none", "/tmp", "tmpfs", 0, "")
			}),
			"ptrace_init": attempt(func() (string, error) {
				return "attached", syscall.PtraceAttach(1)
			}),
			"setuid0": attempt(func() (string, error) {
				return "root", syscall.Setuid(0)
			}),
			// A setuid-root binary gives nothing under no_new_privs (or without a mapped root).
			"setuid_binary": attempt(func() (string, error) {
				b, err := exec.Command("mount", "-t", "tmpfs", "none", "/tmp").CombinedOutput()
				return string(b), err
			}),
			"steal_runtime_api": attempt(steal(ev.OtherAPI)),
		}
		return out, nil
	case "files":
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		next, err := os.ReadFile(filepath.Join(filepath.Dir(exe), "data.txt"))
		if err != nil {
			return nil, err
		}
		root, err := os.ReadFile(filepath.Join(os.Getenv("LAMBDA_TASK_ROOT"), "data.txt"))
		if err != nil {
			return nil, err
		}
		return map[string]string{"exe": exe, "next": string(next), "root": string(root)}, nil
	case "tmpfill":
		f, err := os.Create("/tmp/fill")
		if err != nil {
			return nil, err
		}
		defer f.Close()
		chunk := make([]byte, 1<<20)
		n := 0
		for ; n < 4096; n++ {
			if _, err := f.Write(chunk); err != nil {
				return map[string]any{"mb": n, "error": err.Error(), "enospc": errors.Is(err, syscall.ENOSPC)}, nil
			}
		}
		return map[string]any{"mb": n}, nil
	case "forkbomb":
		var procs []*exec.Cmd
		var last error
		for len(procs) < 2000 {
			c := exec.Command("sleep", "60")
			if last = c.Start(); last != nil {
				break
			}
			procs = append(procs, c)
		}
		n := len(procs)
		for _, c := range procs {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		return map[string]any{"started": n, "error": fmt.Sprint(last)}, nil
	case "membomb":
		var hog [][]byte
		for {
			b := make([]byte, 16<<20)
			for i := range b {
				if i%4096 == 0 {
					b[i] = 1
				}
			}
			hog = append(hog, b)
		}
	}
	return "ok", nil
}

func main() { lambda.Start(handle) }
