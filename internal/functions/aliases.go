package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"

	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/store"
)

// AliasInput is CreateAlias's / UpdateAlias's request.
type AliasInput struct {
	Name            string
	FunctionVersion *string
	Description     *string
	RoutingConfig   *struct {
		AdditionalVersionWeights map[string]float64
	}
	RevisionId string
}

func validateAliasName(n string) error {
	if n == "" || len(n) > 128 || !aliasRE.MatchString(n) || digitsRE.MatchString(n) {
		return patternError(n, "name", aliasPattern)
	}
	return nil
}

func (s *Service) checkAliasTargets(tx *store.FuncTx, name, version string, weights map[string]float64) error {
	if version != lambda.LatestVersion {
		if !digitsRE.MatchString(version) {
			return patternError(version, "functionVersion", versionPattern)
		}
		if _, err := s.mustVersion(tx, name, version); err != nil {
			return err
		}
	}
	if len(weights) > 1 {
		return invalidParameter("Number of Alias weights must be less than or equal to 1")
	}
	for v, w := range weights {
		if w < 0 || w > 1 {
			return invalidParameter("Invalid weight value %v for version %s", w, v)
		}
		if v == version {
			return invalidParameter("Cannot set additional version weight for the primary version of an alias")
		}
		if !digitsRE.MatchString(v) {
			return invalidParameter("Only numeric versions can be used in a routing configuration.")
		}
		if _, err := s.mustVersion(tx, name, v); err != nil {
			return err
		}
	}
	return nil
}

// CreateAlias creates an alias.
func (s *Service) CreateAlias(ctx context.Context, ref Ref, in *AliasInput) (*lambda.Alias, error) {
	if err := validateAliasName(in.Name); err != nil {
		return nil, err
	}
	if in.FunctionVersion == nil || *in.FunctionVersion == "" {
		return nil, validationError("", "functionVersion", "Member must not be null")
	}
	a := &lambda.Alias{FunctionName: ref.Name, Name: in.Name, FunctionVersion: *in.FunctionVersion, RevisionID: newRevision()}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RoutingConfig != nil {
		a.AdditionalVersionWeights = in.RoutingConfig.AdditionalVersionWeights
	}
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		if _, err := s.mustFunction(tx, ref.Name); err != nil {
			return err
		}
		if _, err := tx.Alias(ref.Name, in.Name); err == nil {
			return conflict("Alias already exists: %s", s.ARN(ref.Name, in.Name))
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := s.checkAliasTargets(tx, ref.Name, a.FunctionVersion, a.AdditionalVersionWeights); err != nil {
			return err
		}
		return tx.PutAlias(a)
	})
	if err != nil {
		return nil, internal(err)
	}
	return a, nil
}

func (s *Service) aliasNotFound(name, alias string) error {
	return notFound("Alias not found: %s", s.ARN(name, alias))
}

// mustAlias reads an alias of an existing function, with AWS's not-found errors for both.
func (s *Service) mustAlias(tx *store.FuncTx, name, alias string) (*lambda.Alias, error) {
	if _, err := s.mustFunction(tx, name); err != nil {
		return nil, err
	}
	a, err := tx.Alias(name, alias)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.aliasNotFound(name, alias)
	}
	return a, err
}

// GetAlias reads an alias.
func (s *Service) GetAlias(ctx context.Context, name, alias string) (*lambda.Alias, error) {
	var a *lambda.Alias
	err := s.read(ctx, func(tx *store.FuncTx) error {
		var err error
		a, err = s.mustAlias(tx, name, alias)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return a, nil
}

// UpdateAlias changes an alias; only supplied fields change.
func (s *Service) UpdateAlias(ctx context.Context, name, alias string, in *AliasInput) (*lambda.Alias, error) {
	var a *lambda.Alias
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		var err error
		a, err = s.mustAlias(tx, name, alias)
		if err != nil {
			return err
		}
		if err := checkRevision(in.RevisionId, a.RevisionID); err != nil {
			return err
		}
		if in.FunctionVersion != nil {
			a.FunctionVersion = *in.FunctionVersion
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.AdditionalVersionWeights = in.RoutingConfig.AdditionalVersionWeights
		}
		if err := s.checkAliasTargets(tx, name, a.FunctionVersion, a.AdditionalVersionWeights); err != nil {
			return err
		}
		a.RevisionID = newRevision()
		return tx.PutAlias(a)
	})
	if err != nil {
		return nil, internal(err)
	}
	return a, nil
}

