package urlevent

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the event's JSON to dst. The bytes are exactly what encoding/json.Marshal
// produces for *e (same field order, sorted map keys, HTML-safe escaping, U+FFFD for invalid
// UTF-8), without reflection and with few allocations: it is on the hot path.
func (e *Event) AppendJSON(dst []byte) []byte {
	var keyBuf [32]string
	dst = append(dst, `{"version":`...)
	dst = appendString(dst, e.Version)
	dst = append(dst, `,"routeKey":`...)
	dst = appendString(dst, e.RouteKey)
	dst = append(dst, `,"rawPath":`...)
	dst = appendString(dst, e.RawPath)
	dst = append(dst, `,"rawQueryString":`...)
	dst = appendString(dst, e.RawQueryString)
	if len(e.Cookies) > 0 {
		dst = append(dst, `,"cookies":[`...)
		for i, c := range e.Cookies {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, c)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"headers":`...)
	dst = appendMap(dst, e.Headers, keyBuf[:])
	if len(e.QueryStringParameters) > 0 {
		dst = append(dst, `,"queryStringParameters":`...)
		dst = appendMap(dst, e.QueryStringParameters, keyBuf[:])
	}
	rc := &e.RequestContext
	dst = append(dst, `,"requestContext":{"accountId":`...)
	dst = appendString(dst, rc.AccountID)
	dst = append(dst, `,"apiId":`...)
	dst = appendString(dst, rc.APIID)
	if rc.Authorizer != nil {
		dst = append(dst, `,"authorizer":{"iam":`...)
		if a := rc.Authorizer.IAM; a == nil {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, `{"accessKey":`...)
			dst = appendString(dst, a.AccessKey)
			dst = append(dst, `,"accountId":`...)
			dst = appendString(dst, a.AccountID)
			dst = append(dst, `,"callerId":`...)
			dst = appendString(dst, a.CallerID)
			dst = append(dst, `,"cognitoIdentity":`...)
			dst = appendOptString(dst, a.CognitoIdentity)
			dst = append(dst, `,"principalOrgId":`...)
			dst = appendOptString(dst, a.PrincipalOrgID)
			dst = append(dst, `,"userArn":`...)
			dst = appendString(dst, a.UserARN)
			dst = append(dst, `,"userId":`...)
			dst = appendString(dst, a.UserID)
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `,"domainName":`...)
	dst = appendString(dst, rc.DomainName)
	dst = append(dst, `,"domainPrefix":`...)
	dst = appendString(dst, rc.DomainPrefix)
	dst = append(dst, `,"http":{"method":`...)
	dst = appendString(dst, rc.HTTP.Method)
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, rc.HTTP.Path)
	dst = append(dst, `,"protocol":`...)
	dst = appendString(dst, rc.HTTP.Protocol)
	dst = append(dst, `,"sourceIp":`...)
	dst = appendString(dst, rc.HTTP.SourceIP)
	dst = append(dst, `,"userAgent":`...)
	dst = appendString(dst, rc.HTTP.UserAgent)
	dst = append(dst, `},"requestId":`...)
	dst = appendString(dst, rc.RequestID)
	dst = append(dst, `,"routeKey":`...)
	dst = appendString(dst, rc.RouteKey)
	dst = append(dst, `,"stage":`...)
	dst = appendString(dst, rc.Stage)
	dst = append(dst, `,"time":`...)
	dst = appendString(dst, rc.Time)
	dst = append(dst, `,"timeEpoch":`...)
	dst = strconv.AppendInt(dst, rc.TimeEpoch, 10)
	dst = append(dst, '}')
	if e.Body != "" {
		dst = append(dst, `,"body":`...)
		dst = appendString(dst, e.Body)
	}
	if e.IsBase64Encoded {
		dst = append(dst, `,"isBase64Encoded":true}`...)
	} else {
		dst = append(dst, `,"isBase64Encoded":false}`...)
	}
	return dst
}

// SizeHint estimates the encoded size of e, for sizing the destination buffer.
func (e *Event) SizeHint() int {
	n := 512 + len(e.RawPath)*2 + len(e.RawQueryString)*2 + len(e.Body) + len(e.Body)/16
	for k, v := range e.Headers {
		n += len(k) + len(v) + 6
	}
	for k, v := range e.QueryStringParameters {
		n += len(k) + len(v) + 6
	}
	for _, c := range e.Cookies {
		n += len(c) + 3
	}
	return n
}

func appendOptString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendString(dst, *s)
}

func appendMap(dst []byte, m map[string]string, buf []string) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '{')
	for i, k := range sortedKeys(m, buf) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, m[k])
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string with encoding/json's escaping rules minus HTML
// escaping: "<", ">" and "&" stay as they are, as in the events AWS's (Java) front end sends,
// e.g. a rawQueryString "a=1&b=2".
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
