package controlapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/functions"
)

// TestWireErrorFunctions: the function service's refusals become Lambda's wire errors in
// controlapi.WireError alone, byte for byte as AWS sends them; anything else hides its cause.
func TestWireErrorFunctions(t *testing.T) {
	tests := []struct {
		err  error
		want string // status, x-amzn-ErrorType, body
	}{
		{&functions.Error{Kind: functions.KindNotFound, Message: "Function not found: arn:aws:lambda:us-east-1:000000000000:function:f"},
			`404 ResourceNotFoundException {"Message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:f","Type":"User"}`},
		{fmt.Errorf("functions: get: %w", &functions.Error{Kind: functions.KindConflict, Message: "Function already exist: f"}),
			`409 ResourceConflictException {"Type":"User","message":"Function already exist: f"}`},
		{&functions.Error{Kind: functions.KindInvalidParameter, Message: "bad"}, `400 InvalidParameterValueException {"Type":"User","message":"bad"}`},
		{&functions.Error{Kind: functions.KindValidation, Message: "1 validation error detected"}, `400 ValidationException {"Type":"User","message":"1 validation error detected"}`},
		{&functions.Error{Kind: functions.KindPreconditionFailed, Message: "The Revision Id provided does not match"},
			`412 PreconditionFailedException {"Type":"User","message":"The Revision Id provided does not match"}`},
		{&functions.Error{Kind: functions.KindRequestTooLarge, Message: "Request must be smaller"}, `413 RequestTooLargeException {"Type":"User","message":"Request must be smaller"}`},
		{&functions.Error{Kind: functions.KindPolicyLengthExceeded, Message: "The final policy size"}, `400 PolicyLengthExceededException {"Type":"User","message":"The final policy size"}`},
		{&functions.Error{Kind: 200, Message: "secret"}, `500 ServiceException {"Message":"An internal error occurred.","Type":"Service"}`},
		{errors.New("disk on fire"), `500 ServiceException {"Message":"An internal error occurred.","Type":"Service"}`},
		{awserr.NotFound("as is"), `404 ResourceNotFoundException {"Message":"as is","Type":"User"}`},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			w := httptest.NewRecorder()
			awserr.WriteJSON(w, "rid", controlapi.WireError(tt.err))
			got := fmt.Sprintf("%d %s %s", w.Code, w.Header().Get("X-Amzn-Errortype"), w.Body)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// Every kind the service names has its wire error.
	for k := functions.Kind(1); !strings.HasPrefix(k.String(), "kind "); k++ {
		if e := controlapi.WireError(&functions.Error{Kind: k}); e.Status >= http.StatusInternalServerError {
			t.Errorf("kind %s has no wire error", k)
		}
	}
}
