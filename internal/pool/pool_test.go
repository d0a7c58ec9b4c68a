package pool_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/testbuild"
)

// goFnDir holds a "bootstrap" built from ./testfn with aws-lambda-go.
var goFnDir string

func TestMain(m *testing.M) {
	os.Exit(testbuild.Main(m.Run, "github.com/furl/furl/internal/pool/testfn", &goFnDir))
}

type harness struct {
	p    *pool.Pool
	logs *invocationlog.Store
}

func newPool(t testing.TB, cfg pool.Config) *harness {
	t.Helper()
	if cfg.WorkDir == "" {
		cfg.WorkDir = filepath.Join(t.TempDir(), "envs")
	}
	cfg.Path = os.Getenv("PATH")
	logs, err := invocationlog.Open(filepath.Join(t.TempDir(), "logs"), time.Hour, invocationlog.Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p := pool.New(cfg, log, pool.DefaultLauncher{}, logs)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		logs.Close()
	})
	return &harness{p: p, logs: logs}
}

func goTarget(name string) *pool.Target {
	return &pool.Target{
		FunctionName: name,
		FunctionARN:  "arn:aws:lambda:us-east-1:000000000000:function:" + name,
		Version:      "$LATEST",
		Runtime:      "provided.al2023",
		Handler:      "bootstrap",
		CodeDir:      goFnDir,
		MemoryMB:     128,
		Timeout:      3 * time.Second,
		ConfigKey:    "v1",
		Region:       "us-east-1",
		Environment:  map[string]string{"CUSTOM": "yes", "_LAMBDA_SERVER_PORT": "1234"},
	}
}

func invoke(t testing.TB, h *harness, tg *pool.Target, payload string) *pool.Result {
	t.Helper()
	res, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(payload)})
	if err != nil {
		t.Fatalf("invoke %s: %v", payload, err)
	}
	return res
}

