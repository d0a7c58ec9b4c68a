package iamapi

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// IAM's policy size quotas (IAM User Guide, "IAM and AWS STS quotas"). IAM counts characters and
// does not count white space.
const (
	maxUserInlinePolicies  = 2048  // aggregate of a user's inline policies
	maxGroupInlinePolicies = 5120  // aggregate of a group's inline policies
	maxRoleInlinePolicies  = 10240 // aggregate of a role's inline policies
	maxManagedPolicy       = 6144  // one managed policy version
	maxTrustPolicy         = 2048  // a role's trust policy (ACLSizePerRole)
	maxPolicyDocument      = 131072
)

// policySize is a policy's size as IAM counts it against its quotas: characters other than
// white space.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// inlineQuota is the aggregate size quota of o's inline policies.
func inlineQuota(o owner) int {
	switch o {
	case ownerGroup:
		return maxGroupInlinePolicies
	case ownerRole:
		return maxRoleInlinePolicies
	}
	return maxUserInlinePolicies
}

// checkDocumentShape applies the service model's constraint on every PolicyDocument member:
// 1 to 131,072 characters of tab, line feed, carriage return and U+0020..U+00FF.
func checkDocumentShape(member, doc string) error {
	ok := doc != "" && utf8.RuneCountInString(doc) <= maxPolicyDocument
	if ok {
		ok = strings.IndexFunc(doc, func(r rune) bool {
			return !(r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xFF))
		}) < 0
	}
	if ok {
		return nil
	}
	shown := doc
	if len(shown) > 64 {
		shown = shown[:64] + "..."
	}
	return errValidation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d and satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+", shown, member, maxPolicyDocument)
}

// checkManagedSize enforces the managed policy quota.
func checkManagedSize(doc string) error {
	if policySize(doc) > maxManagedPolicy {
		return errLimit("Cannot exceed quota for PolicySize: %d", maxManagedPolicy)
	}
	return nil
}

// checkTrustSize enforces the role trust policy quota.
func checkTrustSize(doc string) error {
	if policySize(doc) > maxTrustPolicy {
		return errLimit("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicy)
	}
	return nil
}

// checkInlineQuota enforces the aggregate quota of o's inline policies when doc is put as policy
// name (replacing any policy of that name).
func (s *API) checkInlineQuota(c *call, o owner, ownerName, name, doc string) error {
	total := policySize(doc)
	quota := inlineQuota(o)
	if total <= quota {
		others, err := s.db.ListInlinePolicies(c.ctx, o.kind, ownerName)
		if err != nil {
			return internal(err)
		}
		for _, p := range others {
			if p.Name != name {
				total += policySize(p.Document)
			}
		}
	}
	if total > quota {
		return errLimit("Maximum policy size of %d bytes exceeded for %s %s", quota, o.label, ownerName)
	}
	return nil
}
