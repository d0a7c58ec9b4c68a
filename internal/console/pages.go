package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/furl/furl/internal/awserr"
	"github.com/furl/furl/internal/controlapi"
	"github.com/furl/furl/internal/invocationlog"
	"github.com/furl/furl/internal/lambda"
	"github.com/furl/furl/internal/pool"
	"github.com/furl/furl/internal/series"
	"github.com/furl/furl/internal/store"
)

type fnRow struct {
	Name, Runtime, State string
	Memory               int
	URL, AuthType        string
	URLDenied            string
	Warm, Envs           int
	Requests, Errors     int
	Throttles            int
	P50, P99             time.Duration
	ReqChart, LatChart   template.HTML
}

func (c *call) stats() pool.Stats {
	if c.h.opt.Stats == nil {
		return pool.Stats{}
	}
	return c.h.opt.Stats.Stats()
}

func (h *Handler) functionsPage(c *call) {
	type body struct {
		Denied string
		Rows   []fnRow
	}
	if err := c.allow("lambda:ListFunctions", "*", nil); err != nil {
		c.render(http.StatusForbidden, "functions", "Functions", "functions", body{Denied: denial(err)})
		return
	}
	var all []*lambda.FunctionConfig
	marker := ""
	for {
		fs, next, err := h.opt.Functions.ListFunctions(c.r.Context(), marker, 50, false)
		if err != nil {
			c.fail(err)
			return
		}
		all = append(all, fs...)
		if next == "" || len(all) >= 1000 {
			break
		}
		marker = next
	}
	st := c.stats()
	var b body
	for _, f := range all {
		row := fnRow{Name: f.Name, Runtime: f.Runtime, State: f.State, Memory: f.MemoryMB}
		if row.State == "" {
			row.State = "Active"
		}
		if err := c.allow("lambda:ListFunctionUrlConfigs", h.opt.Functions.ARN(f.Name, ""), nil); err != nil {
			row.URLDenied = denial(err)
		} else if us, _, err := h.opt.Functions.ListURLs(c.r.Context(), f.Name, "", 1); err == nil && len(us) > 0 {
			row.URL, row.AuthType = h.opt.Functions.FunctionURL(us[0].URLID), us[0].AuthType
		}
		fs := st.Functions[f.Name]
		row.Warm, row.Envs = fs.Idle, fs.Environments
		if h.opt.Series != nil {
			pts, total := h.opt.Series.History(f.Name)
			row.Requests, row.Errors, row.Throttles, row.P50, row.P99 = total.Requests, total.Errors, total.Throttles, total.P50, total.P99
			row.ReqChart = countChart(pts, 120, 28)
			row.LatChart = latencyChart(pts, 120, 28)
		}
		b.Rows = append(b.Rows, row)
	}
	c.render(http.StatusOK, "functions", "Functions", "functions", b)
}

// section is a part of a function page that its own action authorizes.
type section struct {
	Denied string
	Error  string
}

type fnPage struct {
	Name   string
	Denied string
	Config struct {
		section
		C        *lambda.FunctionConfig
		Env      []kv
		Reserved string
	}
	URLs struct {
		section
		List []urlView
	}
	Policy struct {
		section
		Statements []policyStatement
	}
	Versions struct {
		section
		List []*lambda.FunctionConfig
	}
	Aliases struct {
		section
		List []*lambda.Alias
	}
	Logs struct {
		section
		Lines []logLine
	}
	Charts     []chartView
	Warm, Envs int
	Result     *invokeResult
	TestEvent  string
	Qualifier  string
	CSRF       string
}

type kv struct{ K, V string }

type urlView struct {
	URL, AuthType, Qualifier, InvokeMode string
	Cors                                 *lambda.CORS
	RateLimit                            float64
	Burst                                int
}

type policyStatement struct {
	Sid, Effect, Principal, Action, Condition string
}

type logLine struct {
	Time      time.Time
	RequestID string
	Message   string
	Kind      string
}

type chartView struct {
	Title, Value string
	SVG          template.HTML
}

func (h *Handler) functionPage(c *call, name string) { h.functionPageWith(c, name, nil, "") }

