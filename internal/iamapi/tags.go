package iamapi

import (
	"strconv"

	"github.com/furl/furl/internal/store"
)

// maxTags is IAM's quota of tags per user or role.
const maxTags = 50

// tags reads Tags.member.N.Key / Tags.member.N.Value.
func (p params) tags() ([]store.IAMTag, error) {
	var out []store.IAMTag
	for i := 1; ; i++ {
		prefix := "Tags.member." + strconv.Itoa(i) + "."
		k, hasK := p[prefix+"Key"]
		if !hasK {
			if p.has(prefix + "Value") {
				return nil, errMissing("tags." + strconv.Itoa(i) + ".member.key")
			}
			break
		}
		t := store.IAMTag{Key: k[0], Value: p.get(prefix + "Value")}
		if len(t.Key) < 1 || len(t.Key) > 128 || len(t.Value) > 256 {
			return nil, errValidation("1 validation error detected: Value at 'tags.%d.member' failed to satisfy constraint: key must be 1 to 128 characters and value at most 256", i)
		}
		out = append(out, t)
		if len(out) > maxTags {
			return nil, errLimit("The number of tags has reached the maximum limit.")
		}
	}
	return out, nil
}

func tagsXML(tags []store.IAMTag) *xnode {
	if len(tags) == 0 {
		return nil
	}
	return members("Tags", xmlEach(tags, tagXML))
}

func tagXML(t store.IAMTag) *xnode { return el("", tx("Key", t.Key), tx("Value", t.Value)) }

// setTags stores the owner's tags after checking the total stays within the quota.
func (s *API) setTags(c *call, o owner, name string, tags []store.IAMTag) error {
	if len(tags) == 0 {
		return nil
	}
	have, err := s.db.OwnerTags(c.ctx, o.kind, name)
	if err != nil {
		return internal(err)
	}
	keys := map[string]bool{}
	for _, t := range have {
		keys[lowerASCII(t.Key)] = true
	}
	for _, t := range tags {
		keys[lowerASCII(t.Key)] = true
	}
	if len(keys) > maxTags {
		return errLimit("The number of tags has reached the maximum limit.")
	}
	if err := s.db.TagOwner(c.ctx, o.kind, name, tags); err != nil {
		return internal(err)
	}
	return nil
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (s *API) tagOwner(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		canon, tags, err := canonicalOwnerWith(s, c, o, "iam:Tag"+o.title, func(p params) ([]store.IAMTag, error) {
			tags, err := p.tags()
			if err == nil && len(tags) == 0 {
				err = errMissing("tags")
			}
			return tags, err
		})
		if err != nil {
			return nil, err
		}
		return nil, s.setTags(c, o, canon, tags)
	}
}

func (s *API) untagOwner(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		canon, keys, err := canonicalOwnerWith(s, c, o, "iam:Untag"+o.title, func(p params) ([]string, error) {
			keys := p.list("TagKeys")
			if len(keys) == 0 {
				return nil, errMissing("tagKeys")
			}
			return keys, nil
		})
		if err != nil {
			return nil, err
		}
		if err := s.db.UntagOwner(c.ctx, o.kind, canon, keys); err != nil {
			return nil, internal(err)
		}
		return nil, nil
	}
}

func (s *API) listOwnerTags(o owner) opFunc {
	return func(c *call) (*xnode, error) {
		_, canon, err := s.namedOwner(c, o, 128, "iam:List"+o.title+"Tags")
		if err != nil {
			return nil, err
		}
		return pagedList(c, "Tags", func() ([]store.IAMTag, error) {
			return fromStore(s.db.OwnerTags(c.ctx, o.kind, canon))
		}, tagXML)
	}
}
