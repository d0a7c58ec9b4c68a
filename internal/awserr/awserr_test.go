package awserr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteJSON(t *testing.T) {
	throttled := TooManyRequests("ReservedFunctionConcurrentInvocationLimitExceeded", "Rate exceeded for %s", "f")
	throttled.Header = http.Header{"Retry-After": {"1"}}
	tests := []struct {
		name      string
		err       error
		requestID string
		status    int
		code      string
		body      map[string]any
		header    map[string]string
	}{
		{name: "user error, lower-case message", err: InvalidParameter("bad %s", "x"), requestID: "r1",
			status: 400, code: "InvalidParameterValueException",
			body:   map[string]any{"Type": "User", "message": "bad x"},
			header: map[string]string{"X-Amzn-Requestid": "r1"}},
		{name: "not found uses Message", err: fmt.Errorf("wrapped: %w", NotFound("Function not found: %s", "f")),
			status: 404, code: "ResourceNotFoundException",
			body:   map[string]any{"Type": "User", "Message": "Function not found: f"},
			header: map[string]string{"X-Amzn-Requestid": ""}},
		{name: "fields and headers", err: throttled, status: 429, code: "TooManyRequestsException",
			body:   map[string]any{"Type": "User", "message": "Rate exceeded for f", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"},
			header: map[string]string{"Retry-After": "1"}},
		{name: "plain error hides its cause", err: errors.New("disk on fire"), status: 500, code: "ServiceException",
			body: map[string]any{"Type": "Service", "Message": "An internal error occurred."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteJSON(w, tt.requestID, tt.err)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			h := w.Header()
			if got := h.Get("X-Amzn-Errortype"); got != tt.code {
				t.Errorf("X-Amzn-Errortype = %q, want %q", got, tt.code)
			}
			if h.Get("Content-Type") != "application/json" || h.Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Type %q, Content-Length %q for %d bytes", h.Get("Content-Type"), h.Get("Content-Length"), w.Body.Len())
			}
			for k, v := range tt.header {
				if got := h.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if strings.Contains(w.Body.String(), "disk on fire") {
				t.Errorf("body leaks the cause: %s", w.Body)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.body, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAs(t *testing.T) {
	e := Conflict("busy")
	if got := As(fmt.Errorf("op: %w", e)); got != e {
		t.Errorf("As(wrapped) = %v, want the same *Error", got)
	}
	cause := errors.New("boom")
	got := As(cause)
	if got.Code != "ServiceException" || got.Status != 500 || !errors.Is(got, cause) {
		t.Errorf("As(plain) = %+v", got)
	}
	if s := got.Error(); !strings.Contains(s, "boom") {
		t.Errorf("Error() = %q, want the cause for logs", s)
	}
}
