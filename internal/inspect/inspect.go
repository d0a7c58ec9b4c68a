// Package inspect keeps one inspection record per function-URL request: what came in, what
// each stage of the gateway decided (admit: route, CORS, body, auth, rate limit; event;
// invoke; respond), the exact event the function received, its result and the response sent,
// with a timing breakdown and, for refusals, the reason. The gateway fills a Record as the
// request goes and hands it to a Store when the request ends; the Store keeps a bounded number
// per function (the /furl/v1/functions/<name>/events endpoint and the console read them) and
// fans finished records out to subscribers without ever blocking the request path.
//
// Secrets are not kept: Authorization, X-Amz-Security-Token, X-Amz-Signature and Cookie header
// values (and the query's X-Amz-Signature / X-Amz-Security-Token / X-Amz-Credential values) are
// redacted when the record is captured, and bodies are cut at a bound.
package inspect

import (
	"encoding/json"
	"net/http"
	"time"
)

// Stage names, in the order a request passes them.
const (
	StageRoute     = "route"
	StageCORS      = "cors"
	StageBody      = "body"
	StageAuth      = "auth"
	StageRateLimit = "ratelimit"
	StageEvent     = "event"
	StageInvoke    = "invoke"
	StageRespond   = "respond"
)

// Redacted replaces a secret value in a record.
const Redacted = "REDACTED"

// Record is what the gateway saw and did for one function-URL request. The gateway owns a
// Record until it calls Store.Finish; after that the Record is never modified again and may be
// read concurrently.
type Record struct {
	RequestID string    `json:"RequestId"`
	Time      time.Time `json:"Time"`
	// Function and Qualifier name what the URL invokes; empty when the URL id is unknown.
	Function  string `json:"Function,omitempty"`
	Qualifier string `json:"Qualifier,omitempty"`
	URLID     string `json:"UrlId,omitempty"`
	AuthType  string `json:"AuthType,omitempty"`

	Method string `json:"Method"`
	// Path is the raw path as sent (without a path-style /lambda-url/<id> prefix); Query the
	// raw query string, redacted.
	Path     string      `json:"Path"`
	Query    string      `json:"Query,omitempty"`
	Host     string      `json:"Host,omitempty"`
	Headers  http.Header `json:"Headers,omitempty"`
	Body     Bytes       `json:"Body"`
	SourceIP string      `json:"SourceIp,omitempty"`
	// Principal is the caller's ARN for AWS_IAM URLs once authenticated.
	Principal string `json:"Principal,omitempty"`

	// Event is the exact event JSON delivered to the function (nil when larger than MaxEvent;
	// EventSize still says how large).
	Event     json.RawMessage `json:"Event,omitempty"`
	EventSize int             `json:"EventSize"`

	// Result is the function's answer (buffered payload, or the error object when
	// FunctionError is set), bounded; nil for a streamed answer.
	Result        Bytes  `json:"Result"`
	FunctionError string `json:"FunctionError,omitempty"`
	ErrorType     string `json:"ErrorType,omitempty"`
	Streamed      bool   `json:"Streamed,omitempty"`
	Cold          bool   `json:"Cold,omitempty"`

	Status          int         `json:"Status"`
	ResponseHeaders http.Header `json:"ResponseHeaders,omitempty"`
	ResponseBody    Bytes       `json:"ResponseBody"`

	// Stage is the last stage the request reached; Decision is set when a stage refused it.
	Stage    string    `json:"Stage"`
	Decision *Decision `json:"Decision,omitempty"`
	Timing   Timing    `json:"Timing"`
}

// Bytes is a bounded copy of a body: the first bytes of it and its full size.
type Bytes struct {
	Data      []byte `json:"Data,omitempty"` // encoded as base64 by encoding/json
	Size      int    `json:"Size"`
	Truncated bool   `json:"Truncated,omitempty"`
}

// Timing is the time a request spent in each part. Queue is the wait for an environment,
// Init the cold start's init phase, Handler the function's run; Response the writing of the
// answer; Total the whole request as the gateway saw it.
type Timing struct {
	Admit    time.Duration `json:"Admit"`
	Auth     time.Duration `json:"Auth"`
	Event    time.Duration `json:"Event"`
	Queue    time.Duration `json:"Queue"`
	Init     time.Duration `json:"Init"`
	Handler  time.Duration `json:"Handler"`
	Response time.Duration `json:"Response"`
	Total    time.Duration `json:"Total"`
}