func TestEchoAndContext(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("echo")
	res := invoke(t, h, tg, `{"op":"echo","msg":"hi"}`)
	if string(res.Payload) != `{"op":"echo","msg":"hi"}` || res.FunctionError != "" {
		t.Fatalf("echo: %q %q", res.Payload, res.FunctionError)
	}
	if !res.ColdStart || res.InitDuration <= 0 {
		t.Errorf("first invoke: ColdStart=%v InitDuration=%v", res.ColdStart, res.InitDuration)
	}
	res, err := h.p.Invoke(context.Background(), tg, &pool.Request{
		RequestID:          "11111111-2222-3333-4444-555555555555",
		Payload:            []byte(`{"op":"context"}`),
		InvokedFunctionARN: tg.FunctionARN + ":prod",
		ClientContext:      `{"custom":{"k":"v"}}`,
		CognitoIdentity:    `{"cognitoIdentityId":"cid","cognitoIdentityPoolId":"pool"}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ColdStart {
		t.Error("second invoke was a cold start")
	}
	var got struct {
		RequestID     string            `json:"requestId"`
		ARN           string            `json:"arn"`
		DeadlineInMs  int64             `json:"deadlineInMs"`
		Env           map[string]string `json:"env"`
		Cwd           string            `json:"cwd"`
		ClientContext map[string]string `json:"clientContext"`
		Cognito       string            `json:"cognito"`
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("%v: %s", err, res.Payload)
	}
	if got.RequestID != "11111111-2222-3333-4444-555555555555" || got.ARN != tg.FunctionARN+":prod" {
		t.Errorf("context: %+v", got)
	}
	if got.DeadlineInMs < 2000 || got.DeadlineInMs > 3000 {
		t.Errorf("remaining time %d ms, want about 3000", got.DeadlineInMs)
	}
	if got.ClientContext["k"] != "v" || got.Cognito != "cid" {
		t.Errorf("client context %v, cognito %q", got.ClientContext, got.Cognito)
	}
	env := got.Env
	if env["AWS_LAMBDA_FUNCTION_NAME"] != "echo" || env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] != "128" ||
		env["_HANDLER"] != "bootstrap" || env["TZ"] != ":UTC" || env["CUSTOM"] != "yes" || env["_LAMBDA_SERVER_PORT"] != "" {
		t.Errorf("env: %v", env)
	}
	if !strings.HasPrefix(env["_X_AMZN_TRACE_ID"], "Root=1-") {
		t.Errorf("trace id %q", env["_X_AMZN_TRACE_ID"])
	}
	if got.Cwd != env["LAMBDA_TASK_ROOT"] || got.Cwd == goFnDir || env["TMPDIR"] == "" || env["TMPDIR"] == os.TempDir() {
		t.Errorf("cwd %q, task root %q, TMPDIR %q", got.Cwd, env["LAMBDA_TASK_ROOT"], env["TMPDIR"])
	}
}

func TestWarmReuseAndLogs(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("warm")
	var pid float64
	for i := 1; i <= 5; i++ {
		res := invoke(t, h, tg, `{"op":"count"}`)
		var v map[string]float64
		if err := json.Unmarshal(res.Payload, &v); err != nil {
			t.Fatal(err)
		}
		if v["count"] != float64(i) {
			t.Fatalf("invoke %d: count %v (module state lost)", i, v["count"])
		}
		if i > 1 && v["pid"] != pid {
			t.Fatalf("invoke %d ran in another process", i)
		}
		pid = v["pid"]
	}
	res, err := h.p.Invoke(context.Background(), tg, &pool.Request{RequestID: "req-print", Payload: []byte(`{"op":"print","msg":"m1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	log := string(res.Log)
	for _, want := range []string{
		"START RequestId: req-print Version: $LATEST\n",
		"hello from req-print\n",
		"to stderr m1\n",
		"END RequestId: req-print\n",
		"REPORT RequestId: req-print\tDuration: ",
		"\tBilled Duration: ",
		" ms\tMemory Size: 128 MB\tMax Memory Used: ",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "Init Duration") {
		t.Errorf("warm REPORT has Init Duration:\n%s", log)
	}
	if !strings.HasSuffix(log, " MB\t\n") {
		t.Errorf("REPORT should end with a TAB:\n%q", log)
	}
	evs, err := h.logs.Since("warm", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var attributed, reports int
	for _, ev := range evs {
		if ev.RequestID == "req-print" && (ev.Message == "hello from req-print" || ev.Message == "to stderr m1") {
			attributed++
		}
		if strings.HasPrefix(ev.Message, "REPORT ") {
			reports++
			if strings.Contains(ev.Message, "Init Duration") != (reports == 1) {
				t.Errorf("Init Duration only on the cold start: %q", ev.Message)
			}
		}
	}
	if attributed != 2 || reports != 6 {
		t.Errorf("stored: %d attributed lines, %d REPORTs; events: %+v", attributed, reports, evs)
	}
	st := h.p.Stats().Functions["warm"]
	if st.ColdStarts != 1 || st.Invocations != 6 || st.Environments != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestFunctionErrors(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("errs")
	tests := []struct {
		payload  string
		wantType string
		wantMsg  string
	}{
		{`{"op":"error","msg":"x"}`, "errorString", "custom failure: x"},
		{`{"op":"panic"}`, "string", "boom"},
		{`{"op":"echo"}`, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.payload, func(t *testing.T) {
			res := invoke(t, h, tg, tc.payload)
			if tc.wantType == "" {
				if res.FunctionError != "" {
					t.Fatalf("after a panic the next invoke failed: %s", res.Payload)
				}
				return
			}
			var body struct{ ErrorMessage, ErrorType string }
			_ = json.Unmarshal(res.Payload, &body)
			if res.FunctionError != "Unhandled" || res.ErrorType != tc.wantType || body.ErrorMessage != tc.wantMsg {
				t.Errorf("got %q %q %s", res.FunctionError, res.ErrorType, res.Payload)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("slow")
	tg.Timeout = 500 * time.Millisecond
	first := invoke(t, h, tg, `{"op":"count"}`)
	res, err := h.p.Invoke(context.Background(), tg, &pool.Request{RequestID: "req-to", Payload: []byte(`{"op":"sleep","sleepMs":5000}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errorMessage":"RequestId: req-to Error: Task timed out after 0.50 seconds","errorType":"Sandbox.Timedout"}`
	if string(res.Payload) != want || res.FunctionError != "Unhandled" || res.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("got %s %q", res.Payload, res.ErrorType)
	}
	if res.Duration < 500*time.Millisecond || res.Duration > 1500*time.Millisecond {
		t.Errorf("duration %v", res.Duration)
	}
	if !strings.Contains(string(res.Log), "req-to Task timed out after 0.50 seconds\nEND RequestId: req-to\nREPORT") ||
		!strings.Contains(string(res.Log), "Status: timeout") {
		t.Errorf("log:\n%s", res.Log)
	}
	// The environment was destroyed: the next invoke starts fresh (counter back to 1).
	next := invoke(t, h, tg, `{"op":"count"}`)
	var a, b map[string]float64
	_ = json.Unmarshal(first.Payload, &a)
	_ = json.Unmarshal(next.Payload, &b)
	if !next.ColdStart || b["count"] != 1 || a["pid"] == b["pid"] {
		t.Errorf("after timeout: cold=%v %s (before %s)", next.ColdStart, next.Payload, first.Payload)
	}
	if err := processGone(int(a["pid"])); err != nil {
		t.Error(err)
	}
}

func processGone(pid int) error {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			return nil
		}
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); bytes.Contains(b, []byte(") Z ")) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("process %d still alive", pid)
}

func TestCrash(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("crash")
	invoke(t, h, tg, `{"op":"count"}`)
	res, err := h.p.Invoke(context.Background(), tg, &pool.Request{RequestID: "req-exit", Payload: []byte(`{"op":"exit"}`)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errorMessage":"RequestId: req-exit Error: Runtime exited with error: exit status 3","errorType":"Runtime.ExitError"}`
	if string(res.Payload) != want || res.FunctionError != "Unhandled" {
		t.Fatalf("got %s", res.Payload)
	}
	if !strings.Contains(string(res.Log), "Status: error\tError Type: Runtime.ExitError\t") {
		t.Errorf("log:\n%s", res.Log)
	}
	if res := invoke(t, h, tg, `{"op":"count"}`); !res.ColdStart || !strings.Contains(string(res.Payload), `"count":1`) {
		t.Errorf("after crash: %s cold=%v", res.Payload, res.ColdStart)
	}
}

func writeScript(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInitError(t *testing.T) {
	h := newPool(t, pool.Config{})
	// A runtime that reports an init error through the Runtime API and exits, as the Python and
	// Node RICs do; aws-lambda-go has no init-error path, so this is a script with curl.
	dir := writeScript(t, `echo "init output"
curl -s -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError' \
  --data '{"errorMessage":"Unable to import module","errorType":"Runtime.ImportModuleError","stackTrace":[]}' \
  "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error"
exit 1
`)
	tg := goTarget("initerr")
	tg.CodeDir = dir
	res := invoke(t, h, tg, `{}`)
	if res.FunctionError != "Unhandled" || res.ErrorType != "Runtime.ImportModuleError" ||
		string(res.Payload) != `{"errorMessage":"Unable to import module","errorType":"Runtime.ImportModuleError","stackTrace":[]}` {
		t.Fatalf("got %q %s", res.ErrorType, res.Payload)
	}
	evs, _ := h.logs.Since("initerr", time.Time{}, 0)
	var phases []string
	for _, ev := range evs {
		if strings.HasPrefix(ev.Message, "INIT_REPORT") {
			phases = append(phases, ev.Message[strings.Index(ev.Message, "Phase"):])
		}
	}
	if len(phases) != 2 || !strings.HasPrefix(phases[0], "Phase: init\tStatus: error\tError Type: Runtime.ImportModuleError") ||
		!strings.HasPrefix(phases[1], "Phase: invoke\tStatus: error") {
		t.Errorf("INIT_REPORT lines: %q", phases)
	}

	// aws-lambda-go panicking in main: a plain crash during init -> Runtime.ExitError.
	tg2 := goTarget("initpanic")
	tg2.Environment = map[string]string{"INIT_PANIC": "1"}
	res = invoke(t, h, tg2, `{}`)
	if res.ErrorType != "Runtime.ExitError" || !strings.Contains(string(res.Payload), "Runtime exited with error: exit status 2") {
		t.Errorf("init panic: %s", res.Payload)
	}

	// Missing or non-executable bootstrap.
	empty := t.TempDir()
	tg3 := goTarget("noboot")
	tg3.CodeDir = empty
	res = invoke(t, h, tg3, `{}`)
	if res.ErrorType != "Runtime.InvalidEntrypoint" || res.FunctionError != "Unhandled" {
		t.Errorf("missing bootstrap: %q %s", res.ErrorType, res.Payload)
	}
	os.WriteFile(filepath.Join(empty, "bootstrap"), []byte("#!/bin/sh\n"), 0o644)
	res = invoke(t, h, tg3, `{}`)
	if res.ErrorType != "Runtime.InvalidEntrypoint" {
		t.Errorf("non-executable bootstrap: %q %s", res.ErrorType, res.Payload)
	}
	if st := h.p.Stats(); st.Inflight != 0 {
		t.Errorf("inflight after failures: %+v", st)
	}
}

func TestInitRetrySucceeds(t *testing.T) {
	h := newPool(t, pool.Config{InitTimeout: 300 * time.Millisecond})
	// The first init is too slow (over InitTimeout); the retry inside the invoke succeeds since
	// the function timeout is longer.
	dir := writeScript(t, `sleep 0.5
exec "$LAMBDA_TASK_ROOT/real"
`)
	data, err := os.ReadFile(filepath.Join(goFnDir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "real"), data, 0o755)
	tg := goTarget("slowinit")
	tg.CodeDir = dir
	res := invoke(t, h, tg, `{"op":"echo"}`)
	if res.FunctionError != "" {
		t.Fatalf("got %s", res.Payload)
	}
	evs, _ := h.logs.Since("slowinit", time.Time{}, 0)
	found := false
	for _, ev := range evs {
		found = found || strings.Contains(ev.Message, "Phase: init\tStatus: timeout")
	}
	if !found {
		t.Errorf("no INIT_REPORT timeout line: %+v", evs)
	}
}

func TestResponseTooLarge(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("big")
	tg.Timeout = 30 * time.Second // a loaded machine must not turn the size check into a timeout
	res := invoke(t, h, tg, `{"op":"big","n":7000000}`)
	if res.ErrorType != "Function.ResponseSizeTooLarge" || res.FunctionError != "Unhandled" ||
		!strings.Contains(string(res.Payload), "exceeded maximum allowed payload size (6291556 bytes)") {
		t.Fatalf("got %q %.200s", res.ErrorType, res.Payload)
	}
	if res := invoke(t, h, tg, `{"op":"big","n":6000000}`); res.FunctionError != "" || len(res.Payload) != 6000002 {
		t.Errorf("6 MB response: %q %d", res.ErrorType, len(res.Payload))
	}
}

func TestMemoryLimit(t *testing.T) {
	h := newPool(t, pool.Config{MemoryPollInterval: 20 * time.Millisecond})
	tg := goTarget("oom")
	tg.MemoryMB = 64
	tg.Timeout = 30 * time.Second // the watchdog, not the timeout, must end it, even on a loaded machine
	res := invoke(t, h, tg, `{"op":"alloc","n":200,"sleepMs":30000}`)
	if res.FunctionError != "Unhandled" || res.ErrorType != "Runtime.OutOfMemory" {
		t.Fatalf("got %q %s", res.ErrorType, res.Payload)
	}
	if !strings.Contains(string(res.Log), "Max Memory Used: 64 MB") {
		t.Errorf("log:\n%s", res.Log)
	}
	if res := invoke(t, h, tg, `{"op":"alloc","n":10}`); res.FunctionError != "" {
		t.Errorf("small allocation: %s", res.Payload)
	} else if !strings.Contains(string(res.Log), "Max Memory Used: ") {
		t.Errorf("log:\n%s", res.Log)
	}
}

func TestParallel(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("par")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := fmt.Sprintf(`{"op":"echo","msg":"caller-%d","sleepMs":%d}`, i, i)
			for j := 0; j < 3; j++ {
				res, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(payload)})
				if err != nil {
					errs <- err
					return
				}
				if string(res.Payload) != payload {
					errs <- fmt.Errorf("caller %d got %s", i, res.Payload)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := h.p.Stats()
	if st.Inflight != 0 || st.Functions["par"].Environments > 20 || st.Functions["par"].Invocations != 60 {
		t.Errorf("stats %+v", st)
	}
}

func TestConfigChangeDrains(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("drain")
	tg.Timeout = 5 * time.Second
	old := invoke(t, h, tg, `{"op":"count"}`)
	// A slow invoke holds the old environment while the configuration changes.
	done := make(chan *pool.Result)
	go func() {
		res, _ := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{"op":"sleep","sleepMs":400}`)})
		done <- res
	}()
	time.Sleep(150 * time.Millisecond)
	tg2 := *tg
	tg2.ConfigKey = "v2"
	res := invoke(t, h, &tg2, `{"op":"count"}`)
	if !res.ColdStart || !strings.Contains(string(res.Payload), `"count":1`) {
		t.Errorf("new config ran on an old environment: %s", res.Payload)
	}
	if r := <-done; r == nil || string(r.Payload) != `"slow"` && string(r.Payload) != `"slept"` {
		t.Errorf("in-flight invoke on the old config: %+v", r)
	}
	var a map[string]float64
	_ = json.Unmarshal(old.Payload, &a)
	if err := processGone(int(a["pid"])); err != nil {
		t.Errorf("old environment: %v", err)
	}
	if res := invoke(t, h, &tg2, `{"op":"count"}`); !strings.Contains(string(res.Payload), `"count":2`) {
		t.Errorf("new environment not reused: %s", res.Payload)
	}
	// A late request still carrying the old key runs on a one-off environment and does not
	// drain the new ones.
	if res := invoke(t, h, tg, `{"op":"count"}`); !res.ColdStart || !strings.Contains(string(res.Payload), `"count":1`) {
		t.Errorf("late old-config request: %s", res.Payload)
	}
	if res := invoke(t, h, &tg2, `{"op":"count"}`); !strings.Contains(string(res.Payload), `"count":3`) {
		t.Errorf("new environment drained by a late old-config request: %s", res.Payload)
	}
}

func TestThrottle(t *testing.T) {
	h := newPool(t, pool.Config{MaxConcurrency: 2})
	tg := goTarget("thr")
	zero := 0
	tg.ReservedConcurrency = &zero
	_, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{}`)})
	var te *pool.ThrottleError
	if !errors.As(err, &te) || te.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Fatalf("reserved 0: %v", err)
	}
	tg2 := goTarget("thr2")
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.p.Invoke(context.Background(), tg2, &pool.Request{Payload: []byte(`{"op":"sleep","sleepMs":1500}`)})
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.p.Stats().Inflight < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	_, err = h.p.Invoke(context.Background(), tg2, &pool.Request{Payload: []byte(`{}`)})
	if !errors.As(err, &te) || te.Reason != "ConcurrentInvocationLimitExceeded" {
		t.Errorf("global cap: %v", err)
	}
	wg.Wait()
}

func TestIdleReap(t *testing.T) {
	h := newPool(t, pool.Config{IdleTimeout: 200 * time.Millisecond})
	tg := goTarget("reap")
	res := invoke(t, h, tg, `{"op":"count"}`)
	var a map[string]float64
	_ = json.Unmarshal(res.Payload, &a)
	if err := processGone(int(a["pid"])); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.p.Stats().Functions["reap"].Environments != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.p.Stats().Functions["reap"]; st.Environments != 0 {
		t.Errorf("stats %+v", st)
	}
	if res := invoke(t, h, tg, `{"op":"count"}`); !res.ColdStart {
		t.Error("reaped environment reused")
	}
	// aws-lambda-go's WithEnableSIGTERM registered an internal extension, so the reaped runtime
	// got SIGTERM (and a grace period) before SIGKILL.
	evs, _ := h.logs.Since("reap", time.Time{}, 0)
	sigterm := false
	for _, ev := range evs {
		sigterm = sigterm || ev.Message == "SIGTERM received"
	}
	if !sigterm {
		t.Errorf("no SIGTERM line in %+v", evs)
	}
}

func TestCancelledCaller(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("cancel")
	invoke(t, h, tg, `{"op":"count"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := h.p.Invoke(ctx, tg, &pool.Request{Payload: []byte(`{"op":"sleep","sleepMs":300}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	// The environment is not reused mid-invoke: this call either waits for it or starts another,
	// and in both cases gets its own answer.
	res := invoke(t, h, tg, `{"op":"echo","msg":"after"}`)
	if string(res.Payload) != `{"op":"echo","msg":"after"}` {
		t.Errorf("got %s", res.Payload)
	}
	time.Sleep(400 * time.Millisecond)
	if st := h.p.Stats(); st.Inflight != 0 {
		t.Errorf("inflight %d", st.Inflight)
	}
	if res := invoke(t, h, tg, `{"op":"count"}`); !strings.Contains(string(res.Payload), `"count":2`) && !strings.Contains(string(res.Payload), `"count":1`) {
		t.Errorf("got %s", res.Payload)
	}
}

// TestColdStartWait: a request that finds the only environment busy waits for it (within
// ColdStartWait) instead of starting another; without the wait it cold-starts; concurrency never
// exceeds the environments and reserved concurrency still throttles.
func TestColdStartWait(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wait     time.Duration
		wantEnvs int
	}{
		{"waits", 2 * time.Second, 1},
		{"disabled", -1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPool(t, pool.Config{ColdStartWait: tc.wait, ColdStartWaitFrom: 1})
			tg := goTarget("csw")
			invoke(t, h, tg, `{"op":"echo"}`)
			var wg sync.WaitGroup
			for i := 0; i < 2; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res := invoke(t, h, tg, `{"op":"sleep","sleepMs":200}`)
					if res.FunctionError != "" {
						t.Errorf("invoke: %s", res.Payload)
					}
				}()
			}
			wg.Wait()
			st := h.p.Stats().Functions["csw"]
			if st.Environments != tc.wantEnvs || int(st.ColdStarts) != tc.wantEnvs {
				t.Errorf("stats %+v, want %d environments", st, tc.wantEnvs)
			}
		})
	}
	t.Run("reserved", func(t *testing.T) {
		h := newPool(t, pool.Config{ColdStartWait: 2 * time.Second})
		tg := goTarget("cswr")
		one := 1
		tg.ReservedConcurrency = &one
		invoke(t, h, tg, `{"op":"echo"}`)
		done := make(chan struct{})
		go func() {
			defer close(done)
			invoke(t, h, tg, `{"op":"sleep","sleepMs":300}`)
		}()
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		_, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{"op":"echo"}`)})
		var te *pool.ThrottleError
		if !errors.As(err, &te) || time.Since(start) > 50*time.Millisecond {
			t.Errorf("got %v after %v, want an immediate throttle", err, time.Since(start))
		}
		<-done
	})
}

// TestCancelledColdStartKeepsEnvironment: a caller that gives up during a slow init (as a load
// generator's timeout does) does not throw the init away: the environment joins the pool, and
// the next request is warm instead of starting the same slow init again.
func TestCancelledColdStartKeepsEnvironment(t *testing.T) {
	h := newPool(t, pool.Config{})
	tg := goTarget("slowinit")
	tg.Environment = map[string]string{"INIT_SLEEP_MS": "600"}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := h.p.Invoke(ctx, tg, &pool.Request{Payload: []byte(`{"op":"echo"}`)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the caller's deadline, got %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.p.Stats().Functions["slowinit"].Idle != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("environment never became idle: %+v", h.p.Stats().Functions["slowinit"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	res := invoke(t, h, tg, `{"op":"echo"}`)
	if res.ColdStart || res.FunctionError != "" {
		t.Errorf("second invoke: cold=%v %s", res.ColdStart, res.Payload)
	}
	if st := h.p.Stats().Functions["slowinit"]; st.ColdStarts != 1 || st.Environments != 1 || st.Inflight != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestMaxConcurrentInits: with one init slot, a second function's cold start waits until the
// first environment has finished its init; both invocations succeed.
func TestMaxConcurrentInits(t *testing.T) {
	h := newPool(t, pool.Config{MaxConcurrentInits: 1})
	var wg sync.WaitGroup
	for _, name := range []string{"inita", "initb"} {
		tg := goTarget(name)
		tg.Environment = map[string]string{"INIT_SLEEP_MS": "500"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := invoke(t, h, tg, `{"op":"echo"}`); !res.ColdStart || res.FunctionError != "" {
				t.Errorf("%s: cold=%v %s", name, res.ColdStart, res.Payload)
			}
		}()
	}
	time.Sleep(250 * time.Millisecond)
	if st := h.p.Stats(); st.Environments != 1 || st.Inflight != 2 {
		t.Errorf("during the first init: %d environments, %d in flight; want 1 and 2", st.Environments, st.Inflight)
	}
	wg.Wait()
	if st := h.p.Stats(); st.Environments != 2 {
		t.Errorf("after: %d environments, want 2", st.Environments)
	}
}

// TestRuntimeNotBackToNext: a runtime that answers and then never calls /next again. The next
// invocation offered to it is withdrawn at its deadline and runs on a new environment; one
// whose caller gives up before any runtime takes it is withdrawn too, and the pool stays sound.
func TestRuntimeNotBackToNext(t *testing.T) {
	h := newPool(t, pool.Config{})
	dir := writeScript(t, `hdr=$(mktemp)
api=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation
curl -s -D "$hdr" -o /dev/null "$api/next"
id=$(tr -d '\r' < "$hdr" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
curl -s -o /dev/null -X POST -d '"answered"' "$api/$id/response"
exec sleep 60
`)
	tg := &pool.Target{FunctionName: "stuck", FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:stuck",
		Version: "$LATEST", Runtime: "provided.al2023", Handler: "x", CodeDir: dir, MemoryMB: 128,
		Timeout: time.Second, ConfigKey: "v1", Region: "us-east-1"}
	if res := invoke(t, h, tg, `{}`); string(res.Payload) != `"answered"` || !res.ColdStart {
		t.Fatalf("first: %s cold=%v", res.Payload, res.ColdStart)
	}
	start := time.Now()
	res := invoke(t, h, tg, `{}`)
	if string(res.Payload) != `"answered"` || !res.ColdStart || res.FunctionError != "" {
		t.Fatalf("second: %s cold=%v err=%s", res.Payload, res.ColdStart, res.FunctionError)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("second invoke took %v: it should have waited for the stuck runtime until its deadline", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := h.p.Invoke(ctx, tg, &pool.Request{Payload: []byte(`{}`)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled before taken: %v", err)
	}
	if st := h.p.Stats(); st.Inflight != 0 {
		t.Errorf("inflight %d after a withdrawn invocation", st.Inflight)
	}
}

// One invocation printing far more than the cap leaves only the cap, and a line saying so, in
// the stored logs; the next invocation logs normally.
func TestInvocationLogCapped(t *testing.T) {
	h := newPool(t, pool.Config{MaxLogBytesPerInvoke: 64 << 10})
	tg := goTarget("spam")
	res, err := h.p.Invoke(context.Background(), tg, &pool.Request{RequestID: "req-spam", Payload: []byte(`{"op":"spam","n":4096}`)})
	if err != nil || string(res.Payload) != `"spammed"` {
		t.Fatalf("invoke: %v %s", err, res.Payload)
	}
	invoke(t, h, tg, `{"op":"print","msg":"after"}`)
	evs, err := h.logs.Since("spam", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var spamBytes, truncLines int
	var after bool
	for _, ev := range evs {
		if ev.RequestID == "req-spam" && strings.HasPrefix(ev.Message, "sss") {
			spamBytes += len(ev.Message) + 1
		}
		if strings.Contains(ev.Message, "truncated") {
			truncLines++
		}
		if ev.Message == "to stderr after" {
			after = true
		}
	}
	if spamBytes > 64<<10 || spamBytes < 32<<10 || truncLines != 1 || !after {
		t.Errorf("stored %d bytes of a 4 MB print (cap 64 KB), %d truncation lines, next invocation logged: %v", spamBytes, truncLines, after)
	}
	if !strings.Contains(string(res.Log), "truncated") {
		t.Errorf("Result.Log lacks the truncation line:\n%.300s", res.Log)
	}
}
