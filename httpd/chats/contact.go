package chats

import (
	"strings"

	"appliance/httpd/visits"
	"appliance/numbers"
	"appliance/store"
)

// ContactIn finds the phone number and the email address the visitor
// wrote in a chat's messages, each the latest they wrote (a visitor who
// corrects their number writes it again), as written; "" when none. A
// phone is a run of 10 to 15 digits with the separators people write
// between them ("8 (912) 345-67-89", "+7 912 345 67 89") that
// numbers.ParsePhone reads as a valid number in region: an order number or
// a date is none. An email is a word with "@" that visits.NormalizeEmail
// takes. The operators' words are not read.
func ContactIn(msgs []store.ChatMessage, region string) (phone, email string) {
	for i := len(msgs) - 1; i >= 0 && (phone == "" || email == ""); i-- {
		if msgs[i].From != FromVisitor {
			continue
		}
		text := msgs[i].Text
		if phone == "" {
			phone = lastPhone(text, region)
		}
		if email == "" {
			email = lastEmail(text)
		}
	}
	return phone, email
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// lastPhone is the last valid phone number written in text, as written.
func lastPhone(text, region string) string {
	found := ""
	for i := 0; i < len(text); {
		// A number begins with a digit, or "+" or "(" before one, and
		// not inside a longer run of digits.
		c := text[i]
		lead := (c == '+' || c == '(') && i+1 < len(text) && isDigit(text[i+1])
		if !isDigit(c) && !lead || i > 0 && (isDigit(text[i-1]) || text[i-1] == '+') {
			i++
			continue
		}
		j, end, digits, seps := i+1, i+1, 0, 0
		if isDigit(c) {
			digits = 1
		}
		for j < len(text) {
			if isDigit(text[j]) {
				digits++
				j++
				end, seps = j, 0
				continue
			}
			w := numbers.PhoneSep(text, j)
			if w == 0 || seps == 3 {
				break
			}
			seps++
			j += w
		}
		if digits >= 10 && digits <= 15 && end-i <= numbers.MaxPhoneText {
			if p, err := numbers.ParsePhone(text[i:end], region); err == nil && p.Valid(region) {
				found = text[i:end]
			}
		}
		i = max(end, i+1)
	}
	return found
}

// lastEmail is the last email address written in text, as written.
func lastEmail(text string) string {
	words := strings.FieldsFunc(text, func(r rune) bool {
		return r <= ' ' || r == 0xA0 || strings.ContainsRune(`,;:<>()[]{}"'«»!?`, r)
	})
	for i := len(words) - 1; i >= 0; i-- {
		w := strings.TrimRight(words[i], ".")
		if strings.Contains(w, "@") {
			if _, err := visits.NormalizeEmail(w); err == nil {
				return w
			}
		}
	}
	return ""
}
