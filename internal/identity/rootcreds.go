package identity

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RootCredentialsFile is the name of the file, in the data directory, that keeps the generated
// root key pair. It is an AWS shared-credentials file, so AWS_SHARED_CREDENTIALS_FILE can point
// at it.
const RootCredentialsFile = "root-credentials"

// EnsureRootCredentials returns the root key pair kept in dataDir, creating it (mode 0600) with
// fresh random keys when it does not exist yet; created reports that it did.
func EnsureRootCredentials(dataDir string) (id, secret string, created bool, err error) {
	if id, secret, err = ReadRootCredentials(dataDir); !errors.Is(err, fs.ErrNotExist) {
		return id, secret, false, err
	}
	path := filepath.Join(dataDir, RootCredentialsFile)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", "", false, fmt.Errorf("identity: root credentials: %w", err)
	}
	if id, err = NewAccessKeyID(rand.Reader, PrefixAccessKey); err != nil {
		return "", "", false, err
	}
	if secret, err = NewSecret(rand.Reader); err != nil {
		return "", "", false, err
	}
	content := fmt.Sprintf("# furl account root credentials (generated). Use with:\n"+
		"#   AWS_SHARED_CREDENTIALS_FILE=%s aws --endpoint-url http://<addr> ...\n"+
		"[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", path, id, secret)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race: use its pair
			return EnsureRootCredentials(dataDir)
		}
		return "", "", false, fmt.Errorf("identity: root credentials: %w", err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(path)
		return "", "", false, fmt.Errorf("identity: root credentials: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", "", false, fmt.Errorf("identity: root credentials: %w", err)
	}
	return id, secret, true, nil
}

func parseCredentialsFile(b []byte) (id, secret string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || secret == "" {
		return "", "", errors.New("missing aws_access_key_id or aws_secret_access_key")
	}
	return id, secret, nil
}

// ReadRootCredentials reads the root key pair a server keeps in dataDir, without creating it.
func ReadRootCredentials(dataDir string) (id, secret string, err error) {
	path := filepath.Join(dataDir, RootCredentialsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("identity: root credentials: %w", err)
	}
	id, secret, err = parseCredentialsFile(b)
	if err != nil {
		return "", "", fmt.Errorf("identity: root credentials %s: %w", path, err)
	}
	return id, secret, nil
}
