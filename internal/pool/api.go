// Package pool schedules invocations onto execution environments: warm environments per
// function version, cold starts, reserved and global concurrency, timeouts and reaping.
//
// This file is the contract the gateway and the control plane code against.
package pool

import (
	"io"
	"time"
)

// Target is everything needed to run one function version. Callers resolve it from the store
// (name, qualifier -> config + unpacked code dir) and pass it on every Invoke; the pool keys
// environments by (FunctionName, Version) and treats a different ConfigKey as new code or
// configuration: old environments drain and are never mixed with new ones.
type Target struct {
	FunctionName string
	FunctionARN  string // unqualified ARN
	Version      string // "$LATEST" or "1", "2", ...
	Runtime      string // python3.12, nodejs20.x, provided.al2023, go1.x, ...
	Handler      string
	// Role is the function's execution role ARN; its session's credentials are the
	// environment's (Config.Credentials).
	Role        string
	CodeDir     string // unpacked package; read-only, the pool makes each environment's own copy
	MemoryMB    int
	Timeout     time.Duration
	Environment map[string]string
	// ReservedConcurrency caps this function's environments; nil = unreserved, 0 = throttled.
	ReservedConcurrency *int
	// ConfigKey changes whenever code or configuration changes (e.g. CodeSha256 + RevisionID).
	ConfigKey string
	Region    string
	// Layers are the absolute paths of the function's unpacked, read-only layer trees, in the
	// function's order (later layers over earlier ones at /opt).
	Layers []string
	// OptDir, when set, is the function's layers already merged into one read-only tree, bound
	// at /opt in a sandbox.
	OptDir string
	// EphemeralStorageMB is the size of the environment's /tmp (EphemeralStorage.Size; 0: 512).
	EphemeralStorageMB int
}

// Request is one invocation.
type Request struct {
	RequestID          string // becomes Lambda-Runtime-Aws-Request-Id and the log's RequestId
	Payload            []byte
	InvokedFunctionARN string // the ARN the caller used (qualified with alias/version if any)
	ClientContext      string // JSON, passed as Lambda-Runtime-Client-Context
	CognitoIdentity    string // JSON, Lambda-Runtime-Cognito-Identity
	TraceID            string // Lambda-Runtime-Trace-Id; generated when empty
	// Streaming says the caller accepts a streamed answer (function URL in RESPONSE_STREAM mode,
	// InvokeWithResponseStream). Without it a streamed response is buffered (up to the cap).
	Streaming bool
}

// Result is the outcome of an invocation that reached a runtime (or failed in the platform on
// the function's behalf: timeout, crash, init error, oversize response). Platform-level refusals
// (throttling, shutdown) are returned as errors instead.
type Result struct {
	RequestID string
	// Payload is the buffered response body, or the error object when FunctionError is set.
	Payload []byte
	// FunctionError is "Unhandled" when the function failed (X-Amz-Function-Error).
	FunctionError string
	// ErrorType is the errorType of a failure: a handler's own type, or a platform one such as
	// "Sandbox.Timedout", "Runtime.ExitError", "Function.ResponseSizeTooLarge".
	ErrorType string
	// Stream is set instead of Payload when the runtime answered in streaming mode and the
	// request allowed it. Reading it yields the body as the function writes it; a mid-stream
	// function error is returned by Read as a *StreamError. Close releases the environment and
	// must always be called.
	Stream       io.ReadCloser
	ContentType  string // the runtime's Content-Type for its response (streaming prelude detection)
	ColdStart    bool
	InitDuration time.Duration
	Duration     time.Duration
	// Log holds the invocation's log lines (START ... REPORT) for X-Amz-Log-Result; for a
	// streamed result it is complete only after Stream is closed.
	Log []byte
}

// StreamError is a function error reported in the trailers of a streamed response.
type StreamError struct {
	Type string
	Body []byte
}

func (e *StreamError) Error() string { return "function stream error: " + e.Type }

// ThrottleError says no environment could be had: the function's reserved concurrency or the
// global cap is exhausted. Reason is Lambda's TooManyRequestsException Reason.
type ThrottleError struct {
	Reason string // ReservedFunctionConcurrentInvocationLimitExceeded | ConcurrentInvocationLimitExceeded
}

func (e *ThrottleError) Error() string { return "throttled: " + e.Reason }
