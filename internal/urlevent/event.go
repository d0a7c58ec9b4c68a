// Package urlevent is the pure core of the function-URL data plane: it turns an HTTP request into
// the payload format 2.0 event AWS delivers to a function behind a URL, maps a function's answer
// back to an HTTP response (§3 of spec/function-url.md), and parses the streaming
// "http-integration-response" prelude. It does no I/O of its own.
package urlevent

import (
	"encoding/base64"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/furl/furl/internal/iam"
)

// TimeLayout is the layout of requestContext.time.
const TimeLayout = "02/Jan/2006:15:04:05 +0000"

// MaxEventBytes is the largest event (whole JSON envelope) Lambda accepts for a synchronous
// invoke: 6 MB.
const MaxEventBytes = 6291456

// Event is a function URL request event (payload format 2.0), with AWS's field names and
// omission rules. AppendJSON renders it exactly as encoding/json would.
type Event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        RequestContext    `json:"requestContext"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// RequestContext is the event's requestContext.
type RequestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	Authorizer   *Authorizer `json:"authorizer,omitempty"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         HTTP        `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

// Authorizer is requestContext.authorizer; only present for AWS_IAM URLs.
type Authorizer struct {
	IAM *IAMAuthorizer `json:"iam"`
}

// IAMAuthorizer is requestContext.authorizer.iam: all seven keys are always present.
type IAMAuthorizer struct {
	AccessKey       string  `json:"accessKey"`
	AccountID       string  `json:"accountId"`
	CallerID        string  `json:"callerId"`
	CognitoIdentity *string `json:"cognitoIdentity"`
	PrincipalOrgID  *string `json:"principalOrgId"`
	UserARN         string  `json:"userArn"`
	UserID          string  `json:"userId"`
}

// HTTP is requestContext.http.
type HTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// Request is everything the event is built from. The gateway fills it from the *http.Request
// and its own decisions (ids, clock, auth).
type Request struct {
	Method string
	// RawPath is the request path as sent (percent-encoding kept), without any path-style
	// /lambda-url/<id> prefix; "" means "/".
	RawPath string
	// RawQuery is the query string without '?'.
	RawQuery string
	// Header is the client's header (canonical or not; names are lower-cased here). Host is not
	// read from it.
	Header map[string][]string
	Host   string
	Body   []byte

	// SourceIP is requestContext.http.sourceIp: the caller (behind a trusted proxy, the
	// address the proxy forwarded). PeerIP is the TCP peer appended to x-forwarded-for; ""
	// means SourceIP.
	SourceIP   string
	PeerIP     string
	URLID      string
	DomainName string
	RequestID  string
	Time       time.Time
	// AccountID is "anonymous" for NONE, the caller's account for AWS_IAM.
	AccountID string
	// IAM is set for AWS_IAM URLs; it also makes the authorization header disappear.
	IAM *IAMAuthorizer

	// TraceHeader is the x-amzn-trace-id value to deliver.
	TraceHeader string
	// ForwardedProto and ForwardedPort are x-forwarded-proto / x-forwarded-port.
	ForwardedProto string
	ForwardedPort  string
	// TLSVersion and TLSCipher become x-amzn-tls-version / x-amzn-tls-cipher-suite when set.
	TLSVersion string
	TLSCipher  string
}

// hopByHop are the RFC 7230 connection-level headers the service never forwards.
func hopByHop(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
		"te", "trailer", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// Build makes the event for in.
func Build(in *Request) *Event {
	ev := &Event{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        in.RawPath,
		RawQueryString: in.RawQuery,
	}
	if ev.RawPath == "" {
		ev.RawPath = "/"
	}
	ev.Headers = buildHeaders(in)
	if c, ok := ev.Headers["cookie"]; ok {
		ev.Cookies = splitCookies(c)
	}
	ev.QueryStringParameters = ParseQuery(in.RawQuery)
	if len(in.Body) > 0 {
		if IsTextBody(ev.Headers["content-type"]) && utf8.Valid(in.Body) {
			ev.Body = string(in.Body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(in.Body)
			ev.IsBase64Encoded = true
		}
	}
	rc := &ev.RequestContext
	rc.AccountID = in.AccountID
	if rc.AccountID == "" {
		rc.AccountID = "anonymous"
	}
	rc.APIID = in.URLID
	rc.DomainPrefix = in.URLID
	rc.DomainName = in.DomainName
	if in.IAM != nil {
		rc.Authorizer = &Authorizer{IAM: in.IAM}
	}
	rc.HTTP = HTTP{
		Method:    in.Method,
		Path:      NormalizePath(ev.RawPath),
		Protocol:  "HTTP/1.1",
		SourceIP:  in.SourceIP,
		UserAgent: ev.Headers["user-agent"],
	}
	rc.RequestID = in.RequestID
	rc.RouteKey = "$default"
	rc.Stage = "$default"
	t := in.Time.UTC()
	rc.Time = t.Format(TimeLayout)
	rc.TimeEpoch = t.UnixMilli()
	return ev
}

func buildHeaders(in *Request) map[string]string {
	h := make(map[string]string, len(in.Header)+8)
	var extraHop []string
	if cs, ok := in.Header["Connection"]; ok {
		for _, c := range cs {
			for _, tok := range strings.Split(c, ",") {
				if tok = strings.ToLower(strings.TrimSpace(tok)); tok != "" {
					extraHop = append(extraHop, tok)
				}
			}
		}
	}
	var xff string
	for k, vs := range in.Header {
		name := strings.ToLower(k)
		if hopByHop(name) || len(vs) == 0 {
			continue
		}
		switch name {
		case "host", "content-length", "x-forwarded-port", "x-forwarded-proto",
			"x-amzn-tls-version", "x-amzn-tls-cipher-suite", "x-amzn-trace-id":
			continue
		case "authorization":
			if in.IAM != nil {
				continue
			}
		case "x-forwarded-for":
			xff = strings.Join(vs, ", ")
			continue
		}
		if slices.Contains(extraHop, name) {
			continue
		}
		sep := ","
		if name == "cookie" {
			sep = "; "
		}
		v := vs[0]
		if len(vs) > 1 {
			v = strings.Join(vs, sep)
		}
		if old, ok := h[name]; ok { // same name in two spellings
			v = old + sep + v
		}
		h[name] = v
	}
	if in.Host != "" {
		h["host"] = in.Host
	}
	h["content-length"] = strconv.Itoa(len(in.Body))
	peer := in.PeerIP
	if peer == "" {
		peer = in.SourceIP
	}
	if peer != "" {
		if xff != "" {
			h["x-forwarded-for"] = xff + ", " + peer
		} else {
			h["x-forwarded-for"] = peer
		}
	} else if xff != "" {
		h["x-forwarded-for"] = xff
	}
	if in.ForwardedProto != "" {
		h["x-forwarded-proto"] = in.ForwardedProto
	}
	if in.ForwardedPort != "" {
		h["x-forwarded-port"] = in.ForwardedPort
	}
	if in.TraceHeader != "" {
		h["x-amzn-trace-id"] = in.TraceHeader
	}
	if in.TLSVersion != "" {
		h["x-amzn-tls-version"] = in.TLSVersion
	}
	if in.TLSCipher != "" {
		h["x-amzn-tls-cipher-suite"] = in.TLSCipher
	}
	return h
}

// splitCookies splits a cookie header value on ';', trimming each part and skipping empties.
func splitCookies(v string) []string {
	var out []string
	for v != "" {
		var part string
		if i := strings.IndexByte(v, ';'); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, ""
		}
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// ParseQuery decodes a raw query string into queryStringParameters: keys and values
// URL-decoded, repeated keys joined with ',' in order, a key without '=' has value "". It
// returns nil for an empty query. Undecodable parts are kept as sent. Its cost is linear in
// the length of raw, however many times a key repeats.
func ParseQuery(raw string) map[string]string {
	if raw == "" {
		return nil
	}
	var m map[string]string
	var multi map[string][]string // keys seen more than once, all their values in order
	for raw != "" {
		var part string
		if i := strings.IndexByte(raw, '&'); i >= 0 {
			part, raw = raw[:i], raw[i+1:]
		} else {
			part, raw = raw, ""
		}
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = unescape(k), unescape(v)
		if m == nil {
			m = make(map[string]string)
		}
		old, ok := m[k]
		if !ok {
			m[k] = v
			continue
		}
		if multi == nil {
			multi = make(map[string][]string)
		}
		vs, ok := multi[k]
		if !ok {
			vs = []string{old}
		}
		multi[k] = append(vs, v)
	}
	for k, vs := range multi {
		m[k] = strings.Join(vs, ",")
	}
	return m
}

func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// IsTextBody reports whether a body of this Content-Type is delivered as text rather than
// base64: text/*, application/json, application/xml and application/javascript.
func IsTextBody(contentType string) bool {
	mt := contentType
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript":
		return true
	}
	return false
}

// sortedKeys returns m's keys in byte order (as encoding/json sorts them).
func sortedKeys(m map[string]string, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AuthorizerIAM returns the requestContext.authorizer.iam object of an AWS_IAM-authenticated
// principal (nil for nil): accessKey, accountId, callerId, cognitoIdentity (null),
// principalOrgId (null unless orgID is set), userArn, userId.
func AuthorizerIAM(p *iam.Principal, orgID string) *IAMAuthorizer {
	if p == nil {
		return nil
	}
	a := &IAMAuthorizer{AccessKey: p.AccessKeyID, AccountID: p.AccountID, CallerID: p.UserID,
		UserARN: p.ARN, UserID: p.UserID}
	if orgID != "" {
		a.PrincipalOrgID = &orgID
	}
	return a
}
