package bootstraps

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testPython struct {
	once sync.Once
	path string
	err  error
}

// newTestSet writes the bootstraps to a temporary directory; the python interpreter is
// resolved once per test binary (resolving a pyenv shim costs most of a second).
func newTestSet(t *testing.T) *Set {
	t.Helper()
	testPython.once.Do(func() {
		s, err := New(t.TempDir())
		if err != nil {
			testPython.err = err
			return
		}
		testPython.path, testPython.err = s.pythonPath(t.Context())
	})
	s, err := NewWithOptions(t.TempDir(), Options{Python: testPython.path})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
}

// startPython starts the Python bootstrap for handler over files.
func startPython(t *testing.T, runtime, handler string, files map[string]string, fnEnv map[string]string) (*fakeAPI, *runtimeProc) {
	t.Helper()
	needPython(t)
	set := newTestSet(t)
	root := t.TempDir()
	writeFiles(t, root, files)
	argv, env, err := set.Command(runtime, handler, root)
	if err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI(t)
	return api, startRuntime(t, api, argv, env, root, fnEnv)
}

func jsonObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", b, err)
	}
	return m
}

const articleHandler = `import json

def lambda_handler(event, context):
    print(json.dumps(event))
    return {"message": "hello world"}
`

func TestPythonArticleExample(t *testing.T) {
	t.Parallel()
	api, p := startPython(t, "python3.12", "lambda_function.lambda_handler",
		map[string]string{"lambda_function.py": articleHandler}, nil)
	o := api.invoke(t, invocation{ID: "req-1", Payload: `{"rawPath":"/hello","body":"hi"}`})
	if o.Kind != "response" || o.RequestID != "req-1" {
		t.Fatalf("outcome %s %s: %s\n%s", o.Kind, o.RequestID, o.Body, p.out)
	}
	if got, want := string(o.Body), `{"message": "hello world"}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if ct := o.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	const printed = `{"rawPath": "/hello", "body": "hi"}` + "\n"
	if !strings.Contains(p.outputSoon(printed), printed) {
		t.Errorf("event not printed; output:\n%s", p.out)
	}
}

func TestPythonHandlerStrings(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"pkg/__init__.py":     "",
		"pkg/sub/__init__.py": "",
		"pkg/sub/mod.py":      "def handler(e, c):\n    return {'where': __name__}\n",
		"pkg/mod.py":          "def handler(e, c):\n    return {'where': __name__}\n",
		"app.py":              "def handler(e, c):\n    return {'where': __name__}\n",
	}
	for _, tc := range []struct{ handler, want string }{
		{"pkg/sub/mod.handler", "pkg.sub.mod"},
		{"pkg.sub.mod.handler", "pkg.sub.mod"},
		{"pkg.mod.handler", "pkg.mod"},
		{"pkg/mod.handler", "pkg.mod"},
		{"app.handler", "app"},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			t.Parallel()
			api, p := startPython(t, "python3.11", tc.handler, files, nil)
			o := api.invoke(t, invocation{})
			if o.Kind != "response" {
				t.Fatalf("%s: %s\n%s", o.Kind, o.Body, p.out)
			}
			if got := jsonObject(t, o.Body)["where"]; got != tc.want {
				t.Errorf("module = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestPythonInitErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, handler string
		files         map[string]string
		wantType      string
		wantMessage   string // prefix
		wantTrace     bool
	}{
		{
			name: "handler not found", handler: "app.nope",
			files:    map[string]string{"app.py": "def handler(e, c):\n    return 1\n"},
			wantType: "Runtime.HandlerNotFound", wantMessage: "Handler 'nope' missing on module 'app'",
		},
		{
			name: "import error", handler: "app.handler",
			files:    map[string]string{"app.py": "import requests_that_do_not_exist\n"},
			wantType: "Runtime.ImportModuleError", wantMessage: "Unable to import module 'app': No module named 'requests_that_do_not_exist'",
		},
		{
			name: "missing module", handler: "missing.handler",
			files:    map[string]string{"app.py": ""},
			wantType: "Runtime.ImportModuleError", wantMessage: "Unable to import module 'missing': No module named 'missing'",
		},
		{
			name: "syntax error", handler: "app.handler",
			files:    map[string]string{"app.py": "def handler(e, c)\n    return 1\n"},
			wantType: "Runtime.UserCodeSyntaxError", wantMessage: "Syntax error in module 'app': ", wantTrace: true,
		},
		{
			name: "malformed handler", handler: "app",
			files:    map[string]string{"app.py": ""},
			wantType: "Runtime.MalformedHandlerName", wantMessage: "Bad handler 'app': not enough values to unpack (expected 2, got 1)",
		},
		{
			name: "built-in module", handler: "sys.handler",
			files:    map[string]string{"app.py": ""},
			wantType: "Runtime.BuiltInModuleConflict", wantMessage: "Cannot use built-in module sys as a handler module",
		},
		{
			name: "exception at import", handler: "app.handler",
			files:    map[string]string{"app.py": "raise RuntimeError('no config')\n"},
			wantType: "RuntimeError", wantMessage: "no config", wantTrace: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api, p := startPython(t, "python3.12", tc.handler, tc.files, nil)
			o := api.waitOutcome(t)
			if o.Kind != "init" {
				t.Fatalf("kind = %s (%s)\n%s", o.Kind, o.Body, p.out)
			}
			if got := o.Header.Get("Lambda-Runtime-Function-Error-Type"); got != tc.wantType {
				t.Errorf("error-type header = %q, want %q", got, tc.wantType)
			}
			body := jsonObject(t, o.Body)
			if body["errorType"] != tc.wantType {
				t.Errorf("errorType = %v, want %s", body["errorType"], tc.wantType)
			}
			if msg, _ := body["errorMessage"].(string); !strings.HasPrefix(msg, tc.wantMessage) {
				t.Errorf("errorMessage = %q, want prefix %q", msg, tc.wantMessage)
			}
			if body["requestId"] != "" {
				t.Errorf("requestId = %v, want empty", body["requestId"])
			}
			trace, _ := body["stackTrace"].([]any)
			if tc.wantTrace != (len(trace) > 0) {
				t.Errorf("stackTrace = %v", body["stackTrace"])
			}
			if code := p.wait(t); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			out := p.out.String()
			if !strings.Contains(out, "[ERROR] "+tc.wantType+": ") {
				t.Errorf("error record missing from output:\n%s", out)
			}
			if !strings.Contains(out, "LAMBDA_WARNING: Unhandled exception.") {
				t.Errorf("warning missing from output:\n%s", out)
			}
			if strings.Contains(out, "\n  File") {
				t.Errorf("traceback lines must be joined with \\r:\n%s", out)
			}
		})
	}
}

func TestPythonExceptionBody(t *testing.T) {
	t.Parallel()
	api, p := startPython(t, "python3.12", "app.handler", map[string]string{"app.py": `def handler(event, context):
    check(event)

def check(event):
    raise ValueError("bad value")
`}, nil)
	o := api.invoke(t, invocation{ID: "req-err"})
	if o.Kind != "error" {
		t.Fatalf("kind = %s: %s", o.Kind, o.Body)
	}
	body := jsonObject(t, o.Body)
	root := p.taskRT
	want := map[string]any{
		"errorMessage": "bad value",
		"errorType":    "ValueError",
		"requestId":    "req-err",
		"stackTrace": []any{
			"  File \"" + root + "/app.py\", line 2, in handler\n    check(event)\n",
			"  File \"" + root + "/app.py\", line 5, in check\n    raise ValueError(\"bad value\")\n",
		},
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}
	if keys := keyOrder(o.Body); strings.Join(keys, ",") != "errorMessage,errorType,requestId,stackTrace" {
		t.Errorf("key order = %v", keys)
	}
	if h := o.Header.Get("Lambda-Runtime-Function-Error-Type"); h != "" {
		t.Errorf("invocation errors carry no error-type header, got %q", h)
	}
	if o.Header.Get("Lambda-Runtime-Function-Xray-Error-Cause") == "" {
		t.Errorf("no X-Ray cause header")
	}
	out := p.outputSoon("Traceback")
	wantLog := "[ERROR] ValueError: bad value\rTraceback (most recent call last):\r\u00a0\u00a0File \"" + root + "/app.py\", line 2, in handler\r\u00a0\u00a0\u00a0\u00a0check(event)\r"
	if !strings.Contains(out, wantLog) {
		t.Errorf("error log record missing; output:\n%q", out)
	}
	// The runtime survives a handler error and serves the next invocation.
	o = api.invoke(t, invocation{ID: "req-2"})
	if o.Kind != "error" || o.RequestID != "req-2" {
		t.Errorf("second invoke: %s %s", o.Kind, o.RequestID)
	}
}

// keyOrder returns the top-level keys of a JSON object in document order.
func keyOrder(b []byte) []string {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var keys []string
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

const contextHandler = `import os

def handler(event, context):
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity_id": context.identity.cognito_identity_id,
        "identity_pool": context.identity.cognito_identity_pool_id,
        "client_app_title": cc.client.app_title if cc else None,
        "client_custom": cc.custom if cc else None,
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 30000,
        "remaining_type": type(context.get_remaining_time_in_millis()).__name__,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "event": event,
    }
