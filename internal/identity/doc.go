// Package identity is furl's account: IAM users, access keys, groups, roles, managed and inline
// policies, and STS sessions, kept in the store. It serves the IAM and STS Query APIs
// (NewQueryAPI), and gives both HTTP planes one authentication and authorization service
// (Service): SigV4 key lookup over root, user and session credentials, identity-policy
// gathering for iam.Evaluate, and the requestContext.authorizer.iam object of URL events.
package identity
