package urlevent

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"time"
)

// Params are the gateway's own decisions that go into an event besides the HTTP request.
type Params struct {
	// PathPrefix is the path-style "/lambda-url/<id>" prefix to remove from the raw path.
	PathPrefix string
	Body       []byte
	// SourceIP is the caller's address (requestContext.http.sourceIp); "" means the TCP peer.
	SourceIP  string
	URLID     string
	RequestID string
	Time      time.Time
	// TraceHeader is the x-amzn-trace-id to deliver (TraceHeader builds it).
	TraceHeader string
	// AccountID is "" (anonymous) for NONE, the caller's account for AWS_IAM.
	AccountID string
	IAM       *IAMAuthorizer
}

// FromHTTP makes the complete Request for r: method, raw path (percent-encoding kept, the
// path-style prefix removed), raw query, headers, host, body, the TCP peer for
// x-forwarded-for, requestContext.domainName (the Host header without its port), the
// listener's scheme and port, the TLS version and cipher, and p.
func FromHTTP(r *http.Request, p Params) *Request {
	in := &Request{
		Method:      r.Method,
		RawQuery:    r.URL.RawQuery,
		Header:      r.Header,
		Host:        r.Host,
		Body:        p.Body,
		PeerIP:      PeerIP(r.RemoteAddr),
		SourceIP:    p.SourceIP,
		URLID:       p.URLID,
		DomainName:  DomainName(r.Host),
		RequestID:   p.RequestID,
		Time:        p.Time,
		AccountID:   p.AccountID,
		IAM:         p.IAM,
		TraceHeader: p.TraceHeader,
	}
	if in.SourceIP == "" {
		in.SourceIP = in.PeerIP
	}
	in.RawPath = RawPath(r)
	if p.PathPrefix != "" {
		if rest, ok := strings.CutPrefix(in.RawPath, p.PathPrefix); ok {
			in.RawPath = rest
		}
	}
	if in.RawPath == "" || in.RawPath[0] != '/' {
		in.RawPath = "/" + in.RawPath
	}
	var local net.Addr
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = a
	}
	in.ForwardedProto, in.ForwardedPort, in.TLSVersion, in.TLSCipher = Transport(r.TLS, local)
	return in
}

// Transport is what the service says about the connection a request came on: x-forwarded-proto
// ("https" over TLS, else "http"), x-forwarded-port (the listener's port; 443 or 80 when it is
// unknown) and, over TLS only, x-amzn-tls-version and x-amzn-tls-cipher-suite in OpenSSL's
// names.
func Transport(cs *tls.ConnectionState, local net.Addr) (proto, port, tlsVersion, tlsCipher string) {
	proto, port = "http", "80"
	if cs != nil {
		proto, port = "https", "443"
		tlsVersion, tlsCipher = TLSNames(cs)
	}
	if local != nil {
		if _, p, err := net.SplitHostPort(local.String()); err == nil && p != "" {
			port = p
		}
	}
	return proto, port, tlsVersion, tlsCipher
}

// DomainName is requestContext.domainName for a Host header: the host without its port
// ("[::1]:9000" -> "[::1]", "a.lambda-url.us-east-1.localhost:9000" ->
// "a.lambda-url.us-east-1.localhost").
func DomainName(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		if h := host[:i]; h != "" && allDigits(host[i+1:]) {
			return h
		}
	}
	return host
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// TraceHeader is the x-amzn-trace-id a function receives: the service's own segment as
// Self=<self>, then the client's header when it sent one, else Root=<root>
// ("Self=1-…;Root=1-…", as in every recorded event).
func TraceHeader(self, root, client string) string {
	if client != "" {
		return "Self=" + self + ";" + client
	}
	return "Self=" + self + ";Root=" + root
}

// RawPath returns the request path exactly as the client sent it (percent-encoding kept).
func RawPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" {
		return r.URL.EscapedPath()
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
		rest := uri[strings.Index(uri, "//")+2:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			uri = rest[i:]
		} else {
			uri = "/"
		}
	}
	if uri == "" || uri == "*" {
		return "/"
	}
	return uri
}

// PeerIP returns the IP of a host:port address (IPv6 without brackets).
func PeerIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// TLSNames renders a TLS connection's version and cipher the way the service's headers do
// (OpenSSL-style cipher names: "ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256").
func TLSNames(cs *tls.ConnectionState) (version, cipher string) {
	switch cs.Version {
	case tls.VersionTLS10:
		version = "TLSv1"
	case tls.VersionTLS11:
		version = "TLSv1.1"
	case tls.VersionTLS12:
		version = "TLSv1.2"
	case tls.VersionTLS13:
		version = "TLSv1.3"
	}
	switch cs.CipherSuite {
	case tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		cipher = "ECDHE-RSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		cipher = "ECDHE-RSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		cipher = "ECDHE-ECDSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
		cipher = "ECDHE-ECDSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		cipher = "ECDHE-RSA-CHACHA20-POLY1305"
	case tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		cipher = "ECDHE-ECDSA-CHACHA20-POLY1305"
	default:
		cipher = tls.CipherSuiteName(cs.CipherSuite) // TLS 1.3 names already match
	}
	return version, cipher
}