`

func TestPythonContext(t *testing.T) {
	t.Parallel()
	api, p := startPython(t, "python3.12", "app.handler", map[string]string{"app.py": contextHandler}, nil)
	o := api.invoke(t, invocation{
		ID:            "req-ctx",
		ARN:           "arn:aws:lambda:us-east-1:000000000000:function:fn:live",
		TraceID:       "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
		ClientContext: `{"client":{"app_title":"furl-app"},"custom":{"k":"v"},"env":{}}`,
		Cognito:       `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
		Payload:       `{"x":[1,2]}`,
	})
	if o.Kind != "response" {
		t.Fatalf("kind %s: %s\n%s", o.Kind, o.Body, p.out)
	}
	want := map[string]any{
		"function_name":        "fn",
		"function_version":     "$LATEST",
		"invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:fn:live",
		"memory_limit_in_mb":   "512",
		"aws_request_id":       "req-ctx",
		"log_group_name":       "/aws/lambda/fn",
		"log_stream_name":      "2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef",
		"identity_id":          "id-1",
		"identity_pool":        "pool-1",
		"client_app_title":     "furl-app",
		"client_custom":        map[string]any{"k": "v"},
		"remaining_ok":         true,
		"remaining_type":       "int",
		"trace":                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
		"event":                map[string]any{"x": []any{1.0, 2.0}},
	}
	if diff := cmp.Diff(want, jsonObject(t, o.Body)); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
	// Without the optional headers: identity is an object of Nones, client_context None, and
	// the trace variable is removed.
	o = api.invoke(t, invocation{ID: "req-ctx2"})
	got := jsonObject(t, o.Body)
	for _, k := range []string{"identity_id", "identity_pool", "client_app_title", "client_custom", "trace"} {
		if got[k] != nil {
			t.Errorf("%s = %v, want null", k, got[k])
		}
	}
}

