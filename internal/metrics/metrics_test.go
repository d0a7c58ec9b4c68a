package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/pool"
)

type fixedStats pool.Stats

func (f fixedStats) Stats() pool.Stats { return pool.Stats(f) }

func TestExposition(t *testing.T) {
	m := New(fixedStats{Inflight: 2, Environments: 3, Functions: map[string]pool.FunctionStats{
		"fn": {Inflight: 2, Environments: 3, Idle: 1, ColdStarts: 4, Invocations: 10, Throttles: 1, Errors: 2, Timeouts: 1},
	}})
	m.URLRequest("fn", "u1", 200, 3*time.Millisecond)
	m.URLRequest("fn", "u1", 502, time.Second)
	m.URLThrottle("fn", "u1")
	m.ColdStart("fn")
	m.InFlight("fn", 1)
	rr := httptest.NewRecorder()
	m.Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rr.Body)
	out := string(b)
	for _, want := range []string{
		`furl_url_requests_total{code="200",function="fn",url_id="u1"} 1`,
		`furl_url_requests_total{code="502",function="fn",url_id="u1"} 1`,
		`furl_url_request_duration_seconds_bucket{function="fn",url_id="u1",le="0.005"} 1`,
		`furl_url_throttles_total{function="fn",url_id="u1"} 1`,
		`furl_url_cold_starts_total{function="fn"} 1`,
		`furl_url_concurrent_requests{function="fn"} 1`,
		`furl_pool_environments 3`,
		`furl_function_concurrent_executions{function="fn"} 2`,
		`furl_function_idle_environments{function="fn"} 1`,
		`furl_function_timeouts_total{function="fn"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}
