package identity

import (
	"net"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzSourceIP: X-Forwarded-For from a trusted proxy never yields anything but an IP address
// from the header or the peer, and never a trusted proxy's address when an untrusted one is
// listed.
func FuzzSourceIP(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "203.0.113.9, 10.0.0.1", "garbage, 10.0.0.2", ", ,", "::1, 2001:db8::1", "1.2.3.4,,5.6.7.8", strings.Repeat("1.1.1.1,", 50)} {
		f.Add(s, "10.0.0.1:5555")
	}
	f.Add("203.0.113.9", "[::1]:80")
	_, trusted, _ := net.ParseCIDR("10.0.0.0/8")
	s := &Service{trusted: []*net.IPNet{trusted}}
	f.Fuzz(func(t *testing.T, xff, peer string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header["X-Forwarded-For"] = []string{xff}
		got := s.SourceIP(r)
		peerIP := peerIP(peer)
		if got == peerIP {
			return
		}
		if net.ParseIP(got) == nil || !strings.Contains(xff, got) {
			t.Fatalf("SourceIP(xff=%q, peer=%q) = %q", xff, peer, got)
		}
		if !s.isTrusted(peerIP) {
			t.Fatalf("untrusted peer %q, but X-Forwarded-For believed: %q", peer, got)
		}
		if s.isTrusted(got) {
			t.Fatalf("a trusted proxy's address returned: %q", got)
		}
	})
}
