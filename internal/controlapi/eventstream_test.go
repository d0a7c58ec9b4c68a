package controlapi

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/google/go-cmp/cmp"
)

// TestEventStreamMatchesSDKDecoder decodes our frames with aws-sdk-go-v2's own event-stream
// decoder (the one the Lambda client uses for InvokeWithResponseStream).
func TestEventStreamMatchesSDKDecoder(t *testing.T) {
	tests := []struct {
		name    string
		frame   []byte
		event   string
		payload string
	}{
		{"chunk", PayloadChunk([]byte("hello")), "PayloadChunk", "hello"},
		{"empty chunk", PayloadChunk(nil), "PayloadChunk", ""},
		{"complete", InvokeComplete([]byte(`{"LogResult":"eA=="}`)), "InvokeComplete", `{"LogResult":"eA=="}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := eventstream.NewDecoder().Decode(bytes.NewReader(tt.frame), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := msg.Headers.Get(":event-type"); got == nil || got.String() != tt.event {
				t.Fatalf(":event-type = %v, want %s", got, tt.event)
			}
			if got := msg.Headers.Get(":message-type"); got == nil || got.String() != "event" {
				t.Fatalf(":message-type = %v", got)
			}
			if string(msg.Payload) != tt.payload {
				t.Fatalf("payload %q, want %q", msg.Payload, tt.payload)
			}
			h, p, n, ok := DecodeEvent(tt.frame)
			if !ok || n != len(tt.frame) || string(p) != tt.payload || h[0].Value != tt.event {
				t.Fatalf("DecodeEvent = %v %q %d %v", h, p, n, ok)
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(PayloadChunk([]byte("abc")))
	f.Add(InvokeComplete([]byte(`{}`)))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, p, n, ok := DecodeEvent(b)
		if !ok {
			return
		}
		if n > len(b) || n < 16 {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		if binary.BigEndian.Uint32(b[n-4:n]) != crc32.ChecksumIEEE(b[:n-4]) {
			t.Fatal("accepted a bad CRC")
		}
		// Re-encoding what we decoded gives the same bytes.
		if again := EncodeEvent(h, p); !cmp.Equal(again, b[:n]) {
			t.Fatalf("round trip differs:\n%x\n%x", again, b[:n])
		}
	})
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"10m", "2026-01-01T00:00:00Z", "1700000000000", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseSince(s, parseSinceNow)
	})
}

var parseSinceNow = mustTime("2026-11-26T00:00:00Z")
