package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/gateway"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/store"
	"github.com/furl/furl/internal/testbuild"
)

var fnDir string

func TestMain(m *testing.M) {
	os.Exit(testbuild.Main(m.Run, "github.com/furl/furl/internal/gateway/testfn", &fnDir))
}

const (
	account = "000000000000"
	region  = "us-east-1"
	rootAK  = "AKIAFURLTESTROOT0001"
	rootSK  = "furl-test-root-secret-key-0000000000000000"
)

// memResolver is an in-memory URL table.
type memResolver struct {
	mu   sync.Mutex
	urls map[string]*functions.URLTarget
	errs map[string]error
}

func (m *memResolver) ResolveURL(_ context.Context, id string) (*functions.URLTarget, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.errs[id]; err != nil {
		return nil, err
	}
	return m.urls[id], nil
}

func fnARN(name string) string { return lambda.FunctionARN(region, account, name, "") }

func publicPolicy(name string, extra ...string) []byte {
	stmts := []string{`{"Sid":"FunctionURLAllowPublicAccess","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN(name) + `","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}`}
	stmts = append(stmts, extra...)
	return []byte(`{"Version":"2012-10-17","Id":"default","Statement":[` + strings.Join(stmts, ",") + `]}`)
}

func invokeStmt(name string) string {
	return `{"Sid":"FunctionURLAllowInvokeAction","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"` + fnARN(name) + `","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`
}

type env struct {
	t   *testing.T
	res *memResolver
	gw  *gateway.Gateway
	srv *httptest.Server
	p   *pool.Pool
	// db and ids are the store and identity service newEnv made (nil when opt.Auth was given).
	db  *store.DB
	ids *identity.Service
}

func newEnv(t *testing.T, opt gateway.Options, trusted ...*net.IPNet) *env {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p := pool.New(pool.Config{WorkDir: filepath.Join(t.TempDir(), "envs"), Path: os.Getenv("PATH")}, log, pool.DefaultLauncher{}, nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	res := &memResolver{urls: map[string]*functions.URLTarget{}}
	opt.Region = region
	if opt.Log == nil {
		opt.Log = log
	}
	var db *store.DB
	var ids *identity.Service
	if opt.Auth == nil {
		var err error
		db, err = store.Open(context.Background(), filepath.Join(t.TempDir(), "furl.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		ids, err = identity.New(identity.Options{Store: db, AccountID: account, Region: region,
			RootAccessKeyID: rootAK, RootSecretAccessKey: rootSK, OrgID: "o-testorg123", TrustedProxies: trusted})
		if err != nil {
			t.Fatal(err)
		}
		opt.Auth = ids
	}
	gw := gateway.New(res, p, opt)
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &env{t: t, res: res, gw: gw, srv: srv, p: p, db: db, ids: ids}
}

// addURL registers a URL id for a function running the test handler.
func (e *env) addURL(id, name string, cfg lambda.URLConfig, policy []byte, reserved *int) {
	cfg.URLID = id
	cfg.FunctionName = name
	if cfg.AuthType == "" {
		cfg.AuthType = lambda.AuthNone
	}
	if cfg.InvokeMode == "" {
		cfg.InvokeMode = lambda.InvokeBuffered
	}
	e.res.mu.Lock()
	defer e.res.mu.Unlock()
	e.res.urls[id] = &functions.URLTarget{
		Config: cfg,
		Target: &pool.Target{FunctionName: name, FunctionARN: fnARN(name), Version: "$LATEST", Runtime: "provided.al2023",
			Handler: "bootstrap", CodeDir: fnDir, MemoryMB: 128, Timeout: 5 * time.Second, ConfigKey: "v1", Region: region,
			ReservedConcurrency: reserved},
		ResourceARN: fnARN(name), InvokedARN: fnARN(name), Policy: policy, AccountID: account,
	}
}

// do sends a request path-style (/lambda-url/<id>/...) unless host is set.
func (e *env) do(method, id, path string, body io.Reader, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+"/lambda-url/"+id+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			req.URL.Path = path
			req.URL.RawPath = ""
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const forbidden = `{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}`

func TestRoutingAndUnknownURL(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("abc123", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	e.res.errs = map[string]error{"gone": fmt.Errorf("functions: resolve url gone: %w", store.ErrNotFound)}
	tests := []struct {
		name       string
		id, path   string
		host       string
		wantStatus int
		wantBody   string
	}{
		{"path-style", "abc123", "/hello", "", 200, `{"message":"hello world"}`},
		{"host-style", "", "/hello", "abc123.lambda-url.us-east-1.localhost:9000", 200, `{"message":"hello world"}`},
		{"host-style upper case", "", "/hello", "ABC123.Lambda-Url.US-EAST-1.localhost", 200, `{"message":"hello world"}`},
		{"on.aws host", "", "/hello", "abc123.lambda-url.us-east-1.on.aws", 200, `{"message":"hello world"}`},
		{"unknown id path-style", "nope", "/", "", 403, `{"Message":null}`},
		{"unknown id host-style", "", "/", "nope.lambda-url.us-east-1.localhost", 403, `{"Message":null}`},
		{"other region", "", "/", "abc123.lambda-url.eu-west-1.localhost", 403, `{"Message":null}`},
		{"URL of a deleted alias", "gone", "/", "", 403, forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.host != "" {
				hdr["Host"] = tt.host
			}
			resp := e.do("GET", tt.id, tt.path, nil, hdr)
			body := readAll(t, resp)
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if tt.wantStatus == 403 {
				if resp.Header.Get("x-amzn-ErrorType") != "AccessDeniedException" || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("headers %v", resp.Header)
				}
			} else if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content-type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestAuthNone(t *testing.T) {
	srcIP := func(cidr string) string {
		return `{"Sid":"IPs","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN("fn") +
			`","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"},"IpAddress":{"aws:SourceIp":"` + cidr + `"}}}`
	}
	policyOf := func(stmts ...string) []byte {
		return []byte(`{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`)
	}
	tests := []struct {
		name          string
		policy        []byte
		requireInvoke bool
		want          int
	}{
		{"no policy", nil, false, 403},
		{"public statement", publicPolicy("fn"), false, 200},
		{"statement for AWS_IAM only", []byte(strings.Replace(string(publicPolicy("fn")), `"NONE"`, `"AWS_IAM"`, 1)), false, 403},
		{"source ip allow-list matches loopback", policyOf(srcIP("127.0.0.0/8")), false, 200},
		{"source ip allow-list excludes caller", policyOf(srcIP("10.0.0.0/8")), false, 403},
		{"explicit deny wins", publicPolicy("fn", `{"Effect":"Deny","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"*"}`), false, 403},
		{"require InvokeFunction, missing", publicPolicy("fn"), true, 403},
		{"require InvokeFunction, granted", publicPolicy("fn", invokeStmt("fn")), true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, gateway.Options{RequireInvokeFunction: tt.requireInvoke})
			e.addURL("u1", "fn", lambda.URLConfig{}, tt.policy, nil)
			resp := e.do("GET", "u1", "/hello", nil, nil)
			body := readAll(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
			if tt.want == 403 {
				if body != forbidden || len(body) != 144 {
					t.Errorf("body %q (%d bytes)", body, len(body))
				}
				if resp.Header.Get("X-Amzn-Trace-Id") != "" || resp.Header.Get("x-amzn-ErrorType") != "AccessDeniedException" {
					t.Errorf("headers %v", resp.Header)
				}
			}
		})
	}
}

