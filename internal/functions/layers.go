package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/store"
)

// Lambda layers: zips published as numbered, immutable layer versions that functions list in
// their Layers (at most five, extracted in order into /opt).

// AWS's layer limits.
const (
	MaxLayers = 5
	// MaxUnzippedWithLayers bounds a function's unzipped package plus all its layers.
	MaxUnzippedWithLayers = 250 << 20
)

const (
	layerNamePattern = `(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`
	layerARNPattern  = `arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+`
)

var (
	layerNameRE = regexp.MustCompile(`^(?:arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)|([a-zA-Z0-9-_]+))$`)
	layerARNRE  = regexp.MustCompile(`^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)$`)
)

// LayerVersion is a published layer version as the API reports it.
type LayerVersion = store.LayerVersionRecord

// LayerARN is the ARN of a layer (version 0) or of one of its versions.
func (s *Service) LayerARN(name string, version int64) string {
	a := "arn:aws:lambda:" + s.opt.Region + ":" + s.opt.AccountID + ":layer:" + name
	if version > 0 {
		a += ":" + strconv.FormatInt(version, 10)
	}
	return a
}

// ParseLayerName accepts a layer name or layer ARN of this region and account.
func (s *Service) ParseLayerName(raw string) (string, error) {
	m := layerNameRE.FindStringSubmatch(raw)
	if m == nil || len(raw) > 140 {
		return "", patternError(raw, "layerName", layerNamePattern)
	}
	if m[4] != "" {
		return m[4], nil
	}
	if m[1] != s.opt.Region || m[2] != s.opt.AccountID {
		return "", notFound("The resource you requested does not exist.")
	}
	return m[3], nil
}

// ParseLayerVersion parses a VersionNumber path parameter.
func ParseLayerVersion(raw string) (int64, error) {
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < 1 {
		return 0, notFound("The resource you requested does not exist.")
	}
	return v, nil
}

// parseLayerARN parses a layer version ARN of this region and account.
func (s *Service) parseLayerARN(arn, member string) (string, int64, error) {
	m := layerARNRE.FindStringSubmatch(arn)
	if m == nil || len(arn) > 140 {
		return "", 0, patternError(arn, member, layerARNPattern)
	}
	if m[1] != s.opt.Region {
		return "", 0, invalidParameter("Layers are not in the same region as the function. Layers are expected to be in region %s.", s.opt.Region)
	}
	v, err := strconv.ParseInt(m[4], 10, 64)
	if err != nil || m[2] != s.opt.AccountID {
		return "", 0, invalidParameter("Layer version %s does not exist.", arn)
	}
	return m[3], v, nil
}

func errLayerNotFound() error {
	return notFound("The resource you requested does not exist.")
}

// PublishLayerInput is PublishLayerVersion's request (AWS member names).
type PublishLayerInput struct {
	Description string
	Content     struct {
		ZipFile         []byte
		S3Bucket        string
		S3Key           string
		S3ObjectVersion string
	}
	CompatibleRuntimes      []string
	CompatibleArchitectures []string
	LicenseInfo             string
}

