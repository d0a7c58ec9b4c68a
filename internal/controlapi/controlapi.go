// Package controlapi serves the AWS Lambda control-plane REST API (rest-json, the paths under
// /2015-03-31/, /2017-03-31/, /2017-10-31/, /2019-09-30/, /2021-10-31/ and /2021-11-15/) that
// the AWS CLI, boto3 and the SDKs drive with --endpoint-url, plus furl's own logs endpoint
// (/furl/v1/functions/{name}/logs) and whole resource policies
// (/furl/v1/functions/{name}/policy). Every request is SigV4-verified (service lambda) and
// authorized as lambda:<Operation> before it reaches the functions service.
package controlapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/reqbody"
	"github.com/furl/furl/internal/sigv4"
)

// Authenticator verifies a request's signature and returns the caller. Errors are
// *awserr.Error values with the AWS 403/400 bodies.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request, bodySHA256Hex, service string) (*iam.Principal, error)
	// Precheck runs the checks that need no body (signed, known and current key, valid
	// scope and time): the control plane calls it before it reads a body, so that unsigned
	// callers cannot make furl hold one.
	Precheck(ctx context.Context, r *http.Request, services ...string) error
}

// Authorizer answers an authorization question: nil when allowed, an *identity.Denied when
// refused, another error when no decision could be made. identity.Service implements it.
type Authorizer interface {
	Require(ctx context.Context, q identity.Question) error
}

// LogReader reads invocation logs (the invocationlog store).
type LogReader interface {
	Since(function string, since time.Time, limit int) ([]invocationlog.Event, error)
	Follow(ctx context.Context, function string, since time.Time, fn func(invocationlog.Event) error) error
}

// Limits on request bodies.
const (
	// MaxCodeRequestBytes is the largest CreateFunction/UpdateFunctionCode body: a 50 MB zip in
	// base64 (69,905,067 bytes, AWS's own figure) plus room for the rest of the JSON.
	MaxCodeRequestBytes = 69905067 + 1<<20
	// MaxInvokeBytes is the synchronous invocation payload limit.
	MaxInvokeBytes = 6 << 20
	// MaxJSONBytes bounds every other request.
	MaxJSONBytes = 1 << 20
	// BodyBudget bounds the request bodies larger than MaxJSONBytes held in memory at once
	// (code uploads, invoke payloads): more wait for their turn.
	BodyBudget = 192 << 20
)

// Handler is the control-plane HTTP handler.
type Handler struct {
	svc     *functions.Service
	authn   Authenticator
	authz   Authorizer
	invoker functions.Invoker
	logs    LogReader
	log     *slog.Logger
	bodies  *reqbody.Budget
}

// New builds the handler. logs may be nil (the logs endpoint then answers 404).
func New(svc *functions.Service, authn Authenticator, authz Authorizer, invoker functions.Invoker, logs LogReader, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, authn: authn, authz: authz, invoker: invoker, logs: logs, log: log,
		bodies: reqbody.NewBudget(BodyBudget, MaxJSONBytes)}
}

// route is one operation: its IAM action and its handler.
type route struct {
	op      string // operation name; the IAM action is lambda:<op> unless action is set
	action  string
	limit   int64
	fnParam bool // path carries a FunctionName: authorized against its ARN
	layer   bool // path carries a LayerName (and VersionNumber): authorized against its ARN
	serve   func(h *Handler, c *call) error
}

// call is one request in flight.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	requestID string
	params    []string // decoded path parameters
	body      []byte
	principal *iam.Principal
}

func (c *call) query(k string) string { return c.r.URL.Query().Get(k) }

// ServeHTTP routes, reads the body, authenticates, authorizes and answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, requestID: uuid.NewString()}
	if err := h.serve(c); err != nil {
		h.fail(c, err)
	}
}

