package controlapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/furl/furl/internal/bootstraps"
	"github.com/furl/furl/internal/codestore"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/iamapi"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
)

const (
	testKey    = "AKIAFURLTESTROOT0001"
	testSecret = "furl-test-secret-key-0000000000000000000"
	testAcct   = "000000000000"
	testRegion = "us-east-1"
)

type env struct {
	t      testing.TB
	dir    string
	db     *store.DB
	svc    *functions.Service
	pool   *pool.Pool
	srv    *httptest.Server
	client *lambda.Client
	cancel context.CancelFunc
	done   chan struct{}
}

var pythonOnce struct {
	sync.Once
	path string
}

func needPython(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	pythonOnce.Do(func() {
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err == nil {
			pythonOnce.path = strings.TrimSpace(string(out))
		}
	})
	return pythonOnce.path
}

// newEnv starts the control plane over a real SQLite store, code store and pool in dir
// (t.TempDir() when empty), served on loopback.
func newEnv(t testing.TB, dir string) *env {
	t.Helper()
	return newEnvWith(t, dir, false)
}

// newEnvWith is newEnv; withIdentity authenticates and authorizes through the real identity
// service (IAM users, policies) and serves its IAM/STS Query API on POST /.
func newEnvWith(t testing.TB, dir string, withIdentity bool) *env {
	t.Helper()
	py := needPython(t)
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("FURL_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	db, err := store.Open(ctx, filepath.Join(dir, "furl.db"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := codestore.Open(filepath.Join(dir, "code"), codestore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	svc := functions.New(db, cs, functions.Options{Region: testRegion, AccountID: testAcct, AsyncRetryDelay: 100 * time.Millisecond}, log)
	if err := svc.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	set, err := bootstraps.NewWithOptions(filepath.Join(dir, "bootstraps"), bootstraps.Options{Python: py})
	if err != nil {
		t.Fatal(err)
	}
	p := pool.New(pool.Config{WorkDir: filepath.Join(dir, "envs"), Path: os.Getenv("PATH"), MaxConcurrency: 50}, log, pool.DefaultLauncher{Managed: set}, nil)
	var handler http.Handler = controlapi.New(svc, newRootAuthenticator(testKey, testSecret, testRegion, testAcct), rootOnly{accountID: testAcct}, p, nil, log)
	if withIdentity {
		ids, err := identity.New(identity.Options{Store: db, AccountID: testAcct, Region: testRegion, RootAccessKeyID: testKey, RootSecretAccessKey: testSecret, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		cp := controlapi.New(svc, ids, ids, p, nil, log)
		q, err := iamapi.New(iamapi.Options{Identity: ids, Store: db, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" && r.Method == http.MethodPost {
				q.ServeHTTP(w, r)
				return
			}
			cp.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(handler)
	e := &env{t: t, dir: dir, db: db, svc: svc, pool: p, srv: srv, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(e.done); svc.RunAsync(ctx, p) }()
	e.client = newClient(srv.URL, testKey, testSecret)
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	e.cancel()
	<-e.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.pool.Close(ctx)
	_ = e.db.Close()
	e.srv = nil
}

func newClient(endpoint, key, secret string) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:           testRegion,
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: 1,
	})
}

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		fh := &zip.FileHeader{Name: name, Method: zip.Deflate}
		fh.SetMode(0o644)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pyApp(version string) map[string]string {
	return map[string]string{"app.py": fmt.Sprintf(`
import json, os
def handler(event, context):
    print("handling", json.dumps(event))
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    return {"v": %q, "event": event, "fn": context.function_name, "ver": context.function_version, "arn": context.invoked_function_arn}
`, version)}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "non-API error: " + err.Error()
	}
	return ""
}

func message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func (e *env) create(name string, files map[string]string) *lambda.CreateFunctionOutput {
	e.t.Helper()
	ctx := context.Background()
	out, err := e.client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: zipOf(e.t, files)},
	})
	if err != nil {
		e.t.Fatalf("CreateFunction %s: %v", name, err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(e.client, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 100 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
		e.t.Fatalf("wait active %s: %v", name, err)
	}
	return out
}

type result struct {
	V     string         `json:"v"`
	Event map[string]any `json:"event"`
	Ver   string         `json:"ver"`
	ARN   string         `json:"arn"`
}

func (e *env) invoke(name, qualifier string, payload string) (*lambda.InvokeOutput, result) {
	e.t.Helper()
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := e.client.Invoke(ctx, in)
	if err != nil {
		e.t.Fatalf("Invoke %s:%s: %v", name, qualifier, err)
	}
	var r result
	if out.FunctionError == nil {
		if err := json.Unmarshal(out.Payload, &r); err != nil {
			e.t.Fatalf("Invoke %s payload %q: %v", name, out.Payload, err)
		}
	}
	return out, r
}

// TestLifecycleSDK drives the whole lifecycle with aws-sdk-go-v2: create from a zip, wait,
// invoke, update code, invoke the new code, publish, alias, invoke the alias, delete.
func TestLifecycleSDK(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	c := e.client
	created := e.create("hello", pyApp("1"))
	if created.State != types.StatePending || aws.ToString(created.Version) != "$LATEST" || aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:hello" {
		t.Fatalf("create answer: state %s version %s arn %s", created.State, aws.ToString(created.Version), aws.ToString(created.FunctionArn))
	}
	got, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Configuration.State != types.StateActive || got.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Fatalf("after wait: %s / %s", got.Configuration.State, got.Configuration.LastUpdateStatus)
	}
	if aws.ToString(got.Configuration.CodeSha256) != aws.ToString(created.CodeSha256) || aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Fatalf("GetFunction = %+v", got.Configuration)
	}

	out, r := e.invoke("hello", "", `{"k":"v"}`)
	if out.StatusCode != 200 || r.V != "1" || r.Event["k"] != "v" || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("invoke 1: status %d %+v executed %s", out.StatusCode, r, aws.ToString(out.ExecutedVersion))
	}

	upd, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("hello"), ZipFile: zipOf(t, pyApp("2"))})
	if err != nil {
		t.Fatal(err)
	}
	if upd.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("UpdateFunctionCode LastUpdateStatus = %s, want InProgress", upd.LastUpdateStatus)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) { o.MinDelay = 100 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hello")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, r := e.invoke("hello", "", `{}`); r.V != "2" {
		t.Fatalf("after update, invoke sees v%s", r.V)
	}

	pub, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello"), Description: aws.String("first")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pub.Version) != "1" || aws.ToString(pub.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:hello:1" {
		t.Fatalf("PublishVersion = %s %s", aws.ToString(pub.Version), aws.ToString(pub.FunctionArn))
	}
	// Publishing again without a change returns the same version.
	if again, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello")}); err != nil || aws.ToString(again.Version) != "1" {
		t.Fatalf("second PublishVersion = %v, %v", aws.ToString(again.Version), err)
	}
	al, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("hello"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(al.AliasArn) != "arn:aws:lambda:us-east-1:000000000000:function:hello:live" {
		t.Fatalf("alias ARN %s", aws.ToString(al.AliasArn))
	}
	// $LATEST moves on; the alias stays on version 1.
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("hello"), ZipFile: zipOf(t, pyApp("3"))}); err != nil {
		t.Fatal(err)
	}
	out, r = e.invoke("hello", "live", `{}`)
	if r.V != "2" || aws.ToString(out.ExecutedVersion) != "1" || r.Ver != "1" || r.ARN != "arn:aws:lambda:us-east-1:000000000000:function:hello:live" {
		t.Fatalf("invoke alias: v%s executed %s context version %s arn %s", r.V, aws.ToString(out.ExecutedVersion), r.Ver, r.ARN)
	}
	if _, r := e.invoke("arn:aws:lambda:us-east-1:000000000000:function:hello", "", `{}`); r.V != "3" {
		t.Fatalf("invoke by ARN sees v%s", r.V)
	}
	if _, r := e.invoke("hello:1", "", `{}`); r.V != "2" {
		t.Fatalf("invoke hello:1 sees v%s", r.V)
	}
	vers, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("hello")})
	if err != nil || len(vers.Versions) != 2 || aws.ToString(vers.Versions[0].Version) != "$LATEST" || aws.ToString(vers.Versions[1].Version) != "1" {
		t.Fatalf("ListVersionsByFunction = %+v, %v", vers, err)
	}
	list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 1 || aws.ToString(list.Functions[0].FunctionName) != "hello" {
		t.Fatalf("ListFunctions = %+v, %v", list, err)
	}

	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hello")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("GetFunction after delete: %v", err)
	}
	var rnf *types.ResourceNotFoundException
	_, err = c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("hello"), Name: aws.String("live")})
	if !errors.As(err, &rnf) {
		t.Fatalf("GetAlias after delete: %v", err)
	}
}

