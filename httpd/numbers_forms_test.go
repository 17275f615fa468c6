package httpd

import (
	"fmt"
	"testing"
)

// The forms the snippet copies a number's format with: each way the site
// number is written maps to the replacement in that form, or to "" (the
// snippet shows the replacement's text) when it cannot be written so.
func TestReplacementForms(t *testing.T) {
	ru := phoneForms{Raw: "74872751404", CC: "7", NSN: "4872751404", Trunk: "8"}
	tests := []struct {
		name string
		n    phoneAnswer
		want string
	}{
		{"same country and length", phoneAnswer{Site: ru, CC: "7", NSN: "4950000001", Trunk: "8"},
			"map[4872751404:4950000001 74872751404:74950000001 84872751404:84950000001]"},
		{"a replacement without a trunk prefix", phoneAnswer{Site: ru, CC: "7", NSN: "9161234567"},
			"map[4872751404:9161234567 74872751404:79161234567 84872751404:]"},
		{"another length", phoneAnswer{Site: ru, CC: "7", NSN: "495000001", Trunk: "8"},
			"map[4872751404: 74872751404: 84872751404:]"},
		{"another country", phoneAnswer{Site: ru, CC: "1", NSN: "2025550123", Trunk: "1"},
			"map[4872751404: 74872751404: 84872751404:]"},
		{"a site number without trunk prefix", phoneAnswer{Site: phoneForms{CC: "44", NSN: "2071234567"}, CC: "44", NSN: "2079460000", Trunk: "0"},
			"map[2071234567:2079460000 442071234567:442079460000]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(replacementForms(tt.n)); got != tt.want {
				t.Errorf("forms %s, want %s", got, tt.want)
			}
		})
	}
}
