package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
)

// Principal types (aws:PrincipalType).
const (
	TypeUser        = "User"
	TypeAssumedRole = "AssumedRole"
	TypeAccount     = "Account"
)

// Options configure a Service.
type Options struct {
	Store     *store.DB
	AccountID string
	Region    string
	// RootAccessKeyID / RootSecretAccessKey are the account root's key pair (see
	// EnsureRootCredentials); the root is allowed everything.
	RootAccessKeyID     string
	RootSecretAccessKey string
	// OrgID, when set, is the principalOrgId of URL events and aws:PrincipalOrgID.
	OrgID string
	// TrustedProxies are peers whose X-Forwarded-For is believed for aws:SourceIp.
	TrustedProxies []*net.IPNet
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for ids and secrets; nil means crypto/rand.
	Rand io.Reader
	Log  *slog.Logger
}

// Service authenticates SigV4 requests against the account's credentials and authorizes them
// with IAM policies. Both HTTP planes (control plane, function URLs) and the IAM/STS Query API
// use it. It is safe for concurrent use.
type Service struct {
	db      *store.DB
	account string
	region  string
	rootID  string
	rootKey string
	orgID   string
	trusted []*net.IPNet
	now     func() time.Time
	rand    io.Reader
	log     *slog.Logger
	verify  *sigv4.Verifier

	// anonymous is what authorization knows of the anonymous caller: nothing (read only).
	anonymous principalInfo

	mu       sync.Mutex
	policies map[string]*iam.Policy // parsed documents by text (bounded)
	cache    *authCache
}

