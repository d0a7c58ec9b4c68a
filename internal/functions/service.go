package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/codestore"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/store"
)

// Options configure the service.
type Options struct {
	Region    string
	AccountID string
	// URLDomain, URLHost, URLPort and URLScheme build FunctionUrl (see FunctionURL): Host-style
	// <URLScheme>://<id>.lambda-url.<region>.<URLDomain>:<URLPort>/ when URLDomain is set, else
	// path-style <URLScheme>://<URLHost>:<URLPort>/lambda-url/<id>/. An empty port leaves it out;
	// the server may set the real port later (SetURLPort).
	URLDomain string
	URLHost   string // "127.0.0.1" unless set
	URLPort   string
	URLScheme string // "http" unless set
	// MaxConcurrency is the account's concurrent executions limit (reservations leave 100 of it,
	// or a tenth when smaller, unreserved, as AWS does).
	MaxConcurrency int
	// AsyncRetryDelay is the wait before the first retry of a failed Event invocation; the
	// second waits twice as long (AWS: 1 and 2 minutes).
	AsyncRetryDelay time.Duration
	// AsyncWorkers bounds concurrently running Event invocations.
	AsyncWorkers int
	Now          func() time.Time
	// Stage, when set, is told the unpacked directory of each package deployed, so the
	// execution engine can prepare a copy for the first environment ahead of its cold start.
	Stage func(codeDir string)
	// RuntimeAvailable, when set, says whether this machine can start a runtime (nil) or why
	// not; CreateFunction and UpdateFunctionConfiguration refuse the runtimes it rejects.
	RuntimeAvailable func(ctx context.Context, runtime string) error
	// RoleAssumable, when set, says whether Lambda can assume an execution role (it exists and
	// its trust policy allows lambda.amazonaws.com to call sts:AssumeRole); CreateFunction and
	// UpdateFunctionConfiguration refuse roles it rejects, as AWS does.
	RoleAssumable func(ctx context.Context, roleARN string) (bool, error)
}

// Service is the functions domain service.
type Service struct {
	db   *store.DB
	code *codestore.Store
	opt  Options
	log  *slog.Logger

	urlPort atomic.Value // string

	cacheMu sync.Mutex
	cache   map[string]*URLTarget // url id -> target; nil value = known absent
	gen     uint64                // bumped by every write

	asyncWake chan struct{}
}

// New builds the service over an open store and code store.
func New(db *store.DB, code *codestore.Store, opt Options, log *slog.Logger) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.URLScheme == "" {
		opt.URLScheme = "http"
	}
	if opt.URLHost == "" {
		opt.URLHost = "127.0.0.1"
	}
	if opt.MaxConcurrency == 0 {
		opt.MaxConcurrency = 1000
	}
	if opt.AsyncRetryDelay == 0 {
		opt.AsyncRetryDelay = time.Minute
	}
	if opt.AsyncWorkers == 0 {
		opt.AsyncWorkers = 8
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: db, code: code, opt: opt, log: log, cache: map[string]*URLTarget{}, asyncWake: make(chan struct{}, 1)}
	s.urlPort.Store(opt.URLPort)
	return s
}

// SetURLPort sets the port FunctionUrl values carry (known only once the listener is bound).
func (s *Service) SetURLPort(port string) {
	s.urlPort.Store(port)
	s.invalidate()
}

// Region and AccountID report the service's identity.
func (s *Service) Region() string    { return s.opt.Region }
func (s *Service) AccountID() string { return s.opt.AccountID }

