package httpd

import "testing"

func TestCSVSafeKeepsNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"-12.5": "-12.5", "-3": "-3", "0": "0", "=1+2": "'=1+2", "-2+3": "'-2+3", "-1e5": "'-1e5",
		"+7": "'+7", "@x": "'@x", "-": "'-", "--1": "'--1", "": "",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReportCells(t *testing.T) {
	for _, tc := range []struct {
		c         reportCell
		text, raw string
	}{
		{countCell(1234567), "1\u00a0234\u00a0567", "1234567"},
		{countCell(0), "0", "0"},
		{moneyCell(123450), "1\u00a0234.50", "1234.50"},
		{moneyCell(-5), "-0.05", "-0.05"},
		{moneyCell(-150000), "-1\u00a0500.00", "-1500.00"},
		{floatCell(15.5), "15.5", "15.5"},
		{floatCell(3), "3", "3"},
		{percentCell(1, 3), "33.3%", "33.3"},
		{percentCell(1, 0), "–", ""},
	} {
		if tc.c.Text != tc.text || tc.c.Raw != tc.raw {
			t.Errorf("cell %q / %q, want %q / %q", tc.c.Text, tc.c.Raw, tc.text, tc.raw)
		}
	}
}
