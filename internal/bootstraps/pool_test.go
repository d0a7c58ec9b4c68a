package bootstraps

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/pool"
	"github.com/google/go-cmp/cmp"
)

// These tests run the bootstraps through furl's real pool: real processes, the real Runtime API
// server, the platform environment.

func newTestPool(t *testing.T, set *Set) *pool.Pool {
	t.Helper()
	launcher := pool.DefaultLauncher{}
	if set != nil {
		launcher.Managed = set
	}
	p := pool.New(pool.Config{WorkDir: filepath.Join(t.TempDir(), "envs"), Path: os.Getenv("PATH")},
		slog.New(slog.NewTextHandler(io.Discard, nil)), launcher, nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("close pool: %v", err)
		}
	})
	return p
}

func poolTarget(t *testing.T, name, runtime, handler string, files map[string]string) *pool.Target {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return &pool.Target{
		FunctionName: name,
		FunctionARN:  "arn:aws:lambda:us-east-1:000000000000:function:" + name,
		Version:      "$LATEST",
		Runtime:      runtime,
		Handler:      handler,
		CodeDir:      dir,
		MemoryMB:     256,
		Timeout:      10 * time.Second,
		ConfigKey:    "v1",
		Region:       "us-east-1",
	}
}

func poolInvoke(t *testing.T, p *pool.Pool, tg *pool.Target, req *pool.Request) *pool.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, tg, req)
	if err != nil {
		t.Fatalf("invoke %s: %v", tg.FunctionName, err)
	}
	return res
}

