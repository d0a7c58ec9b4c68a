package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/furl/furl/internal/lambda"
)

// originAllowed reports whether origin matches one of the configured AllowOrigins: "*" matches
// any origin; an entry with '*' wildcards (https://*.example.com) matches by pattern;
// comparison ignores case.
func originAllowed(c *lambda.CORS, origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range c.AllowOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
		if strings.Contains(o, "*") && wildcardMatch(strings.ToLower(o), strings.ToLower(origin)) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against pattern where '*' stands for any run of characters.
func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 { // no wildcard
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// writePreflight answers a CORS preflight without invoking the function (§6.2): 200, empty
// body, Content-Type application/json, the configured lists joined with "," (no spaces), and
// the request's Origin echoed when it is allowed. A disallowed origin gets no Access-Control-*
// headers, so the browser blocks the actual request.
func writePreflight(w http.ResponseWriter, c *lambda.CORS, origin, reqID string) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{"0"}
	h[hdrRequestID] = []string{reqID}
	h["Vary"] = []string{"Origin"}
	if originAllowed(c, origin) {
		h["Access-Control-Allow-Origin"] = []string{origin}
		if len(c.AllowHeaders) > 0 {
			h["Access-Control-Allow-Headers"] = []string{strings.Join(c.AllowHeaders, ",")}
		}
		if len(c.AllowMethods) > 0 {
			h["Access-Control-Allow-Methods"] = []string{strings.Join(c.AllowMethods, ",")}
		}
		if c.AllowCredentials {
			h["Access-Control-Allow-Credentials"] = []string{"true"}
		}
		if c.MaxAge > 0 {
			h["Access-Control-Max-Age"] = []string{strconv.Itoa(c.MaxAge)}
		}
	}
	w.WriteHeader(http.StatusOK)
}

// addCORS adds the CORS headers of an actual (non-preflight) response. Like the service, it
// adds and never replaces: CORS headers the function set itself are kept (and so may appear
// twice, which browsers reject — as on AWS).
func addCORS(h http.Header, c *lambda.CORS, origin string) {
	h["Vary"] = append(h["Vary"], "Origin")
	if !originAllowed(c, origin) {
		return
	}
	h["Access-Control-Allow-Origin"] = append(h["Access-Control-Allow-Origin"], origin)
	if c.AllowCredentials {
		h["Access-Control-Allow-Credentials"] = append(h["Access-Control-Allow-Credentials"], "true")
	}
	if len(c.ExposeHeaders) > 0 {
		h["Access-Control-Expose-Headers"] = append(h["Access-Control-Expose-Headers"], strings.Join(c.ExposeHeaders, ","))
	}
}
