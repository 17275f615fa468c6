package visits

import (
	"testing"

	"appliance/store"
)

func TestDeviceOf(t *testing.T) {
	for _, tt := range []struct {
		ua   string
		want Device
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Device{DeviceDesktop, "Chrome", "Windows"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			Device{DeviceDesktop, "Safari", "MacOS"}},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", Device{DeviceDesktop, "Firefox", "Linux"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 YaBrowser/24.12.0.0 Safari/537.36",
			Device{DeviceDesktop, "Yandex Browser", "Windows"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			Device{DeviceMobile, "Safari", "iOS"}},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			Device{DeviceMobile, "Chrome", "Android"}},
		{"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			Device{DeviceTablet, "Safari", "iOS"}},
		// Android without "Mobile" is a tablet (a Galaxy Tab S8).
		{"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Device{DeviceTablet, "Chrome", "Android"}},
		{"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", Device{Type: DeviceBot}},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
			Device{DeviceBot, "Chrome", "Linux"}},
		{"", Device{}},
	} {
		if got := DeviceOf(tt.ua); got != tt.want {
			t.Errorf("DeviceOf(%q) = %+v, want %+v", tt.ua, got, tt.want)
		}
	}
	// A session the tracker took for a bot is one, whatever the library
	// says of its agent.
	s := store.Session{UserAgent: "curl/8.5.0", Bot: IsBot("curl/8.5.0")}
	if got := SessionDevice(&s); got.Type != DeviceBot {
		t.Errorf("SessionDevice(curl) = %+v", got)
	}
	s = store.Session{UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"}
	if got := SessionDevice(&s); got.Type != DeviceMobile {
		t.Errorf("SessionDevice(iPhone) = %+v", got)
	}
}

// FuzzDeviceOf: any user agent a visitor's browser sends reads without a
// panic, as one of the known device types.
func FuzzDeviceOf(f *testing.F) {
	f.Add("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	f.Add("\xff\xfe(;;)")
	f.Fuzz(func(t *testing.T, ua string) {
		d := DeviceOf(ua)
		switch d.Type {
		case DeviceDesktop, DeviceMobile, DeviceTablet, DeviceTV, DeviceBot, DeviceUnknown:
		default:
			t.Fatalf("DeviceOf(%q) type %q", ua, d.Type)
		}
	})
}

// BenchmarkDeviceOf is the cost of reading a device from a user agent,
// beside the cost of telling a bot (IsBot, which every hit pays): what
// storing it at session start would add to a session's first hit.
func BenchmarkDeviceOf(b *testing.B) {
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	}
	DeviceOf(uas[0]) // the parser is built on first use
	b.Run("DeviceOf", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			DeviceOf(uas[i%len(uas)])
		}
	})
	b.Run("IsBot", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			IsBot(uas[i%len(uas)])
		}
	})
}
