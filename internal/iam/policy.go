package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Policy versions.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed IAM policy document. Its patterns, CIDRs, numbers and dates are compiled
// at parse time so evaluation does not allocate for most statements.
type Policy struct {
	Version    string
	ID         string
	Statements []*Statement
	raw        []byte
}

// Raw returns the document exactly as parsed.
func (p *Policy) Raw() []byte { return p.raw }

// HasPrincipal reports whether any statement has a Principal or NotPrincipal element (identity
// policies must not; resource policies must).
func (p *Policy) HasPrincipal() bool {
	for _, s := range p.Statements {
		if s.Principal != nil || s.NotPrincipal != nil {
			return true
		}
	}
	return false
}

// Statement is one parsed policy statement.
type Statement struct {
	Sid    string
	Effect Effect
	// Principal / NotPrincipal are nil when the element is absent.
	Principal    *PrincipalSet
	NotPrincipal *PrincipalSet
	// Actions / NotActions: exactly one of them is non-nil.
	Actions    []string
	NotActions []string
	// Resources / NotResources: at most one of them is non-nil; both nil matches any resource.
	Resources    []string
	NotResources []string
	Conditions   []Condition

	index      int
	actions    []pattern // compiled, lowercase
	notAction  bool
	resources  []arnPattern
	notRes     bool
	hasResElem bool
}

// Label is how a decision names the statement: its Sid, or "Statement[i]".
func (s *Statement) Label() string {
	if s.Sid != "" {
		return s.Sid
	}
	return fmt.Sprintf("Statement[%d]", s.index)
}

// PrincipalSet is a Principal or NotPrincipal element.
type PrincipalSet struct {
	// Any is true for "*" and {"AWS":"*"}.
	Any bool
	// AWS are ARNs; 12-digit account ids are normalised to arn:aws:iam::<id>:root.
	AWS       []string
	Service   []string
	Federated []string
	Canonical []string

	rootAccounts []string // accounts named as arn:<partition>:iam::<id>:root
}

// PolicyError is a malformed policy document. Its message is fit for a
// MalformedPolicyDocument / InvalidParameterValueException answer: it says what is wrong and
// where.
type PolicyError struct {
	Where string // e.g. "Statement[1].Condition", empty for the document
	Msg   string
}

func (e *PolicyError) Error() string {
	if e.Where == "" {
		return e.Msg
	}
	return e.Where + ": " + e.Msg
}

