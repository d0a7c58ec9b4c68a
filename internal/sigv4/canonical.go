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
	canonAsSent                           // keep the query pairs in the order received (diagnosis only)
)

// signingKey is a derived key with its HMAC pads precomputed, so signing a string costs two
// SHA-256 runs and no allocation.
type signingKey struct {
	ipad, opad [sha256.BlockSize]byte
}

func newSigningKey(k []byte) *signingKey {
	s := &signingKey{}
	copy(s.ipad[:], k) // k is 32 bytes < BlockSize
	copy(s.opad[:], k)
	for i := range s.ipad {
		s.ipad[i] ^= 0x36
		s.opad[i] ^= 0x5c
	}
	return s
}

// mac returns HMAC-SHA256(key, msg), using buf as scratch.
func (s *signingKey) mac(msg []byte, buf []byte) [sha256.Size]byte {
	buf = append(buf[:0], s.ipad[:]...)
	buf = append(buf, msg...)
	inner := sha256.Sum256(buf)
	buf = append(buf[:0], s.opad[:]...)
	buf = append(buf, inner[:]...)
	return sha256.Sum256(buf)
}

// compute returns the signature (raw MAC) the request should carry.
func (a *auth) compute(r *http.Request, key *signingKey, payloadHash string, f canonFlags) [sha256.Size]byte {
	var stack [1024]byte
	buf := a.appendCanonicalRequest(stack[:0], r, payloadHash, f)
	crHash := sha256.Sum256(buf)
	s := a.appendStringToSign(buf[:0], crHash)
	var scratch [sha256.BlockSize + 512]byte
	return key.mac(s, scratch[:0])
}

// appendStringToSign appends the string to sign for a canonical request's hash.
func (a *auth) appendStringToSign(s []byte, crHash [sha256.Size]byte) []byte {
	s = append(s, Algorithm...)
	s = append(s, '\n')
	s = append(s, a.amzDate...)
	s = append(s, '\n')
	s = append(s, a.scopeDate...)
	s = append(s, '/')
	s = append(s, a.region...)
	s = append(s, '/')
	s = append(s, a.service...)
	s = append(s, "/aws4_request\n"...)
	return hex.AppendEncode(s, crHash[:])
}

// Mismatch is the cause of an InvalidSignatureException for a signature that does not match
// (awserr.Error.Cause; find it with errors.As). Callers keep AWS's body for the client and log
// or show this: which check failed and, since the key was known, the canonical request and
// string to sign furl computed.
type Mismatch struct {
	// Check is "payload-hash" (x-amz-content-sha256 is not the body's hash), "query-order"
	// (the signature matches the query string in the order sent, not sorted: curl 7.88's
	// --aws-sigv4 signs it so), or "signature".
	Check            string
	AccessKeyID      string
	CanonicalRequest string
	StringToSign     string
}

func (m *Mismatch) Error() string {
	switch m.Check {
	case "payload-hash":
		return "sigv4: x-amz-content-sha256 is not the hash of the body"
	case "query-order":
		return "sigv4: the query string was signed in the order sent, not in canonical (sorted) order"
	}
	return "sigv4: signature mismatch"
}

// mismatch explains a failed signature: whether the client signed the query unsorted, and
// what furl computed (the AWS canonical form).
func (a *auth) mismatch(r *http.Request, key *signingKey, payloadHash string) *Mismatch {
	m := &Mismatch{Check: "signature", AccessKeyID: a.accessKeyID}
	if a.query != "" && equalSig(a.compute(r, key, payloadHash, canonNormalise|canonAsSent), a.signature) ||
		equalSig(a.compute(r, key, payloadHash, canonAsSent), a.signature) {
		m.Check = "query-order"
	}
	cr := a.appendCanonicalRequest(nil, r, payloadHash, canonNormalise)
	m.CanonicalRequest = string(cr)
	m.StringToSign = string(a.appendStringToSign(nil, sha256.Sum256(cr)))
	return m
}

// CanonicalRequest returns the canonical request Verify builds for r (with the normalised
// path), for debugging and tests. It needs r to carry its signature material.
func CanonicalRequest(r *http.Request, payloadHash string) (string, error) {
	a, err := parseRequest(r)
	if err != nil {
		return "", err
	}
	return string(a.appendCanonicalRequest(nil, r, payloadHash, canonNormalise)), nil
}