func TestPoolPython(t *testing.T) {
	t.Parallel()
	needPython(t)
	p := newTestPool(t, newTestSet(t))

	t.Run("article example", func(t *testing.T) {
		t.Parallel()
		tg := poolTarget(t, "hello", "python3.12", "lambda_function.lambda_handler",
			map[string]string{"lambda_function.py": articleHandler})
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{"rawPath":"/"}`)})
		if res.FunctionError != "" || string(res.Payload) != `{"message": "hello world"}` {
			t.Fatalf("result %q %q", res.FunctionError, res.Payload)
		}
		if !res.ColdStart {
			t.Error("first invoke not a cold start")
		}
		if !strings.Contains(string(res.Log), `{"rawPath": "/"}`) {
			t.Errorf("log lacks the printed event:\n%s", res.Log)
		}
	})

	t.Run("nested module and warm reuse", func(t *testing.T) {
		t.Parallel()
		tg := poolTarget(t, "nested", "python3.11", "pkg/sub/mod.handler", map[string]string{
			"pkg/__init__.py":     "",
			"pkg/sub/__init__.py": "",
			"pkg/sub/mod.py":      "counter = 0\ndef handler(e, c):\n    global counter\n    counter += 1\n    return {'counter': counter, 'mod': __name__}\n",
		})
		for i := 1; i <= 3; i++ {
			res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
			want := `{"counter": ` + string(rune('0'+i)) + `, "mod": "pkg.sub.mod"}`
			if string(res.Payload) != want {
				t.Fatalf("invoke %d: %s, want %s", i, res.Payload, want)
			}
			if res.ColdStart != (i == 1) {
				t.Errorf("invoke %d: ColdStart = %v", i, res.ColdStart)
			}
		}
	})

	for _, tc := range []struct {
		name, handler, code, wantType, wantMsg string
	}{
		{"handler not found", "app.nope", "def handler(e, c):\n    return 1\n", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"},
		{"import error", "app.handler", "import not_a_module_anywhere\n", "Runtime.ImportModuleError", "Unable to import module 'app': No module named 'not_a_module_anywhere'"},
		{"syntax error", "app.handler", "def handler(e, c)\n  pass\n", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app': "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := poolTarget(t, strings.ReplaceAll(tc.name, " ", "-"), "python3.12", tc.handler, map[string]string{"app.py": tc.code})
			res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
			if res.FunctionError != "Unhandled" || res.ErrorType != tc.wantType {
				t.Fatalf("FunctionError %q ErrorType %q payload %s", res.FunctionError, res.ErrorType, res.Payload)
			}
			body := jsonObject(t, res.Payload)
			if body["errorType"] != tc.wantType || !strings.HasPrefix(body["errorMessage"].(string), tc.wantMsg) || body["requestId"] != "" {
				t.Errorf("payload %s", res.Payload)
			}
		})
	}

	t.Run("exception body", func(t *testing.T) {
		t.Parallel()
		tg := poolTarget(t, "raises", "python3.12", "app.handler",
			map[string]string{"app.py": "def handler(event, context):\n    raise ValueError(\"bad value\")\n"})
		res := poolInvoke(t, p, tg, &pool.Request{RequestID: "req-raise", Payload: []byte(`{}`)})
		if res.FunctionError != "Unhandled" || res.ErrorType != "ValueError" {
			t.Fatalf("%q %q %s", res.FunctionError, res.ErrorType, res.Payload)
		}
		var body struct {
			ErrorMessage, ErrorType, RequestID string
			StackTrace                         []string
		}
		if err := json.Unmarshal(res.Payload, &body); err != nil {
			t.Fatal(err)
		}
		if body.ErrorMessage != "bad value" || body.RequestID != "req-raise" || len(body.StackTrace) != 1 ||
			!strings.HasSuffix(body.StackTrace[0], "/app.py\", line 2, in handler\n    raise ValueError(\"bad value\")\n") {
			t.Errorf("payload %s", res.Payload)
		}
	})

	t.Run("context", func(t *testing.T) {
		t.Parallel()
		tg := poolTarget(t, "ctx", "python3.12", "app.handler", map[string]string{"app.py": contextHandler})
		res := poolInvoke(t, p, tg, &pool.Request{
			RequestID:          "req-ctx",
			Payload:            []byte(`{"a":1}`),
			InvokedFunctionARN: tg.FunctionARN + ":prod",
			ClientContext:      `{"client":{"app_title":"t"},"custom":{"k":"v"}}`,
			CognitoIdentity:    `{"cognitoIdentityId":"cid","cognitoIdentityPoolId":"pid"}`,
			TraceID:            "Root=1-00000000-000000000000000000000001;Sampled=0",
		})
		got := jsonObject(t, res.Payload)
		want := map[string]any{
			"function_name":        "ctx",
			"function_version":     "$LATEST",
			"invoked_function_arn": tg.FunctionARN + ":prod",
			"memory_limit_in_mb":   "256",
			"aws_request_id":       "req-ctx",
			"log_group_name":       "/aws/lambda/ctx",
			"identity_id":          "cid",
			"identity_pool":        "pid",
			"client_app_title":     "t",
			"client_custom":        map[string]any{"k": "v"},
			"remaining_ok":         true,
			"remaining_type":       "int",
			"trace":                "Root=1-00000000-000000000000000000000001;Sampled=0",
			"event":                map[string]any{"a": 1.0},
		}
		stream, _ := got["log_stream_name"].(string)
		delete(got, "log_stream_name")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("context (-want +got):\n%s", diff)
		}
		if !strings.Contains(stream, "[$LATEST]") {
			t.Errorf("log_stream_name = %q", stream)
		}
	})
}

func TestPoolNode(t *testing.T) {
	t.Parallel()
	needNode(t)
	set, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := newTestPool(t, set)
	files := map[string]string{"index.js": nodeHandlers, "stream.js": streamingHandler, "esm.mjs": "export const handler = async (e) => ({ esm: true, e });\n"}

	for _, tc := range []struct {
		handler, wantPayload, wantErrType string
	}{
		{"esm.handler", `{"esm":true,"e":{"x":1}}`, ""},
		{"index.callbackWaits", `{"waited":true}`, ""},
		{"index.callbackErr", `{"errorType":"string","errorMessage":"plain string","trace":[]}`, "string"},
		{"index.nope", "", "Runtime.HandlerNotFound"},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			t.Parallel()
			tg := poolTarget(t, strings.ReplaceAll(tc.handler, ".", "-"), "nodejs20.x", tc.handler, files)
			res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{"x":1}`)})
			if res.ErrorType != tc.wantErrType {
				t.Fatalf("ErrorType %q, want %q (%s)", res.ErrorType, tc.wantErrType, res.Payload)
			}
			if tc.wantPayload != "" && string(res.Payload) != tc.wantPayload {
				t.Errorf("payload %s, want %s", res.Payload, tc.wantPayload)
			}
		})
	}

	t.Run("context", func(t *testing.T) {
		t.Parallel()
		tg := poolTarget(t, "node-ctx", "nodejs22.x", "index.async", files)
		res := poolInvoke(t, p, tg, &pool.Request{RequestID: "req-n", Payload: []byte(`{}`), TraceID: "Root=1-abc"})
		got := jsonObject(t, res.Payload)
		for k, want := range map[string]any{
			"functionName": "node-ctx", "memoryLimitInMB": "256", "awsRequestId": "req-n",
			"invokedFunctionArn": tg.FunctionARN, "remainingOk": true, "trace": "Root=1-abc", "counter": 1.0,
		} {
			if got[k] != want {
				t.Errorf("%s = %v, want %v", k, got[k], want)
			}
		}
		if !strings.Contains(string(res.Log), "\treq-n\tINFO\tevent: {}") {
			t.Errorf("log:\n%s", res.Log)
		}
	})

	t.Run("streaming", func(t *testing.T) {
		t.Parallel()
		tg := poolTarget(t, "node-stream", "nodejs20.x", "stream.handler", files)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := p.Invoke(ctx, tg, &pool.Request{Payload: []byte(`{}`), Streaming: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Stream == nil {
			t.Fatalf("no stream: %q %s", res.FunctionError, res.Payload)
		}
		defer res.Stream.Close()
		if res.ContentType != "application/vnd.awslambda.http-integration-response" {
			t.Errorf("ContentType = %q", res.ContentType)
		}
		start := time.Now()
		var times []time.Duration
		var body []byte
		buf := make([]byte, 4096)
		for {
			n, err := res.Stream.Read(buf)
			if n > 0 {
				body = append(body, buf[:n]...)
				times = append(times, time.Since(start))
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
		}
		if !strings.HasPrefix(string(body), `{"statusCode":201,`) || !strings.HasSuffix(string(body), "chunk 9\n") {
			t.Errorf("body %q", body)
		}
		if len(times) < 5 || times[len(times)-1]-times[0] < 700*time.Millisecond {
			t.Errorf("chunks not streamed: %v", times)
		}
	})
}

// TestPoolRealNodeRIC runs the npm aws-lambda-ric as a provided.al2023 custom runtime.
func TestPoolRealNodeRIC(t *testing.T) {
	t.Parallel()
	needNode(t)
	ric := ricPath(t)
	p := newTestPool(t, nil)
	tg := poolTarget(t, "ric", "provided.al2023", "index.async", map[string]string{
		"index.js":  nodeHandlers,
		"bootstrap": "#!/bin/sh\nexport NODE_PATH=" + filepath.Dir(ric) + "\nexec node " + filepath.Join(ric, "bin", "index.mjs") + " \"$_HANDLER\"\n",
	})
	for i := 1; i <= 2; i++ {
		res := poolInvoke(t, p, tg, &pool.Request{RequestID: "req-ric-" + string(rune('0'+i)), Payload: []byte(`{"k":"v"}`)})
		got := jsonObject(t, res.Payload)
		if got["counter"] != float64(i) || got["functionName"] != "ric" || got["memoryLimitInMB"] != "256" {
			t.Fatalf("invoke %d: %s\n%s", i, res.Payload, res.Log)
		}
		if !strings.Contains(string(res.Log), "\treq-ric-"+string(rune('0'+i))+"\tINFO\tevent: { k: 'v' }") {
			t.Errorf("log:\n%s", res.Log)
		}
	}
}