// New returns a Service over opts.Store.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("identity: new: no store")
	}
	if opts.AccountID == "" || opts.RootAccessKeyID == "" || opts.RootSecretAccessKey == "" {
		return nil, errors.New("identity: new: account id and root credentials are required")
	}
	s := &Service{
		db:       opts.Store,
		account:  opts.AccountID,
		region:   opts.Region,
		rootID:   opts.RootAccessKeyID,
		rootKey:  opts.RootSecretAccessKey,
		orgID:    opts.OrgID,
		trusted:  opts.TrustedProxies,
		now:      opts.Now,
		rand:     opts.Rand,
		log:      opts.Log,
		policies: map[string]*iam.Policy{},
		cache:    newAuthCache(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	s.verify = sigv4.NewVerifier(s.now, sigv4.KeyLookupFunc(s.lookupKey))
	return s, nil
}

// AccountID is the account furl presents.
func (s *Service) AccountID() string { return s.account }

// OrgID is the organisation id principals belong to ("" when none is configured): the
// principalOrgId of URL events and aws:PrincipalOrgID.
func (s *Service) OrgID() string { return s.orgID }

// RootARN is the account root's ARN.
func (s *Service) RootARN() string { return "arn:aws:iam::" + s.account + ":root" }

// Subject encodings handed through sigv4.Credentials.Subject.
const subjectSep = "\x1f"

func (s *Service) lookupKey(ctx context.Context, akid string) (sigv4.Credentials, error) {
	now := s.now()
	if c, ok := s.cache.key(akid, now); ok {
		return c, nil
	}
	gen := s.cache.generation()
	c, err := s.lookupKeyStore(ctx, akid)
	if err == nil {
		s.cache.putKey(akid, c, gen, now)
	}
	return c, err
}

func (s *Service) lookupKeyStore(ctx context.Context, akid string) (sigv4.Credentials, error) {
	if akid == s.rootID {
		return sigv4.Credentials{AccessKeyID: akid, SecretAccessKey: s.rootKey, Subject: "root"}, nil
	}
	if strings.HasPrefix(akid, PrefixSessionID) {
		t, err := s.db.GetSTSSession(ctx, akid)
		if errors.Is(err, store.ErrNoSuchEntity) {
			return sigv4.Credentials{}, fmt.Errorf("identity: lookup %s: %w", akid, sigv4.ErrUnknownAccessKey)
		}
		if err != nil {
			return sigv4.Credentials{}, fmt.Errorf("identity: lookup: %w", err)
		}
		c := sigv4.Credentials{AccessKeyID: akid, SecretAccessKey: t.Secret, SessionToken: t.Token, Expiration: t.Expires}
		switch {
		case t.RoleName != "": // AssumeRole
			c.Subject = strings.Join([]string{"session", t.RoleName, t.RoleID, t.RoleARN, t.SessionName}, subjectSep)
		case t.SourceARN == s.RootARN(): // GetSessionToken as the root
			c.Subject = "root"
		default: // GetSessionToken as a user: SessionName holds the user name
			u, err := s.db.GetIAMUser(ctx, t.SessionName)
			if errors.Is(err, store.ErrNoSuchEntity) || (err == nil && u.ARN != t.SourceARN) {
				return sigv4.Credentials{}, fmt.Errorf("identity: lookup %s: user gone: %w", akid, sigv4.ErrUnknownAccessKey)
			}
			if err != nil {
				return sigv4.Credentials{}, fmt.Errorf("identity: lookup: %w", err)
			}
			c.Subject = strings.Join([]string{"user", u.Name, u.ID, u.ARN}, subjectSep)
		}
		return c, nil
	}
	k, err := s.db.GetAccessKey(ctx, akid)
	if errors.Is(err, store.ErrNoSuchEntity) {
		return sigv4.Credentials{}, fmt.Errorf("identity: lookup %s: %w", akid, sigv4.ErrUnknownAccessKey)
	}
	if err != nil {
		return sigv4.Credentials{}, fmt.Errorf("identity: lookup: %w", err)
	}
	if k.Status != "Active" {
		return sigv4.Credentials{}, fmt.Errorf("identity: lookup %s: inactive: %w", akid, sigv4.ErrUnknownAccessKey)
	}
	u, err := s.db.GetIAMUser(ctx, k.UserName)
	if err != nil {
		if errors.Is(err, store.ErrNoSuchEntity) {
			return sigv4.Credentials{}, fmt.Errorf("identity: lookup %s: %w", akid, sigv4.ErrUnknownAccessKey)
		}
		return sigv4.Credentials{}, fmt.Errorf("identity: lookup: %w", err)
	}
	return sigv4.Credentials{
		AccessKeyID: akid, SecretAccessKey: k.Secret,
		Subject: strings.Join([]string{"user", u.Name, u.ID, u.ARN}, subjectSep),
	}, nil
}

// Authenticate verifies r's SigV4 signature for service ("lambda", "iam", "sts") over the body
// whose lowercase hex SHA-256 is bodySHA256Hex ("" = empty body), and returns the principal.
// Lambda requests must be scoped to the configured region; IAM and STS accept any region.
// Every failure is an *awserr.Error with Lambda's rest-json code (sigv4.QueryCode maps it for
// IAM/STS): UnrecognizedClientException for unknown, inactive or deleted keys and bad tokens,
// InvalidSignatureException, ExpiredTokenException, MissingAuthenticationTokenException, ...
func (s *Service) Authenticate(ctx context.Context, r *http.Request, bodySHA256Hex string, service string) (*iam.Principal, error) {
	scope := s.scope(service)
	res, err := s.verify.Verify(ctx, r, bodySHA256Hex, scope)
	if err != nil {
		return nil, err
	}
	return s.principal(res.Credentials), nil
}

// Precheck runs the checks of Authenticate that need no body (sigv4.Verifier.Precheck): a
// caller that is not signed, or signs with an unknown key, is refused before its body is read.
// services lists the services the credential scope may name.
func (s *Service) Precheck(ctx context.Context, r *http.Request, services ...string) error {
	scope := s.scope(services...)
	return s.verify.Precheck(ctx, r, scope)
}

// scope is the credential scope requests for services must carry: IAM and STS are global, other
// services are in furl's region.
func (s *Service) scope(services ...string) sigv4.Scope {
	scope := sigv4.Scope{Services: services}
	for _, svc := range services {
		if svc != "iam" && svc != "sts" {
			scope.Regions = []string{s.region}
		}
	}
	return scope
}

func (s *Service) principal(c sigv4.Credentials) *iam.Principal {
	parts := strings.Split(c.Subject, subjectSep)
	var p *iam.Principal
	switch {
	case parts[0] == "user" && len(parts) == 4:
		p = s.UserPrincipal(parts[1], parts[2], parts[3])
	case parts[0] == "session" && len(parts) == 5:
		p = s.SessionPrincipal(parts[1], parts[2], parts[3], parts[4])
	default:
		p = s.RootPrincipal()
	}
	p.AccessKeyID, p.SessionToken = c.AccessKeyID, c.SessionToken
	return p
}

// UserPrincipal is the principal of the user called name.
func (s *Service) UserPrincipal(name, id, arn string) *iam.Principal {
	return &iam.Principal{Type: TypeUser, AccountID: s.account, ARN: arn, PrincipalARN: arn, UserID: id, Username: name}
}

// SessionPrincipal is the principal of the role's session called session.
func (s *Service) SessionPrincipal(role, roleID, roleARN, session string) *iam.Principal {
	return &iam.Principal{Type: TypeAssumedRole, AccountID: s.account,
		ARN:          "arn:aws:sts::" + s.account + ":assumed-role/" + role + "/" + session,
		PrincipalARN: roleARN, UserID: roleID + ":" + session}
}

// RootPrincipal is the principal of the account root.
func (s *Service) RootPrincipal() *iam.Principal {
	return &iam.Principal{Type: TypeAccount, AccountID: s.account, ARN: s.RootARN(), PrincipalARN: s.RootARN(), UserID: s.account}
}

// AddContext sets the principal and time condition keys of req.Context that are not set yet:
// aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid, aws:username (users),
// aws:PrincipalOrgID (when configured), aws:CurrentTime and aws:EpochTime. An anonymous (nil)
// principal gets only the time keys.
func (s *Service) AddContext(p *iam.Principal, req *iam.Request) {
	if req.Context == nil {
		req.Context = map[string][]string{}
	}
	has := func(k string) bool {
		if _, ok := req.Context[k]; ok {
			return true
		}
		for have := range req.Context {
			if strings.EqualFold(have, k) {
				return true
			}
		}
		return false
	}
	set := func(k, v string) {
		if !has(k) {
			req.Context[k] = []string{v}
		}
	}
	if !has("aws:CurrentTime") || !has("aws:EpochTime") { // Decide has set them already
		now := s.now().UTC()
		set("aws:CurrentTime", now.Format(time.RFC3339))
		set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	}
	if p == nil {
		return
	}
	set("aws:PrincipalArn", p.PrincipalARN)
	set("aws:PrincipalAccount", p.AccountID)
	set("aws:PrincipalType", p.Type)
	set("aws:userid", p.UserID)
	if p.Type == TypeUser && p.Username != "" {
		set("aws:username", p.Username)
	}
	if s.orgID != "" {
		set("aws:PrincipalOrgID", s.orgID)
	}
}

// AllowAll is the identity policy of the account root.
const AllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// Authorize decides whether p (nil = anonymous) may perform req.Action on req.Resource, given
// the resource's policy document (nil or empty when it has none). It gathers p's identity
// policies (a user's inline and attached policies and its groups'; a session's role's; the
// root's allow-all), fills the principal and time context keys (AddContext), defaults
// req.Principal to p and req.ResourceAccount to this account, and evaluates with iam.Evaluate.
// An error means the decision could not be made (store failure, unparsable stored policy).
func (s *Service) Authorize(ctx context.Context, p *iam.Principal, req *iam.Request, resourcePolicy []byte) (iam.Decision, error) {
	if req.Principal == nil {
		req.Principal = p
	}
	if req.ResourceAccount == "" {
		req.ResourceAccount = s.account
	}
	s.AddContext(p, req)
	var res *iam.Policy
	if len(bytes.TrimSpace(resourcePolicy)) > 0 {
		var err error
		if res, err = s.parsePolicy(resourcePolicy); err != nil {
			return iam.Decision{}, fmt.Errorf("identity: authorize: %w", &ResourcePolicyError{Err: err})
		}
	}
	info, err := s.principalInfo(ctx, p)
	if err != nil {
		return iam.Decision{}, fmt.Errorf("identity: authorize: %w", err)
	}
	info.addTags(req)
	return iam.Evaluate(req, info.policies, res), nil
}

// principalInfo is what authorization needs to know about a principal beyond its ARN.
type principalInfo struct {
	policies []*iam.Policy
	// tags are the user's or role's tags (aws:PrincipalTag/<key>).
	tags []store.IAMTag
}

// addTags sets aws:PrincipalTag/<key> for each of the principal's tags not already set.
func (i *principalInfo) addTags(req *iam.Request) {
	if len(i.tags) == 0 {
		return
	}
	if req.Context == nil {
		req.Context = map[string][]string{}
	}
	for _, t := range i.tags {
		k := "aws:PrincipalTag/" + t.Key
		if _, ok := req.Context[k]; !ok {
			req.Context[k] = []string{t.Value}
		}
	}
}

// principalInfo returns the parsed identity policies and tags of p (cached).
func (s *Service) principalInfo(ctx context.Context, p *iam.Principal) (*principalInfo, error) {
	if p == nil {
		return &s.anonymous, nil
	}
	var docs []string
	var tags []store.IAMTag
	var err error
	owner := p.Type + "\x1f" + p.PrincipalARN
	now := s.now()
	if info, ok := s.cache.policies(owner, now); ok {
		return info, nil
	}
	gen := s.cache.generation()
	switch p.Type {
	case TypeAccount:
		if p.AccountID != s.account {
			return &principalInfo{}, nil
		}
		docs = []string{AllowAll}
	case TypeUser:
		if docs, err = s.db.PolicyDocuments(ctx, store.OwnerUser, p.Username); err == nil {
			tags, err = s.db.OwnerTags(ctx, store.OwnerUser, p.Username)
		}
	case TypeAssumedRole:
		role := LastSegment(p.PrincipalARN)
		if docs, err = s.db.PolicyDocuments(ctx, store.OwnerRole, role); err == nil {
			tags, err = s.db.OwnerTags(ctx, store.OwnerRole, role)
		}
	}
	if err != nil {
		return nil, err
	}
	info := &principalInfo{policies: make([]*iam.Policy, 0, len(docs)), tags: tags}
	for _, d := range docs {
		pol, err := s.ParsePolicy(d)
		if err != nil {
			// A stored policy was valid when stored; one that no longer parses (an evaluator
			// change) is skipped rather than failing every request.
			s.log.Warn("identity: stored policy does not parse", "principal", p.ARN, "err", err)
			continue
		}
		info.policies = append(info.policies, pol)
	}
	s.cache.putPolicies(owner, info, gen, now)
	return info, nil
}

func LastSegment(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// Invalidate drops every cached key and policy set; the IAM API calls it after every write so
// a revoked key or a new Deny takes effect on the next request.
func (s *Service) Invalidate() { s.cache.invalidate() }

// ParsePolicy parses a policy document through the Service's one policy cache (identity and
// resource policies alike, keyed by their text).
func (s *Service) ParsePolicy(doc string) (*iam.Policy, error) { return s.parsePolicy([]byte(doc)) }

// parsePolicy is ParsePolicy over bytes; a cached document is found without copying it.
func (s *Service) parsePolicy(doc []byte) (*iam.Policy, error) {
	s.mu.Lock()
	p, ok := s.policies[string(doc)]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := iam.ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.policies) >= 4096 {
		clear(s.policies)
	}
	s.policies[string(doc)] = p
	s.mu.Unlock()
	return p, nil
}