func TestInvokeFeatures(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	e.create("f", pyApp("1"))

	t.Run("tail log and function error", func(t *testing.T) {
		out, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{"fail":true}`), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.FunctionError) != "Unhandled" || out.StatusCode != 200 {
			t.Fatalf("FunctionError %q status %d", aws.ToString(out.FunctionError), out.StatusCode)
		}
		var perr struct{ ErrorType, ErrorMessage string }
		_ = json.Unmarshal(out.Payload, &perr)
		if perr.ErrorType != "ValueError" || perr.ErrorMessage != "asked to fail" {
			t.Fatalf("error payload %s", out.Payload)
		}
		log, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil || !strings.Contains(string(log), "handling") || !strings.Contains(string(log), "REPORT RequestId:") {
			t.Fatalf("LogResult %q, %v", log, err)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		out, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), InvocationType: types.InvocationTypeDryRun})
		if err != nil || out.StatusCode != 204 {
			t.Fatalf("DryRun = %v, %v", out, err)
		}
	})
	t.Run("client context", func(t *testing.T) {
		e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("f"), ZipFile: zipOf(t, map[string]string{"app.py": `
def handler(event, context):
    return {"custom": context.client_context.custom if context.client_context else None}
`})})
		cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"a":"b"}}`))
		out, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), ClientContext: aws.String(cc)})
		if err != nil || string(out.Payload) != `{"custom": {"a": "b"}}` {
			t.Fatalf("client context: %s, %v", out.Payload, err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := `"` + strings.Repeat("a", 6<<20) + `"`
		_, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(big)})
		if code(err) != "RequestTooLargeException" {
			t.Fatalf("oversize invoke: %v", err)
		}
	})
	t.Run("not json", func(t *testing.T) {
		_, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f"), Payload: []byte(`{nope`)})
		if code(err) != "InvalidRequestContentException" {
			t.Fatalf("bad payload: %v", err)
		}
	})
	t.Run("throttled", func(t *testing.T) {
		if _, err := e.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("f"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f")})
		var tm *types.TooManyRequestsException
		if !errors.As(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
			t.Fatalf("throttled invoke: %v", err)
		}
		gc, err := e.client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("f")})
		if err != nil || aws.ToInt32(gc.ReservedConcurrentExecutions) != 0 || gc.ReservedConcurrentExecutions == nil {
			t.Fatalf("GetFunctionConcurrency = %+v, %v", gc, err)
		}
		if _, err := e.client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("f")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("f")}); err != nil {
			t.Fatalf("invoke after DeleteFunctionConcurrency: %v", err)
		}
	})
}

