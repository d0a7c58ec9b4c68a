package sigv4

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// amzDateLayout is ISO 8601 basic format, as in X-Amz-Date.
const amzDateLayout = "20060102T150405Z"

// auth is the signature material of one request, parsed but not verified.
type auth struct {
	presigned     bool
	accessKeyID   string
	scopeDate     string // yyyymmdd
	region        string
	service       string
	terminator    string
	signedHeaders []string
	signedRaw     string // the SignedHeaders value as sent
	signature     string
	amzDate       string // basic format, the string-to-sign's second line
	date          time.Time
	expires       int64 // presigned only
	token         string
	path, query   string // the request target as received (rawPath, rawQuery)
}

// AuthHeader is a parsed Authorization header.
type AuthHeader struct {
	Algorithm     string
	Credential    string
	SignedHeaders string
	Signature     string
}

// ParseAuthorization parses `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
// leniently (parameters split on ',' and trimmed, in any order). It fails with
// IncompleteSignatureException when the algorithm is not AWS4-HMAC-SHA256 or a parameter is
// missing.
func ParseAuthorization(v string) (AuthHeader, error) {
	var h AuthHeader
	alg, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	h.Algorithm = alg
	for part := range strings.SplitSeq(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Credential":
			h.Credential = strings.TrimSpace(val)
		case "SignedHeaders":
			h.SignedHeaders = strings.TrimSpace(val)
		case "Signature":
			h.Signature = strings.TrimSpace(val)
		}
	}
	if alg != Algorithm || h.Credential == "" || h.SignedHeaders == "" || h.Signature == "" {
		var b strings.Builder
		if alg != Algorithm || h.Credential == "" {
			b.WriteString("Authorization header requires 'Credential' parameter. ")
		}
		if alg != Algorithm || h.Signature == "" {
			b.WriteString("Authorization header requires 'Signature' parameter. ")
		}
		if alg != Algorithm || h.SignedHeaders == "" {
			b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
		}
		b.WriteString("Authorization=")
		b.WriteString(v)
		return h, errIncomplete("%s", b.String())
	}
	return h, nil
}

func parseRequest(r *http.Request) (*auth, error) {
	var (
		a   *auth
		err error
	)
	q := rawQuery(r)
	switch av := r.Header.Get("Authorization"); {
	case av != "":
		a, err = parseHeaderAuth(r, av)
	case querySigned(q):
		a, err = parseQueryAuth(q)
	default:
		return nil, errMissingAuth()
	}
	if err != nil {
		return nil, err
	}
	a.path, a.query = rawPath(r), q
	return a, nil
}

func parseHeaderAuth(r *http.Request, av string) (*auth, error) {
	h, err := ParseAuthorization(av)
	if err != nil {
		return nil, err
	}
	a := &auth{signature: h.Signature, signedRaw: h.SignedHeaders}
	if err := a.setCredential(h.Credential); err != nil {
		return nil, err
	}
	a.signedHeaders = strings.Split(h.SignedHeaders, ";")
	if xd := r.Header.Get("X-Amz-Date"); xd != "" {
		t, err := time.Parse(amzDateLayout, xd)
		if err != nil {
			return nil, errIncomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", xd)
		}
		a.date, a.amzDate = t, xd
	} else if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return nil, errIncomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", d)
		}
		a.date, a.amzDate = t.UTC(), t.UTC().Format(amzDateLayout)
	} else {
		return nil, errIncomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", av)
	}
	a.token = r.Header.Get("X-Amz-Security-Token")
	return a, a.checkCommon()
}

