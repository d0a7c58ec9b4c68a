package sigv4

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/furl/furl/internal/awserr"
)

const (
	vecAKID   = "AKIDEXAMPLE"
	vecSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

type vector struct {
	T       float64     `json:"t"`
	Method  string      `json:"method"`
	RawPath string      `json:"raw_path"`
	Headers [][2]string `json:"headers"`
	BodyB64 string      `json:"body_b64"`
	BodySHA string      `json:"body_sha256"`

	file string
	line int
}

func (v vector) name() string {
	ua := ""
	for _, h := range v.Headers {
		if strings.EqualFold(h[0], "User-Agent") {
			ua, _, _ = strings.Cut(h[1], " ")
		}
	}
	return v.file + ":" + itoa(v.line) + ":" + ua + ":" + v.Method + " " + v.RawPath
}

func itoa(i int) string { return strconv.Itoa(i) }

// request rebuilds the request the way net/http's server hands it to a handler: Host moved to
// r.Host, RequestURI as sent, headers canonicalised.
func (v vector) request(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	body, err := base64.StdEncoding.DecodeString(v.BodyB64)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest(v.Method, "http://placeholder"+v.RawPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.RequestURI = v.RawPath
	r.Header = http.Header{}
	for _, h := range v.Headers {
		if strings.EqualFold(h[0], "Host") {
			r.Host = h[1]
			continue
		}
		r.Header.Add(h[0], h[1])
	}
	return r, body
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	var out []vector
	for _, f := range []string{"requests.jsonl", "requests2.jsonl"} {
		// A copy of spec/sigv4-vectors: requests captured from real clients.
		fh, err := os.Open(filepath.Join("testdata", "vectors", f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		n := 0
		for sc.Scan() {
			n++
			var v vector
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("%s:%d: %v", f, n, err)
			}
			v.file, v.line = f, n
			out = append(out, v)
		}
		fh.Close()
	}
	return out
}

// tokenAwareLookup serves the vector key with or without its session token, as the request
// asks, so the same key verifies both kinds of vectors.
type tokenAwareLookup struct{ token string }

func (l *tokenAwareLookup) LookupAccessKey(_ context.Context, id string) (Credentials, error) {
	if id != vecAKID {
		return Credentials{}, ErrUnknownAccessKey
	}
	return Credentials{AccessKeyID: id, SecretAccessKey: vecSecret, SessionToken: l.token}, nil
}

func TestVectors(t *testing.T) {
	// The lines curl 7.88 signs wrongly (§4.3): a %XX path, an unsorted query, and a -T upload
	// whose payload hash is the empty string's.
	wantReject := map[string]string{
		"/curl3/hello%20world/a%3Ab": "curl signs the path verbatim (single encoding)",
		"/curl4/q?b=2&a=1&c=x%20y":   "curl signs the query unsorted",
		"/curl7/upload":              "curl -T hashes an empty body",
	}
	accepted, rejected, unsigned := 0, 0, 0
	for _, v := range loadVectors(t) {
		t.Run(v.name(), func(t *testing.T) {
			r, body := v.request(t)
			if !IsSigned(r) {
				unsigned++
				l := &tokenAwareLookup{}
				_, err := NewVerifier(nil, l).Verify(context.Background(), r, HashPayload(body), Scope{})
				wantCode(t, err, CodeMissingAuthToken, http.StatusForbidden)
				return
			}
			if got := HashPayload(body); got != v.BodySHA {
				t.Fatalf("body hash %s, vector says %s", got, v.BodySHA)
			}
			sec, frac := math.Modf(v.T)
			clock := time.Unix(int64(sec), int64(frac*1e9))
			// The vectors carry several tokens (TOKEN123, GOTOKEN, ...): the key is served as
			// the temporary credentials of whichever the request carries.
			l := &tokenAwareLookup{token: r.Header.Get("X-Amz-Security-Token")}
			if l.token == "" {
				l.token = r.URL.Query().Get("X-Amz-Security-Token")
			}
			vf := NewVerifier(func() time.Time { return clock }, l)
			res, err := vf.Verify(context.Background(), r, HashPayload(body), Scope{Services: []string{"lambda"}, Regions: []string{"us-east-1"}})
			if strings.Contains(v.RawPath, "X-Amz-Expires=604801") {
				rejected++
				wantCode(t, err, CodeIncompleteSignature, http.StatusBadRequest)
				return
			}
			if why, bad := wantReject[v.RawPath]; bad {
				rejected++
				wantCode(t, err, CodeInvalidSignature, http.StatusForbidden)
				t.Logf("rejected as expected (%s)", why)
				// The reason for the log and the console: which check failed.
				var m *Mismatch
				if !errors.As(err, &m) {
					t.Fatalf("no *Mismatch in %v", err)
				}
				if want := "query-order"; strings.Contains(v.RawPath, "curl4") && m.Check != want {
					t.Errorf("check %q, want %q", m.Check, want)
				}
				if m.Check != "payload-hash" && (m.CanonicalRequest == "" || !strings.HasPrefix(m.StringToSign, Algorithm+"\n")) {
					t.Errorf("no canonical request / string to sign: %+v", m)
				}
				return
			}
			if err != nil {
				cr, _ := CanonicalRequest(r, HashPayload(body))
				t.Fatalf("Verify: %v\ncanonical request:\n%s", err, cr)
			}
			accepted++
			if res.AccessKeyID != vecAKID || res.Region != "us-east-1" || res.Service != "lambda" {
				t.Errorf("result %+v", res)
			}
			if res.SessionToken != l.token {
				t.Errorf("token %q, want %q", res.SessionToken, l.token)
			}
			if strings.Contains(v.RawPath, "X-Amz-Signature") != (res.Form == FormQuery) {
				t.Errorf("form %s", res.Form)
			}
			// The same request one hour later is expired.
			late := NewVerifier(func() time.Time { return clock.Add(time.Hour) }, l)
			_, err = late.Verify(context.Background(), r, HashPayload(body), Scope{Services: []string{"lambda"}})
			if res.Form == FormHeader {
				wantCode(t, err, CodeInvalidSignature, http.StatusForbidden)
				if !strings.HasPrefix(awserr.As(err).Message, "Signature expired: ") {
					t.Errorf("late message %q", awserr.As(err).Message)
				}
			}
			// A wrong secret never verifies.
			wrong := NewVerifier(func() time.Time { return clock }, KeyLookupFunc(func(context.Context, string) (Credentials, error) {
				return Credentials{SecretAccessKey: "x" + vecSecret, SessionToken: l.token}, nil
			}))
			_, err = wrong.Verify(context.Background(), r, HashPayload(body), Scope{})
			wantCode(t, err, CodeInvalidSignature, http.StatusForbidden)
			if awserr.As(err).Message != MsgSignatureMismatch {
				t.Errorf("message %q", awserr.As(err).Message)
			}
		})
	}
	t.Logf("accepted %d, rejected %d, unsigned %d", accepted, rejected, unsigned)
	if accepted < 40 || rejected != len(wantReject)+1 {
		t.Errorf("accepted %d rejected %d", accepted, rejected)
	}
}

func wantCode(t testing.TB, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var ae *awserr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not *awserr.Error", err, err)
	}
	if ae.Code != code || ae.Status != status {
		t.Fatalf("got %s/%d %q, want %s/%d", ae.Code, ae.Status, ae.Message, code, status)
	}
}
