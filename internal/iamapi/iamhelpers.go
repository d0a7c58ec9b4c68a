package iamapi

import (
	"context"
	"errors"

	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/store"
)

// Steps the IAM operations share.

// fromStore passes a store answer on, turning a failure into a ServiceFailure.
func fromStore[T any](v T, err error) (T, error) {
	if err != nil {
		var zero T
		return zero, internal(err)
	}
	return v, nil
}

// storeFailure is known when err is target, else err as a ServiceFailure.
func storeFailure(err, target, known error) error {
	if errors.Is(err, target) {
		return known
	}
	return internal(err)
}

// xmlEach renders each item with item.
func xmlEach[T any](items []T, item func(T) *xnode) []*xnode {
	out := make([]*xnode, 0, len(items))
	for _, it := range items {
		out = append(out, item(it))
	}
	return out
}

// pagedList reads Marker and MaxItems, lists with fetch (whose errors are answered as they
// are) and answers that page of the list as <name><member>…</member></name> followed by
// IsTruncated and, when truncated, the next Marker.
func pagedList[T any](c *call, name string, fetch func() ([]T, error), item func(T) *xnode) (*xnode, error) {
	marker, max, err := c.params.pageArgs()
	if err != nil {
		return nil, err
	}
	all, err := fetch()
	if err != nil {
		return nil, err
	}
	items, next, err := paginate(all, marker, max)
	if err != nil {
		return nil, err
	}
	return page(el("", members(name, xmlEach(items, item))), next), nil
}

// wholeList answers a list IAM never truncates: <name>…</name><IsTruncated>false</IsTruncated>.
func wholeList[T any](name string, items []T, item func(T) *xnode) *xnode {
	return page(el("", members(name, xmlEach(items, item))), "")
}

// lookupOwner fetches the named user, group or role and returns its name as created and its
// ARN, with the store's error (zero values with it).
func (s *API) lookupOwner(ctx context.Context, o owner, name string) (canon, arn string, err error) {
	switch o.kind {
	case store.OwnerUser:
		u, err := s.db.GetIAMUser(ctx, name)
		return u.Name, u.ARN, err
	case store.OwnerGroup:
		g, err := s.db.GetIAMGroup(ctx, name)
		return g.Name, g.ARN, err
	case store.OwnerRole:
		r, err := s.db.GetIAMRole(ctx, name)
		return r.Name, r.ARN, err
	}
	return "", "", nil
}

// namedOwner reads the owner's name parameter (at most max characters) and authorizes action on
// the owner, which must exist. It returns the name as given and as created.
func (s *API) namedOwner(c *call, o owner, max int, action string) (name, canon string, err error) {
	if name, err = c.params.name(o.param, max); err != nil {
		return "", "", err
	}
	if canon, err = s.authorizeOwner(c, o, name, action); err != nil {
		return "", "", err
	}
	return name, canon, nil
}

// canonicalOwnerWith reads the owner's name parameter (at most 128 characters), then the
// operation's other parameters with more, and authorizes action on the owner, which must
// exist. It returns the owner's name as created.
func canonicalOwnerWith[T any](s *API, c *call, o owner, action string, more func(params) (T, error)) (string, T, error) {
	var zero T
	name, err := c.params.name(o.param, 128)
	if err != nil {
		return "", zero, err
	}
	v, err := more(c.params)
	if err != nil {
		return "", zero, err
	}
	canon, err := s.authorizeOwner(c, o, name, action)
	if err != nil {
		return "", zero, err
	}
	return canon, v, nil
}

// tagged is a kind of owner that carries tags, users and roles, with what Get<Owner> and
// List<Owner>s need of it.
type tagged[T any] struct {
	owner
	list   string // the List action's and its answer's plural: Users, Roles
	get    func(*store.DB, context.Context, string) (T, error)
	all    func(*store.DB, context.Context, string) ([]T, error) // by path prefix
	nameOf func(T) string
	xml    func(T, ...store.IAMTag) *xnode
}

var (
	users = tagged[store.IAMUser]{ownerUser, "Users", (*store.DB).GetIAMUser, (*store.DB).ListIAMUsers,
		func(u store.IAMUser) string { return u.Name }, userXML}
	roles = tagged[store.IAMRole]{ownerRole, "Roles", (*store.DB).GetIAMRole, (*store.DB).ListIAMRoles,
		func(r store.IAMRole) string { return r.Name }, roleXML}
)

// getTagged answers Get<Owner> for the named user or role, with its tags.
func getTagged[T any](s *API, c *call, k tagged[T], name string) (*xnode, error) {
	if _, err := s.authorizeOwner(c, k.owner, name, "iam:Get"+k.title); err != nil {
		return nil, err
	}
	v, err := k.get(s.db, c.ctx, name)
	if err != nil {
		return nil, internal(err)
	}
	tags, err := s.db.OwnerTags(c.ctx, k.kind, k.nameOf(v))
	if err != nil {
		return nil, internal(err)
	}
	return el("", k.xml(v, tags...)), nil
}

// listAll answers List<Owner>s: a page of the users or roles under PathPrefix, without tags.
func listAll[T any](s *API, c *call, k tagged[T]) (*xnode, error) {
	if err := s.authorize(c, "iam:List"+k.list, s.arn(k.label, "/", "")); err != nil {
		return nil, err
	}
	return pagedList(c, k.list, func() ([]T, error) {
		return fromStore(k.all(s.db, c.ctx, c.params.pathPrefix()))
	}, func(v T) *xnode { return k.xml(v) })
}

// authorizeCreate authorizes creating the owner at arn and, when it comes with tags, tagging it.
func (s *API) authorizeCreate(c *call, o owner, arn string, tagged bool) error {
	if err := s.authorize(c, "iam:Create"+o.title, arn); err != nil {
		return err
	}
	if tagged {
		return s.authorize(c, "iam:Tag"+o.title, arn)
	}
	return nil
}

// insert gives a new entity a unique id with prefix and stores it with put; an existing one
// is exists.
func (s *API) insert(prefix string, id *string, put func() error, exists error) error {
	var err error
	if *id, err = identity.NewUniqueID(s.rand, prefix); err != nil {
		return internal(err)
	}
	if err := put(); err != nil {
		return storeFailure(err, store.ErrEntityExists, exists)
	}
	return nil
}

// localPolicyArg authorizes action on the customer-managed policy named by PolicyArn.
func (s *API) localPolicyArg(c *call, action string) (store.IAMPolicy, error) {
	p, err := s.lookupPolicy(c, action)
	if err != nil {
		return p, err
	}
	if err := c.localPolicy(p, action); err != nil {
		return p, err
	}
	return p, nil
}

// localPolicyVersion is localPolicyArg and the VersionId parameter.
func (s *API) localPolicyVersion(c *call, action string) (store.IAMPolicy, int, error) {
	p, err := s.localPolicyArg(c, action)
	if err != nil {
		return p, 0, err
	}
	n, err := c.params.versionParam()
	return p, n, err
}

func errNoSuchVersion(arn string, n int) error {
	return errNoSuchEntity("Policy %s version v%d does not exist or is not attachable.", arn, n)
}

func errNoSuchPolicy(arn string) error {
	return errNoSuchEntity("Policy %s does not exist or is not attachable.", arn)
}