func (h *Handler) loadFunctionPage(c *call, name string) (*fnPage, error) {
	ctx := c.r.Context()
	ref, err := h.opt.Functions.ParseRef(name, "")
	if err != nil {
		return nil, err
	}
	arn := h.opt.Functions.ARN(ref.Name, "")
	p := &fnPage{Name: ref.Name, TestEvent: "{\n  \"hello\": \"world\"\n}"}
	if err := c.allow("lambda:GetFunction", arn, nil); err != nil {
		p.Denied = denial(err)
		return p, nil
	}
	info, err := h.opt.Functions.GetFunction(ctx, ref)
	if err != nil {
		return nil, err
	}
	p.Config.C = info.Config
	for k, v := range info.Config.Environment {
		p.Config.Env = append(p.Config.Env, kv{k, v})
	}
	sort.Slice(p.Config.Env, func(i, j int) bool { return p.Config.Env[i].K < p.Config.Env[j].K })
	if info.ReservedConcurrency != nil {
		p.Config.Reserved = fmt.Sprint(*info.ReservedConcurrency)
	}
	if err := c.allow("lambda:ListFunctionUrlConfigs", arn, nil); err != nil {
		p.URLs.Denied = denial(err)
	} else if us, _, err := h.opt.Functions.ListURLs(ctx, ref.Name, "", 50); err != nil {
		p.URLs.Error = denial(err)
	} else {
		for _, u := range us {
			p.URLs.List = append(p.URLs.List, urlViewOf(h, u))
		}
	}
	if err := c.allow("lambda:GetPolicy", arn, nil); err != nil {
		p.Policy.Denied = denial(err)
	} else if doc, _, err := h.opt.Functions.GetPolicy(ctx, ref); err == nil {
		p.Policy.Statements = statementsOf(doc)
	}
	if err := c.allow("lambda:ListVersionsByFunction", arn, nil); err != nil {
		p.Versions.Denied = denial(err)
	} else if vs, _, err := h.opt.Functions.ListVersions(ctx, ref, "", 50); err != nil {
		p.Versions.Error = denial(err)
	} else {
		p.Versions.List = vs
	}
	if err := c.allow("lambda:ListAliases", arn, nil); err != nil {
		p.Aliases.Denied = denial(err)
	} else if as, _, err := h.opt.Functions.ListAliases(ctx, ref.Name, "", "", 50); err != nil {
		p.Aliases.Error = denial(err)
	} else {
		p.Aliases.List = as
	}
	if h.opt.Logs != nil {
		evs, err := h.opt.Logs.Since(ref.Name, h.opt.Now().Add(-time.Hour), 0)
		if err != nil {
			p.Logs.Error = "the logs could not be read"
		}
		if len(evs) > 200 {
			evs = evs[len(evs)-200:]
		}
		for _, e := range evs {
			p.Logs.Lines = append(p.Logs.Lines, logLineOf(e.Time, e.RequestID, e.Message))
		}
	}
	st := c.stats().Functions[ref.Name]
	p.Warm, p.Envs = st.Idle, st.Environments
	if h.opt.Series != nil {
		pts, total := h.opt.Series.History(ref.Name)
		p.Charts = []chartView{
			{"Requests", fmt.Sprint(total.Requests), countChart(pts, 260, 60)},
			{"Errors (5xx)", fmt.Sprint(total.Errors), seriesChart(pts, 260, 60, func(p series.Point) float64 { return float64(p.Errors) }, "#c62828")},
			{"Throttles", fmt.Sprint(total.Throttles), seriesChart(pts, 260, 60, func(p series.Point) float64 { return float64(p.Throttles) }, "#ef6c00")},
			{"Latency p50 / p99", fmtDuration(total.P50) + " / " + fmtDuration(total.P99), latencyChart(pts, 260, 60)},
		}
	}
	return p, nil
}

func logLineOf(t time.Time, id, msg string) logLine {
	l := logLine{Time: t, RequestID: id, Message: msg}
	for _, k := range []string{"START", "END", "REPORT", "INIT_START"} {
		if strings.HasPrefix(msg, k+" ") {
			l.Kind = "platform"
		}
	}
	return l
}

func urlViewOf(h *Handler, u *store.URLRecord) urlView {
	return urlView{URL: h.opt.Functions.FunctionURL(u.URLID), AuthType: u.AuthType, Qualifier: u.Qualifier,
		InvokeMode: u.InvokeMode, Cors: u.Cors, RateLimit: u.RateLimit, Burst: u.Burst}
}

