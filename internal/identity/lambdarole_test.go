package identity

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
)

func TestLambdaRole(t *testing.T) {
	ctx := context.Background()
	s := newAuthzService(t)
	arn := func(name string) string { return "arn:aws:iam::" + testAccount + ":role/" + name }
	mk := func(name, trust string) {
		t.Helper()
		if err := s.db.CreateIAMRole(ctx, store.IAMRole{Name: name, ID: "AROA" + name, Path: "/", ARN: arn(name),
			TrustPolicy: trust, MaxSessionDuration: 3600, Created: s.now()}); err != nil {
			t.Fatal(err)
		}
	}
	mk("fn-role", LambdaTrustPolicy)
	mk("user-role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+testAccount+`:root"},"Action":"sts:AssumeRole"}]}`)
	mk("other-service", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	mk("denies-lambda", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	mk("lambda-tags-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:TagSession"}]}`)
	for _, tc := range []struct {
		name, role string
		ok         bool
	}{
		{"trusts lambda", arn("fn-role"), true},
		{"no such role", arn("missing"), false},
		{"other account", "arn:aws:iam::111122223333:role/fn-role", false},
		{"path differs from the stored ARN", "arn:aws:iam::" + testAccount + ":role/x/fn-role", false},
		{"trusts the account, not lambda", arn("user-role"), false},
		{"trusts another service", arn("other-service"), false},
		{"explicit deny", arn("denies-lambda"), false},
		{"another action", arn("lambda-tags-only"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CheckLambdaRole(ctx, tc.role)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrRoleNotAssumable)) {
				t.Fatalf("CheckLambdaRole(%s) = %v", tc.role, err)
			}
			_, err = s.LambdaRoleSession(ctx, tc.role, "f", 0)
			if tc.ok != (err == nil) {
				t.Fatalf("LambdaRoleSession(%s) = %v", tc.role, err)
			}
		})
	}
}

// TestLambdaRoleSession signs a request with an execution role session's credentials and
// checks who it authenticates as and what it is allowed.
func TestLambdaRoleSession(t *testing.T) {
	ctx := context.Background()
	s := newAuthzService(t)
	if err := s.EnsureDefaultLambdaRole(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureDefaultLambdaRole(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	roleARN := s.DefaultLambdaRoleARN()
	c, err := s.LambdaRoleSession(ctx, roleARN, "my-function", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.now().Add(15 * time.Minute); !c.Expiration.Equal(want) {
		t.Errorf("expiration %v, want %v", c.Expiration, want)
	}
	if len(c.AccessKeyID) != 20 || c.AccessKeyID[:4] != PrefixSessionID || c.SessionToken == "" || c.SecretAccessKey == "" {
		t.Errorf("credentials %+v", c)
	}
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9000/2015-03-31/functions/", nil)
	r.RequestURI = "/2015-03-31/functions/"
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		r, sigv4.EmptyPayloadHash, "lambda", "eu-west-1", s.now()); err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, r, "", "lambda")
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sts::" + testAccount + ":assumed-role/" + DefaultLambdaRole + "/my-function"; p.ARN != want || p.PrincipalARN != roleARN || p.Type != TypeAssumedRole {
		t.Errorf("principal %+v, want ARN %s", p, want)
	}
	for _, tc := range []struct {
		action string
		want   bool
	}{{"logs:PutLogEvents", true}, {"lambda:ListFunctions", false}, {"iam:CreateRole", false}} {
		d, _, err := s.Decide(ctx, Question{Principal: p, Action: tc.action, Resource: "*"})
		if err != nil || d.Allowed != tc.want {
			t.Errorf("%s: allowed %v (%s), err %v; want %v", tc.action, d.Allowed, d.Reason, err, tc.want)
		}
	}
	// The session outlives nothing: once expired its signature is refused.
	late := s.now().Add(16 * time.Minute)
	s.now = func() time.Time { return late }
	s.verify = sigv4.NewVerifier(s.now, sigv4.KeyLookupFunc(s.lookupKey))
	s.Invalidate()
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		r, sigv4.EmptyPayloadHash, "lambda", "eu-west-1", late); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, r, "", "lambda"); err == nil {
		t.Error("an expired session authenticated")
	}
}
