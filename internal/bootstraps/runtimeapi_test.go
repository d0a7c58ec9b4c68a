package bootstraps

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file is a small Runtime API (2018-06-01) that the real bootstrap processes talk to over
// loopback: it hands out one invocation at a time on /next and records what the runtime posts
// back, including when each chunk of a streamed body arrived.

type invocation struct {
	ID            string
	Payload       string
	ARN           string
	TraceID       string
	ClientContext string
	Cognito       string
	Deadline      time.Time
	// Chunked sends the event with Transfer-Encoding: chunked (in two flushed parts).
	Chunked bool
}

type outcome struct {
	Kind       string // "response", "error", "init"
	RequestID  string
	Body       []byte
	Header     http.Header
	Trailer    http.Header
	ChunkTimes []time.Duration // since the body started, per read that returned data
	ChunkSizes []int
	ReceivedAt time.Time
	Dispatched time.Time
}

type fakeAPI struct {
	t        *testing.T
	srv      *http.Server
	addr     string
	invokes  chan invocation
	outcomes chan outcome

	mu         sync.Mutex
	dispatched time.Time
	// refuse, when set, is the status every post gets instead of 202 (e.g. 413).
	refuse int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAPI{t: t, addr: ln.Addr().String(), invokes: make(chan invocation), outcomes: make(chan outcome, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", f.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", f.post("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", f.post("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", f.post("init"))
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = f.srv.Shutdown(ctx)
		_ = f.srv.Close()
	})
	return f
}

func (f *fakeAPI) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-f.invokes:
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.ID)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.ARN)
		if inv.TraceID != "" {
			h.Set("Lambda-Runtime-Trace-Id", inv.TraceID)
		}
		if inv.ClientContext != "" {
			h.Set("Lambda-Runtime-Client-Context", inv.ClientContext)
		}
		if inv.Cognito != "" {
			h.Set("Lambda-Runtime-Cognito-Identity", inv.Cognito)
		}
		f.mu.Lock()
		f.dispatched = time.Now()
		f.mu.Unlock()
		if inv.Chunked {
			half := len(inv.Payload) / 2
			_, _ = io.WriteString(w, inv.Payload[:half])
			http.NewResponseController(w).Flush()
			_, _ = io.WriteString(w, inv.Payload[half:])
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(inv.Payload)))
		_, _ = io.WriteString(w, inv.Payload)
	case <-r.Context().Done():
	}
}

func (f *fakeAPI) post(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		o := outcome{Kind: kind, RequestID: r.PathValue("id"), Header: r.Header.Clone()}
		buf := make([]byte, 64<<10)
		var body bytes.Buffer
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				body.Write(buf[:n])
				o.ChunkTimes = append(o.ChunkTimes, time.Since(start))
				o.ChunkSizes = append(o.ChunkSizes, n)
			}
			if err != nil {
				break
			}
		}
		o.Body = body.Bytes()
		o.Trailer = r.Trailer.Clone()
		o.ReceivedAt = time.Now()
		f.mu.Lock()
		o.Dispatched = f.dispatched
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		f.mu.Lock()
		refuse := f.refuse
		f.mu.Unlock()
		if refuse != 0 {
			w.WriteHeader(refuse)
			_, _ = io.WriteString(w, `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`)
		} else {
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"status":"OK"}`)
		}
		f.outcomes <- o
	}
}

// invoke dispatches one event and waits for the runtime's answer.
func (f *fakeAPI) invoke(t *testing.T, inv invocation) outcome {
	t.Helper()
	if inv.ID == "" {
		inv.ID = fmt.Sprintf("req-%d", time.Now().UnixNano())
	}
	if inv.ARN == "" {
		inv.ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"
	}
	if inv.Deadline.IsZero() {
		inv.Deadline = time.Now().Add(30 * time.Second)
	}
	if inv.Payload == "" {
		inv.Payload = "{}"
	}
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case f.invokes <- inv:
	case o := <-f.outcomes:
		return o // e.g. an init error before the first /next
	case <-timer.C:
		t.Fatalf("runtime never asked for an invocation")
	}
	select {
	case o := <-f.outcomes:
		return o
	case <-timer.C:
		t.Fatalf("no answer for %s", inv.ID)
	}
	return outcome{}
}

// waitOutcome waits for an outcome posted without an invocation (init errors).
func (f *fakeAPI) waitOutcome(t *testing.T) outcome {
	t.Helper()
	select {
	case o := <-f.outcomes:
		return o
	case <-time.After(20 * time.Second):
		t.Fatalf("no outcome")
	}
	return outcome{}
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type runtimeProc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	err    error
	start  time.Time
	taskRT string
}

// wait waits for the process to exit and returns its exit code.
func (p *runtimeProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("runtime did not exit; output:\n%s", p.out.String())
	}
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// startRuntime starts argv in taskRoot with the platform environment and extra env, talking
// to api.
func startRuntime(t *testing.T, api *fakeAPI, argv, extraEnv []string, taskRoot string, fnEnv map[string]string) *runtimeProc {
	t.Helper()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"AWS_LAMBDA_RUNTIME_API=" + api.addr,
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_LAMBDA_FUNCTION_NAME=fn",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/fn",
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
	}
	for k, v := range fnEnv {
		env = append(env, k+"="+v)
	}
	env = append(env, extraEnv...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = taskRoot
	cmd.Env = env
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	p := &runtimeProc{cmd: cmd, out: out, done: make(chan struct{}), taskRT: taskRoot}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// writeFiles writes name -> content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "bootstrap") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// outputSoon returns the process output once it contains want (or after two seconds): output
// travels through a pipe and may trail the runtime's answer slightly.
func (p *runtimeProc) outputSoon(want string) string {
	deadline := time.Now().Add(2 * time.Second)
	for {
		out := p.out.String()
		if strings.Contains(out, want) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}