func TestAuthIAM(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("iam1", "fn", lambda.URLConfig{AuthType: lambda.AuthIAM}, nil, nil)
	sign := func(req *http.Request, body []byte, secret string) {
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", h)
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootAK, SecretAccessKey: secret},
			req, h, "lambda", region, time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	send := func(secret string, body []byte) (*http.Response, string) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/", bytes.NewReader(body))
		req.Host = "iam1.lambda-url.us-east-1.localhost"
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			sign(req, body, secret)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, readAll(t, resp)
	}
	t.Run("signed by root", func(t *testing.T) {
		resp, body := send(rootSK, []byte(`{"name": "Alice"}`))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d %s", resp.StatusCode, body)
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Fatal(err)
		}
		rc := ev["requestContext"].(map[string]any)
		want := map[string]any{"accessKey": rootAK, "accountId": account, "callerId": account, "cognitoIdentity": nil,
			"principalOrgId": "o-testorg123", "userArn": "arn:aws:iam::" + account + ":root", "userId": account}
		if diff := cmp.Diff(want, rc["authorizer"].(map[string]any)["iam"]); diff != "" {
			t.Errorf("authorizer.iam (-want +got):\n%s", diff)
		}
		if rc["accountId"] != account {
			t.Errorf("accountId %v", rc["accountId"])
		}
		hs := ev["headers"].(map[string]any)
		if _, ok := hs["authorization"]; ok {
			t.Error("authorization header delivered to the function")
		}
		if hs["x-amz-date"] == nil || hs["x-amz-content-sha256"] == nil {
			t.Errorf("sigv4 headers missing: %v", hs)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		resp, body := send("", []byte(`{}`))
		if resp.StatusCode != 403 || body != forbidden {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		resp, body := send("not-the-secret", []byte(`{}`))
		if resp.StatusCode != 403 || body != forbidden {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})
}

// rawGet sends a request over a raw TCP connection and returns the response head as sent, so
// header-name spelling can be checked.
func rawGet(t *testing.T, srvURL, target string, extra string) (head string, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srvURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n", target, extra)
	b, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatal(err)
	}
	h, bd, _ := strings.Cut(string(b), "\r\n\r\n")
	return h, bd
}

