package pool_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/furl/furl/internal/pool"
)

// BenchmarkInvokeWarmGo measures a warm, sequential invoke of an aws-lambda-go function end to
// end through Pool.Invoke (Runtime API round trips included) and reports p50/p99 latency.
func BenchmarkInvokeWarmGo(b *testing.B) {
	h := newPool(b, pool.Config{})
	tg := goTarget("bench")
	ctx := context.Background()
	req := &pool.Request{Payload: []byte(`{"op":"echo","msg":"hello"}`)}
	for i := 0; i < 200; i++ { // cold start + warm-up
		if _, err := h.p.Invoke(ctx, tg, req); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := h.p.Invoke(ctx, tg, req)
		lat = append(lat, time.Since(start))
		if err != nil || res.FunctionError != "" {
			b.Fatalf("invoke: %v %s", err, res.Payload)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	if st := h.p.Stats().Functions["bench"]; st.ColdStarts != 1 {
		b.Errorf("cold starts %d, want 1", st.ColdStarts)
	}
}

// BenchmarkColdStartGo measures an invoke that needs a new environment (code copy, process
// start, aws-lambda-go init, first event): each iteration changes the ConfigKey.
func BenchmarkColdStartGo(b *testing.B) {
	h := newPool(b, pool.Config{})
	tg := goTarget("coldbench")
	ctx := context.Background()
	req := &pool.Request{Payload: []byte(`{"op":"echo"}`)}
	lat := make([]time.Duration, 0, b.N)
	var initDur time.Duration
	for i := 0; i < b.N; i++ {
		tg.ConfigKey = "k" + strconv.Itoa(i)
		start := time.Now()
		res, err := h.p.Invoke(ctx, tg, req)
		lat = append(lat, time.Since(start))
		if err != nil || !res.ColdStart {
			b.Fatalf("invoke: %v", err)
		}
		initDur += res.InitDuration
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(initDur.Microseconds())/1000/float64(b.N), "init-ms")
}
