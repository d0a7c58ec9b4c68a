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
	KeyFunctionURLAuthType   = "lambda:FunctionUrlAuthType"
	KeyInvokedViaFunctionURL = "lambda:InvokedViaFunctionUrl"
)

// ContextInput are the request facts the gateway and the control plane know.
type ContextInput struct {
	SourceIP        string // the caller's address, after the trusted-proxy rules
	SecureTransport bool
	Now             time.Time
	RequestedRegion string
	// FunctionURLAuthType is the URL config's AuthType ("NONE" / "AWS_IAM"); "" leaves the key
	// out (control-plane calls that are not about a URL).
	FunctionURLAuthType string
	// InvokedViaFunctionURL sets lambda:InvokedViaFunctionUrl=true (function-URL invocations).
	InvokedViaFunctionURL bool
}

// NewContext builds Request.Context from in: aws:SourceIp, aws:SecureTransport,
// aws:CurrentTime (RFC 3339 UTC), aws:EpochTime, aws:RequestedRegion and the Lambda keys.
func NewContext(in ContextInput) map[string][]string {
	m := make(map[string][]string, 7)
	if in.SourceIP != "" {
		m[KeySourceIP] = []string{in.SourceIP}
	}
	m[KeySecureTransport] = []string{strconv.FormatBool(in.SecureTransport)}
	if !in.Now.IsZero() {
		m[KeyCurrentTime] = []string{in.Now.UTC().Format(time.RFC3339)}
		m[KeyEpochTime] = []string{strconv.FormatInt(in.Now.Unix(), 10)}
	}
	if in.RequestedRegion != "" {
		m[KeyRequestedRegion] = []string{in.RequestedRegion}
	}
	if in.FunctionURLAuthType != "" {
		m[KeyFunctionURLAuthType] = []string{in.FunctionURLAuthType}
	}
	if in.InvokedViaFunctionURL {
		m[KeyInvokedViaFunctionURL] = []string{"true"}
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
