package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/furl/furl/internal/lambda"
)

// Patterns from the Lambda service model, quoted in ValidationException messages.
const (
	functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	qualifierPattern    = `(|[a-zA-Z0-9$_-]+)`
	urlQualifierPattern = `((?!^\d+$)^[0-9a-zA-Z-_]+$)`
	aliasPattern        = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`
	rolePattern         = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
	statementIDPattern  = `([a-zA-Z0-9-_.]+)`
	versionPattern      = `(\$LATEST|[0-9]+)`
)

var (
	fnNameRE   = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	bareNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	qualRE     = regexp.MustCompile(`^[a-zA-Z0-9$_-]{1,128}$`)
	aliasRE    = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,128}$`)
	digitsRE   = regexp.MustCompile(`^[0-9]+$`)
	roleRE     = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	sidRE      = regexp.MustCompile(`^[a-zA-Z0-9-_.]{1,100}$`)
	envKeyRE   = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
)

// validationError renders the framework's "1 validation error detected" message.
func validationError(value, member, constraint string) *Error {
	return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func patternError(value, member, pattern string) *Error {
	return validationError(value, member, "Member must satisfy regular expression pattern: "+pattern)
}

// Ref is a parsed FunctionName path parameter plus the Qualifier query parameter.
type Ref struct {
	Name      string
	Qualifier string // "" when none
}

// ParseRef parses a FunctionName (name, name:qualifier, partial or full ARN) and merges it with
// the Qualifier parameter. region and account are furl's own: an ARN naming another region is
// refused as AWS does (ResourceNotFoundException: not reachable in this region), one naming
// another account refers to a function that does not exist here.
func (s *Service) ParseRef(raw, qualifier string) (Ref, error) {
	if len(raw) == 0 || len(raw) > 170 || !fnNameRE.MatchString(raw) {
		return Ref{}, patternError(raw, "functionName", functionNamePattern)
	}
	if qualifier != "" && !qualRE.MatchString(qualifier) {
		return Ref{}, patternError(qualifier, "qualifier", qualifierPattern)
	}
	m := fnNameRE.FindStringSubmatch(raw)
	name, derived := m[7], m[9]
	if !bareNameRE.MatchString(name) {
		return Ref{}, patternError(raw, "functionName", functionNamePattern)
	}
	if r := strings.TrimSuffix(m[3], ":"); r != "" && r != s.opt.Region {
		return Ref{}, notFound("Functions from '%s' are not reachable in this region ('%s')", r, s.opt.Region)
	}
	if a := strings.TrimSuffix(m[5], ":"); a != "" && a != s.opt.AccountID {
		return Ref{}, notFound("Function not found: %s", raw)
	}
	if derived != "" && qualifier != "" && derived != qualifier {
		return Ref{}, invalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
	}
	if derived != "" {
		qualifier = derived
	}
	return Ref{Name: name, Qualifier: qualifier}, nil
}

// ARN returns the function ARN, qualified when qualifier is non-empty.
func (s *Service) ARN(name, qualifier string) string {
	return lambda.FunctionARN(s.opt.Region, s.opt.AccountID, name, qualifier)
}

// RuntimeVersionARN names the runtime version a function of runtime rt runs, in AWS's form
// arn:aws:lambda:<region>::runtime:<64 hex digits>. furl has one version per runtime: the hex
// is the SHA-256 of the runtime's name, so the ARN is stable across restarts and machines.
func (s *Service) RuntimeVersionARN(rt string) string {
	sum := sha256.Sum256([]byte("furl runtime " + rt))
	return "arn:aws:lambda:" + s.opt.Region + "::runtime:" + hex.EncodeToString(sum[:])
}

// Runtimes furl runs, and runtimes AWS has deprecated for creates and updates.
var (
	supportedRuntimes = map[string]bool{
		"python3.8": true, "python3.9": true, "python3.10": true, "python3.11": true, "python3.12": true, "python3.13": true, "python3.14": true,
		"nodejs18.x": true, "nodejs20.x": true, "nodejs22.x": true, "nodejs24.x": true,
		"provided": true, "provided.al2": true, "provided.al2023": true, "go1.x": true,
	}
	deprecatedRuntimes = map[string]bool{
		"python2.7": true, "python3.6": true, "python3.7": true, "nodejs": true, "nodejs4.3": true, "nodejs4.3-edge": true,
		"nodejs6.10": true, "nodejs8.10": true, "nodejs10.x": true, "nodejs12.x": true, "nodejs14.x": true, "nodejs16.x": true,
		"dotnetcore1.0": true, "dotnetcore2.0": true, "dotnetcore2.1": true, "dotnetcore3.1": true, "dotnet6": true,
		"ruby2.5": true, "ruby2.7": true, "java8": true,
	}
	otherAWSRuntimes = map[string]bool{
		"java8.al2": true, "java11": true, "java17": true, "java21": true, "java25": true, "dotnet8": true, "dotnet10": true,
		"ruby3.2": true, "ruby3.3": true, "ruby3.4": true,
	}
)

const runtimeEnum = "[nodejs18.x, nodejs20.x, nodejs22.x, nodejs24.x, python3.8, python3.9, python3.10, python3.11, python3.12, python3.13, python3.14, java8.al2, java11, java17, java21, java25, dotnet8, dotnet10, ruby3.2, ruby3.3, ruby3.4, go1.x, provided, provided.al2, provided.al2023]"

// SupportedRuntimes lists the runtimes CreateFunction accepts (when the machine can run them),
// sorted.
func SupportedRuntimes() []string {
	return slices.Sorted(maps.Keys(supportedRuntimes))
}

// runtimeAvailable refuses a supported runtime that this machine cannot start (its interpreter
// is missing), with AWS's InvalidParameterValueException, so a function never goes Active only
// to fail every invoke with Runtime.InvalidEntrypoint.
func (s *Service) runtimeAvailable(ctx context.Context, rt string) error {
	if s.opt.RuntimeAvailable == nil {
		return nil
	}
	if err := s.opt.RuntimeAvailable(ctx, rt); err != nil {
		return invalidParameter("The runtime parameter of %s is not supported on this furl server: %v.", rt, err)
	}
	return nil
}

func validateRuntime(rt string) error {
	switch {
	case supportedRuntimes[rt]:
		return nil
	case deprecatedRuntimes[rt]:
		return invalidParameter("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or upgrading functions.", rt)
	case otherAWSRuntimes[rt]:
		return invalidParameter("The runtime parameter of %s is not supported by furl. Supported runtimes: python3.8-python3.14, nodejs18.x-nodejs24.x, provided, provided.al2, provided.al2023, go1.x.", rt)
	}
	return validationError(rt, "runtime", "Member must satisfy enum value set: "+runtimeEnum+" or be a valid ARN")
}

func validateEnv(env map[string]string) error {
	var reserved []string
	size := 0
	for k, v := range env {
		if !envKeyRE.MatchString(k) {
			return validationError(k, "environment.variables", "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+")
		}
		if lambda.ReservedEnv(k) {
			reserved = append(reserved, k)
		}
		size += len(k) + len(v)
	}
	if len(reserved) > 0 {
		return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	if size > 4096 {
		return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d", size)
	}
	return nil
}

func validateTimeout(t int) error {
	if t < 1 {
		return validationError(itoa(t), "timeout", "Member must have value greater than or equal to 1")
	}
	if t > 900 {
		return invalidParameter("Timeout value must be between 1 and 900 seconds. Value provided: %d", t)
	}
	return nil
}

func validateMemory(m int) error {
	if m < 128 {
		return validationError(itoa(m), "memorySize", "Member must have value greater than or equal to 128")
	}
	if m > 10240 {
		return invalidParameter("'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240")
	}
	return nil
}

// roleAssumable refuses an execution role Lambda cannot assume (missing, or not trusting
// lambda.amazonaws.com) with AWS's error.
func (s *Service) roleAssumable(ctx context.Context, role string) error {
	if s.opt.RoleAssumable == nil {
		return nil
	}
	ok, err := s.opt.RoleAssumable(ctx, role)
	if err != nil {
		return fmt.Errorf("functions: role %s: %w", role, err)
	}
	if !ok {
		return invalidParameter("The role defined for the function cannot be assumed by Lambda.")
	}
	return nil
}

func validateRole(r string) error {
	if !roleRE.MatchString(r) {
		return patternError(r, "role", rolePattern)
	}
	return nil
}