func validateCompat(runtimes, archs []string) error {
	if len(runtimes) > 15 {
		return validationError(fmt.Sprint(runtimes), "compatibleRuntimes", "Member must have length less than or equal to 15")
	}
	for _, rt := range runtimes {
		if !supportedRuntimes[rt] && !otherAWSRuntimes[rt] && !deprecatedRuntimes[rt] {
			return validationError(fmt.Sprint(runtimes), "compatibleRuntimes", "Member must satisfy constraint: [Member must satisfy enum value set: "+runtimeEnum+"]")
		}
	}
	if len(archs) > 2 {
		return validationError(fmt.Sprint(archs), "compatibleArchitectures", "Member must have length less than or equal to 2")
	}
	for _, a := range archs {
		if a != "x86_64" && a != "arm64" {
			return validationError(fmt.Sprint(archs), "compatibleArchitectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
		}
	}
	return nil
}

// PublishLayerVersion stores the zip and publishes it as the layer's next version.
func (s *Service) PublishLayerVersion(ctx context.Context, rawName string, in *PublishLayerInput) (*LayerVersion, error) {
	name, err := s.ParseLayerName(rawName)
	if err != nil {
		return nil, err
	}
	if len(in.Description) > 256 {
		return nil, validationError(in.Description, "description", "Member must have length less than or equal to 256")
	}
	if len(in.LicenseInfo) > 512 {
		return nil, validationError(in.LicenseInfo, "licenseInfo", "Member must have length less than or equal to 512")
	}
	if err := validateCompat(in.CompatibleRuntimes, in.CompatibleArchitectures); err != nil {
		return nil, err
	}
	c := in.Content
	if c.S3Bucket != "" || c.S3Key != "" || c.S3ObjectVersion != "" {
		return nil, errS3Code()
	}
	if len(c.ZipFile) == 0 {
		return nil, invalidParameter("Please provide a source for layer content.")
	}
	pkg, err := s.code.Put(ctx, c.ZipFile)
	if err != nil {
		return nil, packageError(err)
	}
	rec := &LayerVersion{Name: name, Description: in.Description, Created: s.now(), CompatibleRuntimes: in.CompatibleRuntimes,
		CompatibleArchitectures: in.CompatibleArchitectures, LicenseInfo: in.LicenseInfo, CodeSha256: pkg.Sha256, CodeSize: pkg.Size,
		Unzipped: pkg.Unzipped, CodeHex: pkg.Hex}
	err = s.tx(ctx, func(tx *store.FuncTx) error {
		v, err := tx.NextLayerVersion(name)
		if err != nil {
			return err
		}
		rec.Version = v
		return tx.PutLayerVersion(rec)
	})
	if err != nil {
		return nil, internal(err)
	}
	s.log.Info("layer version published", "layer", name, "version", rec.Version, "sha256", pkg.Sha256)
	return rec, nil
}

// GetLayerVersion reads one layer version.
func (s *Service) GetLayerVersion(ctx context.Context, rawName string, version int64) (*LayerVersion, error) {
	name, err := s.ParseLayerName(rawName)
	if err != nil {
		return nil, err
	}
	var out *LayerVersion
	err = s.read(ctx, func(tx *store.FuncTx) error {
		out, err = tx.LayerVersion(name, version)
		if errors.Is(err, store.ErrNotFound) {
			return errLayerNotFound()
		}
		return err
	})
	return out, internal(err)
}

// GetLayerVersionByArn reads the layer version an ARN names.
func (s *Service) GetLayerVersionByArn(ctx context.Context, arn string) (*LayerVersion, error) {
	m := layerARNRE.FindStringSubmatch(arn)
	if m == nil || len(arn) > 140 {
		return nil, patternError(arn, "arn", layerARNPattern)
	}
	if m[1] != s.opt.Region || m[2] != s.opt.AccountID {
		return nil, errLayerNotFound()
	}
	v, err := ParseLayerVersion(m[4])
	if err != nil {
		return nil, err
	}
	return s.GetLayerVersion(ctx, m[3], v)
}

// ListLayers lists each layer's newest version compatible with runtime and arch ("" for any),
// after the layer named marker.
func (s *Service) ListLayers(ctx context.Context, runtime, arch, marker string, max int) ([]*LayerVersion, string, error) {
	if err := validateListFilter(runtime, arch); err != nil {
		return nil, "", err
	}
	var list []*LayerVersion
	err := s.read(ctx, func(tx *store.FuncTx) error {
		var err error
		list, err = tx.LatestLayerVersions(marker, runtime, arch, max+1)
		return err
	})
	if err != nil {
		return nil, "", internal(err)
	}
	next := ""
	if len(list) > max {
		list = list[:max]
		next = list[max-1].Name
	}
	return list, next, nil
}

// ListLayerVersions lists a layer's versions, newest first, compatible with runtime and arch,
// after the version marker names. An unknown layer has none.
func (s *Service) ListLayerVersions(ctx context.Context, rawName, runtime, arch, marker string, max int) ([]*LayerVersion, string, error) {
	name, err := s.ParseLayerName(rawName)
	if err != nil {
		return nil, "", err
	}
	if err := validateListFilter(runtime, arch); err != nil {
		return nil, "", err
	}
	var before int64
	if marker != "" {
		if before, err = strconv.ParseInt(marker, 10, 64); err != nil {
			return nil, "", invalidParameter("Invalid marker: %s", marker)
		}
	}
	var list []*LayerVersion
	err = s.read(ctx, func(tx *store.FuncTx) error {
		var err error
		list, err = tx.LayerVersions(name, before, runtime, arch, max+1)
		return err
	})
	if err != nil {
		return nil, "", internal(err)
	}
	next := ""
	if len(list) > max {
		list = list[:max]
		next = strconv.FormatInt(list[max-1].Version, 10)
	}
	return list, next, nil
}

func validateListFilter(runtime, arch string) error {
	if runtime != "" && !supportedRuntimes[runtime] && !otherAWSRuntimes[runtime] && !deprecatedRuntimes[runtime] {
		return validationError(runtime, "compatibleRuntime", "Member must satisfy enum value set: "+runtimeEnum)
	}
	if arch != "" && arch != "x86_64" && arch != "arm64" {
		return validationError(arch, "compatibleArchitecture", "Member must satisfy enum value set: [x86_64, arm64]")
	}
	return nil
}

// DeleteLayerVersion deletes a layer version; deleting one that does not exist succeeds, as
// on AWS. Functions that use it keep its content.
func (s *Service) DeleteLayerVersion(ctx context.Context, rawName string, version int64) error {
	name, err := s.ParseLayerName(rawName)
	if err != nil {
		return err
	}
	return internal(s.tx(ctx, func(tx *store.FuncTx) error { return tx.DeleteLayerVersion(name, version) }))
}

// LayerPermissionInput is AddLayerVersionPermission's request.
type LayerPermissionInput struct {
	StatementId    string
	Action         string
	Principal      string
	OrganizationId string
}

var (
	layerPrincipalRE = regexp.MustCompile(`^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)$`)
	orgIDRE          = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
)

type layerPolicy struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id"`
	Statement []json.RawMessage `json:"Statement"`
}

