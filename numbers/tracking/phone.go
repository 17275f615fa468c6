package tracking

import (
	"appliance/numbers"
)

// parsePhone reads a number as numbers.ParsePhone does in region, for the
// numbers of call tracking: a tracking number, a site's own number, a
// call's. An extension is refused: a number is replaced and matched as a
// whole. Errors wrap ErrInvalid.
func parsePhone(s, region string) (numbers.Phone, error) {
	p, err := numbers.ParsePhone(s, region)
	if err != nil {
		return numbers.Phone{}, ErrInvalid.Because(err)
	}
	if p.Ext != "" {
		return numbers.Phone{}, ErrInvalid.Errorf("phone %q: extensions are not supported", s)
	}
	return p, nil
}

// digitsOf parses s in region and returns its E.164 digits.
func digitsOf(s, region string) (string, error) {
	p, err := parsePhone(s, region)
	return p.Digits, err
}
