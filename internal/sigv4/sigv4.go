// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests, in both the
// Authorization-header form and the presigned query-string form, the way AWS's non-S3 services
// (Lambda, IAM, STS) do: the path is normalised and percent-encoded a second time, the query is
// decoded, re-encoded and sorted, signed header values are trimmed and space-folded, and the
// payload hash is the SHA-256 of the body the caller read.
//
// It is pure: the clock and the access-key lookup are injected, it does no I/O of its own, and
// every failure is an *awserr.Error carrying the code, message and status AWS sends.
package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/furl/furl/internal/awserr"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// EmptyPayloadHash is the hex SHA-256 of an empty body.
const EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// UnsignedPayload is the x-amz-content-sha256 value S3 clients send for unsigned bodies.
// Lambda does not accept it; see Verifier.AllowUnsignedPayload.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// MaxSkew is how far X-Amz-Date may be from the server clock (Lambda, API Gateway: 5 minutes).
const MaxSkew = 5 * time.Minute

// MaxPresignExpires is the largest X-Amz-Expires accepted (7 days, in seconds).
const MaxPresignExpires = 604800

// ErrUnknownAccessKey is returned (possibly wrapped) by a KeyLookup when the access key does
// not exist or is inactive; Verify turns it into UnrecognizedClientException.
var ErrUnknownAccessKey = errors.New("sigv4: unknown access key")

// Credentials are what the key store knows about one access key.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is set for temporary credentials (ASIA...). The request must then carry the
	// same X-Amz-Security-Token; long-term keys must carry none.
	SessionToken string
	// Expiration, when non-zero, is when temporary credentials stop working
	// (ExpiredTokenException after it).
	Expiration time.Time
	// Subject is opaque to sigv4 and handed back in Result (e.g. the owning user or session id),
	// so the caller need not look the key up twice.
	Subject string
}

// KeyLookup finds the credentials of an access key. It returns an error wrapping
// ErrUnknownAccessKey for unknown or inactive keys; an *awserr.Error is passed through as is;
// any other error becomes a ServiceException (500) that hides the cause.
type KeyLookup interface {
	LookupAccessKey(ctx context.Context, accessKeyID string) (Credentials, error)
}

// KeyLookupFunc adapts a function to KeyLookup.
type KeyLookupFunc func(ctx context.Context, accessKeyID string) (Credentials, error)

// LookupAccessKey calls f.
func (f KeyLookupFunc) LookupAccessKey(ctx context.Context, accessKeyID string) (Credentials, error) {
	return f(ctx, accessKeyID)
}

// Form says where a request carried its signature.
type Form string

const (
	FormHeader Form = "header" // Authorization header
	FormQuery  Form = "query"  // presigned URL (X-Amz-Signature in the query)
)

// Scope is what the caller expects in the credential scope: the signing service (one of
// Services; the first is the name used in the error message, e.g. "lambda") and the region
// (one of Regions; empty Regions accepts any syntactically valid region). The control plane
// passes {Services: ["lambda"], Regions: [cfg.Region]}; IAM passes {["iam"], [cfg.Region,
// "us-east-1"]} because IAM is global and signed for us-east-1; STS passes {["sts"], [...]}.
type Scope struct {
	Services []string
	Regions  []string
}

// Result describes a request whose signature verified.
type Result struct {
	AccessKeyID string
	// Region and Service are from the credential scope.
	Region  string
	Service string
	// Date is the signing time (X-Amz-Date, or Date).
	Date time.Time
	// SignedHeaders are the lowercase header names the client signed, in order.
	SignedHeaders []string
	// SessionToken is X-Amz-Security-Token ("" for long-term keys).
	SessionToken string
	Form         Form
	// Expires is X-Amz-Expires for presigned requests (0 for header auth).
	Expires time.Duration
	// Credentials are what KeyLookup returned (Subject included).
	Credentials Credentials
}

// Verifier checks signatures. The zero value is not usable: set Lookup. It is safe for
// concurrent use; the derived signing keys are cached (bounded) inside it.
type Verifier struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Lookup finds secrets by access key id.
	Lookup KeyLookup
	// AllowUnsignedPayload accepts x-amz-content-sha256: UNSIGNED-PAYLOAD (S3 style). Lambda
	// does not, so the default is false: such requests fail with a signature mismatch.
	AllowUnsignedPayload bool
	// CacheSize bounds the derived-key cache (entries per generation); 0 means 1024.
	CacheSize int

	keys keyCache
}

// NewVerifier returns a Verifier with the given clock (nil: time.Now) and key lookup.
func NewVerifier(now func() time.Time, lookup KeyLookup) *Verifier {
	return &Verifier{Now: now, Lookup: lookup}
}

