//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayers publishes layers with the AWS CLI and boto3, runs a Python function that imports a
// library from a layer and a Node function that requires a module from one, and checks the
// layer operations' answers and errors.
func TestLayers(t *testing.T) {
	cpNeedCLI(t)
	needCommands(t, "node")
	data, work := t.TempDir(), t.TempDir()
	s := cpStart(t, data, freeAddr(t))
	role := "arn:aws:iam::000000000000:role/furl-default-lambda-role"
	out := filepath.Join(work, "out.json")

	// Python: the library sits under python/ in the layer, so /opt/python is on sys.path.
	pyLayer := s.awsOK("lambda", "publish-layer-version", "--layer-name", "pylib", "--description", "greetings",
		"--license-info", "MIT", "--compatible-runtimes", "python3.12", "python3.13", "--compatible-architectures", "x86_64",
		"--zip-file", "fileb://"+writeZip(t, work, map[string]string{"python/greet.py": "def hello():\n    return 'hello from a layer'\n"}))
	pyARN, _ := pyLayer["LayerVersionArn"].(string)
	if pyARN != "arn:aws:lambda:us-east-1:000000000000:layer:pylib:1" || pyLayer["Version"] != float64(1) ||
		pyLayer["LayerArn"] != "arn:aws:lambda:us-east-1:000000000000:layer:pylib" || pyLayer["Description"] != "greetings" {
		t.Fatalf("publish-layer-version = %v", pyLayer)
	}
	if c, _ := pyLayer["Content"].(map[string]any); c["CodeSha256"] == "" || c["CodeSize"] == float64(0) || c["Location"] == "" {
		t.Fatalf("publish-layer-version Content = %v", pyLayer["Content"])
	}
	// A second layer over the first: site-packages layout, and a file that replaces the first's.
	py2 := s.awsOK("lambda", "publish-layer-version", "--layer-name", "pyextra",
		"--zip-file", "fileb://"+writeZip(t, work, map[string]string{"python/lib/python3.12/site-packages/extra.py": "WORD = 'extra'\n"}))
	s.awsOK("lambda", "create-function", "--function-name", "py-layers", "--runtime", "python3.12", "--handler", "app.handler",
		"--role", role, "--layers", pyARN, py2["LayerVersionArn"].(string), "--zip-file", "fileb://"+writeZip(t, work, map[string]string{"app.py": `
import greet, extra
def handler(event, context):
    return {"greeting": greet.hello(), "extra": extra.WORD}
`}))
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", "py-layers")
	s.awsOK("lambda", "invoke", "--function-name", "py-layers", out)
	if r := readJSON(t, out); r["greeting"] != "hello from a layer" || r["extra"] != "extra" {
		t.Fatalf("python function with layers answered %v", r)
	}
	cfg := s.awsOK("lambda", "get-function", "--function-name", "py-layers")["Configuration"].(map[string]any)
	layers, _ := cfg["Layers"].([]any)
	if len(layers) != 2 || layers[0].(map[string]any)["Arn"] != pyARN || layers[0].(map[string]any)["CodeSize"] == float64(0) {
		t.Fatalf("get-function Layers = %v", cfg["Layers"])
	}

	// Node: modules under nodejs/node_modules are found by require.
	nodeLayer := s.awsOK("lambda", "publish-layer-version", "--layer-name", "nodelib", "--compatible-runtimes", "nodejs20.x",
		"--zip-file", "fileb://"+writeZip(t, work, map[string]string{"nodejs/node_modules/greet/index.js": "module.exports = () => 'hello from a node layer';\n"}))
	s.awsOK("lambda", "create-function", "--function-name", "node-layers", "--runtime", "nodejs20.x", "--handler", "index.handler",
		"--role", role, "--layers", nodeLayer["LayerVersionArn"].(string), "--zip-file", "fileb://"+writeZip(t, work, map[string]string{
			"index.js": "const greet = require('greet');\nexports.handler = async () => ({greeting: greet()});\n"}))
	s.awsOK("lambda", "wait", "function-active-v2", "--function-name", "node-layers")
	s.awsOK("lambda", "invoke", "--function-name", "node-layers", out)
	if r := readJSON(t, out); r["greeting"] != "hello from a node layer" {
		t.Fatalf("node function with a layer answered %v", r)
	}

	// Reading layers back.
	list := s.awsOK("lambda", "list-layers", "--compatible-runtime", "python3.12")
	if ls, _ := list["Layers"].([]any); len(ls) != 1 || ls[0].(map[string]any)["LayerName"] != "pylib" {
		t.Fatalf("list-layers --compatible-runtime python3.12 = %v", list)
	}
	if ls, _ := s.awsOK("lambda", "list-layers")["Layers"].([]any); len(ls) != 3 {
		t.Fatalf("list-layers = %v", ls)
	}
	s.awsOK("lambda", "publish-layer-version", "--layer-name", "pylib", "--zip-file", "fileb://"+writeZip(t, work, map[string]string{"python/greet.py": "def hello():\n    return 'v2'\n"}))
	vers := s.awsOK("lambda", "list-layer-versions", "--layer-name", "pylib")["LayerVersions"].([]any)
	if len(vers) != 2 || vers[0].(map[string]any)["Version"] != float64(2) {
		t.Fatalf("list-layer-versions = %v", vers)
	}
	if g := s.awsOK("lambda", "get-layer-version", "--layer-name", "pylib", "--version-number", "1"); g["LicenseInfo"] != "MIT" {
		t.Fatalf("get-layer-version = %v", g)
	}
	if g := s.awsOK("lambda", "get-layer-version-by-arn", "--arn", pyARN); g["Version"] != float64(1) {
		t.Fatalf("get-layer-version-by-arn = %v", g)
	}

	// Permissions.
	perm := s.awsOK("lambda", "add-layer-version-permission", "--layer-name", "pylib", "--version-number", "1",
		"--statement-id", "everyone", "--action", "lambda:GetLayerVersion", "--principal", "*")
	if !strings.Contains(perm["Statement"].(string), `"Sid":"everyone"`) || perm["RevisionId"] == "" {
		t.Fatalf("add-layer-version-permission = %v", perm)
	}
	pol := s.awsOK("lambda", "get-layer-version-policy", "--layer-name", "pylib", "--version-number", "1")
	var doc struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(pol["Policy"].(string)), &doc); err != nil || len(doc.Statement) != 1 || doc.Statement[0]["Resource"] != pyARN {
		t.Fatalf("get-layer-version-policy = %v", pol)
	}
	s.awsFails("ResourceConflictException", "lambda", "add-layer-version-permission", "--layer-name", "pylib", "--version-number", "1",
		"--statement-id", "everyone", "--action", "lambda:GetLayerVersion", "--principal", "*")
	s.awsOK("lambda", "remove-layer-version-permission", "--layer-name", "pylib", "--version-number", "1", "--statement-id", "everyone")
	s.awsFails("ResourceNotFoundException", "lambda", "get-layer-version-policy", "--layer-name", "pylib", "--version-number", "1")

	// Errors.
	s.awsFails("ResourceNotFoundException", "lambda", "get-layer-version", "--layer-name", "pylib", "--version-number", "9")
	errs := s.awsFails("InvalidParameterValueException", "lambda", "update-function-configuration", "--function-name", "py-layers",
		"--layers", pyARN, py2["LayerVersionArn"].(string), nodeLayer["LayerVersionArn"].(string), pyARN+"0", "arn:aws:lambda:us-east-1:000000000000:layer:x:1", "arn:aws:lambda:us-east-1:000000000000:layer:y:1")
	if !strings.Contains(errs, "more than 5 layers") {
		t.Fatalf("six layers: %s", errs)
	}
	errs = s.awsFails("InvalidParameterValueException", "lambda", "update-function-configuration", "--function-name", "py-layers",
		"--layers", "arn:aws:lambda:us-east-1:000000000000:layer:pylib:7")
	if !strings.Contains(errs, "does not exist") {
		t.Fatalf("missing layer version: %s", errs)
	}

	// boto3: publish, update the function to the new version, delete the old one; the function
	// keeps working and reads the new layer.
	got := s.python(`
import base64, io, json, os, zipfile, boto3
c = boto3.client("lambda", endpoint_url=os.environ["FURL_ENDPOINT"])
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("python/greet.py", "def hello():\n    return 'hello from boto3'\n")
v = c.publish_layer_version(LayerName="pylib", Content={"ZipFile": buf.getvalue()}, CompatibleRuntimes=["python3.12"])
extra = c.list_layer_versions(LayerName="pyextra")["LayerVersions"][0]["LayerVersionArn"]
c.update_function_configuration(FunctionName="py-layers", Layers=[v["LayerVersionArn"], extra])
c.get_waiter("function_updated_v2").wait(FunctionName="py-layers")
c.delete_layer_version(LayerName="pylib", VersionNumber=v["Version"])
c.delete_layer_version(LayerName="pylib", VersionNumber=99)
r = c.invoke(FunctionName="py-layers")
print(json.dumps({"version": v["Version"], "answer": json.loads(r["Payload"].read()),
    "layers": [l["Arn"] for l in c.get_function_configuration(FunctionName="py-layers")["Layers"]]}))
`)
	var res struct {
		Version int
		Answer  map[string]any
		Layers  []string
	}
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("boto3 script printed %q: %v", got, err)
	}
	if res.Version != 3 || res.Answer["greeting"] != "hello from boto3" || len(res.Layers) != 2 || !strings.HasSuffix(res.Layers[0], ":layer:pylib:3") {
		t.Fatalf("boto3: %+v", res)
	}
	s.awsFails("ResourceNotFoundException", "lambda", "get-layer-version", "--layer-name", "pylib", "--version-number", "3")
}
