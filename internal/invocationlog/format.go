package invocationlog

import (
	"math"
	"strconv"
	"time"
)

// AppendStart appends "START RequestId: <id> Version: <version>".
func AppendStart(b []byte, requestID, version string) []byte {
	b = append(b, "START RequestId: "...)
	b = append(b, requestID...)
	b = append(b, " Version: "...)
	return append(b, version...)
}

// AppendEnd appends "END RequestId: <id>".
func AppendEnd(b []byte, requestID string) []byte {
	b = append(b, "END RequestId: "...)
	return append(b, requestID...)
}

// Report is what a REPORT line says about one invocation.
type Report struct {
	RequestID    string
	Duration     time.Duration
	MemoryMB     int
	MaxMemoryMB  int
	InitDuration time.Duration // > 0 only on a cold start
	// Status is "" for success, "timeout" or "error"; ErrorType goes with "error".
	Status    string
	ErrorType string
}

// AppendReport appends a REPORT line exactly as Lambda writes it: TAB-separated fields and a
// trailing TAB, Init Duration only on cold starts, Status (and Error Type) only on failures.
func AppendReport(b []byte, r Report) []byte {
	b = append(b, "REPORT RequestId: "...)
	b = append(b, r.RequestID...)
	b = append(b, "\tDuration: "...)
	b = appendMillis(b, r.Duration)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, BilledMillis(r.Duration), 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(r.MemoryMB), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, int64(r.MaxMemoryMB), 10)
	b = append(b, " MB\t"...)
	if r.InitDuration > 0 {
		b = append(b, "Init Duration: "...)
		b = appendMillis(b, r.InitDuration)
		b = append(b, " ms\t"...)
	}
	if r.Status != "" {
		b = append(b, "Status: "...)
		b = append(b, r.Status...)
		b = append(b, '\t')
		if r.ErrorType != "" {
			b = append(b, "Error Type: "...)
			b = append(b, r.ErrorType...)
			b = append(b, '\t')
		}
	}
	return b
}

// AppendInitReport appends "INIT_REPORT Init Duration: X ms\tPhase: init|invoke\tStatus: error|timeout[\tError Type: T]".
func AppendInitReport(b []byte, d time.Duration, phase, status, errorType string) []byte {
	b = append(b, "INIT_REPORT Init Duration: "...)
	b = appendMillis(b, d)
	b = append(b, " ms\tPhase: "...)
	b = append(b, phase...)
	b = append(b, "\tStatus: "...)
	b = append(b, status...)
	if errorType != "" {
		b = append(b, "\tError Type: "...)
		b = append(b, errorType...)
	}
	return b
}

// AppendTimedOut appends "<RFC3339 millis> <id> Task timed out after 3.00 seconds".
func AppendTimedOut(b []byte, at time.Time, requestID string, timeout time.Duration) []byte {
	b = at.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, ' ')
	b = append(b, requestID...)
	b = append(b, " Task timed out after "...)
	b = strconv.AppendFloat(b, timeout.Seconds(), 'f', 2, 64)
	return append(b, " seconds"...)
}

// BilledMillis is ceil(d) in whole milliseconds, at least 1.
func BilledMillis(d time.Duration) int64 {
	ms := int64(math.Ceil(float64(d) / float64(time.Millisecond)))
	if ms < 1 {
		ms = 1
	}
	return ms
}

func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 2, 64)
}
