package visits

import (
	"errors"
	"strings"
	"testing"
)

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
