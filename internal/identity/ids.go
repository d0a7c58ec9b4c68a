package identity

import (
	"encoding/base64"
	"fmt"
	"io"
)

// Unique-id and key prefixes AWS uses.
const (
	PrefixUser      = "AIDA"
	PrefixGroup     = "AGPA"
	PrefixRole      = "AROA"
	PrefixPolicy    = "ANPA"
	PrefixAccessKey = "AKIA"
	PrefixSessionID = "ASIA"
)

// idAlphabet is the alphabet of AWS unique ids and access key ids (upper-case base32).
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// randomID returns prefix followed by n characters of idAlphabet.
func randomID(r io.Reader, prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("identity: random id: %w", err)
	}
	out := make([]byte, 0, len(prefix)+n)
	out = append(out, prefix...)
	for _, c := range b {
		out = append(out, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(out), nil
}

// NewUniqueID returns a 21-character IAM unique id (AIDA…, AROA…, AGPA…, ANPA…).
func NewUniqueID(r io.Reader, prefix string) (string, error) { return randomID(r, prefix, 17) }

// NewAccessKeyID returns a 20-character access key id (AKIA… or ASIA…).
func NewAccessKeyID(r io.Reader, prefix string) (string, error) { return randomID(r, prefix, 16) }

// NewSecret returns a 40-character secret access key.
func NewSecret(r io.Reader) (string, error) {
	b := make([]byte, 30)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("identity: random secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// NewSessionToken returns an opaque session token (AWS's are a few hundred base64 characters).
func NewSessionToken(r io.Reader) (string, error) {
	b := make([]byte, 192)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("identity: random token: %w", err)
	}
	return "FwoGZXIvYXdzE" + base64.StdEncoding.EncodeToString(b), nil
}
