package iamapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/store"
)

// maxAccessKeysPerUser is AWS's quota.
const maxAccessKeysPerUser = 2

var (
	nameRE = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRE = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
)

// owner describes one kind of policy owner: users, groups, roles.
type owner struct {
	kind  string // store.OwnerUser, ...
	param string // UserName, GroupName, RoleName
	title string // User, Group, Role (action names)
	label string // user, group, role (messages, ARNs)
}

var (
	ownerUser  = owner{store.OwnerUser, "UserName", "User", "user"}
	ownerGroup = owner{store.OwnerGroup, "GroupName", "Group", "group"}
	ownerRole  = owner{store.OwnerRole, "RoleName", "Role", "role"}
)

func (s *API) iamOps() map[string]opFunc {
	ops := map[string]opFunc{
		"CreateUser":                  s.createUser,
		"GetUser":                     s.getUser,
		"ListUsers":                   s.listUsers,
		"DeleteUser":                  s.deleteUser,
		"CreateAccessKey":             s.createAccessKey,
		"ListAccessKeys":              s.listAccessKeys,
		"UpdateAccessKey":             s.updateAccessKey,
		"DeleteAccessKey":             s.deleteAccessKey,
		"CreatePolicy":                s.createPolicy,
		"GetPolicy":                   s.getPolicy,
		"GetPolicyVersion":            s.getPolicyVersion,
		"CreatePolicyVersion":         s.createPolicyVersion,
		"SimulatePrincipalPolicy":     s.simulatePrincipalPolicy,
		"ListInstanceProfilesForRole": s.listInstanceProfilesForRole,
		"SetDefaultPolicyVersion":     s.setDefaultPolicyVersion,
		"DeletePolicyVersion":         s.deletePolicyVersion,
		"ListPolicyVersions":          s.listPolicyVersions,
		"GetAccessKeyLastUsed":        s.getAccessKeyLastUsed,
		"DeletePolicy":                s.deletePolicy,
		"ListPolicies":                s.listPolicies,
		"CreateGroup":                 s.createGroup,
		"GetGroup":                    s.getGroup,
		"ListGroups":                  s.listGroups,
		"ListGroupsForUser":           s.listGroupsForUser,
		"DeleteGroup":                 s.deleteGroup,
		"AddUserToGroup":              s.addUserToGroup,
		"RemoveUserFromGroup":         s.removeUserFromGroup,
		"CreateRole":                  s.createRole,
		"GetRole":                     s.getRole,
		"ListRoles":                   s.listRoles,
		"DeleteRole":                  s.deleteRole,
		"UpdateAssumeRolePolicy":      s.updateAssumeRolePolicy,
	}
	for _, o := range []owner{ownerUser, ownerGroup, ownerRole} {
		ops["Put"+o.title+"Policy"] = s.putOwnerPolicy(o)
		ops["Get"+o.title+"Policy"] = s.getOwnerPolicy(o)
		ops["Delete"+o.title+"Policy"] = s.deleteOwnerPolicy(o)
		ops["List"+o.title+"Policies"] = s.listOwnerPolicies(o)
		ops["Attach"+o.title+"Policy"] = s.attachOwnerPolicy(o)
		ops["Detach"+o.title+"Policy"] = s.detachOwnerPolicy(o)
		ops["ListAttached"+o.title+"Policies"] = s.listAttachedOwnerPolicies(o)
	}
	for _, o := range []owner{ownerUser, ownerRole} {
		ops["Tag"+o.title] = s.tagOwner(o)
		ops["Untag"+o.title] = s.untagOwner(o)
		ops["List"+o.title+"Tags"] = s.listOwnerTags(o)
	}
	return ops
}

// --- validation helpers ---

func checkName(member, v string, max int) error {
	if len(v) > max {
		return errValidation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", v, member, max)
	}
	if !nameRE.MatchString(v) {
		return errValidation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", v, member)
	}
	return nil
}

func (p params) name(param string, max int) (string, error) {
	v, err := p.required(param)
	if err != nil {
		return "", err
	}
	return v, checkName(lowerFirst(param), v, max)
}

