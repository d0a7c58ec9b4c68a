package urlevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PreludeContentType marks a streamed (or buffered) answer that starts with a JSON prelude, 8
// NUL bytes, then the raw body (spec/runtime-api.md §1.9).
const PreludeContentType = "application/vnd.awslambda.http-integration-response"

// MaxPreludeBytes is the largest prelude accepted (API Gateway documents 16 KB).
const MaxPreludeBytes = 16 << 10

// StreamDefaultContentType is the Content-Type of a streamed response that names none.
const StreamDefaultContentType = "application/octet-stream"

const preludeDelimiterLen = 8

// IsPrelude reports whether a runtime response Content-Type announces a prelude.
func IsPrelude(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), PreludeContentType)
}

// ParsePrelude parses the JSON prelude (without its NUL delimiter). Missing statusCode means
// 200; unknown keys are ignored.
func ParsePrelude(b []byte) (*Response, error) {
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, malformed("prelude contains NUL")
	}
	if !json.Valid(b) {
		return nil, malformed("prelude is not JSON")
	}
	var f fields
	if err := f.collect(b); err != nil {
		return nil, err
	}
	r := &Response{Status: 200}
	if !isNull(f.statusCode) {
		st, err := parseStatus(f.statusCode)
		if err != nil {
			return nil, err
		}
		r.Status = st
	}
	if err := f.headersAndCookies(r); err != nil {
		return nil, err
	}
	return r, nil
}

// SplitPrelude splits a complete buffered answer into prelude and body.
func SplitPrelude(payload []byte) (*Response, error) {
	i := bytes.Index(payload, make([]byte, preludeDelimiterLen))
	if i < 0 {
		return nil, malformed("prelude delimiter not found")
	}
	if i > MaxPreludeBytes {
		return nil, malformed("prelude larger than %d bytes", MaxPreludeBytes)
	}
	r, err := ParsePrelude(payload[:i])
	if err != nil {
		return nil, err
	}
	r.Body = payload[i+preludeDelimiterLen:]
	return r, nil
}

// ErrPreludeTooLarge is returned when no delimiter appears within the size limit.
var ErrPreludeTooLarge = errors.New("urlevent: streaming prelude too large")

// ReadPrelude reads a prelude from a stream: bytes up to the 8-NUL delimiter (at most max bytes
// of prelude; max <= 0 means MaxPreludeBytes). It returns the parsed prelude and any body bytes
// read past the delimiter, which the caller must send before continuing with r.
func ReadPrelude(r io.Reader, max int) (*Response, []byte, error) {
	if max <= 0 {
		max = MaxPreludeBytes
	}
	buf := make([]byte, 0, 4096)
	delim := make([]byte, preludeDelimiterLen)
	for {
		if i := bytes.Index(buf, delim); i >= 0 {
			if i > max {
				return nil, nil, ErrPreludeTooLarge
			}
			p, err := ParsePrelude(buf[:i])
			if err != nil {
				return nil, nil, err
			}
			return p, buf[i+preludeDelimiterLen:], nil
		}
		if len(buf) > max+preludeDelimiterLen {
			return nil, nil, ErrPreludeTooLarge
		}
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if bytes.Contains(buf, delim) {
				continue
			}
			if errors.Is(err, io.EOF) {
				return nil, nil, fmt.Errorf("urlevent: %w: stream ended before the prelude delimiter", ErrMalformed)
			}
			return nil, nil, fmt.Errorf("urlevent: read prelude: %w", err)
		}
	}
}
