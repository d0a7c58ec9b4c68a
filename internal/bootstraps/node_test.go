package bootstraps

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
}

func startNode(t *testing.T, handler string, files map[string]string, fnEnv map[string]string) (*fakeAPI, *runtimeProc) {
	t.Helper()
	needNode(t)
	set, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeFiles(t, root, files)
	argv, env, err := set.Command("nodejs20.x", handler, root)
	if err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI(t)
	return api, startRuntime(t, api, argv, env, root, fnEnv)
}

const nodeHandlers = `let counter = 0;
exports.async = async (event, context) => {
  counter++;
  console.log("event:", event);
  console.warn("multi\nline");
  return {
    counter,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    invokedFunctionArn: context.invokedFunctionArn,
    awsRequestId: context.awsRequestId,
    identity: context.identity,
    clientContext: context.clientContext,
    remainingOk: context.getRemainingTimeInMillis() > 0 && context.getRemainingTimeInMillis() <= 30000,
    waits: context.callbackWaitsForEmptyEventLoop,
    trace: process.env._X_AMZN_TRACE_ID ?? null,
  };
};
exports.callbackWaits = (event, context, callback) => {
  setTimeout(() => console.log("timer fired"), 400);
  callback(null, { waited: true });
};
exports.callbackNoWait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => {}, 400);
  callback(null, { waited: false });
};
exports.succeed = (event, context) => { context.succeed({ via: "succeed" }); context.fail(new Error("ignored")); };
exports.throws = async () => { const e = new TypeError("failure"); throw e; };
exports.callbackErr = (event, context, callback) => callback("plain string");
exports.undef = async () => undefined;
exports.nested = { deeper: { fn: async () => "nested" } };
`

