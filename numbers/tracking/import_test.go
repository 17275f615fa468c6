package tracking

import (
	"errors"
	"strings"
	"testing"

	"appliance/numbers"
)

func TestParseImport(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want []string // number, or "!" + value for a line that does not parse
	}{
		{"one per line", "74950000001\n+7 (495) 000-00-02\r\n\n# a comment\n8 495 000 00 03\n", []string{"74950000001", "74950000002", "74950000003"}},
		{"header, semicolons", "\ufeffНомер;Комментарий\n74950000001;реклама\n84950000002;\n", []string{"74950000001", "74950000002"}},
		{"header in second column, commas", "name,phone\nads 1,74950000001\nads 2,\"+7 495 000-00-02\"\n", []string{"74950000001", "74950000002"}},
		{"no header, number column found", "ads 1\t74950000001\nads 2\t74950000002\n", []string{"74950000001", "74950000002"}},
		{"bad lines kept with their error", "number\n74950000001\nhello\n,\n", []string{"74950000001", "!hello"}},
		{"short row", "comment,number\nonly a comment\n", []string{"!"}},
		{"empty", "", nil},
		// Excel's CSV in a Russian locale: Windows-1251, "Номер;Комментарий".
		{"windows-1251", "\xcd\xee\xec\xe5\xf0;\xca\xee\xec\xec\xe5\xed\xf2\xe0\xf0\xe8\xe9\r\n74950000001;\xf0\xe5\xea\xeb\xe0\xec\xe0\r\n", []string{"74950000001"}},
		// An operator's export, its columns named as the operator names them.
		{"header of other names", "Номер телефона;Тариф;Регион\n8 (495) 000-00-01;Безлимит;Москва\n+7 495 000-00-02;Безлимит;Москва\n", []string{"74950000001", "74950000002"}},
		{"header of other names, number second", "Тариф,Абонентский номер\nБезлимит,4950000001\n", []string{"74950000001"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := ParseImport(strings.NewReader(tt.in), numbers.DefaultRegion, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lines {
				if l.Err != nil {
					if !errors.Is(l.Err, ErrInvalid) || l.Number != "" {
						t.Errorf("line %d: %+v", l.Line, l)
					}
					got = append(got, "!"+l.Value)
					continue
				}
				got = append(got, l.Number)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []string{
		"a,b\nc,d\n",                 // no column holds numbers
		"\xff\xfe7\x004\x00",         // UTF-16
		"\xff\xfe",                   // UTF-16's byte-order mark
		strings.Repeat("7", 1<<20+1), // too large
		strings.Repeat("74950000001\n", MaxImportLines+1),
	} {
		if _, err := ParseImport(strings.NewReader(bad), numbers.DefaultRegion, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseImport(%.40q) = %v, want ErrInvalid", bad, err)
		}
	}
}

// FuzzParseImport: any input is read or refused with ErrInvalid, never a
// panic; every number it gives is canonical E.164 digits.
func FuzzParseImport(f *testing.F) {
	for _, s := range []string{"74950000001\n", "number;x\n84950000001;y\n", "a,b\nc,d", "\"7495\"\"\n", "#\n\n\t\n", "phone\n+44 20 7946 0958\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		lines, err := ParseImport(strings.NewReader(in), numbers.DefaultRegion, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			return
		}
		for _, l := range lines {
			if (l.Err == nil) == (l.Number == "") {
				t.Fatalf("line %+v: number and error disagree", l)
			}
			if l.Err == nil {
				p, err := parsePhone("+"+l.Number, numbers.DefaultRegion)
				if err != nil || p.Digits != l.Number {
					t.Fatalf("line %+v: %q is not canonical (%v)", l, l.Number, err)
				}
			}
		}
	})
}
