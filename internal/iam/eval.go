package iam

import "errors"

// Policy is a parsed IAM policy document.
type Policy struct {
	raw []byte
}

// ParsePolicy parses and validates a policy document. Errors describe what is wrong in a way
// fit for MalformedPolicyDocument messages.
func ParsePolicy(doc []byte) (*Policy, error) {
	return nil, errors.New("iam: policy parsing not implemented yet")
}

// Evaluate decides req against the principal's identity-based policies and the resource's
// resource-based policy (nil when there is none), following AWS's evaluation logic.
func Evaluate(req *Request, identity []*Policy, resource *Policy) Decision {
	return Decision{Reason: "not implemented"}
}
