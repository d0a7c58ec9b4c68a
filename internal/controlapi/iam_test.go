package controlapi_test

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// iamCall signs and sends one IAM Query API call as the root and returns the response body.
func (e *env) iamCall(action string, params url.Values) []byte {
	e.t.Helper()
	params.Set("Action", action)
	params.Set("Version", "2010-05-08")
	body := params.Encode()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	st, b := e.send(req, "iam", []byte(body))
	if st != 200 {
		e.t.Fatalf("IAM %s: %d %s", action, st, b)
	}
	return b
}

// iamUser creates an IAM user with an inline policy and an access key, and returns the key.
func (e *env) iamUser(name, policy string) (id, secret string) {
	e.t.Helper()
	e.iamCall("CreateUser", url.Values{"UserName": {name}})
	e.iamCall("PutUserPolicy", url.Values{"UserName": {name}, "PolicyName": {"p"}, "PolicyDocument": {policy}})
	var key struct {
		AccessKeyID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		SecretAccessKey string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(e.iamCall("CreateAccessKey", url.Values{"UserName": {name}}), &key); err != nil || key.AccessKeyID == "" {
		e.t.Fatalf("CreateAccessKey: %+v %v", key, err)
	}
	return key.AccessKeyID, key.SecretAccessKey
}

// TestIAMUserAuthorization checks that control-plane calls are authorized as lambda:<Operation>
// (Invoke as lambda:InvokeFunction) on the function's ARN through the real identity service.
func TestIAMUserAuthorization(t *testing.T) {
	e := newEnvWith(t, "", true)
	ctx := context.Background()
	e.create("allowed", pyApp("1"))
	e.create("other", pyApp("1"))
	bobID, bobSecret := e.iamUser("bob", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["lambda:GetFunction","lambda:InvokeFunction"],"Resource":"arn:aws:lambda:us-east-1:000000000000:function:allowed"},
		{"Effect":"Allow","Action":"lambda:ListFunctions","Resource":"*"}]}`)
	bob := newClient(e.srv.URL, bobID, bobSecret)
	if _, err := bob.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("allowed")}); err != nil {
		t.Fatalf("allowed GetFunction: %v", err)
	}
	if _, err := bob.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("allowed")}); err != nil {
		t.Fatalf("allowed Invoke: %v", err)
	}
	if _, err := bob.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("allowed ListFunctions: %v", err)
	}
	_, err := bob.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("other")})
	want := "User: arn:aws:iam::000000000000:user/bob is not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:other because no identity-based policy allows the lambda:GetFunction action"
	if code(err) != "AccessDeniedException" || message(err) != want {
		t.Fatalf("denied GetFunction: %v", err)
	}
	if _, err := bob.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("other")}); code(err) != "AccessDeniedException" {
		t.Fatalf("denied Invoke: %v", err)
	}
	if _, err := bob.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("allowed")}); code(err) != "AccessDeniedException" {
		t.Fatalf("denied DeleteFunction: %v", err)
	}
	// A resource policy can grant what the identity policy does not (same account).
	if _, err := e.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("other"), StatementId: aws.String("bob"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("arn:aws:iam::000000000000:user/bob")}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("other")}); err != nil {
		t.Fatalf("Invoke granted by resource policy: %v", err)
	}
}
