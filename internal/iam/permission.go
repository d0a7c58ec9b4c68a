package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/furl/furl/internal/awserr"
)

// PermissionInput is what Lambda's AddPermission receives (the request body plus the resource
// it applies to).
type PermissionInput struct {
	StatementID string
	Action      string // lambda:InvokeFunctionUrl, lambda:InvokeFunction, lambda:*, *
	// Principal as given: "*", a 12-digit account id, an IAM ARN, or a service
	// ("s3.amazonaws.com").
	Principal string
	// Resource is the function ARN, qualified when AddPermission had a Qualifier.
	Resource         string
	SourceArn        string
	SourceAccount    string
	EventSourceToken string
	PrincipalOrgID   string
	// FunctionUrlAuthType is "", "NONE" or "AWS_IAM".
	FunctionUrlAuthType string
	// InvokedViaFunctionUrl adds {"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}.
	InvokedViaFunctionUrl bool
}

// Well-known statement ids the console uses for a NONE function URL.
const (
	SidURLPublicAccess = "FunctionURLAllowPublicAccess"
	SidURLInvokeAction = "FunctionURLAllowInvokeAction"
)

// LambdaPermissionStatement validates in and renders the statement AddPermission adds, in
// AWS's member order (Sid, Effect, Principal, Action, Resource, Condition). The result is what
// AddPermission returns as its "Statement" string and what goes into the function's policy
// (see AppendStatement). Validation failures are *awserr.Error (400).
func LambdaPermissionStatement(in PermissionInput) ([]byte, error) {
	if err := validateStatementID(in.StatementID); err != nil {
		return nil, err
	}
	if !validLambdaAction(in.Action) {
		return nil, awserr.Validation("1 validation error detected: Value '%s' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])", in.Action)
	}
	if in.Resource == "" {
		return nil, awserr.InvalidParameter("The resource ARN of the permission is missing.")
	}
	principal, err := renderPrincipal(in.Principal)
	if err != nil {
		return nil, err
	}
	switch in.FunctionUrlAuthType {
	case "", "NONE", "AWS_IAM":
	default:
		return nil, awserr.Validation("1 validation error detected: Value '%s' at 'functionUrlAuthType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]", in.FunctionUrlAuthType)
	}
	if in.FunctionUrlAuthType != "" && strings.EqualFold(in.Action, "lambda:InvokeFunction") {
		return nil, awserr.InvalidParameter("FunctionUrlAuthType is only supported with the lambda:InvokeFunctionUrl action.")
	}

	var b bytes.Buffer
	b.WriteString(`{"Sid":`)
	writeJSONString(&b, in.StatementID)
	b.WriteString(`,"Effect":"Allow","Principal":`)
	b.WriteString(principal)
	b.WriteString(`,"Action":`)
	writeJSONString(&b, in.Action)
	b.WriteString(`,"Resource":`)
	writeJSONString(&b, in.Resource)

	type kv struct{ k, v string }
	var strEq []kv
	if in.SourceAccount != "" {
		strEq = append(strEq, kv{"AWS:SourceAccount", in.SourceAccount})
	}
	if in.PrincipalOrgID != "" {
		strEq = append(strEq, kv{"aws:PrincipalOrgID", in.PrincipalOrgID})
	}
	if in.EventSourceToken != "" {
		strEq = append(strEq, kv{"lambda:EventSourceToken", in.EventSourceToken})
	}
	if in.FunctionUrlAuthType != "" {
		strEq = append(strEq, kv{"lambda:FunctionUrlAuthType", in.FunctionUrlAuthType})
	}
	blocks := 0
	open := func(op string) {
		if blocks == 0 {
			b.WriteString(`,"Condition":{`)
		} else {
			b.WriteByte(',')
		}
		blocks++
		writeJSONString(&b, op)
		b.WriteString(":{")
	}
	if len(strEq) > 0 {
		open("StringEquals")
		for i, e := range strEq {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, e.k)
			b.WriteByte(':')
			writeJSONString(&b, e.v)
		}
		b.WriteByte('}')
	}
	if in.SourceArn != "" {
		open("ArnLike")
		b.WriteString(`"AWS:SourceArn":`)
		writeJSONString(&b, in.SourceArn)
		b.WriteByte('}')
	}
	if in.InvokedViaFunctionUrl {
		open("Bool")
		b.WriteString(`"lambda:InvokedViaFunctionUrl":"true"}`)
	}
	if blocks > 0 {
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}

