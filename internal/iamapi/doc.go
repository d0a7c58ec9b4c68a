// Package iamapi serves IAM and STS in the Query protocol (form-encoded Action=..., XML answers
// and errors as botocore and the AWS SDKs parse them) over the account kept by
// internal/identity: requests are SigV4-signed for service iam or sts and authenticated and
// authorized by identity.Service, with IAM enforced on every IAM action. It parses and
// validates parameters, writes the account's entities to the store, renders XML and maps
// errors to IAM's wire codes; every write invalidates identity's caches.
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
package iamapi
