package iam

import (
	"strings"
)

// Policy kinds named in decisions.
const (
	PolicyIdentity = "identity"
	PolicyResource = "resource"
)

// Principal types (Principal.Type) with special evaluation rules besides the contract's
// "User", "AssumedRole", "Account", "FederatedUser".
const (
	// TypeAccount is the account root user: within its own account it needs no identity
	// policy (only an explicit deny stops it).
	TypeAccount = "Account"
	// TypeService is an AWS service principal (ARN = "cloudfront.amazonaws.com" ...): it is
	// matched by {"Service": ...} and has no identity policies.
	TypeService = "Service"
)

type principalMatch uint8

const (
	pmNone    principalMatch = iota
	pmAccount                // matched only through the account (arn:aws:iam::<acct>:root): delegates to IAM
	pmDirect                 // "*", the principal's own ARN or its role ARN
)

// Evaluate decides req against the principal's identity-based policies and the resource's
// resource-based policy (nil when there is none), following AWS's evaluation logic:
//
//   - any matching Deny, in either kind of policy, is an explicit deny;
//   - same account: an identity Allow or a resource-policy Allow naming the principal (or "*")
//     suffices; a resource Allow naming only the account delegates to identity policies;
//   - cross account: the identity policies and the resource policy must both allow;
//   - anonymous (nil Principal): only resource statements with Principal "*" / {"AWS":"*"}
//     (or a NotPrincipal that does not list "*") can allow; identity policies are ignored;
//   - otherwise an implicit deny.
//
// The aws:Principal* / aws:userid / aws:username keys are derived from req.Principal when the
// context does not set them; aws:CurrentTime and the rest come from req.Context.
func Evaluate(req *Request, identity []*Policy, resource *Policy) Decision {
	d := evaluate(req, identity, resource)
	if !d.Allowed && !d.ExplicitDeny && req != nil {
		d.Unmet = unmet(req, identity, resource)
	}
	return d
}

// unmet finds the first Allow statement that matched the request but for a condition, and
// describes that condition (only computed for implicit denies).
func unmet(req *Request, identity []*Policy, resource *Policy) string {
	ec := newEvalCtx(req)
	describe := func(kind string, s *Statement) string {
		c := s.unmetCondition(ec)
		if c == nil {
			return ""
		}
		have, ok := ec.lookup(c.Key)
		got := "the request has no " + c.Key
		if ok {
			got = "the request has " + c.Key + " = " + strings.Join(have, ", ")
		}
		return "statement " + quote(s.Label()) + " of the " + kind + " policy: condition " + c.Operator + " " + c.Key +
			" [" + strings.Join(c.Values, ", ") + "] is not met; " + got
	}
	if p := req.Principal; p != nil && p.Type != TypeService {
		for _, pol := range identity {
			if pol == nil {
				continue
			}
			for _, s := range pol.Statements {
				if s.Effect == Allow {
					if u := describe("identity-based", s); u != "" {
						return u
					}
				}
			}
		}
	}
	if resource != nil {
		for _, s := range resource.Statements {
			if s.Effect == Allow && s.principalMatch(req.Principal) != pmNone {
				if u := describe("resource-based", s); u != "" {
					return u
				}
			}
		}
	}
	return ""
}

