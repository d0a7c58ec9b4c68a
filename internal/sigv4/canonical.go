package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// canonFlags choose a canonical-request variant.
type canonFlags uint8

const (
	canonNormalise canonFlags = 1 << iota // remove dot and empty path segments
	canonRawQuery                         // sort the query pairs but keep their bytes
)

// compute returns the lowercase hex signature the request should carry.
func (a *auth) compute(r *http.Request, key []byte, payloadHash string, f canonFlags) string {
	var b strings.Builder
	b.Grow(512)
	a.writeCanonicalRequest(&b, r, payloadHash, f)
	crHash := sha256.Sum256([]byte(b.String()))

	var sts [256]byte
	s := append(sts[:0], Algorithm...)
	s = append(s, '\n')
	s = append(s, a.amzDate...)
	s = append(s, '\n')
	s = append(s, a.scopeDate...)
	s = append(s, '/')
	s = append(s, a.region...)
	s = append(s, '/')
	s = append(s, a.service...)
	s = append(s, "/aws4_request\n"...)
	s = hex.AppendEncode(s, crHash[:])
	m := hmac.New(sha256.New, key)
	m.Write(s)
	var out [32]byte
	return hex.EncodeToString(m.Sum(out[:0]))
}

// CanonicalRequest returns the canonical request Verify builds for r (with the normalised
// path), for debugging and tests. It needs r to carry its signature material.
func CanonicalRequest(r *http.Request, payloadHash string) (string, error) {
	a, err := parseRequest(r)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	a.writeCanonicalRequest(&b, r, payloadHash, canonNormalise)
	return b.String(), nil
}

func (a *auth) writeCanonicalRequest(b *strings.Builder, r *http.Request, payloadHash string, f canonFlags) {
	b.WriteString(r.Method)
	b.WriteByte('\n')
	p := rawPath(r)
	if f&canonNormalise != 0 {
		p = normalisePath(p)
	}
	if p == "" {
		p = "/"
	}
	uriEncode(b, p, true)
	b.WriteByte('\n')
	writeCanonicalQuery(b, rawQuery(r), a.presigned, f&canonRawQuery != 0)
	b.WriteByte('\n')
	for _, name := range a.signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		writeHeaderValue(b, r, name)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(a.signedRaw)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
}

func writeHeaderValue(b *strings.Builder, r *http.Request, name string) {
	switch name {
	case "host":
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		writeTrimmed(b, h)
		return
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			b.WriteString(strings.Join(r.TransferEncoding, ","))
			return
		}
	case "content-length":
		if _, ok := r.Header["Content-Length"]; !ok && r.ContentLength >= 0 {
			b.WriteString(strconv.FormatInt(r.ContentLength, 10))
			return
		}
	}
	vals := r.Header.Values(name)
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		writeTrimmed(b, v)
	}
}

// writeTrimmed writes v trimmed, with runs of whitespace folded to one space (botocore's
// ' '.join(v.split())).
func writeTrimmed(b *strings.Builder, v string) {
	first := true
	for f := range strings.FieldsSeq(v) {
		if !first {
			b.WriteByte(' ')
		}
		b.WriteString(f)
		first = false
	}
}

type qpair struct{ k, v string }

func writeCanonicalQuery(b *strings.Builder, q string, presigned, raw bool) {
	if q == "" {
		return
	}
	pairs := make([]qpair, 0, 8)
	var kb, vb strings.Builder
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if raw {
			if !(presigned && k == "X-Amz-Signature") {
				pairs = append(pairs, qpair{k, v})
			}
			continue
		}
		k, v = unescapeQuery(k), unescapeQuery(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		kb.Reset()
		vb.Reset()
		uriEncode(&kb, k, false)
		uriEncode(&vb, v, false)
		pairs = append(pairs, qpair{kb.String(), vb.String()})
	}
	slices.SortFunc(pairs, func(x, y qpair) int {
		if c := strings.Compare(x.k, y.k); c != 0 {
			return c
		}
		return strings.Compare(x.v, y.v)
	})
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

const upperhex = "0123456789ABCDEF"

// uriEncode writes s with every byte outside A-Za-z0-9-_.~ (and '/' when keepSlash) as %XX.
func uriEncode(b *strings.Builder, s string, keepSlash bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
}

// queryNeedsEncoding reports whether the raw query differs from its canonical encoding in a way
// the raw-query variant could match: '+', lowercase hex, or bytes left unencoded.
func queryNeedsEncoding(q string) bool {
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9',
			c == '-' || c == '_' || c == '.' || c == '~' || c == '&' || c == '=':
		case c == '%' && i+2 < len(q) && isUpperHex(q[i+1]) && isUpperHex(q[i+2]):
			i += 2
		default:
			return true
		}
	}
	return false
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

// needsNormalising reports whether normalisePath would change p.
func needsNormalising(p string) bool {
	return normalisePath(p) != p
}

// normalisePath removes "." and empty segments and resolves ".." (RFC 3986 with botocore's
// empty-segment collapsing), keeping a trailing "/" unless the result is the root.
func normalisePath(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		if p[0] == '/' {
			return p
		}
	}
	segs := make([]string, 0, 8)
	for s := range strings.SplitSeq(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	out := "/" + strings.Join(segs, "/")
	if out != "/" && (strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")) {
		out += "/"
	}
	return out
}

// equalSig compares the computed and the provided signature in constant time.
func equalSig(computed, provided string) bool {
	return hmac.Equal([]byte(computed), []byte(provided))
}

// DeriveSigningKey computes kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region),
// service), "aws4_request").
func DeriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// keyCache holds derived signing keys in two generations: when the current one is full it
// becomes the old one, so memory stays bounded and hot keys survive.
type keyCache struct {
	mu       sync.Mutex
	cur, old map[string][]byte
}

func (v *Verifier) signingKey(secret, date, region, service string) []byte {
	id := secret + "\x00" + date + "\x00" + region + "\x00" + service
	c := &v.keys
	c.mu.Lock()
	if k, ok := c.cur[id]; ok {
		c.mu.Unlock()
		return k
	}
	if k, ok := c.old[id]; ok {
		c.put(id, k, v.CacheSize)
		c.mu.Unlock()
		return k
	}
	c.mu.Unlock()
	k := DeriveSigningKey(secret, date, region, service)
	c.mu.Lock()
	c.put(id, k, v.CacheSize)
	c.mu.Unlock()
	return k
}

func (c *keyCache) put(id string, k []byte, size int) {
	if size <= 0 {
		size = 1024
	}
	if c.cur == nil {
		c.cur = make(map[string][]byte)
	}
	if len(c.cur) >= size {
		c.old, c.cur = c.cur, make(map[string][]byte)
	}
	c.cur[id] = k
}
