package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/store"
)

// MaxPolicyBytes is the size limit of a function's resource policy (AWS: 20 KB).
const MaxPolicyBytes = 20480

// policyStatement is one statement as stored: the elements in the order AWS shows them, each
// kept as the caller wrote it.
type policyStatement struct {
	Sid          string          `json:"Sid"`
	Effect       json.RawMessage `json:"Effect"`
	Principal    json.RawMessage `json:"Principal,omitempty"`
	NotPrincipal json.RawMessage `json:"NotPrincipal,omitempty"`
	Action       json.RawMessage `json:"Action,omitempty"`
	NotAction    json.RawMessage `json:"NotAction,omitempty"`
	Resource     json.RawMessage `json:"Resource,omitempty"`
	NotResource  json.RawMessage `json:"NotResource,omitempty"`
	Condition    json.RawMessage `json:"Condition,omitempty"`
}

// PutPolicy replaces the whole resource policy of (function, qualifier) with doc, furl's way
// to set what AddPermission cannot: any Condition (aws:SourceIp allow-lists, aws:CurrentTime,
// aws:UserAgent, aws:Referer, aws:PrincipalTag/...), Deny statements, NotPrincipal.
//
// doc must be a resource policy iam.ParseResourcePolicy accepts. It is stored as GetPolicy
// shows AWS's: Version (2012-10-17 when absent), Id ("default" when absent), Statement as an
// array; a statement without a Sid gets "Statement<n>" so RemovePermission can address it, and
// one without Resource or NotResource gets the function's (qualified) ARN. revision, when
// set, must be the current policy's RevisionId. It returns the stored document and its new
// revision.
func (s *Service) PutPolicy(ctx context.Context, ref Ref, doc []byte, revision string) ([]byte, string, error) {
	if len(doc) > MaxPolicyBytes {
		return nil, "", policyTooLong(len(doc))
	}
	if p, err := iam.ParseResourcePolicy(doc); err != nil {
		return nil, "", invalidParameter("The policy document is malformed: %v", err)
	} else if len(p.Statements) == 0 {
		return nil, "", invalidParameter("The policy document is malformed: it has no statements (delete the policy instead).")
	}
	b, err := normalizePolicy(doc, s.ARN(ref.Name, ref.Qualifier))
	if err != nil {
		return nil, "", invalidParameter("The policy document is malformed: %v", err)
	}
	if len(b) > MaxPolicyBytes {
		return nil, "", policyTooLong(len(b))
	}
	rev := newRevision()
	err = s.tx(ctx, func(tx *store.FuncTx) error {
		if _, err := s.mustFunction(tx, ref.Name); err != nil {
			return err
		}
		if err := s.policyQualifier(tx, ref.Name, ref.Qualifier); err != nil {
			return err
		}
		if revision != "" {
			have := ""
			if cur, err := tx.Policy(ref.Name, ref.Qualifier); err == nil {
				have = cur.RevisionID
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := checkRevision(revision, have); err != nil {
				return err
			}
		}
		return tx.PutPolicy(&store.PolicyRecord{FunctionName: ref.Name, Qualifier: ref.Qualifier, Doc: b, RevisionID: rev})
	})
	if err != nil {
		return nil, "", internal(err)
	}
	return b, rev, nil
}

// DeletePolicy removes the whole resource policy of (function, qualifier).
func (s *Service) DeletePolicy(ctx context.Context, ref Ref, revision string) error {
	return internal(s.tx(ctx, func(tx *store.FuncTx) error {
		if _, err := s.currentPolicy(tx, ref, revision); err != nil {
			return err
		}
		return tx.DeletePolicy(ref.Name, ref.Qualifier)
	}))
}

// currentPolicy reads the existing resource policy of (function, qualifier) for a change that
// names revision: the function and qualifier must exist, a policy must be there, and its
// revision must match when one is given.
func (s *Service) currentPolicy(tx *store.FuncTx, ref Ref, revision string) (*store.PolicyRecord, error) {
	if _, err := s.mustFunction(tx, ref.Name); err != nil {
		return nil, err
	}
	if err := s.policyQualifier(tx, ref.Name, ref.Qualifier); err != nil {
		return nil, err
	}
	cur, err := tx.Policy(ref.Name, ref.Qualifier)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("No policy is associated with the given resource.")
	}
	if err != nil {
		return nil, err
	}
	if err := checkRevision(revision, cur.RevisionID); err != nil {
		return nil, err
	}
	return cur, nil
}

func policyTooLong(n int) error {
	return &Error{Kind: KindPolicyLengthExceeded, Message: "The final policy size (" + strconv.Itoa(n) + ") is bigger than the limit (" + strconv.Itoa(MaxPolicyBytes) + ")."}
}

// normalizePolicy renders a parsed-valid resource policy in the stored shape (see PutPolicy).
func normalizePolicy(doc []byte, arn string) ([]byte, error) {
	var top struct {
		Version   string          `json:"Version"`
		ID        *string         `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, err
	}
	raw := bytes.TrimSpace(top.Statement)
	var list []policyStatement
	if len(raw) > 0 && raw[0] == '{' {
		list = make([]policyStatement, 1)
		if err := json.Unmarshal(raw, &list[0]); err != nil {
			return nil, err
		}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, st := range list {
		taken[st.Sid] = true
	}
	next := 1
	resource, _ := json.Marshal(arn)
	for i := range list {
		st := &list[i]
		if st.Sid == "" {
			for taken["Statement"+strconv.Itoa(next)] {
				next++
			}
			st.Sid = "Statement" + strconv.Itoa(next)
			taken[st.Sid] = true
		}
		if st.Resource == nil && st.NotResource == nil {
			st.Resource = resource
		}
	}
	out := struct {
		Version   string            `json:"Version"`
		ID        string            `json:"Id"`
		Statement []policyStatement `json:"Statement"`
	}{Version: top.Version, ID: "default", Statement: list}
	if out.Version == "" {
		out.Version = iam.Version2012
	}
	if top.ID != nil {
		out.ID = *top.ID
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, buf.Bytes()); err != nil {
		return nil, err
	}
	return compact.Bytes(), nil
}
