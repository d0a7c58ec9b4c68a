// Package awserr models AWS wire errors: the error code, message, HTTP status and the JSON body
// that botocore and the AWS SDKs parse into typed exceptions (rest-json protocol).
package awserr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Error is an AWS-shaped API error. Code is the exception name sent in x-amzn-ErrorType and
// the body; Message is public; Cause is for logs only and never sent to clients.
type Error struct {
	Code    string
	Message string
	Status  int
	// Type is "User" or "Service" (Lambda's body field). Empty means "User".
	Type string
	// Fields are extra body members (e.g. "Reason" for TooManyRequestsException).
	Fields map[string]any
	// Header holds extra response headers (e.g. Retry-After).
	Header http.Header
	Cause  error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with the given code, status and message.
func New(status int, code, msg string) *Error {
	return &Error{Code: code, Message: msg, Status: status}
}

// Newf is New with a format string.
func Newf(status int, code, format string, args ...any) *Error {
	return New(status, code, fmt.Sprintf(format, args...))
}

// Common Lambda API errors.
func InvalidParameter(format string, args ...any) *Error {
	return Newf(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func NotFound(format string, args ...any) *Error {
	return Newf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func Conflict(format string, args ...any) *Error {
	return Newf(http.StatusConflict, "ResourceConflictException", format, args...)
}

func Validation(format string, args ...any) *Error {
	return Newf(http.StatusBadRequest, "ValidationException", format, args...)
}

func AccessDenied(format string, args ...any) *Error {
	return Newf(http.StatusForbidden, "AccessDeniedException", format, args...)
}

func TooManyRequests(reason, format string, args ...any) *Error {
	e := Newf(http.StatusTooManyRequests, "TooManyRequestsException", format, args...)
	if reason != "" {
		e.Fields = map[string]any{"Reason": reason}
	}
	return e
}

func Internal(cause error) *Error {
	return &Error{Code: "ServiceException", Message: "An internal error occurred.", Status: http.StatusInternalServerError, Type: "Service", Cause: cause}
}

// As converts any error to *Error: AWS errors pass through, anything else becomes a
// ServiceException that hides the cause.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// messageKey is the body member botocore reads the message from: most Lambda exceptions use
// "message", a few (per the service model) "Message".
func messageKey(code string) string {
	switch code {
	case "ResourceNotFoundException", "ServiceException":
		return "Message"
	}
	return "message"
}

// WriteJSON writes err in the rest-json form Lambda uses: x-amzn-ErrorType header and a body
// {"Type":"User","message":"..."} plus extra fields.
func WriteJSON(w http.ResponseWriter, requestID string, err error) {
	e := As(err)
	body := map[string]any{messageKey(e.Code): e.Message}
	typ := e.Type
	if typ == "" {
		typ = "User"
	}
	body["Type"] = typ
	for k, v := range e.Fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Errortype", e.Code)
	if requestID != "" {
		h.Set("X-Amzn-Requestid", requestID)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
