package sigv4

import (
	"net/http"

	"github.com/furl/furl/internal/awserr"
)

// Error codes Verify returns (Lambda's rest-json names). QueryCode maps them to the names
// IAM and STS (Query protocol) use.
const (
	CodeIncompleteSignature  = "IncompleteSignatureException"
	CodeInvalidSignature     = "InvalidSignatureException"
	CodeUnrecognizedClient   = "UnrecognizedClientException"
	CodeMissingAuthToken     = "MissingAuthenticationTokenException"
	CodeExpiredToken         = "ExpiredTokenException"
	MsgSignatureMismatch     = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	MsgUnrecognizedClient    = "The security token included in the request is invalid."
	MsgExpiredToken          = "The security token included in the request is expired"
	MsgMissingAuthentication = "Missing Authentication Token"
)

// QueryCode maps a Verify error code to the code the Query-protocol services (IAM, STS) send:
// SignatureDoesNotMatch, InvalidClientTokenId, IncompleteSignature, MissingAuthenticationToken,
// ExpiredToken. Other codes are returned unchanged.
func QueryCode(code string) string {
	switch code {
	case CodeInvalidSignature:
		return "SignatureDoesNotMatch"
	case CodeUnrecognizedClient:
		return "InvalidClientTokenId"
	case CodeIncompleteSignature:
		return "IncompleteSignature"
	case CodeMissingAuthToken:
		return "MissingAuthenticationToken"
	case CodeExpiredToken:
		return "ExpiredToken"
	}
	return code
}

func errMismatch(cause error) *awserr.Error {
	e := awserr.New(http.StatusForbidden, CodeInvalidSignature, MsgSignatureMismatch)
	e.Cause = cause
	return e
}

func errInvalid(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusForbidden, CodeInvalidSignature, format, args...)
}

func errIncomplete(format string, args ...any) *awserr.Error {
	return awserr.Newf(http.StatusBadRequest, CodeIncompleteSignature, format, args...)
}

func errUnrecognizedClient(cause error) *awserr.Error {
	e := awserr.New(http.StatusForbidden, CodeUnrecognizedClient, MsgUnrecognizedClient)
	e.Cause = cause
	return e
}

func errExpiredToken() *awserr.Error {
	return awserr.New(http.StatusForbidden, CodeExpiredToken, MsgExpiredToken)
}

func errMissingAuth() *awserr.Error {
	return awserr.New(http.StatusForbidden, CodeMissingAuthToken, MsgMissingAuthentication)
}
