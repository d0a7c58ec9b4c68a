package iamapi

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/store"
)

// Session duration bounds of AssumeRole (seconds).
const (
	minSessionDuration     = 900
	maxSessionDuration     = 43200
	defaultSessionDuration = 3600
)

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (s *API) getCallerIdentity(c *call) (*xnode, error) {
	// GetCallerIdentity needs no permission, as in AWS.
	return el("", tx("Arn", c.p.ARN), tx("UserId", c.p.UserID), tx("Account", c.p.AccountID)), nil
}

// roleNameFromARN returns the role name of arn:aws:iam::<acct>:role/<path/>name, and whether
// the ARN is of this account's roles.
func (s *API) roleNameFromARN(arn string) (string, bool) {
	prefix := "arn:aws:iam::" + s.account + ":role/"
	if !strings.HasPrefix(arn, prefix) {
		return "", false
	}
	return identity.LastSegment(arn), true
}

func (s *API) assumeRole(c *call) (*xnode, error) {
	roleARN, err := c.params.required("RoleArn")
	if err != nil {
		return nil, err
	}
	if len(roleARN) < 20 || len(roleARN) > 2048 {
		return nil, errValidation("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20", roleARN)
	}
	session, err := c.params.required("RoleSessionName")
	if err != nil {
		return nil, err
	}
	if !sessionNameRE.MatchString(session) {
		return nil, errValidation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", session)
	}
	duration := defaultSessionDuration
	if v := c.params.get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errValidation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", v)
		}
		if n < minSessionDuration {
			return nil, errValidation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", n, minSessionDuration)
		}
		if n > maxSessionDuration {
			return nil, errValidation("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", n, maxSessionDuration)
		}
		duration = n
	}
	if c.params.has("Policy") || c.params.has("PolicyArns.member.1.arn") {
		// Session policies would narrow the session; furl does not model them, so refusing is
		// safer than granting more than asked.
		return nil, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "Session policies are not supported by furl.")
	}
	if c.params.has("Tags.member.1.Key") || c.params.has("TransitiveTagKeys.member.1") {
		return nil, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "Session tags are not supported by furl.")
	}
	denied := func() error {
		return awserr.Newf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.p.ARN, roleARN)
	}
	if c.p.Type == identity.TypeAccount {
		return nil, awserr.New(http.StatusForbidden, "AccessDenied", "Roles may not be assumed by root accounts.")
	}
	name, ok := s.roleNameFromARN(roleARN)
	if !ok {
		return nil, denied()
	}
	role, err := s.db.GetIAMRole(c.ctx, name)
	if errors.Is(err, store.ErrNoSuchEntity) || (err == nil && role.ARN != roleARN) {
		return nil, denied()
	}
	if err != nil {
		return nil, internal(err)
	}
	allowed, err := s.trustAllows(c, role, roleARN)
	if err != nil {
		return nil, internal(err)
	}
	if !allowed {
		return nil, denied()
	}
	if c.p.Type == identity.TypeAssumedRole && duration > 3600 {
		return nil, errValidation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if duration > role.MaxSessionDuration {
		return nil, errValidation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	now := s.now().UTC()
	t := store.STSSession{RoleName: role.Name, RoleID: role.ID, RoleARN: role.ARN, SessionName: session,
		SourceARN: c.p.ARN, Created: now, Expires: now.Add(time.Duration(duration) * time.Second).Truncate(time.Second)}
	creds, err := s.issueSession(c, &t)
	if err != nil {
		return nil, err
	}
	ap := s.id.SessionPrincipal(role.Name, role.ID, role.ARN, session)
	return el("", creds, el("AssumedRoleUser", tx("AssumedRoleId", ap.UserID), tx("Arn", ap.ARN))), nil
}

// trustAllows decides sts:AssumeRole for the caller: the role's trust policy must admit the
// caller (by its ARN, its role, or its account), and the usual same-account evaluation of the
// caller's identity policies together with the trust policy must allow. A trust policy that
// names only the account thus delegates to the caller's identity policies, as in AWS.
func (s *API) trustAllows(c *call, role store.IAMRole, roleARN string) (bool, error) {
	trust, err := s.id.ParsePolicy(role.TrustPolicy)
	if err != nil {
		return false, err
	}
	keys := map[string][]string{}
	if v := c.params.get("ExternalId"); v != "" {
		keys["sts:ExternalId"] = []string{v}
	}
	keys["sts:RoleSessionName"] = []string{c.params.get("RoleSessionName")}
	full, req, err := s.id.Decide(c.ctx, identity.Question{Principal: c.p, Action: "sts:AssumeRole", Resource: roleARN,
		ResourcePolicy: []byte(role.TrustPolicy), HTTP: c.r, Keys: keys})
	if err != nil || !full.Allowed {
		return false, err
	}
	// Does the trust policy name the caller at all? Evaluate it as if cross-account with an
	// identity policy that allows everything: then only the trust policy's Allow counts.
	all, err := s.id.ParsePolicy(identity.AllowAll)
	if err != nil {
		return false, err
	}
	cross := *req
	cross.ResourceAccount = "trust-policy"
	return iam.Evaluate(&cross, []*iam.Policy{all}, trust).Allowed, nil
}

// GetSessionToken bounds (seconds): users may ask for up to 36 hours, the root for 1 hour.
const (
	maxUserSessionToken     = 129600
	maxRootSessionToken     = 3600
	defaultUserSessionToken = 43200
)

// getSessionToken gives a user (or the root) temporary credentials that act as itself.
func (s *API) getSessionToken(c *call) (*xnode, error) {
	if c.p.SessionToken != "" || c.p.Type == identity.TypeAssumedRole {
		return nil, awserr.New(http.StatusForbidden, "AccessDenied", "Cannot call GetSessionToken with session credentials")
	}
	if c.params.has("SerialNumber") || c.params.has("TokenCode") {
		return nil, awserr.New(http.StatusBadRequest, "InvalidParameterValue", "MFA is not supported by furl.")
	}
	duration, max := defaultUserSessionToken, maxUserSessionToken
	if c.p.Type == identity.TypeAccount {
		duration, max = maxRootSessionToken, maxRootSessionToken
	}
	if v := c.params.get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minSessionDuration || n > maxUserSessionToken {
			return nil, errValidation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between %d and %d", v, minSessionDuration, maxUserSessionToken)
		}
		duration = min(n, max)
	}
	now := s.now().UTC()
	t := store.STSSession{SessionName: c.p.Username, SourceARN: c.p.ARN, Created: now,
		Expires: now.Add(time.Duration(duration) * time.Second).Truncate(time.Second)}
	creds, err := s.issueSession(c, &t)
	if err != nil {
		return nil, err
	}
	return el("", creds), nil
}

// issueSession gives t fresh temporary credentials through identity and returns its
// Credentials element.
func (s *API) issueSession(c *call, t *store.STSSession) (*xnode, error) {
	if err := s.id.IssueSession(c.ctx, t); err != nil {
		return nil, internal(err)
	}
	return el("Credentials", tx("AccessKeyId", t.AccessKeyID), tx("SecretAccessKey", t.Secret),
		tx("SessionToken", t.Token), ttime("Expiration", t.Expires)), nil
}
