//go:build e2e

// Package e2e holds furl's end-to-end suites: the real binary driven by real clients.
//
// controlplane_test.go builds `furl serve`, starts it on a free loopback port with FURL_ROOT_*
// set, and drives the Lambda control plane with the AWS CLI v2 (/usr/bin/aws) and boto3
// (python3): the function lifecycle, every error case with its exception name, a restart in
// the middle and a SIGKILL during a deploy.
//
//	go test -tags e2e -run ControlPlane ./test/e2e/ -v
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	cpKey    = "AKIAFURLE2EROOT00001"
	cpSecret = "furl-e2e-root-secret-000000000000000000"
)

func cpStart(t *testing.T, dataDir, addr string) *cpServer {
	t.Helper()
	return startFurl(t, dataDir, addr, cpKey, cpSecret)
}

func cpApp(v string) map[string]string {
	return map[string]string{"app.py": fmt.Sprintf(`
def handler(event, context):
    print("invoked with", event)
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    return {"v": %q, "event": event, "version": context.function_version}
`, v)}
}

func cpNeedCLI(t *testing.T) {
	t.Helper()
	needCommands(t, "/usr/bin/aws", "python3")
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %q: %v", path, b, err)
	}
	return m
}

// TestControlPlaneCLI drives the lifecycle with the AWS CLI v2, restarts furl in the middle,
// and checks every error case's exception name.
func TestControlPlaneCLI(t *testing.T) {
	cpNeedCLI(t)
	data, work := t.TempDir(), t.TempDir()
	addr := freeAddr(t)
	s := cpStart(t, data, addr)
	role := "arn:aws:iam::000000000000:role/furl-default-lambda-role"

	created := s.awsOK("lambda", "create-function", "--function-name", "hello", "--runtime", "python3.12", "--handler", "app.handler",
		"--role", role, "--zip-file", "fileb://"+writeZip(t, work, cpApp("1")), "--environment", "Variables={AB=1}", "--timeout", "10")
	if created["State"] != "Pending" || created["FunctionArn"] != "arn:aws:lambda:us-east-1:000000000000:function:hello" {
		t.Fatalf("create-function = %v", created)
	}
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", "hello")
	out := filepath.Join(work, "out.json")
	inv := s.awsOK("lambda", "invoke", "--function-name", "hello", "--cli-binary-format", "raw-in-base64-out", "--payload", `{"a":1}`, "--log-type", "Tail", out)
	if inv["StatusCode"] != float64(200) || inv["ExecutedVersion"] != "$LATEST" {
		t.Fatalf("invoke = %v", inv)
	}
	if r := readJSON(t, out); r["v"] != "1" {
		t.Fatalf("invoke payload %v", r)
	}
	logTail, _ := base64.StdEncoding.DecodeString(inv["LogResult"].(string))
	if !strings.Contains(string(logTail), "invoked with") {
		t.Fatalf("LogResult %q", logTail)
	}
	s.awsOK("lambda", "update-function-code", "--function-name", "hello", "--zip-file", "fileb://"+writeZip(t, work, cpApp("2")))
	s.awsOK("lambda", "wait", "function-updated-v2", "--function-name", "hello")
	s.awsOK("lambda", "invoke", "--function-name", "hello", out)
	if r := readJSON(t, out); r["v"] != "2" {
		t.Fatalf("after update, invoke sees %v", r)
	}
	cfg := s.awsOK("lambda", "update-function-configuration", "--function-name", "hello", "--memory-size", "256", "--description", "d")
	if cfg["MemorySize"] != float64(256) || cfg["LastUpdateStatus"] != "InProgress" {
		t.Fatalf("update-function-configuration = %v", cfg)
	}
	s.awsOK("lambda", "wait", "function-updated-v2", "--function-name", "hello")
	pub := s.awsOK("lambda", "publish-version", "--function-name", "hello")
	if pub["Version"] != "1" {
		t.Fatalf("publish-version = %v", pub)
	}
	s.awsOK("lambda", "create-alias", "--function-name", "hello", "--name", "live", "--function-version", "1")
	url := s.awsOK("lambda", "create-function-url-config", "--function-name", "hello", "--auth-type", "NONE")
	s.awsOK("lambda", "add-permission", "--function-name", "hello", "--statement-id", "FunctionURLAllowPublicAccess",
		"--action", "lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")
	pol := s.awsOK("lambda", "get-policy", "--function-name", "hello")
	if !strings.Contains(pol["Policy"].(string), "FunctionURLAllowPublicAccess") {
		t.Fatalf("get-policy = %v", pol)
	}
	s.awsOK("lambda", "put-function-concurrency", "--function-name", "hello", "--reserved-concurrent-executions", "5")
	s.awsOK("lambda", "tag-resource", "--resource", "arn:aws:lambda:us-east-1:000000000000:function:hello", "--tags", "team=a")

	// Restart in the middle: everything is still there.
	s.stop(syscall.SIGTERM)
	s = cpStart(t, data, addr)
	got := s.awsOK("lambda", "get-function", "--function-name", "hello")
	conf := got["Configuration"].(map[string]any)
	if conf["MemorySize"] != float64(256) || conf["State"] != "Active" || got["Tags"].(map[string]any)["team"] != "a" ||
		got["Concurrency"].(map[string]any)["ReservedConcurrentExecutions"] != float64(5) {
		t.Fatalf("after restart get-function = %v", got)
	}
	u2 := s.awsOK("lambda", "get-function-url-config", "--function-name", "hello")
	if u2["FunctionUrl"] != url["FunctionUrl"] {
		t.Fatalf("URL changed across restart: %v vs %v", u2["FunctionUrl"], url["FunctionUrl"])
	}
	inv = s.awsOK("lambda", "invoke", "--function-name", "hello", "--qualifier", "live", out)
	if inv["ExecutedVersion"] != "1" || readJSON(t, out)["v"] != "2" {
		t.Fatalf("invoke alias after restart = %v", inv)
	}
	// The URL works through the data plane (path-style).
	id := urlIDOf(t, str(url, "FunctionUrl"))
	if resp, err := http.Get(s.endpoint() + "/lambda-url/" + id + "/x"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"v"`) {
			t.Errorf("function URL answered %d %s", resp.StatusCode, b)
		}
	} else {
		t.Errorf("function URL: %v", err)
	}
	lst := s.awsOK("lambda", "list-functions")
	if fns := lst["Functions"].([]any); len(fns) != 1 {
		t.Fatalf("list-functions = %v", lst)
	}
	s.awsOK("lambda", "list-versions-by-function", "--function-name", "hello")
	s.awsOK("lambda", "list-aliases", "--function-name", "hello")
	s.awsOK("lambda", "list-function-url-configs", "--function-name", "hello")
	s.awsOK("lambda", "get-account-settings")

	// Error cases, by exception name.
	zipPath := writeZip(t, work, cpApp("x"))
	create := func(extra ...string) []string {
		args := []string{"lambda", "create-function", "--function-name", "e1", "--runtime", "python3.12", "--handler", "app.handler", "--role", role, "--zip-file", "fileb://" + zipPath}
		return append(args, extra...)
	}
	badZip := writeZip(t, work, map[string]string{"../evil.py": "x"}) // zip slip
	cases := []struct {
		exception string
		args      []string
	}{
		{"ResourceNotFoundException", []string{"lambda", "get-function", "--function-name", "nope"}},
		{"ResourceNotFoundException", []string{"lambda", "invoke", "--function-name", "nope", out}},
		{"ResourceConflictException", []string{"lambda", "create-function", "--function-name", "hello", "--runtime", "python3.12", "--handler", "app.handler", "--role", role, "--zip-file", "fileb://" + zipPath}},
		{"InvalidParameterValueException", create("--runtime", "python2.7")},
		{"InvalidParameterValueException", create("--timeout", "1000")},
		{"ValidationException", create("--runtime", "cobol")},
		{"InvalidParameterValueException", []string{"lambda", "create-function", "--function-name", "e1", "--runtime", "python3.12", "--handler", "app.handler", "--role", role, "--zip-file", "fileb://" + badZip}},
		{"ValidationException", []string{"lambda", "get-function", "--function-name", "bad name"}},
		{"PreconditionFailedException", []string{"lambda", "update-function-configuration", "--function-name", "hello", "--timeout", "5", "--revision-id", "stale"}},
		{"ResourceConflictException", []string{"lambda", "create-function-url-config", "--function-name", "hello", "--auth-type", "NONE"}},
		{"ValidationException", []string{"lambda", "create-function-url-config", "--function-name", "hello", "--qualifier", "1", "--auth-type", "NONE"}},
		{"ResourceNotFoundException", []string{"lambda", "get-function-url-config", "--function-name", "hello", "--qualifier", "nope"}},
		{"ResourceConflictException", []string{"lambda", "add-permission", "--function-name", "hello", "--statement-id", "FunctionURLAllowPublicAccess", "--action", "lambda:InvokeFunction", "--principal", "*"}},
		{"InvalidParameterValueException", []string{"lambda", "add-permission", "--function-name", "hello", "--qualifier", "$LATEST", "--statement-id", "x", "--action", "lambda:InvokeFunction", "--principal", "*"}},
		{"ResourceNotFoundException", []string{"lambda", "remove-permission", "--function-name", "hello", "--statement-id", "nope"}},
		{"ResourceConflictException", []string{"lambda", "create-alias", "--function-name", "hello", "--name", "live", "--function-version", "1"}},
		{"ResourceNotFoundException", []string{"lambda", "get-alias", "--function-name", "hello", "--name", "nope"}},
		{"ResourceConflictException", []string{"lambda", "delete-function", "--function-name", "hello", "--qualifier", "1"}},
		{"InvalidRequestContentException", []string{"lambda", "invoke", "--function-name", "hello", "--cli-binary-format", "raw-in-base64-out", "--payload", "{nope", out}},
	}
	for _, c := range cases {
		s.awsFails(c.exception, c.args...)
	}
	// Bad credentials.
	s.cli().fails("InvalidSignatureException", iamCreds{cpKey, "wrong", ""}, "lambda", "list-functions")
	s.cli().fails("UnrecognizedClientException", iamCreds{"AKIANOBODY0000000000", cpSecret, ""}, "lambda", "list-functions")

	s.awsOK("lambda", "delete-alias", "--function-name", "hello", "--name", "live")
	s.awsOK("lambda", "delete-function-url-config", "--function-name", "hello")
	s.awsOK("lambda", "delete-function", "--function-name", "hello")
	s.awsFails("ResourceNotFoundException", "lambda", "get-function", "--function-name", "hello")
}

const cpBotoScript = `
import base64, io, json, sys, time, zipfile
import boto3, botocore

ep = sys.argv[1]
c = boto3.client("lambda", endpoint_url=ep, region_name="us-east-1",
                 aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                 config=botocore.config.Config(retries={"max_attempts": 1}))

def zipped(v):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'v': %r, 'event': event}\n" % v)
    return b.getvalue()

res = {}
c.create_function(FunctionName="boto", Runtime="python3.12", Handler="app.handler",
                  Role="arn:aws:iam::000000000000:role/furl-default-lambda-role", Code={"ZipFile": zipped("1")})
c.get_waiter("function_active_v2").wait(FunctionName="boto", WaiterConfig={"Delay": 1})
r = c.invoke(FunctionName="boto", Payload=b'{"x": 1}')
res["invoke1"] = json.loads(r["Payload"].read())
c.update_function_code(FunctionName="boto", ZipFile=zipped("2"))
c.get_waiter("function_updated_v2").wait(FunctionName="boto", WaiterConfig={"Delay": 1})
res["invoke2"] = json.loads(c.invoke(FunctionName="boto")["Payload"].read())
res["version"] = c.publish_version(FunctionName="boto")["Version"]
c.create_alias(FunctionName="boto", Name="prod", FunctionVersion="1")
r = c.invoke(FunctionName="boto", Qualifier="prod")
res["alias_executed"] = r["ExecutedVersion"]

s = c.invoke_with_response_stream(FunctionName="boto", Payload=b'{"s": 1}', LogType="Tail")
body, complete = b"", None
for ev in s["EventStream"]:
    if "PayloadChunk" in ev:
        body += ev["PayloadChunk"]["Payload"]
    if "InvokeComplete" in ev:
        complete = ev["InvokeComplete"]
res["stream"] = json.loads(body)
res["stream_complete"] = complete
res["stream_status"] = s["StatusCode"]

u = c.create_function_url_config(FunctionName="boto", AuthType="AWS_IAM", InvokeMode="RESPONSE_STREAM")
res["url"] = u["FunctionUrl"]
res["url_mode"] = u.get("InvokeMode")
res["urls"] = len(c.list_function_url_configs(FunctionName="boto")["FunctionUrlConfigs"])
res["paginated"] = sum(len(p["Functions"]) for p in c.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1}))

