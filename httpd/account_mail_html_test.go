package httpd

import (
	"strings"
	"testing"

	"appliance/httpd/notice"
	"appliance/httpd/notice/mailtest"
)

// Whatever the words of an account's email hold (an inviter's name, an
// address, the server's host, a token), its HTML has only the elements
// and links the template writes: the button and the link written out,
// both to the link.
func FuzzAccountMailHTML(f *testing.F) {
	f.Add("Ann", "anna@example.com", "shop.example", "abc_DEF-123", "en")
	f.Add(`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, "</td></tr></table><a href=javascript:alert(1)>x</a>", `"onmouseover="x`, "ru")
	f.Add("\x00<!--", "]]>", "<style>*{}</style>", "&lt&gt;&amp", "</html>")
	f.Fuzz(func(t *testing.T, by, email, host, token, lang string) {
		v := accountMailView{Lang: lang, Subject: "Invitation to the dashboard of " + host,
			Intro:  by + " invites you to the dashboard at " + host + " as manager.",
			Open:   "Open this link to choose your password and sign in as " + email + "; it works once, for 7 days:",
			Button: "Accept the invitation", URL: "https://" + "shop.example/invite?token=" + token,
			Copy: "If the button does not work, open this link:", Note: by, Footer: "Sent by the appliance at " + host + "."}
		htm, err := notice.RenderHTML(accountMailTemplate, &v)
		if err != nil {
			t.Fatal(err)
		}
		h := mailtest.CheckHTML(t, htm)
		for text, href := range h.Links {
			if !strings.HasPrefix(href, "https://shop.example/invite?token=") {
				t.Errorf("%q links to %q", text, href)
			}
		}
		if len(h.Links) != 2 || h.Links["Accept the invitation"] == "" {
			t.Errorf("links %v, want the button and the link written out", h.Links)
		}
	})
}
