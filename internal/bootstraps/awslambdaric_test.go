package bootstraps

import (
	"os"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAgainstAwslambdaric runs the same handlers under the real awslambdaric Python layer and
// under furl's bootstrap, against the same loopback Runtime API, and compares what reaches the
// API and the logs. It needs FURL_AWSLAMBDARIC_PATH: a directory with the awslambdaric package
// (pure-Python modules of aws/aws-lambda-python-runtime-interface-client), a runtime_client
// module over http.client standing in for its C++ extension, and simplejson (or a shim).
// awslambdaric cannot be installed on the build machines (PyPI only), so `make test` skips this
// comparison and docs/COMPATIBILITY.md claims for the Python bootstrap only what the tests in
// python_test.go pin down.
func TestAgainstAwslambdaric(t *testing.T) {
	ref := os.Getenv("FURL_AWSLAMBDARIC_PATH")
	if ref == "" {
		t.Skip("FURL_AWSLAMBDARIC_PATH not set: no reference awslambdaric to compare with (not installable here; see docs/COMPATIBILITY.md)")
	}
	needPython(t)
	set := newTestSet(t)
	files := map[string]string{
		"app.py": `import json, logging
logging.getLogger().setLevel(logging.INFO)
counter = 0
def handler(event, context):
    global counter
    counter += 1
    print("event", json.dumps(event))
    logging.info("info line %d", counter)
    return {"counter": counter, "s": "\u00fc\u4e2d", "arn": context.invoked_function_arn, "mem": context.memory_limit_in_mb, "id": context.identity.cognito_identity_id}
def raises(event, context):
    inner(event)
def inner(event):
    raise KeyError("missing key")
def raw(event, context):
    return b"bytes"
def bad(event, context):
    return {"x": {1, 2}}
`,
		"broken.py":       "def handler(e, c)\n    return 1\n",
		"imports.py":      "import not_there_at_all\n",
		"toplevel.py":     "x = 1\nraise ZeroDivisionError('at import')\n",
		"pkg/__init__.py": "",
		"pkg/mod.py":      "def handler(e, c):\n    return __name__\n",
	}
	root := t.TempDir()
	writeFiles(t, root, files)
	timestamp := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z`)
	for _, tc := range []struct {
		runtime, handler string
		invocations      []invocation
	}{
		{"python3.12", "app.handler", []invocation{{ID: "r1", Payload: `{"a":"\u00e9"}`, Cognito: `{"cognitoIdentityId":"c"}`}, {ID: "r2"}}},
		{"python3.11", "app.handler", []invocation{{ID: "r1", Payload: `{"a":"\u00e9"}`}}},
		{"python3.12", "app.raises", []invocation{{ID: "r1"}}},
		{"python3.12", "app.raw", []invocation{{ID: "r1"}}},
		{"python3.12", "app.bad", []invocation{{ID: "r1"}}},
		{"python3.12", "app.handler", []invocation{{ID: "r1", ClientContext: "{not json"}}},
		{"python3.12", "app.nope", nil},
		{"python3.12", "app", nil},
		{"python3.12", "broken.handler", nil},
		{"python3.12", "imports.handler", nil},
		{"python3.12", "toplevel.handler", nil},
		{"python3.12", "pkg/mod.handler", []invocation{{ID: "r1"}}},
		{"python3.12", "sys.handler", nil},
	} {
		t.Run(tc.runtime+"/"+tc.handler, func(t *testing.T) {
			type result struct {
				Outcomes []outcomeView
				Log      string
				Exit     int
			}
			runOne := func(argv, env []string) result {
				api := newFakeAPI(t)
				p := startRuntime(t, api, argv, env, root, nil)
				var r result
				if tc.invocations == nil {
					r.Outcomes = append(r.Outcomes, view(api.waitOutcome(t)))
					r.Exit = p.wait(t)
				} else {
					for _, inv := range tc.invocations {
						r.Outcomes = append(r.Outcomes, view(api.invoke(t, inv)))
					}
					p.outputSoon("\x00never")
					_ = p.cmd.Process.Kill()
					p.wait(t)
					r.Exit = 0
				}
				r.Log = timestamp.ReplaceAllString(p.out.String(), "TIME")
				return r
			}
			ownArgv, ownEnv, err := set.Command(tc.runtime, tc.handler, root)
			if err != nil {
				t.Fatal(err)
			}
			own := runOne(ownArgv, ownEnv)
			refEnv := append([]string{"PYTHONPATH=" + ref}, ownEnv...)
			real := runOne([]string{ownArgv[0], "-m", "awslambdaric", tc.handler}, refEnv)
			if diff := cmp.Diff(real, own); diff != "" {
				t.Errorf("awslambdaric (-) vs furl (+):\n%s", diff)
			}
		})
	}
}

type outcomeView struct {
	Kind, RequestID, Body, ContentType, ErrorTypeHeader string
}

func view(o outcome) outcomeView {
	return outcomeView{o.Kind, o.RequestID, string(o.Body), o.Header.Get("Content-Type"), o.Header.Get("Lambda-Runtime-Function-Error-Type")}
}
