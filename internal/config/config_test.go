package config

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"bad addr", func(c *Config) { c.Addr = "nope" }, "--addr"},
		{"bad account", func(c *Config) { c.AccountID = "123" }, "12 digits"},
		{"no region", func(c *Config) { c.Region = "" }, "--region"},
		{"zero concurrency", func(c *Config) { c.MaxConcurrency = 0 }, "--max-concurrency"},
		{"half a root key", func(c *Config) { c.RootAccessKeyID = "AKIA" }, "both"},
		{"url domain", func(c *Config) { c.URLDomain = "furl.example.com" }, ""},
		{"url domain with scheme", func(c *Config) { c.URLDomain = "http://furl.example.com" }, "--url-domain"},
		{"url domain with port", func(c *Config) { c.URLDomain = "localhost:9000" }, "--url-domain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{"FURL_ROOT_ACCESS_KEY_ID": "AK", "FURL_ROOT_SECRET_ACCESS_KEY": "SK", "FURL_DATA_DIR": "/d", "PATH": "/bin"}
	c := Default()
	c.ApplyEnv(func(k string) string { return env[k] })
	if c.RootAccessKeyID != "AK" || c.RootSecretAccessKey != "SK" || c.DataDir != "/d" || c.FunctionPath != "/bin" {
		t.Fatalf("ApplyEnv: %+v", c)
	}
}

func TestTrustedProxiesFlag(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--trusted-proxies", "10.0.0.0/8, 127.0.0.1,::1", "--trusted-proxies", "192.0.2.0/24"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range c.TrustedProxies {
		got = append(got, n.String())
	}
	if want := "10.0.0.0/8 127.0.0.1/32 ::1/128 192.0.2.0/24"; strings.Join(got, " ") != want {
		t.Fatalf("TrustedProxies = %v, want %s", got, want)
	}
	for _, bad := range []string{"nope", "10.0.0.0/33", "1.2.3.4/x"} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c := Default()
		c.RegisterFlags(fs)
		if err := fs.Parse([]string{"--trusted-proxies", bad}); err == nil || !strings.Contains(err.Error(), "trusted-proxies") {
			t.Errorf("--trusted-proxies %q: err = %v", bad, err)
		}
	}
}

// Functions run sandboxed unless the operator says otherwise (--sandbox=off or FURL_SANDBOX=off).
func TestSandboxOnByDefault(t *testing.T) {
	c := Default()
	if c.Sandbox != "on" {
		t.Fatalf("default Sandbox = %q, want on", c.Sandbox)
	}
	c.ApplyEnv(func(k string) string {
		if k == "FURL_SANDBOX" {
			return "off"
		}
		return ""
	})
	if c.Sandbox != "off" {
		t.Fatalf("FURL_SANDBOX=off: Sandbox = %q", c.Sandbox)
	}
}
