package search

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"appliance/numbers"
	"appliance/store"
)

// FuzzSieve: the sieve never turns away a record that matches. Whatever a
// lead, a callback, a call, a visitor's contacts or a chat message holds
// and whatever is searched for, a record the decoded match takes passes
// the sieve on its encoding, or is the one the query names by id (Search
// lets that one by before the sieve). A chat message that matches has the
// match marked: a part of its text that lowers to the query's.
func FuzzSieve(f *testing.F) {
	f.Add("Иван Петров", "Доставка в ТВЕРЬ", "79161234567", "8 916 123 45 67", "Ivan@Example.com", "тверь")
	f.Add("İvan", "", "", "", "", "ivan")
	f.Add("K", "", "", "", "", "k") // the Kelvin sign lowers to k
	f.Add("ß", "ẞ", "", "", "", "ß")
	f.Add("a\xffb", "", "", "", "", "\ufffd")
	f.Add("", "", "79161234567", "", "", "+7 916 123-45-67")
	f.Add("", "", "79161234567", "", "", "1234567")
	f.Add("Оператор", "Привет! ДОСТАВКА <b>в</b> Тверь", "", "", "", "доставка <b>")
	f.Add("", "a\xffб", "", "", "", "\ufffdБ")
	f.Add("", "", "", "доб. 12", "Ivan At Mail", "ivan at")
	f.Add("Ольга", "Звоните: 8 921 000-11-22", "", "(- ", "", "+7 921 000 11 22")
	f.Add("", "заказ 1892100011223", "", "", "", "+7 921 000 11 22")
	f.Add("", "+7(921)000 11–22", "", " ) ", "", "8 921 000-11-22")
	f.Add("x", "020 7946 0958 / +44 20 7946 0958", "", "..", "", "+44 20 7946 0958")
	// The length byte before a message's text is '0' (48 bytes): the
	// sieve reads the bytes around the text, a match must still pass.
	f.Add("", "89210001122"+strings.Repeat("я", 18)+"a", "", "", "", "+7 921 000 11 22")
	f.Fuzz(func(t *testing.T, name, msg, phone, phoneRaw, email, query string) {
		q, err := Parse(query, "RU")
		if err != nil || q.Empty() {
			return
		}
		sv := newSieve(&q)
		l := store.Lead{ID: 7, Name: name, Message: msg, Phone: phone, PhoneRaw: phoneRaw, Email: email, EmailRaw: email, FormName: msg}
		if q.lead(&l) && q.ID != 7 && !sv.may(l.Encode()) {
			t.Fatalf("lead %+v matches %+v and the sieve turns it away", l, q)
		}
		cb := store.Callback{ID: 7, Phone: phone, PhoneRaw: phoneRaw}
		if q.callback(&cb) && q.ID != 7 && !sv.may(cb.Encode()) {
			t.Fatalf("callback %+v matches %+v and the sieve turns it away", cb, q)
		}
		c := store.Call{ID: 7, Caller: phone, CallerTyped: name}
		if q.call(&c) && q.ID != 7 && !sv.may(c.Encode()) {
			t.Fatalf("call %+v matches %+v and the sieve turns it away", c, q)
		}
		for _, ct := range []store.Contacts{
			{Name: name, Phones: []string{phone}, Emails: []string{email}},
			{Name: msg, PhonesTyped: []string{phoneRaw}, EmailsTyped: []string{email, name}},
		} {
			if q.contacts(&ct) && !sv.may(ct.Encode()) {
				t.Fatalf("contacts %+v match %+v and the sieve turns them away", ct, q)
			}
		}
		texts := []string{msg}
		if q.NSN != "" {
			// The number written in one of its forms with the separators
			// phoneRaw holds (a few of them between each two digits),
			// among the fuzzed words: a message that must match.
			form, plus := q.Written[len(phoneRaw)%3], len(name)%2 == 0
			if form == "" {
				form, plus = q.Phone, true
			}
			var sep []string
			for i := 0; i < len(phoneRaw); i++ {
				if w := numbers.PhoneSep(phoneRaw, i); w > 0 {
					sep = append(sep, phoneRaw[i:i+w])
					i += w - 1
				}
			}
			// Some numbers have other groups of digits before or after
			// them, parted by a space: "заказ 15 8 921 ...", "... 22 10 раз".
			before, after := len(name)%3 == 1, len(msg)%2 == 1
			lead := ""
			if form == q.Phone && plus {
				lead = "+"
			}
			// An international call prefix instead of the "+", its digits
			// parted or not.
			if pre := len(email) % 3; pre > 0 {
				form, lead = q.Phone, numbers.IntlPrefixes[pre-1]
				if len(phoneRaw)%2 == 0 {
					lead = strings.Join(strings.Split(lead, ""), " ") + " "
				}
			}
			var b strings.Builder
			b.WriteString(strings.TrimRightFunc(name, unicode.IsDigit) + ", ")
			if before {
				b.WriteString("15 ")
			}
			b.WriteString(lead)
			for i := range len(form) {
				b.WriteByte(form[i])
				if i+1 < len(form) && len(sep) > 0 {
					b.WriteString(strings.Join(sep[i%len(sep):min(i%len(sep)+maxPhoneSep, len(sep))], ""))
				}
			}
			if after {
				b.WriteString(" 10")
			}
			b.WriteString(", " + msg)
			texts = append(texts, b.String())

			// Never a group of digits cut: the number's digits with one
			// more before or after them in one group, among other groups,
			// are not found.
			d := numbers.Digits(lead + form)
			for _, longer := range []string{"1" + d, d + "3"} {
				if q.writes(false, []byte(longer)) || q.writes(true, []byte(longer)) {
					continue
				}
				for _, in := range []string{"x " + longer + " x", "x 15 " + longer + " 10 x", "x +" + longer + " x"} {
					if start, _ := q.saidPhone(in); start >= 0 {
						t.Fatalf("%q is found in %q, a group of digits cut", q.Raw, in)
					}
				}
			}
		}
		for i, text := range texts {
			for _, from := range []string{"visitor", "operator"} {
				m := store.ChatMessage{ID: 7, From: from, Name: name, Text: text, At: 1}
				if !q.message(&m) {
					if i == 1 {
						t.Fatalf("chat message %q does not match %+v, its number written", m.Text, q)
					}
					continue
				}
				if !sv.saidMay(m.Encode()) {
					t.Fatalf("chat message %+v matches %+v and the sieve turns it away", m, q)
				}
				mk, ok := q.Mark(m.Text)
				if !ok || !strings.Contains(m.Text, mk.Before+mk.Match+mk.After) || !marks(&q, mk.Match) {
					t.Fatalf("chat message %q matches %q and is marked %+v, %v", m.Text, q.Text, mk, ok)
				}
				// A number is marked whole groups of digits, none cut.
				if q.NSN != "" && (isDigit(mk.Match[0]) && mk.Before != "" && isDigit(mk.Before[len(mk.Before)-1]) || mk.After != "" && isDigit(mk.After[0])) {
					t.Fatalf("chat message %q matches %q and is marked %+v: a group of digits cut", m.Text, q.Text, mk)
				}
			}
		}
	})
}

