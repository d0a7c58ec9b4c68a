// Package iam parses IAM policy documents and evaluates requests against identity-based and
// resource-based policies, returning explained decisions. It is pure: no I/O, no clock of its
// own (aws:CurrentTime comes in the request context).
//
// This file is the contract the gateway, the control plane and the identity service use.
package iam

// Principal is an authenticated caller. A nil *Principal is the anonymous caller (AuthType NONE).
type Principal struct {
	// Type is "User", "AssumedRole", "Account" (root), "FederatedUser".
	Type      string
	AccountID string
	// ARN is the caller's ARN: arn:aws:iam::123:user/alice, arn:aws:sts::123:assumed-role/R/s,
	// arn:aws:iam::123:root.
	ARN string
	// PrincipalARN is aws:PrincipalArn: the role ARN for a role session, else ARN.
	PrincipalARN string
	// UserID is aws:userid: the user's unique id (AIDA...), "AROA...:session" for sessions, the
	// account id for root.
	UserID      string
	Username    string // IAM users only
	AccessKeyID string
	// SessionToken is set for temporary credentials.
	SessionToken string
}

// Effect of a decision or a statement.
type Effect string

const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Decision is the result of an evaluation, with the reason a person can read in logs and the
// statement that decided it (when one did).
type Decision struct {
	Allowed bool
	// ExplicitDeny is true when a Deny statement matched.
	ExplicitDeny bool
	Reason       string
	// Statement is the Sid (or index) of the deciding statement, if any.
	Statement string
	// Policy is the kind of policy that decided: PolicyIdentity or PolicyResource ("" when
	// nothing was evaluated). For an implicit deny it is the kind that was missing an Allow.
	Policy string
	// Unmet explains an implicit deny when an Allow statement matched the action and resource
	// (and principal) but one of its conditions did not hold: the statement, the condition
	// and the request's values for its key. Empty otherwise.
	Unmet string
}

// Request is one authorization question: may Principal perform Action on Resource?
type Request struct {
	Principal *Principal // nil = anonymous
	Action    string     // e.g. "lambda:InvokeFunctionUrl"
	Resource  string     // e.g. "arn:aws:lambda:us-east-1:000000000000:function:f:live"
	// ResourceAccount is the account that owns Resource (same- vs cross-account rules).
	ResourceAccount string
	// Context holds condition keys (aws:SourceIp, aws:CurrentTime, lambda:FunctionUrlAuthType,
	// ...) with their values. Keys are matched case-insensitively.
	Context map[string][]string
}
