package identity

import (
	"testing"
	"time"

	"github.com/furl/furl/internal/sigv4"
)

func TestAuthCache(t *testing.T) {
	c := newAuthCache()
	now := time.Now()
	creds := sigv4.Credentials{AccessKeyID: "AKIA1", SecretAccessKey: "s"}
	info := &principalInfo{}

	gen := c.generation()
	c.putKey("AKIA1", creds, gen, now)
	c.putPolicies("p", info, gen, now)
	if got, ok := c.key("AKIA1", now.Add(cacheTTL)); !ok || got != creds {
		t.Errorf("key within the TTL = %+v, %v", got, ok)
	}
	if got, ok := c.policies("p", now); !ok || got != info {
		t.Errorf("policies = %p, %v; want %p", got, ok, info)
	}
	if _, ok := c.key("AKIA1", now.Add(cacheTTL+time.Millisecond)); ok {
		t.Error("key past the TTL is cached")
	}
	if _, ok := c.key("AKIA1", now.Add(-time.Millisecond)); ok {
		t.Error("key cached in the future (clock went back) is answered")
	}
	if _, ok := c.key("AKIA2", now); ok {
		t.Error("unknown key is cached")
	}

	c.invalidate()
	if _, ok := c.key("AKIA1", now); ok {
		t.Error("key survives invalidate")
	}
	if _, ok := c.policies("p", now); ok {
		t.Error("policies survive invalidate")
	}
	// A lookup that began before the write must not cache what it read.
	c.putKey("AKIA1", creds, gen, now)
	c.putPolicies("p", info, gen, now)
	if _, ok := c.key("AKIA1", now); ok {
		t.Error("key cached under a stale generation")
	}
	if _, ok := c.policies("p", now); ok {
		t.Error("policies cached under a stale generation")
	}
}
