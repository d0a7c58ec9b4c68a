package functions

import (
	"strconv"

	"github.com/furl/furl/internal/lambda"
)

// Per-URL rate limits are set with function tags, so that every Lambda client (the AWS CLI's
// tag-resource, boto3, the SDKs, `furl deploy --rate-limit`) can manage them without a
// non-AWS API field. They apply to every function URL of the function.
const (
	// TagURLRateLimit is the sustained rate in requests per second (decimal, > 0); absent or 0
	// means no limit.
	TagURLRateLimit = "furl:url-rate-limit"
	// TagURLBurst is the bucket size (integer ≥ 1); default: the rate rounded up, at least 1.
	TagURLBurst = "furl:url-burst"
)

// Bounds of the limit tags' values.
const (
	maxRate  = 1e9
	maxBurst = 1e9
)

// validateLimitTags checks the values of furl's limit tags.
func validateLimitTags(tags map[string]string) error {
	if v, ok := tags[TagURLRateLimit]; ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil || !(f >= 0 && f <= maxRate) { // NaN fails too
			return invalidParameter("The tag %s must be a number of requests per second (0 to disable), got %q.", TagURLRateLimit, v)
		}
	}
	if v, ok := tags[TagURLBurst]; ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > maxBurst {
			return invalidParameter("The tag %s must be a whole number of requests of at least 1, got %q.", TagURLBurst, v)
		}
	}
	return nil
}

// applyLimitTags sets the URL's rate limit and burst from the function's tags.
func applyLimitTags(c *lambda.URLConfig, tags map[string]string) {
	if v, ok := tags[TagURLRateLimit]; ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= maxRate {
			c.RateLimit = f
		}
	}
	if v, ok := tags[TagURLBurst]; ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= maxBurst {
			c.Burst = n
		}
	}
	if c.RateLimit > 0 && c.Burst < 1 {
		c.Burst = max(1, int(c.RateLimit+0.999999))
	}
}
