//go:build e2e

// urls_test.go drives function URLs end to end: the real `furl serve`, functions deployed with
// the AWS CLI (create-function from a zip, create-function-url-config, add-permission), and
// requests from curl and Python urllib, Host-style (curl --resolve) and path-style. It replays
// the article's four examples (seed/) and compares the event furl delivered with the one AWS
// delivered, then covers a browser-style CORS exchange and a RESPONSE_STREAM URL.
//
//	go test -tags e2e -run URLs ./test/e2e/ -v
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"
)

const (
	urlKey    = "AKIAFURLE2EURLS00001"
	urlSecret = "furl-e2e-urls-secret-00000000000000000"
)

// urlServer is one furl serve for the URL tests.
type urlServer struct {
	*cpServer
	work string
}

func urlStart(t *testing.T) *urlServer {
	t.Helper()
	needCommands(t, "/usr/bin/aws", "curl", "python3")
	work := t.TempDir()
	s := &urlServer{cpServer: startFurl(t, filepath.Join(work, "data"), freeAddr(t), urlKey, urlSecret), work: work}
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("server log tail:\n%s", tail(s.logs.String(), 4000))
		}
	})
	return s
}

// curl runs curl and returns its stdout.
func (s *urlServer) curl(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// zip writes a deployment package; files named "bootstrap" are executable.
func (s *urlServer) zip(files map[string][]byte) string {
	s.t.Helper()
	return writeZip(s.t, s.work, files)
}

// deploy creates a function and its URL with the AWS CLI and returns the URL id. authType NONE
// also gets the public add-permission statement. cors is the CLI's --cors shorthand ("" = none).
func (s *urlServer) deploy(name, rt, handler string, files map[string][]byte, authType, cors string) string {
	s.t.Helper()
	s.awsOK("lambda", "create-function", "--function-name", name, "--runtime", rt, "--handler", handler,
		"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+s.zip(files), "--timeout", "30")
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", name)
	args := []string{"lambda", "create-function-url-config", "--function-name", name, "--auth-type", authType}
	if cors != "" {
		args = append(args, "--cors", cors)
	}
	cfg := s.awsOK(args...)
	if authType == "NONE" {
		s.awsOK("lambda", "add-permission", "--function-name", name, "--statement-id", "FunctionURLAllowPublicAccess",
			"--action", "lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")
	}
	return urlIDOf(s.t, str(cfg, "FunctionUrl"))
}

// urlIDOf returns the URL id of a FunctionUrl: path-style http://<addr>/lambda-url/<id>/ (furl's
// default) or Host-style http://<id>.lambda-url.us-east-1.<domain>:<port>/ (with --url-domain).
func urlIDOf(t *testing.T, fu string) string {
	t.Helper()
	rest := strings.TrimPrefix(strings.TrimPrefix(fu, "http://"), "https://")
	if _, p, ok := strings.Cut(rest, "/lambda-url/"); ok {
		id := strings.TrimSuffix(p, "/")
		if id == "" || strings.Contains(id, "/") || !strings.HasSuffix(fu, "/") {
			t.Fatalf("FunctionUrl %q", fu)
		}
		return id
	}
	id, after, _ := strings.Cut(rest, ".")
	if id == "" || !strings.HasPrefix(after, "lambda-url.us-east-1.") || !strings.HasSuffix(fu, "/") {
		t.Fatalf("FunctionUrl %q", fu)
	}
	return id
}

// hostURL returns the Host-style URL of id and the curl --resolve argument that reaches furl.
func (s *urlServer) hostURL(id string) (url, resolve string) {
	_, port, _ := net.SplitHostPort(s.addr)
	host := id + ".lambda-url.us-east-1.localhost"
	return "http://" + host + ":" + port + "/", host + ":" + port + ":127.0.0.1"
}

// events fetches the events furl recorded for a function (SigV4-signed, as the root).
func (s *urlServer) events(name string) []map[string]any {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.endpoint()+"/furl/v1/functions/"+name+"/events", nil)
	sum := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: s.root.id, SecretAccessKey: s.root.secret},
		req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Events []struct {
			RequestID string
			Status    int
			Event     map[string]any
		}
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil {
		s.t.Fatalf("events: %d %s", resp.StatusCode, b)
	}
	out := make([]map[string]any, len(body.Events))
	for i, e := range body.Events {
		out[i] = e.Event
	}
	return out
}