func (p params) path() (string, error) {
	v := p.get("Path")
	if v == "" {
		return "/", nil
	}
	if len(v) > 512 || !pathRE.MatchString(v) {
		return "", errValidation("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return v, nil
}

func (p params) pathPrefix() string {
	if v := p.get("PathPrefix"); v != "" {
		return v
	}
	return "/"
}

// checkPolicyDocument validates an identity policy (trust=false: no Principal allowed) or a
// trust policy (trust=true: Principal required).
func checkPolicyDocument(doc string, trust bool) error {
	member := "policyDocument"
	if trust {
		member = "assumeRolePolicyDocument"
	}
	if err := checkDocumentShape(member, doc); err != nil {
		return err
	}
	if _, err := iam.ParsePolicy([]byte(doc)); err != nil {
		return errMalformed("%s", strings.TrimPrefix(err.Error(), "iam: "))
	}
	var d struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return errMalformed("Syntax errors in policy.")
	}
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(d.Statement, &stmts); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(d.Statement, &one); err != nil {
			return nil // the parser accepted it; leave the shape to it
		}
		stmts = []map[string]json.RawMessage{one}
	}
	for _, st := range stmts {
		_, hasP := st["Principal"]
		_, hasNP := st["NotPrincipal"]
		if !trust && (hasP || hasNP) {
			return errMalformed("Policy document should not specify a principal.")
		}
		if trust && !hasP && !hasNP {
			return errMalformed("Missing required field Principal")
		}
		_, hasR := st["Resource"]
		_, hasNR := st["NotResource"]
		if trust && (hasR || hasNR) {
			return errMalformed("Has prohibited field Resource")
		}
		if !trust && !hasR && !hasNR {
			return errMalformed("Policy statement must contain resources.")
		}
	}
	return nil
}

func (s *API) arn(kind, path, name string) string {
	return "arn:aws:iam::" + s.account + ":" + kind + path + name
}

// internal turns a store failure into a ServiceFailure that hides the cause.
func internal(err error) error {
	e := awserr.Internal(err)
	e.Code = "ServiceFailure"
	return e
}

// noSuchOwner is IAM's message for a missing user, group or role.
func noSuchOwner(o owner, name string) error {
	if o.kind == store.OwnerRole {
		return errNoSuchEntity("The role with name %s cannot be found.", name)
	}
	return errNoSuchEntity("The %s with name %s cannot be found.", o.label, name)
}

// authorizeOwner authorizes action on the named owner, which must exist, and returns its name
// as created (names are case-insensitive). A missing owner is authorized at the ARN it would
// have with path "/".
func (s *API) authorizeOwner(c *call, o owner, name, action string) (string, error) {
	canon, arn, err := s.lookupOwner(c.ctx, o, name)
	missing := errors.Is(err, store.ErrNoSuchEntity)
	if missing {
		arn = s.arn(o.label, "/", name)
	} else if err != nil {
		return "", internal(err)
	}
	if err := s.authorize(c, action, arn); err != nil {
		return "", err
	}
	if missing {
		return "", noSuchOwner(o, name)
	}
	return canon, nil
}

// --- XML shapes ---

func userXML(u store.IAMUser, tags ...store.IAMTag) *xnode {
	return el("User", tx("Path", u.Path), tx("UserName", u.Name), tx("UserId", u.ID), tx("Arn", u.ARN), ttime("CreateDate", u.Created), tagsXML(tags))
}

func groupXML(g store.IAMGroup) *xnode {
	return el("Group", tx("Path", g.Path), tx("GroupName", g.Name), tx("GroupId", g.ID), tx("Arn", g.ARN), ttime("CreateDate", g.Created))
}

func roleXML(r store.IAMRole, tags ...store.IAMTag) *xnode {
	return el("Role", tx("Path", r.Path), tx("RoleName", r.Name), tx("RoleId", r.ID), tx("Arn", r.ARN), ttime("CreateDate", r.Created),
		tx("AssumeRolePolicyDocument", policyEscape(r.TrustPolicy)), opt("Description", r.Description), tint("MaxSessionDuration", r.MaxSessionDuration),
		tagsXML(tags))
}

func policyXML(p store.IAMPolicy) *xnode {
	return el("Policy", tx("PolicyName", p.Name), tx("PolicyId", p.ID), tx("Arn", p.ARN), tx("Path", p.Path),
		tx("DefaultVersionId", "v"+strconv.Itoa(max(p.DefaultVersion, 1))), tint("AttachmentCount", p.AttachmentCount), tint("PermissionsBoundaryUsageCount", 0),
		tbool("IsAttachable", true), opt("Description", p.Description), ttime("CreateDate", p.Created), ttime("UpdateDate", p.Updated))
}

func page(result *xnode, next string) *xnode {
	result.kids = append(result.kids, tbool("IsTruncated", next != ""))
	if next != "" {
		result.kids = append(result.kids, tx("Marker", next))
	}
	return result
}

// --- users ---

func (s *API) createUser(c *call) (*xnode, error) {
	name, err := c.params.name("UserName", 64)
	if err != nil {
		return nil, err
	}
	path, err := c.params.path()
	if err != nil {
		return nil, err
	}
	tags, err := c.params.tags()
	if err != nil {
		return nil, err
	}
	u := store.IAMUser{Name: name, Path: path, ARN: s.arn("user", path, name), Created: s.now().UTC()}
	if err := s.authorizeCreate(c, ownerUser, u.ARN, len(tags) > 0); err != nil {
		return nil, err
	}
	if err := s.insert(identity.PrefixUser, &u.ID, func() error { return s.db.CreateIAMUser(c.ctx, u) },
		errExists("User with name %s already exists.", name)); err != nil {
		return nil, err
	}
	if err := s.setTags(c, ownerUser, u.Name, tags); err != nil {
		return nil, err
	}
	return el("", userXML(u, tags...)), nil
}

