package controlapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/furl/furl/internal/sigv4"
)

// get sends a signed GET and returns the status and body.
func (e *env) get(path string) (int, []byte) {
	e.t.Helper()
	r, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.send(r, "lambda", nil)
}

// send signs r, whose body is body, as the root for service and returns the status and body
// of the answer.
func (e *env) send(r *http.Request, service string, body []byte) (int, []byte) {
	e.t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}, r,
		sigv4.HashPayload(body), service, testRegion, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// shape describes a JSON answer: its top-level keys in order, each array's length and each
// string's value ("…" for strings that change from run to run).
func shape(t *testing.T, b []byte) string {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var arr []json.RawMessage
		var s string
		switch {
		case json.Unmarshal(v, &arr) == nil:
			parts = append(parts, k.(string)+"["+strings.Repeat("x", len(arr))+"]")
		case json.Unmarshal(v, &s) == nil && k != "NextMarker":
			parts = append(parts, k.(string)+"="+s)
		default:
			parts = append(parts, k.(string)+":"+string(v))
		}
	}
	return strings.Join(parts, " ")
}

// TestListPages pins the raw JSON of the list operations' pages (key order, NextMarker only
// when there is a next page, the empty list as []) and their MaxItems errors.
func TestListPages(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	c := e.client
	e.create("pa", pyApp("1"))
	e.create("pb", pyApp("1"))
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("pa")}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ name, version string }{{"one", "1"}, {"two", "$LATEST"}} {
		if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("pa"), Name: aws.String(a.name), FunctionVersion: aws.String(a.version)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []*string{nil, aws.String("one")} {
		if _, err := c.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("pa"), Qualifier: q, AuthType: types.FunctionUrlAuthTypeNone}); err != nil {
			t.Fatal(err)
		}
	}
	marker := func(b []byte) string {
		var v struct{ NextMarker string }
		if err := json.Unmarshal(b, &v); err != nil || v.NextMarker == "" {
			t.Fatalf("no NextMarker in %s (%v)", b, err)
		}
		return v.NextMarker
	}
	for _, l := range []struct{ path, key string }{
		{"/2015-03-31/functions/", "Functions"},
		{"/2015-03-31/functions/?FunctionVersion=ALL", "Functions"},
		{"/2015-03-31/functions/pa/versions", "Versions"},
		{"/2015-03-31/functions/pa/aliases", "Aliases"},
		{"/2021-10-31/functions/pa/urls", "FunctionUrlConfigs"},
	} {
		sep := "?"
		if strings.Contains(l.path, "?") {
			sep = "&"
		}
		st, b := e.get(l.path + sep + "MaxItems=1")
		if got, want := shape(t, b), l.key+"[x] NextMarker:"+string(mustJSON(t, marker(b))); st != 200 || got != want {
			t.Errorf("%s MaxItems=1: %d %s, want 200 %s", l.path, st, got, want)
		}
		for n := 0; n < 8; n++ {
			st, b = e.get(l.path + sep + "MaxItems=1&Marker=" + marker(b))
			if st != 200 {
				t.Fatalf("%s next page: %d %s", l.path, st, b)
			}
			if !strings.Contains(string(b), `"NextMarker"`) {
				break
			}
		}
		if got, want := shape(t, b), l.key+"[x]"; got != want {
			t.Errorf("%s last page: %s, want %s", l.path, got, want)
		}
		st, b = e.get(l.path + sep + "MaxItems=0")
		if st != 400 || string(b) != `{"Type":"User","message":"1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"}` {
			t.Errorf("%s MaxItems=0: %d %s", l.path, st, b)
		}
	}
	for path, want := range map[string]string{
		"/2015-03-31/functions/pb/aliases":                   "Aliases[]",
		"/2021-10-31/functions/pb/urls":                      "FunctionUrlConfigs[]",
		"/2015-03-31/functions/pb/versions":                  "Versions[x]",
		"/2015-03-31/functions/pa/aliases?FunctionVersion=1": "Aliases[x]",
	} {
		if st, b := e.get(path); st != 200 || shape(t, b) != want {
			t.Errorf("%s: %d %s, want %s", path, st, shape(t, b), want)
		}
	}
	if st, b := e.get("/2015-03-31/functions/?FunctionVersion=SOME&MaxItems=x"); st != 400 || !strings.Contains(string(b), "'x' at 'maxItems'") {
		t.Errorf("bad MaxItems and FunctionVersion: %d %s", st, b)
	}
	if st, b := e.get("/2015-03-31/functions/?FunctionVersion=SOME"); st != 400 || !strings.Contains(string(b), "'SOME' at 'functionVersion'") {
		t.Errorf("bad FunctionVersion: %d %s", st, b)
	}
	// MaxItems is checked before the function is looked up.
	if st, b := e.get("/2015-03-31/functions/nope/versions?MaxItems=0"); st != 400 {
		t.Errorf("versions of a missing function, bad MaxItems: %d %s", st, b)
	}
	if st, b := e.get("/2015-03-31/functions/nope/versions"); st != 404 {
		t.Errorf("versions of a missing function: %d %s", st, b)
	}
	if st, b := e.get("/2015-03-31/functions/nope/aliases"); st != 404 {
		t.Errorf("aliases of a missing function: %d %s", st, b)
	}
	if st, b := e.get("/2015-03-31/functions/pa/aliases/one"); st != 200 || !strings.HasPrefix(shape(t, b), "AliasArn=arn:aws:lambda:us-east-1:000000000000:function:pa:one Name=one FunctionVersion=1 Description= RevisionId=") {
		t.Errorf("GetAlias: %d %s", st, shape(t, b))
	}
	if st, b := e.get("/2021-10-31/functions/pa/url?Qualifier=one"); st != 200 || !strings.Contains(shape(t, b), "FunctionArn=arn:aws:lambda:us-east-1:000000000000:function:pa:one AuthType=NONE CreationTime=") {
		t.Errorf("GetFunctionUrlConfig: %d %s", st, shape(t, b))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
