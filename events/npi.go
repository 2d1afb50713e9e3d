package events

// ValidNPI reports whether s is a National Provider Identifier: 10 digits
// whose last is the Luhn check digit computed over "80840" followed by the
// first nine (the card-issuer prefix the NPI standard prescribes, 45 CFR
// 162.406). It checks the form, not that NPPES issued the number. Every
// service validates NPIs in payloads with it.
func ValidNPI(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum, double := 0, false
	digits := "80840" + s
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