// TestAsyncRetries checks Event invocations: 202, run in the background, retried twice on a
// function error (three attempts in all).
func TestAsyncRetries(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	marks := t.TempDir()
	e.create("ev", map[string]string{"app.py": `
import os, uuid
def handler(event, context):
    open(os.path.join(event["dir"], event["kind"] + "-" + uuid.uuid4().hex), "w").close()
    if event["kind"] == "bad":
        raise RuntimeError("no")
    return "ok"
`})
	for _, kind := range []string{"good", "bad"} {
		p, _ := json.Marshal(map[string]string{"dir": marks, "kind": kind})
		out, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ev"), InvocationType: types.InvocationTypeEvent, Payload: p})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("Event invoke: %+v, %v", out, err)
		}
	}
	count := func(kind string) int {
		m, _ := filepath.Glob(filepath.Join(marks, kind+"-*"))
		return len(m)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, _ := e.svc.PendingEvents(ctx)
		if n == 0 && count("bad") == 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if g, b := count("good"), count("bad"); g != 1 || b != 3 {
		t.Fatalf("attempts: good %d (want 1), bad %d (want 3)", g, b)
	}
}

func TestInvokeWithResponseStream(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	e.create("s", pyApp("1"))
	out, err := e.client.InvokeWithResponseStream(ctx, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("s"), Payload: []byte(`{"a":1}`), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	st := out.GetStream()
	defer st.Close()
	var body []byte
	var complete *types.InvokeWithResponseStreamCompleteEvent
	for ev := range st.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			body = append(body, v.Value.Payload...)
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			complete = &v.Value
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	var r result
	if err := json.Unmarshal(body, &r); err != nil || r.V != "1" || r.Event["a"] != float64(1) {
		t.Fatalf("streamed body %q: %v", body, err)
	}
	if complete == nil || complete.ErrorCode != nil || complete.LogResult == nil {
		t.Fatalf("InvokeComplete = %+v", complete)
	}
}

func TestURLConfigAPI(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	c := e.client
	e.create("u", pyApp("1"))
	created, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("u"), AuthType: types.FunctionUrlAuthTypeNone,
		Cors: &types.Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET", "POST"}}})
	if err != nil {
		t.Fatal(err)
	}
	u := aws.ToString(created.FunctionUrl)
	id := strings.TrimSuffix(strings.TrimPrefix(u, "http://127.0.0.1/lambda-url/"), "/")
	if len(id) != 32 || id[26] != '0' || u != "http://127.0.0.1/lambda-url/"+id+"/" {
		t.Fatalf("FunctionUrl %q", u)
	}
	if created.InvokeMode != "" || aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:u" {
		t.Fatalf("create answer: mode %q arn %s", created.InvokeMode, aws.ToString(created.FunctionArn))
	}
	_, err = c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("u"), AuthType: types.FunctionUrlAuthTypeNone})
	if code(err) != "ResourceConflictException" || message(err) != "Failed to create function url config for [functionArn = arn:aws:lambda:us-east-1:000000000000:function:u]. Error message:  FunctionUrlConfig exists for this Lambda function" {
		t.Fatalf("second create: %v", err)
	}
	got, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("u")})
	if err != nil || got.InvokeMode != types.InvokeModeBuffered || aws.ToString(got.FunctionUrl) != u || got.Cors == nil || len(got.Cors.AllowMethods) != 2 {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	upd, err := c.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String("u"), AuthType: types.FunctionUrlAuthTypeAwsIam})
	if err != nil || upd.AuthType != types.FunctionUrlAuthTypeAwsIam || upd.InvokeMode != "" {
		t.Fatalf("Update = %+v, %v", upd, err)
	}
	// ResolveURL sees the change (cache invalidated) and carries the policy.
	if _, err := c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("u"), StatementId: aws.String("pub"),
		Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*"), FunctionUrlAuthType: types.FunctionUrlAuthTypeNone}); err != nil {
		t.Fatal(err)
	}
	tg, err := e.svc.ResolveURL(ctx, id)
	if err != nil || tg == nil || tg.Config.AuthType != "AWS_IAM" || !strings.Contains(string(tg.Policy), `"Sid":"pub"`) || tg.Target.Runtime != "python3.12" {
		t.Fatalf("ResolveURL = %+v, %v", tg, err)
	}
	if tg, err := e.svc.ResolveURL(ctx, "nosuchid"); tg != nil || err != nil {
		t.Fatalf("ResolveURL(unknown) = %v, %v", tg, err)
	}
	// Alias URL.
	c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("u")})
	c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("u"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	al, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("u"), Qualifier: aws.String("live"),
		AuthType: types.FunctionUrlAuthTypeNone, InvokeMode: types.InvokeModeResponseStream})
	if err != nil || aws.ToString(al.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:u:live" || al.InvokeMode != types.InvokeModeResponseStream {
		t.Fatalf("alias URL = %+v, %v", al, err)
	}
	lst, err := c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("u")})
	if err != nil || len(lst.FunctionUrlConfigs) != 2 {
		t.Fatalf("List = %+v, %v", lst, err)
	}
	// Delete without qualifier removes only the $LATEST URL.
	if _, err := c.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	if tg, _ := e.svc.ResolveURL(ctx, id); tg != nil {
		t.Fatal("deleted URL still resolves")
	}
	lst, _ = c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("u")})
	if len(lst.FunctionUrlConfigs) != 1 {
		t.Fatalf("after delete, %d URLs", len(lst.FunctionUrlConfigs))
	}
	// Deleting the alias removes its URL.
	if _, err := c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("u"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	lst, _ = c.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("u")})
	if len(lst.FunctionUrlConfigs) != 0 {
		t.Fatalf("after alias delete, %d URLs", len(lst.FunctionUrlConfigs))
	}
}