func TestNodeHandlers(t *testing.T) {
	t.Parallel()
	files := map[string]string{"index.js": nodeHandlers}
	t.Run("async and context", func(t *testing.T) {
		t.Parallel()
		api, p := startNode(t, "index.async", files, nil)
		o := api.invoke(t, invocation{
			ID:            "req-a",
			Payload:       `{"k":"v"}`,
			TraceID:       "Root=1-abc",
			ClientContext: `{"custom":{"a":1}}`,
			Cognito:       `{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}`,
		})
		if o.Kind != "response" {
			t.Fatalf("kind %s: %s\n%s", o.Kind, o.Body, p.out)
		}
		want := map[string]any{
			"counter":            1.0,
			"functionName":       "fn",
			"functionVersion":    "$LATEST",
			"memoryLimitInMB":    "512",
			"logGroupName":       "/aws/lambda/fn",
			"logStreamName":      "2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef",
			"invokedFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
			"awsRequestId":       "req-a",
			"identity":           map[string]any{"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"},
			"clientContext":      map[string]any{"custom": map[string]any{"a": 1.0}},
			"remainingOk":        true,
			"waits":              true,
			"trace":              "Root=1-abc",
		}
		if diff := cmp.Diff(want, jsonObject(t, o.Body)); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if ct := o.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		o = api.invoke(t, invocation{ID: "req-b"})
		got := jsonObject(t, o.Body)
		if got["counter"] != 2.0 || got["trace"] != nil || got["identity"] != nil {
			t.Errorf("second invoke: %s", o.Body)
		}
		out := p.outputSoon("req-b\tWARN")
		if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-a\tINFO\tevent: \{ k: 'v' \}$`).MatchString(out) {
			t.Errorf("console.log line missing:\n%q", out)
		}
		if !strings.Contains(out, "\treq-a\tWARN\tmulti\rline\n") {
			t.Errorf("console.warn line missing:\n%q", out)
		}
	})
	for _, tc := range []struct {
		handler  string
		kind     string
		body     string
		minDelay time.Duration
		maxDelay time.Duration
	}{
		{"index.callbackWaits", "response", `{"waited":true}`, 350 * time.Millisecond, 0},
		{"index.callbackNoWait", "response", `{"waited":false}`, 0, 300 * time.Millisecond},
		{"index.succeed", "response", `{"via":"succeed"}`, 0, 0},
		{"index.undef", "response", `null`, 0, 0},
		{"index.nested.deeper.fn", "response", `"nested"`, 0, 0},
		{"index.callbackErr", "error", `{"errorType":"string","errorMessage":"plain string","trace":[]}`, 0, 0},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			t.Parallel()
			api, p := startNode(t, tc.handler, files, nil)
			for i := 0; i < 2; i++ {
				o := api.invoke(t, invocation{})
				if o.Kind != tc.kind || string(o.Body) != tc.body {
					t.Fatalf("got %s %s, want %s %s\n%s", o.Kind, o.Body, tc.kind, tc.body, p.out)
				}
				d := o.ReceivedAt.Sub(o.Dispatched)
				if tc.minDelay > 0 && d < tc.minDelay {
					t.Errorf("answered after %v, want >= %v (callbackWaitsForEmptyEventLoop)", d, tc.minDelay)
				}
				if tc.maxDelay > 0 && d > tc.maxDelay {
					t.Errorf("answered after %v, want <= %v", d, tc.maxDelay)
				}
			}
		})
	}
	t.Run("thrown error", func(t *testing.T) {
		t.Parallel()
		api, p := startNode(t, "index.throws", files, nil)
		o := api.invoke(t, invocation{ID: "req-e"})
		if o.Kind != "error" {
			t.Fatalf("kind %s", o.Kind)
		}
		if keys := keyOrder(o.Body); strings.Join(keys, ",") != "errorType,errorMessage,trace" {
			t.Errorf("keys = %v", keys)
		}
		body := jsonObject(t, o.Body)
		trace, _ := body["trace"].([]any)
		if body["errorType"] != "TypeError" || body["errorMessage"] != "failure" || len(trace) < 2 ||
			trace[0] != "TypeError: failure" || !strings.Contains(trace[1].(string), filepath.Join(p.taskRT, "index.js")) {
			t.Errorf("body = %s", o.Body)
		}
		out := p.outputSoon("Invoke Error")
		if !regexp.MustCompile(`\treq-e\tERROR\tInvoke Error \t\{"errorType":"TypeError","errorMessage":"failure","stack":\["TypeError: failure",`).MatchString(out) {
			t.Errorf("error log line missing:\n%s", out)
		}
	})
}

func TestNodeModuleKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler string
		files   map[string]string
	}{
		{"mjs", "app.handler", map[string]string{"app.mjs": "export const handler = async () => ({ kind: 'esm' });\n"}},
		{"js type module", "src/app.handler", map[string]string{
			"package.json": `{"type":"module"}`,
			"src/app.js":   "import { kind } from './lib.js';\nexport const handler = async () => ({ kind });\n",
			"src/lib.js":   "export const kind = 'esm';\n",
		}},
		{"cjs", "app.handler", map[string]string{"app.cjs": "module.exports.handler = async () => ({ kind: 'cjs' });\n"}},
		{"js commonjs", "app.handler", map[string]string{"app.js": "exports.handler = async () => ({ kind: 'cjs' });\n"}},
		{"top-level await", "app.handler", map[string]string{"app.mjs": "const v = await Promise.resolve('esm');\nexport const handler = async () => ({ kind: v });\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, p := startNode(t, tc.handler, tc.files, nil)
			o := api.invoke(t, invocation{})
			if o.Kind != "response" || !bytes.Contains(o.Body, []byte(`"kind":`)) {
				t.Fatalf("%s %s\n%s", o.Kind, o.Body, p.out)
			}
		})
	}
}

func TestNodeInitErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, handler string
		files         map[string]string
		wantType      string
		wantMessage   string
	}{
		{"missing module", "nope.handler", map[string]string{"index.js": ""}, "Runtime.ImportModuleError", "Error: Cannot find module 'nope'"},
		{"handler not found", "index.nope", map[string]string{"index.js": "exports.handler = async () => 1;\n"}, "Runtime.HandlerNotFound", "index.nope is undefined or not exported"},
		{"not a function", "index.value", map[string]string{"index.js": "exports.value = 42;\n"}, "Runtime.HandlerNotFound", "index.value is not a function"},
		{"syntax error", "index.handler", map[string]string{"index.js": "exports.handler = async () => {\n"}, "Runtime.UserCodeSyntaxError", "SyntaxError: Unexpected end of input"},
		{"malformed", "index", map[string]string{"index.js": ""}, "Runtime.MalformedHandlerName", "Bad handler"},
		{"relative path", "../x.handler", map[string]string{"index.js": ""}, "Runtime.MalformedHandlerName", "'../x.handler' is not a valid handler name."},
		{"throws at load", "index.handler", map[string]string{"index.js": "throw new RangeError('no config');\n"}, "RangeError", "no config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, p := startNode(t, tc.handler, tc.files, nil)
			o := api.waitOutcome(t)
			if o.Kind != "init" {
				t.Fatalf("kind %s: %s\n%s", o.Kind, o.Body, p.out)
			}
			if got := o.Header.Get("Lambda-Runtime-Function-Error-Type"); got != tc.wantType {
				t.Errorf("header = %q, want %q", got, tc.wantType)
			}
			body := jsonObject(t, o.Body)
			if body["errorType"] != tc.wantType {
				t.Errorf("errorType = %v", body["errorType"])
			}
			if msg, _ := body["errorMessage"].(string); !strings.HasPrefix(msg, tc.wantMessage) {
				t.Errorf("errorMessage = %q, want prefix %q", msg, tc.wantMessage)
			}
			if _, ok := body["trace"].([]any); !ok {
				t.Errorf("trace missing: %s", o.Body)
			}
			if code := p.wait(t); code != 129 {
				t.Errorf("exit code = %d, want 129", code)
			}
			if out := p.out.String(); !strings.Contains(out, "\tundefined\tERROR\tUncaught Exception \t{") {
				t.Errorf("log line missing:\n%s", out)
			}
		})
	}
}

const streamingHandler = `exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { "content-type": "text/plain", "x-custom": "yes" },
    cookies: ["a=1"],
  });
  for (let i = 0; i < 10; i++) {
    responseStream.write("chunk " + i + "\n");
    await new Promise((r) => setTimeout(r, 100));
  }
  responseStream.end();
});
exports.fails = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  responseStream.write("partial");
  await new Promise((r) => setTimeout(r, 50));
  throw new Error("mid-stream");
});
exports.notAsync = awslambda.streamifyResponse((event, responseStream) => 1);
`

func TestNodeStreaming(t *testing.T) {
	t.Parallel()
	files := map[string]string{"index.js": streamingHandler}
	t.Run("http response stream", func(t *testing.T) {
		t.Parallel()
		api, p := startNode(t, "index.handler", files, nil)
		for i := 0; i < 2; i++ { // the runtime is reused after a stream
			o := api.invoke(t, invocation{})
			if o.Kind != "response" {
				t.Fatalf("kind %s\n%s", o.Kind, p.out)
			}
			if got := o.Header.Get("Lambda-Runtime-Function-Response-Mode"); got != "streaming" {
				t.Errorf("response mode = %q", got)
			}
			if got := o.Header.Get("Content-Type"); got != "application/vnd.awslambda.http-integration-response" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := o.Header.Get("Transfer-Encoding"); got != "" {
				t.Errorf("Transfer-Encoding header left in place: %q", got)
			}
			prelude := `{"statusCode":201,"headers":{"content-type":"text/plain","x-custom":"yes"},"cookies":["a=1"]}` + strings.Repeat("\x00", 8)
			var wantBody strings.Builder
			wantBody.WriteString(prelude)
			for i := 0; i < 10; i++ {
				wantBody.WriteString("chunk " + string(rune('0'+i)) + "\n")
			}
			if string(o.Body) != wantBody.String() {
				t.Errorf("body = %q", o.Body)
			}
			if n := len(o.ChunkTimes); n < 5 {
				t.Fatalf("body arrived in %d reads, want it streamed", n)
			}
			first, last := o.ChunkTimes[0], o.ChunkTimes[len(o.ChunkTimes)-1]
			if last-first < 700*time.Millisecond {
				t.Errorf("first chunk at %v, last at %v: not streamed", first, last)
			}
		}
	})
	t.Run("error trailers", func(t *testing.T) {
		t.Parallel()
		api, p := startNode(t, "index.fails", files, nil)
		o := api.invoke(t, invocation{})
		if o.Kind != "response" || string(o.Body) != "partial" {
			t.Fatalf("%s %q\n%s", o.Kind, o.Body, p.out)
		}
		if got := o.Trailer.Get("Lambda-Runtime-Function-Error-Type"); got != "Error" {
			t.Errorf("error type trailer = %q (trailers %v)", got, o.Trailer)
		}
		raw, err := base64.StdEncoding.DecodeString(o.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		if err != nil {
			t.Fatal(err)
		}
		body := jsonObject(t, raw)
		if body["errorType"] != "Error" || body["errorMessage"] != "mid-stream" {
			t.Errorf("error body = %s", raw)
		}
	})
	t.Run("non-async streaming handler", func(t *testing.T) {
		t.Parallel()
		api, p := startNode(t, "index.notAsync", files, nil)
		o := api.invoke(t, invocation{})
		if got := o.Trailer.Get("Lambda-Runtime-Function-Error-Type"); got != "string" {
			t.Errorf("error type trailer = %q; body %q\n%s", got, o.Body, p.out)
		}
	})
}

// ricPath is where scripts/deps.sh installs the real aws-lambda-ric.
func ricPath(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(wd, "..", "..", ".deps", "node", "node_modules", "aws-lambda-ric")
	if _, err := os.Stat(filepath.Join(dir, "build", "Release", "rapid-client.node")); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, "dist", "rapid-client.node")); err2 != nil {
			if os.Getenv("CI") != "" { // CI installs it first (make test): missing is a failure there
				t.Fatalf("aws-lambda-ric with its native addon is not installed under %s: %v", dir, err)
			}
			t.Skipf("aws-lambda-ric with its native addon is not installed under %s (run scripts/deps.sh): %v", dir, err)
		}
	}
	return dir
}

// TestRealNodeRIC runs the npm aws-lambda-ric 3.3.0 as a provided.al2023 bootstrap script and
// checks that it agrees with furl's own Node bootstrap on the same handlers.
func TestRealNodeRIC(t *testing.T) {
	t.Parallel()
	needNode(t)
	ric := ricPath(t)
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"index.js":  nodeHandlers,
		"stream.js": streamingHandler,
		"bootstrap": "#!/bin/sh\nexport NODE_PATH=" + filepath.Dir(ric) + "\nexec node " + filepath.Join(ric, "bin", "index.mjs") + " \"$_HANDLER\"\n",
	})
	for _, tc := range []struct {
		handler string
		check   func(t *testing.T, own, real outcome)
	}{
		{"index.callbackErr", sameBody},
		{"index.nested.deeper.fn", sameBody},
		{"index.throws", func(t *testing.T, own, real outcome) {
			if diff := cmp.Diff(keyOrder(real.Body), keyOrder(own.Body)); diff != "" {
				t.Errorf("keys (-real +own):\n%s", diff)
			}
		}},
		{"index.async", sameBody},
		{"index.callbackWaits", func(t *testing.T, own, real outcome) {
			sameBody(t, own, real)
			ownD, realD := own.ReceivedAt.Sub(own.Dispatched), real.ReceivedAt.Sub(real.Dispatched)
			if ownD < 350*time.Millisecond || realD < 350*time.Millisecond {
				t.Errorf("callbackWaitsForEmptyEventLoop: own answered after %v, real after %v", ownD, realD)
			}
		}},
		{"nope.handler", func(t *testing.T, own, real outcome) {
			o, r := jsonObject(t, own.Body), jsonObject(t, real.Body)
			if o["errorType"] != r["errorType"] || own.Header.Get("Lambda-Runtime-Function-Error-Type") != real.Header.Get("Lambda-Runtime-Function-Error-Type") {
				t.Errorf("own %s, real %s", own.Body, real.Body)
			}
			om, _ := o["errorMessage"].(string)
			rm, _ := r["errorMessage"].(string)
			if first(om) != first(rm) {
				t.Errorf("message: own %q, real %q", om, rm)
			}
		}},
		{"stream.handler", func(t *testing.T, own, real outcome) {
			if string(own.Body) != string(real.Body) {
				t.Errorf("own %q, real %q", own.Body, real.Body)
			}
			for _, h := range []string{"Content-Type", "Lambda-Runtime-Function-Response-Mode"} {
				if own.Header.Get(h) != real.Header.Get(h) {
					t.Errorf("%s: own %q, real %q", h, own.Header.Get(h), real.Header.Get(h))
				}
			}
		}},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t)
			p := startRuntime(t, api, []string{filepath.Join(root, "bootstrap")}, []string{"_HANDLER=" + tc.handler}, root, nil)
			inv := invocation{ID: "req-same", ARN: "arn:aws:lambda:us-east-1:000000000000:function:fn", Payload: `{"k":"v"}`,
				TraceID: "Root=1-abc", Cognito: `{"cognitoIdentityId":"i","cognitoIdentityPoolId":"p"}`, ClientContext: `{"custom":{"a":1}}`}
			real := api.invoke(t, inv)
			files := map[string]string{"index.js": nodeHandlers, "stream.js": streamingHandler}
			ownAPI, ownP := startNode(t, tc.handler, files, nil)
			own := ownAPI.invoke(t, inv)
			if real.Kind != own.Kind {
				t.Fatalf("kind: real %s, own %s\nreal output:\n%s\nown output:\n%s", real.Kind, own.Kind, p.out, ownP.out)
			}
			tc.check(t, own, real)
			// The invocation's log lines agree too (timestamps aside).
			ts := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`)
			reqLines := func(out string) []string {
				var lines []string
				for _, l := range strings.Split(ts.ReplaceAllString(out, "TIME"), "\n") {
					if strings.Contains(l, "\treq-same\t") {
						lines = append(lines, regexp.MustCompile(`\(/[^)]*\)`).ReplaceAllString(l, "(PATH)"))
					}
				}
				return lines
			}
			if tc.handler == "index.async" { // (error lines carry the runtimes' own stack frames)
				const wantLine = "req-same\tWARN"
				if diff := cmp.Diff(reqLines(p.outputSoon(wantLine)), reqLines(ownP.outputSoon(wantLine))); diff != "" {
					t.Errorf("log lines (-real +own):\n%s", diff)
				}
			}
		})
	}
}

