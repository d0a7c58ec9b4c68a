package controlapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/functions"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/store"
)

// Response shapes, with the service model's member names.

type envOut struct {
	Variables map[string]string `json:"Variables"`
}

type fnConfigOut struct {
	FunctionName               string             `json:"FunctionName"`
	FunctionArn                string             `json:"FunctionArn"`
	Runtime                    string             `json:"Runtime,omitempty"`
	Role                       string             `json:"Role"`
	Handler                    string             `json:"Handler,omitempty"`
	CodeSize                   int64              `json:"CodeSize"`
	Description                string             `json:"Description"`
	Timeout                    int                `json:"Timeout"`
	MemorySize                 int                `json:"MemorySize"`
	LastModified               string             `json:"LastModified"`
	CodeSha256                 string             `json:"CodeSha256"`
	Version                    string             `json:"Version"`
	Environment                *envOut            `json:"Environment,omitempty"`
	TracingConfig              map[string]string  `json:"TracingConfig"`
	RevisionId                 string             `json:"RevisionId"`
	State                      string             `json:"State"`
	StateReason                string             `json:"StateReason,omitempty"`
	StateReasonCode            string             `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string             `json:"LastUpdateStatus"`
	LastUpdateStatusReason     string             `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string             `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string             `json:"PackageType"`
	Architectures              []string           `json:"Architectures"`
	EphemeralStorage           map[string]int     `json:"EphemeralStorage"`
	SnapStart                  map[string]string  `json:"SnapStart"`
	LoggingConfig              map[string]string  `json:"LoggingConfig"`
	RuntimeVersionConfig       *runtimeVersionOut `json:"RuntimeVersionConfig,omitempty"`
	Layers                     []layerRefOut      `json:"Layers,omitempty"`
}

type runtimeVersionOut struct {
	RuntimeVersionArn string `json:"RuntimeVersionArn"`
}

// LastModified format Lambda uses: 2024-01-01T00:00:00.000+0000.
const lastModifiedLayout = "2006-01-02T15:04:05.000-0700"

func (h *Handler) fnConfig(c *lambda.FunctionConfig) *fnConfigOut {
	arn := h.svc.ARN(c.Name, "")
	if c.Version != lambda.LatestVersion {
		arn = h.svc.ARN(c.Name, c.Version)
	}
	o := &fnConfigOut{
		FunctionName: c.Name, FunctionArn: arn, Runtime: c.Runtime, Role: c.Role, Handler: c.Handler, CodeSize: c.CodeSize,
		Description: c.Description, Timeout: int(c.Timeout / time.Second), MemorySize: c.MemoryMB,
		LastModified: c.LastModified.UTC().Format(lastModifiedLayout), CodeSha256: c.CodeSha256, Version: c.Version,
		TracingConfig: map[string]string{"Mode": "PassThrough"}, RevisionId: c.RevisionID, State: c.State,
		LastUpdateStatus: c.LastUpdate, PackageType: "Zip", Architectures: []string{c.Architecture},
		EphemeralStorage: map[string]int{"Size": c.TmpMB()},
		SnapStart:        map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
		LoggingConfig:    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + c.Name},
	}
	if o.Architectures[0] == "" {
		o.Architectures = []string{"x86_64"}
	}
	// AWS echoes Environment whenever the function has one, an empty Variables map included.
	if c.Environment != nil {
		o.Environment = &envOut{Variables: c.Environment}
	}
	// A function being created has no runtime version yet; afterwards AWS names the one it runs.
	if c.Runtime != "" && c.State != lambda.StatePending {
		o.RuntimeVersionConfig = &runtimeVersionOut{RuntimeVersionArn: h.svc.RuntimeVersionARN(c.Runtime)}
	}
	for _, l := range c.Layers {
		o.Layers = append(o.Layers, layerRefOut{Arn: l.ARN, CodeSize: l.CodeSize})
	}
	if c.State == lambda.StatePending {
		o.StateReason, o.StateReasonCode = "The function is being created.", "Creating"
	}
	if c.LastUpdate == lambda.UpdateInProgress {
		o.LastUpdateStatusReason, o.LastUpdateStatusReasonCode = "The function is being created.", "Creating"
		if c.State != lambda.StatePending {
			o.LastUpdateStatusReason = "The function is being updated."
		}
	}
	return o
}

func (h *Handler) ref(c *call) (functions.Ref, error) {
	return h.svc.ParseRef(c.params[0], c.query("Qualifier"))
}

// maxItems parses MaxItems (1..10000 in the model; pages are capped at 50).
func maxItems(c *call, hi int) (int, error) {
	v := c.query("MaxItems")
	if v == "" {
		return hi, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, awserr.Validation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", v)
	}
	if n > hi {
		n = hi
	}
	return n, nil
}

func (h *Handler) createFunction(c *call) error {
	var in functions.CreateInput
	if err := decode(c.body, &in); err != nil {
		return err
	}
	return reply(c, http.StatusCreated, h.fnConfig)(h.svc.CreateFunction(c.r.Context(), &in))
}

func (h *Handler) getFunction(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	info, err := h.svc.GetFunction(c.r.Context(), ref)
	if err != nil {
		return err
	}
	out := map[string]any{
		"Configuration": h.fnConfig(info.Config),
		"Code": map[string]string{
			"RepositoryType": "S3",
			"Location":       "http://" + c.r.Host + "/furl/v1/functions/" + ref.Name + "/code?Qualifier=" + info.Config.Version,
		},
	}
	if len(info.Tags) > 0 {
		out["Tags"] = info.Tags
	}
	if info.ReservedConcurrency != nil {
		out["Concurrency"] = map[string]int{"ReservedConcurrentExecutions": *info.ReservedConcurrency}
	}
	return writeJSON(c, http.StatusOK, out)
}

func (h *Handler) getCode(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	info, err := h.svc.GetFunction(c.r.Context(), ref)
	if err != nil {
		return err
	}
	b, err := h.svc.PackageZip(info.CodeHex)
	if err != nil {
		return awserr.Internal(err)
	}
	return writeBody(c, http.StatusOK, "application/zip", b)
}

func (h *Handler) getFunctionConfiguration(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, func(info *functions.FunctionInfo) *fnConfigOut { return h.fnConfig(info.Config) })(h.svc.GetFunction(c.r.Context(), ref))
}

func (h *Handler) listFunctions(c *call) error {
	return writePage(c, "Functions", func(marker string, max int) ([]*lambda.FunctionConfig, string, error) {
		fv := c.query("FunctionVersion")
		if fv != "" && fv != "ALL" {
			return nil, "", awserr.Validation("1 validation error detected: Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]", fv)
		}
		return h.svc.ListFunctions(c.r.Context(), marker, max, fv == "ALL")
	}, h.fnConfig)
}

// drainer is implemented by the pool: it stops a function version's environments.
type drainer interface {
	Drain(functionName, version string)
}

func (h *Handler) deleteFunction(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	versions, err := h.svc.DeleteFunction(c.r.Context(), ref)
	if err != nil {
		return err
	}
	if d, ok := h.invoker.(drainer); ok {
		for _, v := range versions {
			d.Drain(ref.Name, v)
		}
	}
	return writeEmpty(c, http.StatusNoContent)
}

func (h *Handler) updateFunctionCode(c *call) error {
	var in functions.UpdateCodeInput
	ref, err := withBody(c, h.ref, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, h.fnConfig)(h.svc.UpdateFunctionCode(c.r.Context(), ref, &in))
}

func (h *Handler) updateFunctionConfiguration(c *call) error {
	var in functions.UpdateConfigInput
	ref, err := withBody(c, h.ref, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, h.fnConfig)(h.svc.UpdateFunctionConfiguration(c.r.Context(), ref, &in))
}

func (h *Handler) publishVersion(c *call) error {
	var in struct{ CodeSha256, Description, RevisionId string }
	ref, err := withBody(c, h.ref, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusCreated, h.fnConfig)(h.svc.PublishVersion(c.r.Context(), ref, in.CodeSha256, in.Description, in.RevisionId))
}

func (h *Handler) listVersions(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	return writePage(c, "Versions", func(marker string, max int) ([]*lambda.FunctionConfig, string, error) {
		return h.svc.ListVersions(c.r.Context(), ref, marker, max)
	}, h.fnConfig)
}

// ---- aliases ----

type aliasOut struct {
	AliasArn        string `json:"AliasArn"`
	Name            string `json:"Name"`
	FunctionVersion string `json:"FunctionVersion"`
	Description     string `json:"Description"`
	RoutingConfig   *struct {
		AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
	} `json:"RoutingConfig,omitempty"`
	RevisionId string `json:"RevisionId"`
}

func (h *Handler) alias(a *lambda.Alias) *aliasOut {
	o := &aliasOut{AliasArn: h.svc.ARN(a.FunctionName, a.Name), Name: a.Name, FunctionVersion: a.FunctionVersion, Description: a.Description, RevisionId: a.RevisionID}
	if len(a.AdditionalVersionWeights) > 0 {
		o.RoutingConfig = &struct {
			AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
		}{a.AdditionalVersionWeights}
	}
	return o
}

// unqualified parses the FunctionName of an operation that takes no qualifier.
func (h *Handler) unqualified(c *call) (string, error) {
	ref, err := h.svc.ParseRef(c.params[0], "")
	if err != nil {
		return "", err
	}
	return ref.Name, nil
}

func (h *Handler) createAlias(c *call) error {
	var in functions.AliasInput
	name, err := withBody(c, h.unqualified, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusCreated, h.alias)(h.svc.CreateAlias(c.r.Context(), functions.Ref{Name: name}, &in))
}

func (h *Handler) getAlias(c *call) error {
	name, err := h.unqualified(c)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, h.alias)(h.svc.GetAlias(c.r.Context(), name, c.params[1]))
}

func (h *Handler) updateAlias(c *call) error {
	var in functions.AliasInput
	name, err := withBody(c, h.unqualified, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, h.alias)(h.svc.UpdateAlias(c.r.Context(), name, c.params[1], &in))
}

func (h *Handler) deleteAlias(c *call) error {
	name, err := h.unqualified(c)
	if err != nil {
		return err
	}
	return noContent(c, h.svc.DeleteAlias(c.r.Context(), name, c.params[1]))
}

func (h *Handler) listAliases(c *call) error {
	name, err := h.unqualified(c)
	if err != nil {
		return err
	}
	return writePage(c, "Aliases", func(marker string, max int) ([]*lambda.Alias, string, error) {
		return h.svc.ListAliases(c.r.Context(), name, c.query("FunctionVersion"), marker, max)
	}, h.alias)
}

// ---- concurrency ----

func (h *Handler) putConcurrency(c *call) error {
	var in struct{ ReservedConcurrentExecutions *int }
	name, err := withBody(c, h.unqualified, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, func(n int) map[string]int {
		return map[string]int{"ReservedConcurrentExecutions": n}
	})(h.svc.PutConcurrency(c.r.Context(), name, in.ReservedConcurrentExecutions))
}

func (h *Handler) getConcurrency(c *call) error {
	name, err := h.unqualified(c)
	if err != nil {
		return err
	}
	n, err := h.svc.GetConcurrency(c.r.Context(), name)
	if err != nil {
		return err
	}
	if n == nil {
		return writeJSON(c, http.StatusOK, map[string]any{})
	}
	return writeJSON(c, http.StatusOK, map[string]int{"ReservedConcurrentExecutions": *n})
}

func (h *Handler) deleteConcurrency(c *call) error {
	name, err := h.unqualified(c)
	if err != nil {
		return err
	}
	return noContent(c, h.svc.DeleteConcurrency(c.r.Context(), name))
}

// ---- policy ----

func (h *Handler) addPermission(c *call) error {
	var in functions.PermissionInput
	ref, err := withBody(c, h.ref, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusCreated, func(st []byte) map[string]string {
		return map[string]string{"Statement": string(st)}
	})(h.svc.AddPermission(c.r.Context(), ref, &in))
}

func (h *Handler) removePermission(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	return noContent(c, h.svc.RemovePermission(c.r.Context(), ref, c.params[1], c.query("RevisionId")))
}

func (h *Handler) getPolicy(c *call) error {
	ref, err := h.ref(c)
	if err != nil {
		return err
	}
	doc, rev, err := h.svc.GetPolicy(c.r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, map[string]string{"Policy": string(doc), "RevisionId": rev})
}

// ---- tags ----

func (h *Handler) listTags(c *call) error {
	tags, err := h.svc.ListTags(c.r.Context(), c.params[0])
	if err != nil {
		return err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return writeJSON(c, http.StatusOK, map[string]any{"Tags": tags})
}

func (h *Handler) tagResource(c *call) error {
	var in struct{ Tags map[string]string }
	if err := decode(c.body, &in); err != nil {
		return err
	}
	if in.Tags == nil {
		return awserr.Validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return noContent(c, h.svc.TagResource(c.r.Context(), c.params[0], in.Tags))
}

func (h *Handler) untagResource(c *call) error {
	keys := c.r.URL.Query()["tagKeys"]
	if len(keys) == 0 {
		return awserr.Validation("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	return noContent(c, h.svc.UntagResource(c.r.Context(), c.params[0], keys))
}

func (h *Handler) getAccountSettings(c *call) error {
	s, err := h.svc.GetAccountSettings(c.r.Context())
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, map[string]any{
		"AccountLimit": map[string]any{
			"TotalCodeSize": int64(75 << 30), "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
			"ConcurrentExecutions": s.MaxConcurrency, "UnreservedConcurrentExecutions": s.Unreserved,
		},
		"AccountUsage": map[string]any{"TotalCodeSize": s.TotalCodeSize, "FunctionCount": s.FunctionCount},
	})
}

// ---- function URLs ----

const urlTimeLayout = "2006-01-02T15:04:05.000000Z"

type urlOut struct {
	FunctionUrl      string       `json:"FunctionUrl"`
	FunctionArn      string       `json:"FunctionArn"`
	AuthType         string       `json:"AuthType"`
	Cors             *lambda.CORS `json:"Cors,omitempty"`
	CreationTime     string       `json:"CreationTime"`
	LastModifiedTime string       `json:"LastModifiedTime,omitempty"`
	InvokeMode       string       `json:"InvokeMode,omitempty"`
}

func (h *Handler) url(u *store.URLRecord, lastModified bool, invokeMode bool) *urlOut {
	o := &urlOut{
		FunctionUrl: h.svc.FunctionURL(u.URLID), FunctionArn: h.svc.ARN(u.FunctionName, u.Qualifier), AuthType: u.AuthType,
		Cors: u.Cors, CreationTime: u.Created.UTC().Format(urlTimeLayout),
	}
	if lastModified {
		o.LastModifiedTime = u.LastModified.UTC().Format(urlTimeLayout)
	}
	if invokeMode {
		o.InvokeMode = u.InvokeMode
	}
	return o
}

// urlRef parses FunctionName + Qualifier for the URL operations; their qualifier must be an
// alias, reported with the URL-specific pattern.
func (h *Handler) urlRef(c *call) (functions.Ref, error) {
	q := c.query("Qualifier")
	if q == "$LATEST" || (q != "" && isDigits(q)) {
		return functions.Ref{}, awserr.Validation("1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)", q)
	}
	return h.svc.ParseRef(c.params[0], q)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func (h *Handler) createURL(c *call) error {
	var in functions.URLInput
	ref, err := withBody(c, h.urlRef, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusCreated, func(u *store.URLRecord) *urlOut {
		return h.url(u, false, in.InvokeMode != nil)
	})(h.svc.CreateURL(c.r.Context(), ref, &in))
}

func (h *Handler) getURL(c *call) error {
	ref, err := h.urlRef(c)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, h.fullURL)(h.svc.GetURL(c.r.Context(), ref))
}

func (h *Handler) updateURL(c *call) error {
	var in functions.URLInput
	ref, err := withBody(c, h.urlRef, &in)
	if err != nil {
		return err
	}
	return reply(c, http.StatusOK, func(u *store.URLRecord) *urlOut {
		return h.url(u, true, u.InvokeModeExplicit)
	})(h.svc.UpdateURL(c.r.Context(), ref, &in))
}

func (h *Handler) deleteURL(c *call) error {
	ref, err := h.urlRef(c)
	if err != nil {
		return err
	}
	return noContent(c, h.svc.DeleteURL(c.r.Context(), ref))
}

func (h *Handler) listURLs(c *call) error {
	name, err := h.unqualified(c)
	if err != nil {
		return err
	}
	return writePage(c, "FunctionUrlConfigs", func(marker string, max int) ([]*store.URLRecord, string, error) {
		return h.svc.ListURLs(c.r.Context(), name, marker, max)
	}, h.fullURL)
}

// fullURL is a URL config as Get and List answer it, with LastModifiedTime and InvokeMode.
func (h *Handler) fullURL(u *store.URLRecord) *urlOut { return h.url(u, true, true) }