// Recover makes the store and code store consistent after a restart or a crash: it removes
// packages no version references and leftovers of interrupted writes, and re-unpacks any
// referenced package whose tree is missing. Call it before serving.
func (s *Service) Recover(ctx context.Context) error {
	var refs map[string]bool
	var released int
	if err := s.db.FunctionsTx(ctx, func(tx *store.FuncTx) error {
		var err error
		refs, err = tx.CodeHashes()
		if err != nil {
			return err
		}
		// Nothing runs yet: any Event invocation due later than the longest retry wait is the
		// lease of a run that a crash interrupted. Run it again now.
		now := s.now()
		released, err = tx.ReleaseAsyncLeases(now.Add(2*s.opt.AsyncRetryDelay+time.Second), now)
		return err
	}); err != nil {
		return fmt.Errorf("functions: recover: %w", err)
	}
	if released > 0 {
		s.log.Info("functions: re-queued Event invocations interrupted by a crash", "count", released)
	}
	n, err := s.code.Sweep(func(h string) bool { return refs[h] })
	if err != nil {
		s.log.Warn("functions: sweeping code store", "err", err)
	}
	if n > 0 {
		s.log.Info("functions: removed unreferenced packages", "count", n)
	}
	for h := range refs {
		if _, err := s.code.Unpack(ctx, h); err != nil {
			s.log.Error("functions: package missing for a stored version", "sha256", h, "err", err)
		}
	}
	return nil
}

func (s *Service) now() time.Time { return s.opt.Now().UTC() }

func (s *Service) invalidate() {
	s.cacheMu.Lock()
	clear(s.cache)
	s.gen++
	s.cacheMu.Unlock()
}

// tx runs fn in a transaction and invalidates caches after a write.
func (s *Service) tx(ctx context.Context, fn func(*store.FuncTx) error) error {
	err := s.db.FunctionsTx(ctx, fn)
	s.invalidate()
	return err
}

// read runs fn in a read-only snapshot transaction.
func (s *Service) read(ctx context.Context, fn func(*store.FuncTx) error) error {
	return s.db.FunctionsReadTx(ctx, fn)
}

func newRevision() string { return uuid.NewString() }

func itoa(i int) string { return strconv.Itoa(i) }

func (s *Service) notFound(name string) error {
	return notFound("Function not found: %s", s.ARN(name, ""))
}

// internal turns a store error into a service error: refusals (*Error, and the *awserr.Error
// internal/iam's permission builder returns) pass through, anything else is a failure the
// boundary answers as an internal error; nil stays nil.
func internal(err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return fmt.Errorf("functions: %w", err)
}

func (s *Service) mustFunction(tx *store.FuncTx, name string) (*store.FunctionRecord, error) {
	f, err := tx.Function(name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.notFound(name)
	}
	return f, err
}

// mustVersion reads a version of a function, with AWS's not-found error.
func (s *Service) mustVersion(tx *store.FuncTx, name, version string) (*lambda.FunctionConfig, error) {
	c, err := tx.Version(name, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Function not found: %s", s.ARN(name, version))
	}
	return c, err
}

// CreateInput is CreateFunction's request (AWS member names).
type CreateInput struct {
	FunctionName  string
	Runtime       string
	Role          string
	Handler       string
	Description   string
	Timeout       *int
	MemorySize    *int
	Publish       bool
	Environment   *struct{ Variables map[string]string }
	Architectures []string
	PackageType   string
	Layers        []string
	Tags          map[string]string
	Code          CodeInput
	// EphemeralStorage sizes /tmp (default 512 MB).
	EphemeralStorage *EphemeralStorageInput
}

// EphemeralStorageInput is the EphemeralStorage member: Size in MB, 512 to 10240, required.
type EphemeralStorageInput struct {
	Size *int
}

// validateEphemeralStorage checks EphemeralStorage against the Lambda model's constraints
// (EphemeralStorageSize: min 512, max 10240; Size required), with the model-validation
// message AWS gives for a member out of range.
func validateEphemeralStorage(e *EphemeralStorageInput) error {
	if e == nil {
		return nil
	}
	switch {
	case e.Size == nil:
		return awserr.Validation("1 validation error detected: Value null at 'ephemeralStorage.size' failed to satisfy constraint: Member must not be null")
	case *e.Size < lambda.MinEphemeralStorageMB:
		return validationError(itoa(*e.Size), "ephemeralStorage.size", "Member must have value greater than or equal to "+itoa(lambda.MinEphemeralStorageMB))
	case *e.Size > lambda.MaxEphemeralStorageMB:
		return validationError(itoa(*e.Size), "ephemeralStorage.size", "Member must have value less than or equal to "+itoa(lambda.MaxEphemeralStorageMB))
	}
	return nil
}

