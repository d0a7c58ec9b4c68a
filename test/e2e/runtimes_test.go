//go:build e2e

// runtimes_test.go deploys functions on the managed runtimes (furl's Python and Node.js
// bootstraps) and on provided.al2023 with the real npm aws-lambda-ric, with the AWS CLI v2, and
// calls them through function URLs: the article's first example, a Node.js function that streams
// with awslambda.streamifyResponse, and the same Node.js handler under aws-lambda-ric.
//
//	go test -tags e2e -run Runtimes ./test/e2e/ -v
package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rtDeployURL creates a function and a public function URL for it and returns the path-style
// URL base (http://addr/lambda-url/<id>).
func rtDeployURL(t *testing.T, s *cpServer, work, name, rt, handler, mode string, files map[string]string) string {
	t.Helper()
	s.awsOK("lambda", "create-function", "--function-name", name, "--runtime", rt, "--handler", handler,
		"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+writeZip(t, work, files), "--timeout", "15")
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", name)
	// AWS CLI v2 2.9 predates InvokeMode: create the URL config with boto3.
	url := rtBoto3(t, s, `import boto3, json, os, sys
c = boto3.client("lambda", endpoint_url=os.environ["FURL_ENDPOINT"])
r = c.create_function_url_config(FunctionName=sys.argv[1], AuthType="NONE", InvokeMode=sys.argv[2])
r.pop("ResponseMetadata", None)
print(json.dumps(r, default=str))
`, name, mode)
	s.awsOK("lambda", "add-permission", "--function-name", name, "--statement-id", "FunctionURLAllowPublicAccess",
		"--action", "lambda:InvokeFunctionUrl", "--principal", "*", "--function-url-auth-type", "NONE")
	return s.endpoint() + "/lambda-url/" + urlIDOf(t, str(url, "FunctionUrl"))
}

// rtBoto3 runs a boto3 script with furl's endpoint and root credentials and decodes its JSON output.
func rtBoto3(t *testing.T, s *cpServer, script string, args ...string) map[string]any {
	t.Helper()
	out := s.python(script, args...)
	m := map[string]any{}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	return m
}

const rtNodeStream = `exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { "content-type": "text/plain", "x-runtime": "furl" },
  });
  for (let i = 0; i < 10; i++) {
    responseStream.write("chunk " + i + "\n");
    await new Promise((r) => setTimeout(r, 100));
  }
  responseStream.end();
});
`

const rtNodeHello = `exports.handler = async (event, context) => {
  console.log("path", event.rawPath);
  return { statusCode: 200, headers: { "x-fn": context.functionName }, body: JSON.stringify({ message: "hello world", path: event.rawPath }) };
};
`

func TestRuntimesThroughFunctionURLs(t *testing.T) {
	cpNeedCLI(t)
	data, work := t.TempDir(), t.TempDir()
	s := cpStart(t, data, freeAddr(t))

	t.Run("python article example", func(t *testing.T) {
		base := rtDeployURL(t, s, work, "hello-py", "python3.12", "lambda_function.lambda_handler", "BUFFERED", map[string]string{
			"lambda_function.py": "import json\n\ndef lambda_handler(event, context):\n    print(json.dumps(event))\n    return {\"message\": \"hello world\"}\n",
		})
		resp, err := http.Get(base + "/hello?x=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != `{"message":"hello world"}` { // re-serialized compactly, as AWS does
			t.Fatalf("GET = %d %q\nserver log:\n%s", resp.StatusCode, body, tail(s.logs.String(), 3000))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
	})

	// Lambda gives a function CPU in proportion to its memory (one vCPU per 1,769 MB); furl runs
	// each environment on that many of the host's CPUs, and the runtime sees them.
	t.Run("cpus follow memory size", func(t *testing.T) {
		if runtime.NumCPU() < 2 {
			t.Skip("needs at least 2 CPUs")
		}
		zip := writeZip(t, work, map[string]string{"app.py": "import os\n\ndef handler(event, context):\n    return len(os.sched_getaffinity(0))\n"})
		for _, tc := range []struct {
			memory string
			want   int
		}{{"128", 1}, {"2048", 2}} {
			name := "cpus-" + tc.memory
			s.awsOK("lambda", "create-function", "--function-name", name, "--runtime", "python3.12", "--handler", "app.handler",
				"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+zip, "--memory-size", tc.memory)
			s.awsOK("lambda", "wait", "function-active-v2", "--function-name", name)
			out := filepath.Join(work, name+".json")
			s.awsOK("lambda", "invoke", "--function-name", name, out)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != strconv.Itoa(tc.want) {
				t.Errorf("%s MB: the function sees %s CPUs, want %d", tc.memory, b, tc.want)
			}
		}
	})

	t.Run("node streaming", func(t *testing.T) {
		base := rtDeployURL(t, s, work, "stream-node", "nodejs20.x", "index.handler", "RESPONSE_STREAM", map[string]string{"index.js": rtNodeStream})
		start := time.Now()
		resp, err := http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 201 || resp.Header.Get("X-Runtime") != "furl" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("status %d headers %v\nserver log:\n%s", resp.StatusCode, resp.Header, tail(s.logs.String(), 3000))
		}
		var got bytes.Buffer
		var first, last time.Duration
		buf := make([]byte, 1024)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				if got.Len() == 0 {
					first = time.Since(start)
				}
				got.Write(buf[:n])
				last = time.Since(start)
			}
			if err != nil {
				break
			}
		}
		if !strings.HasPrefix(got.String(), "chunk 0\n") || !strings.HasSuffix(got.String(), "chunk 9\n") {
			t.Errorf("body %q", got.String())
		}
		if last-first < 700*time.Millisecond {
			t.Errorf("first chunk at %v, last at %v: not streamed", first, last)
		}
	})

	t.Run("aws-lambda-ric as provided.al2023", func(t *testing.T) {
		ric := filepath.Join(repoRoot(), ".deps", "node", "node_modules", "aws-lambda-ric")
		_, err := os.Stat(filepath.Join(ric, "dist", "rapid-client.node"))
		need(t, "aws-lambda-ric with its native addon (scripts/deps.sh)", err)
		// The package ships the runtime client, as a custom runtime's package does on AWS: the
		// sandbox shows the function nothing of the host's tree but its own code.
		files := map[string]string{
			"index.js":  rtNodeHello,
			"bootstrap": "#!/bin/sh\nexec node /var/task/node_modules/aws-lambda-ric/bin/index.mjs \"$_HANDLER\"\n",
		}
		for _, part := range []string{"package.json", "bin", "dist"} {
			err := filepath.WalkDir(filepath.Join(ric, part), func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				rel, _ := filepath.Rel(ric, p)
				files["node_modules/aws-lambda-ric/"+filepath.ToSlash(rel)] = string(b)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		base := rtDeployURL(t, s, work, "ric-node", "provided.al2023", "index.handler", "BUFFERED", files)
		for i := 0; i < 2; i++ {
			resp, err := http.Get(base + "/ric")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != `{"message":"hello world","path":"/ric"}` || resp.Header.Get("X-Fn") != "ric-node" {
				t.Fatalf("GET = %d %q %v\nserver log:\n%s", resp.StatusCode, body, resp.Header, tail(s.logs.String(), 3000))
			}
		}
	})

	t.Run("node own bootstrap, same handler", func(t *testing.T) {
		base := rtDeployURL(t, s, work, "own-node", "nodejs22.x", "index.handler", "BUFFERED", map[string]string{"index.js": rtNodeHello})
		resp, err := http.Get(base + "/own")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != `{"message":"hello world","path":"/own"}` || resp.Header.Get("X-Fn") != "own-node" {
			t.Fatalf("GET = %d %q %v", resp.StatusCode, body, resp.Header)
		}
	})
}