// DeleteAlias deletes an alias with its URL config and policy.
func (s *Service) DeleteAlias(ctx context.Context, name, alias string) error {
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		if _, err := s.mustFunction(tx, name); err != nil {
			return err
		}
		return tx.DeleteAlias(name, alias)
	})
	return internal(err)
}

// ListAliases lists aliases, optionally only those pointing at version.
func (s *Service) ListAliases(ctx context.Context, name, version, marker string, max int) ([]*lambda.Alias, string, error) {
	if max <= 0 || max > 50 {
		max = 50
	}
	var list []*lambda.Alias
	err := s.read(ctx, func(tx *store.FuncTx) error {
		if _, err := s.mustFunction(tx, name); err != nil {
			return err
		}
		all, err := tx.Aliases(name)
		for _, a := range all {
			if version == "" || a.FunctionVersion == version {
				list = append(list, a)
			}
		}
		return err
	})
	if err != nil {
		return nil, "", internal(err)
	}
	return page(list, marker, max, func(a *lambda.Alias) string { return a.Name })
}

// PutConcurrency reserves concurrency for a function.
func (s *Service) PutConcurrency(ctx context.Context, name string, n *int) (int, error) {
	if n == nil {
		return 0, validationError("null", "reservedConcurrentExecutions", "Member must not be null")
	}
	if *n < 0 {
		return 0, validationError(strconv.Itoa(*n), "reservedConcurrentExecutions", "Member must have value greater than or equal to 0")
	}
	minUnreserved := 100
	if s.opt.MaxConcurrency < 1000 {
		minUnreserved = s.opt.MaxConcurrency / 10
	}
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		f, err := s.mustFunction(tx, name)
		if err != nil {
			return err
		}
		others, err := s.reservedSum(tx, name)
		if err != nil {
			return err
		}
		if others+*n > s.opt.MaxConcurrency-minUnreserved {
			return invalidParameter("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", minUnreserved)
		}
		v := *n
		f.ReservedConcurrency = &v
		return tx.PutFunction(f)
	})
	if err != nil {
		return 0, internal(err)
	}
	return *n, nil
}

func (s *Service) reservedSum(tx *store.FuncTx, except string) (int, error) {
	return tx.ReservedSum(except)
}

// GetConcurrency returns the reservation (nil when none).
func (s *Service) GetConcurrency(ctx context.Context, name string) (*int, error) {
	var n *int
	err := s.read(ctx, func(tx *store.FuncTx) error {
		f, err := s.mustFunction(tx, name)
		if err != nil {
			return err
		}
		n = f.ReservedConcurrency
		return nil
	})
	return n, internal(err)
}

// DeleteConcurrency removes the reservation.
func (s *Service) DeleteConcurrency(ctx context.Context, name string) error {
	return internal(s.tx(ctx, func(tx *store.FuncTx) error {
		f, err := s.mustFunction(tx, name)
		if err != nil {
			return err
		}
		f.ReservedConcurrency = nil
		return tx.PutFunction(f)
	}))
}

// AccountSettings is GetAccountSettings' answer.
type AccountSettings struct {
	MaxConcurrency, Unreserved int
	TotalCodeSize              int64
	FunctionCount              int
}

// GetAccountSettings sums the account's usage.
func (s *Service) GetAccountSettings(ctx context.Context) (*AccountSettings, error) {
	out := &AccountSettings{MaxConcurrency: s.opt.MaxConcurrency}
	err := s.read(ctx, func(tx *store.FuncTx) error {
		var err error
		if out.TotalCodeSize, out.FunctionCount, err = tx.CodeUsage(); err != nil {
			return err
		}
		r, err := s.reservedSum(tx, "")
		out.Unreserved = s.opt.MaxConcurrency - r
		return err
	})
	return out, internal(err)
}