// callerUserName is the UserName parameter, or the calling user's name when it is omitted.
func (c *call) callerUserName() (string, error) {
	if v := c.params.get("UserName"); v != "" {
		return v, checkName("userName", v, 128)
	}
	if c.p != nil && c.p.Type == identity.TypeUser {
		return c.p.Username, nil
	}
	return "", errValidation("Must specify userName when calling with non-User credentials")
}

func (s *API) getUser(c *call) (*xnode, error) {
	if c.params.get("UserName") == "" && c.p != nil && c.p.Type == identity.TypeAccount {
		u := store.IAMUser{Name: "", ID: s.account, Path: "", ARN: s.id.RootARN(), Created: s.now()}
		return el("", el("User", tx("UserId", u.ID), tx("Arn", u.ARN), ttime("CreateDate", u.Created))), nil
	}
	name, err := c.callerUserName()
	if err != nil {
		return nil, err
	}
	return getTagged(s, c, users, name)
}

func (s *API) listUsers(c *call) (*xnode, error) { return listAll(s, c, users) }

func userItem(u store.IAMUser) *xnode { return userXML(u) }

func (s *API) deleteUser(c *call) (*xnode, error) {
	name, canon, err := s.namedOwner(c, ownerUser, 128, "iam:DeleteUser")
	if err != nil {
		return nil, err
	}
	keys, err := s.db.ListAccessKeys(c.ctx, canon)
	if err != nil {
		return nil, internal(err)
	}
	if len(keys) > 0 {
		return nil, errDeleteConflict("Cannot delete entity, must delete access keys first.")
	}
	if err := s.checkNoPolicies(c, ownerUser, canon); err != nil {
		return nil, err
	}
	groups, err := s.db.ListIAMGroups(c.ctx, "/", canon)
	if err != nil {
		return nil, internal(err)
	}
	if len(groups) > 0 {
		return nil, errDeleteConflict("Cannot delete entity, must remove users from group first.")
	}
	if err := s.db.UntagOwner(c.ctx, store.OwnerUser, canon, nil); err != nil {
		return nil, internal(err)
	}
	if err := s.db.DeleteIAMUser(c.ctx, canon); err != nil {
		return nil, storeFailure(err, store.ErrNoSuchEntity, noSuchOwner(ownerUser, name))
	}
	return nil, nil
}

// checkNoPolicies is DeleteConflict when the owner still has inline or attached policies.
func (s *API) checkNoPolicies(c *call, o owner, name string) error {
	inl, err := s.db.ListInlinePolicies(c.ctx, o.kind, name)
	if err != nil {
		return internal(err)
	}
	if len(inl) > 0 {
		return errDeleteConflict("Cannot delete entity, must delete policies first.")
	}
	att, err := s.db.ListAttachedPolicies(c.ctx, o.kind, name)
	if err != nil {
		return internal(err)
	}
	if len(att) > 0 {
		return errDeleteConflict("Cannot delete entity, must detach all policies first.")
	}
	return nil
}

// --- access keys ---

