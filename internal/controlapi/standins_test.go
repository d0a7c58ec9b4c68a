package controlapi_test

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/sigv4"
)

// rootAuthenticator verifies SigV4 with the account root's key pair only: the tests that are
// about the Lambda API, not IAM, use it instead of a whole identity service.
type rootAuthenticator struct {
	verifier  *sigv4.Verifier
	region    string
	accountID string
}

func newRootAuthenticator(accessKeyID, secret, region, accountID string) *rootAuthenticator {
	lookup := sigv4.KeyLookupFunc(func(ctx context.Context, id string) (sigv4.Credentials, error) {
		if subtle.ConstantTimeCompare([]byte(id), []byte(accessKeyID)) != 1 {
			return sigv4.Credentials{}, sigv4.ErrUnknownAccessKey
		}
		return sigv4.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret, Subject: "arn:aws:iam::" + accountID + ":root"}, nil
	})
	return &rootAuthenticator{verifier: sigv4.NewVerifier(time.Now, lookup), region: region, accountID: accountID}
}

func (a *rootAuthenticator) Authenticate(ctx context.Context, r *http.Request, bodyHash, service string) (*iam.Principal, error) {
	res, err := a.verifier.Verify(ctx, r, bodyHash, sigv4.Scope{Services: []string{service}, Regions: []string{a.region}})
	if err != nil {
		return nil, err
	}
	arn := "arn:aws:iam::" + a.accountID + ":root"
	return &iam.Principal{Type: "Account", AccountID: a.accountID, ARN: arn, PrincipalARN: arn, UserID: a.accountID, AccessKeyID: res.AccessKeyID}, nil
}

func (a *rootAuthenticator) Precheck(ctx context.Context, r *http.Request, services ...string) error {
	return a.verifier.Precheck(ctx, r, sigv4.Scope{Services: services, Regions: []string{a.region}})
}

// rootOnly allows the account root and refuses everyone else.
type rootOnly struct{ accountID string }

func (a rootOnly) Require(_ context.Context, q identity.Question) error {
	if p := q.Principal; p != nil && p.Type == "Account" && p.AccountID == a.accountID {
		return nil
	}
	req := &iam.Request{Principal: q.Principal, Action: q.Action, Resource: q.Resource}
	return &identity.Denied{Request: req, Decision: iam.Decision{Reason: "only the account root is authorized"}}
}