// Tag ARNs must name a function of this account and region, unqualified.
func (s *Service) tagTarget(arn string) (string, error) {
	m := fnNameRE.FindStringSubmatch(arn)
	if m == nil || m[1] == "" {
		return "", patternError(arn, "resource", `arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)
	}
	ref, err := s.ParseRef(arn, "")
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", invalidParameter("Tags on function aliases and versions are not supported. Please specify a function ARN.")
	}
	return ref.Name, nil
}

var tagKeyRE = regexp.MustCompile(`^.{1,128}$`)

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return invalidParameter("Number of tags exceeds resource tag limit.")
	}
	for k, v := range tags {
		if !tagKeyRE.MatchString(k) || len(v) > 256 {
			return invalidParameter("The tag %q is not valid.", k)
		}
		if len(k) >= 4 && k[:4] == "aws:" {
			return invalidParameter("Tag keys starting with 'aws:' are reserved.")
		}
	}
	return validateLimitTags(tags)
}

// TagResource adds tags.
func (s *Service) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	name, err := s.tagTarget(arn)
	if err != nil {
		return err
	}
	if err := validateTags(tags); err != nil {
		return err
	}
	return internal(s.tx(ctx, func(tx *store.FuncTx) error {
		f, err := s.mustFunction(tx, name)
		if err != nil {
			return err
		}
		if f.Tags == nil {
			f.Tags = map[string]string{}
		}
		for k, v := range tags {
			f.Tags[k] = v
		}
		if err := validateTags(f.Tags); err != nil {
			return err
		}
		return tx.PutFunction(f)
	}))
}

// UntagResource removes tags.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	name, err := s.tagTarget(arn)
	if err != nil {
		return err
	}
	return internal(s.tx(ctx, func(tx *store.FuncTx) error {
		f, err := s.mustFunction(tx, name)
		if err != nil {
			return err
		}
		for _, k := range keys {
			delete(f.Tags, k)
		}
		return tx.PutFunction(f)
	}))
}

// ListTags returns the function's tags.
func (s *Service) ListTags(ctx context.Context, arn string) (map[string]string, error) {
	name, err := s.tagTarget(arn)
	if err != nil {
		return nil, err
	}
	var tags map[string]string
	err = s.read(ctx, func(tx *store.FuncTx) error {
		f, err := s.mustFunction(tx, name)
		if err != nil {
			return err
		}
		tags = f.Tags
		return nil
	})
	return tags, internal(err)
}

// ---- resource policies ----

// PermissionInput is AddPermission's request.
type PermissionInput struct {
	StatementId           string
	Action                string
	Principal             string
	SourceArn             string
	SourceAccount         string
	EventSourceToken      string
	PrincipalOrgID        string
	RevisionId            string
	FunctionUrlAuthType   string
	InvokedViaFunctionUrl *bool
}

var (
	actionRE  = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	accountRE = regexp.MustCompile(`^\d{12}$`)
)

type policyDoc struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id"`
	Statement []json.RawMessage `json:"Statement"`
}

// BuildStatement renders an AddPermission request as the statement AWS stores (through the
// iam package's shared builder, which also validates it).
func BuildStatement(in *PermissionInput, resource string) ([]byte, error) {
	return iam.LambdaPermissionStatement(iam.PermissionInput{
		StatementID: in.StatementId, Action: in.Action, Principal: in.Principal, Resource: resource,
		SourceArn: in.SourceArn, SourceAccount: in.SourceAccount, EventSourceToken: in.EventSourceToken,
		PrincipalOrgID: in.PrincipalOrgID, FunctionUrlAuthType: in.FunctionUrlAuthType,
		InvokedViaFunctionUrl: in.InvokedViaFunctionUrl != nil && *in.InvokedViaFunctionUrl,
	})
}

func (s *Service) policyQualifier(tx *store.FuncTx, name, q string) error {
	switch {
	case q == "":
		return nil
	case q == lambda.LatestVersion:
		return invalidParameter("We currently do not support adding policies for $LATEST.")
	case digitsRE.MatchString(q):
		if _, err := s.mustVersion(tx, name, q); err != nil {
			return err
		}
	default:
		if _, err := tx.Alias(name, q); errors.Is(err, store.ErrNotFound) {
			return notFound("Function not found: %s", s.ARN(name, q))
		} else if err != nil {
			return err
		}
	}
	return nil
}

// AddPermission adds a statement to the policy of (function, qualifier) and returns it.
func (s *Service) AddPermission(ctx context.Context, ref Ref, in *PermissionInput) ([]byte, error) {
	if in.StatementId == "" || !sidRE.MatchString(in.StatementId) {
		return nil, patternError(in.StatementId, "statementId", statementIDPattern)
	}
	if !actionRE.MatchString(in.Action) {
		return nil, patternError(in.Action, "action", `(lambda:[*]|lambda:[a-zA-Z]+|[*])`)
	}
	if in.Principal == "" {
		return nil, validationError("null", "principal", "Member must not be null")
	}
	if in.FunctionUrlAuthType != "" && in.FunctionUrlAuthType != lambda.AuthNone && in.FunctionUrlAuthType != lambda.AuthIAM {
		return nil, validationError(in.FunctionUrlAuthType, "functionUrlAuthType", "Member must satisfy enum value set: [NONE, AWS_IAM]")
	}
	if err := checkPermissionMembers(in); err != nil {
		return nil, err
	}
	var stmt []byte
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		if _, err := s.mustFunction(tx, ref.Name); err != nil {
			return err
		}
		if err := s.policyQualifier(tx, ref.Name, ref.Qualifier); err != nil {
			return err
		}
		doc := policyDoc{Version: "2012-10-17", ID: "default"}
		cur, err := tx.Policy(ref.Name, ref.Qualifier)
		switch {
		case errors.Is(err, store.ErrNotFound):
			cur = nil
		case err != nil:
			return err
		default:
			if err := json.Unmarshal(cur.Doc, &doc); err != nil {
				return err
			}
		}
		if in.RevisionId != "" {
			have := ""
			if cur != nil {
				have = cur.RevisionID
			}
			if err := checkRevision(in.RevisionId, have); err != nil {
				return err
			}
		}
		for _, raw := range doc.Statement {
			var st struct{ Sid string }
			_ = json.Unmarshal(raw, &st)
			if st.Sid == in.StatementId {
				return conflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementId)
			}
		}
		stmt, err = BuildStatement(in, s.ARN(ref.Name, ref.Qualifier))
		if err != nil {
			return err
		}
		doc.Statement = append(doc.Statement, stmt)
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		if len(b) > MaxPolicyBytes {
			return policyTooLong(len(b))
		}
		return tx.PutPolicy(&store.PolicyRecord{FunctionName: ref.Name, Qualifier: ref.Qualifier, Doc: b, RevisionID: newRevision()})
	})
	if err != nil {
		return nil, internal(err)
	}
	return stmt, nil
}