func (s *API) createAccessKey(c *call) (*xnode, error) {
	name, err := c.callerUserName()
	if err != nil {
		return nil, err
	}
	canon, err := s.authorizeOwner(c, ownerUser, name, "iam:CreateAccessKey")
	if err != nil {
		return nil, err
	}
	keys, err := s.db.ListAccessKeys(c.ctx, canon)
	if err != nil {
		return nil, internal(err)
	}
	if len(keys) >= maxAccessKeysPerUser {
		return nil, errLimit("Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeysPerUser)
	}
	k := store.IAMAccessKey{UserName: canon, Status: "Active", Created: s.now().UTC()}
	if k.AccessKeyID, err = identity.NewAccessKeyID(s.rand, identity.PrefixAccessKey); err != nil {
		return nil, internal(err)
	}
	if k.Secret, err = identity.NewSecret(s.rand); err != nil {
		return nil, internal(err)
	}
	if err := s.db.CreateAccessKey(c.ctx, k); err != nil {
		return nil, storeFailure(err, store.ErrNoSuchEntity, noSuchOwner(ownerUser, name))
	}
	return el("", el("AccessKey", tx("UserName", k.UserName), tx("AccessKeyId", k.AccessKeyID), tx("Status", k.Status),
		tx("SecretAccessKey", k.Secret), ttime("CreateDate", k.Created))), nil
}

func (s *API) listAccessKeys(c *call) (*xnode, error) {
	name, err := c.callerUserName()
	if err != nil {
		return nil, err
	}
	canon, err := s.authorizeOwner(c, ownerUser, name, "iam:ListAccessKeys")
	if err != nil {
		return nil, err
	}
	return pagedList(c, "AccessKeyMetadata", func() ([]store.IAMAccessKey, error) {
		return fromStore(s.db.ListAccessKeys(c.ctx, canon))
	}, func(k store.IAMAccessKey) *xnode {
		return el("", tx("UserName", k.UserName), tx("AccessKeyId", k.AccessKeyID), tx("Status", k.Status), ttime("CreateDate", k.Created))
	})
}

// userKey resolves the user (its name as created) and access key parameters of
// UpdateAccessKey and DeleteAccessKey.
func (s *API) userKey(c *call, action string) (user, akid string, err error) {
	akid, err = c.params.required("AccessKeyId")
	if err != nil {
		return "", "", err
	}
	user, err = c.callerUserName()
	if err != nil {
		return "", "", err
	}
	if user, err = s.authorizeOwner(c, ownerUser, user, action); err != nil {
		return "", "", err
	}
	return user, akid, nil
}

// changeAccessKey is UpdateAccessKey and DeleteAccessKey: authorize action on the user, check
// the other parameters (when check is not nil), then change the user's key.
func (s *API) changeAccessKey(c *call, action string, check func() error, change func(user, akid string) error) (*xnode, error) {
	user, akid, err := s.userKey(c, action)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, err
		}
	}
	if err := change(user, akid); err != nil {
		return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchEntity("The Access Key with id %s cannot be found.", akid))
	}
	return nil, nil
}

func (s *API) updateAccessKey(c *call) (*xnode, error) {
	status := c.params.get("Status")
	return s.changeAccessKey(c, "iam:UpdateAccessKey", func() error {
		if status != "Active" && status != "Inactive" {
			return errValidation("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
		}
		return nil
	}, func(user, akid string) error {
		return s.db.UpdateAccessKeyStatus(c.ctx, user, akid, status)
	})
}

func (s *API) deleteAccessKey(c *call) (*xnode, error) {
	return s.changeAccessKey(c, "iam:DeleteAccessKey", nil, func(user, akid string) error {
		return s.db.DeleteAccessKey(c.ctx, user, akid)
	})
}

// --- inline policies ---

// policyName reads PolicyName.
func (p params) policyName() (string, error) { return p.name("PolicyName", 128) }

func (s *API) putOwnerPolicy(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		canon, in, err := canonicalOwnerWith(s, c, o, "iam:Put"+o.title+"Policy", func(p params) (store.IAMInlinePolicy, error) {
			pname, err := p.policyName()
			if err != nil {
				return store.IAMInlinePolicy{}, err
			}
			doc, err := p.required("PolicyDocument")
			return store.IAMInlinePolicy{OwnerKind: o.kind, Name: pname, Document: doc}, err
		})
		if err != nil {
			return nil, err
		}
		if err := checkPolicyDocument(in.Document, false); err != nil {
			return nil, err
		}
		if err := s.checkInlineQuota(c, o, canon, in.Name, in.Document); err != nil {
			return nil, err
		}
		in.OwnerName = canon
		if err := s.db.PutInlinePolicy(c.ctx, in); err != nil {
			return nil, internal(err)
		}
		return nil, nil
	}
}

// canonicalOwnerName is the owner's name as created (names are case-insensitive).
func (s *API) canonicalOwnerName(c *call, o owner, name string) (string, error) {
	canon, _, err := s.lookupOwner(c.ctx, o, name)
	if errors.Is(err, store.ErrNoSuchEntity) {
		return "", noSuchOwner(o, name)
	}
	if err != nil {
		return "", internal(err)
	}
	return canon, nil
}

func (s *API) getOwnerPolicy(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		canon, pname, err := canonicalOwnerWith(s, c, o, "iam:Get"+o.title+"Policy", params.policyName)
		if err != nil {
			return nil, err
		}
		p, err := s.db.GetInlinePolicy(c.ctx, o.kind, canon, pname)
		if err != nil {
			return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchInline(o, pname))
		}
		return el("", tx(o.param, canon), tx("PolicyName", p.Name), tx("PolicyDocument", policyEscape(p.Document))), nil
	}
}

func (s *API) deleteOwnerPolicy(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		canon, pname, err := canonicalOwnerWith(s, c, o, "iam:Delete"+o.title+"Policy", params.policyName)
		if err != nil {
			return nil, err
		}
		if err := s.db.DeleteInlinePolicy(c.ctx, o.kind, canon, pname); err != nil {
			return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchInline(o, pname))
		}
		return nil, nil
	}
}

