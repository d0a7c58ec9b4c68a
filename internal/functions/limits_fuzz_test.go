package functions

import (
	"math"
	"testing"

	"github.com/furl/furl/internal/lambda"
)

// FuzzLimitTags: whatever the tag values, the limits applied are finite and in range, and
// values that validate are the ones applied.
func FuzzLimitTags(f *testing.F) {
	for _, s := range [][2]string{{"10", "5"}, {"0.5", ""}, {"NaN", "1"}, {"+Inf", "0"}, {"1e308", "99999999999999999999"}, {"-1", "-1"}, {"0x1p3", "1_0"}} {
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, rate, burst string, withBurst bool) {
		tags := map[string]string{TagURLRateLimit: rate}
		if withBurst {
			tags[TagURLBurst] = burst
		}
		var c lambda.URLConfig
		applyLimitTags(&c, tags)
		if math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) || c.RateLimit < 0 || c.RateLimit > maxRate {
			t.Fatalf("rate %q -> %v", rate, c.RateLimit)
		}
		if c.Burst < 0 || c.Burst > maxBurst || (c.RateLimit > 0 && c.Burst < 1) {
			t.Fatalf("rate %q burst %q -> burst %d (rate %v)", rate, burst, c.Burst, c.RateLimit)
		}
		if validateLimitTags(tags) == nil && rate != "" {
			var want lambda.URLConfig
			applyLimitTags(&want, map[string]string{TagURLRateLimit: rate})
			if want.RateLimit != c.RateLimit {
				t.Fatalf("validated rate %q not applied: %v vs %v", rate, want.RateLimit, c.RateLimit)
			}
		}
	})
}
