package identity

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/sigv4"
)

// maxQueryBody caps a Query-protocol request body.
const maxQueryBody = 1 << 20

// call is one IAM or STS request being served.
type call struct {
	ctx       context.Context
	p         *iam.Principal
	params    params
	requestID string
}

type opFunc func(c *call) (*xnode, error)

// QueryAPI serves the IAM and STS Query-protocol APIs (POST / with a form-encoded
// Action=...&Version=... body, or GET with the same parameters in the query), SigV4-signed for
// service "iam" or "sts".
type QueryAPI struct {
	s   *Service
	iam map[string]opFunc
	sts map[string]opFunc
}

// NewQueryAPI returns the IAM/STS handler over s.
func NewQueryAPI(s *Service) *QueryAPI {
	q := &QueryAPI{s: s}
	q.iam = s.iamOps()
	q.sts = map[string]opFunc{
		"GetCallerIdentity": s.getCallerIdentity,
		"AssumeRole":        s.assumeRole,
		"GetSessionToken":   s.getSessionToken,
	}
	return q
}

// ServeHTTP answers one IAM or STS request.
func (q *QueryAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	ns := nsIAM
	fail := func(err error) {
		e := awserr.As(err)
		if e.Status >= 500 {
			q.s.log.Error("identity: query api", "request_id", requestID, "err", err)
		} else if e.Cause != nil {
			q.s.log.Debug("identity: query api", "request_id", requestID, "code", e.Code, "err", err)
		}
		writeXML(w, e.Status, requestID, renderError(ns, e, requestID))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxQueryBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(errValidation("Request body is too large."))
			return
		}
		fail(awserr.New(http.StatusBadRequest, "InvalidRequest", "Could not read the request body."))
		return
	}
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
	p, err := q.s.Authenticate(r.Context(), r, sigv4.HashPayload(body), service)
	if err != nil {
		e := awserr.As(err)
		qe := *e
		qe.Code = sigv4.QueryCode(e.Code)
		fail(&qe)
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
	c := &call{ctx: r.Context(), p: p, params: ps, requestID: requestID}
	res, err := op(c)
	if !strings.HasPrefix(action, "Get") && !strings.HasPrefix(action, "List") {
		// Any write (even a failed one may have half-applied) invalidates cached keys and
		// policies, so a revoked key or a new Deny takes effect on the next request.
		q.s.cache.invalidate()
	}
	if err != nil {
		fail(err)
		return
	}
	writeXML(w, http.StatusOK, requestID, renderResponse(ns, action, res, requestID))
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
func (s *Service) authorize(c *call, action, resource string) error {
	req := &iam.Request{Action: action, Resource: resource}
	d, err := s.Authorize(c.ctx, c.p, req, nil)
	if err != nil {
		return awserr.Internal(err)
	}
	if !d.Allowed {
		return accessDenied(c.p, action, resource, d)
	}
	return nil
}