func (a *auth) appendCanonicalRequest(b []byte, r *http.Request, payloadHash string, f canonFlags) []byte {
	b = append(b, r.Method...)
	b = append(b, '\n')
	p := a.path
	if f&canonNormalise != 0 {
		p = normalisePath(p)
	}
	if p == "" {
		p = "/"
	}
	b = appendURIEncoded(b, p, true)
	b = append(b, '\n')
	b = appendCanonicalQuery(b, a.query, a.presigned, f&canonRawQuery != 0, f&canonAsSent != 0)
	b = append(b, '\n')
	for _, name := range a.signedHeaders {
		b = append(b, name...)
		b = append(b, ':')
		b = appendHeaderValue(b, r, name)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, a.signedRaw...)
	b = append(b, '\n')
	return append(b, payloadHash...)
}

func appendHeaderValue(b []byte, r *http.Request, name string) []byte {
	switch name {
	case "host":
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return appendTrimmed(b, h)
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			for i, te := range r.TransferEncoding {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, te...)
			}
			return b
		}
	case "content-length":
		if _, ok := r.Header["Content-Length"]; !ok && r.ContentLength >= 0 {
			return strconv.AppendInt(b, r.ContentLength, 10)
		}
	}
	for i, v := range headerValues(r.Header, name) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTrimmed(b, v)
	}
	return b
}

// headerValues is h.Values(name) for a lowercase name, without allocating the canonical key.
func headerValues(h http.Header, name string) []string {
	var kb [64]byte
	if len(name) > len(kb) {
		return h.Values(name)
	}
	k := kb[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == ' ' || c >= 0x7f || c < 0x21:
			return h.Values(name) // textproto leaves such keys alone
		case upper && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case !upper && c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		k[i] = c
		upper = c == '-'
	}
	return h[string(k)]
}

// appendTrimmed appends v trimmed, with runs of whitespace folded to one space (botocore's
// ' '.join(v.split())).
func appendTrimmed(b []byte, v string) []byte {
	first := true
	for f := range strings.FieldsSeq(v) {
		if !first {
			b = append(b, ' ')
		}
		b = append(b, f...)
		first = false
	}
	return b
}

type qpair struct{ k, v string }

func appendCanonicalQuery(b []byte, q string, presigned, raw, asSent bool) []byte {
	if q == "" {
		return b
	}
	var stack [16]qpair
	pairs := stack[:0]
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
		pairs = append(pairs, qpair{encodeQueryPart(k), encodeQueryPart(v)})
	}
	if !asSent {
		slices.SortFunc(pairs, comparePairs)
	}
	for i, p := range pairs {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}

func comparePairs(x, y qpair) int {
	if c := strings.Compare(x.k, y.k); c != 0 {
		return c
	}
	return strings.Compare(x.v, y.v)
}

// encodeQueryPart is the canonical encoding of a decoded key or value; it allocates only when
// something needs escaping.
func encodeQueryPart(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			return string(appendURIEncoded(make([]byte, 0, len(s)+8), s, false))
		}
	}
	return s
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

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// appendURIEncoded appends s with every byte outside A-Za-z0-9-_.~ (and '/' when keepSlash)
// as %XX.
func appendURIEncoded(b []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperhex[c>>4], upperhex[c&15])
	}
	return b
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

// equalSig compares the computed MAC with the provided hex signature in constant time. The
// signature must be 64 lowercase hex digits.
func equalSig(computed [sha256.Size]byte, provided string) bool {
	if len(provided) != 2*sha256.Size {
		return false
	}
	var got [sha256.Size]byte
	for i := 0; i < sha256.Size; i++ {
		hi, ok1 := fromLowerHex(provided[2*i])
		lo, ok2 := fromLowerHex(provided[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		got[i] = hi<<4 | lo
	}
	return hmac.Equal(computed[:], got[:])
}

func fromLowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
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

type keyID struct{ secret, date, region, service string }

// keyCache holds derived signing keys in two generations: when the current one is full it
// becomes the old one, so memory stays bounded and hot keys survive.
type keyCache struct {
	mu       sync.Mutex
	cur, old map[keyID]*signingKey
}

func (v *Verifier) signingKey(secret, date, region, service string) *signingKey {
	id := keyID{secret, date, region, service}
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
	k := newSigningKey(DeriveSigningKey(secret, date, region, service))
	c.mu.Lock()
	c.put(id, k, v.CacheSize)
	c.mu.Unlock()
	return k
}

func (c *keyCache) put(id keyID, k *signingKey, size int) {
	if size <= 0 {
		size = 1024
	}
	if c.cur == nil {
		c.cur = make(map[keyID]*signingKey)
	}
	if len(c.cur) >= size {
		c.old, c.cur = c.cur, make(map[keyID]*signingKey)
	}
	c.cur[id] = k
}
