// Package console serves furl's web console at /furl/console/: sign-in with an access key or a
// one-time link, the functions and their configuration, live charts and logs, and the live
// request inspector over the gateway's inspection records (replay, edit and send, copy as
// curl, diff). Pages are rendered on the server with html/template; one small embedded script
// adds live updates (server-sent events) and copy buttons. Everything is embedded, nothing is
// fetched from elsewhere, and a strict Content-Security-Policy forbids inline script and style.
//
// Every page and action is authorized for the signed-in principal with the same
// identity.Authorize call, actions and condition keys as the Lambda API, so a user without
// lambda:ListFunctions sees AccessDenied instead of the list.
package console

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/identity"
	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/series"
)

// Prefix is where the console is mounted; LinkAPIPath is the SigV4-signed endpoint that mints
// one-time sign-in links (`furl console`).
const (
	Prefix      = "/furl/console/"
	LinkAPIPath = "/furl/v1/console/links"
)

//go:embed assets templates
var files embed.FS

// Authority authenticates SigV4 requests and authorizes principals (identity.Service).
type Authority interface {
	Authenticate(ctx context.Context, r *http.Request, bodySHA256Hex string, service string) (*iam.Principal, error)
	Require(ctx context.Context, q identity.Question) error
}

// Invoker runs an invocation (the pool).
type Invoker interface {
	Invoke(ctx context.Context, t *pool.Target, req *pool.Request) (*pool.Result, error)
}

// StatsSource reports the pool's live numbers (warm environments).
type StatsSource interface {
	Stats() pool.Stats
}

// LogReader reads invocation logs (invocationlog.Store).
type LogReader interface {
	Since(function string, since time.Time, limit int) ([]invocationlog.Event, error)
	Follow(ctx context.Context, function string, since time.Time, fn func(invocationlog.Event) error) error
}

// Options are the console's dependencies.
type Options struct {
	Log       *slog.Logger
	Region    string
	AccountID string
	Auth      Authority
	Functions *functions.Service
	Invoker   Invoker
	Stats     StatsSource // may be nil
	Logs      LogReader   // may be nil
	Series    *series.Series
	Inspect   Inspector // may be nil: the inspector then shows nothing
	// URLs is the function-URL handler that "edit and send" goes through (the gateway).
	URLs http.Handler
	// SessionTTL bounds a session's life (default 12 h); LinkTTL a one-time link's (5 min).
	SessionTTL time.Duration
	LinkTTL    time.Duration
	Now        func() time.Time
}

// Handler serves the console and the link API.
type Handler struct {
	opt      Options
	log      *slog.Logger
	tmpl     map[string]*template.Template
	assets   http.Handler
	sessions *sessions
	links    *links
}

// New builds the console.
func New(opt Options) (*Handler, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.LinkTTL <= 0 {
		opt.LinkTTL = 5 * time.Minute
	}
	tm, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, err
	}
	h := &Handler{
		opt: opt, log: opt.Log, tmpl: tm,
		assets:   http.StripPrefix(Prefix+"assets/", http.FileServer(http.FS(sub))),
		sessions: newSessions(opt.Now, opt.SessionTTL),
		links:    newLinks(opt.Now, opt.LinkTTL),
	}
	return h, nil
}

// ServeHTTP routes console requests. Every answer carries the security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w.Header())
	if r.URL.Path == LinkAPIPath {
		h.serveLinkAPI(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
			http.Redirect(w, r, Prefix, http.StatusFound)
			return
		}
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasPrefix(rest, "assets/"):
		w.Header().Set("Cache-Control", "no-cache")
		h.assets.ServeHTTP(w, r)
		return
	case rest == "signin":
		h.serveSignIn(w, r)
		return
	case rest == "signin/link":
		h.serveLink(w, r)
		return
	}
	s := h.sessions.get(r)
	if s == nil {
		if r.Method == http.MethodGet && !strings.HasSuffix(rest, "/stream") {
			http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
			return
		}
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	c := &call{h: h, w: w, r: r, s: s}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := h.checkCSRF(r, s); err != nil {
			h.log.Info("console: refused a change", "reason", err.Error(), "principal", s.principal.ARN)
			http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
			return
		}
	}
	h.route(c, rest)
}

func (h *Handler) route(c *call, rest string) {
	r := c.r
	parts := strings.Split(rest, "/")
	get, post := r.Method == http.MethodGet || r.Method == http.MethodHead, r.Method == http.MethodPost
	switch {
	case rest == "" && get:
		h.functionsPage(c)
	case rest == "signout" && post:
		h.signOut(c)
	case rest == "requests" && get:
		h.requestsPage(c, "")
	case rest == "requests/stream" && get:
		h.requestsStream(c, r.URL.Query().Get("function"))
	case rest == "diff" && get:
		h.diffPage(c)
	case len(parts) == 2 && parts[0] == "requests" && get:
		h.requestPage(c, parts[1])
	case len(parts) == 3 && parts[0] == "requests" && parts[2] == "replay" && post:
		h.replay(c, parts[1])
	case len(parts) == 3 && parts[0] == "requests" && parts[2] == "send" && post:
		h.editAndSend(c, parts[1])
	case len(parts) == 2 && parts[0] == "functions" && get:
		h.functionPage(c, parts[1])
	case len(parts) == 3 && parts[0] == "functions" && parts[2] == "requests" && get:
		h.requestsPage(c, parts[1])
	case len(parts) == 3 && parts[0] == "functions" && parts[2] == "invoke" && post:
		h.invoke(c, parts[1])
	case len(parts) == 4 && parts[0] == "functions" && parts[2] == "logs" && parts[3] == "stream" && get:
		h.logsStream(c, parts[1])
	default:
		http.NotFound(c.w, r)
	}
}

// secureHeaders sets the headers every console answer carries: a strict CSP (scripts and
// styles only from the console's own files; no inline script or style), no framing, no
// sniffing, no referrer leaks.
func secureHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}