func perr(where, format string, args ...any) *PolicyError {
	return &PolicyError{Where: where, Msg: fmt.Sprintf(format, args...)}
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParsePolicy parses and validates a policy document. Errors are *PolicyError and describe
// what is wrong in a way fit for MalformedPolicyDocument messages.
func ParsePolicy(doc []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, perr("", "Syntax errors in policy: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, perr("", "Syntax errors in policy: trailing data after the document")
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, perr("", "Syntax errors in policy: the document must be a JSON object")
	}
	p := &Policy{raw: slices.Clone(doc)}
	for k, val := range top {
		switch k {
		case "Version":
			s, ok := val.(string)
			if !ok || (s != Version2012 && s != Version2008) {
				return nil, perr("Version", "The policy must use Version %q or %q, got %s", Version2012, Version2008, show(val))
			}
			p.Version = s
		case "Id":
			s, ok := val.(string)
			if !ok {
				return nil, perr("Id", "Id must be a string, got %s", show(val))
			}
			p.ID = s
		case "Statement":
		default:
			return nil, perr("", "Unknown field %s", k)
		}
	}
	st, ok := top["Statement"]
	if !ok {
		return nil, perr("", "Missing required field Statement")
	}
	var list []any
	switch t := st.(type) {
	case map[string]any:
		list = []any{t}
	case []any:
		list = t
	default:
		return nil, perr("Statement", "Statement must be an object or an array of objects, got %s", show(st))
	}
	vars := p.Version == Version2012
	sids := map[string]bool{}
	for i, e := range list {
		where := fmt.Sprintf("Statement[%d]", i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, perr(where, "a statement must be an object, got %s", show(e))
		}
		s, err := parseStatement(m, where, vars)
		if err != nil {
			return nil, err
		}
		s.index = i
		if s.Sid != "" {
			if sids[s.Sid] {
				return nil, perr(where, "Statement IDs (SID) in a single policy must be unique: %q", s.Sid)
			}
			sids[s.Sid] = true
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return fmt.Sprintf("%T", v)
	}
	return string(b)
}

func parseStatement(m map[string]any, where string, vars bool) (*Statement, error) {
	s := &Statement{}
	for k := range m {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return nil, perr(where, "Unknown field %s", k)
		}
	}
	if v, ok := m["Sid"]; ok {
		sid, ok := v.(string)
		if !ok {
			return nil, perr(where+".Sid", "Sid must be a string, got %s", show(v))
		}
		s.Sid = sid
	}
	switch e := m["Effect"].(type) {
	case nil:
		return nil, perr(where, "Missing required field Effect")
	case string:
		if e != string(Allow) && e != string(Deny) {
			return nil, perr(where+".Effect", "Invalid effect: %s (must be \"Allow\" or \"Deny\", case-sensitive)", e)
		}
		s.Effect = Effect(e)
	default:
		return nil, perr(where+".Effect", "Effect must be a string, got %s", show(e))
	}
	_, hasP := m["Principal"]
	_, hasNP := m["NotPrincipal"]
	if hasP && hasNP {
		return nil, perr(where, "a statement cannot have both Principal and NotPrincipal")
	}
	var err error
	if hasP {
		if s.Principal, err = parsePrincipal(m["Principal"], where+".Principal"); err != nil {
			return nil, err
		}
	}
	if hasNP {
		if s.NotPrincipal, err = parsePrincipal(m["NotPrincipal"], where+".NotPrincipal"); err != nil {
			return nil, err
		}
	}
	acts, notAct, hasA, err := element(m, "Action", where)
	if err != nil {
		return nil, err
	}
	if !hasA {
		return nil, perr(where, "Missing required field Action")
	}
	if s.notAction = notAct; notAct {
		s.NotActions = acts
	} else {
		s.Actions = acts
	}
	if len(acts) == 0 {
		return nil, perr(where, "Policy statement must contain actions.")
	}
	for _, act := range acts {
		if act != "*" && !strings.Contains(act, ":") {
			return nil, perr(where, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.: %q", act)
		}
		s.actions = append(s.actions, compilePattern(strings.ToLower(act), false))
	}
	res, notRes, hasR, err := element(m, "Resource", where)
	if err != nil {
		return nil, err
	}
	if s.notRes = notRes; notRes {
		s.NotResources = res
	} else {
		s.Resources = res
	}
	if hasR && len(res) == 0 {
		return nil, perr(where, "Policy statement must contain resources.")
	}
	s.hasResElem = hasR
	for _, rs := range res {
		s.resources = append(s.resources, compileARN(rs, vars))
	}
	if c, ok := m["Condition"]; ok {
		if s.Conditions, err = parseConditions(c, where+".Condition", vars); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func parsePrincipal(v any, where string) (*PrincipalSet, error) {
	ps := &PrincipalSet{}
	switch t := v.(type) {
	case string:
		if t != "*" {
			return nil, perr(where, "Invalid principal in policy: %q (a string principal must be \"*\")", t)
		}
		ps.Any = true
		return ps, nil
	case map[string]any:
		if len(t) == 0 {
			return nil, perr(where, "Invalid principal in policy: empty principal")
		}
		for k, raw := range t {
			vals, err := stringList(raw, where+"."+k)
			if err != nil {
				return nil, err
			}
			if len(vals) == 0 {
				return nil, perr(where+"."+k, "Invalid principal in policy: empty list")
			}
			switch k {
			case "AWS":
				for _, a := range vals {
					switch {
					case a == "*":
						ps.Any = true
					case isAccountID(a):
						ps.AWS = append(ps.AWS, "arn:aws:iam::"+a+":root")
					case strings.HasPrefix(a, "arn:") && strings.Count(a, ":") >= 5:
						if strings.ContainsAny(a, "*?") {
							return nil, perr(where+".AWS", "Invalid principal in policy: %q (wildcards are not allowed in principal ARNs; use the aws:PrincipalArn condition key)", a)
						}
						ps.AWS = append(ps.AWS, a)
					default:
						return nil, perr(where+".AWS", "Invalid principal in policy: %q", a)
					}
				}
			case "Service":
				ps.Service = append(ps.Service, vals...)
			case "Federated":
				ps.Federated = append(ps.Federated, vals...)
			case "CanonicalUser":
				ps.Canonical = append(ps.Canonical, vals...)
			default:
				return nil, perr(where, "Invalid principal in policy: unknown principal type %q", k)
			}
		}
		for _, a := range ps.AWS {
			if parts, ok := splitARN(a); ok && parts[2] == "iam" && parts[5] == "root" {
				ps.rootAccounts = append(ps.rootAccounts, parts[4])
			}
		}
		return ps, nil
	default:
		return nil, perr(where, "Invalid principal in policy: %s", show(v))
	}
}

// element reads an element that may instead be written as Not<name> (Action/NotAction,
// Resource/NotResource): its values, whether it was the Not form, and whether either was there.
func element(m map[string]any, name, where string) (vals []string, not, has bool, err error) {
	v, hasPos := m[name]
	nv, hasNot := m["Not"+name]
	switch {
	case hasPos && hasNot:
		return nil, false, false, perr(where, "a statement cannot have both %s and Not%s", name, name)
	case hasPos:
		vals, err = stringList(v, where+"."+name)
	case hasNot:
		vals, err = stringList(nv, where+".Not"+name)
	}
	return vals, hasNot, hasPos || hasNot, err
}

// stringList accepts a string or an array of strings.
func stringList(v any, where string) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, perr(where, "expected a string or an array of strings, found %s", show(e))
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, perr(where, "expected a string or an array of strings, found %s", show(v))
	}
}
