package notice

import (
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// decodeQP is the text of a message Message wrote.
func decodeQP(t *testing.T, raw []byte) string {
	t.Helper()
	_, body, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok {
		t.Fatalf("no body:\n%s", raw)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
