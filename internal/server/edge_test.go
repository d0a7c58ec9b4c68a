package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/furl/furl/internal/config"
)

// TestBodySlowloris: callers that open a body and stop sending are cut off after the idle
// timeout, and while they hold every connection slot other callers are still served soon after.
func TestBodySlowloris(t *testing.T) {
	const tricklers = 200
	addr := startServer(t, func(c *config.Config) {
		c.BodyIdleTimeout = time.Second
		c.MaxConnections = 100
	})
	var wg sync.WaitGroup
	cut := make(chan time.Duration, tricklers)
	for range tricklers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			start := time.Now()
			// Signed (with a declared payload hash), so furl accepts the headers and reads the body.
			r, _ := http.NewRequest("POST", "http://"+addr+"/2015-03-31/functions", nil)
			r.ContentLength = 1000000
			const declared = "0000000000000000000000000000000000000000000000000000000000000000"
			r.Header.Set("X-Amz-Content-Sha256", declared)
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAFURLTESTROOT0000", SecretAccessKey: "furl-test-secret"},
				r, declared, "lambda", "us-east-1", time.Now()); err != nil {
				t.Error(err)
				return
			}
			fmt.Fprintf(c, "POST /2015-03-31/functions HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000000\r\n", addr)
			for k, v := range r.Header {
				fmt.Fprintf(c, "%s: %s\r\n", k, v[0])
			}
			fmt.Fprintf(c, "\r\n{")
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, _ = io.Copy(io.Discard, c) // returns when the server closes the connection
			cut <- time.Since(start)
		}()
	}
	time.Sleep(500 * time.Millisecond)
	client := &http.Client{Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Get("http://" + addr + "/lambda-url/abcdefghijklmnopqrstuvwxyz0abcde/")
	if err != nil {
		t.Fatalf("an ordinary caller was not served while tricklers held the server: %v", err)
	}
	resp.Body.Close()
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("ordinary request took %v", d)
	}
	wg.Wait()
	close(cut)
	longest := time.Duration(0)
	n := 0
	for d := range cut {
		n++
		longest = max(longest, d)
	}
	if n > 0 && longest > 12*time.Second {
		t.Errorf("a trickling body held its connection %v; want it cut after the idle timeout", longest)
	}
	t.Logf("%d tricklers, longest held %v", n, longest)
}

func TestConnectionCap(t *testing.T) {
	for _, tt := range []struct {
		nofile uint64
		want   int
	}{{1024, 768}, {20000, 15000}, {256, 64}, {1 << 20, 786432}} {
		if got := connectionCap(tt.nofile); got != tt.want {
			t.Errorf("connectionCap(%d) = %d, want %d", tt.nofile, got, tt.want)
		}
	}
}
