package visits

import (
	"net/mail"
	"strings"
)

// NormalizeEmail checks a bare email address (no display name) and returns
// it in lower case.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if err := checkText("email", s, MaxEmail); err != nil {
		return "", err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", invalid("email %q is not an email address", s)
	}
	at := strings.LastIndexByte(s, '@')
	if domain := s[at+1:]; !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", invalid("email %q has no domain", s)
	}
	return s, nil
}
