//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
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

// need skips the test when a tool it drives is missing (err != nil), except under CI, where
// make test installs what the tests need (scripts/deps.sh) and a missing tool is a failure.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed: %v", what, err)
	}
	t.Skipf("%s is not installed: %v", what, err)
}

// needCommands calls need for each command, looked up in PATH (or at its absolute path).
func needCommands(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		_, err := exec.LookPath(name)
		need(t, name, err)
	}
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
	root    iamCreds // the root key pair it was started with
	cmd     *exec.Cmd
	logs    *bytes.Buffer
	exited  chan struct{}
}

// startFurl starts `furl serve` (with extra flags) with the given root key pair, waits until it
// answers, and kills its process group at the end of the test.
func startFurl(t *testing.T, dataDir, addr, key, secret string, extra ...string) *cpServer {
	t.Helper()
	return startFurlWith(t, dataDir, addr, key, secret, nil, extra...)
}

// startFurlWith is startFurl with extra environment entries (they win over furl's own) and
// extra serve flags.
func startFurlWith(t *testing.T, dataDir, addr, key, secret string, env []string, args ...string) *cpServer {
	t.Helper()
	s := &cpServer{t: t, dataDir: dataDir, addr: addr, root: iamCreds{key, secret, ""}, logs: &bytes.Buffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(furlBinary(t), append([]string{"serve", "--addr", addr, "--data-dir", dataDir, "--log-level", "debug"}, args...)...)
	s.cmd.Env = append(append(os.Environ(), "FURL_ROOT_ACCESS_KEY_ID="+key, "FURL_ROOT_SECRET_ACCESS_KEY="+secret), env...)
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

// cli is the AWS CLI v2 pointed at s.
func (s *cpServer) cli() iamClient {
	return iamClient{t: s.t, cli: "/usr/bin/aws", endpoint: s.endpoint(), logs: s.logs.String}
}

// aws runs the AWS CLI v2 as s's root and returns stdout, stderr and the error.
func (s *cpServer) aws(args ...string) (string, string, error) {
	s.t.Helper()
	return s.cli().run(s.root, args...)
}

// awsOK runs the AWS CLI v2 as s's root and decodes its JSON output; it must succeed.
func (s *cpServer) awsOK(args ...string) map[string]any {
	s.t.Helper()
	return s.cli().ok(s.root, args...)
}

// awsFails runs a command as s's root that must fail with the named exception.
func (s *cpServer) awsFails(exception string, args ...string) string {
	s.t.Helper()
	return s.cli().fails(exception, s.root, args...)
}

// clientEnv is the environment of a client of s (boto3 scripts): s's root credentials and its
// endpoint in FURL_ENDPOINT.
func (s *cpServer) clientEnv() []string {
	return append(iamEnv(s.root), "FURL_ENDPOINT="+s.endpoint())
}

// python runs a python3 script as a client of s (see clientEnv) and returns its stdout.
func (s *cpServer) python(script string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command("python3", append([]string{"-c", script}, args...)...)
	cmd.Env = s.clientEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("python3: %v\n%s\nserver log tail:\n%s", err, errb.String(), tail(s.logs.String(), 3000))
	}
	return out.String()
}

// iamCreds are the credentials a command runs with.
type iamCreds struct{ id, secret, token string }

// iamEnv is the environment of a client: only the given credentials, no config files.
func iamEnv(c iamCreds) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_ACCESS_KEY_ID="+c.id, "AWS_SECRET_ACCESS_KEY="+c.secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	if c.token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.token)
	}
	return env
}

// iamClient runs one AWS CLI (v1 or v2) against one endpoint.
type iamClient struct {
	t        *testing.T
	cli      string
	endpoint string
	logs     func() string
}

func (c iamClient) run(creds iamCreds, args ...string) (string, string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.cli, append([]string{"--endpoint-url", c.endpoint, "--output", "json"}, args...)...)
	cmd.Env = iamEnv(creds)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (c iamClient) ok(creds iamCreds, args ...string) map[string]any {
	c.t.Helper()
	out, errs, err := c.run(creds, args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s\nserver log tail:\n%s", c.cli, strings.Join(args, " "), err, errs, tail(c.logs(), 3000))
	}
	m := map[string]any{}
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			c.t.Fatalf("%s: output %q: %v", strings.Join(args, " "), out, err)
		}
	}
	return m
}

func (c iamClient) fails(code string, creds iamCreds, args ...string) string {
	c.t.Helper()
	_, errs, err := c.run(creds, args...)
	if err == nil {
		c.t.Fatalf("%s %s succeeded, want %s", c.cli, strings.Join(args, " "), code)
	}
	if !strings.Contains(errs, "("+code+")") {
		c.t.Fatalf("%s %s: stderr %q, want (%s)", c.cli, strings.Join(args, " "), errs, code)
	}
	return errs
}

// tail is the last n bytes of s (a server log).
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

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
