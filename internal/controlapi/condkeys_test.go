package controlapi_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestServiceConditionKeys: on the Lambda API, lambda:FunctionUrlAuthType is the auth type a
// URL config request asks for and lambda:FunctionArn the function's ARN, as on a function URL.
func TestServiceConditionKeys(t *testing.T) {
	e := newEnvWith(t, "", true)
	ctx := context.Background()
	e.create("f", pyApp("1"))
	e.create("g", pyApp("1"))
	id, secret := e.iamUser("dana", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"lambda:CreateFunctionUrlConfig","Resource":"*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"AWS_IAM"}}},
		{"Effect":"Allow","Action":"lambda:GetFunctionConfiguration","Resource":"*","Condition":{"ArnLike":{"lambda:FunctionArn":"arn:aws:lambda:*:*:function:f"}}}]}`)
	dana := newClient(e.srv.URL, id, secret)
	if _, err := dana.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("f"),
		AuthType: types.FunctionUrlAuthTypeNone}); code(err) != "AccessDeniedException" {
		t.Errorf("CreateFunctionUrlConfig NONE: %v, want AccessDeniedException", err)
	}
	if _, err := dana.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("f"),
		AuthType: types.FunctionUrlAuthTypeAwsIam}); err != nil {
		t.Errorf("CreateFunctionUrlConfig AWS_IAM: %v", err)
	}
	if _, err := dana.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("f")}); err != nil {
		t.Errorf("GetFunctionConfiguration f: %v", err)
	}
	if _, err := dana.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("g")}); code(err) != "AccessDeniedException" {
		t.Errorf("GetFunctionConfiguration g: %v, want AccessDeniedException", err)
	}
}
