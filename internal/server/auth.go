package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/sigv4"
	"github.com/google/uuid"
)

// authority authenticates and authorizes requests (the identity service).
type authority interface {
	Authenticate(ctx context.Context, r *http.Request, bodySHA256Hex string, service string) (*iam.Principal, error)
	Authorize(ctx context.Context, p *iam.Principal, req *iam.Request, resourcePolicy []byte) (iam.Decision, error)
}

// requireFunctionRead guards furl's own read-only endpoints under /furl/v1/functions/{name}/:
// the caller must sign with SigV4 (service lambda) and be allowed lambda:GetFunction on the
// function, exactly like GetFunction on the Lambda API.
func (s *Server) requireFunctionRead(auth authority, h http.Handler) http.Handler {
	emptyHash := sigv4.HashPayload(nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := uuid.NewString()
		p, err := auth.Authenticate(r.Context(), r, emptyHash, "lambda")
		if err != nil {
			awserr.WriteJSON(w, reqID, err)
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, "/furl/v1/functions/")
		name, _, _ := strings.Cut(rest, "/")
		arn := lambda.FunctionARN(s.cfg.Region, s.cfg.AccountID, name, "")
		req := &iam.Request{
			Principal: p, Action: "lambda:GetFunction", Resource: arn, ResourceAccount: s.cfg.AccountID,
			Context: controlapi.RequestContext(r, s.cfg.Region),
		}
		d, err := auth.Authorize(r.Context(), p, req, nil)
		if err != nil {
			awserr.WriteJSON(w, reqID, err)
			return
		}
		if !d.Allowed {
			awserr.WriteJSON(w, reqID, awserr.AccessDenied("%s", d.AccessDeniedMessage(req)))
			return
		}
		h.ServeHTTP(w, r)
	})
}