func TestResponses(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	t.Run("structured, case kept, cookies", func(t *testing.T) {
		head, body := rawGet(t, e.srv.URL, "/lambda-url/u1/status", "")
		if !strings.HasPrefix(head, "HTTP/1.1 418 ") || body != "teapot" {
			t.Fatalf("head %q body %q", head, body)
		}
		for _, want := range []string{"\r\nx-Custom: v", "\r\ncontent-type: text/plain", "\r\nSet-Cookie: a=1; Path=/", "\r\nSet-Cookie: b=2",
			"\r\nContent-Length: 6", "\r\nx-amzn-RequestId: ", "\r\nX-Amzn-Trace-Id: root=1-"} {
			if !strings.Contains(head, want) {
				t.Errorf("missing %q in\n%s", want, head)
			}
		}
		if strings.Contains(head, "\r\nContent-Type:") {
			t.Errorf("a second Content-Type was added:\n%s", head)
		}
	})
	cases := []struct {
		path, body string
		status     int
	}{
		{"/hello", `{"message":"hello world"}`, 200},
		{"/string", `hello`, 200},
		{"/error", `Internal Server Error`, 502},
		{"/malformed", `Internal Server Error`, 502},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp := e.do("GET", "u1", c.path, nil, nil)
			body := readAll(t, resp)
			if resp.StatusCode != c.status || body != c.body {
				t.Fatalf("got %d %q want %d %q", resp.StatusCode, body, c.status, c.body)
			}
		})
	}
}