// AddLayerVersionPermission adds a statement to a layer version's policy and returns it with
// the policy's new revision.
func (s *Service) AddLayerVersionPermission(ctx context.Context, rawName string, version int64, in *LayerPermissionInput, revision string) (string, string, error) {
	name, err := s.ParseLayerName(rawName)
	if err != nil {
		return "", "", err
	}
	if !sidRE.MatchString(in.StatementId) {
		return "", "", patternError(in.StatementId, "statementId", statementIDPattern)
	}
	if in.Action != "lambda:GetLayerVersion" {
		return "", "", patternError(in.Action, "action", "lambda:GetLayerVersion")
	}
	if !layerPrincipalRE.MatchString(in.Principal) {
		return "", "", patternError(in.Principal, "principal", `\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root`)
	}
	if in.OrganizationId != "" && !orgIDRE.MatchString(in.OrganizationId) {
		return "", "", patternError(in.OrganizationId, "organizationId", `o-[a-z0-9]{10,32}`)
	}
	if in.OrganizationId != "" && in.Principal != "*" {
		return "", "", invalidParameter("OrganizationId can only be specified when Principal is *.")
	}
	stmt := map[string]any{"Sid": in.StatementId, "Effect": "Allow", "Action": in.Action, "Resource": s.LayerARN(name, version)}
	if in.Principal == "*" {
		stmt["Principal"] = "*"
	} else {
		p := in.Principal
		if !strings.HasPrefix(p, "arn:") {
			p = "arn:aws:iam::" + p + ":root"
		}
		stmt["Principal"] = map[string]string{"AWS": p}
	}
	if in.OrganizationId != "" {
		stmt["Condition"] = map[string]any{"StringEquals": map[string]string{"aws:PrincipalOrgID": in.OrganizationId}}
	}
	stmtJSON, err := json.Marshal(stmt)
	if err != nil {
		return "", "", fmt.Errorf("functions: add layer permission: %w", err)
	}
	newRev := newRevision()
	err = s.tx(ctx, func(tx *store.FuncTx) error {
		doc, rev, err := tx.LayerPolicy(name, version)
		if errors.Is(err, store.ErrNotFound) {
			return errLayerNotFound()
		}
		if err != nil {
			return err
		}
		if err := checkLayerRevision(revision, rev); err != nil {
			return err
		}
		pol := layerPolicy{Version: "2012-10-17", ID: "default"}
		if doc != "" {
			if err := json.Unmarshal([]byte(doc), &pol); err != nil {
				return err
			}
		}
		for _, st := range pol.Statement {
			var head struct{ Sid string }
			if json.Unmarshal(st, &head) == nil && head.Sid == in.StatementId {
				return conflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementId)
			}
		}
		pol.Statement = append(pol.Statement, stmtJSON)
		b, err := json.Marshal(pol)
		if err != nil {
			return err
		}
		return tx.PutLayerPolicy(name, version, string(b), newRev)
	})
	if err != nil {
		return "", "", internal(err)
	}
	return string(stmtJSON), newRev, nil
}

func checkLayerRevision(want, have string) error {
	if want != "" && want != have {
		return &Error{Kind: KindPreconditionFailed, Message: "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id"}
	}
	return nil
}

