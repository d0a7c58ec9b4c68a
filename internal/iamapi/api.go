package iamapi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/reqbody"
	"github.com/furl/furl/internal/sigv4"
	"github.com/furl/furl/internal/store"
)

// maxQueryBody caps a Query-protocol request body.
const maxQueryBody = 1 << 20

// call is one IAM or STS request being served.
type call struct {
	ctx       context.Context
	r         *http.Request // nil in tests that call operations directly
	p         *iam.Principal
	params    params
	requestID string
}

type opFunc func(c *call) (*xnode, error)

// Options configure an API.
type Options struct {
	// Identity authenticates and authorizes every call; its caches are invalidated after
	// every write.
	Identity *identity.Service
	Store    *store.DB
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness for ids and secrets; nil means crypto/rand.
	Rand io.Reader
	Log  *slog.Logger
}

// API serves the IAM and STS Query-protocol APIs (POST / with a form-encoded
// Action=...&Version=... body, or GET with the same parameters in the query), SigV4-signed for
// service "iam" or "sts".
type API struct {
	id      *identity.Service
	db      *store.DB
	account string
	now     func() time.Time
	rand    io.Reader
	log     *slog.Logger
	iam     map[string]opFunc
	sts     map[string]opFunc
}

// New returns the IAM/STS handler.
func New(opts Options) (*API, error) {
	if opts.Identity == nil || opts.Store == nil {
		return nil, errors.New("iamapi: new: identity and store are required")
	}
	s := &API{id: opts.Identity, db: opts.Store, account: opts.Identity.AccountID(), now: opts.Now, rand: opts.Rand, log: opts.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.iam = s.iamOps()
	s.sts = map[string]opFunc{
		"GetCallerIdentity": s.getCallerIdentity,
		"AssumeRole":        s.assumeRole,
		"GetSessionToken":   s.getSessionToken,
	}
	return s, nil
}

// ServeHTTP answers one IAM or STS request.
func (q *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	ns := nsIAM
	fail := func(err error) {
		e := wireError(err)
		if e.Status >= 500 {
			q.log.Error("iamapi: query api", "request_id", requestID, "err", err)
		} else if e.Cause != nil {
			q.log.Debug("iamapi: query api", "request_id", requestID, "code", e.Code, "err", err)
		}
		writeXML(w, e.Status, requestID, renderError(ns, e, requestID))
	}
	authFail := func(err error) {
		e := awserr.As(err)
		qe := *e
		qe.Code = sigv4.QueryCode(e.Code)
		fail(&qe)
	}
	// Authenticate what needs no body first: an unsigned caller, or one with an unknown key, is
	// refused before furl reads (and holds) its body.
	if err := q.id.Precheck(r.Context(), r, "iam", "sts"); err != nil {
		ns = q.refusalNamespace(r)
		authFail(err)
		return
	}
	ns = nsIAM
	if r.ContentLength > maxQueryBody {
		fail(errValidation("Request body is too large."))
		return
	}
	rb, err := reqbody.Read(r.Context(), w, r, maxQueryBody, nil)
	if err != nil {
		if errors.Is(err, reqbody.ErrTooLarge) {
			fail(errValidation("Request body is too large."))
			return
		}
		fail(awserr.New(http.StatusBadRequest, "InvalidRequest", "Could not read the request body."))
		return
	}
	body := rb.Bytes
	ps, err := parseParams(r.Header.Get("Content-Type"), body, r.URL.RawQuery)
	if err != nil {
		fail(errInvalidInput("Could not parse the request parameters."))
		return
	}
	action := ps.get("Action")
	service := scopeService(r)
	if service != "iam" && service != "sts" {
		service = "iam"
		if _, ok := q.sts[action]; ok {
			service = "sts"
		}
	}
	if service == "sts" {
		ns = nsSTS
	}
	p, err := q.id.Authenticate(r.Context(), r, rb.SHA256, service)
	if err != nil {
		authFail(err)
		return
	}
	ops := q.iam
	if service == "sts" {
		ops = q.sts
	}
	op, ok := ops[action]
	if !ok {
		if action == "" {
			fail(awserr.New(http.StatusBadRequest, "MissingAction", "Missing Action"))
			return
		}
		fail(awserr.Newf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, ps.get("Version")))
		return
	}
	c := &call{ctx: r.Context(), r: r, p: p, params: ps, requestID: requestID}
	res, err := op(c)
	if !strings.HasPrefix(action, "Get") && !strings.HasPrefix(action, "List") {
		// Any write (even a failed one may have half-applied) invalidates cached keys and
		// policies, so a revoked key or a new Deny takes effect on the next request.
		q.id.Invalidate()
	}
	if err != nil {
		fail(err)
		return
	}
	writeXML(w, http.StatusOK, requestID, renderResponse(ns, action, res, requestID))
}

// maxRefusedBody is how much of a refused (unauthenticated) request's body furl reads: enough
// for the Action that picks the error's XML namespace, no more.
const maxRefusedBody = 4 << 10

// refusalNamespace is the XML namespace of an error for r, refused before its body was read: STS
// when the credential scope or the Action (from a small body) is STS's.
func (q *API) refusalNamespace(r *http.Request) string {
	switch scopeService(r) {
	case "sts":
		return nsSTS
	case "iam":
		return nsIAM
	}
	var body []byte
	if r.ContentLength >= 0 && r.ContentLength <= maxRefusedBody {
		if rb, err := reqbody.Read(r.Context(), nil, r, maxRefusedBody, nil); err == nil {
			body = rb.Bytes
		}
	}
	if ps, err := parseParams(r.Header.Get("Content-Type"), body, r.URL.RawQuery); err == nil {
		if _, ok := q.sts[ps.get("Action")]; ok {
			return nsSTS
		}
	}
	return nsIAM
}

// scopeService returns the service of the request's credential scope, or "".
func scopeService(r *http.Request) string {
	cred := ""
	if av := r.Header.Get("Authorization"); av != "" {
		if h, err := sigv4.ParseAuthorization(av); err == nil {
			cred = h.Credential
		}
	} else if v, err := url.ParseQuery(r.URL.RawQuery); err == nil {
		cred = v.Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
}

// authorize checks that c's principal may perform action on resource (identity policies only:
// IAM resources have no resource policies).
func (s *API) authorize(c *call, action, resource string) error {
	return s.id.Require(c.ctx, identity.Question{Principal: c.p, Action: action, Resource: resource, HTTP: c.r})
}

// wireError is the one place this plane turns an error into its wire error: domain errors
// by the table, *awserr.Error values as they are, anything else a ServiceFailure-style 500
// that hides the cause.
func wireError(err error) *awserr.Error {
	var d *identity.Denied
	if errors.As(err, &d) {
		return accessDenied(d.Request.Principal, d.Request.Action, d.Request.Resource, d.Decision)
	}
	return awserr.As(err)
}

// accessDenied is the IAM-style message of a denied request.
func accessDenied(p *iam.Principal, action, resource string, d iam.Decision) *awserr.Error {
	who := "anonymous"
	if p != nil {
		who = p.ARN
	}
	why := "because no identity-based policy allows the " + action + " action"
	if d.ExplicitDeny {
		why = "with an explicit deny in an identity-based policy"
		if d.Policy == iam.PolicyResource {
			why = "with an explicit deny in a resource-based policy"
		}
	}
	e := awserr.Newf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s %s", who, action, resource, why)
	e.Cause = fmt.Errorf("iamapi: %s", d.Reason)
	return e
}
