package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/codestore"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/gateway"
	"github.com/furl/furl/internal/inspect"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
)

// addUser creates an IAM user with an access key and, when policy is set, an inline policy.
func (e *env) addUser(name, akid, policy string) {
	e.t.Helper()
	ctx := context.Background()
	arn := "arn:aws:iam::" + account + ":user/" + name
	if err := e.db.CreateIAMUser(ctx, store.IAMUser{Name: name, ID: "AIDA" + strings.ToUpper(name) + "EXAMPLE0000", Path: "/", ARN: arn, Created: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.CreateAccessKey(ctx, store.IAMAccessKey{AccessKeyID: akid, UserName: name, Secret: rootSK, Status: "Active", Created: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
	if policy != "" {
		if err := e.db.PutInlinePolicy(ctx, store.IAMInlinePolicy{OwnerKind: store.OwnerUser, OwnerName: name, Name: "p", Document: policy}); err != nil {
			e.t.Fatal(err)
		}
	}
	e.ids.Invalidate()
}

// signAs signs req with SigV4 (service lambda) with akid's key (every test key has rootSK).
func signAs(t *testing.T, req *http.Request, akid string) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", sigv4.EmptyPayloadHash)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: rootSK},
		req, sigv4.EmptyPayloadHash, "lambda", region, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestAuthQuestion: the auth stage asks identity's one Question for NONE (anonymous, resource
// policy alone) and AWS_IAM (identity and resource policies), and the record says why.
func TestAuthQuestion(t *testing.T) {
	policyOf := func(stmts ...string) []byte {
		return []byte(`{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`)
	}
	srcIP := func(cidr string) string {
		return `{"Sid":"Office","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN("fn") +
			`","Condition":{"IpAddress":{"aws:SourceIp":"` + cidr + `"}}}`
	}
	aliceARN := "arn:aws:iam::" + account + ":user/alice"
	denyAlice := `{"Sid":"NoAlice","Effect":"Deny","Principal":{"AWS":"` + aliceARN + `"},"Action":"lambda:InvokeFunctionUrl","Resource":"` + fnARN("fn") + `"}`
	tests := []struct {
		name     string
		authType string
		policy   []byte
		signer   string // access key id; "" = unsigned
		want     int
		check    func(t *testing.T, d *inspect.Decision, body string)
	}{
		{name: "NONE source ip allowed", authType: lambda.AuthNone, policy: policyOf(srcIP("127.0.0.0/8")), want: 200},
		{name: "NONE source ip denied", authType: lambda.AuthNone, policy: policyOf(srcIP("10.0.0.0/8")), want: 403,
			check: func(t *testing.T, d *inspect.Decision, _ string) {
				if d.IAM == nil || d.IAM.ExplicitDeny || !strings.Contains(d.IAM.Condition, "aws:SourceIp") || !strings.Contains(d.IAM.Condition, "Office") {
					t.Errorf("decision %+v %+v", d, d.IAM)
				}
			}},
		{name: "NONE unparsable policy", authType: lambda.AuthNone, policy: []byte(`{"Statement":`), want: 403,
			check: func(t *testing.T, d *inspect.Decision, _ string) {
				if !strings.HasPrefix(d.Reason, "the resource-based policy does not parse: ") || d.IAM != nil {
					t.Errorf("decision %+v", d)
				}
			}},
		{name: "AWS_IAM identity policy allows", authType: lambda.AuthIAM, signer: "AKIAALICEEXAMPLE0001", want: 200,
			check: func(t *testing.T, _ *inspect.Decision, body string) {
				var ev struct {
					RequestContext struct {
						Authorizer struct{ IAM map[string]any }
					}
				}
				if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.RequestContext.Authorizer.IAM["userArn"] != aliceARN ||
					ev.RequestContext.Authorizer.IAM["principalOrgId"] != "o-testorg123" {
					t.Errorf("authorizer %v (%v)", ev.RequestContext.Authorizer.IAM, err)
				}
			}},
		{name: "AWS_IAM resource policy denies explicitly", authType: lambda.AuthIAM, policy: policyOf(denyAlice), signer: "AKIAALICEEXAMPLE0001", want: 403,
			check: func(t *testing.T, d *inspect.Decision, _ string) {
				if d.IAM == nil || !d.IAM.ExplicitDeny || d.IAM.Statement != "NoAlice" || d.IAM.Action != "lambda:InvokeFunctionUrl" ||
					!strings.Contains(d.Reason, "explicit deny") {
					t.Errorf("decision %+v %+v", d, d.IAM)
				}
			}},
		{name: "AWS_IAM no identity policy", authType: lambda.AuthIAM, signer: "AKIABOBEXAMPLE000001", want: 403,
			check: func(t *testing.T, d *inspect.Decision, _ string) {
				if d.IAM == nil || d.IAM.ExplicitDeny || !strings.Contains(d.Reason, "implicit deny") {
					t.Errorf("decision %+v %+v", d, d.IAM)
				}
			}},
		{name: "AWS_IAM unsigned", authType: lambda.AuthIAM, want: 403,
			check: func(t *testing.T, d *inspect.Decision, _ string) {
				if d.SigV4 == nil || d.SigV4.Code != "MissingAuthenticationTokenException" {
					t.Errorf("decision %+v %+v", d, d.SigV4)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			insp := inspect.NewStore(inspect.Options{})
			e := newEnv(t, gateway.Options{Inspect: insp})
			e.addUser("alice", "AKIAALICEEXAMPLE0001", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunctionUrl","Resource":"*"}]}`)
			e.addUser("bob", "AKIABOBEXAMPLE000001", "")
			e.addURL("u1", "fn", lambda.URLConfig{AuthType: tt.authType}, tt.policy, nil)
			req, _ := http.NewRequest("GET", e.srv.URL+"/lambda-url/u1/", nil)
			if tt.signer != "" {
				signAs(t, req, tt.signer)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
			if tt.want == 403 && body != forbidden {
				t.Errorf("body %q", body)
			}
			recs := insp.Recent("fn")
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			d := recs[0].Decision
			if (d != nil) != (tt.want == 403) {
				t.Fatalf("decision %+v for status %d", d, tt.want)
			}
			if d != nil && (d.Stage != inspect.StageAuth || d.Status != 403) {
				t.Errorf("decision %+v", d)
			}
			if tt.check != nil {
				tt.check(t, d, body)
			}
		})
	}
}

// TestAuthQuestionAcrossPlanes: one identity policy with an aws:UserAgent condition decides the
// same on the Lambda API (GetFunction through controlapi) and on a function URL (AWS_IAM), for
// the same caller and user agent.
func TestAuthQuestionAcrossPlanes(t *testing.T) {
	e := newEnv(t, gateway.Options{})
	e.addUser("carol", "AKIACAROLEXAMPLE0001", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
		`"Action":["lambda:InvokeFunctionUrl","lambda:GetFunction"],"Resource":"*","Condition":{"StringLike":{"aws:UserAgent":"good-agent/*"}}}]}`)
	e.addURL("iam1", "fn", lambda.URLConfig{AuthType: lambda.AuthIAM}, nil, nil)
	cs, err := codestore.Open(filepath.Join(t.TempDir(), "code"), codestore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc := functions.New(e.db, cs, functions.Options{Region: region, AccountID: account}, log)
	api := httptest.NewServer(controlapi.New(svc, e.ids, e.ids, e.p, nil, log))
	t.Cleanup(api.Close)

	for _, tt := range []struct {
		agent   string
		allowed bool
	}{{"good-agent/1.0", true}, {"bad-agent/1.0", false}, {"", false}} {
		t.Run("ua="+tt.agent, func(t *testing.T) {
			// Control plane: GetFunction of a function that does not exist is 404 when allowed,
			// 403 AccessDeniedException when refused.
			req, _ := http.NewRequest("GET", api.URL+"/2015-03-31/functions/fn", nil)
			req.Header.Set("User-Agent", tt.agent)
			signAs(t, req, "AKIACAROLEXAMPLE0001")
			resp, err := api.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if apiAllowed := resp.StatusCode != http.StatusForbidden; apiAllowed != tt.allowed {
				t.Errorf("control plane: %d %s, want allowed=%v", resp.StatusCode, body, tt.allowed)
			}
			if !tt.allowed && resp.Header.Get("X-Amzn-Errortype") != "AccessDeniedException" {
				t.Errorf("control plane error type %q", resp.Header.Get("X-Amzn-Errortype"))
			}
			// Function URL.
			req, _ = http.NewRequest("GET", e.srv.URL+"/lambda-url/iam1/", nil)
			req.Header.Set("User-Agent", tt.agent)
			signAs(t, req, "AKIACAROLEXAMPLE0001")
			resp, err = e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body = readAll(t, resp)
			if urlAllowed := resp.StatusCode == http.StatusOK; urlAllowed != tt.allowed {
				t.Errorf("function URL: %d %s, want allowed=%v", resp.StatusCode, body, tt.allowed)
			}
		})
	}
}