func evaluate(req *Request, identity []*Policy, resource *Policy) Decision {
	if req == nil {
		return Decision{Reason: "implicit deny: no request"}
	}
	ec := newEvalCtx(req)
	p := req.Principal
	resAcct := req.ResourceAccount
	if resAcct == "" {
		if parts, ok := splitARN(req.Resource); ok {
			resAcct = parts[4]
		}
	}

	var idAllow, resAllow *Statement
	resMatch := pmNone
	usesIdentity := p != nil && p.Type != TypeService
	if usesIdentity {
		for _, pol := range identity {
			if pol == nil {
				continue
			}
			for _, s := range pol.Statements {
				if s.Effect == Allow && idAllow != nil {
					continue // one Allow is enough; keep scanning for denies only
				}
				if !s.applies(ec) {
					continue
				}
				if s.Effect == Deny {
					return Decision{ExplicitDeny: true, Policy: PolicyIdentity, Statement: s.Label(),
						Reason: "explicit deny by statement " + quote(s.Label()) + " of an identity-based policy"}
				}
				idAllow = s
			}
		}
	}
	if resource != nil {
		for _, s := range resource.Statements {
			if s.Effect == Allow && resMatch == pmDirect {
				continue
			}
			m := s.principalMatch(p)
			if m == pmNone || !s.applies(ec) {
				continue
			}
			if s.Effect == Deny {
				return Decision{ExplicitDeny: true, Policy: PolicyResource, Statement: s.Label(),
					Reason: "explicit deny by statement " + quote(s.Label()) + " of the resource-based policy"}
			}
			if m > resMatch {
				resAllow, resMatch = s, m
			}
		}
	}

	switch {
	case p == nil:
		if resMatch == pmDirect {
			return allowed(PolicyResource, resAllow, "allowed for an anonymous caller by statement "+quote(resAllow.Label())+" of the resource-based policy")
		}
		return Decision{Policy: PolicyResource, Reason: "implicit deny: no resource-based policy statement allows " + req.Action + " for an anonymous caller (Principal \"*\")"}
	case p.Type == TypeService:
		if resMatch == pmDirect {
			return allowed(PolicyResource, resAllow, "allowed for service principal "+p.ARN+" by statement "+quote(resAllow.Label())+" of the resource-based policy")
		}
		return Decision{Policy: PolicyResource, Reason: "implicit deny: no resource-based policy statement allows " + req.Action + " for service principal " + p.ARN}
	}
	root := p.Type == TypeAccount
	idReason := ""
	if idAllow != nil {
		idReason = "statement " + quote(idAllow.Label()) + " of an identity-based policy"
	} else if root {
		idReason = "the account root user's implicit permissions"
	}
	idOK := idAllow != nil || root
	if resAcct == "" || p.AccountID == resAcct {
		if resMatch == pmDirect {
			return allowed(PolicyResource, resAllow, "allowed by statement "+quote(resAllow.Label())+" of the resource-based policy")
		}
		if idOK {
			d := allowed(PolicyIdentity, idAllow, "allowed by "+idReason)
			return d
		}
		if resMatch == pmAccount {
			return Decision{Policy: PolicyIdentity, Reason: "implicit deny: resource-based policy statement " + quote(resAllow.Label()) +
				" names only the account, which delegates to identity-based policies, and no identity-based policy allows " + req.Action}
		}
		return Decision{Policy: PolicyIdentity, Reason: "implicit deny: no identity-based or resource-based policy allows " + req.Action}
	}
	// Cross-account: both sides must allow.
	switch {
	case !idOK && resMatch == pmNone:
		return Decision{Policy: PolicyIdentity, Reason: "implicit deny (cross-account): neither an identity-based policy nor the resource-based policy allows " + req.Action}
	case !idOK:
		return Decision{Policy: PolicyIdentity, Reason: "implicit deny (cross-account): resource-based policy statement " + quote(resAllow.Label()) + " allows, but no identity-based policy of account " + p.AccountID + " allows " + req.Action}
	case resMatch == pmNone:
		return Decision{Policy: PolicyResource, Reason: "implicit deny (cross-account): " + idReason + " allows, but no resource-based policy statement of account " + resAcct + " allows " + req.Action + " for this principal"}
	}
	return allowed(PolicyResource, resAllow, "allowed (cross-account) by "+idReason+" and statement "+quote(resAllow.Label())+" of the resource-based policy")
}

func allowed(kind string, s *Statement, reason string) Decision {
	d := Decision{Allowed: true, Policy: kind, Reason: reason}
	if s != nil {
		d.Statement = s.Label()
	}
	return d
}

func quote(s string) string { return "\"" + s + "\"" }

// unmetCondition returns the first condition that fails when the statement's Action and
// Resource match; nil when they do not match or every condition holds.
func (s *Statement) unmetCondition(ec *evalCtx) *Condition {
	if !s.matchesActionResource(ec) {
		return nil
	}
	for i := range s.Conditions {
		if !s.Conditions[i].eval(ec) {
			return &s.Conditions[i]
		}
	}
	return nil
}

// applies reports whether the statement's Action, Resource and Condition match (Principal is
// checked separately).
func (s *Statement) applies(ec *evalCtx) bool {
	if !s.matchesActionResource(ec) {
		return false
	}
	for i := range s.Conditions {
		if !s.Conditions[i].eval(ec) {
			return false
		}
	}
	return true
}

// matchesActionResource reports whether the statement's Action and Resource match.
func (s *Statement) matchesActionResource(ec *evalCtx) bool {
	hit := false
	for i := range s.actions {
		if s.actions[i].match(ec.action, ec) {
			hit = true
			break
		}
	}
	if hit == s.notAction {
		return false
	}
	if s.hasResElem {
		hit = false
		for i := range s.resources {
			r := &s.resources[i]
			var m bool
			switch {
			case r.whole.any:
				m = true
			case r.isARN:
				m = r.matchParts(&ec.resParts, ec.resIsARN, ec)
			default:
				m = r.whole.match(ec.req.Resource, ec)
			}
			if m {
				hit = true
				break
			}
		}
		if hit == s.notRes {
			return false
		}
	}
	return true
}

