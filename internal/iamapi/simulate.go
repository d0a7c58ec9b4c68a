package iamapi

import (
	"errors"
	"strconv"
	"strings"

	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/store"
)

// list reads Name.member.1, Name.member.2, ...
func (p params) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[name+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// simulatePrincipalPolicy evaluates actions on resources for a user or role with furl's real
// evaluator (the identity policies in the store, plus an optional resource policy and
// context entries): `aws iam simulate-principal-policy` answers why a URL or API call is
// allowed or denied.
func (s *API) simulatePrincipalPolicy(c *call) (*xnode, error) {
	src, err := c.params.required("PolicySourceArn")
	if err != nil {
		return nil, err
	}
	actions := c.params.list("ActionNames")
	if len(actions) == 0 {
		return nil, errMissing("actionNames")
	}
	resources := c.params.list("ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	if err := s.authorize(c, "iam:SimulatePrincipalPolicy", src); err != nil {
		return nil, err
	}
	p, err := s.simulatedPrincipal(c, src)
	if err != nil {
		return nil, err
	}
	var resPolicy []byte
	if rp := c.params.get("ResourcePolicy"); rp != "" {
		if _, err := iam.ParsePolicy([]byte(rp)); err != nil {
			return nil, errMalformed("%s", strings.TrimPrefix(err.Error(), "iam: "))
		}
		resPolicy = []byte(rp)
	}
	ctxKeys := map[string][]string{}
	for i := 1; ; i++ {
		prefix := "ContextEntries.member." + strconv.Itoa(i) + "."
		k := c.params.get(prefix + "ContextKeyName")
		if k == "" {
			break
		}
		ctxKeys[k] = append(ctxKeys[k], c.params.list(prefix+"ContextKeyValues")...)
	}
	var items []*xnode
	for _, a := range actions {
		for _, r := range resources {
			rc := make(map[string][]string, len(ctxKeys))
			for k, v := range ctxKeys {
				rc[k] = v
			}
			d, err := s.id.Authorize(c.ctx, p, &iam.Request{Action: a, Resource: r, Context: rc}, resPolicy)
			if err != nil {
				return nil, internal(err)
			}
			decision := "implicitDeny"
			switch {
			case d.Allowed:
				decision = "allowed"
			case d.ExplicitDeny:
				decision = "explicitDeny"
			}
			var matched []*xnode
			if d.Statement != "" {
				typ := "IAM Policy"
				if d.Policy == iam.PolicyResource {
					typ = "resource"
				}
				matched = append(matched, el("", tx("SourcePolicyId", d.Statement), tx("SourcePolicyType", typ)))
			}
			items = append(items, el("", tx("EvalActionName", a), tx("EvalResourceName", r), tx("EvalDecision", decision),
				members("MatchedStatements", matched), members("MissingContextValues", nil)))
		}
	}
	return el("", members("EvaluationResults", items), tbool("IsTruncated", false)), nil
}

// simulatedPrincipal is the principal a PolicySourceArn stands for: a user, or a session of a
// role.
func (s *API) simulatedPrincipal(c *call, arn string) (*iam.Principal, error) {
	prefix := "arn:aws:iam::" + s.account + ":"
	rest, ok := strings.CutPrefix(arn, prefix)
	if !ok {
		return nil, errInvalidInput("Invalid ARN: %s", arn)
	}
	name := identity.LastSegment(rest)
	switch {
	case rest == "root":
		return s.id.RootPrincipal(), nil
	case strings.HasPrefix(rest, "user/"):
		u, err := s.db.GetIAMUser(c.ctx, name)
		if errors.Is(err, store.ErrNoSuchEntity) || (err == nil && u.ARN != arn) {
			return nil, noSuchOwner(ownerUser, name)
		}
		if err != nil {
			return nil, internal(err)
		}
		return s.id.UserPrincipal(u.Name, u.ID, u.ARN), nil
	case strings.HasPrefix(rest, "role/"):
		r, err := s.db.GetIAMRole(c.ctx, name)
		if errors.Is(err, store.ErrNoSuchEntity) || (err == nil && r.ARN != arn) {
			return nil, noSuchOwner(ownerRole, name)
		}
		if err != nil {
			return nil, internal(err)
		}
		return s.id.SessionPrincipal(r.Name, r.ID, r.ARN, "simulation"), nil
	}
	return nil, errInvalidInput("PolicySourceArn must be a user or role ARN: %s", arn)
}