func errNoSuchInline(o owner, policy string) error {
	return errNoSuchEntity("The %s policy with name %s cannot be found.", o.label, policy)
}

func (s *API) listOwnerPolicies(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		_, canon, err := s.namedOwner(c, o, 128, "iam:List"+o.title+"Policies")
		if err != nil {
			return nil, err
		}
		return pagedList(c, "PolicyNames", func() ([]store.IAMInlinePolicy, error) {
			return fromStore(s.db.ListInlinePolicies(c.ctx, o.kind, canon))
		}, func(p store.IAMInlinePolicy) *xnode { return tx("", p.Name) })
	}
}

// --- managed policies ---

// policyARN validates a PolicyArn parameter.
func (p params) policyARN() (string, error) {
	v, err := p.required("PolicyArn")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(v, "arn:aws:iam::") || !strings.Contains(v, ":policy/") {
		return "", errInvalidInput("ARN %s is not valid.", v)
	}
	return v, nil
}

func (s *API) attachOwnerPolicy(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		canon, parn, err := canonicalOwnerWith(s, c, o, "iam:Attach"+o.title+"Policy", params.policyARN)
		if err != nil {
			return nil, err
		}
		if _, err := s.db.GetIAMPolicy(c.ctx, parn); err != nil {
			return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchPolicy(parn))
		}
		if err := s.db.AttachPolicy(c.ctx, o.kind, canon, parn); err != nil {
			return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchPolicy(parn))
		}
		return nil, nil
	}
}

func (s *API) detachOwnerPolicy(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		canon, parn, err := canonicalOwnerWith(s, c, o, "iam:Detach"+o.title+"Policy", params.policyARN)
		if err != nil {
			return nil, err
		}
		if err := s.db.DetachPolicy(c.ctx, o.kind, canon, parn); err != nil {
			return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchEntity("Policy %s was not found.", parn))
		}
		return nil, nil
	}
}

func (s *API) listAttachedOwnerPolicies(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		_, canon, err := s.namedOwner(c, o, 128, "iam:ListAttached"+o.title+"Policies")
		if err != nil {
			return nil, err
		}
		return pagedList(c, "AttachedPolicies", func() ([]store.IAMPolicy, error) {
			ps, err := s.db.ListAttachedPolicies(c.ctx, o.kind, canon)
			if err != nil {
				return nil, internal(err)
			}
			prefix := c.params.pathPrefix()
			kept := ps[:0]
			for _, p := range ps {
				if strings.HasPrefix(p.Path, prefix) {
					kept = append(kept, p)
				}
			}
			return kept, nil
		}, func(p store.IAMPolicy) *xnode { return el("", tx("PolicyName", p.Name), tx("PolicyArn", p.ARN)) })
	}
}

func (s *API) createPolicy(c *call) (*xnode, error) {
	name, err := c.params.name("PolicyName", 128)
	if err != nil {
		return nil, err
	}
	doc, err := c.params.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	path, err := c.params.path()
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	p := store.IAMPolicy{Name: name, Path: path, ARN: s.arn("policy", path, name), Document: doc,
		Description: c.params.get("Description"), Created: now, Updated: now}
	if err := s.authorize(c, "iam:CreatePolicy", p.ARN); err != nil {
		return nil, err
	}
	if err := checkPolicyDocument(doc, false); err != nil {
		return nil, err
	}
	if err := checkManagedSize(doc); err != nil {
		return nil, err
	}
	if err := s.insert(identity.PrefixPolicy, &p.ID, func() error { return s.db.CreateIAMPolicy(c.ctx, p) },
		errExists("A policy called %s already exists. Duplicate names are not allowed.", name)); err != nil {
		return nil, err
	}
	return el("", policyXML(p)), nil
}

// lookupPolicy authorizes action on the policy and returns it.
func (s *API) lookupPolicy(c *call, action string) (store.IAMPolicy, error) {
	parn, err := c.params.policyARN()
	if err != nil {
		return store.IAMPolicy{}, err
	}
	if err := s.authorize(c, action, parn); err != nil {
		return store.IAMPolicy{}, err
	}
	p, err := s.db.GetIAMPolicy(c.ctx, parn)
	if err != nil {
		return store.IAMPolicy{}, storeFailure(err, store.ErrNoSuchEntity, errNoSuchPolicy(parn))
	}
	return p, nil
}

func (s *API) getPolicy(c *call) (*xnode, error) {
	p, err := s.lookupPolicy(c, "iam:GetPolicy")
	if err != nil {
		return nil, err
	}
	return el("", policyXML(p)), nil
}