errors = {}
def expect(name, fn):
    try:
        fn()
        errors[name] = "no error"
    except botocore.exceptions.ClientError as e:
        errors[name] = e.response["Error"]["Code"]
expect("missing", lambda: c.get_function(FunctionName="nope"))
expect("duplicate", lambda: c.create_function(FunctionName="boto", Runtime="python3.12", Handler="app.handler", Role="arn:aws:iam::000000000000:role/furl-default-lambda-role", Code={"ZipFile": zipped("1")}))
expect("url_latest", lambda: c.get_function_url_config(FunctionName="boto", Qualifier="$LATEST"))
expect("url_exists", lambda: c.create_function_url_config(FunctionName="boto", AuthType="NONE"))
expect("revision", lambda: c.update_function_code(FunctionName="boto", ZipFile=zipped("3"), RevisionId="stale"))
expect("no_policy", lambda: c.get_policy(FunctionName="boto"))
res["errors"] = errors
c.delete_function(FunctionName="boto")
expect("deleted", lambda: c.get_function(FunctionName="boto"))
print(json.dumps(res))
`

// TestControlPlaneBoto3 drives the lifecycle, response streaming, URL configs, pagination and
// errors with boto3.
func TestControlPlaneBoto3(t *testing.T) {
	needCommands(t, "python3")
	s := cpStart(t, t.TempDir(), freeAddr(t))
	out := []byte(s.python(cpBotoScript, s.endpoint(), cpKey, cpSecret))
	var res struct {
		Invoke1, Invoke2 struct{ V string }
		Version          string
		AliasExecuted    string `json:"alias_executed"`
		Stream           struct{ V string }
		StreamComplete   map[string]any `json:"stream_complete"`
		StreamStatus     int            `json:"stream_status"`
		URL              string
		URLMode          string `json:"url_mode"`
		URLs             int
		Paginated        int
		Errors           map[string]string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if res.Invoke1.V != "1" || res.Invoke2.V != "2" || res.Version != "1" || res.AliasExecuted != "1" {
		t.Fatalf("lifecycle: %s", out)
	}
	if res.Stream.V != "2" || res.StreamStatus != 200 || res.StreamComplete == nil || res.StreamComplete["LogResult"] == nil {
		t.Fatalf("stream: %s", out)
	}
	if res.URL != s.endpoint()+"/lambda-url/"+urlIDOf(t, res.URL)+"/" || res.URLMode != "RESPONSE_STREAM" || res.URLs != 1 {
		t.Fatalf("url: %s", out)
	}
	if res.Paginated != 1 {
		t.Fatalf("paginated list: %s", out)
	}
	want := map[string]string{
		"missing": "ResourceNotFoundException", "duplicate": "ResourceConflictException", "url_latest": "ValidationException",
		"url_exists": "ResourceConflictException", "revision": "PreconditionFailedException", "no_policy": "ResourceNotFoundException",
		"deleted": "ResourceNotFoundException",
	}
	for k, v := range want {
		if res.Errors[k] != v {
			t.Errorf("error %s = %s, want %s", k, res.Errors[k], v)
		}
	}
}

// TestControlPlaneSIGKILLMidDeploy kills furl (SIGKILL) while a large CreateFunction is being
// processed, restarts it, and checks that the store is consistent: the function either does
// not exist or is complete and invokable, no temporary files are left, and a fresh deploy
// works.
func TestControlPlaneSIGKILLMidDeploy(t *testing.T) {
	cpNeedCLI(t)
	data, work := t.TempDir(), t.TempDir()
	addr := freeAddr(t)
	// A large, incompressible package makes the deploy take a while.
	noise := make([]byte, 30<<20)
	rand.Read(noise)
	files := cpApp("big")
	files["blob.bin"] = string(noise)
	big := writeZip(t, work, files)
	out := filepath.Join(work, "out.json")
	// Kill at three points of the deploy, observed on disk: while the zip is being written,
	// once it is stored (unpacking), and while the tree is being unpacked.
	stages := []struct {
		name string
		glob string
	}{
		{"zip being written", "code/zips/*.tmp-*"},
		{"zip stored", "code/zips/*.zip"},
		{"tree being unpacked", "code/unpacked/*.tmp-*"},
	}
	for i, st := range stages {
		name := fmt.Sprintf("big%d", i)
		s := cpStart(t, data, addr)
		before, _ := filepath.Glob(filepath.Join(data, st.glob))
		done := make(chan error, 1)
		go func() {
			_, _, err := s.aws("lambda", "create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.handler",
				"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+big, "--cli-read-timeout", "60")
			done <- err
		}()
		seen := false
		deadline := time.Now().Add(90 * time.Second)
		for !seen && time.Now().Before(deadline) {
			m, _ := filepath.Glob(filepath.Join(data, st.glob))
			if len(m) > len(before) {
				seen = true
				break
			}
			select {
			case <-done:
				deadline = time.Now() // finished before we saw the stage
				done <- nil
			default:
				time.Sleep(time.Millisecond)
			}
		}
		s.stop(syscall.SIGKILL)
		<-done
		s = cpStart(t, data, addr)
		_, errs, err := s.aws("lambda", "get-function", "--function-name", name)
		switch {
		case err == nil:
			inv := s.awsOK("lambda", "invoke", "--function-name", name, out)
			if inv["StatusCode"] != float64(200) || readJSON(t, out)["v"] != "big" {
				t.Fatalf("%s survived the kill but does not run: %v", name, inv)
			}
			t.Logf("kill at %q (seen %v): %s was committed and runs", st.name, seen, name)
		case strings.Contains(errs, "ResourceNotFoundException"):
			t.Logf("kill at %q (seen %v): %s was never committed", st.name, seen, name)
		default:
			t.Fatalf("get-function after kill: %v %s", err, errs)
		}
		leftovers, _ := filepath.Glob(filepath.Join(data, "code", "*", "*.tmp-*"))
		if len(leftovers) > 0 {
			t.Fatalf("temporary files survive a restart: %v", leftovers)
		}
		s.stop(syscall.SIGTERM)
	}
	// After all that, a normal deploy and invoke work.
	s := cpStart(t, data, addr)
	s.awsOK("lambda", "create-function", "--function-name", "after", "--runtime", "python3.12", "--handler", "app.handler",
		"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+writeZip(t, work, cpApp("ok")))
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", "after")
	s.awsOK("lambda", "invoke", "--function-name", "after", out)
	if readJSON(t, out)["v"] != "ok" {
		t.Fatalf("invoke after kills: %v", readJSON(t, out))
	}
}

// furlCmd is the furl CLI pointed at s, as its root.
func (s *cpServer) furlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, furlBinary(s.t), args...)
	cmd.Env = append(os.Environ(), "FURL_ENDPOINT="+s.endpoint(), "FURL_ROOT_ACCESS_KEY_ID="+s.root.id, "FURL_ROOT_SECRET_ACCESS_KEY="+s.root.secret)
	return cmd
}

// furl runs the furl CLI against s.
func (s *cpServer) furl(args ...string) (string, string, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := s.furlCmd(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestControlPlaneFurlCLI runs furl deploy / invoke / ls / logs against a real server.
func TestControlPlaneFurlCLI(t *testing.T) {
	needCommands(t, "python3")
	s := cpStart(t, t.TempDir(), freeAddr(t))
	src := t.TempDir()
	for name, body := range cpApp("cli1") {
		os.WriteFile(filepath.Join(src, name), []byte(body), 0o644)
	}
	out, errs, err := s.furl("deploy", src, "--name", "clifn", "--runtime", "python3.12", "--handler", "app.handler", "--url", "none", "--env", "GREETING=hi")
	if err != nil {
		t.Fatalf("furl deploy: %v\n%s", err, errs)
	}
	url := strings.TrimSpace(out)
	if url != s.endpoint()+"/lambda-url/"+urlIDOf(t, url)+"/" || !strings.Contains(errs, "created clifn") {
		t.Fatalf("deploy printed %q / %q", out, errs)
	}
	resp, err := http.Get(url + "hello") // the URL furl printed, as is
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "cli1") {
		t.Fatalf("public URL answered %d %s", resp.StatusCode, b)
	}
	// Redeploy with new code: same URL, new code.
	os.WriteFile(filepath.Join(src, "app.py"), []byte(cpApp("cli2")["app.py"]), 0o644)
	out2, errs, err := s.furl("deploy", src, "--name", "clifn", "--url", "none")
	if err != nil || strings.TrimSpace(out2) != url || !strings.Contains(errs, "updated code") {
		t.Fatalf("redeploy: %v %q %q", err, out2, errs)
	}
	out, errs, err = s.furl("invoke", "clifn", "--payload", `{"k":"v"}`)
	if err != nil || !strings.Contains(out, `"cli2"`) || !strings.Contains(out, `"k": "v"`) {
		t.Fatalf("furl invoke: %v %q %q", err, out, errs)
	}
	if _, errs, err := s.furl("invoke", "clifn", "--payload", `{"fail":true}`); err == nil || !strings.Contains(errs, "function error (Unhandled)") {
		t.Fatalf("furl invoke of a failing call: %v %q", err, errs)
	}
	if _, errs, err := s.furl("invoke", "nope"); err == nil || !strings.Contains(errs, "ResourceNotFoundException") {
		t.Fatalf("furl invoke nope: %v %q", err, errs)
	}
	out, _, err = s.furl("ls")
	if err != nil || !strings.Contains(out, "clifn") || !strings.Contains(out, url) || !strings.Contains(out, "python3.12") {
		t.Fatalf("furl ls: %v %q", err, out)
	}
	// Without --role deploy uses furl's default execution role, bringing it back if deleted.
	if cfg := s.awsOK("lambda", "get-function-configuration", "--function-name", "clifn"); cfg["Role"] != "arn:aws:iam::000000000000:role/furl-default-lambda-role" {
		t.Fatalf("deployed with role %v", cfg["Role"])
	}
	s.awsOK("iam", "delete-role-policy", "--role-name", "furl-default-lambda-role", "--policy-name", "furl-basic-execution")
	s.awsOK("iam", "delete-role", "--role-name", "furl-default-lambda-role")
	if _, errs, err := s.furl("deploy", src, "--name", "clifn2", "--runtime", "python3.12", "--handler", "app.handler"); err != nil ||
		!strings.Contains(errs, "created execution role arn:aws:iam::000000000000:role/furl-default-lambda-role") {
		t.Fatalf("deploy after the default role was deleted: %v %q", err, errs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, errs, err = s.furl("logs", "clifn", "--since", "10m")
		if err == nil && strings.Contains(out, "START RequestId:") && strings.Contains(out, "invoked with") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("furl logs: %v %q %q", err, out, errs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Follow: a new invocation shows up while following.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := s.furlCmd(ctx, "logs", "clifn", "-f", "--since", "1s")
	pr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan bool, 1)
	go func() {
		var buf []byte
		tmp := make([]byte, 1024)
		sent := false
		for {
			n, err := pr.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if !sent && strings.Contains(string(buf), "followme") {
				found <- true
				sent = true
			}
			if err != nil { // keep draining until the process ends
				if !sent {
					found <- false
				}
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	s.furl("invoke", "clifn", "--payload", `{"marker":"followme"}`)
	select {
	case ok := <-found:
		if !ok {
			t.Fatal("furl logs -f ended without the new line")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("furl logs -f did not show the new invocation")
	}
	cancel()
	cmd.Wait()
}
