package iamapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/furl/furl/internal/awserr"
)

// XML namespaces of the two Query-protocol services.
const (
	nsIAM = "https://iam.amazonaws.com/doc/2010-05-08/"
	nsSTS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// maxParams bounds the number of parameters one request may carry.
const maxParams = 1000

// params are the decoded parameters of a Query-protocol request.
type params map[string][]string

func (p params) get(k string) string {
	if v := p[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (p params) has(k string) bool { return len(p[k]) > 0 }

// parseParams decodes the request's parameters: the query string, then (for form-encoded
// bodies) the body, whose values win. Content types other than form encoding leave the body
// unread as parameters.
func parseParams(contentType string, body []byte, rawQuery string) (params, error) {
	out := params{}
	if err := addForm(out, rawQuery); err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return out, nil
	}
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return out, nil
		}
	}
	bp := params{}
	if err := addForm(bp, string(body)); err != nil {
		return nil, err
	}
	for k, v := range bp {
		out[k] = v
	}
	if len(out) > maxParams {
		return nil, fmt.Errorf("iamapi: too many parameters (%d)", len(out))
	}
	return out, nil
}

func addForm(out params, s string) error {
	n := 0
	for s != "" {
		var part string
		part, s, _ = strings.Cut(s, "&")
		if part == "" {
			continue
		}
		if n++; n > maxParams {
			return fmt.Errorf("iamapi: too many parameters")
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return fmt.Errorf("iamapi: bad parameter name %q: %w", k, err)
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return fmt.Errorf("iamapi: bad value of %q: %w", dk, err)
		}
		out[dk] = append(out[dk], dv)
	}
	return nil
}

// xnode is an element of an XML answer: either text or children.
type xnode struct {
	name string
	text string
	leaf bool
	kids []*xnode
}

// el builds an element with children; nil children are skipped.
func el(name string, kids ...*xnode) *xnode {
	n := &xnode{name: name}
	for _, k := range kids {
		if k != nil {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// tx builds a text element.
func tx(name, text string) *xnode { return &xnode{name: name, text: text, leaf: true} }

// opt is tx, or nil when text is empty.
func opt(name, text string) *xnode {
	if text == "" {
		return nil
	}
	return tx(name, text)
}

func tbool(name string, v bool) *xnode { return tx(name, strconv.FormatBool(v)) }
func tint(name string, v int) *xnode   { return tx(name, strconv.Itoa(v)) }
func ttime(name string, t time.Time) *xnode {
	return tx(name, t.UTC().Format("2006-01-02T15:04:05Z"))
}

// members builds <name><member>…</member>…</name>.
func members(name string, items []*xnode) *xnode {
	n := &xnode{name: name}
	for _, it := range items {
		if it != nil {
			it.name = "member"
			n.kids = append(n.kids, it)
		}
	}
	return n
}

func (n *xnode) write(b *bytes.Buffer) {
	b.WriteByte('<')
	b.WriteString(n.name)
	b.WriteByte('>')
	if n.leaf {
		_ = xml.EscapeText(b, []byte(n.text))
	} else {
		for _, k := range n.kids {
			k.write(b)
		}
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}

// renderResponse renders <ActionResponse xmlns=ns><ActionResult>…</ActionResult>
// <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></ActionResponse>. A nil result
// leaves out the Result element (operations that return nothing).
func renderResponse(ns, action string, result *xnode, requestID string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString("<" + action + `Response xmlns="` + ns + `">`)
	if result != nil {
		result.name = action + "Result"
		result.write(&b)
	}
	el("ResponseMetadata", tx("RequestId", requestID)).write(&b)
	b.WriteString("</" + action + "Response>\n")
	return b.Bytes()
}

// renderError renders <ErrorResponse xmlns=ns><Error><Type/><Code/><Message/></Error>
// <RequestId/></ErrorResponse>.
func renderError(ns string, e *awserr.Error, requestID string) []byte {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<ErrorResponse xmlns="` + ns + `">`)
	el("Error", tx("Type", typ), tx("Code", e.Code), tx("Message", e.Message)).write(&b)
	tx("RequestId", requestID).write(&b)
	b.WriteString("</ErrorResponse>\n")
	return b.Bytes()
}

func writeXML(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// policyEscape percent-encodes a policy document the way IAM returns them (botocore's
// json_decode_policies unquotes and parses it): every byte but RFC 3986 unreserved ones.
func policyEscape(doc string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Query-protocol errors.

func errValidation(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusBadRequest, "ValidationError", format, args...)
}

func errMissing(member string) *awserr.Error {
	return errValidation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func errNoSuchEntity(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusNotFound, "NoSuchEntity", format, args...)
}

func errExists(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

func errDeleteConflict(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusConflict, "DeleteConflict", format, args...)
}

func errMalformed(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusBadRequest, "MalformedPolicyDocument", format, args...)
}

func errInvalidInput(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusBadRequest, "InvalidInput", format, args...)
}

func errLimit(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusConflict, "LimitExceeded", format, args...)
}

// lowerFirst turns a parameter name into the member name IAM's validation messages use.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// required returns the parameter or a ValidationError naming it.
func (p params) required(name string) (string, error) {
	v := p.get(name)
	if v == "" {
		return "", errMissing(lowerFirst(name))
	}
	return v, nil
}

// pageArgs reads Marker and MaxItems (1..1000, default 100).
func (p params) pageArgs() (marker string, max int, err error) {
	max = 100
	if v := p.get("MaxItems"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 1000 {
			return "", 0, errValidation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
		max = n
	}
	return p.get("Marker"), max, nil
}

// paginate returns the page of items at marker (an offset, opaque to clients) and the marker
// of the next page ("" on the last).
func paginate[T any](items []T, marker string, max int) ([]T, string, error) {
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(marker)
		if err != nil || n < 0 {
			return nil, "", errValidation("Invalid Marker.")
		}
		start = min(n, len(items))
	}
	items = items[start:]
	if len(items) <= max {
		return items, "", nil
	}
	return items[:max], strconv.Itoa(start + max), nil
}

var errBodyTooLarge = errors.New("iamapi: request body too large")
