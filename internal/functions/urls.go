package functions

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/store"
)

// URLInput is Create/UpdateFunctionUrlConfig's request body.
type URLInput struct {
	AuthType   *string
	Cors       *lambda.CORS
	InvokeMode *string
}

const base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// NewURLID returns a fresh id shaped like AWS's: 26 base32 characters, "0", 5 base32.
func NewURLID() string {
	var b [31]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, 32)
	for i, c := range b {
		if i == 26 {
			out = append(out, '0')
		}
		out = append(out, base32Alphabet[c&31])
	}
	return string(out)
}

// FunctionURL renders the public URL of an id, the FunctionUrl of every API answer. It is the
// one place that decides its shape:
//
//   - with a URL domain (a deployment whose DNS resolves *.lambda-url.<region>.<domain> to
//     furl): Host-style, <scheme>://<id>.lambda-url.<region>.<domain>[:port]/, as AWS's;
//   - without one: path-style, <scheme>://<host>[:port]/lambda-url/<id>/, which every client
//     resolves on a fresh machine (Python requests, Node fetch, Go, boto3 cannot resolve
//     *.localhost names without help).
//
// Both end with "/", as AWS's FunctionUrl does.
func (s *Service) FunctionURL(id string) string {
	port, _ := s.urlPort.Load().(string)
	if s.opt.URLDomain != "" {
		return s.opt.URLScheme + "://" + withPort(lambda.URLHost(id, s.opt.Region, s.opt.URLDomain), port) + "/"
	}
	return s.opt.URLScheme + "://" + withPort(s.opt.URLHost, port) + "/lambda-url/" + id + "/"
}

// withPort appends :port to host unless port is empty.
func withPort(host, port string) string {
	if port == "" {
		return host
	}
	return host + ":" + port
}

var urlQualRE = regexp.MustCompile(`^[0-9a-zA-Z_-]+$`)

func validateURLQualifier(q string) error {
	if q == "" {
		return nil
	}
	if q == lambda.LatestVersion || digitsRE.MatchString(q) || !urlQualRE.MatchString(q) || len(q) > 128 {
		return patternError(q, "qualifier", urlQualifierPattern)
	}
	return nil
}

var corsMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "DELETE": true, "HEAD": true, "PATCH": true, "*": true}

func validateURLInput(in *URLInput, create bool) error {
	if create && in.AuthType == nil {
		return validationError("null", "authType", "Member must not be null")
	}
	if in.AuthType != nil && *in.AuthType != lambda.AuthNone && *in.AuthType != lambda.AuthIAM {
		return validationError(*in.AuthType, "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]")
	}
	if in.InvokeMode != nil && *in.InvokeMode != lambda.InvokeBuffered && *in.InvokeMode != lambda.InvokeStream {
		return validationError(*in.InvokeMode, "invokeMode", "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]")
	}
	if c := in.Cors; c != nil {
		if len(c.AllowMethods) > 6 {
			return validationError(fmt.Sprint(c.AllowMethods), "cors.allowMethods", "Member must have length less than or equal to 6")
		}
		for _, m := range c.AllowMethods {
			if len(m) > 6 {
				return validationError(fmt.Sprint(c.AllowMethods), "cors.allowMethods", "Member must satisfy constraint: [Member must have length less than or equal to 6]")
			}
			if !corsMethods[strings.ToUpper(m)] {
				return invalidParameter("Invalid CORS method: %s. You can use GET, PUT, POST, DELETE, HEAD, PATCH, and the wildcard character (*).", m)
			}
		}
		for _, l := range [][]string{c.AllowOrigins, c.AllowHeaders, c.ExposeHeaders} {
			if len(l) > 100 {
				return validationError(fmt.Sprint(l), "cors", "Member must have length less than or equal to 100")
			}
		}
		for _, o := range c.AllowOrigins {
			if len(o) < 1 || len(o) > 253 {
				return validationError(o, "cors.allowOrigins", "Member must have length less than or equal to 253")
			}
		}
		if c.MaxAge < 0 || c.MaxAge > 86400 {
			return validationError(fmt.Sprint(c.MaxAge), "cors.maxAge", "Member must have value less than or equal to 86400")
		}
	}
	return nil
}

var (
	errFunctionDoesNotExist = func() error { return notFound("Function does not exist") }
	errResourceNotExist     = func() error { return notFound("The resource you requested does not exist.") }
)