// statementsOf summarises a resource policy's statements for display.
func statementsOf(doc []byte) []policyStatement {
	var d struct {
		Statement []map[string]json.RawMessage
	}
	if json.Unmarshal(doc, &d) != nil {
		return nil
	}
	var out []policyStatement
	str := func(m map[string]json.RawMessage, k string) string {
		raw, ok := m[k]
		if !ok {
			return ""
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	for _, st := range d.Statement {
		out = append(out, policyStatement{Sid: str(st, "Sid"), Effect: str(st, "Effect"),
			Principal: str(st, "Principal"), Action: str(st, "Action"), Condition: str(st, "Condition")})
	}
	return out
}

func (h *Handler) functionPageWith(c *call, name string, res *invokeResult, event string) {
	p, err := h.loadFunctionPage(c, name)
	if err != nil {
		c.fail(err)
		return
	}
	p.Result = res
	p.CSRF = c.s.csrf
	if event != "" {
		p.TestEvent = event
	}
	status := http.StatusOK
	if p.Denied != "" {
		status = http.StatusForbidden
	}
	c.render(status, "function", p.Name, "functions", p)
}

// invokeResult is what an invocation from the console returned.
type invokeResult struct {
	Title      string
	RequestID  string
	Status     int
	Error      string
	Payload    string
	FuncError  string
	Log        string
	Cold       bool
	Duration   time.Duration
	Init       time.Duration
	Denied     string
	HTTP       *httpView // edit and send: the HTTP response
	RecordLink string
}

// invoke runs the function with a test event (lambda:InvokeFunction on the qualified ARN,
// with the function's resource policy, as the Invoke API authorizes it).
func (h *Handler) invoke(c *call, name string) {
	event := c.r.PostFormValue("event")
	qualifier := strings.TrimSpace(c.r.PostFormValue("qualifier"))
	if strings.TrimSpace(event) == "" {
		event = "{}"
	}
	res := h.invokeEvent(c, name, qualifier, []byte(event))
	res.Title = "Test invocation"
	h.functionPageWith(c, name, res, event)
}

// invokeEvent authorizes and runs one invocation with payload through the pool.
func (h *Handler) invokeEvent(c *call, name, qualifier string, payload []byte) *invokeResult {
	ctx := c.r.Context()
	res := &invokeResult{}
	ref, err := h.opt.Functions.ParseRef(name, qualifier)
	if err != nil {
		res.Error = denial(err)
		return res
	}
	var policy []byte
	if doc, _, err := h.opt.Functions.GetPolicy(ctx, ref); err == nil {
		policy = doc
	}
	if err := c.allow("lambda:InvokeFunction", h.opt.Functions.ARN(ref.Name, ref.Qualifier), policy); err != nil {
		res.Denied = denial(err)
		return res
	}
	if !json.Valid(payload) {
		res.Error = "InvalidRequestContentException: Could not parse request body into json"
		return res
	}
	if len(payload) > 6<<20 {
		res.Error = "RequestTooLargeException: the event must be smaller than 6 MB"
		return res
	}
	inv, err := h.opt.Functions.Resolve(ctx, ref)
	if err != nil {
		res.Error = denial(err)
		return res
	}
	res.RequestID = uuid.NewString()
	out, err := h.opt.Invoker.Invoke(ctx, inv.Target, &pool.Request{RequestID: res.RequestID, Payload: payload, InvokedFunctionARN: inv.InvokedARN})
	if err != nil {
		var ae *awserr.Error
		if e := awserr.As(err); e != nil {
			ae = e
		}
		res.Error = ae.Code + ": " + ae.Message
		return res
	}
	if out.Stream != nil {
		_ = out.Stream.Close()
	}
	res.Status, res.Payload, res.FuncError, res.Log = http.StatusOK, prettyJSON(out.Payload), out.FunctionError, string(out.Log)
	res.Cold, res.Duration, res.Init = out.ColdStart, out.Duration, out.InitDuration
	return res
}

// logsStream follows the function's logs as server-sent events (lambda:GetFunction, as the
// logs endpoint).
func (h *Handler) logsStream(c *call, name string) {
	ref, err := h.opt.Functions.ParseRef(name, "")
	if err == nil {
		err = c.allow("lambda:GetFunction", h.opt.Functions.ARN(ref.Name, ""), nil)
	}
	if err != nil {
		http.Error(c.w, denial(err), controlapi.WireError(err).Status)
		return
	}
	if h.opt.Logs == nil {
		http.Error(c.w, "no logs", http.StatusNotFound)
		return
	}
	sse, ok := newSSE(c.w)
	if !ok {
		return
	}
	_ = h.opt.Logs.Follow(c.r.Context(), ref.Name, h.opt.Now(), func(e invocationlog.Event) error {
		b, _ := json.Marshal(logLineOf(e.Time, e.RequestID, e.Message))
		return sse.send("log", b)
	})
}
