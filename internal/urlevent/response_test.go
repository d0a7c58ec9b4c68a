package urlevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

var ctJSON = Header{"Content-Type", "application/json"}

// TestMapBuffered is spec §3.1 case by case.
func TestMapBuffered(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    *Response
		wantErr bool
	}{
		{"object without statusCode is compacted", `{"hello": "world"}`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`{"hello":"world"}`)}, false},
		{"object keeps key order and number text", `{"b": 1.50, "a": [1, 2e3]}`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`{"b":1.50,"a":[1,2e3]}`)}, false},
		{"string loses its quotes", `"hello"`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`hello`)}, false},
		{"string with escapes", `"a\"b\u00e9"`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`a"bé`)}, false},
		{"array", `["hello", 3, true]`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`["hello",3,true]`)}, false},
		{"integer", `3`, &Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`3`)}, false},
		{"float", `3.1`, &Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`3.1`)}, false},
		{"boolean", `true`, &Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`true`)}, false},
		{"null", `null`, &Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`null`)}, false},
		{"empty payload", ``, &Response{Status: 200, Headers: []Header{ctJSON}}, false},
		{"non-JSON passes through", `plain text`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`plain text`)}, false},
		{"object with body but no statusCode is the body", `{"body": "x", "headers": {"a": "b"}}`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`{"body":"x","headers":{"a":"b"}}`)}, false},
		{"structured", `{"statusCode": 201, "headers": {"Content-Type": "text/html", "X-Custom": "v"}, "body": "<p>hi</p>"}`,
			&Response{Status: 201, Headers: []Header{{"Content-Type", "text/html"}, {"X-Custom", "v"}}, Body: []byte(`<p>hi</p>`)}, false},
		{"structured header case kept, content-type detected case-insensitively", `{"statusCode": 200, "headers": {"content-type": "text/plain"}}`,
			&Response{Status: 200, Headers: []Header{{"content-type", "text/plain"}}}, false},
		{"statusCode numeric string", `{"statusCode": "418", "body": "teapot"}`,
			&Response{Status: 418, Headers: []Header{ctJSON}, Body: []byte(`teapot`)}, false},
		{"statusCode integral float", `{"statusCode": 404.0}`,
			&Response{Status: 404, Headers: []Header{ctJSON}}, false},
		{"default content-type on structured", `{"statusCode": 204}`,
			&Response{Status: 204, Headers: []Header{ctJSON}}, false},
		{"non-string header values stringified", `{"statusCode": 200, "headers": {"Set-Cookie": ["a=1", "b=2"], "X-N": 5, "X-B": true, "X-O": {"k": "v"}, "X-Null": null}}`,
			&Response{Status: 200, Headers: []Header{{"Set-Cookie", "[a=1, b=2]"}, {"X-B", "true"}, {"X-N", "5"}, {"X-O", "{k=v}"}, ctJSON}}, false},
		{"cookies", `{"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"], "body": ""}`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Cookies: []string{"a=1; Path=/", "b=2"}, Body: []byte{}}, false},
		{"base64 body", `{"statusCode": 200, "isBase64Encoded": true, "body": "AAEC/w=="}`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte{0, 1, 2, 255}}, false},
		{"object body serialized", `{"statusCode": 200, "body": {"a": [1, 2]}}`,
			&Response{Status: 200, Headers: []Header{ctJSON}, Body: []byte(`{"a":[1,2]}`)}, false},
		{"null body", `{"statusCode": 200, "body": null}`,
			&Response{Status: 200, Headers: []Header{ctJSON}}, false},
		{"multiValueHeaders ignored", `{"statusCode": 200, "multiValueHeaders": {"X-A": ["1", "2"]}}`,
			&Response{Status: 200, Headers: []Header{ctJSON}}, false},
		{"header value with CRLF sanitized", `{"statusCode": 200, "headers": {"X-A": "a\r\nInjected: 1"}}`,
			&Response{Status: 200, Headers: []Header{{"X-A", "a  Injected: 1"}, ctJSON}}, false},
		{"invalid header name dropped", `{"statusCode": 200, "headers": {"bad name": "x"}}`,
			&Response{Status: 200, Headers: []Header{ctJSON}}, false},
		{"bad statusCode string", `{"statusCode": "abc"}`, nil, true},
		{"statusCode out of range", `{"statusCode": 1000}`, nil, true},
		{"statusCode informational", `{"statusCode": 101}`, nil, true},
		{"statusCode fraction", `{"statusCode": 200.5}`, nil, true},
		{"statusCode null", `{"statusCode": null}`, nil, true},
		{"bad base64", `{"statusCode": 200, "isBase64Encoded": true, "body": "!!"}`, nil, true},
		{"headers not an object", `{"statusCode": 200, "headers": ["a"]}`, nil, true},
		{"cookies not strings", `{"statusCode": 200, "cookies": [1]}`, nil, true},
		{"isBase64Encoded not bool", `{"statusCode": 200, "isBase64Encoded": "yes"}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MapBuffered([]byte(tt.payload))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadPrelude(t *testing.T) {
	nul := string(make([]byte, 8))
	tests := []struct {
		name     string
		stream   string
		want     *Response
		wantRest string
		wantErr  bool
	}{
		{"full", `{"statusCode":201,"headers":{"Content-Type":"text/html"},"cookies":["a=b"]}` + nul + "body-bytes",
			&Response{Status: 201, Headers: []Header{{"Content-Type", "text/html"}}, Cookies: []string{"a=b"}}, "body-bytes", false},
		{"missing statusCode is 200, unknown keys ignored", `{"status":418}` + nul,
			&Response{Status: 200}, "", false},
		{"null members are absent, headers sorted, last repeated key wins", `{"statusCode":null,"headers":{"b":"1","A":"2","b":"3"},"cookies":null}` + nul,
			&Response{Status: 200, Headers: []Header{{"A", "2"}, {"b", "3"}}}, "", false},
		{"escaped member name", `{"\u0073tatusCode":204}` + nul, &Response{Status: 204}, "", false},
		{"bad statusCode", `{"statusCode":"abc"}` + nul, nil, "", true},
		{"headers not an object", `{"headers":[1]}` + nul, nil, "", true},
		{"body with NULs after delimiter", `{}` + nul + "\x00\x00x",
			&Response{Status: 200}, "\x00\x00x", false},
		{"no delimiter", `{"statusCode":200}`, nil, "", true},
		{"not JSON", `nope` + nul, nil, "", true},
		{"array", `[]` + nul, nil, "", true},
		{"too large", `{"a":"` + string(bytes.Repeat([]byte("x"), MaxPreludeBytes)) + `"}` + nul, nil, "", true},
	}
	for _, tt := range tests {
		for _, mode := range []string{"whole", "one-byte"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				var r io.Reader = bytes.NewReader([]byte(tt.stream))
				if mode == "one-byte" {
					r = iotest.OneByteReader(r)
				}
				got, rest, err := ReadPrelude(r, 0)
				if tt.wantErr {
					if err == nil {
						t.Fatal("want error")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				all, _ := io.ReadAll(r)
				if diff := cmp.Diff(tt.wantRest, string(rest)+string(all)); diff != "" {
					t.Errorf("rest: %s", diff)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
	if !IsPrelude("application/vnd.awslambda.http-integration-response; charset=x") || IsPrelude("application/json") {
		t.Error("IsPrelude")
	}
	r, err := SplitPrelude([]byte(`{"statusCode":202}` + nul + "x"))
	if err != nil || r.Status != 202 || string(r.Body) != "x" {
		t.Errorf("SplitPrelude = %+v, %v", r, err)
	}
}

func FuzzMapBuffered(f *testing.F) {
	for _, s := range []string{`{"statusCode":"418","headers":{"a":[1,{"b":null}]},"cookies":["x"],"isBase64Encoded":true,"body":"AA=="}`,
		`"x"`, `[1,2]`, `null`, `{"statusCode":200,"body":{"a":1}}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := MapBuffered(p)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if r.Status < 200 || r.Status > 599 {
			t.Fatalf("status %d", r.Status)
		}
		// Differential check of the hand-written walker against encoding/json's view.
		var obj map[string]json.RawMessage
		if json.Unmarshal(bytes.TrimSpace(p), &obj) == nil && obj != nil {
			if sc, ok := obj["statusCode"]; ok {
				want, err := parseStatus(sc)
				if err != nil || want != r.Status {
					t.Fatalf("status %d, encoding/json view %d (%v)", r.Status, want, err)
				}
				if hraw, ok := obj["headers"]; ok && !isNull(hraw) {
					var hm map[string]json.RawMessage
					if json.Unmarshal(hraw, &hm) == nil {
						for _, h := range r.Headers {
							v, ok := hm[h.Name]
							if !ok {
								if h.Name == "Content-Type" {
									continue
								}
								t.Fatalf("header %q not in %s", h.Name, hraw)
							}
							var sv string
							if json.Unmarshal(v, &sv) == nil && sanitizeValue(sv) != h.Value {
								t.Fatalf("header %q = %q, encoding/json %q", h.Name, h.Value, sv)
							}
						}
					}
				}
				if braw, ok := obj["body"]; ok && !isNull(braw) {
					var sv string
					var b64 bool
					_ = json.Unmarshal(obj["isBase64Encoded"], &b64)
					if !b64 && json.Unmarshal(braw, &sv) == nil && sv != string(r.Body) {
						t.Fatalf("body %q, encoding/json %q", r.Body, sv)
					}
				}
			}
		}
		for _, h := range r.Headers {
			if !validHeaderName(h.Name) || bytes.ContainsAny([]byte(h.Value), "\r\n\x00") {
				t.Fatalf("unsafe header %q: %q", h.Name, h.Value)
			}
		}
	})
}

func FuzzReadPrelude(f *testing.F) {
	f.Add([]byte(`{"statusCode":201,"headers":{"a":"b"},"cookies":["c"]}` + string(make([]byte, 8)) + "body"))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, p []byte) {
		r, rest, err := ReadPrelude(iotest.HalfReader(bytes.NewReader(p)), 256)
		if err != nil {
			return
		}
		if r.Status < 200 || r.Status > 599 || len(rest) > len(p) {
			t.Fatalf("bad result %+v rest %d", r, len(rest))
		}
	})
}
