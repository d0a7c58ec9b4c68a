package identity

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	fiam "github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
)

const (
	testAccount = "123456789012"
	rootID      = "AKIAROOTROOTROOTROOT"
	rootSecret  = "rootsecretrootsecretrootsecretrootsecret"
)

// BenchmarkAuthenticateAuthorize measures the data-plane cost of one AWS_IAM request: SigV4
// verification with the key looked up in SQLite, then gathering the user's policies and
// evaluating them against a resource policy.
func BenchmarkAuthenticateAuthorize(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "furl.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc, err := New(Options{Store: db, AccountID: testAccount, RootAccessKeyID: rootID, RootSecretAccessKey: rootSecret})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	if err := db.CreateIAMUser(ctx, store.IAMUser{Name: "alice", ID: "AIDAEXAMPLEEXAMPLEEX1", Path: "/", ARN: "arn:aws:iam::" + testAccount + ":user/alice", Created: now}); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateAccessKey(ctx, store.IAMAccessKey{AccessKeyID: "AKIAEXAMPLEEXAMPLE01", UserName: "alice", Secret: rootSecret, Status: "Active", Created: now}); err != nil {
		b.Fatal(err)
	}
	if err := db.PutInlinePolicy(ctx, store.IAMInlinePolicy{OwnerKind: store.OwnerUser, OwnerName: "alice", Name: "p",
		Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunctionUrl","Resource":"*"}]}`}); err != nil {
		b.Fatal(err)
	}
	fn := "arn:aws:lambda:us-east-1:" + testAccount + ":function:f"
	res := []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + fn + `","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}]}`)
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9000/hello", nil)
	r.RequestURI = "/hello"
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "AKIAEXAMPLEEXAMPLE01", SecretAccessKey: rootSecret}, r, sigv4.EmptyPayloadHash, "lambda", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	for _, cached := range []bool{true, false} {
		name := "cached"
		if !cached {
			name = "uncached"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !cached {
					svc.Invalidate()
				}
				p, err := svc.Authenticate(ctx, r, "", "lambda")
				if err != nil {
					b.Fatal(err)
				}
				d, err := svc.Authorize(ctx, p, &fiam.Request{Action: "lambda:InvokeFunctionUrl", Resource: fn,
					Context: map[string][]string{"lambda:FunctionUrlAuthType": {"AWS_IAM"}}}, res)
				if err != nil || !d.Allowed {
					b.Fatal(d, err)
				}
			}
		})
	}
}
