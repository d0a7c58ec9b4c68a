package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/iam"
	"github.com/furl/furl/internal/sigv4"
)

const (
	cookieName    = "furl_console"
	preCookieName = "furl_console_pre"
	maxSessions   = 10000
	maxLinks      = 1000
)

// session is one signed-in browser: the principal it acts as and its CSRF token.
type session struct {
	id        string
	principal *iam.Principal
	csrf      string
	expires   time.Time
}

type sessions struct {
	now func() time.Time
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(now func() time.Time, ttl time.Duration) *sessions {
	return &sessions{now: now, ttl: ttl, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(p *iam.Principal) *session {
	s := &session{id: randomToken(), principal: p, csrf: randomToken(), expires: ss.now().Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	if len(ss.m) >= maxSessions {
		for id, o := range ss.m {
			if now.After(o.expires) {
				delete(ss.m, id)
			}
		}
		for id := range ss.m { // still full: drop an arbitrary one
			if len(ss.m) < maxSessions {
				break
			}
			delete(ss.m, id)
		}
	}
	ss.m[s.id] = s
	return s
}

func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s == nil {
		return nil
	}
	if ss.now().After(s.expires) {
		delete(ss.m, s.id)
		return nil
	}
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

// links are one-time sign-in tokens minted for a principal by the link API.
type links struct {
	now func() time.Time
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]linkEntry
}

type linkEntry struct {
	p       *iam.Principal
	expires time.Time
}

func newLinks(now func() time.Time, ttl time.Duration) *links {
	return &links{now: now, ttl: ttl, m: map[string]linkEntry{}}
}

func (l *links) mint(p *iam.Principal) (string, time.Time) {
	tok := randomToken()
	now := l.now()
	exp := now.Add(l.ttl)
	l.mu.Lock()
	defer l.mu.Unlock()
	for t, e := range l.m {
		if now.After(e.expires) {
			delete(l.m, t)
		}
	}
	for t := range l.m {
		if len(l.m) < maxLinks {
			break
		}
		delete(l.m, t)
	}
	l.m[tok] = linkEntry{p: p, expires: exp}
	return tok, exp
}

// consume returns the principal of tok and forgets tok: a link works once.
func (l *links) consume(tok string) *iam.Principal {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[tok]
	if !ok {
		return nil
	}
	delete(l.m, tok)
	if l.now().After(e.expires) {
		return nil
	}
	return e.p
}

func (h *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, s *session) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.id, Path: Prefix, HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, Expires: s.expires,
	})
}

// origin is the scheme://host this request was addressed to.
func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// checkOrigin refuses cross-site requests: an Origin header must be this host's, and a
// browser's Sec-Fetch-Site must be same-origin. A request with neither (a non-browser client)
// still needs the CSRF token.
func checkOrigin(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		if o != origin(r) {
			return fmt.Errorf("origin %q is not %q", o, origin(r))
		}
		return nil
	}
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
		return fmt.Errorf("cross-site request (%s)", sfs)
	}
	return nil
}

// checkCSRF checks the Origin and the session's token (form field csrf or header
// X-CSRF-Token) on every change.
func (h *Handler) checkCSRF(r *http.Request, s *session) error {
	if err := checkOrigin(r); err != nil {
		return err
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
		tok = r.PostFormValue("csrf")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) != 1 {
		return errors.New("missing or wrong CSRF token")
	}
	return nil
}

// maxFormBytes bounds a console form (an edited request body fits).
const maxFormBytes = 7 << 20

type signInPage struct {
	Error   string
	CSRF    string
	KeyID   string
	Expired bool
}