// marks reports whether match is what q finds in a message: its text in
// any case, or for a phone query its number written in one of its forms
// (only Phone after a "+").
func marks(q *Query, match string) bool {
	if q.NSN == "" {
		return strings.ToLower(match) == q.Text
	}
	d := numbers.Digits(match)
	if strings.HasPrefix(match, "+") {
		return d == q.Phone
	}
	for _, pre := range numbers.IntlPrefixes {
		if d == pre+q.Phone {
			return true
		}
	}
	return d != "" && slices.Contains(q.Written[:], d)
}

// maxIntlPrefix is the longest international call prefix: dialsAbroad
// looks no further back than it and a country code.
func TestMaxIntlPrefix(t *testing.T) {
	longest := 0
	for _, p := range numbers.IntlPrefixes {
		longest = max(longest, len(p))
	}
	if longest != maxIntlPrefix {
		t.Errorf("maxIntlPrefix is %d, the longest of %q %d", maxIntlPrefix, numbers.IntlPrefixes, longest)
	}
}

// Every rune that lowers to another is in that rune's fold orbit, or
// listed in lowerOutsideFold: the sieve's first bytes come from them.
func TestLowerOutsideFold(t *testing.T) {
	for x := rune(0); x <= unicode.MaxRune; x++ {
		l := unicode.ToLower(x)
		if l == x {
			continue
		}
		if !slices.Contains(lowersTo(l), x) {
			t.Errorf("%U lowers to %U outside its fold and lowerOutsideFold", x, l)
		}
	}
}