// TestNodeFatalErrors: an uncaught exception or unhandled rejection during an invocation is
// posted as the invocation's error, then the process exits (129 / 128), as with aws-lambda-ric.
func TestNodeFatalErrors(t *testing.T) {
	t.Parallel()
	files := map[string]string{"index.js": `exports.uncaught = (event, context, callback) => {
  setTimeout(() => { throw new Error("from a timer"); }, 10);
};
exports.rejection = async () => {
  Promise.reject(new Error("nobody listens"));
  await new Promise((r) => setTimeout(r, 200));
  return "late";
};
`}
	for _, tc := range []struct {
		handler, wantType, wantMsg string
		code                       int
	}{
		{"index.uncaught", "Error", "from a timer", 129},
		{"index.rejection", "Runtime.UnhandledPromiseRejection", "Error: nobody listens", 128},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			t.Parallel()
			api, p := startNode(t, tc.handler, files, nil)
			o := api.invoke(t, invocation{ID: "req-fatal"})
			if o.Kind != "error" || o.RequestID != "req-fatal" {
				t.Fatalf("%s %s: %s\n%s", o.Kind, o.RequestID, o.Body, p.out)
			}
			body := jsonObject(t, o.Body)
			if body["errorType"] != tc.wantType || body["errorMessage"] != tc.wantMsg {
				t.Errorf("body %s", o.Body)
			}
			if code := p.wait(t); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
		})
	}
}

