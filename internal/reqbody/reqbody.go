// Package reqbody reads HTTP request bodies the way furl's API planes need them: within a
// per-operation size limit, inside a server-wide memory budget (so that many large bodies at
// once cannot exhaust memory), into a buffer sized once from Content-Length, and hashed as they
// are read so a signed x-amz-content-sha256 can be checked without a second pass.
package reqbody

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
)

// ErrTooLarge is returned (wrapped) when a body exceeds its limit.
var ErrTooLarge = errors.New("reqbody: body too large")

// Budget bounds the bytes of request bodies held in memory at once. A reader reserves its
// body's size (Content-Length, or the limit when unknown) before reading and releases it when
// done; reservations past the budget wait. Bodies at or below Small bytes are not counted (they
// are what every ordinary request carries). The zero value is not usable: use NewBudget.
type Budget struct {
	mu      sync.Mutex
	free    int64
	total   int64
	small   int64
	changed chan struct{} // closed and replaced whenever free grows
}

// NewBudget returns a budget of total bytes; bodies of at most small bytes bypass it.
func NewBudget(total, small int64) *Budget {
	return &Budget{free: total, total: total, small: small, changed: make(chan struct{})}
}

// acquire reserves n bytes, waiting until they are free or ctx ends. A reservation larger than
// the whole budget waits for all of it.
func (b *Budget) acquire(ctx context.Context, n int64) (int64, error) {
	if b == nil || n <= b.small {
		return 0, nil
	}
	n = min(n, b.total)
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return n, nil
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (b *Budget) release(n int64) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// Body is a request body read into memory.
type Body struct {
	Bytes []byte
	// SHA256 is the lowercase hex SHA-256 of Bytes.
	SHA256 string
}

// Read reads r's body, at most limit bytes, within budget (nil: no budget). A body longer than
// limit fails with an error wrapping ErrTooLarge (and *http.MaxBytesError); w may be nil.
func Read(ctx context.Context, w http.ResponseWriter, r *http.Request, limit int64, budget *Budget) (*Body, error) {
	want := limit
	if r.ContentLength >= 0 {
		if r.ContentLength > limit {
			return nil, fmt.Errorf("%w: %d > %d", ErrTooLarge, r.ContentLength, limit)
		}
		want = r.ContentLength
	}
	held, err := budget.acquire(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("reqbody: waiting for memory: %w", err)
	}
	defer budget.release(held)
	var src io.Reader = r.Body
	if w != nil {
		src = http.MaxBytesReader(w, r.Body, limit)
	} else {
		src = io.LimitReader(r.Body, limit+1)
	}
	h := sha256.New()
	buf, err := readAll(io.TeeReader(src, h), want, limit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
		return nil, fmt.Errorf("reqbody: read: %w", err)
	}
	return &Body{Bytes: buf, SHA256: sum(h)}, nil
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// readAll reads src to EOF into a buffer of size hint (grown only when the body is chunked),
// failing past limit.
func readAll(src io.Reader, hint, limit int64) ([]byte, error) {
	capacity := hint
	if capacity > 512<<10 && hint == limit { // unknown length: do not reserve the whole limit up front
		capacity = 512 << 10
	}
	buf := make([]byte, 0, capacity+1) // +1: the read that sees EOF needs no growth
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
