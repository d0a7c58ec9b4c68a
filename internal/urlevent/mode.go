package urlevent

import "io"

// Result is what the gateway knows of a function's answer when it maps it: the URL's invoke
// mode, the runtime's Content-Type and the buffered payload.
type Result struct {
	// Streaming is true for a RESPONSE_STREAM URL.
	Streaming   bool
	ContentType string
	Payload     []byte
}

// MapResult maps a buffered answer to the HTTP response, by the URL's invoke mode and what the
// runtime sent (§3, §7):
//
//   - a streaming handler's prelude on a RESPONSE_STREAM URL: the prelude's status, headers
//     and cookies, the rest as the body (Content-Type defaults to application/octet-stream);
//   - a streaming handler behind a BUFFERED URL: 200, Content-Type application/json, no body
//     (the service loses it);
//   - a buffered handler behind a RESPONSE_STREAM URL: 200, the payload verbatim with the
//     runtime's Content-Type (default application/json);
//   - otherwise the payload format 2.0 response mapping (MapBuffered).
func MapResult(res Result) (*Response, error) {
	prelude := IsPrelude(res.ContentType)
	switch {
	case prelude && res.Streaming:
		out, err := SplitPrelude(res.Payload)
		if err != nil {
			return nil, err
		}
		out.Headers = withDefaultCT(out.Headers, StreamDefaultContentType)
		return out, nil
	case prelude:
		return &Response{Status: 200, Headers: []Header{{Name: "Content-Type", Value: DefaultContentType}}}, nil
	case res.Streaming:
		ct := res.ContentType
		if ct == "" {
			ct = DefaultContentType
		}
		return &Response{Status: 200, Headers: []Header{{Name: "Content-Type", Value: ct}}, Body: res.Payload}, nil
	}
	return MapBuffered(res.Payload)
}

// StreamHead maps the start of a streamed answer: with the prelude Content-Type it reads the
// prelude from body (at most MaxPreludeBytes) and returns its status, headers and cookies and
// the body bytes read past it; otherwise 200 with the runtime's Content-Type (default
// application/octet-stream) and nothing read.
func StreamHead(contentType string, body io.Reader) (*Response, []byte, error) {
	if IsPrelude(contentType) {
		out, rest, err := ReadPrelude(body, MaxPreludeBytes)
		if err != nil {
			return nil, nil, err
		}
		out.Headers = withDefaultCT(out.Headers, StreamDefaultContentType)
		return out, rest, nil
	}
	if contentType == "" {
		contentType = StreamDefaultContentType
	}
	return &Response{Status: 200, Headers: []Header{{Name: "Content-Type", Value: contentType}}}, nil, nil
}

func withDefaultCT(hs []Header, ct string) []Header {
	for _, h := range hs {
		if equalFoldASCII(h.Name, "Content-Type") {
			return hs
		}
	}
	return append(hs, Header{Name: "Content-Type", Value: ct})
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