// RemovePermission removes a statement.
func (s *Service) RemovePermission(ctx context.Context, ref Ref, sid, revision string) error {
	return internal(s.tx(ctx, func(tx *store.FuncTx) error {
		cur, err := s.currentPolicy(tx, ref, revision)
		if err != nil {
			return err
		}
		var doc policyDoc
		if err := json.Unmarshal(cur.Doc, &doc); err != nil {
			return err
		}
		kept := doc.Statement[:0]
		found := false
		for _, raw := range doc.Statement {
			var st struct{ Sid string }
			_ = json.Unmarshal(raw, &st)
			if st.Sid == sid {
				found = true
				continue
			}
			kept = append(kept, raw)
		}
		if !found {
			return notFound("Statement %s is not found in resource policy.", sid)
		}
		if len(kept) == 0 {
			return tx.DeletePolicy(ref.Name, ref.Qualifier)
		}
		doc.Statement = kept
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		return tx.PutPolicy(&store.PolicyRecord{FunctionName: ref.Name, Qualifier: ref.Qualifier, Doc: b, RevisionID: newRevision()})
	}))
}

// GetPolicy returns the policy document and its revision.
func (s *Service) GetPolicy(ctx context.Context, ref Ref) ([]byte, string, error) {
	var p *store.PolicyRecord
	err := s.read(ctx, func(tx *store.FuncTx) error {
		if _, err := s.mustFunction(tx, ref.Name); err != nil {
			return err
		}
		if ref.Qualifier != "" && ref.Qualifier != lambda.LatestVersion {
			if err := s.policyQualifier(tx, ref.Name, ref.Qualifier); err != nil {
				return err
			}
		}
		var err error
		p, err = tx.Policy(ref.Name, ref.Qualifier)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("The resource you requested does not exist.")
		}
		return err
	})
	if err != nil {
		return nil, "", internal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, p.Doc); err != nil {
		return p.Doc, p.RevisionID, nil
	}
	return compact.Bytes(), p.RevisionID, nil
}