func (h *Handler) fail(c *call, err error) {
	ae := WireError(err)
	if ae.Status >= 500 {
		h.log.Error("control plane: request failed", "method", c.r.Method, "path", c.r.URL.Path, "requestId", c.requestID, "err", err)
	} else {
		h.log.Debug("control plane: request refused", "method", c.r.Method, "path", c.r.URL.Path, "code", ae.Code, "err", err)
	}
	awserr.WriteJSON(c.w, c.requestID, ae)
}

func (h *Handler) serve(c *call) error {
	rt, params, err := match(c.r.Method, c.r.URL.EscapedPath())
	if err != nil {
		return err
	}
	c.params = params
	limit := rt.limit
	if limit == 0 {
		limit = MaxJSONBytes
	}
	tooLarge := func() error {
		if rt.op == "Invoke" || rt.op == "InvokeWithResponseStream" {
			return awserr.New(http.StatusRequestEntityTooLarge, "RequestTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxInvokeBytes))
		}
		shown := limit
		if limit == MaxCodeRequestBytes {
			shown = 69905067 // AWS's figure: a 50 MB zip in base64
		}
		return awserr.New(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for the %s operation", shown, rt.op))
	}
	// Authenticate on the headers before reading the body: a caller that signs its
	// x-amz-content-sha256 is verified now and its body checked against it as it is read; any
	// other caller must at least be signed with a known, current key before furl holds its body.
	var p *iam.Principal
	declared := sigv4.DeclaredPayloadHash(c.r)
	if declared != "" {
		if p, err = h.authn.Authenticate(c.r.Context(), c.r, declared, "lambda"); err != nil {
			return err
		}
	} else if err := h.authn.Precheck(c.r.Context(), c.r, "lambda"); err != nil {
		return err
	}
	if c.r.ContentLength > limit {
		return tooLarge()
	}
	body, err := reqbody.Read(c.r.Context(), c.w, c.r, limit, h.bodies)
	if err != nil {
		if errors.Is(err, reqbody.ErrTooLarge) {
			return tooLarge()
		}
		return awserr.InvalidParameter("Could not read the request body.")
	}
	c.body = body.Bytes
	if declared != "" {
		if body.SHA256 != declared {
			return sigv4.ErrPayloadHashMismatch()
		}
	} else if p, err = h.authn.Authenticate(c.r.Context(), c.r, body.SHA256, "lambda"); err != nil {
		return err
	}
	c.principal = p
	if err := h.authorize(c, rt); err != nil {
		return err
	}
	return rt.serve(h, c)
}

func (h *Handler) authorize(c *call, rt *route) error {
	if h.authz == nil {
		return nil
	}
	action := rt.action
	if action == "" {
		action = "lambda:" + rt.op
	}
	resource := "*"
	var policy []byte
	if rt.fnParam && len(c.params) > 0 {
		ref, err := h.svc.ParseRef(c.params[0], c.query("Qualifier"))
		if err != nil {
			return err
		}
		resource = h.svc.ARN(ref.Name, ref.Qualifier)
		if rt.op == "Invoke" || rt.op == "InvokeWithResponseStream" {
			if doc, _, err := h.svc.GetPolicy(c.r.Context(), ref); err == nil {
				policy = doc
			}
		}
	} else if rt.layer {
		action, resource = h.layerResource(c, action)
	} else if rt.op == "TagResource" || rt.op == "UntagResource" || rt.op == "ListTags" {
		resource = c.params[0]
	} else if rt.op == "CreateFunction" {
		// Authorized against the ARN of the function being created, as AWS does.
		var in struct{ FunctionName string }
		if json.Unmarshal(c.body, &in) == nil && in.FunctionName != "" {
			if ref, err := h.svc.ParseRef(in.FunctionName, ""); err == nil {
				resource = h.svc.ARN(ref.Name, "")
			}
		}
	}
	var facts iam.ContextInput
	if rt.op == "CreateFunctionUrlConfig" || rt.op == "UpdateFunctionUrlConfig" {
		// lambda:FunctionUrlAuthType is the auth type the request asks for, as on AWS.
		var in struct{ AuthType string }
		if json.Unmarshal(c.body, &in) == nil {
			facts.FunctionURLAuthType = in.AuthType
		}
	}
	return h.authz.Require(c.r.Context(), identity.Question{
		Principal: c.principal, Action: action, Resource: resource, ResourceAccount: h.svc.AccountID(),
		ResourcePolicy: policy, HTTP: c.r, Facts: facts,
	})
}

// WireError is the one place the Lambda REST planes (this API and furl's /furl/v1 endpoints)
// turn an error into its AWS wire error: domain errors by the wireErrors table, *awserr.Error
// values as they are, anything else a ServiceException that hides the cause.
func WireError(err error) *awserr.Error {
	for _, m := range wireErrors {
		if e := m(err); e != nil {
			return e
		}
	}
	return awserr.As(err)
}

// functionErrors is the wire error of each kind of refusal of the function service.
var functionErrors = map[functions.Kind]struct {
	status int
	code   string
}{
	functions.KindInvalidParameter:     {http.StatusBadRequest, "InvalidParameterValueException"},
	functions.KindValidation:           {http.StatusBadRequest, "ValidationException"},
	functions.KindNotFound:             {http.StatusNotFound, "ResourceNotFoundException"},
	functions.KindConflict:             {http.StatusConflict, "ResourceConflictException"},
	functions.KindPreconditionFailed:   {http.StatusPreconditionFailed, "PreconditionFailedException"},
	functions.KindRequestTooLarge:      {http.StatusRequestEntityTooLarge, "RequestTooLargeException"},
	functions.KindPolicyLengthExceeded: {http.StatusBadRequest, "PolicyLengthExceededException"},
}

// wireErrors maps domain errors to Lambda's wire errors.
var wireErrors = []func(error) *awserr.Error{
	func(err error) *awserr.Error { // the function service refused the request
		var fe *functions.Error
		if !errors.As(err, &fe) {
			return nil
		}
		w, ok := functionErrors[fe.Kind]
		if !ok {
			return awserr.Internal(err)
		}
		return &awserr.Error{Code: w.code, Message: fe.Message, Status: w.status, Cause: err}
	},
	func(err error) *awserr.Error { // IAM refused the request
		var d *identity.Denied
		if !errors.As(err, &d) {
			return nil
		}
		e := awserr.AccessDenied("%s", d.Decision.AccessDeniedMessage(d.Request))
		e.Cause = errors.New(d.Decision.Reason)
		return e
	},
}

// match finds the route of method + escaped path and returns the decoded path parameters.
func match(method, escaped string) (*route, []string, error) {
	escaped = strings.TrimSuffix(escaped, "/")
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	methodSeen := false
	for i := range routes {
		rt := &routes[i]
		pat := rt.pattern
		if len(pat) != len(segs) {
			continue
		}
		var params []string
		ok := true
		for j, p := range pat {
			if p == "*" {
				v, err := url.PathUnescape(segs[j])
				if err != nil {
					ok = false
					break
				}
				params = append(params, v)
				continue
			}
			if p != segs[j] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		methodSeen = true
		if rt.method != method {
			continue
		}
		return &rt.route, params, nil
	}
	if methodSeen {
		return nil, nil, awserr.New(http.StatusMethodNotAllowed, "MethodNotAllowedException", "The requested method is not allowed for this resource.")
	}
	return nil, nil, awserr.New(http.StatusNotFound, "UnknownOperationException", "Unknown operation "+method+" "+escaped)
}

type routeEntry struct {
	method  string
	pattern []string
	route
}

func rte(method, path string, rt route) routeEntry {
	return routeEntry{method: method, pattern: strings.Split(strings.TrimPrefix(path, "/"), "/"), route: rt}
}

var routes = []routeEntry{
	rte("POST", "/2015-03-31/functions", route{op: "CreateFunction", limit: MaxCodeRequestBytes, serve: (*Handler).createFunction}),
	rte("GET", "/2015-03-31/functions", route{op: "ListFunctions", serve: (*Handler).listFunctions}),
	rte("GET", "/2015-03-31/functions/*", route{op: "GetFunction", fnParam: true, serve: (*Handler).getFunction}),
	rte("DELETE", "/2015-03-31/functions/*", route{op: "DeleteFunction", fnParam: true, serve: (*Handler).deleteFunction}),
	rte("GET", "/2015-03-31/functions/*/configuration", route{op: "GetFunctionConfiguration", fnParam: true, serve: (*Handler).getFunctionConfiguration}),
	rte("PUT", "/2015-03-31/functions/*/configuration", route{op: "UpdateFunctionConfiguration", fnParam: true, serve: (*Handler).updateFunctionConfiguration}),
	rte("PUT", "/2015-03-31/functions/*/code", route{op: "UpdateFunctionCode", fnParam: true, limit: MaxCodeRequestBytes, serve: (*Handler).updateFunctionCode}),
	rte("POST", "/2015-03-31/functions/*/invocations", route{op: "Invoke", action: "lambda:InvokeFunction", fnParam: true, limit: MaxInvokeBytes, serve: (*Handler).invoke}),
	rte("POST", "/2021-11-15/functions/*/response-streaming-invocations", route{op: "InvokeWithResponseStream", action: "lambda:InvokeFunction", fnParam: true, limit: MaxInvokeBytes, serve: (*Handler).invokeStream}),
	rte("POST", "/2015-03-31/functions/*/versions", route{op: "PublishVersion", fnParam: true, serve: (*Handler).publishVersion}),
	rte("GET", "/2015-03-31/functions/*/versions", route{op: "ListVersionsByFunction", fnParam: true, serve: (*Handler).listVersions}),
	rte("POST", "/2015-03-31/functions/*/aliases", route{op: "CreateAlias", fnParam: true, serve: (*Handler).createAlias}),
	rte("GET", "/2015-03-31/functions/*/aliases", route{op: "ListAliases", fnParam: true, serve: (*Handler).listAliases}),
	rte("GET", "/2015-03-31/functions/*/aliases/*", route{op: "GetAlias", fnParam: true, serve: (*Handler).getAlias}),
	rte("PUT", "/2015-03-31/functions/*/aliases/*", route{op: "UpdateAlias", fnParam: true, serve: (*Handler).updateAlias}),
	rte("DELETE", "/2015-03-31/functions/*/aliases/*", route{op: "DeleteAlias", fnParam: true, serve: (*Handler).deleteAlias}),
	rte("PUT", "/2017-10-31/functions/*/concurrency", route{op: "PutFunctionConcurrency", fnParam: true, serve: (*Handler).putConcurrency}),
	rte("GET", "/2019-09-30/functions/*/concurrency", route{op: "GetFunctionConcurrency", fnParam: true, serve: (*Handler).getConcurrency}),
	rte("DELETE", "/2017-10-31/functions/*/concurrency", route{op: "DeleteFunctionConcurrency", fnParam: true, serve: (*Handler).deleteConcurrency}),
	rte("POST", "/2015-03-31/functions/*/policy", route{op: "AddPermission", fnParam: true, serve: (*Handler).addPermission}),
	rte("GET", "/2015-03-31/functions/*/policy", route{op: "GetPolicy", fnParam: true, serve: (*Handler).getPolicy}),
	rte("DELETE", "/2015-03-31/functions/*/policy/*", route{op: "RemovePermission", fnParam: true, serve: (*Handler).removePermission}),
	rte("GET", "/2017-03-31/tags/*", route{op: "ListTags", serve: (*Handler).listTags}),
	rte("POST", "/2017-03-31/tags/*", route{op: "TagResource", serve: (*Handler).tagResource}),
	rte("DELETE", "/2017-03-31/tags/*", route{op: "UntagResource", serve: (*Handler).untagResource}),
	rte("GET", "/2016-08-19/account-settings", route{op: "GetAccountSettings", serve: (*Handler).getAccountSettings}),
	rte("POST", "/2021-10-31/functions/*/url", route{op: "CreateFunctionUrlConfig", fnParam: true, serve: (*Handler).createURL}),
	rte("GET", "/2021-10-31/functions/*/url", route{op: "GetFunctionUrlConfig", fnParam: true, serve: (*Handler).getURL}),
	rte("PUT", "/2021-10-31/functions/*/url", route{op: "UpdateFunctionUrlConfig", fnParam: true, serve: (*Handler).updateURL}),
	rte("DELETE", "/2021-10-31/functions/*/url", route{op: "DeleteFunctionUrlConfig", fnParam: true, serve: (*Handler).deleteURL}),
	rte("GET", "/2021-10-31/functions/*/urls", route{op: "ListFunctionUrlConfigs", fnParam: true, serve: (*Handler).listURLs}),
	rte("GET", "/furl/v1/functions/*/logs", route{op: "GetFunctionLogs", action: "lambda:GetFunction", fnParam: true, serve: (*Handler).getLogs}),
	rte("PUT", "/furl/v1/functions/*/policy", route{op: "PutFunctionPolicy", action: "lambda:AddPermission", fnParam: true, limit: 64 << 10, serve: (*Handler).putPolicy}),
	rte("GET", "/furl/v1/functions/*/policy", route{op: "GetFunctionPolicy", action: "lambda:GetPolicy", fnParam: true, serve: (*Handler).getPolicy}),
	rte("DELETE", "/furl/v1/functions/*/policy", route{op: "DeleteFunctionPolicy", action: "lambda:RemovePermission", fnParam: true, serve: (*Handler).deletePolicy}),
	rte("GET", "/furl/v1/functions/*/code", route{op: "GetFunctionCode", action: "lambda:GetFunction", fnParam: true, serve: (*Handler).getCode}),
	rte("POST", "/2018-10-31/layers/*/versions", route{op: "PublishLayerVersion", layer: true, limit: MaxCodeRequestBytes, serve: (*Handler).publishLayerVersion}),
	rte("GET", "/2018-10-31/layers/*/versions", route{op: "ListLayerVersions", layer: true, serve: (*Handler).listLayerVersions}),
	rte("GET", "/2018-10-31/layers", route{op: "ListLayers", layer: true, serve: (*Handler).listLayers}),
	rte("GET", "/2018-10-31/layers/*/versions/*", route{op: "GetLayerVersion", layer: true, serve: (*Handler).getLayerVersion}),
	rte("DELETE", "/2018-10-31/layers/*/versions/*", route{op: "DeleteLayerVersion", layer: true, serve: (*Handler).deleteLayerVersion}),
	rte("POST", "/2018-10-31/layers/*/versions/*/policy", route{op: "AddLayerVersionPermission", layer: true, serve: (*Handler).addLayerVersionPermission}),
	rte("GET", "/2018-10-31/layers/*/versions/*/policy", route{op: "GetLayerVersionPolicy", layer: true, serve: (*Handler).getLayerVersionPolicy}),
	rte("DELETE", "/2018-10-31/layers/*/versions/*/policy/*", route{op: "RemoveLayerVersionPermission", layer: true, serve: (*Handler).removeLayerVersionPermission}),
	rte("GET", "/furl/v1/layers/*/versions/*/content", route{op: "GetLayerContent", action: "lambda:GetLayerVersion", layer: true, serve: (*Handler).getLayerContent}),
}

// decode parses a JSON request body into v (an empty body is an empty object).
func decode(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return awserr.New(http.StatusBadRequest, "SerializationException", fmt.Sprintf("Unexpected value type in payload for field %s", te.Field))
		}
		return awserr.New(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: "+err.Error())
	}
	return nil
}

func writeJSON(c *call, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return awserr.Internal(err)
	}
	return writeBody(c, status, "application/json", b)
}

// writeBody answers status with body b of content type ct.
func writeBody(c *call, status int, ct string, b []byte) error {
	h := c.w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Amzn-Requestid", c.requestID)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
	return nil
}

func writeEmpty(c *call, status int) error {
	c.w.Header().Set("X-Amzn-Requestid", c.requestID)
	c.w.WriteHeader(status)
	return nil
}
