package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/store"
)

// LambdaService is the service principal Lambda assumes execution roles as.
const LambdaService = "lambda.amazonaws.com"

// DefaultLambdaRole is the execution role `furl deploy` uses when none is given; furl creates
// it on first start (EnsureDefaultLambdaRole).
const DefaultLambdaRole = "furl-default-lambda-role"

// LambdaTrustPolicy lets Lambda assume a role: the trust policy of DefaultLambdaRole and of
// the roles the docs tell users to create.
const LambdaTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// DefaultLambdaRolePolicy is DefaultLambdaRole's inline policy: what AWS's
// AWSLambdaBasicExecutionRole grants (writing logs), nothing more. furl has no CloudWatch Logs
// API, so in practice the default role allows nothing.
const DefaultLambdaRolePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`

// DefaultLambdaSession is how long an execution role session lasts: 12 hours, STS's
// maximum. Environments are retired before their credentials expire (see pool.Config).
const DefaultLambdaSession = 12 * time.Hour

// ErrRoleNotAssumable says Lambda cannot assume a role: it does not exist, or its trust policy
// does not allow lambda.amazonaws.com to call sts:AssumeRole.
var ErrRoleNotAssumable = errors.New("identity: the role cannot be assumed by Lambda")

// RoleCredentials are an execution role session's temporary credentials.
type RoleCredentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

// lambdaRole returns the role roleARN names when Lambda may assume it, else an error wrapping
// ErrRoleNotAssumable.
func (s *Service) lambdaRole(ctx context.Context, roleARN string) (store.IAMRole, error) {
	prefix := "arn:aws:iam::" + s.account + ":role/"
	if !strings.HasPrefix(roleARN, prefix) {
		return store.IAMRole{}, fmt.Errorf("identity: role %s: not of this account: %w", roleARN, ErrRoleNotAssumable)
	}
	role, err := s.db.GetIAMRole(ctx, LastSegment(roleARN))
	if errors.Is(err, store.ErrNoSuchEntity) || (err == nil && role.ARN != roleARN) {
		return store.IAMRole{}, fmt.Errorf("identity: role %s: no such role: %w", roleARN, ErrRoleNotAssumable)
	}
	if err != nil {
		return store.IAMRole{}, fmt.Errorf("identity: role %s: %w", roleARN, err)
	}
	trust, err := s.parsePolicy([]byte(role.TrustPolicy))
	if err != nil {
		return store.IAMRole{}, fmt.Errorf("identity: role %s: trust policy: %w", roleARN, err)
	}
	req := &iam.Request{
		Principal: &iam.Principal{Type: iam.TypeService, ARN: LambdaService, PrincipalARN: LambdaService},
		Action:    "sts:AssumeRole", Resource: roleARN, ResourceAccount: s.account,
		Context: map[string][]string{"aws:PrincipalServiceName": {LambdaService}},
	}
	if d := iam.Evaluate(req, nil, trust); !d.Allowed {
		return store.IAMRole{}, fmt.Errorf("identity: role %s: %s: %w", roleARN, d.Reason, ErrRoleNotAssumable)
	}
	return role, nil
}

// CheckLambdaRole says whether Lambda can assume roleARN (nil) or why not (an error wrapping
// ErrRoleNotAssumable, or a store failure).
func (s *Service) CheckLambdaRole(ctx context.Context, roleARN string) error {
	_, err := s.lambdaRole(ctx, roleARN)
	return err
}

// LambdaRoleSession assumes roleARN as Lambda does for a function's execution environment: no
// caller credentials, the role's trust policy must allow lambda.amazonaws.com, the session is
// named after the function (arn:aws:sts::<acct>:assumed-role/<role>/<function>) and lasts d
// (DefaultLambdaSession when 0). The credentials authenticate on every plane like those of
// sts:AssumeRole, and are allowed what the role's policies allow.
func (s *Service) LambdaRoleSession(ctx context.Context, roleARN, function string, d time.Duration) (RoleCredentials, error) {
	role, err := s.lambdaRole(ctx, roleARN)
	if err != nil {
		return RoleCredentials{}, err
	}
	if d <= 0 {
		d = DefaultLambdaSession
	}
	now := s.now().UTC()
	t := store.STSSession{RoleName: role.Name, RoleID: role.ID, RoleARN: role.ARN, SessionName: function,
		SourceARN: LambdaService, Created: now, Expires: now.Add(d).Truncate(time.Second)}
	if err := s.IssueSession(ctx, &t); err != nil {
		return RoleCredentials{}, fmt.Errorf("identity: lambda role session: %w", err)
	}
	return RoleCredentials{AccessKeyID: t.AccessKeyID, SecretAccessKey: t.Secret, SessionToken: t.Token, Expiration: t.Expires}, nil
}

// IssueSession gives t fresh temporary credentials (an ASIA… key, a secret, a token) and stores
// it. Sessions that expired more than a day before t was created are dropped on the way (until
// then they answer ExpiredToken rather than InvalidClientTokenId).
func (s *Service) IssueSession(ctx context.Context, t *store.STSSession) error {
	var err error
	if t.AccessKeyID, err = NewAccessKeyID(s.rand, PrefixSessionID); err != nil {
		return err
	}
	if t.Secret, err = NewSecret(s.rand); err != nil {
		return err
	}
	if t.Token, err = NewSessionToken(s.rand); err != nil {
		return err
	}
	if err := s.db.CreateSTSSession(ctx, *t); err != nil {
		return err
	}
	if _, err := s.db.DeleteExpiredSTSSessions(ctx, t.Created.Add(-24*time.Hour)); err != nil {
		s.log.Warn("identity: pruning expired sessions", "err", err)
	}
	return nil
}

// DefaultLambdaRoleARN is DefaultLambdaRole's ARN.
func (s *Service) DefaultLambdaRoleARN() string {
	return "arn:aws:iam::" + s.account + ":role/" + DefaultLambdaRole
}

// EnsureDefaultLambdaRole creates DefaultLambdaRole (trusting lambda.amazonaws.com, allowed
// only to write logs) unless a role of that name exists; an existing one is left as it is.
func (s *Service) EnsureDefaultLambdaRole(ctx context.Context) error {
	if _, err := s.db.GetIAMRole(ctx, DefaultLambdaRole); err == nil || !errors.Is(err, store.ErrNoSuchEntity) {
		return err
	}
	id, err := NewUniqueID(s.rand, PrefixRole)
	if err != nil {
		return err
	}
	r := store.IAMRole{Name: DefaultLambdaRole, ID: id, Path: "/", ARN: s.DefaultLambdaRoleARN(), TrustPolicy: LambdaTrustPolicy,
		Description: "furl's default execution role: trusted by Lambda, allowed only to write logs", MaxSessionDuration: 3600, Created: s.now().UTC()}
	if err := s.db.CreateIAMRole(ctx, r); err != nil {
		if errors.Is(err, store.ErrEntityExists) {
			return nil
		}
		return fmt.Errorf("identity: default role: %w", err)
	}
	if err := s.db.PutInlinePolicy(ctx, store.IAMInlinePolicy{OwnerKind: store.OwnerRole, OwnerName: DefaultLambdaRole,
		Name: "furl-basic-execution", Document: DefaultLambdaRolePolicy}); err != nil {
		return fmt.Errorf("identity: default role policy: %w", err)
	}
	s.Invalidate()
	return nil
}