func TestPolicyAndTags(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	c := e.client
	e.create("p", pyApp("1"))
	st, err := c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("p"), StatementId: aws.String("FunctionURLAllowInvokeAction"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Sid":"FunctionURLAllowInvokeAction","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:p","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`
	if diff := cmp.Diff(want, aws.ToString(st.Statement)); diff != "" {
		t.Fatalf("statement (-want +got):\n%s", diff)
	}
	c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("p"), StatementId: aws.String("acct"),
		Action: aws.String("lambda:GetFunction"), Principal: aws.String("111122223333")})
	pol, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version, Id string
		Statement   []map[string]any
	}
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil || doc.Id != "default" || len(doc.Statement) != 2 {
		t.Fatalf("policy %s: %v", aws.ToString(pol.Policy), err)
	}
	if p := doc.Statement[1]["Principal"].(map[string]any)["AWS"]; p != "arn:aws:iam::111122223333:root" {
		t.Fatalf("account principal rendered as %v", p)
	}
	_, err = c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("p"), StatementId: aws.String("acct"), Action: aws.String("lambda:GetFunction"), Principal: aws.String("*")})
	if code(err) != "ResourceConflictException" {
		t.Fatalf("duplicate sid: %v", err)
	}
	_, err = c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("p"), Qualifier: aws.String("$LATEST"), StatementId: aws.String("x"), Action: aws.String("lambda:GetFunction"), Principal: aws.String("*")})
	if code(err) != "InvalidParameterValueException" || message(err) != "We currently do not support adding policies for $LATEST." {
		t.Fatalf("$LATEST policy: %v", err)
	}
	_, err = c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("p"), StatementId: aws.String("y"), Action: aws.String("lambda:GetFunction"), Principal: aws.String("*"), RevisionId: aws.String("stale")})
	if code(err) != "PreconditionFailedException" {
		t.Fatalf("stale revision: %v", err)
	}
	for _, sid := range []string{"acct", "FunctionURLAllowInvokeAction"} {
		if _, err := c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("p"), StatementId: aws.String(sid)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("p")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("GetPolicy after removing all: %v", err)
	}

	arn := "arn:aws:lambda:us-east-1:000000000000:function:p"
	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"a": "1", "b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || !cmp.Equal(tags.Tags, map[string]string{"b": "2"}) {
		t.Fatalf("ListTags = %v, %v", tags, err)
	}
	acct, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil || acct.AccountUsage.FunctionCount != 1 || acct.AccountLimit.ConcurrentExecutions != 1000 {
		t.Fatalf("GetAccountSettings = %+v, %v", acct, err)
	}
}

// TestErrors checks each error case's exception name (and message where AWS's is known).
func TestErrors(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	c := e.client
	e.create("exists", pyApp("1"))
	role := aws.String("arn:aws:iam::000000000000:role/r")
	zipFile := zipOf(t, pyApp("1"))
	create := func(mod func(*lambda.CreateFunctionInput)) error {
		in := &lambda.CreateFunctionInput{FunctionName: aws.String("new"), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"), Role: role, Code: &types.FunctionCode{ZipFile: zipFile}}
		mod(in)
		_, err := c.CreateFunction(ctx, in)
		return err
	}
	tests := []struct {
		name     string
		call     func() error
		wantCode string
		wantMsg  string
	}{
		{"get missing", func() error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"},
		{"duplicate", func() error {
			return create(func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("exists") })
		}, "ResourceConflictException", "Function already exist: exists"},
		{"bad name", func() error {
			return create(func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("bad name!") })
		}, "ValidationException", ""},
		{"deprecated runtime", func() error { return create(func(in *lambda.CreateFunctionInput) { in.Runtime = "python2.7" }) }, "InvalidParameterValueException", ""},
		{"unknown runtime", func() error { return create(func(in *lambda.CreateFunctionInput) { in.Runtime = "cobol" }) }, "ValidationException", ""},
		{"timeout", func() error { return create(func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) }) }, "InvalidParameterValueException", ""},
		{"memory", func() error { return create(func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(64) }) }, "ValidationException", ""},
		{"bad role", func() error { return create(func(in *lambda.CreateFunctionInput) { in.Role = aws.String("nope") }) }, "ValidationException", ""},
		{"reserved env", func() error {
			return create(func(in *lambda.CreateFunctionInput) {
				in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "x"}}
			})
		}, "InvalidParameterValueException", ""},
		{"not a zip", func() error {
			return create(func(in *lambda.CreateFunctionInput) { in.Code = &types.FunctionCode{ZipFile: []byte("nope")} })
		}, "InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"zip slip", func() error {
			return create(func(in *lambda.CreateFunctionInput) {
				in.Code = &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"../evil": "x"})}
			})
		}, "InvalidParameterValueException", ""},
		{"stale revision", func() error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("exists"), Timeout: aws.Int32(5), RevisionId: aws.String("stale")})
			return err
		}, "PreconditionFailedException", ""},
		{"alias missing version", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("exists"), Name: aws.String("a"), FunctionVersion: aws.String("9")})
			return err
		}, "ResourceNotFoundException", ""},
		{"numeric alias", func() error {
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("exists"), Name: aws.String("12"), FunctionVersion: aws.String("$LATEST")})
			return err
		}, "ValidationException", ""},
		{"url qualifier $LATEST", func() error {
			_, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("exists"), Qualifier: aws.String("$LATEST"), AuthType: types.FunctionUrlAuthTypeNone})
			return err
		}, "ValidationException", `1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)`},
		{"url qualifier numeric", func() error {
			_, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("exists"), Qualifier: aws.String("1")})
			return err
		}, "ValidationException", `1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)`},
		{"url function missing", func() error {
			_, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("nope"), AuthType: types.FunctionUrlAuthTypeNone})
			return err
		}, "ResourceNotFoundException", "Function does not exist"},
		{"url get missing", func() error {
			_, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("exists")})
			return err
		}, "ResourceNotFoundException", "The resource you requested does not exist."},
		{"url derived qualifier", func() error {
			_, err := c.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("exists:a"), Qualifier: aws.String("b")})
			return err
		}, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."},
		{"url bad invoke mode", func() error {
			_, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("exists"), AuthType: types.FunctionUrlAuthTypeNone, InvokeMode: "UNKNOWN"})
			return err
		}, "ValidationException", "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]"},
		{"delete $LATEST", func() error {
			_, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("exists"), Qualifier: aws.String("$LATEST")})
			return err
		}, "InvalidParameterValueException", ""},
		{"unknown key", func() error {
			_, err := newClient(e.srv.URL, "AKIAUNKNOWN000000000", testSecret).ListFunctions(ctx, &lambda.ListFunctionsInput{})
			return err
		}, "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"bad secret", func() error {
			_, err := newClient(e.srv.URL, testKey, "wrong").ListFunctions(ctx, &lambda.ListFunctionsInput{})
			return err
		}, "InvalidSignatureException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if code(err) != tt.wantCode {
				t.Fatalf("error = %v, want %s", err, tt.wantCode)
			}
			if tt.wantMsg != "" && message(err) != tt.wantMsg {
				t.Fatalf("message = %q, want %q", message(err), tt.wantMsg)
			}
		})
	}
	t.Run("oversize create", func(t *testing.T) {
		// Signed with a declared payload hash: authenticated on the headers, then the body is
		// cut off at the limit as it streams in.
		body := io.LimitReader(zeroReader{}, controlapi.MaxCodeRequestBytes+1)
		r, err := http.NewRequest("POST", e.srv.URL+"/2015-03-31/functions", body)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/json")
		const declared = "0000000000000000000000000000000000000000000000000000000000000000"
		r.Header.Set("X-Amz-Content-Sha256", declared)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
			r, declared, "lambda", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(b), "Request must be smaller than 69905067 bytes for the CreateFunction operation") {
			t.Fatalf("oversize: %d %s", resp.StatusCode, b)
		}
	})
	t.Run("oversize create, unsigned", func(t *testing.T) {
		// Refused on its headers: furl does not read an unsigned body.
		body := io.LimitReader(zeroReader{}, controlapi.MaxCodeRequestBytes+1)
		resp, err := http.Post(e.srv.URL+"/2015-03-31/functions", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
			t.Fatalf("unsigned oversize: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
		}
	})
	t.Run("declared hash mismatch", func(t *testing.T) {
		payload := []byte(`{"FunctionName":"x"}`)
		r, err := http.NewRequest("POST", e.srv.URL+"/2015-03-31/functions", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		declared := sigv4.HashPayload([]byte("something else"))
		r.Header.Set("X-Amz-Content-Sha256", declared)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret},
			r, declared, "lambda", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "XAmzContentSHA256Mismatch" {
			t.Fatalf("mismatch: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		resp, err := http.Get(e.srv.URL + "/2015-03-31/functions/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
			t.Fatalf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
		}
	})
}

// TestConcurrentUpdatesAndInvokes runs 50 parallel UpdateFunctionCode and Invoke calls and
// checks that the store ends consistent: $LATEST points at one of the uploaded packages, its
// package exists, and an invoke runs exactly that code.
func TestConcurrentUpdatesAndInvokes(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	e.create("busy", pyApp("0"))
	shas := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := fmt.Sprint(i + 1)
			if i%2 == 0 {
				out, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("busy"), ZipFile: zipOf(t, pyApp(v))})
				if err != nil {
					errs <- fmt.Errorf("update %s: %w", v, err)
					return
				}
				mu.Lock()
				shas[aws.ToString(out.CodeSha256)] = v
				mu.Unlock()
				return
			}
			out, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("busy"), Payload: []byte(`{}`)})
			if err != nil {
				var tm *types.TooManyRequestsException
				if !errors.As(err, &tm) {
					errs <- fmt.Errorf("invoke: %w", err)
				}
				return
			}
			if out.FunctionError != nil {
				errs <- fmt.Errorf("invoke function error: %s", out.Payload)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("busy")})
	if err != nil {
		t.Fatal(err)
	}
	want, ok := shas[aws.ToString(got.Configuration.CodeSha256)]
	if !ok {
		t.Fatalf("final CodeSha256 %s is none of the uploads", aws.ToString(got.Configuration.CodeSha256))
	}
	if _, r := e.invoke("busy", "", `{}`); r.V != want {
		t.Fatalf("final invoke runs v%s, store says v%s", r.V, want)
	}
}

// TestRestartKeepsState closes everything, reopens the same data directory and checks that
// functions, versions, aliases, URLs, policies and queued events survive, and that packages
// nobody references are swept.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	ctx := context.Background()
	e.create("keep", pyApp("1"))
	e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("keep")})
	e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("keep"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	url, err := e.client.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("keep"), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil {
		t.Fatal(err)
	}
	e.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("keep"), StatementId: aws.String("s"), Action: aws.String("lambda:InvokeFunctionUrl"), Principal: aws.String("*")})
	e.close()

	// An orphan package (as a crash between code-store write and DB commit leaves) and a
	// half-written temporary file.
	cs, _ := codestore.Open(filepath.Join(dir, "code"), codestore.Limits{})
	orphan, err := cs.Put(ctx, zipOf(t, map[string]string{"orphan.py": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "code", "zips", "abc.zip.tmp-1"), []byte("partial"), 0o600)

	e2 := newEnv(t, dir)
	got, err := e2.client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("keep")})
	if err != nil || aws.ToString(got.FunctionUrl) != aws.ToString(url.FunctionUrl) {
		t.Fatalf("URL after restart = %+v, %v", got, err)
	}
	if _, r := e2.invoke("keep", "live", `{}`); r.V != "1" {
		t.Fatalf("alias after restart runs v%s", r.V)
	}
	if _, _, err := e2.svc.GetPolicy(ctx, functions.Ref{Name: "keep"}); err != nil {
		t.Fatalf("policy after restart: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "code", "zips", orphan.Hex+".zip")); !os.IsNotExist(err) {
		t.Fatalf("orphan package not swept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "code", "zips", "abc.zip.tmp-1")); !os.IsNotExist(err) {
		t.Fatalf("temporary file not swept: %v", err)
	}
}

// newEnvB is newEnv for benchmarks, with one function "bench" created.
func newEnvB(b *testing.B) *env {
	e := newEnv(b, "")
	e.create("bench", pyApp("0"))
	return e
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestAsyncSurvivesRestart queues Event invocations while no worker runs, one of them leased
// as by a process that died mid-run, and checks both run after a restart.
func TestAsyncSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	ctx := context.Background()
	marks := t.TempDir()
	e.create("ev", map[string]string{"app.py": `
