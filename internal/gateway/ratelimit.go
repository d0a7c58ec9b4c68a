package gateway

import (
	"time"

	"github.com/furl/furl/internal/lambda"
)

// bucket is a token bucket: rate tokens per second, at most burst tokens.
type bucket struct {
	rate   float64
	burst  int
	tokens float64
	last   time.Time
}

// allowRate takes a token from the URL's bucket; URLs without a RateLimit are never limited.
func (g *Gateway) allowRate(urlID string, cfg *lambda.URLConfig) bool {
	if cfg.RateLimit <= 0 {
		return true
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = int(cfg.RateLimit)
		if burst < 1 {
			burst = 1
		}
	}
	now := g.opt.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.buckets[urlID]
	if b == nil || b.rate != cfg.RateLimit || b.burst != burst {
		b = &bucket{rate: cfg.RateLimit, burst: burst, tokens: float64(burst), last: now}
		g.buckets[urlID] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens += el * b.rate
		if b.tokens > float64(b.burst) {
			b.tokens = float64(b.burst)
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
