//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The harness every suite shares: build furl once, start `furl serve` on a free loopback port,
// write deployment packages.

var furlBuild struct {
	sync.Once
	bin string
	err error
}

// repoRoot is the module root.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// furlBinary builds cmd/furl once per test run.
func furlBinary(t *testing.T) string {
	t.Helper()
	furlBuild.Do(func() {
		dir, err := os.MkdirTemp("", "furl-e2e-bin-")
		if err != nil {
			furlBuild.err = err
			return
		}
		furlBuild.bin = filepath.Join(dir, "furl")
		cmd := exec.Command("go", "build", "-o", furlBuild.bin, "./cmd/furl")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			furlBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if furlBuild.err != nil {
		t.Fatal(furlBuild.err)
	}
	return furlBuild.bin
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// cpServer is a running furl serve.
type cpServer struct {
	t       *testing.T
	dataDir string
	addr    string
	cmd     *exec.Cmd
	logs    *bytes.Buffer
	exited  chan struct{}
}

// startFurl starts `furl serve` with the given root key pair, waits until it answers, and kills
// its process group at the end of the test.
func startFurl(t *testing.T, dataDir, addr, key, secret string) *cpServer {
	t.Helper()
	s := &cpServer{t: t, dataDir: dataDir, addr: addr, logs: &bytes.Buffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(furlBinary(t), "serve", "--addr", addr, "--data-dir", dataDir, "--log-level", "debug")
	s.cmd.Env = append(os.Environ(), "FURL_ROOT_ACCESS_KEY_ID="+key, "FURL_ROOT_SECRET_ACCESS_KEY="+secret)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() { s.stop(syscall.SIGKILL) })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/2015-03-31/functions"); err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("furl serve exited:\n%s", s.logs)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("furl serve did not start:\n%s", s.logs)
	return nil
}

// stop signals the server (its whole process group for SIGKILL) and waits for it.
func (s *cpServer) stop(sig syscall.Signal) {
	select {
	case <-s.exited:
		return
	default:
	}
	if sig == syscall.SIGKILL {
		_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	} else {
		_ = s.cmd.Process.Signal(sig)
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

func (s *cpServer) endpoint() string { return "http://" + s.addr }

// writeZip writes a deployment package into dir and returns its path; files named bootstrap
// (in any folder) are executable.
func writeZip[B ~string | ~[]byte](t *testing.T, dir string, files map[string]B) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		fh := &zip.FileHeader{Name: name, Method: zip.Deflate}
		fh.SetMode(0o644)
		if path.Base(name) == "bootstrap" {
			fh.SetMode(0o755)
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, fmt.Sprintf("pkg-%d.zip", time.Now().UnixNano()))
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