import os
def handler(event, context):
    open(os.path.join(event["dir"], event["name"]), "w").close()
`})
	e.cancel() // stop the async worker; the API keeps serving
	<-e.done
	for _, name := range []string{"queued", "leased"} {
		p, _ := json.Marshal(map[string]string{"dir": marks, "name": name})
		if _, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("ev"), InvocationType: types.InvocationTypeEvent, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	// Lease one far in the future, as claimDue does before running it.
	err := e.db.FunctionsTx(ctx, func(tx *store.FuncTx) error {
		due, err := tx.DueAsync(time.Now().Add(time.Hour), 10)
		if err != nil || len(due) != 2 {
			return fmt.Errorf("due = %d, %v", len(due), err)
		}
		return tx.RescheduleAsync(due[1].ID, 0, time.Now().Add(16*time.Minute))
	})
	if err != nil {
		t.Fatal(err)
	}
	e.close()
	e2 := newEnv(t, dir)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(marks, "*"))
		if n, _ := e2.svc.PendingEvents(ctx); n == 0 && len(m) == 2 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	m, _ := filepath.Glob(filepath.Join(marks, "*"))
	t.Fatalf("after restart ran %v", m)
}

// TestEphemeralStorage: EphemeralStorage.Size defaults to 512, is set by CreateFunction and
// UpdateFunctionConfiguration within 512..10240, echoed by every configuration answer, and kept
// by published versions.
func TestEphemeralStorage(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	c := e.client
	size := func(cfg *types.EphemeralStorage) int32 {
		if cfg == nil || cfg.Size == nil {
			return -1
		}
		return *cfg.Size
	}
	if out := e.create("dflt", pyApp("1")); size(out.EphemeralStorage) != 512 {
		t.Errorf("default: EphemeralStorage = %d, want 512", size(out.EphemeralStorage))
	}
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("big"), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: zipOf(t, pyApp("1"))},
		EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(10240)},
	})
	if err != nil || size(created.EphemeralStorage) != 10240 {
		t.Fatalf("CreateFunction 10240: %v, %v", err, created)
	}
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("big")})
	if err != nil || size(v1.EphemeralStorage) != 10240 {
		t.Fatalf("PublishVersion: %v %+v", err, v1)
	}
	up, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("big"),
		EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(700)}})
	if err != nil || size(up.EphemeralStorage) != 700 {
		t.Fatalf("UpdateFunctionConfiguration 700: %v %+v", err, up)
	}
	// An update without EphemeralStorage keeps it.
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("big"), Timeout: aws.Int32(9)}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int32{"$LATEST": 700, "1": 10240} {
		got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("big"), Qualifier: aws.String(q)})
		if err != nil || size(got.EphemeralStorage) != want {
			t.Errorf("GetFunctionConfiguration %s: %v, size %d, want %d", q, err, size(got.EphemeralStorage), want)
		}
		fn, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("big"), Qualifier: aws.String(q)})
		if err != nil || size(fn.Configuration.EphemeralStorage) != want {
			t.Errorf("GetFunction %s: %v", q, err)
		}
	}
	v2, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("big")})
	if err != nil || aws.ToString(v2.Version) != "2" || size(v2.EphemeralStorage) != 700 {
		t.Fatalf("PublishVersion after the change: %v %+v", err, v2)
	}

	bad := []struct {
		size int32
		msg  string
	}{
		{511, "1 validation error detected: Value '511' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"},
		{10241, "1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value less than or equal to 10240"},
		{-1, "1 validation error detected: Value '-1' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"},
	}
	for _, b := range bad {
		_, cerr := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String("bad"), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
			Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: zipOf(t, pyApp("1"))},
			EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(b.size)},
		})
		_, uerr := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("big"),
			EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(b.size)}})
		for op, err := range map[string]error{"create": cerr, "update": uerr} {
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != b.msg {
				t.Errorf("%s %d: %v, want ValidationException %q", op, b.size, err, b.msg)
			}
		}
	}
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("bad")}); err == nil {
		t.Error("a refused CreateFunction created the function")
	}
	// A raw request with EphemeralStorage but no Size (the SDK refuses to send it).
	status, body := e.signedDo(http.MethodPut, e.srv.URL+"/2015-03-31/functions/big/configuration", testKey, testSecret, []byte(`{"EphemeralStorage":{}}`))
	if status != http.StatusBadRequest || !strings.Contains(string(body), "Value null at 'ephemeralStorage.size'") {
		t.Errorf("no Size: %d %s", status, body)
	}
}
