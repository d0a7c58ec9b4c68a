package gateway_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/gateway"
	"github.com/furl/furl/internal/inspect"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/metrics"
	"github.com/furl/furl/internal/pool"
)

// answerInvoker answers every invocation at once with a fixed payload, so the benchmark
// measures the data plane alone (routing, auth, event, mapping, metrics), not the runtime.
type answerInvoker struct{ payload []byte }

func (a answerInvoker) Invoke(_ context.Context, _ *pool.Target, req *pool.Request) (*pool.Result, error) {
	return &pool.Result{RequestID: req.RequestID, Payload: a.payload, ContentType: "application/json"}, nil
}

func BenchmarkGatewayOverhead(b *testing.B) {
	res := &memResolver{urls: map[string]*functions.URLTarget{}}
	e := &env{res: res}
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	gw := gateway.New(res, answerInvoker{[]byte(`{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"hello world"}`)},
		gateway.Options{Region: region, Metrics: metrics.New(nil)})
	req := httptest.NewRequest("GET", "http://u1.lambda-url.us-east-1.localhost:9000/hello?a=1", nil)
	req.Header.Set("User-Agent", "wrk")
	req.Header.Set("Accept", "*/*")
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

// BenchmarkGatewayOverheadWatched is BenchmarkGatewayOverhead with a console-like subscriber
// reading every inspection record (bench/inspect/run.sh prints both).
func BenchmarkGatewayOverheadWatched(b *testing.B) {
	res := &memResolver{urls: map[string]*functions.URLTarget{}}
	e := &env{res: res}
	e.addURL("u1", "fn", lambda.URLConfig{}, publicPolicy("fn"), nil)
	insp := inspect.NewStore(inspect.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := insp.Subscribe(ctx)
	go func() {
		for range sub {
		}
	}()
	gw := gateway.New(res, answerInvoker{[]byte(`{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"hello world"}`)},
		gateway.Options{Region: region, Metrics: metrics.New(nil), Inspect: insp})
	req := httptest.NewRequest("GET", "http://u1.lambda-url.us-east-1.localhost:9000/hello?a=1", nil)
	req.Header.Set("User-Agent", "wrk")
	req.Header.Set("Accept", "*/*")
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
