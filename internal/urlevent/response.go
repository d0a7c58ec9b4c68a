package urlevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// DefaultContentType is what the service adds when a buffered response names none.
const DefaultContentType = "application/json"

// Header is one response header as the function spelled it (case kept).
type Header struct {
	Name, Value string
}

// Response is an HTTP response mapped from a function's answer.
type Response struct {
	Status int
	// Headers in a stable order (sorted by name), case as given by the function.
	Headers []Header
	// Cookies each become one Set-Cookie header.
	Cookies []string
	Body    []byte
}

// ErrMalformed is returned (wrapped) when a function's answer cannot be mapped; the client gets
// a 502.
var ErrMalformed = errors.New("malformed function response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("urlevent: %w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// MapBuffered maps a BUFFERED function's payload to an HTTP response (§3.1): a JSON object with
// statusCode is a structured response; any other JSON value is returned with status 200 (a
// string without its quotes, anything else re-serialized compactly). Content-Type defaults to
// application/json. A payload that is not JSON is passed through as the body.
func MapBuffered(payload []byte) (*Response, error) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return &Response{Status: 200, Headers: defaultHeaders(nil)}, nil
	}
	if !json.Valid(p) {
		return &Response{Status: 200, Headers: defaultHeaders(nil), Body: payload}, nil
	}
	switch p[0] {
	case '"':
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return nil, malformed("string: %v", err)
		}
		return &Response{Status: 200, Headers: defaultHeaders(nil), Body: []byte(s)}, nil
	case '{':
		var f fields
		if err := f.collect(p); err != nil {
			return nil, err
		}
		if f.statusCode != nil {
			return f.structured()
		}
	}
	return &Response{Status: 200, Headers: defaultHeaders(nil), Body: compact(p)}, nil
}

func compact(p []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(p))
	if err := json.Compact(&buf, p); err != nil {
		return p
	}
	return buf.Bytes()
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// fields are the raw members of a structured response (last occurrence wins, as with a map).
type fields struct {
	statusCode, headers, cookies, body, isBase64 []byte
}

func (f *fields) collect(p []byte) error {
	return eachMember(p, func(key, val []byte) error {
		switch {
		case keyIs(key, "statusCode"):
			f.statusCode = val
		case keyIs(key, "headers"):
			f.headers = val
		case keyIs(key, "cookies"):
			f.cookies = val
		case keyIs(key, "body"):
			f.body = val
		case keyIs(key, "isBase64Encoded"):
			f.isBase64 = val
		}
		return nil
	})
}

func (f *fields) structured() (*Response, error) {
	status, err := parseStatus(f.statusCode)
	if err != nil {
		return nil, err
	}
	r := &Response{Status: status}
	if err := f.headersAndCookies(r); err != nil {
		return nil, err
	}
	r.Headers = defaultHeaders(r.Headers)
	b64 := false
	if !isNull(f.isBase64) {
		if err := json.Unmarshal(f.isBase64, &b64); err != nil {
			return nil, malformed("isBase64Encoded: %v", err)
		}
	}
	if !isNull(f.body) {
		raw := f.body
		var body []byte
		if raw[0] == '"' {
			s, err := unquote(raw)
			if err != nil {
				return nil, malformed("body: %v", err)
			}
			body = []byte(s)
		} else {
			body = compact(raw)
		}
		if b64 {
			dec, err := base64.StdEncoding.DecodeString(string(body))
			if err != nil {
				return nil, malformed("body: invalid base64: %v", err)
			}
			body = dec
		}
		r.Body = body
	}
	return r, nil
}

// headersAndCookies sets r's Headers and Cookies from the members, when present and not null.
func (f *fields) headersAndCookies(r *Response) error {
	if !isNull(f.headers) {
		hs, err := parseHeaders(f.headers)
		if err != nil {
			return err
		}
		r.Headers = hs
	}
	if !isNull(f.cookies) {
		cs, err := parseCookies(f.cookies)
		if err != nil {
			return err
		}
		r.Cookies = cs
	}
	return nil
}

// parseStatus accepts an integral JSON number or a numeric string, 200..599.
func parseStatus(raw json.RawMessage) (int, error) {
	raw = bytes.TrimSpace(raw)
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, malformed("statusCode: %v", err)
		}
		s = strings.TrimSpace(s)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int(f)) {
			return 0, malformed("statusCode %s is not an integer", raw)
		}
		n = int(f)
	}
	if n < 200 || n > 599 { // 1xx cannot end an HTTP exchange
		return 0, malformed("statusCode %d out of range", n)
	}
	return n, nil
}

func parseHeaders(raw json.RawMessage) ([]Header, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, malformed("headers: not an object")
	}
	var hs []Header
	err := eachMember(raw, func(kraw, v []byte) error {
		k, err := unquote(kraw)
		if err != nil {
			return malformed("headers: %v", err)
		}
		if !validHeaderName(k) || isNull(v) {
			return nil
		}
		var value string
		if v[0] == '"' {
			if value, err = unquote(v); err != nil {
				return malformed("headers[%q]: %v", k, err)
			}
		} else {
			var val any
			if err := json.Unmarshal(v, &val); err != nil {
				return malformed("headers[%q]: %v", k, err)
			}
			value = stringify(val, v)
		}
		for i := range hs { // a repeated key: the last one wins, as with a map
			if hs[i].Name == k {
				hs[i].Value = sanitizeValue(value)
				return nil
			}
		}
		hs = append(hs, Header{Name: k, Value: sanitizeValue(value)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
	return hs, nil
}

// stringify renders a non-string header value the way the service (Java) does: arrays as
// "[a, b]", objects as "{k=v}", numbers and booleans as their JSON text.
func stringify(v any, raw json.RawMessage) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		if raw != nil {
			return string(bytes.TrimSpace(raw))
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = stringify(e, nil)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + stringify(x[k], nil)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func parseCookies(raw json.RawMessage) ([]string, error) {
	var vs []any
	if err := json.Unmarshal(raw, &vs); err != nil {
		return nil, malformed("cookies: %v", err)
	}
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		s, ok := v.(string)
		if !ok {
			return nil, malformed("cookies: element %v is not a string", v)
		}
		out = append(out, sanitizeValue(s))
	}
	return out, nil
}

func defaultHeaders(hs []Header) []Header {
	for _, h := range hs {
		if strings.EqualFold(h.Name, "Content-Type") {
			return hs
		}
	}
	return append(hs, Header{Name: "Content-Type", Value: DefaultContentType})
}

// validHeaderName reports whether s is an RFC 7230 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// sanitizeValue replaces CR, LF and NUL, which would split or break a header line.
func sanitizeValue(s string) string {
	if !strings.ContainsAny(s, "\r\n\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', 0:
			return ' '
		}
		return r
	}, s)
}