// The article's handlers (seed/lambda-function-url-article.txt).
const (
	urlExample1 = `# -*- coding: utf-8 -*-

import json


def lambda_handler(event, context):
    print(json.dumps(event, indent=4))
    return {"message": "hello world"}
`
	urlExample2 = `# -*- coding: utf-8 -*-

import json


def lambda_handler(event, context):
    print(json.dumps(event, indent=4))
    data = json.loads(event["body"])
    name = data["name"]
    return {"message": f"hello {name}"}
`
)

// urlClient sends the article's requests with Python's urllib, with the headers python-requests
// sends (as in the article), optionally SigV4-signed with botocore (what requests_aws4auth does).
const urlClient = `import json, os, sys, urllib.request
url, method, body, sign = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "sign"
data = body.encode() if body else None
headers = {"User-Agent": "python-requests/2.31.0", "Accept-Encoding": "gzip, deflate", "Accept": "*/*",
           "Connection": "keep-alive", "content-type": "application/json"}
if data is not None:
    headers["Content-Length"] = str(len(data))
if sign:
    import hashlib
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    headers["x-amz-content-sha256"] = hashlib.sha256(data or b"").hexdigest()
    req = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]), "lambda", "us-east-1").add_auth(req)
    headers = dict(req.headers.items())
req = urllib.request.Request(url, data=data, headers=headers, method=method)
try:
    with urllib.request.urlopen(req) as r:
        print(json.dumps({"status": r.status, "body": r.read().decode(), "headers": dict(r.headers.items())}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": e.read().decode(), "headers": dict(e.headers.items())}))
`

type urlReply struct {
	Status  int
	Body    string
	Headers map[string]string
}

func (s *urlServer) urllib(url, method, body string, sign bool) urlReply {
	s.t.Helper()
	mode := "plain"
	if sign {
		mode = "sign"
	}
	var r urlReply
	out := s.python(urlClient, url, method, body, mode)
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		s.t.Fatalf("urllib output %q: %v", out, err)
	}
	return r
}

// urlNormalize maps what legitimately differs between AWS's recording and furl's event to fixed
// values: AWS's internal cell headers, TLS (furl here is plain HTTP on a random port), ids,
// times, addresses and the host.
func urlNormalize(ev map[string]any) map[string]any {
	b, _ := json.Marshal(ev)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	h := m["headers"].(map[string]any)
	for k := range h {
		if strings.HasPrefix(k, "x-amzn-lambda-") || strings.HasPrefix(k, "x-amzn-tls-") {
			delete(h, k)
		}
	}
	for _, k := range []string{"host", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto",
		"x-amz-date", "x-amz-content-sha256"} {
		if _, ok := h[k]; ok {
			h[k] = "<" + k + ">"
		}
	}
	rc := m["requestContext"].(map[string]any)
	for _, k := range []string{"accountId", "apiId", "domainPrefix", "domainName", "requestId", "time", "timeEpoch"} {
		if _, ok := rc[k]; ok {
			rc[k] = "<" + k + ">"
		}
	}
	rc["http"].(map[string]any)["sourceIp"] = "<sourceIp>"
	if a, ok := rc["authorizer"].(map[string]any); ok {
		iam := a["iam"].(map[string]any)
		for k := range iam {
			if iam[k] != nil {
				iam[k] = "<" + k + ">"
			}
		}
		iam["principalOrgId"] = "<principalOrgId>"
	}
	return m
}

