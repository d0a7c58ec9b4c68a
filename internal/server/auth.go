package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/sigv4"
	"github.com/google/uuid"
)

// authority authenticates and authorizes requests (the identity service).
type authority interface {
	Authenticate(ctx context.Context, r *http.Request, bodySHA256Hex string, service string) (*iam.Principal, error)
	Require(ctx context.Context, q identity.Question) error
}

// requireFunctionRead guards furl's own read-only endpoints under /furl/v1/functions/{name}/:
// the caller must sign with SigV4 (service lambda) and be allowed lambda:GetFunction on the
// function, exactly like GetFunction on the Lambda API (same question, same error mapping).
func (s *Server) requireFunctionRead(auth authority, h http.Handler) http.Handler {
	emptyHash := sigv4.HashPayload(nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := uuid.NewString()
		p, err := auth.Authenticate(r.Context(), r, emptyHash, "lambda")
		if err != nil {
			awserr.WriteJSON(w, reqID, controlapi.WireError(err))
			return
		}
		rest := strings.TrimPrefix(r.URL.Path, "/furl/v1/functions/")
		name, _, _ := strings.Cut(rest, "/")
		err = auth.Require(r.Context(), identity.Question{
			Principal: p, Action: "lambda:GetFunction", Resource: lambda.FunctionARN(s.cfg.Region, s.cfg.AccountID, name, ""),
			ResourceAccount: s.cfg.AccountID, HTTP: r,
		})
		if err != nil {
			awserr.WriteJSON(w, reqID, controlapi.WireError(err))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// requireMetricsRead guards /metrics in --metrics=auth mode: the series name every function and
// URL id, which are not for anonymous callers. The caller signs with SigV4 (service lambda) and
// must be allowed lambda:ListFunctions, the action that reveals the same names.
func (s *Server) requireMetricsRead(auth authority, h http.Handler) http.Handler {
	emptyHash := sigv4.HashPayload(nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := uuid.NewString()
		p, err := auth.Authenticate(r.Context(), r, emptyHash, "lambda")
		if err == nil {
			err = auth.Require(r.Context(), identity.Question{
				Principal: p, Action: "lambda:ListFunctions", Resource: "*",
				ResourceAccount: s.cfg.AccountID, HTTP: r,
			})
		}
		if err != nil {
			awserr.WriteJSON(w, reqID, controlapi.WireError(err))
			return
		}
		h.ServeHTTP(w, r)
	})
}
