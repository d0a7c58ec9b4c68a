package inspect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// capture does what the gateway does for one request's record: start it from the request
// (redacting), fill the later stages' fields and finish it.
func capture(s *Store, r *http.Request, event, result, resp []byte, i int) {
	rec := &Record{
		RequestID: "5bbd0e3e-fe7a-4299-9076-32d4de45391b",
		Time:      time.Now(),
		Method:    r.Method,
		Host:      r.Host,
		Headers:   RedactHeader(r.Header),
		Query:     RedactQuery(r.URL.RawQuery),
		SourceIP:  "127.0.0.1",
		Stage:     StageRoute,
	}
	rec.Path = r.URL.Path
	rec.URLID, rec.Function, rec.AuthType = "u1", fnNames[i%len(fnNames)], "NONE"
	rec.Stage = StageEvent
	rec.Event, rec.EventSize = event, len(event)
	rec.Stage = StageInvoke
	rec.Result = Cut(result, MaxBody)
	rec.Stage = StageRespond
	rec.ResponseBody = Cut(resp, MaxBody)
	rec.Status = 200
	rec.Timing.Total = time.Millisecond
	s.Finish(rec)
}

var fnNames = []string{"f1", "f2", "f3", "f4"}

func benchRequest(auth bool) *http.Request {
	r := httptest.NewRequest("GET", "http://u1.lambda-url.us-east-1.localhost:9000/hello?a=1&b=2", nil)
	for k, v := range map[string]string{"User-Agent": "wrk", "Accept": "*/*", "Accept-Encoding": "gzip",
		"Content-Type": "application/json", "X-Request-Id": "abc", "Origin": "https://example.com"} {
		r.Header.Set(k, v)
	}
	if auth {
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=abc")
		r.Header.Set("X-Amz-Date", "20240101T000000Z")
	}
	return r
}

func benchCapture(b *testing.B, auth bool, subscribers int) {
	s := NewStore(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < subscribers; i++ {
		ch := s.Subscribe(ctx)
		go func() {
			for range ch {
			}
		}()
	}
	r := benchRequest(auth)
	event := make([]byte, 1200)
	result := []byte(`{"statusCode":200,"body":"hello world"}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		capture(s, r, event, result, result[:11], i)
		i++
	}
}

// BenchmarkCapture is the per-request cost of the inspection record: unwatched (kept in the
// store only) and with a subscriber (fan-out), for a plain request and one carrying an
// Authorization header (redaction copies the header map). bench/inspect/run.sh prints them.
func BenchmarkCapture(b *testing.B) {
	b.Run("unwatched", func(b *testing.B) { benchCapture(b, false, 0) })
	b.Run("unwatched-signed", func(b *testing.B) { benchCapture(b, true, 0) })
	b.Run("one-subscriber", func(b *testing.B) { benchCapture(b, false, 1) })
	b.Run("four-subscribers-signed", func(b *testing.B) { benchCapture(b, true, 4) })
}
