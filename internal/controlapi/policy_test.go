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

	"github.com/furl/furl/internal/sigv4"
)

// policyCall sends a signed request to furl's whole-policy API as the root and returns the
// status and the body, with the x-amzn-ErrorType header's code in front of it ("Code " + body)
// when there is one.
func (e *env) policyCall(method, name, query string, body []byte) (int, []byte) {
	e.t.Helper()
	u := e.srv.URL + "/furl/v1/functions/" + name + "/policy"
	if query != "" {
		u += "?" + query
	}
	return e.signedDo(method, u, testKey, testSecret, body)
}

func (e *env) signedDo(method, u, key, secret string, body []byte) (int, []byte) {
	e.t.Helper()
	r, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, r,
		sigv4.HashPayload(body), "lambda", testRegion, time.Now()); err != nil {
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
	if code := resp.Header.Get("X-Amzn-Errortype"); code != "" {
		b = append([]byte(code+" "), b...)
	}
	return resp.StatusCode, b
}

// TestPutPolicy: furl's PUT/GET/DELETE of a whole resource policy, the shape GetPolicy then
// shows, AddPermission and RemovePermission on top of it, validation and its AWS errors.
func TestPutPolicy(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	e.create("p", pyApp("1"))
	arn := "arn:aws:lambda:us-east-1:000000000000:function:p"

	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl",
		"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]},"StringLike":{"aws:UserAgent":"curl/*","aws:Referer":"https://example.com/*"},
		"DateLessThan":{"aws:CurrentTime":"2099-01-01T00:00:00Z"},"StringEquals":{"aws:PrincipalTag/team":"web"}}}}`
	st, b := e.policyCall("PUT", "p", "", []byte(doc))
	if st != 200 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	want := `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"Statement1","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + arn + `",` +
		`"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]},"StringLike":{"aws:UserAgent":"curl/*","aws:Referer":"https://example.com/*"},"DateLessThan":{"aws:CurrentTime":"2099-01-01T00:00:00Z"},"StringEquals":{"aws:PrincipalTag/team":"web"}}}]}`
	var put struct{ Policy, RevisionId string }
	if err := json.Unmarshal(b, &put); err != nil || put.Policy != want || put.RevisionId == "" {
		t.Fatalf("PUT answer %s\nwant Policy %s", b, want)
	}
	got, err := e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("p")})
	if err != nil || aws.ToString(got.Policy) != want || aws.ToString(got.RevisionId) != put.RevisionId {
		t.Fatalf("GetPolicy: %v %s", err, aws.ToString(got.Policy))
	}
	if st, b := e.policyCall("GET", "p", "", nil); st != 200 || !bytes.Contains(b, []byte(put.RevisionId)) {
		t.Fatalf("GET: %d %s", st, b)
	}

	// AddPermission and RemovePermission keep working on it.
	if _, err := e.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("p"), StatementId: aws.String("more"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("123456789012")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("p"), StatementId: aws.String("Statement1"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("123456789012")}); code(err) != "ResourceConflictException" {
		t.Fatalf("duplicate Sid: %v", err)
	}
	if _, err := e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("p"), StatementId: aws.String("Statement1")}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("p")})
	if p := aws.ToString(got.Policy); strings.Contains(p, "Statement1") || !strings.Contains(p, `"Sid":"more"`) {
		t.Fatalf("after add/remove: %s", p)
	}

	// A stale RevisionId is refused; the current one is accepted.
	if st, b := e.policyCall("PUT", "p", "RevisionId=stale", []byte(doc)); st != 412 || !bytes.Contains(b, []byte("PreconditionFailedException")) {
		t.Fatalf("stale revision: %d %s", st, b)
	}
	if st, b := e.policyCall("PUT", "p", "RevisionId="+aws.ToString(got.RevisionId), []byte(doc)); st != 200 {
		t.Fatalf("current revision: %d %s", st, b)
	}

	for _, tc := range []struct {
		name, doc, query string
		status           int
		code, msg        string
	}{
		{"not json", `{"Statement":`, "", 400, "InvalidParameterValueException", "The policy document is malformed: Syntax errors in policy"},
		{"no principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*"}]}`, "", 400, "InvalidParameterValueException", "Missing required field Principal"},
		{"bad condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:*","Condition":{"IpAddress":{"aws:SourceIp":"not-an-ip"}}}]}`, "", 400, "InvalidParameterValueException", "Statement[0].Condition"},
		{"no statements", `{"Version":"2012-10-17","Statement":[]}`, "", 400, "InvalidParameterValueException", "no statements"},
		{"unknown field", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:*","Bogus":1}]}`, "", 400, "InvalidParameterValueException", "Unknown field Bogus"},
		{"too long", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:*","Condition":{"StringEquals":{"aws:UserAgent":"` + strings.Repeat("a", 21000) + `"}}}]}`, "", 400, "PolicyLengthExceededException", "bigger than the limit (20480)"},
		{"$LATEST", doc, "Qualifier=$LATEST", 400, "InvalidParameterValueException", "We currently do not support adding policies for $LATEST."},
		{"no such alias", doc, "Qualifier=nope", 404, "ResourceNotFoundException", "Function not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := e.policyCall("PUT", "p", tc.query, []byte(tc.doc))
			if st != tc.status || !bytes.Contains(b, []byte(tc.code)) || !bytes.Contains(b, []byte(tc.msg)) {
				t.Fatalf("PUT: %d %s\nwant %d %s %q", st, b, tc.status, tc.code, tc.msg)
			}
		})
	}
	if st, b := e.policyCall("PUT", "nope", "", []byte(doc)); st != 404 || !bytes.Contains(b, []byte("ResourceNotFoundException")) {
		t.Fatalf("unknown function: %d %s", st, b)
	}

	if st, b := e.policyCall("DELETE", "p", "", nil); st != 204 {
		t.Fatalf("DELETE: %d %s", st, b)
	}
	if _, err := e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("p")}); code(err) != "ResourceNotFoundException" {
		t.Fatalf("GetPolicy after DELETE: %v", err)
	}
	if st, b := e.policyCall("DELETE", "p", "", nil); st != 404 {
		t.Fatalf("second DELETE: %d %s", st, b)
	}
}

// TestPutPolicyAuthorization: PUT is authorized as lambda:AddPermission, GET as
// lambda:GetPolicy, DELETE as lambda:RemovePermission, on the function's ARN.
func TestPutPolicyAuthorization(t *testing.T) {
	e := newEnvWith(t, "", true)
	e.create("p", pyApp("1"))
	carolID, carolSecret := e.iamUser("carol", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"lambda:GetPolicy","Resource":"arn:aws:lambda:us-east-1:000000000000:function:p"}]}`)
	doc := []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl"}]}`)
	as := func(method string, body []byte) (int, []byte) {
		return e.signedDo(method, e.srv.URL+"/furl/v1/functions/p/policy", carolID, carolSecret, body)
	}
	st, b := as("PUT", doc)
	if st != 403 || !bytes.Contains(b, []byte("AccessDeniedException")) || !bytes.Contains(b, []byte("lambda:AddPermission on resource: arn:aws:lambda:us-east-1:000000000000:function:p")) {
		t.Fatalf("PUT without lambda:AddPermission: %d %s", st, b)
	}
	if st, b := as("DELETE", nil); st != 403 || !bytes.Contains(b, []byte("lambda:RemovePermission")) {
		t.Fatalf("DELETE without lambda:RemovePermission: %d %s", st, b)
	}
	if st, b := e.policyCall("PUT", "p", "", doc); st != 200 {
		t.Fatalf("root PUT: %d %s", st, b)
	}
	if st, b := as("GET", nil); st != 200 || !bytes.Contains(b, []byte(`\"Sid\":\"a\"`)) {
		t.Fatalf("GET with lambda:GetPolicy: %d %s", st, b)
	}
}
