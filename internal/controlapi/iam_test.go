package controlapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// iamCall signs and sends one IAM Query API call as the root and returns the response body.
func iamCall(t *testing.T, endpoint, action string, params url.Values) []byte {
	t.Helper()
	params.Set("Action", action)
	params.Set("Version", "2010-05-08")
	body := params.Encode()
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}, req,
		hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("IAM %s: %d %s", action, resp.StatusCode, b)
	}
	return b
}

// TestIAMUserAuthorization checks that control-plane calls are authorized as lambda:<Operation>
// (Invoke as lambda:InvokeFunction) on the function's ARN through the real identity service.
func TestIAMUserAuthorization(t *testing.T) {
	e := newEnvWith(t, "", true)
	ctx := context.Background()
	e.create("allowed", pyApp("1"))
	e.create("other", pyApp("1"))
	iamCall(t, e.srv.URL, "CreateUser", url.Values{"UserName": {"bob"}})
	iamCall(t, e.srv.URL, "PutUserPolicy", url.Values{"UserName": {"bob"}, "PolicyName": {"p"}, "PolicyDocument": {`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["lambda:GetFunction","lambda:InvokeFunction"],"Resource":"arn:aws:lambda:us-east-1:000000000000:function:allowed"},
		{"Effect":"Allow","Action":"lambda:ListFunctions","Resource":"*"}]}`}})
	var key struct {
		AccessKeyID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		SecretAccessKey string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(iamCall(t, e.srv.URL, "CreateAccessKey", url.Values{"UserName": {"bob"}}), &key); err != nil || key.AccessKeyID == "" {
		t.Fatalf("CreateAccessKey: %+v %v", key, err)
	}
	bob := newClient(e.srv.URL, key.AccessKeyID, key.SecretAccessKey)
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
