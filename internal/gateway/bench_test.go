package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/gateway"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/inspect"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/metrics"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
)

// answerInvoker answers every invocation at once with a fixed payload, so the benchmark
// measures the data plane alone (routing, auth, event, mapping, metrics), not the runtime.
type answerInvoker struct{ payload []byte }

func (a answerInvoker) Invoke(_ context.Context, _ *pool.Target, req *pool.Request) (*pool.Result, error) {
	return &pool.Result{RequestID: req.RequestID, Payload: a.payload, ContentType: "application/json"}, nil
}

// benchGateway is the data plane as furl serve composes it, with the identity service over a
// real SQLite store, a public NONE URL "u1" and an AWS_IAM URL "iam1", and an invoker that
// answers at once.
func benchGateway(b *testing.B, insp *inspect.Store) *gateway.Gateway {
	b.Helper()
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "furl.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ids, err := identity.New(identity.Options{Store: db, AccountID: account, Region: region,
		RootAccessKeyID: rootAK, RootSecretAccessKey: rootSK})
	if err != nil {
		b.Fatal(err)
	}
	res := &memResolver{urls: map[string]*functions.URLTarget{}}
	e := &env{res: res}
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	e.addURL("iam1", "fn", lambda.URLConfig{AuthType: lambda.AuthIAM}, nil, nil)
	return gateway.New(res, answerInvoker{[]byte(`{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"hello world"}`)},
		gateway.Options{Region: region, Metrics: metrics.New(nil), Inspect: insp, Auth: ids})
}

func benchServe(b *testing.B, gw *gateway.Gateway, req *http.Request) {
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/req")
}

func noneRequest() *http.Request {
	req := httptest.NewRequest("GET", "http://u1.lambda-url.us-east-1.localhost:9000/hello?a=1", nil)
	req.Header.Set("User-Agent", "wrk")
	req.Header.Set("Accept", "*/*")
	return req
}

// BenchmarkGatewayOverhead is one request to a public NONE URL (resource policy only).
func BenchmarkGatewayOverhead(b *testing.B) {
	benchServe(b, benchGateway(b, nil), noneRequest())
}

// BenchmarkGatewayOverheadIAM is one SigV4-signed request (the root's key) to an AWS_IAM URL:
// authentication, the identity policies and the resource policy.
func BenchmarkGatewayOverheadIAM(b *testing.B) {
	gw := benchGateway(b, nil)
	req := httptest.NewRequest("GET", "http://iam1.lambda-url.us-east-1.localhost:9000/hello?a=1", nil)
	req.Header.Set("User-Agent", "wrk")
	req.Header.Set("X-Amz-Content-Sha256", sigv4.EmptyPayloadHash)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootAK, SecretAccessKey: rootSK},
		req, sigv4.EmptyPayloadHash, "lambda", region, time.Now()); err != nil {
		b.Fatal(err)
	}
	benchServe(b, gw, req)
}

// BenchmarkGatewayOverheadWatched is BenchmarkGatewayOverhead with a console-like subscriber
// reading every inspection record (bench/inspect/run.sh prints both).
func BenchmarkGatewayOverheadWatched(b *testing.B) {
	insp := inspect.NewStore(inspect.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := insp.Subscribe(ctx)
	go func() {
		for range sub {
		}
	}()
	benchServe(b, benchGateway(b, insp), noneRequest())
}
