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
	keys map[string]cachedKey
	pols map[string]cachedPolicies
}

type cachedKey struct {
	creds sigv4.Credentials
	gen   uint64
	at    time.Time
}

type cachedPolicies struct {
	info *principalInfo
	gen  uint64
	at   time.Time
}

func newAuthCache() *authCache {
	return &authCache{keys: map[string]cachedKey{}, pols: map[string]cachedPolicies{}}
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

func (c *authCache) key(akid string, now time.Time) (sigv4.Credentials, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.keys[akid]
	if !ok || e.gen != c.gen || now.Sub(e.at) > cacheTTL || now.Before(e.at) {
		return sigv4.Credentials{}, false
	}
	return e.creds, true
}

// putKey caches creds if no write happened since gen was read (before the lookup).
func (c *authCache) putKey(akid string, creds sigv4.Credentials, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.keys) >= maxCacheEntries {
		clear(c.keys)
	}
	c.keys[akid] = cachedKey{creds: creds, gen: gen, at: now}
}

func (c *authCache) policies(owner string, now time.Time) (*principalInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.pols[owner]
	if !ok || e.gen != c.gen || now.Sub(e.at) > cacheTTL || now.Before(e.at) {
		return nil, false
	}
	return e.info, true
}

func (c *authCache) putPolicies(owner string, info *principalInfo, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.pols) >= maxCacheEntries {
		clear(c.pols)
	}
	c.pols[owner] = cachedPolicies{info: info, gen: gen, at: now}
}
