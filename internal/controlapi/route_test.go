package controlapi

import (
	"strings"
	"testing"
	"time"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMatch(t *testing.T) {
	tests := []struct {
		method, path string
		op           string
		params       []string
		wantErr      string
	}{
		{"GET", "/2015-03-31/functions", "ListFunctions", nil, ""},
		{"GET", "/2015-03-31/functions/", "ListFunctions", nil, ""},
		{"GET", "/2015-03-31/functions/f", "GetFunction", []string{"f"}, ""},
		{"GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/configuration", "GetFunctionConfiguration",
			[]string{"arn:aws:lambda:us-east-1:000000000000:function:f"}, ""},
		{"POST", "/2015-03-31/functions/f/invocations", "Invoke", []string{"f"}, ""},
		{"POST", "/2021-11-15/functions/f/response-streaming-invocations", "InvokeWithResponseStream", []string{"f"}, ""},
		{"DELETE", "/2015-03-31/functions/f/policy/sid-1", "RemovePermission", []string{"f", "sid-1"}, ""},
		{"GET", "/2019-09-30/functions/f/concurrency", "GetFunctionConcurrency", []string{"f"}, ""},
		{"GET", "/2016-08-19/account-settings/", "GetAccountSettings", nil, ""},
		{"GET", "/2021-10-31/functions/f/urls", "ListFunctionUrlConfigs", []string{"f"}, ""},
		{"PATCH", "/2015-03-31/functions/f", "", nil, "MethodNotAllowedException"},
		{"GET", "/nope", "", nil, "UnknownOperationException"},
		{"GET", "/2015-03-31/functions/%zz", "", nil, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rt, params, err := match(tt.method, tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || rt.op != tt.op || len(params) != len(tt.params) {
				t.Fatalf("match = %v %v %v", rt, params, err)
			}
			for i := range params {
				if params[i] != tt.params[i] {
					t.Fatalf("params = %q, want %q", params, tt.params)
				}
			}
		})
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("GET", "/2015-03-31/functions/f%3A1/aliases/x")
	f.Add("POST", "//")
	f.Fuzz(func(t *testing.T, method, path string) {
		_, _, _ = match(method, path)
	})
}
