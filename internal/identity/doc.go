// Package identity is furl's account: IAM users, access keys, groups, roles, managed (with
// versions) and inline policies, tags, and STS sessions, kept in the store.
//
// Service is the one authentication and authorization service of both HTTP planes:
//
//	Authenticate  SigV4 (internal/sigv4) with a key lookup over the root pair, users' access
//	              keys (Inactive or deleted: UnrecognizedClientException) and STS sessions
//	              (token required and compared; expired: ExpiredTokenException);
//	Authorize     the principal's identity policies (user inline + attached + groups', or the
//	              session's role's; the root allows everything) and the resource policy,
//	              evaluated by internal/iam, with aws:Principal*, aws:userid, aws:username,
//	              aws:PrincipalTag/*, aws:CurrentTime and aws:EpochTime filled in;
//	AuthorizerIAM the requestContext.authorizer.iam object of function-URL events.
//
// Key lookups and policy sets are cached briefly and invalidated by every IAM write.
//
// QueryAPI (NewQueryAPI) serves IAM and STS in the Query protocol (form-encoded Action=...,
// XML answers and errors as botocore and the AWS SDKs parse them), SigV4-signed for service
// iam or sts, with IAM enforced on every IAM action:
//
//	users:    CreateUser GetUser ListUsers DeleteUser, Tag/Untag/ListUserTags
//	keys:     CreateAccessKey ListAccessKeys UpdateAccessKey DeleteAccessKey GetAccessKeyLastUsed
//	groups:   CreateGroup GetGroup ListGroups ListGroupsForUser DeleteGroup AddUserToGroup RemoveUserFromGroup
//	roles:    CreateRole GetRole ListRoles DeleteRole UpdateAssumeRolePolicy, Tag/Untag/ListRoleTags,
//	          ListInstanceProfilesForRole
//	policies: Put/Get/Delete/List{User,Group,Role}Policy(ies), Attach/Detach/ListAttached{User,Group,Role}Policies,
//	          CreatePolicy GetPolicy DeletePolicy ListPolicies, Create/Get/List/Delete/SetDefaultPolicyVersion,
//	          SimulatePrincipalPolicy
//	STS:      GetCallerIdentity AssumeRole GetSessionToken
package identity
