package controlapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/codestore"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/store"
)

// fuzzPlane is the control plane over a real store, code store and identity service, called
// in-process (no sockets) with requests signed by the AWS SDK's signer as the account root.
type fuzzPlane struct {
	h      http.Handler
	signer *v4.Signer
}

func newFuzzPlane(f *testing.F) *fuzzPlane {
	f.Helper()
	dir := f.TempDir()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, filepath.Join(dir, "furl.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	cs, err := codestore.Open(filepath.Join(dir, "code"), codestore.Limits{})
	if err != nil {
		f.Fatal(err)
	}
	svc := functions.New(db, cs, functions.Options{Region: testRegion, AccountID: testAcct}, log)
	ids, err := identity.New(identity.Options{Store: db, AccountID: testAcct, Region: testRegion, RootAccessKeyID: testKey, RootSecretAccessKey: testSecret, Log: log})
	if err != nil {
		f.Fatal(err)
	}
	p := pool.New(pool.Config{WorkDir: filepath.Join(dir, "envs"), Path: os.Getenv("PATH"), MaxConcurrency: 4}, log, pool.DefaultLauncher{}, nil)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	fp := &fuzzPlane{h: controlapi.New(svc, ids, ids, p, nil, log), signer: v4.NewSigner()}
	// One function the per-function operations can name.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("bootstrap")
	_, _ = w.Write([]byte("#!/bin/sh\n"))
	_ = zw.Close()
	create, _ := json.Marshal(map[string]any{"FunctionName": "f", "Runtime": "provided.al2023", "Handler": "h", "Role": "arn:aws:iam::" + testAcct + ":role/r",
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(zb.Bytes())}})
	if rec := fp.do(f, "POST", "/2015-03-31/functions", nil, create); rec.Code != http.StatusCreated {
		f.Fatalf("CreateFunction = %d %s", rec.Code, rec.Body)
	}
	return fp
}

// do sends one signed request and returns the answer.
func (fp *fuzzPlane) do(t testing.TB, method, path string, header http.Header, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "http://127.0.0.1:9000"+path, bytes.NewReader(body))
	for k, vs := range header {
		r.Header[k] = vs
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	if err := fp.signer.SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "lambda", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	fp.h.ServeHTTP(rec, r)
	return rec
}

// checkAWSShaped fails unless the answer is a success or a client error with AWS's shape: an
// X-Amzn-ErrorType header and a JSON body carrying a message. A 5xx on input is a bug.
func checkAWSShaped(t *testing.T, op string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code < 400 {
		return
	}
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s %s", op, rec.Code, rec.Header().Get("X-Amzn-Errortype"), rec.Body)
	}
	if rec.Header().Get("X-Amzn-Errortype") == "" {
		t.Fatalf("%s: %d without X-Amzn-ErrorType: %s", op, rec.Code, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: %d error body is not JSON: %q", op, rec.Code, rec.Body)
	}
	if _, ok := m["message"]; !ok {
		if _, ok := m["Message"]; !ok {
			t.Fatalf("%s: %d error body has no message: %s", op, rec.Code, rec.Body)
		}
	}
}

// fuzzOps are the operations whose JSON bodies FuzzControlAPIJSON decodes and validates.
var fuzzOps = []struct{ name, method, path string }{
	{"CreateFunction", "POST", "/2015-03-31/functions"},
	{"UpdateFunctionConfiguration", "PUT", "/2015-03-31/functions/f/configuration"},
	{"CreateFunctionUrlConfig", "POST", "/2021-10-31/functions/f/url"},
	{"UpdateFunctionUrlConfig", "PUT", "/2021-10-31/functions/f/url"},
	{"AddPermission", "POST", "/2015-03-31/functions/f/policy"},
	{"PutFunctionPolicy", "PUT", "/furl/v1/functions/f/policy"},
}

