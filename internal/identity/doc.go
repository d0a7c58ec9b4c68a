// Package identity is furl's account: IAM users, access keys, groups, roles, managed (with
// versions) and inline policies, tags, and STS sessions, kept in the store, and the principals
// they sign as.
//
// Service is the one authentication and authorization service of every HTTP plane:
//
//	Authenticate  SigV4 (internal/sigv4) with a key lookup over the root pair, users' access
//	              keys (Inactive or deleted: UnrecognizedClientException) and STS sessions
//	              (token required and compared; expired: ExpiredTokenException);
//	Authorize     the principal's identity policies (user inline + attached + groups', or the
//	              session's role's; the root allows everything) and the resource policy,
//	              evaluated by internal/iam, with aws:Principal*, aws:userid, aws:username,
//	              aws:PrincipalTag/*, aws:CurrentTime and aws:EpochTime filled in;
//	Decide        one Question (principal, action, resource, resource policy, the HTTP
//	              request, service keys) asked the same way by every plane (authz.go).
//
// Key lookups and policy sets are cached briefly and invalidated by every IAM write
// (Invalidate). The IAM and STS wire API over this account is internal/iamapi.
package identity
