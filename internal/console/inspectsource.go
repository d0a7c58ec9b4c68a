package console

import (
	"context"

	"github.com/furl/furl/internal/inspect"
)

// FromInspect adapts the gateway's inspection store to the console's Inspector.
func FromInspect(s *inspect.Store) Inspector { return inspectSource{s} }

type inspectSource struct{ s *inspect.Store }

func (i inspectSource) Recent(function string) []*Request {
	rs := i.s.Recent(function)
	out := make([]*Request, 0, len(rs))
	for _, r := range rs {
		out = append(out, requestOf(r))
	}
	return out
}

func (i inspectSource) Get(id string) *Request {
	if r := i.s.Get(id); r != nil {
		return requestOf(r)
	}
	return nil
}

// Subscribe converts records as they come; the goroutine ends when ctx ends (the store then
// closes its channel).
func (i inspectSource) Subscribe(ctx context.Context) <-chan *Request {
	in := i.s.Subscribe(ctx)
	out := make(chan *Request, 64)
	go func() {
		defer close(out)
		for r := range in {
			select {
			case out <- requestOf(r):
			default: // a slow console misses records, as the store's own subscribers do
			}
		}
	}()
	return out
}

func requestOf(r *inspect.Record) *Request {
	q := &Request{
		ID: r.RequestID, Time: r.Time, Function: r.Function, Qualifier: r.Qualifier, URLID: r.URLID,
		AuthType: r.AuthType, Method: r.Method, Path: r.Path, Query: r.Query, Headers: r.Headers,
		Body: r.Body.Data, BodyTruncated: r.Body.Truncated, SourceIP: r.SourceIP, Principal: r.Principal,
		Event: r.Event, Result: r.Result.Data, FunctionError: r.FunctionError, Status: r.Status,
		RespHeaders: r.ResponseHeaders, RespBody: r.ResponseBody.Data, Cold: r.Cold,
		Timing: Timing{Auth: r.Timing.Auth, Queue: r.Timing.Queue, Init: r.Timing.Init, Handler: r.Timing.Handler,
			Response: r.Timing.Response, Total: r.Timing.Total},
	}
	if d := r.Decision; d != nil {
		q.Decision = &Decision{Stage: d.Stage, Reason: d.Reason}
		if s := d.SigV4; s != nil {
			failed := s.Check
			if s.Code != "" {
				failed += " (" + s.Code + ")"
			}
			q.Decision.SigV4 = &SigV4Explain{Failed: failed, KeyKnown: s.CanonicalRequest != "",
				CanonicalRequest: s.CanonicalRequest, StringToSign: s.StringToSign, Claimed: s.Claimed}
		}
		if a := d.IAM; a != nil {
			q.Decision.IAM = &IAMExplain{Action: a.Action, Statement: a.Statement, Policy: a.Policy, Condition: a.Condition, ExplicitDeny: a.ExplicitDeny}
		}
	}
	return q
}