// FuzzControlAPIJSON sends arbitrary bodies to the control API's JSON operations through the
// real handler (signature, authorization, decoding, validation, the store): it never panics
// and always answers a success or an AWS-shaped client error.
func FuzzControlAPIJSON(f *testing.F) {
	for i, body := range []string{
		``, `{}`, `null`, `[]`, `{"FunctionName":1}`, `{"Timeout":-1}`,
		`{"FunctionName":"g","Runtime":"provided.al2023","Handler":"h","Role":"arn:aws:iam::000000000000:role/r","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`,
		`{"FunctionName":"g","Runtime":"python3.12","Role":"x","MemorySize":99999999999,"Environment":{"Variables":{"AWS_REGION":"x"}}}`,
		`{"Timeout":5,"MemorySize":256,"Environment":{"Variables":{"A":"b"}},"Layers":["arn:aws:lambda:us-east-1:000000000000:layer:l:1"],"RevisionId":"x"}`,
		`{"Description":"\u0000","Handler":"","TracingConfig":{"Mode":"Active"},"EphemeralStorage":{"Size":10241}}`,
		`{"AuthType":"NONE","Cors":{"AllowOrigins":["*"],"AllowMethods":["GET","*"],"MaxAge":86401,"AllowHeaders":[""]},"InvokeMode":"BUFFERED"}`,
		`{"AuthType":"AWS_IAM","Cors":{"AllowOrigins":["http://x:0"],"ExposeHeaders":["a\nb"]}}`,
		`{"StatementId":"s","Action":"lambda:InvokeFunctionUrl","Principal":"*","FunctionUrlAuthType":"NONE"}`,
		`{"StatementId":"s2","Action":"lambda:*","Principal":"arn:aws:iam::000000000000:root","SourceArn":"arn:aws:s3:::b","SourceAccount":"x","PrincipalOrgID":"o-1","EventSourceToken":"t"}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	fp := newFuzzPlane(f)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		if len(body) > 64<<10 {
			return
		}
		o := fuzzOps[int(op)%len(fuzzOps)]
		checkAWSShaped(t, o.name, fp.do(t, o.method, o.path, http.Header{"Content-Type": {"application/json"}}, body))
	})
}

// FuzzClientContext sends arbitrary X-Amz-Client-Context headers (raw, and as base64 of
// arbitrary bytes) with an Invoke: a valid base64 JSON object up to 3,583 bytes is accepted,
// anything else is an InvalidParameterValueException; never a panic or a 5xx.
func FuzzClientContext(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"custom":{"a":"b"},"env":{},"client":{}}`, `null`, `[1,`, "\xff\xfe"} {
		f.Add(s, true)
	}
	f.Add("e30=", false)
	f.Add("e30", false)
	f.Add("!!!!", false)
	f.Add(string(bytes.Repeat([]byte("A"), 3584)), false)
	fp := newFuzzPlane(f)
	f.Fuzz(func(t *testing.T, s string, encode bool) {
		cc := s
		if encode {
			cc = base64.StdEncoding.EncodeToString([]byte(s))
		}
		if len(cc) > 8<<10 {
			return
		}
		h := http.Header{"X-Amz-Invocation-Type": {"DryRun"}}
		if cc != "" {
			h["X-Amz-Client-Context"] = []string{cc}
		}
		rec := fp.do(t, "POST", "/2015-03-31/functions/f/invocations", h, []byte("{}"))
		checkAWSShaped(t, "Invoke", rec)
		if cc == "" || !validHeaderValue(cc) {
			return
		}
		raw, err := base64.StdEncoding.DecodeString(cc)
		valid := err == nil && len(cc) <= 3583 && json.Valid(raw)
		switch {
		case valid && rec.Code != http.StatusNoContent:
			t.Fatalf("valid client context %q: %d %s", cc, rec.Code, rec.Body)
		case !valid && rec.Code != http.StatusBadRequest:
			t.Fatalf("invalid client context %q: %d %s", cc, rec.Code, rec.Body)
		case !valid && rec.Header().Get("X-Amzn-Errortype") != "InvalidParameterValueException":
			t.Fatalf("invalid client context %q: %s", cc, rec.Header().Get("X-Amzn-Errortype"))
		}
	})
}

// validHeaderValue reports whether v is printable ASCII: a value every client sends and signs
// alike. (A tab is not: botocore, and furl's verifier, fold it into a space when signing; the
// Go SDK's signer keeps it, so a Go client's header with a tab fails its signature.) The
// handler is still called with the others; only the answer's shape is checked then.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
