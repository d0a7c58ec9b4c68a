package pool_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/furl/furl/internal/pool"
)

// credsSource hands out numbered sessions that last life from now, and records its calls.
type credsSource struct {
	mu    sync.Mutex
	life  time.Duration
	calls []string
	fail  error
}

func (c *credsSource) get(_ context.Context, role, function string) (pool.Creds, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return pool.Creds{}, c.fail
	}
	c.calls = append(c.calls, role+"|"+function)
	n := strconv.Itoa(len(c.calls))
	return pool.Creds{AccessKeyID: "ASIATEST" + n, SecretAccessKey: "secret" + n, SessionToken: "token" + n,
		Expiration: time.Now().Add(c.life)}, nil
}

func envOf(t *testing.T, h *harness, tg *pool.Target) (map[string]string, *pool.Result) {
	t.Helper()
	res := invoke(t, h, tg, `{"op":"context"}`)
	var got struct {
		Env map[string]string `json:"env"`
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("%v: %s", err, res.Payload)
	}
	return got.Env, res
}

// TestExecutionRoleCredentials: each environment gets its role's session and furl's endpoint;
// an environment whose session would expire within an invocation's timeout plus the margin is
// retired and the next request runs on a fresh environment with a fresh session.
func TestExecutionRoleCredentials(t *testing.T) {
	const role = "arn:aws:iam::000000000000:role/fn-role"
	t.Run("long session: one environment, one session", func(t *testing.T) {
		src := &credsSource{life: time.Hour}
		h := newPool(t, pool.Config{Credentials: src.get, CredentialsMargin: time.Minute,
			EndpointURL: func() string { return "http://127.0.0.1:9000" }})
		tg := goTarget("creds")
		tg.Role = role
		tg.Environment["AWS_ACCESS_KEY_ID"] = "from-config" // reserved: the role's wins
		for i := 0; i < 3; i++ {
			env, res := envOf(t, h, tg)
			if res.ColdStart != (i == 0) {
				t.Errorf("invoke %d: cold start %v", i, res.ColdStart)
			}
			if env["AWS_ACCESS_KEY_ID"] != "ASIATEST1" || env["AWS_SECRET_ACCESS_KEY"] != "secret1" ||
				env["AWS_SESSION_TOKEN"] != "token1" || env["AWS_ENDPOINT_URL"] != "http://127.0.0.1:9000" {
				t.Errorf("invoke %d: env %v", i, env)
			}
		}
		if len(src.calls) != 1 || src.calls[0] != role+"|creds" {
			t.Errorf("sessions asked for: %v", src.calls)
		}
	})
	t.Run("short session: retired after each use", func(t *testing.T) {
		// 3 s timeout + 1 min margin > 30 s life: no environment may take a second invocation.
		src := &credsSource{life: 30 * time.Second}
		h := newPool(t, pool.Config{Credentials: src.get, CredentialsMargin: time.Minute})
		tg := goTarget("short")
		tg.Role = role
		for i := 1; i <= 3; i++ {
			env, res := envOf(t, h, tg)
			if !res.ColdStart || env["AWS_ACCESS_KEY_ID"] != "ASIATEST"+strconv.Itoa(i) {
				t.Errorf("invoke %d: cold start %v, key %q", i, res.ColdStart, env["AWS_ACCESS_KEY_ID"])
			}
		}
	})
	t.Run("no role, no credentials", func(t *testing.T) {
		src := &credsSource{life: time.Hour}
		h := newPool(t, pool.Config{Credentials: src.get})
		env, _ := envOf(t, h, goTarget("norole"))
		if env["AWS_ACCESS_KEY_ID"] != "" || env["AWS_ENDPOINT_URL"] != "" || len(src.calls) != 0 {
			t.Errorf("env %v, calls %v", env, src.calls)
		}
	})
	t.Run("session refused: init fails", func(t *testing.T) {
		src := &credsSource{fail: errors.New("role gone")}
		h := newPool(t, pool.Config{Credentials: src.get})
		tg := goTarget("gone")
		tg.Role = role
		res, err := h.p.Invoke(context.Background(), tg, &pool.Request{Payload: []byte(`{}`)})
		if err != nil || res.FunctionError == "" {
			t.Fatalf("res %+v, err %v", res, err)
		}
	})
}
