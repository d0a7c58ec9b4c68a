// Package metrics exposes furl's Prometheus metrics on its own registry (no global default
// registry): function-URL requests by status, latency, throttles, cold starts and concurrency,
// plus the pool's live numbers (environments, idle, invocations, errors, timeouts) collected at
// scrape time.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/furl/furl/internal/pool"
)

// StatsSource is the pool (pool.Pool.Stats).
type StatsSource interface {
	Stats() pool.Stats
}

// Metrics records furl's measurements.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	throttles *prometheus.CounterVec
	cold      *prometheus.CounterVec
	inflight  *prometheus.GaugeVec
}

// New builds the metrics on a fresh registry. pool may be nil; when set its Stats are exported
// at each scrape (furl_pool_*).
func New(src StatsSource) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "furl_url_requests_total",
		Help: "Function URL requests by function, URL id and HTTP status code.",
	}, []string{"function", "url_id", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "furl_url_request_duration_seconds",
		Help:    "Function URL request latency (until the response is complete).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
	}, []string{"function", "url_id"})
	m.throttles = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "furl_url_throttles_total",
		Help: "Function URL requests answered 429 (concurrency or per-URL rate limit).",
	}, []string{"function", "url_id"})
	m.cold = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "furl_url_cold_starts_total",
		Help: "Function URL invocations that started a new execution environment.",
	}, []string{"function"})
	m.inflight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "furl_url_concurrent_requests",
		Help: "Function URL invocations in progress.",
	}, []string{"function"})
	m.reg.MustRegister(m.requests, m.latency, m.throttles, m.cold, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src != nil {
		m.reg.MustRegister(&poolCollector{src: src})
	}
	return m
}

// Handler serves the Prometheus exposition format (mount it at /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// URLRequest counts one finished request and its latency.
func (m *Metrics) URLRequest(function, urlID string, status int, d time.Duration) {
	m.requests.WithLabelValues(function, urlID, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(function, urlID).Observe(d.Seconds())
}

// URLThrottle counts a throttled request.
func (m *Metrics) URLThrottle(function, urlID string) {
	m.throttles.WithLabelValues(function, urlID).Inc()
}

// ColdStart counts an invocation that needed a new environment.
func (m *Metrics) ColdStart(function string) {
	m.cold.WithLabelValues(function).Inc()
}

// InFlight moves the concurrency gauge of function by delta.
func (m *Metrics) InFlight(function string, delta int) {
	m.inflight.WithLabelValues(function).Add(float64(delta))
}

// poolCollector exports pool.Stats at scrape time.
type poolCollector struct {
	src StatsSource
}

var (
	descPoolInflight = prometheus.NewDesc("furl_pool_inflight", "Invocations running in the pool.", nil, nil)
	descPoolEnvs     = prometheus.NewDesc("furl_pool_environments", "Execution environments alive.", nil, nil)
	descFnInflight   = prometheus.NewDesc("furl_function_concurrent_executions", "Invocations running per function (its concurrency).", []string{"function"}, nil)
	descFnEnvs       = prometheus.NewDesc("furl_function_environments", "Execution environments per function.", []string{"function"}, nil)
	descFnIdle       = prometheus.NewDesc("furl_function_idle_environments", "Idle (warm) environments per function.", []string{"function"}, nil)
	descFnCold       = prometheus.NewDesc("furl_function_cold_starts_total", "Cold starts per function (all invocation sources).", []string{"function"}, nil)
	descFnInvocs     = prometheus.NewDesc("furl_function_invocations_total", "Invocations per function (all sources).", []string{"function"}, nil)
	descFnThrottles  = prometheus.NewDesc("furl_function_throttles_total", "Throttled invocations per function.", []string{"function"}, nil)
	descFnErrors     = prometheus.NewDesc("furl_function_errors_total", "Invocations that ended in a function error.", []string{"function"}, nil)
	descFnTimeouts   = prometheus.NewDesc("furl_function_timeouts_total", "Invocations that timed out.", []string{"function"}, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPoolInflight, descPoolEnvs, descFnInflight, descFnEnvs, descFnIdle,
		descFnCold, descFnInvocs, descFnThrottles, descFnErrors, descFnTimeouts} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(descPoolInflight, prometheus.GaugeValue, float64(s.Inflight))
	ch <- prometheus.MustNewConstMetric(descPoolEnvs, prometheus.GaugeValue, float64(s.Environments))
	for name, f := range s.Functions {
		ch <- prometheus.MustNewConstMetric(descFnInflight, prometheus.GaugeValue, float64(f.Inflight), name)
		ch <- prometheus.MustNewConstMetric(descFnEnvs, prometheus.GaugeValue, float64(f.Environments), name)
		ch <- prometheus.MustNewConstMetric(descFnIdle, prometheus.GaugeValue, float64(f.Idle), name)
		ch <- prometheus.MustNewConstMetric(descFnCold, prometheus.CounterValue, float64(f.ColdStarts), name)
		ch <- prometheus.MustNewConstMetric(descFnInvocs, prometheus.CounterValue, float64(f.Invocations), name)
		ch <- prometheus.MustNewConstMetric(descFnThrottles, prometheus.CounterValue, float64(f.Throttles), name)
		ch <- prometheus.MustNewConstMetric(descFnErrors, prometheus.CounterValue, float64(f.Errors), name)
		ch <- prometheus.MustNewConstMetric(descFnTimeouts, prometheus.CounterValue, float64(f.Timeouts), name)
	}
}