func urlSeed(t *testing.T, n int) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "internal", "urlevent", "testdata", "seed", fmt.Sprintf("example%d.event.json", n)))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestURLsArticleExamples(t *testing.T) {
	s := urlStart(t)
	id1 := s.deploy("example1", "python3.12", "lambda_function_1.lambda_handler",
		map[string][]byte{"lambda_function_1.py": []byte(urlExample1)}, "NONE", "")
	id2 := s.deploy("example2", "python3.12", "lambda_function_2.lambda_handler",
		map[string][]byte{"lambda_function_2.py": []byte(urlExample2)}, "NONE", "")
	id3 := s.deploy("example3", "python3.12", "lambda_function_1.lambda_handler",
		map[string][]byte{"lambda_function_1.py": []byte(urlExample1)}, "AWS_IAM", "")
	id4 := s.deploy("example4", "python3.12", "lambda_function_2.lambda_handler",
		map[string][]byte{"lambda_function_2.py": []byte(urlExample2)}, "AWS_IAM", "")

	t.Run("example1 curl host-style", func(t *testing.T) {
		u, resolve := s.hostURL(id1)
		out := s.curl("--resolve", resolve, "-H", "content-type: application/json", "-w", "\n%{http_code} %{content_type}", u)
		if out != "{\"message\":\"hello world\"}\n200 application/json" {
			t.Errorf("curl: %q", out)
		}
	})
	t.Run("example1 urllib path-style, event as AWS delivered it", func(t *testing.T) {
		r := s.urllib(s.endpoint()+"/lambda-url/"+id1+"/", "GET", "", false)
		if r.Status != 200 || r.Body != `{"message":"hello world"}` {
			t.Fatalf("%+v", r)
		}
		evs := s.events("example1")
		if len(evs) == 0 {
			t.Fatal("no event recorded")
		}
		if diff := cmp.Diff(urlNormalize(urlSeed(t, 1)), urlNormalize(evs[0])); diff != "" {
			t.Errorf("event differs from AWS's (-aws +furl):\n%s", diff)
		}
		if evs[0]["requestContext"].(map[string]any)["requestId"] != r.Headers["x-amzn-RequestId"] {
			t.Errorf("requestId %v vs x-amzn-RequestId %q", evs[0]["requestContext"], r.Headers["x-amzn-RequestId"])
		}
	})
	t.Run("example2 urllib host-style POST", func(t *testing.T) {
		// urllib cannot use --resolve: send to the listener with the URL's Host header.
		script := `import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=b'{"name": "Alice"}', method="POST", headers={
    "Host": sys.argv[2], "User-Agent": "python-requests/2.31.0", "Accept-Encoding": "gzip, deflate",
    "Accept": "*/*", "Connection": "keep-alive", "content-type": "application/json"})
with urllib.request.urlopen(req) as r:
    print(r.status, r.read().decode())
`
		_, port, _ := net.SplitHostPort(s.addr)
		out := s.python(script, s.endpoint()+"/", id2+".lambda-url.us-east-1.localhost:"+port)
		if strings.TrimSpace(out) != `200 {"message":"hello Alice"}` {
			t.Fatalf("urllib: %q", out)
		}
		evs := s.events("example2")
		if len(evs) == 0 {
			t.Fatal("no event recorded")
		}
		if diff := cmp.Diff(urlNormalize(urlSeed(t, 2)), urlNormalize(evs[0])); diff != "" {
			t.Errorf("event differs from AWS's (-aws +furl):\n%s", diff)
		}
	})
	t.Run("example2 curl path-style POST", func(t *testing.T) {
		out := s.curl("-H", "content-type: application/json", "-d", `{"name": "Bob"}`, s.endpoint()+"/lambda-url/"+id2+"/")
		if out != `{"message":"hello Bob"}` {
			t.Errorf("curl: %q", out)
		}
	})
	for _, c := range []struct {
		n      int
		id     string
		method string
		body   string
		want   string
	}{{3, id3, "GET", "", `{"message":"hello world"}`}, {4, id4, "POST", `{"name": "Alice"}`, `{"message":"hello Alice"}`}} {
		t.Run(fmt.Sprintf("example%d AWS_IAM signed with botocore", c.n), func(t *testing.T) {
			r := s.urllib(s.endpoint()+"/lambda-url/"+c.id+"/", c.method, c.body, false)
			if r.Status != 403 || !strings.HasPrefix(r.Body, `{"Message":"Forbidden.`) {
				t.Fatalf("unsigned: %+v", r)
			}
			u, _ := s.hostURL(c.id)
			// Signed requests go to the Host-style URL so the signed host is the URL's.
			script := strings.Replace(urlClient, "req = urllib.request.Request(url,", "req = urllib.request.Request(os.environ['FURL_ENDPOINT'] + '/',", 1)
			script = strings.Replace(script, `headers = dict(req.headers.items())`, `headers = dict(req.headers.items()); headers["Host"] = url.split("/")[2]`, 1)
			if strings.Count(script, "FURL_ENDPOINT") != 1 || !strings.Contains(script, `headers["Host"]`) {
				t.Fatalf("urlClient no longer has the lines this test rewrites:\n%s", script)
			}
			var rep urlReply
			out := s.python(script, u, c.method, c.body, "sign")
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("%q: %v", out, err)
			}
			if rep.Status != 200 || rep.Body != c.want {
				t.Fatalf("signed: %+v", rep)
			}
			evs := s.events(fmt.Sprintf("example%d", c.n))
			if len(evs) == 0 {
				t.Fatal("no event recorded")
			}
			if diff := cmp.Diff(urlNormalize(urlSeed(t, c.n)), urlNormalize(evs[0])); diff != "" {
				t.Errorf("event differs from AWS's (-aws +furl):\n%s", diff)
			}
		})
	}
}

