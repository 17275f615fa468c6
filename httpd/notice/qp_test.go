package notice

import (
	"testing"

	"appliance/httpd/notice/mailtest"
)

// decodeQP is the text of a message Message wrote.
func decodeQP(t *testing.T, raw []byte) string {
	t.Helper()
	_, text, _ := mailtest.Read(t, raw)
	return text
}