func TestPythonWarmReuseAndLogging(t *testing.T) {
	t.Parallel()
	api, p := startPython(t, "python3.11", "app.handler", map[string]string{"app.py": `import logging
counter = 0
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    global counter
    counter += 1
    print("print line")
    logger.info("info %s", counter)
    logging.getLogger("child").warning("caf\u00e9")
    return {"counter": counter, "s": "\u00fc"}
`}, nil)
	for i := 1; i <= 3; i++ {
		id := "req-" + string(rune('0'+i))
		o := api.invoke(t, invocation{ID: id})
		if o.Kind != "response" {
			t.Fatalf("kind %s: %s\n%s", o.Kind, o.Body, p.out)
		}
		// python3.11 keeps ensure_ascii=True, as awslambdaric does before 3.12.
		if want := `{"counter": ` + string(rune('0'+i)) + `, "s": "\u00fc"}`; string(o.Body) != want {
			t.Errorf("body = %s, want %s", o.Body, want)
		}
	}
	out := p.outputSoon("req-3\tcafé")
	if !strings.Contains(out, "print line\n") {
		t.Errorf("print output missing:\n%s", out)
	}
	re := regexp.MustCompile(`(?m)^\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-2\tinfo 2$`)
	if !re.MatchString(out) {
		t.Errorf("logging line missing or misformatted:\n%q", out)
	}
	if !regexp.MustCompile(`(?m)^\[WARNING\]\t\S+\treq-3\tcafé$`).MatchString(out) {
		t.Errorf("warning line missing:\n%q", out)
	}
}

