package httpd

import "testing"

// The snippet sends an image's computed style as the browser writes it;
// the picture takes its size and colours, and what it cannot read keeps
// the default.
func TestCSSStyle(t *testing.T) {
	tests := []struct {
		css       string
		size      int
		color, bg string
	}{
		{"20px;rgb(51, 102, 153);rgba(0, 0, 0, 0)", 20, "336699", ""},
		{"13.5px;rgba(255, 0, 0, 0.5);rgb(255, 255, 255)", 14, "ff0000", "ffffff"},
		{"16px;rgb(1 2 3 / 0.4);rgb(10 20 30 / 0)", 16, "010203", ""},
		{"16px;oklch(0.5 0.1 20);transparent", 16, "", ""},
		{"big;rgb(300, 0, 0);rgb(0, 0)", 0, "", ""},
		{"", 0, "", ""},
	}
	for _, tt := range tests {
		size, color, bg := cssStyle(tt.css)
		if size != tt.size || color != tt.color || bg != tt.bg {
			t.Errorf("cssStyle(%q) = %d, %q, %q; want %d, %q, %q", tt.css, size, color, bg, tt.size, tt.color, tt.bg)
		}
	}
}