// RemoveLayerVersionPermission removes a statement from a layer version's policy.
func (s *Service) RemoveLayerVersionPermission(ctx context.Context, rawName string, version int64, sid, revision string) error {
	name, err := s.ParseLayerName(rawName)
	if err != nil {
		return err
	}
	return internal(s.tx(ctx, func(tx *store.FuncTx) error {
		doc, rev, err := tx.LayerPolicy(name, version)
		if errors.Is(err, store.ErrNotFound) {
			return errLayerNotFound()
		}
		if err != nil {
			return err
		}
		if err := checkLayerRevision(revision, rev); err != nil {
			return err
		}
		var pol layerPolicy
		if doc != "" {
			if err := json.Unmarshal([]byte(doc), &pol); err != nil {
				return err
			}
		}
		kept := pol.Statement[:0]
		found := false
		for _, st := range pol.Statement {
			var head struct{ Sid string }
			if json.Unmarshal(st, &head) == nil && head.Sid == sid {
				found = true
				continue
			}
			kept = append(kept, st)
		}
		if !found {
			return notFound("Statement %s is not found in resource policy.", sid)
		}
		if len(kept) == 0 {
			return tx.PutLayerPolicy(name, version, "", "")
		}
		pol.Statement = kept
		b, err := json.Marshal(pol)
		if err != nil {
			return err
		}
		return tx.PutLayerPolicy(name, version, string(b), newRevision())
	}))
}

// GetLayerVersionPolicy returns a layer version's policy and its revision.
func (s *Service) GetLayerVersionPolicy(ctx context.Context, rawName string, version int64) (string, string, error) {
	name, err := s.ParseLayerName(rawName)
	if err != nil {
		return "", "", err
	}
	var doc, rev string
	err = s.read(ctx, func(tx *store.FuncTx) error {
		doc, rev, err = tx.LayerPolicy(name, version)
		if errors.Is(err, store.ErrNotFound) {
			return errLayerNotFound()
		}
		if err == nil && doc == "" {
			return notFound("No policy is associated with the given resource.")
		}
		return err
	})
	if err != nil {
		return "", "", internal(err)
	}
	return doc, rev, nil
}

// resolveLayers checks a function's Layers (at most five layer version ARNs of this region,
// each existing, no layer twice) and returns them in order. unzipped is the function's own
// unzipped size: with the layers it must stay within 250 MB.
func (s *Service) resolveLayers(tx *store.FuncTx, arns []string, unzipped int64) ([]lambda.LayerRef, error) {
	if len(arns) == 0 {
		return nil, nil
	}
	if len(arns) > MaxLayers {
		return nil, invalidParameter("Cannot reference more than %d layers.", MaxLayers)
	}
	seen := map[string]string{}
	out := make([]lambda.LayerRef, 0, len(arns))
	total := unzipped
	for _, arn := range arns {
		name, v, err := s.parseLayerARN(arn, "layers")
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[name]; ok {
			return nil, invalidParameter("Two different versions of the same layer are not allowed to be referenced in the same function. %s and %s reference the same layer.", prev, arn)
		}
		seen[name] = arn
		lv, err := tx.LayerVersion(name, v)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalidParameter("Layer version %s does not exist.", arn)
		}
		if err != nil {
			return nil, err
		}
		total += lv.Unzipped
		out = append(out, lambda.LayerRef{ARN: s.LayerARN(name, v), CodeSize: lv.CodeSize, CodeHex: lv.CodeHex, Unzipped: lv.Unzipped})
	}
	if total > MaxUnzippedWithLayers {
		return nil, errTooBigWithLayers(total)
	}
	return out, nil
}

func errTooBigWithLayers(total int64) error {
	return invalidParameter("Function code combined with layers exceeds the maximum allowed size of %d bytes. The actual size is %d bytes.", MaxUnzippedWithLayers, total)
}

// checkWithLayers checks that a new package of unzipped bytes still fits with layers.
func checkWithLayers(unzipped int64, layers []lambda.LayerRef) error {
	total := unzipped
	for _, l := range layers {
		total += l.Unzipped
	}
	if total > MaxUnzippedWithLayers {
		return errTooBigWithLayers(total)
	}
	return nil
}

// layerDirs unpacks (when missing) a version's layers and returns their trees in order.
func (s *Service) layerDirs(ctx context.Context, layers []lambda.LayerRef) ([]string, error) {
	if len(layers) == 0 {
		return nil, nil
	}
	dirs := make([]string, 0, len(layers))
	for _, l := range layers {
		d, err := s.code.Unpack(ctx, l.CodeHex)
		if err != nil {
			return nil, fmt.Errorf("functions: layer %s: %w", l.ARN, err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

func layersEqual(a, b []lambda.LayerRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ARN != b[i].ARN {
			return false
		}
	}
	return true
}
