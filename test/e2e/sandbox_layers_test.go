//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
)

// TestSandboxLayersAndTmp runs furl with --sandbox=on and drives it with the AWS CLI: a Python
// and a Node function import from layers (read-only at /opt), the Python one imports boto3 as
// on Lambda, and EphemeralStorage sizes the sandbox's /tmp (a write past it fails with ENOSPC,
// the function keeps answering).
func TestSandboxLayersAndTmp(t *testing.T) {
	cpNeedCLI(t)
	needCommands(t, "node", "bwrap")
	data, work := t.TempDir(), t.TempDir()
	s := startFurl(t, data, freeAddr(t), cpKey, cpSecret, "--sandbox=on")
	role := "arn:aws:iam::000000000000:role/furl-default-lambda-role"
	out := filepath.Join(work, "out.json")

	pyLayer := s.awsOK("lambda", "publish-layer-version", "--layer-name", "pylib",
		"--zip-file", "fileb://"+writeZip(t, work, map[string]string{"python/greet.py": "def hello():\n    return 'hello from a layer'\n"}))
	s.awsOK("lambda", "create-function", "--function-name", "py-sbx", "--runtime", "python3.12", "--handler", "app.handler",
		"--role", role, "--timeout", "60", "--memory-size", "1024", "--ephemeral-storage", "Size=600",
		"--layers", pyLayer["LayerVersionArn"].(string), "--zip-file", "fileb://"+writeZip(t, work, map[string]string{"app.py": `
import errno, os, greet, boto3
def handler(event, context):
    st = os.statvfs("/tmp")
    out = {"greeting": greet.hello(), "layer_file": greet.__file__, "boto3": bool(boto3.__version__),
           "tmp_mb": st.f_blocks * st.f_frsize >> 20}
    if event.get("fill"):
        n = 0
        try:
            with open("/tmp/fill", "wb") as f:
                while n < 2048:
                    f.write(b"x" * (1 << 20))
                    f.flush()
                    n += 1
        except OSError as e:
            out["enospc"] = e.errno == errno.ENOSPC
        out["filled_mb"] = n
        os.remove("/tmp/fill")
    return out
`}))
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", "py-sbx")
	if cfg := s.awsOK("lambda", "get-function-configuration", "--function-name", "py-sbx"); cfg["EphemeralStorage"].(map[string]any)["Size"] != float64(600) {
		t.Fatalf("EphemeralStorage = %v", cfg["EphemeralStorage"])
	}
	s.awsOK("lambda", "invoke", "--function-name", "py-sbx", "--cli-binary-format", "raw-in-base64-out", "--payload", `{"fill": true}`, out)
	r := readJSON(t, out)
	if r["greeting"] != "hello from a layer" || r["layer_file"] != "/opt/python/greet.py" || r["boto3"] != true {
		t.Fatalf("python function in the sandbox answered %v", r)
	}
	if r["tmp_mb"] != float64(600) || r["enospc"] != true || r["filled_mb"].(float64) > 600 {
		t.Fatalf("/tmp not capped at 600 MB: %v", r)
	}
	// A new size reaches the next environment.
	s.awsOK("lambda", "update-function-configuration", "--function-name", "py-sbx", "--ephemeral-storage", "Size=1024")
	s.awsOK("lambda", "wait", "function-updated-v2", "--function-name", "py-sbx")
	s.awsOK("lambda", "invoke", "--function-name", "py-sbx", out)
	if r := readJSON(t, out); r["tmp_mb"] != float64(1024) {
		t.Fatalf("after the update /tmp is %v MB", r["tmp_mb"])
	}
	s.awsFails("ValidationException", "lambda", "update-function-configuration", "--function-name", "py-sbx", "--ephemeral-storage", "Size=10241")

	nodeLayer := s.awsOK("lambda", "publish-layer-version", "--layer-name", "nodelib",
		"--zip-file", "fileb://"+writeZip(t, work, map[string]string{"nodejs/node_modules/greet/index.js": "module.exports = () => 'hello from a node layer';\n"}))
	s.awsOK("lambda", "create-function", "--function-name", "node-sbx", "--runtime", "nodejs20.x", "--handler", "index.handler",
		"--role", role, "--layers", nodeLayer["LayerVersionArn"].(string), "--zip-file", "fileb://"+writeZip(t, work, map[string]string{
			"index.js": "const greet = require('greet');\nexports.handler = async () => ({greeting: greet(), file: require.resolve('greet')});\n"}))
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", "node-sbx")
	s.awsOK("lambda", "invoke", "--function-name", "node-sbx", out)
	if r := readJSON(t, out); r["greeting"] != "hello from a node layer" || r["file"] != "/opt/nodejs/node_modules/greet/index.js" {
		t.Fatalf("node function with a layer in the sandbox answered %v", r)
	}
}