// principalMatch says whether a resource-policy statement applies to p.
func (s *Statement) principalMatch(p *Principal) principalMatch {
	switch {
	case s.Principal != nil:
		return s.Principal.match(p)
	case s.NotPrincipal != nil:
		if s.NotPrincipal.match(p) != pmNone {
			return pmNone
		}
		return pmDirect
	}
	return pmNone
}

func (ps *PrincipalSet) match(p *Principal) principalMatch {
	if ps.Any {
		return pmDirect
	}
	if p == nil {
		return pmNone
	}
	if p.Type == TypeService {
		for _, s := range ps.Service {
			if s == p.ARN {
				return pmDirect
			}
		}
		return pmNone
	}
	best := pmNone
	for _, a := range ps.AWS {
		if a == p.ARN || (p.PrincipalARN != "" && a == p.PrincipalARN) {
			return pmDirect
		}
	}
	if p.AccountID != "" {
		for _, r := range ps.rootAccounts {
			if r == p.AccountID {
				best = pmAccount
				break
			}
		}
	}
	for _, f := range ps.Federated {
		// An empty entry names nobody (it must not match a principal without a PrincipalARN).
		if f != "" && (f == p.ARN || f == p.PrincipalARN) {
			return pmDirect
		}
	}
	return best
}

// AccessDeniedMessage renders the decision the way AWS words AccessDeniedException:
// "User: <arn> is not authorized to perform: <action> on resource: <resource> because no
// identity-based policy allows the <action> action" (or "with an explicit deny in a ...").
func (d Decision) AccessDeniedMessage(req *Request) string {
	who := "anonymous"
	if req.Principal != nil && req.Principal.ARN != "" {
		who = req.Principal.ARN
	}
	var why string
	switch {
	case d.ExplicitDeny && d.Policy == PolicyResource:
		why = "with an explicit deny in a resource-based policy"
	case d.ExplicitDeny:
		why = "with an explicit deny in an identity-based policy"
	case d.Policy == PolicyResource:
		why = "because no resource-based policy allows the " + req.Action + " action"
	default:
		why = "because no identity-based policy allows the " + req.Action + " action"
	}
	return "User: " + who + " is not authorized to perform: " + req.Action + " on resource: " + req.Resource + " " + why
}

// evalCtx is one evaluation's view of the request: the lowercased action and the condition
// keys, with the principal-derived ones filled in.
type evalCtx struct {
	req    *Request
	action string
	// the resource split into its six ARN parts, once
	resParts [6]string
	resIsARN bool
	// principal-derived keys, one value each ("" when not applicable)
	pArn, pAcct, pType, pUID, pUser, pSvc [1]string
}

func newEvalCtx(req *Request) *evalCtx {
	ec := &evalCtx{req: req, action: strings.ToLower(req.Action)}
	ec.resParts, ec.resIsARN = splitARN(req.Resource)
	if p := req.Principal; p != nil {
		ec.pArn[0] = p.PrincipalARN
		if ec.pArn[0] == "" {
			ec.pArn[0] = p.ARN
		}
		ec.pAcct[0], ec.pType[0], ec.pUID[0], ec.pUser[0] = p.AccountID, p.Type, p.UserID, p.Username
		if p.Type == TypeService {
			ec.pSvc[0] = p.ARN
		}
	}
	return ec
}

// lookup finds a condition key (case-insensitively) in the request context, then among the
// keys derived from the principal.
func (ec *evalCtx) lookup(key string) ([]string, bool) {
	for k, v := range ec.req.Context {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	if ec.req.Principal == nil {
		return nil, false
	}
	var v []string
	switch {
	case strings.EqualFold(key, "aws:PrincipalArn"):
		v = ec.pArn[:]
	case strings.EqualFold(key, "aws:PrincipalAccount"):
		v = ec.pAcct[:]
	case strings.EqualFold(key, "aws:PrincipalType"):
		v = ec.pType[:]
	case strings.EqualFold(key, "aws:userid"):
		v = ec.pUID[:]
	case strings.EqualFold(key, "aws:username"):
		v = ec.pUser[:]
	case strings.EqualFold(key, "aws:PrincipalServiceName"):
		v = ec.pSvc[:]
	default:
		return nil, false
	}
	if v[0] == "" {
		return nil, false
	}
	return v, true
}

// variable is the value of a policy variable ${key}: the first value of the key.
func (ec *evalCtx) variable(key string) (string, bool) {
	v, ok := ec.lookup(key)
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}
