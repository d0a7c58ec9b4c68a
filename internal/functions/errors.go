package functions

import (
	"errors"
	"fmt"
)

// Kind is the class of a request the function service refuses. The service says what went
// wrong and what the client may be told; the HTTP boundary (controlapi.WireError) maps each
// Kind to its AWS wire error (exception name and status) in one table.
type Kind uint8

// The kinds of refusal, with the Lambda exception each becomes on the wire.
const (
	KindInvalidParameter     Kind = iota + 1 // InvalidParameterValueException, 400
	KindValidation                           // ValidationException, 400
	KindNotFound                             // ResourceNotFoundException, 404
	KindConflict                             // ResourceConflictException, 409
	KindPreconditionFailed                   // PreconditionFailedException, 412
	KindRequestTooLarge                      // RequestTooLargeException, 413
	KindPolicyLengthExceeded                 // PolicyLengthExceededException, 400
)

var kindNames = [...]string{KindInvalidParameter: "invalid parameter", KindValidation: "validation",
	KindNotFound: "not found", KindConflict: "conflict", KindPreconditionFailed: "precondition failed",
	KindRequestTooLarge: "request too large", KindPolicyLengthExceeded: "policy length exceeded"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// Error is a refusal of the function service: its Kind and the public message, the text the
// client is shown.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return "functions: " + e.Kind.String() + ": " + e.Message }

// KindOf is the Kind of the *Error in err's chain, 0 when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

func invalidParameter(format string, args ...any) *Error {
	return errorf(KindInvalidParameter, format, args...)
}

func validation(format string, args ...any) *Error { return errorf(KindValidation, format, args...) }

func notFound(format string, args ...any) *Error { return errorf(KindNotFound, format, args...) }

func conflict(format string, args ...any) *Error { return errorf(KindConflict, format, args...) }
