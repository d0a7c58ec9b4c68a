//go:build e2e

// newcomer_test.go is a new user's first hour: every runtime CreateFunction accepts runs
// (python3.14, nodejs24.x included), and a runtime whose interpreter the machine lacks is
// refused at CreateFunction rather than failing every invoke; `furl serve` says which runtimes
// it can run.
//
//	go test -tags e2e -run Newcomer ./test/e2e/ -v
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNewcomerNewestRuntimesRun(t *testing.T) {
	cpNeedCLI(t)
	data, work := t.TempDir(), t.TempDir()
	s := cpStart(t, data, freeAddr(t))
	if !strings.Contains(s.logs.String(), "runtimes this machine can run") || !strings.Contains(s.logs.String(), "python3.8–python3.14") {
		t.Errorf("start-up log does not say which runtimes run:\n%s", tail(s.logs.String(), 2000))
	}
	for _, tc := range []struct{ runtime, handler, file, code string }{
		{"python3.14", "app.handler", "app.py", "import os\ndef handler(event, context):\n    return os.environ['AWS_EXECUTION_ENV']\n"},
		{"nodejs24.x", "index.handler", "index.js", "exports.handler = async () => process.env.AWS_EXECUTION_ENV;\n"},
	} {
		t.Run(tc.runtime, func(t *testing.T) {
			name := "fn-" + strings.ReplaceAll(tc.runtime, ".", "-")
			s.awsOK("lambda", "create-function", "--function-name", name, "--runtime", tc.runtime, "--handler", tc.handler,
				"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+writeZip(t, work, map[string]string{tc.file: tc.code}))
			s.awsOK("lambda", "wait", "function-active-v2", "--function-name", name)
			out := filepath.Join(work, name+".json")
			res := s.awsOK("lambda", "invoke", "--function-name", name, out)
			b, _ := os.ReadFile(out)
			if res["FunctionError"] != nil || string(b) != `"AWS_Lambda_`+tc.runtime+`"` {
				t.Fatalf("invoke: %v %s\nserver log:\n%s", res, b, tail(s.logs.String(), 3000))
			}
		})
	}
}

func TestNewcomerMissingInterpreterRefused(t *testing.T) {
	cpNeedCLI(t)
	py, err := exec.LookPath("python3")
	need(t, "python3", err)
	// A PATH with python3 but no node: the Node.js runtimes cannot run on this "machine".
	bin := t.TempDir()
	real, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(strings.TrimSpace(string(real)), filepath.Join(bin, "python3")); err != nil {
		t.Fatal(err)
	}
	data, work := t.TempDir(), t.TempDir()
	s := startFurlWith(t, data, freeAddr(t), cpKey, cpSecret, []string{"PATH=" + bin})
	if !strings.Contains(s.logs.String(), "runtimes this machine cannot run") || !strings.Contains(s.logs.String(), "nodejs18.x–nodejs24.x") {
		t.Errorf("start-up log does not name the missing runtimes:\n%s", tail(s.logs.String(), 2000))
	}
	zip := writeZip(t, work, map[string]string{"index.js": "exports.handler = async () => 1;\n", "app.py": "def handler(e, c):\n    return 1\n"})
	msg := s.awsFails("InvalidParameterValueException", "lambda", "create-function", "--function-name", "n", "--runtime", "nodejs24.x",
		"--handler", "index.handler", "--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+zip)
	if !strings.Contains(msg, "The runtime parameter of nodejs24.x is not supported on this furl server") {
		t.Errorf("message: %s", msg)
	}
	// Python still runs; switching it to a Node.js runtime is refused the same way.
	s.awsOK("lambda", "create-function", "--function-name", "p", "--runtime", "python3.14", "--handler", "app.handler",
		"--role", "arn:aws:iam::000000000000:role/furl-default-lambda-role", "--zip-file", "fileb://"+zip)
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", "p")
	s.awsFails("InvalidParameterValueException", "lambda", "update-function-configuration", "--function-name", "p", "--runtime", "nodejs20.x")
	out := filepath.Join(work, "p.json")
	if res := s.awsOK("lambda", "invoke", "--function-name", "p", out); res["FunctionError"] != nil {
		t.Fatalf("invoke: %v", res)
	}
}

// TestNewcomerMakeRunAndHelp: `make run` builds then serves with ARGS passed through; furl says
// where it listens, its data dir and how to use the credentials; `furl --help` is on stdout
// with exit status 0.
func TestNewcomerMakeRunAndHelp(t *testing.T) {
	needCommands(t, "make")
	cmd := exec.Command("make", "-n", "run", "ARGS=--addr 127.0.0.1:9100 --data-dir /tmp/x")
	cmd.Dir = repoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "build -o bin/furl ./cmd/furl") || !strings.Contains(string(out), "./bin/furl serve --addr 127.0.0.1:9100 --data-dir /tmp/x") {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}

	help := exec.Command(furlBinary(t), "--help")
	var stdout, stderr strings.Builder
	help.Stdout, help.Stderr = &stdout, &stderr
	if err := help.Run(); err != nil || !strings.Contains(stdout.String(), "Usage: furl <command>") || stderr.Len() != 0 {
		t.Fatalf("furl --help: %v\nstdout %q\nstderr %q", err, stdout.String(), stderr.String())
	}

	// Without FURL_ROOT_*: generated credentials, and the hint names their file.
	data := t.TempDir()
	addr := freeAddr(t)
	s := startFurlWith(t, data, addr, "", "", []string{"FURL_ROOT_ACCESS_KEY_ID=", "FURL_ROOT_SECRET_ACCESS_KEY="})
	var logs string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if logs = s.logs.String(); strings.Contains(logs, "lambda list-functions") {
			break
		}
	}
	for _, want := range []string{`msg="furl listening"`, "endpoint=http://" + addr, "console=http://" + addr + "/furl/console/", "data_dir=" + data,
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(data, "root-credentials"), "aws --endpoint-url http://" + addr + " lambda list-functions"} {
		if !strings.Contains(logs, want) {
			t.Errorf("start-up log lacks %q:\n%s", want, logs)
		}
	}
}