// HashPayload returns the lowercase hex SHA-256 of body, the value Verify expects.
func HashPayload(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// IsSigned reports whether r carries any SigV4 material (an Authorization header or an
// X-Amz-Signature / X-Amz-Algorithm / X-Amz-Credential query parameter). Requests that are not
// signed at all get MissingAuthenticationTokenException from Verify.
func IsSigned(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	return querySigned(rawQuery(r))
}

// Verify checks the SigV4 signature of r. payloadHash is the lowercase hex SHA-256 of the
// request body as read by the caller (HashPayload); "" means an empty body. want restricts the
// credential scope. The request body is not read. Every failure is an *awserr.Error.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, payloadHash string, want Scope) (*Result, error) {
	if payloadHash == "" {
		payloadHash = EmptyPayloadHash
	}
	a, creds, err := v.precheck(ctx, r, want)
	if err != nil {
		return nil, err
	}

	// Payload hash: the client's x-amz-content-sha256 is what it signed; it must also be the
	// real body hash (Lambda has no unsigned payloads).
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h != payloadHash && !(h == UnsignedPayload && v.AllowUnsignedPayload) {
			return nil, errMismatch(fmt.Errorf("sigv4: x-amz-content-sha256 %q != body hash %s: %w", h, payloadHash,
				&Mismatch{Check: "payload-hash", AccessKeyID: a.accessKeyID}))
		}
		payloadHash = h
	}

	key := v.signingKey(creds.SecretAccessKey, a.scopeDate, a.region, a.service)
	if !a.matches(r, key, payloadHash) {
		return nil, errMismatch(a.mismatch(r, key, payloadHash))
	}
	res := &Result{
		AccessKeyID:   a.accessKeyID,
		Region:        a.region,
		Service:       a.service,
		Date:          a.date,
		SignedHeaders: a.signedHeaders,
		SessionToken:  a.token,
		Form:          FormHeader,
		Credentials:   creds,
	}
	if a.presigned {
		res.Form = FormQuery
		res.Expires = time.Duration(a.expires) * time.Second
	}
	return res, nil
}

// Precheck runs every check of Verify that does not need the body: the request is signed, the
// signature's form, scope and time are valid, and the access key (and session token) is known
// and current. A server calls it before reading a body, so that an anonymous caller cannot make
// it hold one; Verify must still follow. Every failure is the *awserr.Error Verify would return.
func (v *Verifier) Precheck(ctx context.Context, r *http.Request, want Scope) error {
	_, _, err := v.precheck(ctx, r, want)
	return err
}

func (v *Verifier) precheck(ctx context.Context, r *http.Request, want Scope) (*auth, Credentials, error) {
	clock := time.Now
	if v.Now != nil {
		clock = v.Now
	}
	now := clock().UTC()
	a, err := parseRequest(r)
	if err != nil {
		return nil, Credentials{}, err
	}
	if err := a.checkScope(want); err != nil {
		return nil, Credentials{}, err
	}
	if err := a.checkTime(now); err != nil {
		return nil, Credentials{}, err
	}
	if v.Lookup == nil {
		return nil, Credentials{}, awserr.Internal(errors.New("sigv4: verify: no key lookup configured"))
	}
	creds, err := v.Lookup.LookupAccessKey(ctx, a.accessKeyID)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return nil, Credentials{}, errUnrecognizedClient(fmt.Errorf("sigv4: verify: %w", err))
		}
		var ae *awserr.Error
		if errors.As(err, &ae) {
			return nil, Credentials{}, ae
		}
		return nil, Credentials{}, awserr.Internal(fmt.Errorf("sigv4: verify: lookup %s: %w", a.accessKeyID, err))
	}
	if err := checkToken(creds, a.token, now); err != nil {
		return nil, Credentials{}, err
	}
	return a, creds, nil
}

// DeclaredPayloadHash is the request's x-amz-content-sha256 when it is a SHA-256 in lowercase
// hex (the form a signature can cover), else "". With it a server can verify the signature
// before it reads the body, then check the body against it as it reads.
func DeclaredPayloadHash(r *http.Request) string {
	h := r.Header.Get("X-Amz-Content-Sha256")
	if len(h) != 2*sha256.Size {
		return ""
	}
	for i := 0; i < len(h); i++ {
		if _, ok := fromLowerHex(h[i]); !ok {
			return ""
		}
	}
	return h
}

// ErrPayloadHashMismatch is the error for a body that does not match the
// x-amz-content-sha256 the client signed.
func ErrPayloadHashMismatch() *awserr.Error {
	return awserr.New(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
}

// matches tries the canonical form AWS uses first, then the variants real clients produce:
// the un-normalised path (aws-sdk-go-v2 keeps "." and "//" segments), and the query sorted but
// not re-encoded (botocore's SigV4Auth over a hand-built URL keeps "+" and lowercase hex).
// The signature still covers exactly the bytes received, so the variants weaken nothing; an
// unsorted query (curl 7.88) never verifies.
func (a *auth) matches(r *http.Request, key *signingKey, payloadHash string) bool {
	if equalSig(a.compute(r, key, payloadHash, canonNormalise), a.signature) {
		return true
	}
	altPath := needsNormalising(a.path)
	altQuery := queryNeedsEncoding(a.query)
	if altPath && equalSig(a.compute(r, key, payloadHash, 0), a.signature) {
		return true
	}
	if altQuery {
		if equalSig(a.compute(r, key, payloadHash, canonNormalise|canonRawQuery), a.signature) {
			return true
		}
		if altPath && equalSig(a.compute(r, key, payloadHash, canonRawQuery), a.signature) {
			return true
		}
	}
	return false
}
