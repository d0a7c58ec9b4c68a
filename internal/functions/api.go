// Package functions is the Lambda domain service over the store and the code store: creating,
// updating, publishing and resolving functions, aliases, URL configs and policies. Both planes
// use it: the control plane to manage, the gateway to resolve a URL to what it invokes.
//
// This file is the contract the gateway codes against.
package functions

import (
	"errors"

	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/pool"
)

// ErrURLTargetGone is returned (wrapped) by ResolveURL for the URL of an alias that was
// deleted: the service answers it with its Forbidden body, not as an unknown URL.
var ErrURLTargetGone = errors.New("functions: the URL's alias was deleted")

// URLTarget is what a function URL id resolves to.
type URLTarget struct {
	Config lambda.URLConfig
	// Target is the function version to run ($LATEST, or the version the alias points to).
	Target *pool.Target
	// ResourceARN is the ARN authorization is evaluated against: the unqualified function ARN
	// for a URL without qualifier, the alias-qualified ARN otherwise.
	ResourceARN string
	// InvokedARN is passed to the runtime as the invoked function ARN.
	InvokedARN string
	// Policy is the resource-based policy document for that qualifier (nil when none).
	Policy []byte
	// AccountID owns the function.
	AccountID string
}
