// Package lambda holds furl's function domain: functions, versions, aliases, function URL
// configurations, CORS, ARNs, URL hosts and the environment variables Lambda reserves. It owns
// the domain (docs/ARCHITECTURE.md); the rules that validate API input (names, runtimes,
// limits, with AWS's messages) are the functions service's, in functions/names.go. It does no
// I/O.
package lambda

import (
	"fmt"
	"time"
)

// LatestVersion is the qualifier of a function's unpublished, mutable version.
const LatestVersion = "$LATEST"

// Function states and last-update statuses as the Lambda API reports them.
const (
	StatePending  = "Pending"
	StateActive   = "Active"
	StateInactive = "Inactive"
	StateFailed   = "Failed"

	UpdateInProgress = "InProgress"
	UpdateSuccessful = "Successful"
	UpdateFailed     = "Failed"
)

// Function URL auth types and invoke modes.
const (
	AuthNone = "NONE"
	AuthIAM  = "AWS_IAM"

	InvokeBuffered = "BUFFERED"
	InvokeStream   = "RESPONSE_STREAM"
)

// FunctionConfig is one version of a function ($LATEST or a published number): everything the
// FunctionConfiguration API shape reports and everything needed to run it.
type FunctionConfig struct {
	Name         string
	Version      string // LatestVersion or "1", "2", ...
	Runtime      string
	Handler      string
	Role         string
	Description  string
	Timeout      time.Duration
	MemoryMB     int
	Environment  map[string]string
	Architecture string // x86_64 | arm64
	CodeSha256   string // base64 of the SHA-256 of the zip, as AWS reports it
	CodeSize     int64
	RevisionID   string
	LastModified time.Time
	State        string
	StateReason  string
	LastUpdate   string
	// Reserved concurrency is per function, not per version: nil means unreserved.
	ReservedConcurrency *int
	// Layers are the layer versions the function uses, in order (later ones over earlier).
	Layers []LayerRef `json:",omitempty"`
	// EphemeralStorageMB is the size of the function's /tmp (EphemeralStorage.Size); 0, in a
	// configuration stored before the field existed, means DefaultEphemeralStorageMB.
	EphemeralStorageMB int `json:",omitempty"`
}

// Ephemeral storage (/tmp) sizes in MB, as the Lambda API bounds EphemeralStorage.Size.
const (
	DefaultEphemeralStorageMB = 512
	MinEphemeralStorageMB     = 512
	MaxEphemeralStorageMB     = 10240
)

// TmpMB is the function's /tmp size in MB (EphemeralStorage.Size), the default when unset.
func (c *FunctionConfig) TmpMB() int {
	if c.EphemeralStorageMB <= 0 {
		return DefaultEphemeralStorageMB
	}
	return c.EphemeralStorageMB
}

// LayerRef is one layer version a function uses. CodeHex names its package in the code
// store, so the function keeps its layer after the layer version is deleted (as on AWS).
type LayerRef struct {
	ARN      string
	CodeSize int64
	CodeHex  string
	// Unzipped is the size of the layer's unpacked files (for the 250 MB limit).
	Unzipped int64 `json:",omitempty"`
}

// ARN identifies a Lambda resource in an account and region.
type ARN struct {
	Partition string // "aws"
	Region    string
	AccountID string
	Function  string
	Qualifier string // "" for the unqualified ARN
}

// String renders arn:aws:lambda:region:account:function:name[:qualifier].
func (a ARN) String() string {
	p := a.Partition
	if p == "" {
		p = "aws"
	}
	s := fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", p, a.Region, a.AccountID, a.Function)
	if a.Qualifier != "" {
		s += ":" + a.Qualifier
	}
	return s
}

// FunctionARN returns the ARN of a function, qualified when qualifier is non-empty.
func FunctionARN(region, account, name, qualifier string) string {
	return ARN{Region: region, AccountID: account, Function: name, Qualifier: qualifier}.String()
}

// Alias points a name at a published version (or $LATEST).
type Alias struct {
	FunctionName    string
	Name            string
	FunctionVersion string
	Description     string
	// AdditionalVersionWeights is RoutingConfig: version -> weight in [0,1].
	AdditionalVersionWeights map[string]float64
	RevisionID               string
}

// CORS is a function URL's Cors configuration, with AWS's field names.
type CORS struct {
	AllowCredentials bool     `json:"AllowCredentials,omitempty"`
	AllowHeaders     []string `json:"AllowHeaders,omitempty"`
	AllowMethods     []string `json:"AllowMethods,omitempty"`
	AllowOrigins     []string `json:"AllowOrigins,omitempty"`
	ExposeHeaders    []string `json:"ExposeHeaders,omitempty"`
	MaxAge           int      `json:"MaxAge,omitempty"`
}

// URLConfig is a function URL configuration: one per (function, qualifier).
type URLConfig struct {
	URLID        string // 32 chars, lowercase base32 + digits
	FunctionName string
	Qualifier    string // "" ($LATEST) or an alias name
	AuthType     string // AuthNone | AuthIAM
	Cors         *CORS  // nil when not configured
	InvokeMode   string // InvokeBuffered | InvokeStream
	Created      time.Time
	LastModified time.Time
	// RateLimit and Burst are furl's per-URL limits (requests/s and bucket size); 0 = off.
	RateLimit float64
	Burst     int
}

// URLHost returns the Host-style hostname of a URL id: <id>.lambda-url.<region>.<domain>.
func URLHost(id, region, domain string) string {
	return id + ".lambda-url." + region + "." + domain
}