func versionXML(v store.IAMPolicyVersion) *xnode {
	return el("PolicyVersion", tx("Document", policyEscape(v.Document)), tx("VersionId", "v"+strconv.Itoa(v.Version)),
		tbool("IsDefaultVersion", v.IsDefault), ttime("CreateDate", v.Created))
}

// versionParam reads VersionId (v<N>).
func (p params) versionParam() (int, error) {
	v, err := p.required("VersionId")
	if err != nil {
		return 0, err
	}
	n, perr := strconv.Atoi(strings.TrimPrefix(v, "v"))
	if !strings.HasPrefix(v, "v") || perr != nil || n < 1 {
		return 0, errValidation("1 validation error detected: Value '%s' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?", v)
	}
	return n, nil
}

func (s *API) getPolicyVersion(c *call) (*xnode, error) {
	p, err := s.lookupPolicy(c, "iam:GetPolicyVersion")
	if err != nil {
		return nil, err
	}
	n, err := c.params.versionParam()
	if err != nil {
		return nil, err
	}
	vs, err := s.db.PolicyVersions(c.ctx, p.ARN)
	if err != nil {
		return nil, internal(err)
	}
	for _, v := range vs {
		if v.Version == n {
			return el("", versionXML(v)), nil
		}
	}
	return nil, errNoSuchVersion(p.ARN, n)
}

func (s *API) listPolicyVersions(c *call) (*xnode, error) {
	p, err := s.lookupPolicy(c, "iam:ListPolicyVersions")
	if err != nil {
		return nil, err
	}
	vs, err := s.db.PolicyVersions(c.ctx, p.ARN)
	if err != nil {
		return nil, internal(err)
	}
	return wholeList("Versions", vs, versionXML), nil
}

// localPolicy rejects changes to AWS-managed policies.
func (c *call) localPolicy(p store.IAMPolicy, action string) error {
	if strings.HasPrefix(p.ARN, "arn:aws:iam::aws:") {
		return awserr.Newf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: %s on resource: policy %s", c.p.ARN, action, p.ARN)
	}
	return nil
}

func (s *API) createPolicyVersion(c *call) (*xnode, error) {
	p, err := s.localPolicyArg(c, "iam:CreatePolicyVersion")
	if err != nil {
		return nil, err
	}
	doc, err := c.params.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := checkPolicyDocument(doc, false); err != nil {
		return nil, err
	}
	if err := checkManagedSize(doc); err != nil {
		return nil, err
	}
	setDefault, _ := strconv.ParseBool(c.params.get("SetAsDefault"))
	now := s.now().UTC()
	n, err := s.db.CreatePolicyVersion(c.ctx, p.ARN, doc, setDefault, now)
	if errors.Is(err, store.ErrLimitExceeded) {
		return nil, errLimit("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", store.MaxPolicyVersions)
	}
	if err != nil {
		return nil, internal(err)
	}
	return el("", el("PolicyVersion", tx("VersionId", "v"+strconv.Itoa(n)), tbool("IsDefaultVersion", setDefault), ttime("CreateDate", now))), nil
}

func (s *API) setDefaultPolicyVersion(c *call) (*xnode, error) {
	p, n, err := s.localPolicyVersion(c, "iam:SetDefaultPolicyVersion")
	if err != nil {
		return nil, err
	}
	if err := s.db.SetDefaultPolicyVersion(c.ctx, p.ARN, n, s.now().UTC()); err != nil {
		return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchVersion(p.ARN, n))
	}
	return nil, nil
}

func (s *API) deletePolicyVersion(c *call) (*xnode, error) {
	p, n, err := s.localPolicyVersion(c, "iam:DeletePolicyVersion")
	if err != nil {
		return nil, err
	}
	if err := s.db.DeletePolicyVersion(c.ctx, p.ARN, n); err != nil {
		if errors.Is(err, store.ErrDefaultVersion) {
			return nil, errDeleteConflict("Cannot delete the default version of a policy.")
		}
		return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchVersion(p.ARN, n))
	}
	return nil, nil
}

// getAccessKeyLastUsed answers for any existing key; furl does not track last use.
func (s *API) getAccessKeyLastUsed(c *call) (*xnode, error) {
	akid, err := c.params.required("AccessKeyId")
	if err != nil {
		return nil, err
	}
	k, err := s.db.GetAccessKey(c.ctx, akid)
	if errors.Is(err, store.ErrNoSuchEntity) {
		return nil, awserr.Newf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: iam:GetAccessKeyLastUsed on resource: access key %s", c.p.ARN, akid)
	}
	if err != nil {
		return nil, internal(err)
	}
	u, err := s.db.GetIAMUser(c.ctx, k.UserName)
	if err != nil {
		return nil, internal(err)
	}
	if err := s.authorize(c, "iam:GetAccessKeyLastUsed", u.ARN); err != nil {
		return nil, err
	}
	return el("", tx("UserName", u.Name), el("AccessKeyLastUsed", tx("Region", "N/A"), tx("ServiceName", "N/A"))), nil
}

