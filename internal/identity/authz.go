package identity

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/furl/furl/internal/iam"
)

// This file is the one way every plane (function URLs, the Lambda API, furl's own /furl/v1
// endpoints, IAM and STS) asks an authorization question: a Question carries the principal,
// the action, the resource and its policy, and the HTTP request whose global condition keys
// apply; Decide builds the IAM request context the same way for all of them and evaluates it
// against the principal's identity policies and the resource policy, both parsed through the
// Service's one policy cache. Require turns a refusal into a *Denied, which each HTTP boundary
// maps to its own wire error.

// Question is one authorization question.
type Question struct {
	// Principal is the caller; nil is the anonymous caller of a NONE function URL.
	Principal *iam.Principal
	Action    string
	Resource  string
	// ResourceAccount owns the resource; "" means this account.
	ResourceAccount string
	// ResourcePolicy is the resource's policy document; nil or blank when it has none.
	ResourcePolicy []byte
	// HTTP is the request being authorized. Its facts (RequestFacts) fill the condition keys
	// that Facts leaves empty; nil leaves them to Facts alone.
	HTTP *http.Request
	// Facts are the request facts; the ones left empty are taken from HTTP (source IP, TLS,
	// user agent, referer), the Service's clock and region, and FunctionARN from Resource when
	// it names a function. Callers set the other service keys (FunctionURLAuthType,
	// InvokedViaFunctionURL) here.
	Facts iam.ContextInput
	// Keys are further condition keys (sts:ExternalId, ...), set over the computed ones.
	Keys map[string][]string
}

// Denied is the error of a request IAM refused. It is a domain error: each HTTP plane maps it
// to its wire error (Lambda's AccessDeniedException, IAM's AccessDenied, a function URL's 403).
type Denied struct {
	Request  *iam.Request
	Decision iam.Decision
}

func (e *Denied) Error() string {
	return "identity: denied: " + e.Decision.AccessDeniedMessage(e.Request) + ": " + e.Decision.Reason
}

// ResourcePolicyError is the failure of a question whose resource policy does not parse.
type ResourcePolicyError struct{ Err error }

func (e *ResourcePolicyError) Error() string { return "resource policy: " + e.Err.Error() }
func (e *ResourcePolicyError) Unwrap() error { return e.Err }

// SourceIP returns aws:SourceIp of r: the TCP peer, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not itself a trusted proxy (a malformed entry
// stops the walk and the peer is used).
func (s *Service) SourceIP(r *http.Request) string {
	peer := peerIP(r.RemoteAddr)
	if len(s.trusted) == 0 || !s.isTrusted(peer) {
		return peer
	}
	xff := strings.Join(r.Header.Values("X-Forwarded-For"), ",")
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		ip := strings.TrimSpace(parts[i])
		if net.ParseIP(ip) == nil {
			break
		}
		if !s.isTrusted(ip) {
			return ip
		}
	}
	return peer
}

func (s *Service) isTrusted(ip string) bool {
	p := net.ParseIP(ip)
	if p == nil {
		return false
	}
	for _, n := range s.trusted {
		if n.Contains(p) {
			return true
		}
	}
	return false
}

// peerIP returns the IP of a host:port address (IPv6 without brackets).
func peerIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// RequestFacts returns the condition facts of r every plane shares: aws:SourceIp (SourceIP),
// aws:SecureTransport, aws:UserAgent, aws:Referer, aws:CurrentTime/aws:EpochTime (the
// Service's clock) and aws:RequestedRegion (the Service's region).
func (s *Service) RequestFacts(r *http.Request) iam.ContextInput {
	return iam.ContextInput{
		SourceIP: s.SourceIP(r), SecureTransport: r.TLS != nil,
		UserAgent: r.Header.Get("User-Agent"), Referer: r.Header.Get("Referer"),
		Now: s.now(), RequestedRegion: s.region,
	}
}

// context builds the evaluation context of q.
func (s *Service) context(q *Question) map[string][]string {
	f := q.Facts
	if q.HTTP != nil {
		if f.SourceIP == "" {
			f.SourceIP = s.SourceIP(q.HTTP)
		}
		f.SecureTransport = f.SecureTransport || q.HTTP.TLS != nil
		if f.UserAgent == "" {
			f.UserAgent = q.HTTP.Header.Get("User-Agent")
		}
		if f.Referer == "" {
			f.Referer = q.HTTP.Header.Get("Referer")
		}
	}
	if f.Now.IsZero() {
		f.Now = s.now()
	}
	if f.RequestedRegion == "" {
		f.RequestedRegion = s.region
	}
	if f.FunctionARN == "" && isFunctionARN(q.Resource) {
		f.FunctionARN = q.Resource // lambda:FunctionArn on every plane, not only function URLs
	}
	m := iam.NewContext(f)
	for k, v := range q.Keys {
		m[k] = v
	}
	return m
}

// isFunctionARN reports whether arn names a Lambda function (qualified or not).
func isFunctionARN(arn string) bool {
	return strings.HasPrefix(arn, "arn:aws:lambda:") && strings.Contains(arn, ":function:")
}

// Decide answers q: the principal's identity policies and the resource policy, evaluated by
// internal/iam over the context Decide builds (RequestFacts, q.Facts, q.Keys, and the principal
// keys Authorize adds). It returns the decision and the request it evaluated (for messages and
// records). An error means no decision could be made (store failure, unparsable policy).
func (s *Service) Decide(ctx context.Context, q Question) (iam.Decision, *iam.Request, error) {
	req := &iam.Request{
		Principal: q.Principal, Action: q.Action, Resource: q.Resource,
		ResourceAccount: q.ResourceAccount, Context: s.context(&q),
	}
	d, err := s.Authorize(ctx, q.Principal, req, q.ResourcePolicy)
	return d, req, err
}

// Require is Decide as an error: nil when allowed, a *Denied when refused, else the failure.
func (s *Service) Require(ctx context.Context, q Question) error {
	d, req, err := s.Decide(ctx, q)
	if err != nil {
		return fmt.Errorf("identity: authorize %s: %w", q.Action, err)
	}
	if !d.Allowed {
		return &Denied{Request: req, Decision: d}
	}
	return nil
}
