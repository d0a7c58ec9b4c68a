package urlevent

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
)

// FromHTTP fills the parts of a Request that come from the HTTP request itself: method, raw
// path (percent-encoding kept, pathPrefix such as "/lambda-url/<id>" removed), raw query,
// headers, Host, body, source IP (TCP peer) and TLS details. The caller adds ids, time and auth.
func FromHTTP(r *http.Request, pathPrefix string, body []byte) *Request {
	in := &Request{
		Method:   r.Method,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header,
		Host:     r.Host,
		Body:     body,
		SourceIP: PeerIP(r.RemoteAddr),
	}
	in.RawPath = RawPath(r)
	if pathPrefix != "" {
		if rest, ok := strings.CutPrefix(in.RawPath, pathPrefix); ok {
			in.RawPath = rest
		}
	}
	if in.RawPath == "" || in.RawPath[0] != '/' {
		in.RawPath = "/" + in.RawPath
	}
	if r.TLS != nil {
		in.TLSVersion, in.TLSCipher = TLSNames(r.TLS)
		in.ForwardedProto = "https"
	} else {
		in.ForwardedProto = "http"
	}
	return in
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