// Decision says why a stage refused a request. The caller still gets AWS's answer; this is for
// the server log and the console.
type Decision struct {
	Stage  string `json:"Stage"`
	Status int    `json:"Status"`
	// Reason is one line for people ("signature does not match", "no statement allows
	// lambda:InvokeFunctionUrl", ...).
	Reason string `json:"Reason"`
	// SigV4 is set when signature verification refused the request.
	SigV4 *SigV4Failure `json:"SigV4,omitempty"`
	// IAM is set when policy evaluation refused the request.
	IAM *IAMFailure `json:"IAM,omitempty"`
}

// SigV4Failure details a failed signature check.
type SigV4Failure struct {
	// Code is the AWS error code the check maps to (InvalidSignatureException, ...).
	Code string `json:"Code"`
	// Check names the check that failed (e.g. "signature", "query-order", "date-skew").
	Check       string `json:"Check,omitempty"`
	AccessKeyID string `json:"AccessKeyId,omitempty"`
	// CanonicalRequest and StringToSign are what furl computed, when the key was known.
	CanonicalRequest string `json:"CanonicalRequest,omitempty"`
	StringToSign     string `json:"StringToSign,omitempty"`
	// Claimed is what the request's Authorization header claims (algorithm, credential scope,
	// signed headers), its signature redacted.
	Claimed string `json:"Claimed,omitempty"`
}

// IAMFailure details a policy decision that denied a request.
type IAMFailure struct {
	Action string `json:"Action"`
	// ExplicitDeny is true when a Deny statement matched; Statement names it (Sid or index).
	ExplicitDeny bool   `json:"ExplicitDeny,omitempty"`
	Statement    string `json:"Statement,omitempty"`
	// Policy is the kind of policy that decided (identity or resource).
	Policy string `json:"Policy,omitempty"`
	// Condition names, for an implicit deny, the condition that kept an Allow statement from
	// matching (the statement, the condition and the request's values for its key).
	Condition string `json:"Condition,omitempty"`
}

// Bounds of what a record keeps.
const (
	MaxBody  = 64 << 10  // request, result and response bodies
	MaxEvent = 256 << 10 // the event JSON
)

// Cut returns a bounded view of b (shared, not copied: the callers never modify bodies after
// they are captured).
func Cut(b []byte, max int) Bytes {
	out := Bytes{Size: len(b)}
	if len(b) > max {
		out.Data, out.Truncated = b[:max:max], true
	} else if len(b) > 0 {
		out.Data = b[:len(b):len(b)]
	}
	return out
}

// Append adds p to a bounded body being collected (a streamed response).
func (b *Bytes) Append(p []byte, max int) {
	b.Size += len(p)
	if room := max - len(b.Data); room > 0 {
		if len(p) > room {
			p = p[:room]
			b.Truncated = true
		}
		b.Data = append(b.Data, p...)
	} else if len(p) > 0 {
		b.Truncated = true
	}
}

// secretHeader reports whether a canonical header name carries a secret.
func secretHeader(canon string) bool {
	switch canon {
	case "Authorization", "X-Amz-Security-Token", "Cookie", "X-Amz-Signature", "Proxy-Authorization":
		return true
	}
	return false
}

// RedactHeader returns h with secret values replaced. It returns h itself (not a copy) when
// nothing needs redacting, which is the common case and costs no allocation; the caller must
// not modify h afterwards.
func RedactHeader(h http.Header) http.Header {
	need := false
	for k := range h {
		if secretHeader(http.CanonicalHeaderKey(k)) {
			need = true
			break
		}
	}
	if !need {
		return h
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		if secretHeader(http.CanonicalHeaderKey(k)) {
			r := make([]string, len(vs))
			for i := range r {
				r[i] = Redacted
			}
			out[k] = r
			continue
		}
		out[k] = vs
	}
	return out
}

// RedactQuery returns a raw query string with the values of X-Amz-Signature,
// X-Amz-Security-Token and X-Amz-Credential replaced (presigned URLs).
func RedactQuery(q string) string {
	if !containsFold(q, "x-amz-") {
		return q
	}
	var out []byte
	for rest := q; ; {
		part := rest
		i := indexByte(rest, '&')
		if i >= 0 {
			part, rest = rest[:i], rest[i+1:]
		}
		k, _, hasV := cut(part, '=')
		if hasV && (equalFold(k, "X-Amz-Signature") || equalFold(k, "X-Amz-Security-Token") || equalFold(k, "X-Amz-Credential")) {
			part = k + "=" + Redacted
		}
		out = append(out, part...)
		if i < 0 {
			break
		}
		out = append(out, '&')
	}
	return string(out)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func cut(s string, c byte) (before, after string, found bool) {
	if i := indexByte(s, c); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if equalFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
