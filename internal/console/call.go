package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/identity"
)

// call is one signed-in request.
type call struct {
	h *Handler
	w http.ResponseWriter
	r *http.Request
	s *session
}

// allow authorizes the session's principal for action on resource exactly as the Lambda API
// does: the same identity.Question (the request's condition keys and, for invocations, the
// function's resource policy) and the same error mapping (controlapi.WireError), so a refusal
// is AWS's AccessDenied error with AWS's message.
func (c *call) allow(action, resource string, resourcePolicy []byte) error {
	err := c.h.opt.Auth.Require(c.r.Context(), identity.Question{
		Principal: c.s.principal, Action: action, Resource: resource, ResourceAccount: c.h.opt.AccountID,
		ResourcePolicy: resourcePolicy, HTTP: c.r,
	})
	if err != nil {
		return controlapi.WireError(fmt.Errorf("console: %w", err))
	}
	return nil
}

// denial is what a page shows instead of data it may not show: "AccessDenied: <message>".
func denial(err error) string {
	if err == nil {
		return ""
	}
	e := controlapi.WireError(err)
	if e.Status >= 500 {
		return "InternalError: the console could not load this."
	}
	return e.Code + ": " + e.Message
}

// page is the data every page's layout needs.
type page struct {
	Title     string
	Principal string
	CSRF      string
	Nav       string
	Body      any
}

func (c *call) render(status int, name, title, nav string, body any) {
	c.h.render(c.w, status, name, page{Title: title, Principal: c.s.principal.ARN, CSRF: c.s.csrf, Nav: nav, Body: body})
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	t := h.tmpl[name]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var pageNames = []string{"signin", "continue", "functions", "function", "requests", "request", "diff", "error"}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"ms":     fmtDuration,
		"ago":    func(t time.Time) string { return t.UTC().Format("15:04:05.000") },
		"date":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"pretty": prettyJSON,
		"join":   strings.Join,
		"lower":  strings.ToLower,
		"statusClass": func(s int) string {
			switch {
			case s >= 500:
				return "s5"
			case s >= 400:
				return "s4"
			case s >= 300:
				return "s3"
			default:
				return "s2"
			}
		},
	}
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New(n).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("console: templates: %w", err)
		}
		out[n] = t
	}
	return out, nil
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// prettyJSON indents JSON for display; anything else is returned as it is.
func prettyJSON(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") == nil {
		return buf.String()
	}
	return string(b)
}

// fail renders an error page for an error that ends the request.
func (c *call) fail(err error) {
	e := controlapi.WireError(err)
	if e.Status >= 500 {
		c.h.log.Error("console: request failed", "path", c.r.URL.Path, "err", err)
	}
	c.render(e.Status, "error", "Error", "", denial(err))
}

func notFound(msg string) error {
	return awserr.New(http.StatusNotFound, "ResourceNotFoundException", msg)
}

func badRequest(msg string) error {
	return awserr.New(http.StatusBadRequest, "InvalidRequestException", msg)
}
