//go:build e2e

// functionurl_test.go: the FunctionUrl furl hands out works, as is, in every common client on a
// fresh machine (no /etc/hosts edits): Python requests (the article's client), urllib, Node's
// fetch, Go's net/http, curl, and a botocore-signed request for AWS_IAM. With --url-domain the
// URL is Host-style, for deployments with wildcard DNS.
//
//	go test -tags e2e -run FunctionURLShape ./test/e2e/ -v
package e2e

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

const furlEchoApp = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok:' + event['rawPath'] + '?' + event['rawQueryString']}\n"

func TestFunctionURLShapeWorksInEveryClient(t *testing.T) {
	s := urlStart(t)
	files := map[string][]byte{"app.py": []byte(furlEchoApp)}
	id := s.deploy("everyclient", "python3.12", "app.handler", files, "NONE", "")
	fu := str(s.awsOK("lambda", "get-function-url-config", "--function-name", "everyclient"), "FunctionUrl")
	if want := s.endpoint() + "/lambda-url/" + id + "/"; fu != want {
		t.Fatalf("FunctionUrl = %q, want %q (path-style, ending with /)", fu, want)
	}
	const want = "ok:/p?x=1"
	target := fu + "p?x=1"

	t.Run("python requests", func(t *testing.T) {
		out := s.python("import requests, sys\nr = requests.get(sys.argv[1], timeout=30)\nprint(r.status_code, r.text)", target)
		if strings.TrimSpace(out) != "200 "+want {
			t.Fatalf("requests: %q", out)
		}
	})
	t.Run("python urllib", func(t *testing.T) {
		out := s.python("import urllib.request, sys\nr = urllib.request.urlopen(sys.argv[1], timeout=30)\nprint(r.status, r.read().decode())", target)
		if strings.TrimSpace(out) != "200 "+want {
			t.Fatalf("urllib: %q", out)
		}
	})
	t.Run("node fetch", func(t *testing.T) {
		needCommands(t, "node")
		out, err := exec.Command("node", "-e", "fetch(process.argv[1]).then(async r => console.log(r.status, await r.text())).catch(e => { console.error(e); process.exit(1) })", target).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "200 "+want {
			t.Fatalf("node fetch: %v %q", err, out)
		}
	})
	t.Run("go net/http", func(t *testing.T) {
		resp, err := http.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != want {
			t.Fatalf("net/http: %d %q", resp.StatusCode, b)
		}
	})
	t.Run("curl", func(t *testing.T) {
		if out := s.curl(target); out != want {
			t.Fatalf("curl: %q", out)
		}
	})
	t.Run("botocore-signed AWS_IAM", func(t *testing.T) {
		s.deploy("iamclient", "python3.12", "app.handler", files, "AWS_IAM", "")
		fu := str(s.awsOK("lambda", "get-function-url-config", "--function-name", "iamclient"), "FunctionUrl")
		out := s.python(`import sys, requests, botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
creds = botocore.session.get_session().get_credentials()
req = AWSRequest(method="GET", url=sys.argv[1])
SigV4Auth(creds, "lambda", "us-east-1").add_auth(req)
r = requests.get(sys.argv[1], headers=dict(req.headers), timeout=30)
print(r.status_code, r.text)`, fu+"p?x=1")
		if strings.TrimSpace(out) != "200 "+want {
			t.Fatalf("signed requests: %q", out)
		}
	})
}

// TestFunctionURLShapeHostStyle: with --url-domain (wildcard DNS in front of furl) FunctionUrl is
// Host-style, as AWS's, and the path-style form keeps working.
func TestFunctionURLShapeHostStyle(t *testing.T) {
	needCommands(t, "/usr/bin/aws", "curl")
	work := t.TempDir()
	s := &urlServer{cpServer: startFurlWith(t, work+"/data", freeAddr(t), urlKey, urlSecret, nil, "--url-domain", "furl.test"), work: work}
	id := s.deploy("hoststyle", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(furlEchoApp)}, "NONE", "")
	fu := str(s.awsOK("lambda", "get-function-url-config", "--function-name", "hoststyle"), "FunctionUrl")
	_, port, _ := strings.Cut(s.addr, ":")
	host := id + ".lambda-url.us-east-1.furl.test"
	if want := "http://" + host + ":" + port + "/"; fu != want {
		t.Fatalf("FunctionUrl = %q, want %q", fu, want)
	}
	// What a wildcard DNS record would do: resolve the name to furl.
	if out := s.curl("--resolve", host+":"+port+":127.0.0.1", fu+"h?y=2"); out != "ok:/h?y=2" {
		t.Fatalf("Host-style: %q", out)
	}
	if out := s.curl(s.endpoint() + "/lambda-url/" + id + "/h?y=2"); out != "ok:/h?y=2" {
		t.Fatalf("path-style: %q", out)
	}
}
