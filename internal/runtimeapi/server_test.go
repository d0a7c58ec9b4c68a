package runtimeapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/furl/furl/internal/runtimeapi"
)

type fixture struct {
	srv      *runtimeapi.Server
	base     string
	mu       sync.Mutex
	idle     []bool
	initType string
	initBody string
}

func newFixture(t *testing.T, cfg runtimeapi.Config) *fixture {
	t.Helper()
	f := &fixture{}
	srv, err := runtimeapi.New(cfg, runtimeapi.Hooks{
		Idle: func(first bool) { f.mu.Lock(); f.idle = append(f.idle, first); f.mu.Unlock() },
		InitError: func(typ string, body []byte) {
			f.mu.Lock()
			f.initType, f.initBody = typ, string(body)
			f.mu.Unlock()
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f.srv = srv
	f.base = "http://" + srv.Addr() + "/2018-06-01"
	return f
}

type resp struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, req *http.Request) resp {
	t.Helper()
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, string(b)}
}

func get(t *testing.T, url string) resp {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return do(t, req)
}

func post(t *testing.T, url string, body io.Reader, hdr map[string]string) resp {
	req, _ := http.NewRequest(http.MethodPost, url, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

// dispatch hands an invocation over and returns it once a /next call (started by the caller)
// has taken it.
func dispatch(t *testing.T, f *fixture, inv *runtimeapi.Invocation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.srv.Dispatch(ctx, inv); err != nil {
		t.Fatal(err)
	}
}

func nextAsync(t *testing.T, f *fixture) <-chan resp {
	ch := make(chan resp, 1)
	go func() {
		r, err := http.Get(f.base + "/runtime/invocation/next")
		if err != nil {
			ch <- resp{status: -1, body: err.Error()}
			return
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		ch <- resp{r.StatusCode, r.Header, string(b)}
	}()
	return ch
}

func newInv(id string) *runtimeapi.Invocation {
	return &runtimeapi.Invocation{
		RequestID:       id,
		Payload:         []byte(`{"k":"v"}`),
		Deadline:        time.UnixMilli(time.Now().Add(time.Hour).UnixMilli()),
		FunctionARN:     "arn:aws:lambda:us-east-1:000000000000:function:f:prod",
		TraceID:         "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
		ClientContext:   `{"custom":{"a":"b"}}`,
		CognitoIdentity: `{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}`,
	}
}

func TestNextAndResponse(t *testing.T) {
	f := newFixture(t, runtimeapi.Config{})
	nc := nextAsync(t, f)
	inv := newInv("req-1")
	dispatch(t, f, inv)
	r := <-nc
	want := map[string]string{
		"Content-Type":                        "application/json",
		"Lambda-Runtime-Aws-Request-Id":       "req-1",
		"Lambda-Runtime-Deadline-Ms":          strconv.FormatInt(inv.Deadline.UnixMilli(), 10),
		"Lambda-Runtime-Invoked-Function-Arn": inv.FunctionARN,
		"Lambda-Runtime-Trace-Id":             inv.TraceID,
		"Lambda-Runtime-Client-Context":       inv.ClientContext,
		"Lambda-Runtime-Cognito-Identity":     inv.CognitoIdentity,
	}
	if r.status != 200 || r.body != `{"k":"v"}` {
		t.Fatalf("next: %d %q", r.status, r.body)
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if r.header.Get("Lambda-Runtime-Aws-Tenant-Id") != "" {
		t.Error("empty headers must be omitted")
	}
	// A second /next while the invocation is unanswered re-delivers the same event.
	if r2 := get(t, f.base+"/runtime/invocation/next"); r2.header.Get("Lambda-Runtime-Aws-Request-Id") != "req-1" {
		t.Errorf("re-delivery: %+v", r2)
	}
	// Wrong id: 400, even when the state would also be wrong.
	if r := post(t, f.base+"/runtime/invocation/other/response", strings.NewReader("x"), nil); r.status != 400 ||
		r.body != `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}` {
		t.Errorf("wrong id: %d %s", r.status, r.body)
	}
	// Node URL-encodes the id in the path.
	r = post(t, f.base+"/runtime/invocation/req%2D1/response", strings.NewReader(`"ok"`), map[string]string{"Content-Type": "application/json"})
	if r.status != 202 || r.body != `{"status":"OK"}` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("response: %d %s", r.status, r.body)
	}
	<-inv.Done()
	if o := inv.Outcome(); o.Kind != runtimeapi.OutcomeResponse || string(o.Payload) != `"ok"` || o.ContentType != "application/json" {
		t.Errorf("outcome %+v", o)
	}
	// Right id, wrong state: 403.
	if r := post(t, f.base+"/runtime/invocation/req-1/error", strings.NewReader("{}"), nil); r.status != 403 ||
		!strings.Contains(r.body, `"errorType":"InvalidStateTransition"`) {
		t.Errorf("second answer: %d %s", r.status, r.body)
	}
	// /init/error after init: 403.
	if r := post(t, f.base+"/runtime/init/error", strings.NewReader("{}"), nil); r.status != 403 {
		t.Errorf("late init error: %d %s", r.status, r.body)
	}
	// The next /next completes the invocation.
	nc = nextAsync(t, f)
	dispatch(t, f, newInv("req-2"))
	if r := <-nc; r.header.Get("Lambda-Runtime-Aws-Request-Id") != "req-2" {
		t.Errorf("second invocation: %+v", r)
	}
	f.mu.Lock()
	if len(f.idle) != 2 || !f.idle[0] || f.idle[1] {
		t.Errorf("idle hooks %v", f.idle)
	}
	f.mu.Unlock()
}

// chunkedBody is a body of unknown length, so the client uses chunked encoding.
type chunkedBody struct{ r io.Reader }

func (c chunkedBody) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestErrorsAndTrailers(t *testing.T) {
	f := newFixture(t, runtimeapi.Config{MaxResponseBytes: 100})
	run := func(id string) *runtimeapi.Invocation {
		nc := nextAsync(t, f)
		inv := newInv(id)
		dispatch(t, f, inv)
		<-nc
		return inv
	}

	inv := run("e1")
	r := post(t, f.base+"/runtime/invocation/e1/error", strings.NewReader(`{"errorMessage":"m","errorType":"MyErr","stackTrace":[]}`), nil)
	if r.status != 202 {
		t.Fatalf("error: %d", r.status)
	}
	<-inv.Done()
	if o := inv.Outcome(); o.Kind != runtimeapi.OutcomeFunctionError || o.ErrorType != "MyErr" || !strings.Contains(string(o.Payload), `"stackTrace":[]`) {
		t.Errorf("error outcome %+v", o)
	}

	// aws-lambda-go style: chunked with an error trailer.
	inv = run("e2")
	req, _ := http.NewRequest(http.MethodPost, f.base+"/runtime/invocation/e2/response", chunkedBody{strings.NewReader("partial")})
	req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": {"errorString"},
		"Lambda-Runtime-Function-Error-Body": {base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"reader broke","errorType":"errorString"}`))}}
	if r := do(t, req); r.status != 202 {
		t.Fatalf("trailer: %d %s", r.status, r.body)
	}
	<-inv.Done()
	if o := inv.Outcome(); o.Kind != runtimeapi.OutcomeFunctionError || o.ErrorType != "errorString" || string(o.Payload) != `{"errorMessage":"reader broke","errorType":"errorString"}` {
		t.Errorf("trailer outcome %+v", o)
	}

	// Oversized buffered response: 413 to the runtime, ResponseSizeTooLarge to the caller.
	inv = run("e3")
	r = post(t, f.base+"/runtime/invocation/e3/response", strings.NewReader(strings.Repeat("x", 150)), nil)
	if r.status != 413 || r.body != `{"errorMessage":"Exceeded maximum allowed payload size (100 bytes).","errorType":"RequestEntityTooLarge"}` {
		t.Errorf("oversize: %d %s", r.status, r.body)
	}
	<-inv.Done()
	if o := inv.Outcome(); o.ErrorType != "Function.ResponseSizeTooLarge" ||
		string(o.Payload) != `{"errorMessage":"Response payload size (150 bytes) exceeded maximum allowed payload size (100 bytes).","errorType":"Function.ResponseSizeTooLarge"}` {
		t.Errorf("oversize outcome %+v %s", o, o.Payload)
	}

	// Bad response mode.
	inv = run("e4")
	r = post(t, f.base+"/runtime/invocation/e4/response", strings.NewReader("x"), map[string]string{"Lambda-Runtime-Function-Response-Mode": "bogus"})
	if r.status != 400 || !strings.Contains(r.body, "InvalidFunctionResponseMode") {
		t.Errorf("bad mode: %d %s", r.status, r.body)
	}
	<-inv.Done()
	if o := inv.Outcome(); o.ErrorType != "Runtime.InvalidResponseModeHeader" {
		t.Errorf("bad mode outcome %+v", o)
	}
}

func TestInitError(t *testing.T) {
	f := newFixture(t, runtimeapi.Config{})
	r := post(t, f.base+"/runtime/init/error", strings.NewReader(`{"errorMessage":"x","errorType":"Runtime.ImportModuleError"}`),
		map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
	if r.status != 202 {
		t.Fatalf("init error: %d %s", r.status, r.body)
	}
	f.mu.Lock()
	if f.initType != "Runtime.ImportModuleError" || !strings.Contains(f.initBody, `"errorMessage":"x"`) {
		t.Errorf("hook got %q %q", f.initType, f.initBody)
	}
	f.mu.Unlock()
	if r := get(t, f.base+"/runtime/invocation/next"); r.status != 403 {
		t.Errorf("next after init error: %d", r.status)
	}
}

func TestStreamingMode(t *testing.T) {
	f := newFixture(t, runtimeapi.Config{})
	nc := nextAsync(t, f)
	inv := newInv("s1")
	inv.AllowStream = true
	dispatch(t, f, inv)
	<-nc
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, f.base+"/runtime/invocation/s1/response", pr)
	req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
	req.Header.Set("Content-Type", "text/plain")
	req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
	rc := make(chan resp, 1)
	go func() { rc <- do(t, req) }()
	io.WriteString(pw, "first;")
	<-inv.Done()
	o := inv.Outcome()
	if o.Stream == nil || o.ContentType != "text/plain" {
		t.Fatalf("outcome %+v", o)
	}
	buf := make([]byte, 64)
	n, err := o.Stream.Read(buf)
	if err != nil || string(buf[:n]) != "first;" {
		t.Fatalf("first chunk %q %v", buf[:n], err)
	}
	io.WriteString(pw, "second;")
	req.Trailer.Set("Lambda-Runtime-Function-Error-Type", "Error")
	req.Trailer.Set("Lambda-Runtime-Function-Error-Body", base64.StdEncoding.EncodeToString([]byte(`{"errorType":"Error","errorMessage":"mid","trace":[]}`)))
	pw.Close()
	rest, err := io.ReadAll(o.Stream)
	var se *runtimeapi.StreamError
	if string(rest) != "second;" || !errorsAs(err, &se) || se.Type != "Error" || !bytes.Contains(se.Body, []byte(`"mid"`)) {
		t.Errorf("rest %q err %v", rest, err)
	}
	if r := <-rc; r.status != 202 {
		t.Errorf("stream post: %d %s", r.status, r.body)
	}
	<-inv.StreamDone()
}

func errorsAs(err error, se **runtimeapi.StreamError) bool {
	e, ok := err.(*runtimeapi.StreamError)
	if ok {
		*se = e
	}
	return ok
}

func TestExtensions(t *testing.T) {
	f := newFixture(t, runtimeapi.Config{FunctionName: "f", FunctionVersion: "$LATEST", Handler: "bootstrap"})
	ext := "http://" + f.srv.Addr() + "/2020-01-01/extension"
	r := post(t, ext+"/register", strings.NewReader(`{"events":null}`), map[string]string{"Lambda-Extension-Name": "GoLangEnableSIGTERM"})
	id := r.header.Get("Lambda-Extension-Identifier")
	if r.status != 200 || id == "" || r.body != `{"functionName":"f","functionVersion":"$LATEST","handler":"bootstrap"}` {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	if !f.srv.HasExtensions() {
		t.Error("HasExtensions")
	}
	if r := post(t, ext+"/register", strings.NewReader(`{"events":["BOGUS"]}`), map[string]string{"Lambda-Extension-Name": "x"}); r.status != 403 ||
		!strings.Contains(r.body, "Extension.InvalidEventType") {
		t.Errorf("bad event: %d %s", r.status, r.body)
	}
	if r := get(t, ext+"/event/next"); r.status != 403 || !strings.Contains(r.body, "MissingExtensionIdentifier") {
		t.Errorf("next without id: %d %s", r.status, r.body)
	}
	// event/next blocks until shutdown.
	done := make(chan resp, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, ext+"/event/next", nil)
		req.Header.Set("Lambda-Extension-Identifier", id)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- resp{status: -1}
			return
		}
		r.Body.Close()
		done <- resp{status: r.StatusCode}
	}()
	select {
	case r := <-done:
		t.Fatalf("event/next returned early: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	// Registration closes with the runtime's first /next.
	go func() {
		if r, err := http.Get(f.base + "/runtime/invocation/next"); err == nil {
			r.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	if r := post(t, ext+"/register", strings.NewReader(`{}`), map[string]string{"Lambda-Extension-Name": "late"}); r.status != 403 ||
		!strings.Contains(r.body, "Extension.RegistrationClosed") {
		t.Errorf("late register: %d %s", r.status, r.body)
	}
	if r := post(t, "http://"+f.srv.Addr()+"/2022-07-01/telemetry", strings.NewReader(`{}`), nil); r.status != 202 || !strings.Contains(r.body, "Telemetry.NotSupported") {
		t.Errorf("telemetry: %d %s", r.status, r.body)
	}
	f.srv.Close()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Error("event/next not released by Close")
	}
}

func TestDispatchNotReady(t *testing.T) {
	f := newFixture(t, runtimeapi.Config{})
	inv := newInv("x")
	inv.Deadline = time.Now().Add(50 * time.Millisecond)
	if err := f.srv.Dispatch(context.Background(), inv); err != runtimeapi.ErrNotReady {
		t.Errorf("got %v", err)
	}
}

func TestDispatchAfterClose(t *testing.T) {
	f := newFixture(t, runtimeapi.Config{})
	f.srv.Close()
	if err := f.srv.Dispatch(context.Background(), newInv("x")); err != runtimeapi.ErrClosed {
		t.Errorf("got %v", err)
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		path  string
		route runtimeapi.Route
		id    string
	}{
		{"/2018-06-01/runtime/invocation/next", runtimeapi.RouteNext, ""},
		{"/2018-06-01/runtime/invocation/abc/response", runtimeapi.RouteResponse, "abc"},
		{"/2018-06-01/runtime/invocation/a%2Fb/error", runtimeapi.RouteError, "a/b"},
		{"/2018-06-01/runtime/invocation//response", runtimeapi.RouteUnknown, ""},
		{"/2018-06-01/runtime/invocation/abc/Response", runtimeapi.RouteUnknown, ""},
		{"/2018-06-01/runtime/invocation/a/b/response", runtimeapi.RouteUnknown, ""},
		{"/2018-06-01/runtime/invocation/%zz/response", runtimeapi.RouteUnknown, ""},
		{"/2018-06-01/Runtime/invocation/next", runtimeapi.RouteUnknown, ""},
		{"/2018-06-01/runtime/init/error", runtimeapi.RouteInitError, ""},
		{"/2020-01-01/extension/register", runtimeapi.RouteExtRegister, ""},
	}
	for _, tc := range tests {
		route, id := runtimeapi.ParsePath(tc.path)
		if route != tc.route || id != tc.id {
			t.Errorf("%s: got %v %q, want %v %q", tc.path, route, id, tc.route, tc.id)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/2018-06-01/runtime/invocation/next", "/2018-06-01/runtime/invocation/abc/response",
		"/2018-06-01/runtime/invocation/a%2F/error", "/2018-06-01/runtime/invocation/%/response", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		route, id := runtimeapi.ParsePath(path)
		if (route == runtimeapi.RouteResponse || route == runtimeapi.RouteError) && (id == "" || len(id) > 256) {
			t.Fatalf("%q: bad id %q", path, id)
		}
		if route != runtimeapi.RouteResponse && route != runtimeapi.RouteError && id != "" {
			t.Fatalf("%q: id %q on route %v", path, id, route)
		}
	})
}

// FuzzServeHTTP drives the Runtime API with arbitrary paths, ids, headers, trailers and bodies:
// it must answer every request with a well-formed status and never panic.
func FuzzServeHTTP(f *testing.F) {
	f.Add("POST", "/2018-06-01/runtime/invocation/id/response", "streaming", "Error", "!!", []byte("body"), true)
	f.Add("POST", "/2018-06-01/runtime/invocation/id/error", "", "", "", []byte(`{"errorType":1}`), false)
	f.Add("POST", "/2018-06-01/runtime/init/error", "", "Runtime.X", "", []byte{}, false)
	f.Add("POST", "/2020-01-01/extension/register", "", "", "", []byte(`{"events":["INVOKE"],"configurationKeys":[]}`), false)
	f.Add("GET", "/2020-01-01/extension/event/next", "", "", "", []byte{}, false)
	f.Fuzz(func(t *testing.T, method, path, mode, errType, errBody string, body []byte, dispatchFirst bool) {
		srv, err := runtimeapi.New(runtimeapi.Config{MaxResponseBytes: 64, MaxStreamBytes: 64}, runtimeapi.Hooks{}, nil)
		if err != nil {
			t.Skip(err)
		}
		defer srv.Close()
		if dispatchFirst {
			inv := &runtimeapi.Invocation{RequestID: "id", Payload: []byte("{}"), Deadline: time.Now().Add(time.Second), AllowStream: mode != ""}
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = srv.Dispatch(ctx, inv)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/2018-06-01/runtime/invocation/next", nil)
			srv.ServeHTTP(httptest.NewRecorder(), req)
			cancel()
			go func() {
				<-inv.Done()
				if s := inv.Outcome().Stream; s != nil {
					_, _ = io.Copy(io.Discard, s)
				}
			}()
		}
		if !validMethod(method) {
			method = "POST"
		}
		req, err := http.NewRequest(method, "http://x"+path, bytes.NewReader(body))
		if err != nil || req.URL.Path == "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req = req.WithContext(ctx)
		req.ContentLength = -1
		req.Header.Set("Lambda-Runtime-Function-Response-Mode", mode)
		req.Header.Set("Lambda-Extension-Name", mode)
		req.Header.Set("Lambda-Extension-Identifier", errBody)
		req.Header.Set("Lambda-Runtime-Function-Error-Type", errType)
		req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": {errType}, "Lambda-Runtime-Function-Error-Body": {errBody}}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code < 200 || w.Code > 599 {
			t.Fatalf("status %d", w.Code)
		}
		if w.Code >= 400 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("status %d with non-JSON body %q", w.Code, w.Body.String())
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
