package inspect

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func rec(fn, id string) *Record { return &Record{Function: fn, RequestID: id} }

func ids(rs []*Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.RequestID)
	}
	return out
}

func TestRecentBoundedNewestFirst(t *testing.T) {
	s := NewStore(Options{PerFunction: 3})
	for i := 1; i <= 5; i++ {
		s.Finish(rec("f", fmt.Sprint(i)))
	}
	s.Finish(rec("g", "g1"))
	s.Finish(rec("", "unknown")) // no function: not kept
	if diff := cmp.Diff([]string{"5", "4", "3"}, ids(s.Recent("f"))); diff != "" {
		t.Errorf("Recent(f) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"g1"}, ids(s.Recent("g"))); diff != "" {
		t.Errorf("Recent(g) (-want +got):\n%s", diff)
	}
	if s.Get("5") == nil || s.Get("1") != nil || s.Get("unknown") != nil {
		t.Errorf("Get: evicted records must be gone, kept ones found")
	}
	if s.Recent("nope") != nil {
		t.Error("Recent of an unknown function")
	}
}

func TestMaxFunctions(t *testing.T) {
	s := NewStore(Options{PerFunction: 2, MaxFunctions: 2})
	s.Finish(rec("a", "a1"))
	s.Finish(rec("b", "b1"))
	s.Finish(rec("c", "c1"))
	if s.Recent("a") != nil || s.Get("a1") != nil {
		t.Error("oldest function should be forgotten")
	}
	if len(s.Recent("b")) != 1 || len(s.Recent("c")) != 1 {
		t.Error("newer functions kept")
	}
}

func TestSubscribe(t *testing.T) {
	s := NewStore(Options{SubscriberBuffer: 2})
	if s.Watched() {
		t.Fatal("watched with no subscriber")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.Subscribe(ctx)
	if !s.Watched() {
		t.Fatal("not watched with a subscriber")
	}
	// A slow subscriber: the third record is dropped, Finish never blocks.
	done := make(chan struct{})
	go func() {
		for i := 0; i < 3; i++ {
			s.Finish(rec("f", fmt.Sprint(i)))
		}
		s.Finish(rec("", "anon")) // unknown URLs still reach subscribers... but buffer is full
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Finish blocked on a slow subscriber")
	}
	if got := (<-ch).RequestID; got != "0" {
		t.Errorf("first = %s", got)
	}
	if got := (<-ch).RequestID; got != "1" {
		t.Errorf("second = %s", got)
	}
	if s.Dropped() != 2 {
		t.Errorf("Dropped = %d, want 2", s.Dropped())
	}
	s.Finish(rec("", "anon"))
	if got := (<-ch).RequestID; got != "anon" {
		t.Errorf("unknown-URL record = %s", got)
	}
	cancel()
	for range ch { // closed after cancel
	}
	if s.Watched() {
		t.Error("still watched after cancel")
	}
	s.Finish(rec("f", "after")) // no send on the closed channel
}

func TestSubscribeConcurrent(t *testing.T) {
	s := NewStore(Options{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		ctx, cancel := context.WithCancel(context.Background())
		ch := s.Subscribe(ctx)
		go func() {
			defer wg.Done()
			for range ch {
			}
		}()
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				s.Finish(rec(fmt.Sprint("f", i%2), fmt.Sprint(i, "-", j)))
				_ = s.Recent("f0")
				_ = s.Get(fmt.Sprint(i, "-", j))
			}
			cancel()
		}(i)
	}
	wg.Wait()
}

func TestNilStore(t *testing.T) {
	var s *Store
	s.Finish(rec("f", "1"))
	if s.Recent("f") != nil || s.Get("1") != nil || s.Watched() || s.Dropped() != 0 {
		t.Error("nil store must be empty")
	}
}

func TestRedactHeader(t *testing.T) {
	h := http.Header{"Accept": {"*/*"}}
	if got := RedactHeader(h); &got == nil || got["Accept"][0] != "*/*" {
		t.Fatal("no-secret header changed")
	}
	h = http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIA.../..., Signature=abc"},
		"x-amz-security-token": {"tok"}, "Cookie": {"s=1", "t=2"}, "Accept": {"*/*"}}
	got := RedactHeader(h)
	want := http.Header{"Authorization": {Redacted}, "x-amz-security-token": {Redacted}, "Cookie": {Redacted, Redacted}, "Accept": {"*/*"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if h["Authorization"][0] == Redacted {
		t.Error("the request's own header was modified")
	}
}

func TestRedactQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a=1&b=2", "a=1&b=2"},
		{"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2024&X-Amz-Signature=abcd&x-amz-security-token=t&q",
			"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&x-amz-security-token=REDACTED&q"},
	} {
		if got := RedactQuery(tc.in); got != tc.want {
			t.Errorf("RedactQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCutAndAppend(t *testing.T) {
	b := Cut([]byte("hello"), 3)
	if string(b.Data) != "hel" || b.Size != 5 || !b.Truncated {
		t.Errorf("Cut = %+v", b)
	}
	var a Bytes
	a.Append([]byte("ab"), 3)
	a.Append([]byte("cd"), 3)
	a.Append([]byte("ef"), 3)
	if string(a.Data) != "abc" || a.Size != 6 || !a.Truncated {
		t.Errorf("Append = %+v", a)
	}
}

func FuzzRedactQuery(f *testing.F) {
	f.Add("X-Amz-Signature=abc&a=b")
	f.Add("&&x-amz-credential=&=")
	f.Fuzz(func(t *testing.T, q string) {
		out := RedactQuery(q)
		if !containsFold(q, "x-amz-") && out != q {
			t.Fatalf("changed %q -> %q", q, out)
		}
	})
}