func TestURLsCORS(t *testing.T) {
	s := urlStart(t)
	id := s.deploy("cors", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(
		"def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi ' + event['requestContext']['http']['method']}\n")},
		"NONE", "AllowOrigins=https://app.example.com,AllowMethods=GET,POST,AllowHeaders=content-type,x-token,ExposeHeaders=x-a,MaxAge=600,AllowCredentials=true")
	u, resolve := s.hostURL(id)
	t.Run("preflight", func(t *testing.T) {
		out := s.curl("-i", "--resolve", resolve, "-X", "OPTIONS", "-H", "Origin: https://app.example.com",
			"-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: content-type,x-token", u)
		for _, want := range []string{"HTTP/1.1 200 OK", "Access-Control-Allow-Origin: https://app.example.com",
			"Access-Control-Allow-Methods: GET,POST", "Access-Control-Allow-Headers: content-type,x-token",
			"Access-Control-Allow-Credentials: true", "Access-Control-Max-Age: 600", "Vary: Origin", "Content-Length: 0"} {
			if !strings.Contains(out, want+"\r\n") {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
	})
	t.Run("actual request", func(t *testing.T) {
		out := s.curl("-i", "--resolve", resolve, "-X", "POST", "-H", "Origin: https://app.example.com", "-d", "x", u)
		for _, want := range []string{"Access-Control-Allow-Origin: https://app.example.com", "Access-Control-Allow-Credentials: true",
			"Access-Control-Expose-Headers: x-a", "Vary: Origin"} {
			if !strings.Contains(out, want+"\r\n") {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
		if !strings.HasSuffix(out, "hi POST") {
			t.Errorf("body: %q", out)
		}
	})
	t.Run("other origin gets no grant", func(t *testing.T) {
		out := s.curl("-i", "--resolve", resolve, "-H", "Origin: https://evil.example", u)
		if strings.Contains(out, "Access-Control-Allow-Origin") {
			t.Errorf("granted:\n%s", out)
		}
	})
}

func TestURLsStreaming(t *testing.T) {
	s := urlStart(t)
	bin := filepath.Join(s.work, "bootstrap")
	build := exec.Command("go", "build", "-o", bin, "./bench/url/streamfn")
	build.Dir = repoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	code, _ := os.ReadFile(bin)
	name := "streamer"
	s.awsOK("lambda", "create-function", "--function-name", name, "--runtime", "provided.al2023", "--handler", "bootstrap",
		"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+s.zip(map[string][]byte{"bootstrap": code}))
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", name)
	// AWS CLI v2 2.9 predates InvokeMode: create the URL config with boto3.
	out := s.python(`import boto3, json, os
c = boto3.client("lambda", endpoint_url=os.environ["FURL_ENDPOINT"])
r = c.create_function_url_config(FunctionName="streamer", AuthType="NONE", InvokeMode="RESPONSE_STREAM")
print(json.dumps({"FunctionUrl": r["FunctionUrl"], "InvokeMode": r.get("InvokeMode")}))
`)
	var cfg map[string]any
	if err := json.Unmarshal([]byte(out), &cfg); err != nil || cfg["InvokeMode"] != "RESPONSE_STREAM" {
		t.Fatalf("create url: %q %v", out, err)
	}
	id := urlIDOf(t, str(cfg, "FunctionUrl"))
	s.awsOK("lambda", "add-permission", "--function-name", name, "--statement-id", "FunctionURLAllowPublicAccess",
		"--action", "lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")

	u, resolve := s.hostURL(id)
	u += "?delayms=300"
	t.Run("curl sees the prelude's status, headers and cookie", func(t *testing.T) {
		out := s.curl("-i", "-N", "--resolve", resolve, u)
		for _, want := range []string{"HTTP/1.1 206 Partial Content", "Content-Type: text/plain", "Set-Cookie: s=1", "Transfer-Encoding: chunked"} {
			if !strings.Contains(out, want+"\r\n") {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
		if !strings.HasSuffix(out, "part 0\npart 1\npart 2\npart 3\npart 4\n") {
			t.Errorf("body:\n%s", out)
		}
	})
	t.Run("first byte long before the end", func(t *testing.T) {
		out := s.curl("-o", "/dev/null", "-N", "--resolve", resolve, "-w", "%{time_starttransfer} %{time_total}", u)
		var first, total float64
		if _, err := fmt.Sscanf(out, "%g %g", &first, &total); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		if total-first < 1.0 {
			t.Errorf("time_starttransfer %.3fs, time_total %.3fs: body was not streamed", first, total)
		}
	})
}
