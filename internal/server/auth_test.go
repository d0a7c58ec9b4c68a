package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/furl/furl/internal/sigv4"
)

// The event-history endpoint authorizes lambda:GetFunction exactly as the Lambda API does,
// with the request's condition keys (aws:SourceIp here) and AWS's AccessDenied wording.
func TestEventsEndpointConditions(t *testing.T) {
	addr := startServer(t)
	ctx := context.Background()
	root := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAFURLTESTROOT0000", "furl-test-secret", ""), RetryMaxAttempts: 1})
	policy := func(cidr string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*",` +
			`"Condition":{"IpAddress":{"aws:SourceIp":"` + cidr + `"}}}]}`
	}
	get := func(id, secret string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", "http://"+addr+"/furl/v1/functions/f/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, sigv4.HashPayload(nil), "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		user, cidr string
		denied     bool
	}{{"elsewhere", "10.0.0.0/8", true}, {"local", "127.0.0.0/8", false}} {
		if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(tc.user)}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(tc.user), PolicyName: aws.String("read"),
			PolicyDocument: aws.String(policy(tc.cidr))}); err != nil {
			t.Fatal(err)
		}
		k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(tc.user)})
		if err != nil {
			t.Fatal(err)
		}
		status, body := get(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey)
		want := "User: arn:aws:iam::000000000000:user/" + tc.user + " is not authorized to perform: lambda:GetFunction on resource: " +
			"arn:aws:lambda:us-east-1:000000000000:function:f because no identity-based policy allows the lambda:GetFunction action"
		if denied := status == http.StatusForbidden && strings.Contains(body, want); denied != tc.denied {
			t.Errorf("%s (aws:SourceIp %s): %d %s; want denied=%v", tc.user, tc.cidr, status, body, tc.denied)
		}
	}
}
