package controlapi

import (
	"encoding/binary"
	"hash/crc32"
)

// AWS event-stream binary framing (application/vnd.amazon.eventstream), as botocore's
// EventStreamBuffer and smithy-go's eventstream decoder read it:
//
//	total length (4) | headers length (4) | prelude CRC32 (4) | headers | payload | message CRC32 (4)
//
// Each header: name length (1), name, value type (1; 7 = string), value length (2), value.
// Both CRCs are IEEE CRC32, the message CRC covering everything before it.

// EventHeader is one string-valued event-stream header.
type EventHeader struct{ Name, Value string }

// EncodeEvent frames one event-stream message.
func EncodeEvent(headers []EventHeader, payload []byte) []byte {
	hlen := 0
	for _, h := range headers {
		hlen += 1 + len(h.Name) + 1 + 2 + len(h.Value)
	}
	total := 12 + hlen + len(payload) + 4
	b := make([]byte, 0, total)
	b = binary.BigEndian.AppendUint32(b, uint32(total))
	b = binary.BigEndian.AppendUint32(b, uint32(hlen))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[:8]))
	for _, h := range headers {
		b = append(b, byte(len(h.Name)))
		b = append(b, h.Name...)
		b = append(b, 7)
		b = binary.BigEndian.AppendUint16(b, uint16(len(h.Value)))
		b = append(b, h.Value...)
	}
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// PayloadChunk frames a PayloadChunk event carrying p.
func PayloadChunk(p []byte) []byte {
	return EncodeEvent([]EventHeader{
		{":event-type", "PayloadChunk"}, {":content-type", "application/octet-stream"}, {":message-type", "event"},
	}, p)
}

// InvokeComplete frames the InvokeComplete event with its JSON body.
func InvokeComplete(body []byte) []byte {
	return EncodeEvent([]EventHeader{
		{":event-type", "InvokeComplete"}, {":content-type", "application/json"}, {":message-type", "event"},
	}, body)
}

// DecodeEvent parses one message from the front of b, returning its headers, payload and the
// bytes consumed; ok is false when b does not start with a complete, valid message.
func DecodeEvent(b []byte) (headers []EventHeader, payload []byte, n int, ok bool) {
	if len(b) < 16 {
		return nil, nil, 0, false
	}
	total := int(binary.BigEndian.Uint32(b[0:4]))
	hlen := int(binary.BigEndian.Uint32(b[4:8]))
	if total < 16 || total > len(b) || hlen > total-16 || crc32.ChecksumIEEE(b[:8]) != binary.BigEndian.Uint32(b[8:12]) {
		return nil, nil, 0, false
	}
	if crc32.ChecksumIEEE(b[:total-4]) != binary.BigEndian.Uint32(b[total-4:total]) {
		return nil, nil, 0, false
	}
	h := b[12 : 12+hlen]
	for len(h) > 0 {
		nl := int(h[0])
		if len(h) < 1+nl+3 || h[1+nl] != 7 {
			return nil, nil, 0, false
		}
		name := string(h[1 : 1+nl])
		vl := int(binary.BigEndian.Uint16(h[2+nl : 4+nl]))
		if len(h) < 4+nl+vl {
			return nil, nil, 0, false
		}
		headers = append(headers, EventHeader{name, string(h[4+nl : 4+nl+vl])})
		h = h[4+nl+vl:]
	}
	return headers, b[12+hlen : total-4], total, true
}
