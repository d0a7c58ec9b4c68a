package iam

import (
	"strconv"
	"time"
)

// Condition keys furl fills in (besides the aws:Principal* keys Evaluate derives from the
// Principal).
const (
	KeySourceIP              = "aws:SourceIp"
	KeySecureTransport       = "aws:SecureTransport"
	KeyCurrentTime           = "aws:CurrentTime"
	KeyEpochTime             = "aws:EpochTime"
	KeyRequestedRegion       = "aws:RequestedRegion"
	KeyUserAgent             = "aws:UserAgent"
	KeyReferer               = "aws:Referer"
	KeyFunctionARN           = "lambda:FunctionArn"
	KeyFunctionURLAuthType   = "lambda:FunctionUrlAuthType"
	KeyInvokedViaFunctionURL = "lambda:InvokedViaFunctionUrl"
)

// ContextInput are the request facts every plane knows about a request.
type ContextInput struct {
	SourceIP        string // the caller's address, after the trusted-proxy rules
	SecureTransport bool
	Now             time.Time
	RequestedRegion string
	UserAgent       string // "" leaves aws:UserAgent out
	Referer         string // "" leaves aws:Referer out
	// FunctionARN sets lambda:FunctionArn (function-URL requests).
	FunctionARN string
	// FunctionURLAuthType is the URL config's AuthType ("NONE" / "AWS_IAM"); "" leaves the key
	// out (control-plane calls that are not about a URL).
	FunctionURLAuthType string
	// InvokedViaFunctionURL sets lambda:InvokedViaFunctionUrl=true (function-URL invocations).
	InvokedViaFunctionURL bool
}

// NewContext builds Request.Context from in: aws:SourceIp, aws:SecureTransport,
// aws:CurrentTime (RFC 3339 UTC), aws:EpochTime, aws:RequestedRegion, aws:UserAgent,
// aws:Referer and the Lambda keys; empty facts are left out. Every value slice shares one
// backing array (one allocation for the values, one for the map).
func NewContext(in ContextInput) map[string][]string {
	vals := new([10]string)
	m := make(map[string][]string, 10)
	n := 0
	put := func(k, val string) {
		vals[n] = val
		m[k] = vals[n : n+1 : n+1]
		n++
	}
	if in.SourceIP != "" {
		put(KeySourceIP, in.SourceIP)
	}
	put(KeySecureTransport, strconv.FormatBool(in.SecureTransport))
	if !in.Now.IsZero() {
		put(KeyCurrentTime, in.Now.UTC().Format(time.RFC3339))
		put(KeyEpochTime, strconv.FormatInt(in.Now.Unix(), 10))
	}
	if in.RequestedRegion != "" {
		put(KeyRequestedRegion, in.RequestedRegion)
	}
	if in.UserAgent != "" {
		put(KeyUserAgent, in.UserAgent)
	}
	if in.Referer != "" {
		put(KeyReferer, in.Referer)
	}
	if in.FunctionARN != "" {
		put(KeyFunctionARN, in.FunctionARN)
	}
	if in.FunctionURLAuthType != "" {
		put(KeyFunctionURLAuthType, in.FunctionURLAuthType)
	}
	if in.InvokedViaFunctionURL {
		put(KeyInvokedViaFunctionURL, "true")
	}
	return m
}

// ParseIdentityPolicy is ParsePolicy for identity-based policies (user, group, role
// permission policies): it also rejects Principal/NotPrincipal and requires Resource or
// NotResource, with IAM's messages.
func ParseIdentityPolicy(doc []byte) (*Policy, error) {
	p, err := ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	for _, s := range p.Statements {
		if s.Principal != nil || s.NotPrincipal != nil {
			return nil, perr("Statement["+strconv.Itoa(s.index)+"]", "Policy document should not specify a principal.")
		}
		if !s.hasResElem {
			return nil, perr("Statement["+strconv.Itoa(s.index)+"]", "Policy statement must contain resources.")
		}
	}
	return p, nil
}

// ParseResourcePolicy is ParsePolicy for resource-based policies: every statement needs a
// Principal or NotPrincipal.
func ParseResourcePolicy(doc []byte) (*Policy, error) {
	p, err := ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	for _, s := range p.Statements {
		if s.Principal == nil && s.NotPrincipal == nil {
			return nil, perr("Statement["+strconv.Itoa(s.index)+"]", "Missing required field Principal")
		}
	}
	return p, nil
}