func (h *Handler) serveSignIn(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.renderSignIn(w, r, http.StatusOK, signInPage{})
	case http.MethodPost:
		h.signInWithKey(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, p signInPage) {
	p.CSRF = randomToken()
	http.SetCookie(w, &http.Cookie{Name: preCookieName, Value: p.CSRF, Path: Prefix, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	h.render(w, status, "signin", p)
}

func (h *Handler) signInWithKey(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.renderSignIn(w, r, http.StatusBadRequest, signInPage{Error: "The form could not be read."})
		return
	}
	pre, _ := r.Cookie(preCookieName)
	if err := checkOrigin(r); err != nil || pre == nil || pre.Value == "" ||
		subtle.ConstantTimeCompare([]byte(pre.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		h.renderSignIn(w, r, http.StatusForbidden, signInPage{Error: "The sign-in form expired; try again."})
		return
	}
	id := strings.TrimSpace(r.PostFormValue("access_key_id"))
	secret := strings.TrimSpace(r.PostFormValue("secret_access_key"))
	if id == "" || secret == "" {
		h.renderSignIn(w, r, http.StatusBadRequest, signInPage{Error: "Enter an access key ID and its secret access key.", KeyID: id})
		return
	}
	p, err := h.verifyKey(r.Context(), id, secret)
	if err != nil {
		h.log.Info("console: sign-in refused", "access_key_id", id, "err", err)
		h.renderSignIn(w, r, http.StatusForbidden, signInPage{Error: "The access key ID or the secret access key is not valid.", KeyID: id})
		return
	}
	s := h.sessions.create(p)
	h.setSessionCookie(w, r, s)
	h.log.Info("console: signed in", "principal", p.ARN, "with", "access key")
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// verifyKey checks an access key pair through identity's own SigV4 verification: it signs a
// request with the pair given and lets Authenticate verify it against the stored secret.
func (h *Handler) verifyKey(ctx context.Context, id, secret string) (*iam.Principal, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://console.invalid"+Prefix+"signin", nil)
	if err != nil {
		return nil, err
	}
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, sigv4.EmptyPayloadHash, "lambda", h.opt.Region, h.opt.Now()); err != nil {
		return nil, fmt.Errorf("console: sign: %w", err)
	}
	return h.opt.Auth.Authenticate(ctx, req, sigv4.EmptyPayloadHash, "lambda")
}

// serveLink signs in with a one-time link. The answer is a page that moves on to the console
// (a same-origin navigation, so the SameSite=Strict cookie is sent even when the link was
// opened from another site).
func (h *Handler) serveLink(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := h.links.consume(r.URL.Query().Get("token"))
	if p == nil {
		h.renderSignIn(w, r, http.StatusForbidden, signInPage{Expired: true,
			Error: "This sign-in link was already used or has expired. Run furl console for a new one, or sign in with an access key."})
		return
	}
	s := h.sessions.create(p)
	h.setSessionCookie(w, r, s)
	h.log.Info("console: signed in", "principal", p.ARN, "with", "one-time link")
	h.render(w, http.StatusOK, "continue", nil)
}

func (h *Handler) signOut(c *call) {
	h.sessions.remove(c.s.id)
	http.SetCookie(c.w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		Secure: c.r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(c.w, c.r, Prefix+"signin", http.StatusSeeOther)
}

// LinkResponse is the link API's answer.
type LinkResponse struct {
	URL     string    `json:"Url"`
	Expires time.Time `json:"Expires"`
}

// serveLinkAPI mints a one-time sign-in link for the caller: POST /furl/v1/console/links,
// SigV4-signed (service lambda). The link signs in as the principal that signed the request.
func (h *Handler) serveLinkAPI(w http.ResponseWriter, r *http.Request) {
	reqID := randomToken()[:22]
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		awserr.WriteJSON(w, reqID, awserr.New(http.StatusMethodNotAllowed, "MethodNotAllowedException", "The requested method is not allowed for this resource."))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4096))
	if err != nil {
		awserr.WriteJSON(w, reqID, awserr.InvalidParameter("Could not read the request body."))
		return
	}
	p, err := h.opt.Auth.Authenticate(r.Context(), r, sigv4.HashPayload(body), "lambda")
	if err != nil {
		awserr.WriteJSON(w, reqID, err)
		return
	}
	tok, exp := h.links.mint(p)
	b, _ := json.Marshal(LinkResponse{URL: origin(r) + Prefix + "signin/link?token=" + tok, Expires: exp.UTC()})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", reqID)
	_, _ = w.Write(b)
}
