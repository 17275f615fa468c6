package visits

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"8 (912) 345-67-89", "79123456789"},
		{"+7 912 345 67 89", "79123456789"},
		{"79123456789", "79123456789"},
		{"89123456789", "79123456789"},
		{"9123456789", "79123456789"},
		{"+7(495)182-51-68", "74951825168"},
		{"8 (487) 275-14-04", "74872751404"},
		{" +1 (650) 253-0000 ", "16502530000"},
		{"+44 20 7946 0958", "442079460958"},
		{"+380 44 123 4567", "380441234567"},
	} {
		got, err := NormalizePhone(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "   ", "abc", "123", "+7 912", "8 (912) 345-67-89-00-11-22", strings.Repeat("9", MaxPhone+1), "+79123\xff456789"} {
		if got, err := NormalizePhone(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizePhone(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Dmitry@Comagic.RU", "dmitry@comagic.ru"},
		{" a.b+tag@sub.example.com ", "a.b+tag@sub.example.com"},
		{"иван@пример.рф", "иван@пример.рф"},
	} {
		got, err := NormalizeEmail(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "plain", "a@b", "a@b.", "@example.com", "a@@example.com", "Name <a@example.com>",
		"a b@example.com", "<script>@x.com", strings.Repeat("a", MaxEmail) + "@x.com", "a@exa\nmple.com"} {
		if got, err := NormalizeEmail(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func FuzzPhone(f *testing.F) {
	for _, s := range []string{"8 (912) 345-67-89", "+7 912 345 67 89", "+1 650 253 0000", "abc", "+", "8-800-FLOWERS", "tel:+7-912-345-67-89"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if got == "" || len(got) > 17 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q: not E.164 digits", s, got)
		}
		// Normalising is idempotent: the digits with "+" are the same number.
		if again, err := NormalizePhone("+" + got); err != nil || again != got {
			t.Fatalf("NormalizePhone(+%s) = %q, %v; want %q", got, again, err, got)
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"a@b.c", "A@B.C", "\"q\"@x.com", "a@[1.2.3.4]", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeEmail(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if len(got) > MaxEmail || strings.ToLower(got) != got || !strings.Contains(got, "@") {
			t.Fatalf("NormalizeEmail(%q) = %q", s, got)
		}
		if again, err := NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}