// CodeInput is CreateFunction's Code member; furl accepts ZipFile only.
type CodeInput struct {
	ZipFile         []byte
	S3Bucket        string
	S3Key           string
	S3ObjectVersion string
	ImageUri        string
}

// errS3Code refuses an S3 code location: furl has no S3 code store (yet), so packages come
// inline as ZipFile.
func errS3Code() error {
	return invalidParameter("furl takes the deployment package as ZipFile: S3 code locations (S3Bucket, S3Key, S3ObjectVersion) are not supported until furl has an S3 code store. Upload the zip with ZipFile (AWS CLI: --zip-file fileb://package.zip).")
}

func validateArch(a []string) (string, error) {
	if len(a) == 0 {
		return "x86_64", nil
	}
	if len(a) > 1 {
		return "", validationError(fmt.Sprint(a), "architectures", "Member must have length less than or equal to 1")
	}
	if a[0] != "x86_64" && a[0] != "arm64" {
		return "", validationError(fmt.Sprintf("[%s]", a[0]), "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
	}
	return a[0], nil
}

// packageError maps a code store error: a refused package is the caller's, anything else ours.
func packageError(err error) error {
	var ip *codestore.InvalidPackageError
	if errors.As(err, &ip) {
		return invalidParameter("%s", ip.Msg)
	}
	return fmt.Errorf("functions: package: %w", err)
}

func (s *Service) putCode(ctx context.Context, zip []byte) (codestore.Package, error) {
	p, err := s.code.Put(ctx, zip)
	if err != nil {
		return p, packageError(err)
	}
	if s.opt.Stage != nil {
		s.opt.Stage(s.code.Dir(p.Hex))
	}
	return p, nil
}

// CreateFunction creates a function from a zip. The package is stored and unpacked before the
// row that points at it is written, so a crash leaves at worst an orphan package.
func (s *Service) CreateFunction(ctx context.Context, in *CreateInput) (*lambda.FunctionConfig, error) {
	if in.FunctionName == "" || len(in.FunctionName) > 140 || !fnNameRE.MatchString(in.FunctionName) {
		return nil, patternError(in.FunctionName, "functionName", functionNamePattern)
	}
	ref, err := s.ParseRef(in.FunctionName, "")
	if err != nil {
		return nil, err
	}
	if ref.Qualifier != "" {
		return nil, invalidParameter("Unsupported function name %s: a qualifier is not allowed here.", in.FunctionName)
	}
	if in.PackageType == "Image" || in.Code.ImageUri != "" {
		return nil, invalidParameter("furl supports only Zip packages; PackageType Image is not supported.")
	}
	if err := validateRole(in.Role); err != nil {
		return nil, err
	}
	if err := s.roleAssumable(ctx, in.Role); err != nil {
		return nil, err
	}
	if in.Runtime == "" {
		return nil, invalidParameter("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := validateRuntime(in.Runtime); err != nil {
		return nil, err
	}
	if err := s.runtimeAvailable(ctx, in.Runtime); err != nil {
		return nil, err
	}
	if in.Handler == "" && !isProvided(in.Runtime) {
		return nil, invalidParameter("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if len(in.Handler) > 128 {
		return nil, validationError(in.Handler, "handler", "Member must have length less than or equal to 128")
	}
	timeout, mem := 3, 128
	if in.Timeout != nil {
		timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		mem = *in.MemorySize
	}
	if err := validateTimeout(timeout); err != nil {
		return nil, err
	}
	if err := validateMemory(mem); err != nil {
		return nil, err
	}
	if err := validateEphemeralStorage(in.EphemeralStorage); err != nil {
		return nil, err
	}
	tmpMB := lambda.DefaultEphemeralStorageMB
	if in.EphemeralStorage != nil {
		tmpMB = *in.EphemeralStorage.Size
	}
	var env map[string]string
	if in.Environment != nil {
		env = in.Environment.Variables
	}
	if err := validateEnv(env); err != nil {
		return nil, err
	}
	arch, err := validateArch(in.Architectures)
	if err != nil {
		return nil, err
	}
	if len(in.Description) > 256 {
		return nil, validationError(in.Description, "description", "Member must have length less than or equal to 256")
	}
	if in.Code.S3Bucket != "" || in.Code.S3Key != "" || in.Code.S3ObjectVersion != "" {
		return nil, errS3Code()
	}
	if len(in.Code.ZipFile) == 0 {
		return nil, invalidParameter("Please provide a source for function code.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	pkg, err := s.putCode(ctx, in.Code.ZipFile)
	if err != nil {
		return nil, err
	}
	now := s.now()
	cfg := &lambda.FunctionConfig{
		Name: ref.Name, Version: lambda.LatestVersion, Runtime: in.Runtime, Handler: in.Handler, Role: in.Role,
		Description: in.Description, Timeout: time.Duration(timeout) * time.Second, MemoryMB: mem, Environment: env,
		Architecture: arch, CodeSha256: pkg.Sha256, CodeSize: pkg.Size, RevisionID: newRevision(), LastModified: now,
		State: lambda.StateActive, LastUpdate: lambda.UpdateSuccessful, EphemeralStorageMB: tmpMB,
	}
	var out *lambda.FunctionConfig
	err = s.tx(ctx, func(tx *store.FuncTx) error {
		if _, err := tx.Function(ref.Name); err == nil {
			return conflict("Function already exist: %s", ref.Name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		layers, err := s.resolveLayers(tx, in.Layers, pkg.Unzipped)
		if err != nil {
			return err
		}
		cfg.Layers = layers
		rec := &store.FunctionRecord{Name: ref.Name, Created: now, Tags: in.Tags}
		if err := tx.PutFunction(rec); err != nil {
			return err
		}
		out, err = s.putLatest(tx, rec, cfg, pkg.Hex, in.Publish)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	s.log.Info("function created", "function", ref.Name, "runtime", in.Runtime, "sha256", pkg.Sha256)
	r := *out
	// AWS answers a create while the function is still being set up; furl has already unpacked
	// it, so the stored state is Active and the next GetFunction reports it.
	r.State, r.LastUpdate = lambda.StatePending, lambda.UpdateInProgress
	return &r, nil
}

func isProvided(rt string) bool {
	return rt == "provided" || rt == "provided.al2" || rt == "provided.al2023" || rt == "go1.x"
}

// FunctionInfo is GetFunction's answer.
type FunctionInfo struct {
	Config              *lambda.FunctionConfig
	Tags                map[string]string
	ReservedConcurrency *int
	CodeHex             string
}

// resolveVersion maps a qualifier to a version: "" and $LATEST to $LATEST, digits to
// themselves, anything else through the alias.
func (s *Service) resolveVersion(tx *store.FuncTx, name, q string) (string, *lambda.Alias, error) {
	switch {
	case q == "" || q == lambda.LatestVersion:
		return lambda.LatestVersion, nil, nil
	case digitsRE.MatchString(q):
		return q, nil, nil
	}
	a, err := tx.Alias(name, q)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil, notFound("Function not found: %s", s.ARN(name, q))
	}
	if err != nil {
		return "", nil, err
	}
	return a.FunctionVersion, a, nil
}

// versionOf reads the function and the version ref names; with route, an alias's routing
// weights pick the version (as for an invocation) instead of its primary version.
func (s *Service) versionOf(tx *store.FuncTx, ref Ref, route bool) (*store.FunctionRecord, *lambda.FunctionConfig, error) {
	f, err := s.mustFunction(tx, ref.Name)
	if err != nil {
		return nil, nil, err
	}
	v, alias, err := s.resolveVersion(tx, ref.Name, ref.Qualifier)
	if err != nil {
		return nil, nil, err
	}
	if route && alias != nil {
		v = PickVersion(alias)
	}
	c, err := tx.Version(ref.Name, v)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound("Function not found: %s", s.ARN(ref.Name, ref.Qualifier))
	}
	if err != nil {
		return nil, nil, err
	}
	return f, c, nil
}

// GetFunction returns a version's configuration, the function's tags and concurrency.
func (s *Service) GetFunction(ctx context.Context, ref Ref) (*FunctionInfo, error) {
	var out FunctionInfo
	err := s.read(ctx, func(tx *store.FuncTx) error {
		f, c, err := s.versionOf(tx, ref, false)
		if err != nil {
			return err
		}
		out = FunctionInfo{Config: c, Tags: f.Tags, ReservedConcurrency: f.ReservedConcurrency}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	out.Config.ReservedConcurrency = out.ReservedConcurrency
	if h, err := codestore.HexFromBase64(out.Config.CodeSha256); err == nil {
		out.CodeHex = h
	}
	return &out, nil
}

// PackageZip returns the stored zip of a package (GetFunction's Code.Location download).
func (s *Service) PackageZip(codeHex string) ([]byte, error) { return s.code.Read(codeHex) }

// ListFunctions lists $LATEST (or every version with all) after marker, at most max.
func (s *Service) ListFunctions(ctx context.Context, marker string, max int, all bool) ([]*lambda.FunctionConfig, string, error) {
	if max <= 0 || max > 50 {
		max = 50
	}
	var list []*lambda.FunctionConfig
	err := s.read(ctx, func(tx *store.FuncTx) error {
		var err error
		if all {
			// The marker for ALL is "name:version" of the last item returned.
			name, version, _ := strings.Cut(marker, ":")
			list, err = tx.AllVersions(name, version, max+1)
		} else {
			list, err = tx.LatestVersions(marker, max+1)
		}
		return err
	})
	if err != nil {
		return nil, "", internal(err)
	}
	next := ""
	if len(list) > max {
		list = list[:max]
		last := list[max-1]
		next = last.Name
		if all {
			next = last.Name + ":" + last.Version
		}
	}
	return list, next, nil
}

// checkRevision compares a caller's RevisionId with the current one.
// latestForUpdate reads the function and its $LATEST configuration for an update, which
// must name the latest revision when it names one.
func (s *Service) latestForUpdate(tx *store.FuncTx, name, revisionID string) (*store.FunctionRecord, *lambda.FunctionConfig, error) {
	f, err := s.mustFunction(tx, name)
	if err != nil {
		return nil, nil, err
	}
	c, err := tx.Version(name, lambda.LatestVersion)
	if err != nil {
		return nil, nil, err
	}
	if err := checkRevision(revisionID, c.RevisionID); err != nil {
		return nil, nil, err
	}
	return f, c, nil
}

func checkRevision(want, have string) error {
	if want != "" && want != have {
		return &Error{Kind: KindPreconditionFailed, Message: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"}
	}
	return nil
}

// UpdateCodeInput is UpdateFunctionCode's request.
type UpdateCodeInput struct {
	ZipFile         []byte
	S3Bucket        string
	S3Key           string
	S3ObjectVersion string
	ImageUri        string
	Publish         bool
	DryRun          bool
	RevisionId      string
	Architectures   []string
}

// UpdateFunctionCode replaces $LATEST's package.
func (s *Service) UpdateFunctionCode(ctx context.Context, ref Ref, in *UpdateCodeInput) (*lambda.FunctionConfig, error) {
	if ref.Qualifier != "" && ref.Qualifier != lambda.LatestVersion {
		return nil, invalidParameter("Please do not provide a qualifier when updating function code.")
	}
	if in.S3Bucket != "" || in.S3Key != "" || in.S3ObjectVersion != "" {
		return nil, errS3Code()
	}
	if in.ImageUri != "" {
		return nil, invalidParameter("furl supports only Zip packages; ImageUri is not supported. Upload the package as ZipFile.")
	}
	if len(in.ZipFile) == 0 {
		return nil, invalidParameter("Please provide a source for function code.")
	}
	var arch string
	if len(in.Architectures) > 0 {
		a, err := validateArch(in.Architectures)
		if err != nil {
			return nil, err
		}
		arch = a
	}
	// Fail fast on a missing function before storing the package.
	if _, err := s.GetFunction(ctx, Ref{Name: ref.Name}); err != nil {
		return nil, err
	}
	var pkg codestore.Package
	if in.DryRun {
		if _, err := s.code.Check(in.ZipFile); err != nil {
			return nil, packageError(err)
		}
	} else {
		var err error
		if pkg, err = s.putCode(ctx, in.ZipFile); err != nil {
			return nil, err
		}
	}
	var out *lambda.FunctionConfig
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		f, c, err := s.latestForUpdate(tx, ref.Name, in.RevisionId)
		if err != nil {
			return err
		}
		if in.DryRun {
			out = c
			return nil
		}
		if err := checkWithLayers(pkg.Unzipped, c.Layers); err != nil {
			return err
		}
		c.CodeSha256, c.CodeSize = pkg.Sha256, pkg.Size
		if arch != "" {
			c.Architecture = arch
		}
		s.touch(c)
		out, err = s.putLatest(tx, f, c, pkg.Hex, in.Publish)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	r := *out
	if !in.DryRun && !in.Publish {
		r.LastUpdate = lambda.UpdateInProgress
	}
	return &r, nil
}

// UpdateConfigInput is UpdateFunctionConfiguration's request.
type UpdateConfigInput struct {
	Role        *string
	Handler     *string
	Description *string
	Timeout     *int
	MemorySize  *int
	Runtime     *string
	Environment *struct{ Variables map[string]string }
	// Layers replaces the function's layers when present ([] removes them all).
	Layers           *[]string
	EphemeralStorage *EphemeralStorageInput
	RevisionId       string
}

// UpdateFunctionConfiguration changes $LATEST's settings; only supplied fields change.
func (s *Service) UpdateFunctionConfiguration(ctx context.Context, ref Ref, in *UpdateConfigInput) (*lambda.FunctionConfig, error) {
	if ref.Qualifier != "" && ref.Qualifier != lambda.LatestVersion {
		return nil, invalidParameter("Please do not provide a qualifier when updating function configuration.")
	}
	if in.Role != nil {
		if err := validateRole(*in.Role); err != nil {
			return nil, err
		}
		if err := s.roleAssumable(ctx, *in.Role); err != nil {
			return nil, err
		}
	}
	if in.Runtime != nil {
		if err := validateRuntime(*in.Runtime); err != nil {
			return nil, err
		}
		if err := s.runtimeAvailable(ctx, *in.Runtime); err != nil {
			return nil, err
		}
	}
	if in.Timeout != nil {
		if err := validateTimeout(*in.Timeout); err != nil {
			return nil, err
		}
	}
	if in.MemorySize != nil {
		if err := validateMemory(*in.MemorySize); err != nil {
			return nil, err
		}
	}
	if err := validateEphemeralStorage(in.EphemeralStorage); err != nil {
		return nil, err
	}
	if in.Environment != nil {
		if err := validateEnv(in.Environment.Variables); err != nil {
			return nil, err
		}
	}
	if in.Description != nil && len(*in.Description) > 256 {
		return nil, validationError(*in.Description, "description", "Member must have length less than or equal to 256")
	}
	if in.Handler != nil && len(*in.Handler) > 128 {
		return nil, validationError(*in.Handler, "handler", "Member must have length less than or equal to 128")
	}
	var out *lambda.FunctionConfig
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		f, c, err := s.latestForUpdate(tx, ref.Name, in.RevisionId)
		if err != nil {
			return err
		}
		if in.Role != nil {
			c.Role = *in.Role
		}
		if in.Handler != nil {
			c.Handler = *in.Handler
		}
		if in.Description != nil {
			c.Description = *in.Description
		}
		if in.Timeout != nil {
			c.Timeout = time.Duration(*in.Timeout) * time.Second
		}
		if in.MemorySize != nil {
			c.MemoryMB = *in.MemorySize
		}
		if in.EphemeralStorage != nil {
			c.EphemeralStorageMB = *in.EphemeralStorage.Size
		}
		if in.Runtime != nil {
			c.Runtime = *in.Runtime
		}
		if in.Environment != nil {
			c.Environment = in.Environment.Variables
		}
		h, err := codestore.HexFromBase64(c.CodeSha256)
		if err != nil {
			return err
		}
		if in.Layers != nil {
			unzipped, err := s.code.UnzippedSize(h)
			if err != nil {
				return err
			}
			if c.Layers, err = s.resolveLayers(tx, *in.Layers, unzipped); err != nil {
				return err
			}
		}
		s.touch(c)
		out, err = s.putLatest(tx, f, c, h, false)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	r := *out
	r.LastUpdate = lambda.UpdateInProgress
	return &r, nil
}

// DeleteFunction deletes a whole function (no qualifier) or one published version, and
// returns the versions it deleted ($LATEST among them for a whole function).
func (s *Service) DeleteFunction(ctx context.Context, ref Ref) ([]string, error) {
	deleted := []string{ref.Qualifier}
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		if _, err := s.mustFunction(tx, ref.Name); err != nil {
			return err
		}
		switch {
		case ref.Qualifier == "":
			list, err := tx.Versions(ref.Name)
			if err != nil {
				return err
			}
			deleted = deleted[:0]
			for _, c := range list {
				deleted = append(deleted, c.Version)
			}
			return tx.DeleteFunction(ref.Name)
		case ref.Qualifier == lambda.LatestVersion:
			return invalidParameter("$LATEST version cannot be deleted without deleting the function.")
		case !digitsRE.MatchString(ref.Qualifier):
			return invalidParameter("Deletion of aliases is not currently supported.")
		}
		if _, err := s.mustVersion(tx, ref.Name, ref.Qualifier); err != nil {
			return err
		}
		aliases, err := tx.Aliases(ref.Name)
		if err != nil {
			return err
		}
		for _, a := range aliases {
			if a.FunctionVersion == ref.Qualifier || a.AdditionalVersionWeights[ref.Qualifier] > 0 {
				return conflict("Unable to delete version because the following aliases reference it: [%s]", a.Name)
			}
		}
		return tx.DeleteVersion(ref.Name, ref.Qualifier)
	})
	if err != nil {
		return nil, internal(err)
	}
	s.log.Info("function deleted", "function", ref.Name, "qualifier", ref.Qualifier)
	return deleted, nil
}

func sameVersionContent(a, b *lambda.FunctionConfig) bool {
	return a.CodeSha256 == b.CodeSha256 && a.Runtime == b.Runtime && a.Handler == b.Handler && a.Role == b.Role &&
		a.Timeout == b.Timeout && a.MemoryMB == b.MemoryMB && a.TmpMB() == b.TmpMB() && a.Architecture == b.Architecture && mapsEqual(a.Environment, b.Environment) &&
		layersEqual(a.Layers, b.Layers)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// touch gives c a new revision, modified now, settled (Active, update Successful).
func (s *Service) touch(c *lambda.FunctionConfig) {
	c.RevisionID, c.LastModified = newRevision(), s.now()
	c.State, c.LastUpdate = lambda.StateActive, lambda.UpdateSuccessful
}

// putLatest stores c as $LATEST of f with the package codeHex and, when publish is set,
// publishes it; it returns the version written last.
func (s *Service) putLatest(tx *store.FuncTx, f *store.FunctionRecord, c *lambda.FunctionConfig, codeHex string, publish bool) (*lambda.FunctionConfig, error) {
	if err := tx.PutVersion(c, codeHex); err != nil {
		return nil, err
	}
	if !publish {
		return c, nil
	}
	return s.publishTx(tx, f, c, "")
}

// publishTx snapshots latest as a new immutable version, or returns the newest version when
// nothing changed since it was published (as AWS does).
func (s *Service) publishTx(tx *store.FuncTx, f *store.FunctionRecord, latest *lambda.FunctionConfig, desc string) (*lambda.FunctionConfig, error) {
	if f.LastVersion > 0 {
		prev, err := tx.Version(f.Name, strconv.Itoa(f.LastVersion))
		if err == nil && sameVersionContent(prev, latest) {
			return prev, nil
		}
	}
	h, err := codestore.HexFromBase64(latest.CodeSha256)
	if err != nil {
		return nil, err
	}
	f.LastVersion++
	v := *latest
	v.Version = strconv.Itoa(f.LastVersion)
	if desc != "" {
		v.Description = desc
	}
	s.touch(&v)
	if err := tx.PutVersion(&v, h); err != nil {
		return nil, err
	}
	if err := tx.PutFunction(f); err != nil {
		return nil, err
	}
	return &v, nil
}

// PublishVersion publishes $LATEST.
func (s *Service) PublishVersion(ctx context.Context, ref Ref, codeSha, desc, revision string) (*lambda.FunctionConfig, error) {
	if ref.Qualifier != "" {
		return nil, invalidParameter("Please do not provide a qualifier when publishing a version.")
	}
	var out *lambda.FunctionConfig
	err := s.tx(ctx, func(tx *store.FuncTx) error {
		f, err := s.mustFunction(tx, ref.Name)
		if err != nil {
			return err
		}
		c, err := tx.Version(ref.Name, lambda.LatestVersion)
		if err != nil {
			return err
		}
		if err := checkRevision(revision, c.RevisionID); err != nil {
			return err
		}
		if codeSha != "" && codeSha != c.CodeSha256 {
			return invalidParameter("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", codeSha, c.CodeSha256)
		}
		out, err = s.publishTx(tx, f, c, desc)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return out, nil
}

// ListVersions lists $LATEST and the published versions.
func (s *Service) ListVersions(ctx context.Context, ref Ref, marker string, max int) ([]*lambda.FunctionConfig, string, error) {
	if max <= 0 || max > 50 {
		max = 50
	}
	var list []*lambda.FunctionConfig
	err := s.read(ctx, func(tx *store.FuncTx) error {
		if _, err := s.mustFunction(tx, ref.Name); err != nil {
			return err
		}
		var err error
		list, err = tx.Versions(ref.Name)
		return err
	})
	if err != nil {
		return nil, "", internal(err)
	}
	return page(list, marker, max, func(c *lambda.FunctionConfig) string { return c.Version })
}

// page cuts a sorted list after the item whose key is marker.
func page[T any](list []T, marker string, max int, key func(T) string) ([]T, string, error) {
	if marker != "" {
		i := len(list)
		for j, it := range list {
			if key(it) == marker {
				i = j + 1
				break
			}
		}
		list = list[i:]
	}
	next := ""
	if len(list) > max {
		list = list[:max]
		next = key(list[max-1])
	}
	return list, next, nil
}

// PickVersion chooses the version an alias invocation runs, honouring routing weights.
func PickVersion(a *lambda.Alias) string {
	r := rand.Float64()
	acc := 0.0
	for _, v := range sortedKeys(a.AdditionalVersionWeights) {
		acc += a.AdditionalVersionWeights[v]
		if r < acc {
			return v
		}
	}
	return a.FunctionVersion
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Invocation is a resolved invoke: what to run and how to label it.
type Invocation struct {
	Target          *pool.Target
	ExecutedVersion string
	InvokedARN      string
}

// Resolve maps (name, qualifier) to the version to run.
func (s *Service) Resolve(ctx context.Context, ref Ref) (*Invocation, error) {
	var inv *Invocation
	err := s.read(ctx, func(tx *store.FuncTx) error {
		f, c, err := s.versionOf(tx, ref, true)
		if err != nil {
			return err
		}
		c.ReservedConcurrency = f.ReservedConcurrency
		inv = &Invocation{ExecutedVersion: c.Version, InvokedARN: s.ARN(ref.Name, ref.Qualifier)}
		inv.Target, err = s.target(ctx, c)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return inv, nil
}

func (s *Service) target(ctx context.Context, c *lambda.FunctionConfig) (*pool.Target, error) {
	h, err := codestore.HexFromBase64(c.CodeSha256)
	if err != nil {
		return nil, err
	}
	dir, err := s.code.Unpack(ctx, h)
	if err != nil {
		return nil, err
	}
	layers, err := s.layerDirs(ctx, c.Layers)
	if err != nil {
		return nil, err
	}
	env := make(map[string]string, len(c.Environment))
	for k, v := range c.Environment {
		env[k] = v
	}
	return &pool.Target{
		FunctionName: c.Name, FunctionARN: s.ARN(c.Name, ""), Version: c.Version, Runtime: c.Runtime, Handler: c.Handler,
		Role: c.Role, CodeDir: dir, Layers: layers, MemoryMB: c.MemoryMB, Timeout: c.Timeout, Environment: env, EphemeralStorageMB: c.TmpMB(),
		ReservedConcurrency: c.ReservedConcurrency, ConfigKey: c.CodeSha256 + "/" + c.RevisionID, Region: s.opt.Region,
	}, nil
}