func TestPythonMarshalling(t *testing.T) {
	t.Parallel()
	files := map[string]string{"app.py": `import decimal
def text(event, context):
    return {"s": "\u00fc", "d": decimal.Decimal("1.50"), "b": b"raw", "n": None}
def raw(event, context):
    return b"\x00\x01bytes"
def unserializable(event, context):
    return {"x": object()}
`}
	for _, tc := range []struct {
		runtime, handler string
		kind, body, ct   string
	}{
		{"python3.12", "app.text", "response", `{"s": "ü", "d": 1.50, "b": "raw", "n": null}`, "application/json"},
		{"python3.9", "app.text", "response", `{"s": "\u00fc", "d": 1.50, "b": "raw", "n": null}`, "application/json"},
		{"python3.12", "app.raw", "response", "\x00\x01bytes", "application/unknown"},
		{"python3.12", "app.unserializable", "error", "", "application/json"},
	} {
		t.Run(tc.runtime+"/"+tc.handler, func(t *testing.T) {
			t.Parallel()
			api, p := startPython(t, tc.runtime, tc.handler, files, nil)
			o := api.invoke(t, invocation{})
			if o.Kind != tc.kind {
				t.Fatalf("kind = %s: %s\n%s", o.Kind, o.Body, p.out)
			}
			if tc.kind == "error" {
				body := jsonObject(t, o.Body)
				if body["errorType"] != "Runtime.MarshalError" ||
					!strings.HasPrefix(body["errorMessage"].(string), "Unable to marshal response: Object of type object is not JSON serializable") {
					t.Errorf("body = %s", o.Body)
				}
				return
			}
			if string(o.Body) != tc.body {
				t.Errorf("body = %q, want %q", o.Body, tc.body)
			}
			if ct := o.Header.Get("Content-Type"); ct != tc.ct {
				t.Errorf("Content-Type = %q, want %q", ct, tc.ct)
			}
		})
	}
}

// TestPythonTransport checks the bootstrap's HTTP client on chunked and large events.
func TestPythonTransport(t *testing.T) {
	t.Parallel()
	api, p := startPython(t, "python3.12", "app.handler", map[string]string{"app.py": "def handler(e, c):\n    return {'n': len(e['big'])}\n"}, nil)
	big := strings.Repeat("x", 1<<20)
	for i, inv := range []invocation{
		{Payload: `{"big":"abc"}`, Chunked: true},
		{Payload: `{"big":"` + big + `"}`},
		{Payload: `{"big":"` + big + `"}`, Chunked: true},
		{Payload: `{"big":""}`},
	} {
		o := api.invoke(t, inv)
		want := []int{3, len(big), len(big), 0}[i]
		if o.Kind != "response" || string(o.Body) != `{"n": `+strconv.Itoa(want)+`}` {
			t.Fatalf("invoke %d: %s %.200s\n%s", i, o.Kind, o.Body, p.out)
		}
	}
}

func TestPythonJSONLogFormat(t *testing.T) {
	t.Parallel()
	api, p := startPython(t, "python3.12", "app.handler", map[string]string{"app.py": `import logging
logger = logging.getLogger("app")
def handler(e, c):
    logger.warning("structured %s", "ü", extra={"k": 1})
    return 1
`}, map[string]string{"AWS_LAMBDA_LOG_FORMAT": "JSON"})
	api.invoke(t, invocation{ID: "req-json"})
	out := p.outputSoon(`"requestId": "req-json"`)
	var rec map[string]any
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "structured") {
			rec = jsonObject(t, []byte(line))
		}
	}
	if rec == nil {
		t.Fatalf("no JSON record in:\n%s", out)
	}
	ts, _ := rec["timestamp"].(string)
	delete(rec, "timestamp")
	want := map[string]any{"level": "WARNING", "message": "structured ü", "logger": "app", "requestId": "req-json", "k": 1.0}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(ts) {
		t.Errorf("timestamp %q", ts)
	}
}

// TestPythonLazyLogging: the runtime leaves logging unimported until something imports it, and
// then the Lambda handler is in place before any record can be emitted.
func TestPythonLazyLogging(t *testing.T) {
	t.Parallel()
	api, p := startPython(t, "python3.12", "app.handler", map[string]string{"app.py": `import sys
def handler(event, context):
    before = "logging" in sys.modules
    context.log("via context.log\n")
    import logging
    logging.getLogger("x").warning("late import")
    import logging.handlers
    return {"imported_before": before, "handlers": len(logging.getLogger().handlers),
            "loader_ok": type(logging.__loader__).__name__ == "SourceFileLoader",
            "site_builtins": callable(exit) and callable(quit) and callable(help)}
`}, nil)
	o := api.invoke(t, invocation{ID: "req-lazy"})
	if diff := cmp.Diff(map[string]any{"imported_before": false, "handlers": 1.0, "loader_ok": true, "site_builtins": true}, jsonObject(t, o.Body)); diff != "" {
		t.Errorf("result (-want +got):\n%s\n%s", diff, p.out)
	}
	out := p.outputSoon("late import")
	if !strings.Contains(out, "via context.log\n") || !regexp.MustCompile(`(?m)^\[WARNING\]\t\S+\treq-lazy\tlate import$`).MatchString(out) {
		t.Errorf("output:\n%q", out)
	}
}
