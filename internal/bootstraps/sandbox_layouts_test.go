package bootstraps

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/furl/furl/internal/pool"
)

// Real-world layouts and the SDK, through the real pool in the real sandbox: the machine's boto3
// importable as on Lambda (the function's own copy and a layer's win over it), layers at /opt
// for Python and Node, a handler in a package subdirectory, an ES module handler, /tmp kept
// across warm invokes of one environment.

const sdkPy = `
import json, os, sys
def handler(e, c):
    import boto3, botocore
    return {"prefix": sys.prefix, "boto3": boto3.__file__, "version": getattr(boto3, "__version__", ""), "botocore": botocore.__file__,
            "path": sys.path}
`

func TestSandboxPythonSDKAndLayers(t *testing.T) {
	needPython(t)
	set := newTestSet(t)
	p := newSandboxPool(t, set, t.TempDir())
	worldReadable(t, set.Dir())

	type sdk struct {
		Prefix, Boto3, Version, Botocore string
		Path                             []string
	}
	call := func(t *testing.T, tg *pool.Target) sdk {
		t.Helper()
		worldReadable(t, append([]string{tg.CodeDir}, tg.Layers...)...)
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
		var out sdk
		if res.FunctionError != "" || json.Unmarshal(res.Payload, &out) != nil {
			t.Fatalf("%s: %s %s\n%s", tg.FunctionName, res.FunctionError, res.Payload, res.Log)
		}
		return out
	}
	fakeBoto := map[string]string{"__init__.py": "__version__ = 'WHO'\n"}
	withPrefix := func(prefix, who string, files map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range files {
			out[prefix+k] = strings.ReplaceAll(v, "WHO", who)
		}
		return out
	}

	t.Run("machine's boto3", func(t *testing.T) {
		tg := poolTarget(t, "sdk", "python3.12", "app.handler", map[string]string{"app.py": sdkPy})
		got := call(t, tg)
		if strings.HasPrefix(got.Boto3, "/var/task") || strings.HasPrefix(got.Boto3, "/opt") || got.Version == "" {
			t.Errorf("boto3 = %s %s, want the machine's", got.Boto3, got.Version)
		}
		// As on Lambda: the task root first, then the layers, then the runtime's SDK.
		if len(got.Path) == 0 || got.Path[0] != "/var/task" {
			t.Errorf("sys.path = %v", got.Path)
		}
		// The interpreter is the one furl runs unsandboxed, whole: its own prefix (and so its
		// standard library and site-packages), even when it is installed under a 0700 home.
		py, err := set.pythonPath(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(py, "-S", "-c", "import sys; print(sys.prefix)").Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSpace(string(out)); got.Prefix != want {
			t.Errorf("sys.prefix in the sandbox = %s, want %s (the interpreter's own)", got.Prefix, want)
		}
		t.Logf("%s: boto3 %s from %s", py, got.Version, got.Boto3)
	})
	t.Run("the function's own boto3 wins", func(t *testing.T) {
		files := withPrefix("boto3/", "own", fakeBoto)
		files["botocore/__init__.py"] = ""
		files["app.py"] = sdkPy
		got := call(t, poolTarget(t, "ownsdk", "python3.12", "app.handler", files))
		if got.Boto3 != "/var/task/boto3/__init__.py" || got.Version != "own" {
			t.Errorf("boto3 = %s %s, want the function's", got.Boto3, got.Version)
		}
	})
	t.Run("a layer's boto3 wins", func(t *testing.T) {
		layer := t.TempDir()
		files := withPrefix("python/boto3/", "layer", fakeBoto)
		files["python/botocore/__init__.py"] = ""
		writeFiles(t, layer, files)
		tg := poolTarget(t, "layersdk", "python3.12", "app.handler", map[string]string{"app.py": sdkPy})
		tg.Layers = []string{layer}
		got := call(t, tg)
		if got.Boto3 != "/opt/python/boto3/__init__.py" || got.Version != "layer" {
			t.Errorf("boto3 = %s %s, want the layer's", got.Boto3, got.Version)
		}
	})
	t.Run("python layer and a handler in a package subdirectory", func(t *testing.T) {
		l1, l2 := t.TempDir(), t.TempDir()
		writeFiles(t, l1, map[string]string{
			"python/greet.py": "def hello():\n    return 'old'\n",
			"python/lib/python3.12/site-packages/extra.py": "X = 'site'\n",
		})
		writeFiles(t, l2, map[string]string{"python/greet.py": "def hello():\n    return 'hello from layer 2'\n"})
		tg := poolTarget(t, "pylayer", "python3.12", "pkg/sub/app.handler", map[string]string{
			"pkg/__init__.py":     "",
			"pkg/sub/__init__.py": "",
			"pkg/sub/helper.py":   "V = 'helper'\n",
			"pkg/sub/app.py": `
import os, greet, extra
from pkg.sub import helper
def handler(e, c):
    return {"greet": greet.hello(), "extra": extra.X, "helper": helper.V, "file": greet.__file__,
            "opt": sorted(os.listdir("/opt"))}
`,
		})
		tg.Layers = []string{l1, l2}
		worldReadable(t, tg.CodeDir, l1, l2)
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
		want := `{"greet": "hello from layer 2", "extra": "site", "helper": "helper", "file": "/opt/python/greet.py", "opt": ["python"]}`
		if res.FunctionError != "" || string(res.Payload) != want {
			t.Errorf("got %s %s, want %s\n%s", res.FunctionError, res.Payload, want, res.Log)
		}
	})
	t.Run("/tmp across warm invokes", func(t *testing.T) {
		tg := poolTarget(t, "tmpkeep", "python3.12", "app.handler", map[string]string{"app.py": `
import os
def handler(e, c):
    p = "/tmp/count"
    n = int(open(p).read()) if os.path.exists(p) else 0
    with open(p, "w") as f:
        f.write(str(n + 1))
    return n + 1
`})
		worldReadable(t, tg.CodeDir)
		for want := 1; want <= 3; want++ {
			res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
			if string(res.Payload) != itoaTest(want) {
				t.Fatalf("invoke %d: %s %s", want, res.FunctionError, res.Payload)
			}
		}
	})
}

func itoaTest(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestSandboxNodeLayouts(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	set := newTestSet(t)
	p := newSandboxPool(t, set, t.TempDir())
	worldReadable(t, set.Dir())

	t.Run("layer module", func(t *testing.T) {
		layer := t.TempDir()
		writeFiles(t, layer, map[string]string{
			"nodejs/node_modules/greet/index.js":            "exports.hello = () => 'hello from a node layer';\n",
			"nodejs/node20/node_modules/versioned/index.js": "module.exports = 'node20 tree';\n",
		})
		tg := poolTarget(t, "nodelayer", "nodejs20.x", "index.handler", map[string]string{"index.js": `
const greet = require('greet');
const versioned = require('versioned');
exports.handler = async () => ({ greet: greet.hello(), versioned, file: require.resolve('greet') });
`})
		tg.Layers = []string{layer}
		worldReadable(t, tg.CodeDir, layer)
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
		want := `{"greet":"hello from a node layer","versioned":"node20 tree","file":"/opt/nodejs/node_modules/greet/index.js"}`
		if res.FunctionError != "" || string(res.Payload) != want {
			t.Errorf("got %s %s, want %s\n%s", res.FunctionError, res.Payload, want, res.Log)
		}
	})
	t.Run("ES module handler", func(t *testing.T) {
		tg := poolTarget(t, "esm", "nodejs20.x", "index.handler", map[string]string{
			"index.mjs": "import { readFileSync } from 'node:fs';\nimport { v } from './lib.mjs';\nexport const handler = async () => ({ v, cwd: process.cwd(), data: readFileSync('./data.txt', 'utf8') });\n",
			"lib.mjs":   "export const v = 'esm';\n",
			"data.txt":  "next to me",
		})
		worldReadable(t, tg.CodeDir)
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
		want := `{"v":"esm","cwd":"/var/task","data":"next to me"}`
		if res.FunctionError != "" || string(res.Payload) != want {
			t.Errorf("got %s %s, want %s\n%s", res.FunctionError, res.Payload, want, res.Log)
		}
	})
	t.Run("no AWS SDK v3 unless shipped", func(t *testing.T) {
		tg := poolTarget(t, "nosdk", "nodejs20.x", "index.handler", map[string]string{"index.js": `
exports.handler = async () => { try { require('@aws-sdk/client-lambda'); return 'found'; } catch (e) { return e.code; } };
`})
		worldReadable(t, tg.CodeDir)
		res := poolInvoke(t, p, tg, &pool.Request{Payload: []byte(`{}`)})
		if string(res.Payload) != `"MODULE_NOT_FOUND"` {
			t.Errorf("got %s %s", res.FunctionError, res.Payload)
		}
	})
}