func parseQueryAuth(q string) (*auth, error) {
	vals, _ := url.ParseQuery(q) // bad escapes elsewhere must not hide the auth parameters
	for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if vals.Get(p) == "" {
			return nil, errIncomplete("AWS query-string parameters must include '%s'. Re-examine the query-string parameters.", p)
		}
	}
	if alg := vals.Get("X-Amz-Algorithm"); alg != Algorithm {
		return nil, errIncomplete("X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'")
	}
	a := &auth{presigned: true, signature: vals.Get("X-Amz-Signature"), signedRaw: vals.Get("X-Amz-SignedHeaders")}
	if err := a.setCredential(vals.Get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	a.signedHeaders = strings.Split(a.signedRaw, ";")
	xd := vals.Get("X-Amz-Date")
	t, err := time.Parse(amzDateLayout, xd)
	if err != nil {
		return nil, errIncomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", xd)
	}
	a.date, a.amzDate = t, xd
	exp, err := strconv.ParseInt(vals.Get("X-Amz-Expires"), 10, 64)
	switch {
	case err != nil && !isDigits(vals.Get("X-Amz-Expires")):
		return nil, errIncomplete("X-Amz-Expires should be a number")
	case err != nil || exp > MaxPresignExpires:
		return nil, errIncomplete("X-Amz-Expires must be less than a week (in seconds) that is %d", MaxPresignExpires)
	case exp < 0:
		return nil, errIncomplete("X-Amz-Expires must be non-negative")
	}
	a.expires = exp
	a.token = vals.Get("X-Amz-Security-Token")
	return a, a.checkCommon()
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (a *auth) setCredential(c string) error {
	var parts [5]string
	rest := c
	n := 0
	for n < 5 {
		p, r, more := strings.Cut(rest, "/")
		parts[n] = p
		n++
		rest = r
		if !more {
			break
		}
		if n == 5 {
			n = 6 // more than five elements
		}
	}
	if n != 5 || parts[0] == "" {
		return errIncomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", c)
	}
	a.accessKeyID, a.scopeDate, a.region, a.service, a.terminator = parts[0], parts[1], parts[2], parts[3], parts[4]
	return nil
}

// checkCommon validates what does not depend on the caller's expectations.
func (a *auth) checkCommon() error {
	if a.terminator != "aws4_request" {
		return errInvalid("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", a.terminator)
	}
	if a.scopeDate != a.amzDate[:8] {
		return errInvalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.scopeDate, a.amzDate[:8], a.amzDate)
	}
	if !slices.Contains(a.signedHeaders, "host") {
		return errIncomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return nil
}

func (a *auth) checkScope(want Scope) error {
	if len(want.Services) > 0 && !slices.Contains(want.Services, a.service) {
		return errInvalid("Credential should be scoped to correct service: '%s'. ", want.Services[0])
	}
	if len(want.Regions) > 0 {
		if !slices.Contains(want.Regions, a.region) {
			return errInvalid("Credential should be scoped to a valid region.")
		}
	} else if !validRegion(a.region) {
		return errInvalid("Credential should be scoped to a valid region.")
	}
	return nil
}

func validRegion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (a *auth) checkTime(now time.Time) error {
	if a.date.After(now.Add(MaxSkew)) {
		return errInvalid("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			a.amzDate, now.Add(MaxSkew).Format(amzDateLayout), now.Format(amzDateLayout))
	}
	if a.presigned {
		if now.After(a.date.Add(time.Duration(a.expires) * time.Second)) {
			return errInvalid("Signature expired: %s is now earlier than %s (%s - %d sec.)",
				a.amzDate, now.Add(-time.Duration(a.expires)*time.Second).Format(amzDateLayout), now.Format(amzDateLayout), a.expires)
		}
		return nil
	}
	if a.date.Before(now.Add(-MaxSkew)) {
		return errInvalid("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			a.amzDate, now.Add(-MaxSkew).Format(amzDateLayout), now.Format(amzDateLayout))
	}
	return nil
}

// checkToken enforces session tokens: temporary credentials need the matching token, long-term
// keys must not carry one.
func checkToken(c Credentials, token string, now time.Time) error {
	if c.SessionToken == "" {
		if token != "" {
			return errUnrecognizedClient(nil)
		}
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(c.SessionToken), []byte(token)) != 1 {
		return errUnrecognizedClient(nil)
	}
	if !c.Expiration.IsZero() && now.After(c.Expiration) {
		return errExpiredToken()
	}
	return nil
}

// rawPath is the request-target path exactly as received (still percent-encoded).
func rawPath(r *http.Request) string {
	if u := r.RequestURI; u != "" {
		if u[0] == '/' {
			p, _, _ := strings.Cut(u, "?")
			return p
		}
		if pu, err := url.ParseRequestURI(u); err == nil {
			return pu.EscapedPath()
		}
	}
	if r.URL == nil {
		return "/"
	}
	if r.URL.RawPath != "" {
		return r.URL.RawPath
	}
	return r.URL.EscapedPath()
}

// rawQuery is the query as received.
func rawQuery(r *http.Request) string {
	if u := r.RequestURI; u != "" {
		if u[0] == '/' {
			_, q, _ := strings.Cut(u, "?")
			return q
		}
		if pu, err := url.ParseRequestURI(u); err == nil {
			return pu.RawQuery
		}
	}
	if r.URL == nil {
		return ""
	}
	return r.URL.RawQuery
}

// querySigned reports whether the raw query carries presigned-URL material.
func querySigned(q string) bool {
	return queryHas(q, "X-Amz-Signature") || queryHas(q, "X-Amz-Algorithm") || queryHas(q, "X-Amz-Credential")
}

// queryHas reports whether the raw query has a parameter named key (exactly, undecoded).
func queryHas(q, key string) bool {
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(part, "=")
		if k == key {
			return true
		}
	}
	return false
}