func (s *API) deletePolicy(c *call) (*xnode, error) {
	p, err := s.localPolicyArg(c, "iam:DeletePolicy")
	if err != nil {
		return nil, err
	}
	if p.AttachmentCount > 0 {
		return nil, errDeleteConflict("Cannot delete a policy attached to entities.")
	}
	vs, err := s.db.PolicyVersions(c.ctx, p.ARN)
	if err != nil {
		return nil, internal(err)
	}
	if len(vs) > 1 {
		return nil, errDeleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	if err := s.db.DeleteIAMPolicy(c.ctx, p.ARN); err != nil {
		return nil, internal(err)
	}
	return nil, nil
}

func (s *API) listPolicies(c *call) (*xnode, error) {
	if err := s.authorize(c, "iam:ListPolicies", s.arn("policy", "/", "")); err != nil {
		return nil, err
	}
	return pagedList(c, "Policies", func() ([]store.IAMPolicy, error) {
		prefix := ""
		switch scope := c.params.get("Scope"); scope {
		case "", "All":
		case "AWS":
			prefix = "arn:aws:iam::aws:"
		case "Local":
			prefix = "arn:aws:iam::" + s.account + ":"
		default:
			return nil, errValidation("1 validation error detected: Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", scope)
		}
		onlyAttached, _ := strconv.ParseBool(c.params.get("OnlyAttached"))
		return fromStore(s.db.ListIAMPolicies(c.ctx, prefix, c.params.pathPrefix(), onlyAttached))
	}, policyXML)
}

// --- groups ---

func (s *API) createGroup(c *call) (*xnode, error) {
	name, err := c.params.name("GroupName", 128)
	if err != nil {
		return nil, err
	}
	path, err := c.params.path()
	if err != nil {
		return nil, err
	}
	g := store.IAMGroup{Name: name, Path: path, ARN: s.arn("group", path, name), Created: s.now().UTC()}
	if err := s.authorize(c, "iam:CreateGroup", g.ARN); err != nil {
		return nil, err
	}
	if err := s.insert(identity.PrefixGroup, &g.ID, func() error { return s.db.CreateIAMGroup(c.ctx, g) },
		errExists("Group with name %s already exists.", name)); err != nil {
		return nil, err
	}
	return el("", groupXML(g)), nil
}

func (s *API) getGroup(c *call) (*xnode, error) {
	_, canon, err := s.namedOwner(c, ownerGroup, 128, "iam:GetGroup")
	if err != nil {
		return nil, err
	}
	g, err := s.db.GetIAMGroup(c.ctx, canon)
	if err != nil {
		return nil, internal(err)
	}
	us, err := s.db.GroupMembers(c.ctx, g.Name)
	if err != nil {
		return nil, internal(err)
	}
	return page(el("", groupXML(g), members("Users", xmlEach(us, userItem))), ""), nil
}

func (s *API) listGroups(c *call) (*xnode, error) {
	if err := s.authorize(c, "iam:ListGroups", s.arn("group", "/", "")); err != nil {
		return nil, err
	}
	return s.groupList(c, "")
}

func (s *API) listGroupsForUser(c *call) (*xnode, error) {
	_, canon, err := s.namedOwner(c, ownerUser, 128, "iam:ListGroupsForUser")
	if err != nil {
		return nil, err
	}
	return s.groupList(c, canon)
}

func (s *API) groupList(c *call, user string) (*xnode, error) {
	return pagedList(c, "Groups", func() ([]store.IAMGroup, error) {
		return fromStore(s.db.ListIAMGroups(c.ctx, c.params.pathPrefix(), user))
	}, groupXML)
}

func (s *API) deleteGroup(c *call) (*xnode, error) {
	_, canon, err := s.namedOwner(c, ownerGroup, 128, "iam:DeleteGroup")
	if err != nil {
		return nil, err
	}
	us, err := s.db.GroupMembers(c.ctx, canon)
	if err != nil {
		return nil, internal(err)
	}
	if len(us) > 0 {
		return nil, errDeleteConflict("Cannot delete entity, must remove users from group first.")
	}
	if err := s.checkNoPolicies(c, ownerGroup, canon); err != nil {
		return nil, err
	}
	if err := s.db.DeleteIAMGroup(c.ctx, canon); err != nil {
		return nil, internal(err)
	}
	return nil, nil
}

// groupMembership reads GroupName and UserName, authorizes action on the group and requires
// both to exist. It answers their names as created.
func (s *API) groupMembership(c *call, action string) (group, user string, err error) {
	if group, err = c.params.name("GroupName", 128); err != nil {
		return "", "", err
	}
	if user, err = c.params.name("UserName", 128); err != nil {
		return "", "", err
	}
	if group, err = s.authorizeOwner(c, ownerGroup, group, action); err != nil {
		return "", "", err
	}
	if user, err = s.canonicalOwnerName(c, ownerUser, user); err != nil {
		return "", "", err
	}
	return group, user, nil
}

func (s *API) addUserToGroup(c *call) (*xnode, error) {
	group, user, err := s.groupMembership(c, "iam:AddUserToGroup")
	if err != nil {
		return nil, err
	}
	if err := s.db.AddUserToGroup(c.ctx, group, user); err != nil {
		return nil, storeFailure(err, store.ErrNoSuchEntity, noSuchOwner(ownerUser, user))
	}
	return nil, nil
}

func (s *API) removeUserFromGroup(c *call) (*xnode, error) {
	group, user, err := s.groupMembership(c, "iam:RemoveUserFromGroup")
	if err != nil {
		return nil, err
	}
	if err := s.db.RemoveUserFromGroup(c.ctx, group, user); err != nil {
		return nil, storeFailure(err, store.ErrNoSuchEntity, errNoSuchEntity("The user with name %s cannot be found in group %s.",
			c.params.get("UserName"), c.params.get("GroupName")))
	}
	return nil, nil
}

// --- roles ---

func (s *API) createRole(c *call) (*xnode, error) {
	name, err := c.params.name("RoleName", 64)
	if err != nil {
		return nil, err
	}
	doc, err := c.params.required("AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	path, err := c.params.path()
	if err != nil {
		return nil, err
	}
	maxDur := 3600
	if v := c.params.get("MaxSessionDuration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3600 || n > 43200 {
			return nil, errValidation("1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", v)
		}
		maxDur = n
	}
	r := store.IAMRole{Name: name, Path: path, ARN: s.arn("role", path, name), TrustPolicy: doc,
		Description: c.params.get("Description"), MaxSessionDuration: maxDur, Created: s.now().UTC()}
	tags, err := c.params.tags()
	if err != nil {
		return nil, err
	}
	if err := s.authorizeCreate(c, ownerRole, r.ARN, len(tags) > 0); err != nil {
		return nil, err
	}
	if err := checkPolicyDocument(doc, true); err != nil {
		return nil, err
	}
	if err := checkTrustSize(doc); err != nil {
		return nil, err
	}
	if err := s.insert(identity.PrefixRole, &r.ID, func() error { return s.db.CreateIAMRole(c.ctx, r) },
		errExists("Role with name %s already exists.", name)); err != nil {
		return nil, err
	}
	if err := s.setTags(c, ownerRole, r.Name, tags); err != nil {
		return nil, err
	}
	return el("", roleXML(r, tags...)), nil
}

func (s *API) getRole(c *call) (*xnode, error) {
	name, err := c.params.name("RoleName", 64)
	if err != nil {
		return nil, err
	}
	return getTagged(s, c, roles, name)
}

func (s *API) listRoles(c *call) (*xnode, error) { return listAll(s, c, roles) }

func (s *API) deleteRole(c *call) (*xnode, error) {
	_, canon, err := s.namedOwner(c, ownerRole, 64, "iam:DeleteRole")
	if err != nil {
		return nil, err
	}
	if err := s.checkNoPolicies(c, ownerRole, canon); err != nil {
		return nil, err
	}
	if err := s.db.UntagOwner(c.ctx, store.OwnerRole, canon, nil); err != nil {
		return nil, internal(err)
	}
	if err := s.db.DeleteIAMRole(c.ctx, canon); err != nil {
		return nil, internal(err)
	}
	return nil, nil
}

func (s *API) updateAssumeRolePolicy(c *call) (*xnode, error) {
	name, err := c.params.name("RoleName", 64)
	if err != nil {
		return nil, err
	}
	doc, err := c.params.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	canon, err := s.authorizeOwner(c, ownerRole, name, "iam:UpdateAssumeRolePolicy")
	if err != nil {
		return nil, err
	}
	if err := checkPolicyDocument(doc, true); err != nil {
		return nil, err
	}
	if err := checkTrustSize(doc); err != nil {
		return nil, err
	}
	if err := s.db.UpdateRoleTrustPolicy(c.ctx, canon, doc); err != nil {
		return nil, internal(err)
	}
	return nil, nil
}

// listInstanceProfilesForRole answers an empty list: furl has no EC2 instance profiles, but
// tools (Terraform) ask before deleting a role.
func (s *API) listInstanceProfilesForRole(c *call) (*xnode, error) {
	if _, _, err := s.namedOwner(c, ownerRole, 64, "iam:ListInstanceProfilesForRole"); err != nil {
		return nil, err
	}
	return page(el("", members("InstanceProfiles", nil)), ""), nil
}
