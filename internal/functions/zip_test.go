package functions

import (
	"archive/zip"
	"bytes"
	"testing"
)

func mustZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("app.py")
	w.Write([]byte("def handler(e, c):\n    return e\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
