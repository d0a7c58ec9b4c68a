package identity

import (
	"sync"
	"time"

	"github.com/furl/furl/internal/sigv4"
)

// cacheTTL bounds how long a cached key or policy set is trusted. Writes through this
// process's IAM API invalidate at once (generation bump); the TTL covers writes made elsewhere
// (another node, or the database edited offline).
const cacheTTL = 2 * time.Second

// maxCacheEntries bounds each cache map; it is cleared when full.
const maxCacheEntries = 10000

// authCache keeps recent positive key lookups and identity-policy sets so the data plane does
// not query the store on every signed request.
type authCache struct {
	mu   sync.Mutex
	gen  uint64
	keys map[string]cached[sigv4.Credentials]
	pols map[string]cached[*principalInfo]
}

// cached is a value with the generation and time it was cached at.
type cached[V any] struct {
	v   V
	gen uint64
	at  time.Time
}

func newAuthCache() *authCache {
	return &authCache{keys: map[string]cached[sigv4.Credentials]{}, pols: map[string]cached[*principalInfo]{}}
}

// invalidate drops everything cached (called after every IAM write).
func (c *authCache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.keys)
	clear(c.pols)
	c.mu.Unlock()
}

func (c *authCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// cacheGet returns m[k] if it was cached in the current generation at most cacheTTL before now.
func cacheGet[V any](c *authCache, m map[string]cached[V], k string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := m[k]
	if !ok || e.gen != c.gen || now.Sub(e.at) > cacheTTL || now.Before(e.at) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// cachePut caches v as m[k] if no write happened since gen was read (before the lookup).
func cachePut[V any](c *authCache, m map[string]cached[V], k string, v V, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(m) >= maxCacheEntries {
		clear(m)
	}
	m[k] = cached[V]{v: v, gen: gen, at: now}
}

func (c *authCache) key(akid string, now time.Time) (sigv4.Credentials, bool) {
	return cacheGet(c, c.keys, akid, now)
}

func (c *authCache) putKey(akid string, creds sigv4.Credentials, gen uint64, now time.Time) {
	cachePut(c, c.keys, akid, creds, gen, now)
}

func (c *authCache) policies(owner string, now time.Time) (*principalInfo, bool) {
	return cacheGet(c, c.pols, owner, now)
}

func (c *authCache) putPolicies(owner string, info *principalInfo, gen uint64, now time.Time) {
	cachePut(c, c.pols, owner, info, gen, now)
}