// runtimeStarter names a way to start a runtime for the tests that run against each bootstrap.
type runtimeStarter struct {
	name  string
	start func(t *testing.T) (*fakeAPI, *runtimeProc)
}

// nodeStarter starts the Node bootstrap on handler in nodeHandlers.
func nodeStarter(name, handler string) runtimeStarter {
	return runtimeStarter{name, func(t *testing.T) (*fakeAPI, *runtimeProc) {
		return startNode(t, handler, map[string]string{"index.js": nodeHandlers}, nil)
	}}
}

// pythonStarter starts the Python bootstrap on a handler that returns 1.
var pythonStarter = runtimeStarter{"python", func(t *testing.T) (*fakeAPI, *runtimeProc) {
	return startPython(t, "python3.12", "app.handler", map[string]string{"app.py": "def handler(e, c):\n    return 1\n"}, nil)
}}

// TestRefusedPost: when the Runtime API refuses a post (413 for an oversized response), the
// runtime process ends, as the RICs' do, instead of serving more invocations.
func TestRefusedPost(t *testing.T) {
	t.Parallel()
	for _, tc := range []runtimeStarter{
		nodeStarter("node", "index.async"),
		nodeStarter("node error path", "index.throws"),
		pythonStarter,
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, p := tc.start(t)
			api.mu.Lock()
			api.refuse = http.StatusRequestEntityTooLarge
			api.mu.Unlock()
			api.invoke(t, invocation{})
			if code := p.wait(t); code != 1 {
				t.Errorf("exit code %d, want 1\n%s", code, p.out)
			}
		})
	}
}

// TestRuntimeAPIGone: when the Runtime API disappears (furl killed), an idle runtime exits
// instead of lingering or spinning.
func TestRuntimeAPIGone(t *testing.T) {
	t.Parallel()
	for _, tc := range []runtimeStarter{
		nodeStarter("node", "index.async"),
		nodeStarter("node callback", "index.callbackErr"),
		pythonStarter,
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, p := tc.start(t)
			api.invoke(t, invocation{})
			time.Sleep(100 * time.Millisecond) // back in /next
			_ = api.srv.Close()
			if code := p.wait(t); code == 0 {
				t.Errorf("exit code 0\n%s", p.out)
			}
		})
	}
}

// sameBody checks that furl's bootstrap and the real RIC posted the same body.
func sameBody(t *testing.T, own, real outcome) {
	t.Helper()
	if string(own.Body) != string(real.Body) {
		t.Errorf("own %s, real %s", own.Body, real.Body)
	}
}

// first returns the first line of s.
func first(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