func TestEventThroughGateway(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	resp := e.do("POST", "u1", "/pa2%2Fth/1?multiQuery=foo&multiQuery=%2Fbar", strings.NewReader(`{"hello": "world"}`),
		map[string]string{"Content-Type": "application/json", "Cookie": "foo=bar; hello=hello", "Header2": "h1,h2"})
	body := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.srv.URL, "http://"))
	rc := ev["requestContext"].(map[string]any)
	hs := ev["headers"].(map[string]any)
	checks := map[string][2]any{
		"rawPath":          {ev["rawPath"], "/pa2%2Fth/1"},
		"http.path":        {rc["http"].(map[string]any)["path"], "/pa2/th/1"}, // normalised, rawPath as sent (#15.1)
		"rawQueryString":   {ev["rawQueryString"], "multiQuery=foo&multiQuery=%2Fbar"},
		"query":            {ev["queryStringParameters"].(map[string]any)["multiQuery"], "foo,/bar"},
		"cookies":          {fmt.Sprint(ev["cookies"]), "[foo=bar hello=hello]"},
		"body":             {ev["body"], `{"hello": "world"}`},
		"requestId":        {rc["requestId"], resp.Header.Get("x-amzn-RequestId")},
		"domainName":       {rc["domainName"], "127.0.0.1"}, // the Host header without its port (#15.2)
		"sourceIp":         {rc["http"].(map[string]any)["sourceIp"], "127.0.0.1"},
		"accountId":        {rc["accountId"], "anonymous"},
		"x-forwarded-for":  {hs["x-forwarded-for"], "127.0.0.1"},
		"x-forwarded-port": {hs["x-forwarded-port"], port},
		"content-length":   {hs["content-length"], "18"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	if _, ok := rc["authorizer"]; ok {
		t.Error("authorizer present for NONE")
	}
	if tr, _ := hs["x-amzn-trace-id"].(string); !traceRE.MatchString(tr) {
		t.Errorf("trace %q, want Self=1-…;Root=1-… (#14.5)", tr)
	}
	// The debug hook shows exactly this event.
	evs := e.gw.RecentEvents("fn")
	if len(evs) != 1 || evs[0].RequestID != rc["requestId"] || evs[0].Status != 200 {
		t.Fatalf("recent events: %+v", evs)
	}
	rr := httptest.NewRecorder()
	e.gw.EventsHandler().ServeHTTP(rr, httptest.NewRequest("GET", "/furl/v1/functions/fn/events", nil))
	var got struct{ Events []gateway.RecordedEvent }
	if err := json.Unmarshal(rr.Body.Bytes(), &got); err != nil || len(got.Events) != 1 {
		t.Fatalf("events handler: %v %s", err, rr.Body)
	}
	var recEv map[string]any
	_ = json.Unmarshal(got.Events[0].Event, &recEv)
	if diff := cmp.Diff(ev, recEv); diff != "" {
		t.Errorf("recorded event differs from delivered (-delivered +recorded):\n%s", diff)
	}
}

var traceRE = regexp.MustCompile(`^Self=1-([0-9a-f]{8})-[0-9a-f]{24};Root=1-([0-9a-f]{8})-[0-9a-f]{24}$`)

func TestCORS(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	cors := &lambda.CORS{AllowOrigins: []string{"https://app.example.com", "https://*.test.dev"}, AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"authorization", "content-type"}, ExposeHeaders: []string{"x-a", "x-b"}, AllowCredentials: true, MaxAge: 300}
	e.addURL("c1", "fn", lambda.URLConfig{Cors: cors}, publicPolicy("fn"), nil)
	e.addURL("c2", "fn2", lambda.URLConfig{}, publicPolicy("fn2"), nil)

	t.Run("preflight answered without invoking", func(t *testing.T) {
		before := len(e.gw.RecentEvents("fn"))
		resp := e.do("OPTIONS", "c1", "/anything", nil, map[string]string{"Origin": "https://app.example.com",
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
		body := readAll(t, resp)
		want := map[string]string{
			"Content-Type": "application/json", "Content-Length": "0", "Vary": "Origin",
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Headers": "authorization,content-type",
			"Access-Control-Allow-Methods": "GET,POST", "Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "300",
		}
		if resp.StatusCode != 200 || body != "" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if len(e.gw.RecentEvents("fn")) != before {
			t.Error("the function was invoked for a preflight")
		}
	})
	t.Run("preflight wildcard origin", func(t *testing.T) {
		resp := e.do("OPTIONS", "c1", "/", nil, map[string]string{"Origin": "https://a.b.test.dev", "Access-Control-Request-Method": "GET"})
		readAll(t, resp)
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://a.b.test.dev" {
			t.Errorf("headers %v", resp.Header)
		}
	})
	t.Run("preflight disallowed origin", func(t *testing.T) {
		resp := e.do("OPTIONS", "c1", "/", nil, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
		readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("%d %v", resp.StatusCode, resp.Header)
		}
	})
	t.Run("actual request gets CORS headers added, function's kept", func(t *testing.T) {
		resp := e.do("GET", "c1", "/cors", nil, map[string]string{"Origin": "https://app.example.com"})
		readAll(t, resp)
		got := resp.Header.Values("Access-Control-Allow-Origin")
		if diff := cmp.Diff([]string{"*", "https://app.example.com"}, got); diff != "" {
			t.Errorf("Access-Control-Allow-Origin: %s", diff)
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Expose-Headers") != "x-a,x-b" ||
			resp.Header.Get("Vary") != "Origin" {
			t.Errorf("headers %v", resp.Header)
		}
	})
	t.Run("no CORS config: OPTIONS reaches the function", func(t *testing.T) {
		resp := e.do("OPTIONS", "c2", "/", nil, map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
		body := readAll(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(body, `"method":"OPTIONS"`) || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("got %d %s %v", resp.StatusCode, body, resp.Header)
		}
	})
}

func TestLimits(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	e.addURL("rl", "fnrl", lambda.URLConfig{RateLimit: 0.5, Burst: 2}, publicPolicy("fnrl"), nil)
	zero := 0
	e.addURL("zero", "fnzero", lambda.URLConfig{}, publicPolicy("fnzero"), &zero)

	t.Run("body over 6 MB", func(t *testing.T) {
		resp := e.do("POST", "u1", "/", bytes.NewReader(make([]byte, 6291457)), map[string]string{"Content-Type": "application/octet-stream"})
		body := readAll(t, resp)
		if resp.StatusCode != 413 || body != `{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}` {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})
	t.Run("event over 6 MB after base64", func(t *testing.T) {
		resp := e.do("POST", "u1", "/", bytes.NewReader(make([]byte, 5<<20)), map[string]string{"Content-Type": "application/octet-stream"})
		readAll(t, resp)
		if resp.StatusCode != 413 {
			t.Fatalf("got %d", resp.StatusCode)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		var codes []int
		for range 3 {
			resp := e.do("GET", "rl", "/hello", nil, nil)
			body := readAll(t, resp)
			codes = append(codes, resp.StatusCode)
			if resp.StatusCode == 429 && (body != `{"Reason":"FunctionInvocationRateLimitExceeded","Type":"User","message":"Rate Exceeded."}` ||
				resp.Header.Get("x-amzn-ErrorType") != "TooManyRequestsException") {
				t.Errorf("429 body %s headers %v", body, resp.Header)
			}
		}
		if diff := cmp.Diff([]int{200, 200, 429}, codes); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("reserved concurrency 0", func(t *testing.T) {
		resp := e.do("GET", "zero", "/hello", nil, nil)
		body := readAll(t, resp)
		if resp.StatusCode != 429 || !strings.Contains(body, "Rate Exceeded.") {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})
}

func TestStreaming(t *testing.T) {
	e := newEnv(t, gateway.Options{StreamMaxBytes: 3 << 20})
	one := 1
	e.addURL("s1", "sfn", lambda.URLConfig{InvokeMode: lambda.InvokeStream}, publicPolicy("sfn"), &one)

	t.Run("first byte before the function finishes", func(t *testing.T) {
		start := time.Now()
		resp := e.do("GET", "s1", "/stream?n=4&ms=250", nil, nil)
		defer resp.Body.Close()
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("X-A") != "b" ||
			resp.Header.Get("Set-Cookie") != "s=1" {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
		buf := make([]byte, 64)
		n, err := resp.Body.Read(buf)
		ttfb := time.Since(start)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "chunk0;") {
			t.Fatalf("first read %q %v", buf[:n], err)
		}
		rest, _ := io.ReadAll(resp.Body)
		total := time.Since(start)
		if got := string(buf[:n]) + string(rest); got != "chunk0;chunk1;chunk2;chunk3;" {
			t.Errorf("body %q", got)
		}
		if ttfb > total-500*time.Millisecond {
			t.Errorf("first byte at %v, end at %v: not streamed", ttfb, total)
		}
	})
	t.Run("mid-stream failure truncates the response", func(t *testing.T) {
		resp := e.do("GET", "s1", "/streamfail?n=2&ms=10", nil, nil)
		_, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Error("want a truncated body")
		}
	})
	t.Run("size cap", func(t *testing.T) {
		resp := e.do("GET", "s1", "/bigstream?n=5", nil, nil)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || len(b) > 3<<20 {
			t.Errorf("read %d bytes, err %v", len(b), err)
		}
	})
	t.Run("client disconnect releases the environment", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/lambda-url/s1/stream?n=1000&ms=10", nil)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8)
		_, _ = resp.Body.Read(buf)
		cancel()
		resp.Body.Close()
		// Reserved concurrency is 1: the next request only gets through once the environment
		// of the abandoned stream is released.
		deadline := time.Now().Add(3 * time.Second)
		for {
			resp := e.do("GET", "s1", "/hello", nil, nil)
			body := readAll(t, resp)
			if resp.StatusCode == 200 {
				if body != `{"message":"hello world"}` {
					t.Errorf("buffered handler behind a streaming URL: %q", body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("environment not released: %d %s", resp.StatusCode, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("buffered handler payload verbatim", func(t *testing.T) {
		resp := e.do("GET", "s1", "/status", nil, nil)
		body := readAll(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(body, `"statusCode":418`) {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
	})
}

// TestStreamPastBufferedLimit streams 30 MB, five times the 6 MB cap of a buffered response,
// through a RESPONSE_STREAM URL with the default limits.
func TestStreamPastBufferedLimit(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addURL("s30", "sfn30", lambda.URLConfig{InvokeMode: lambda.InvokeStream}, publicPolicy("sfn30"), nil)
	resp := e.do("GET", "s30", "/bigstream?n=30", nil, nil)
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 201 || err != nil || n != 30<<20 {
		t.Fatalf("status %d, read %d bytes (want %d), err %v", resp.StatusCode, n, 30<<20, err)
	}
}

func TestStreamShaping(t *testing.T) {
	e := newEnv(t, gateway.Options{StreamBandwidthAfter: 1 << 20, StreamBandwidth: 4 << 20})
	e.addURL("s1", "sfn", lambda.URLConfig{InvokeMode: lambda.InvokeStream}, publicPolicy("sfn"), nil)
	start := time.Now()
	resp := e.do("GET", "s1", "/bigstream?n=3", nil, nil)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	el := time.Since(start)
	if err != nil || len(b) != 3<<20 {
		t.Fatalf("read %d %v", len(b), err)
	}
	// 2 MB past the threshold at 4 MB/s: about half a second.
	if el < 400*time.Millisecond {
		t.Errorf("not shaped: %v", el)
	}
}

// Behind a trusted proxy the caller is the address the proxy forwarded (sourceIp, and the
// source for aws:SourceIp), while the event's x-forwarded-for keeps the client's list with the
// proxy's own address appended, as a load balancer in front of the URL would show it.
func TestEventBehindTrustedProxy(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	e := newEnv(t, gateway.Options{}, loopback)
	policy := []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` +
		fnARN("fn") + `","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"},"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`)
	e.addURL("u1", "fn", lambda.URLConfig{}, policy, nil)
	resp := e.do("GET", "u1", "/", nil, map[string]string{"X-Forwarded-For": "203.0.113.9"})
	body := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %s (the forwarded address should pass the IP allow-list)", resp.StatusCode, body)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if got := ev["requestContext"].(map[string]any)["http"].(map[string]any)["sourceIp"]; got != "203.0.113.9" {
		t.Errorf("sourceIp = %v, want the forwarded 203.0.113.9", got)
	}
	if got := ev["headers"].(map[string]any)["x-forwarded-for"]; got != "203.0.113.9, 127.0.0.1" {
		t.Errorf("x-forwarded-for = %v, want the client's list and the proxy", got)
	}
}