func validateStatementID(sid string) error {
	if sid == "" || len(sid) > 100 {
		return awserr.Validation("1 validation error detected: Value '%s' at 'statementId' failed to satisfy constraint: Member must have length less than or equal to 100, Member must have length greater than or equal to 1", sid)
	}
	for i := 0; i < len(sid); i++ {
		c := sid[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return awserr.Validation("1 validation error detected: Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)", sid)
		}
	}
	return nil
}

func validLambdaAction(a string) bool {
	if a == "*" || a == "lambda:*" {
		return true
	}
	name, ok := strings.CutPrefix(a, "lambda:")
	if !ok || name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// renderPrincipal maps AddPermission's Principal string to the policy's Principal element.
func renderPrincipal(p string) (string, error) {
	var b bytes.Buffer
	switch {
	case p == "*":
		return `"*"`, nil
	case isAccountID(p):
		b.WriteString(`{"AWS":`)
		writeJSONString(&b, "arn:aws:iam::"+p+":root")
	case strings.HasPrefix(p, "arn:"):
		parts, ok := splitARN(p)
		if !ok || (parts[2] != "iam" && parts[2] != "sts") || !isAccountID(parts[4]) || parts[5] == "" || strings.ContainsAny(p, "*? \t\"") {
			return "", invalidPrincipal()
		}
		b.WriteString(`{"AWS":`)
		writeJSONString(&b, p)
	case validServicePrincipal(p):
		b.WriteString(`{"Service":`)
		writeJSONString(&b, p)
	default:
		return "", invalidPrincipal()
	}
	b.WriteByte('}')
	return b.String(), nil
}

func validServicePrincipal(p string) bool {
	if !strings.Contains(p, ".") || len(p) > 256 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func invalidPrincipal() error {
	return awserr.InvalidParameter("The provided principal was invalid. Please check the principal and try again.")
}

// policyDoc keeps the member order Lambda's GetPolicy shows.
type policyDoc struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

func decodeDoc(doc []byte) (*policyDoc, error) {
	d := &policyDoc{Version: Version2012, ID: "default"}
	if len(bytes.TrimSpace(doc)) == 0 {
		return d, nil
	}
	var raw struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("iam: decode policy: %w", err)
	}
	if raw.Version != "" {
		d.Version = raw.Version
	}
	d.ID = raw.ID
	st := bytes.TrimSpace(raw.Statement)
	switch {
	case len(st) == 0 || string(st) == "null":
	case st[0] == '{':
		d.Statement = []json.RawMessage{st}
	default:
		if err := json.Unmarshal(st, &d.Statement); err != nil {
			return nil, fmt.Errorf("iam: decode policy statements: %w", err)
		}
	}
	return d, nil
}

func statementSid(st json.RawMessage) string {
	var s struct {
		Sid string `json:"Sid"`
	}
	_ = json.Unmarshal(st, &s) // a statement without a Sid has ""
	return s.Sid
}

// AppendStatement adds stmt to a resource policy document (doc may be empty: a new
// {"Version":"2012-10-17","Id":"default","Statement":[...]} is made). A Sid already present is
// a ResourceConflictException (409) with Lambda's message.
func AppendStatement(doc, stmt []byte) ([]byte, error) {
	d, err := decodeDoc(doc)
	if err != nil {
		return nil, err
	}
	if !json.Valid(stmt) {
		return nil, fmt.Errorf("iam: append statement: invalid JSON")
	}
	sid := statementSid(stmt)
	if sid != "" {
		for _, st := range d.Statement {
			if statementSid(st) == sid {
				return nil, awserr.Conflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", sid)
			}
		}
	}
	var c bytes.Buffer
	if err := json.Compact(&c, stmt); err != nil {
		return nil, fmt.Errorf("iam: append statement: %w", err)
	}
	d.Statement = append(d.Statement, c.Bytes())
	return json.Marshal(d)
}

// RemoveStatement removes the statement with the given Sid. It returns nil when no statement
// is left (the function has no policy any more). An unknown Sid is ResourceNotFoundException.
func RemoveStatement(doc []byte, sid string) ([]byte, error) {
	d, err := decodeDoc(doc)
	if err != nil {
		return nil, err
	}
	for i, st := range d.Statement {
		if statementSid(st) == sid {
			d.Statement = append(d.Statement[:i], d.Statement[i+1:]...)
			if len(d.Statement) == 0 {
				return nil, nil
			}
			return json.Marshal(d)
		}
	}
	return nil, awserr.NotFound("Statement %s is not found in resource policy.", sid)
}

// HasStatement reports whether doc has a statement with the given Sid.
func HasStatement(doc []byte, sid string) bool {
	d, err := decodeDoc(doc)
	if err != nil {
		return false
	}
	for _, st := range d.Statement {
		if statementSid(st) == sid {
			return true
		}
	}
	return false
}