// urlFunction checks the function (and the alias when qualified) exists.
func (s *Service) urlFunction(tx *store.FuncTx, ref Ref, missing func() error) error {
	if _, err := tx.Function(ref.Name); errors.Is(err, store.ErrNotFound) {
		return missing()
	} else if err != nil {
		return err
	}
	if ref.Qualifier != "" {
		if _, err := tx.Alias(ref.Name, ref.Qualifier); errors.Is(err, store.ErrNotFound) {
			return missing()
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateURL creates the URL config of (function, alias).
func (s *Service) CreateURL(ctx context.Context, ref Ref, in *URLInput) (*store.URLRecord, error) {
	if err := validateURLQualifier(ref.Qualifier); err != nil {
		return nil, err
	}
	if err := validateURLInput(in, true); err != nil {
		return nil, err
	}
	var rec *store.URLRecord
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		if err := s.urlFunction(tx, ref, errFunctionDoesNotExist); err != nil {
			return err
		}
		if _, err := tx.URL(ref.Name, ref.Qualifier); err == nil {
			return conflict("Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", s.ARN(ref.Name, ref.Qualifier))
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := s.now()
		rec = &store.URLRecord{URLConfig: lambda.URLConfig{
			URLID: NewURLID(), FunctionName: ref.Name, Qualifier: ref.Qualifier, AuthType: *in.AuthType,
			Cors: in.Cors, InvokeMode: lambda.InvokeBuffered, Created: now, LastModified: now,
		}}
		if in.InvokeMode != nil {
			rec.InvokeMode, rec.InvokeModeExplicit = *in.InvokeMode, true
		}
		return tx.PutURL(rec)
	})
	if err != nil {
		return nil, internal(err)
	}
	s.log.Info("function url created", "function", ref.Name, "qualifier", ref.Qualifier, "url", s.FunctionURL(rec.URLID))
	return rec, nil
}

// GetURL reads the URL config of (function, alias).
func (s *Service) GetURL(ctx context.Context, ref Ref) (*store.URLRecord, error) {
	if err := validateURLQualifier(ref.Qualifier); err != nil {
		return nil, err
	}
	var rec *store.URLRecord
	err := s.read(ctx, func(tx *store.FuncTx) error {
		if err := s.urlFunction(tx, ref, errResourceNotExist); err != nil {
			return err
		}
		var err error
		rec, err = tx.URL(ref.Name, ref.Qualifier)
		if errors.Is(err, store.ErrNotFound) {
			return errResourceNotExist()
		}
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return rec, nil
}

// UpdateURL changes the supplied fields of a URL config.
func (s *Service) UpdateURL(ctx context.Context, ref Ref, in *URLInput) (*store.URLRecord, error) {
	if err := validateURLQualifier(ref.Qualifier); err != nil {
		return nil, err
	}
	if err := validateURLInput(in, false); err != nil {
		return nil, err
	}
	var rec *store.URLRecord
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		if err := s.urlFunction(tx, ref, errFunctionDoesNotExist); err != nil {
			return err
		}
		var err error
		rec, err = tx.URL(ref.Name, ref.Qualifier)
		if errors.Is(err, store.ErrNotFound) {
			return errResourceNotExist()
		}
		if err != nil {
			return err
		}
		if in.AuthType != nil {
			rec.AuthType = *in.AuthType
		}
		if in.Cors != nil {
			rec.Cors = in.Cors
		}
		if in.InvokeMode != nil {
			rec.InvokeMode, rec.InvokeModeExplicit = *in.InvokeMode, true
		}
		rec.LastModified = s.now()
		return tx.PutURL(rec)
	})
	if err != nil {
		return nil, internal(err)
	}
	return rec, nil
}

// DeleteURL removes the URL config of (function, alias); its policy statements stay.
func (s *Service) DeleteURL(ctx context.Context, ref Ref) error {
	if err := validateURLQualifier(ref.Qualifier); err != nil {
		return err
	}
	return internal(s.tx(ctx, func(tx *store.FuncTx) error {
		if err := s.urlFunction(tx, ref, errResourceNotExist); err != nil {
			return err
		}
		if _, err := tx.URL(ref.Name, ref.Qualifier); errors.Is(err, store.ErrNotFound) {
			return errResourceNotExist()
		} else if err != nil {
			return err
		}
		return tx.DeleteURL(ref.Name, ref.Qualifier)
	}))
}

// ListURLs lists a function's URL configs.
func (s *Service) ListURLs(ctx context.Context, name, marker string, max int) ([]*store.URLRecord, string, error) {
	if max <= 0 || max > 50 {
		max = 50
	}
	var list []*store.URLRecord
	err := s.read(ctx, func(tx *store.FuncTx) error {
		if err := s.urlFunction(tx, Ref{Name: name}, errFunctionDoesNotExist); err != nil {
			return err
		}
		var err error
		list, err = tx.URLs(name)
		return err
	})
	if err != nil {
		return nil, "", internal(err)
	}
	return page(list, marker, max, func(u *store.URLRecord) string { return u.URLID })
}

// ResolveURL returns what a URL id invokes, or (nil, nil) when no URL has that id. Answers
// are cached until the next write through this service.
func (s *Service) ResolveURL(ctx context.Context, urlID string) (*URLTarget, error) {
	urlID = strings.ToLower(urlID)
	s.cacheMu.Lock()
	t, ok := s.cache[urlID]
	gen := s.gen
	s.cacheMu.Unlock()
	if ok {
		return t, nil
	}
	err := s.read(ctx, func(tx *store.FuncTx) error {
		u, err := tx.URLByID(urlID)
		if errors.Is(err, store.ErrNotFound) {
			t = nil
			gone, err := tx.URLGone(urlID)
			if err == nil && gone {
				return ErrURLTargetGone
			}
			return err
		}
		if err != nil {
			return err
		}
		f, err := tx.Function(u.FunctionName)
		if err != nil {
			return err
		}
		version := lambda.LatestVersion
		if u.Qualifier != "" {
			a, err := tx.Alias(u.FunctionName, u.Qualifier)
			if err != nil {
				return err
			}
			version = a.FunctionVersion
		}
		c, err := tx.Version(u.FunctionName, version)
		if err != nil {
			return err
		}
		c.ReservedConcurrency = f.ReservedConcurrency
		applyLimitTags(&u.URLConfig, f.Tags)
		t = &URLTarget{
			Config: u.URLConfig, ResourceARN: s.ARN(u.FunctionName, u.Qualifier), InvokedARN: s.ARN(u.FunctionName, u.Qualifier),
			AccountID: s.opt.AccountID,
		}
		if p, err := tx.Policy(u.FunctionName, u.Qualifier); err == nil {
			t.Policy = p.Doc
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		t.Target, err = s.target(ctx, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("functions: resolve url %s: %w", urlID, err)
	}
	s.cacheMu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	if s.gen == gen { // no write since the read began: safe to cache
		s.cache[urlID] = t
	}
	s.cacheMu.Unlock()
	return t, nil
}
