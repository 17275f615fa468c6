package assets

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// The overview's charts (httpd/dash_reports_overview.go) draw these series
// together: each pair of one chart must be told apart by its colour alone,
// in the light theme and in the dark one (a dashed line helps only where
// two lines lie apart, and a legend's swatch or a dot has no dash).
var chartSeries = [][]string{
	{"sessions", "visitors"},
	{"calls", "leads", "callbacks", "sales"},
}

// minSeriesDistance is the least CIE76 colour difference (ΔE*ab) between
// two series of a chart: 2.3 is "just noticeable" side by side, thin lines
// and 8-pixel dots need far more; 20 keeps hues apart (light leads and sales
// were two oranges 13.8 apart).
const minSeriesDistance = 20

var (
	rootVars   = regexp.MustCompile(`:root\s*\{([^}]*)\}`)
	seriesVar  = regexp.MustCompile(`--s-([a-z]+):\s*#([0-9a-fA-F]{6})`)
	darkScheme = regexp.MustCompile(`@media \(prefers-color-scheme: dark\)\s*\{\s*:root\s*\{([^}]*)\}`)
)

func TestChartSeriesColoursApart(t *testing.T) {
	css, err := FS.ReadFile("dashboard/reports.css")
	if err != nil {
		t.Fatal(err)
	}
	light := rootVars.FindSubmatch(css)
	dark := darkScheme.FindSubmatch(css)
	if light == nil || dark == nil {
		t.Fatal("reports.css: no :root series colours for the light and the dark theme")
	}
	for _, theme := range []struct {
		name string
		vars []byte
	}{{"light", light[1]}, {"dark", dark[1]}} {
		colours := map[string][3]float64{}
		for _, m := range seriesVar.FindAllSubmatch(theme.vars, -1) {
			colours[string(m[1])] = cieLab(string(m[2]))
		}
		for _, chart := range chartSeries {
			for i, a := range chart {
				ca, ok := colours[a]
				if !ok {
					t.Fatalf("%s theme: no --s-%s", theme.name, a)
				}
				for _, b := range chart[i+1:] {
					cb, ok := colours[b]
					if !ok {
						t.Fatalf("%s theme: no --s-%s", theme.name, b)
					}
					if d := math.Sqrt(sq(ca[0]-cb[0]) + sq(ca[1]-cb[1]) + sq(ca[2]-cb[2])); d < minSeriesDistance {
						t.Errorf("%s theme: %s and %s are %.1f apart (ΔE*ab), want at least %d", theme.name, a, b, d, minSeriesDistance)
					}
				}
			}
		}
	}
}

func sq(x float64) float64 { return x * x }

// cieLab is an sRGB colour (6 hex digits) in CIE L*a*b* under D65.
func cieLab(hex string) [3]float64 {
	var rgb [3]float64
	for i := range rgb {
		v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		rgb[i] = c
	}
	x := (0.4124*rgb[0] + 0.3576*rgb[1] + 0.1805*rgb[2]) / 0.95047
	y := 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
	z := (0.0193*rgb[0] + 0.1192*rgb[1] + 0.9505*rgb[2]) / 1.08883
	f := func(v float64) float64 {
		if v > 0.008856 {
			return math.Cbrt(v)
		}
		return 7.787*v + 16.0/116
	}
	return [3]float64{116*f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))}
}
