package events

import (
	"regexp"
	"strings"
)

var icd10CM = regexp.MustCompile(`^[A-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$`)

// NormalizeICD10CM returns s written as ICD-10-CM codes are on claims lines
// and in the contract ("E11.65": upper case, a dot after the category),
// and whether it has the form of an ICD-10-CM code: a letter, a digit, a
// digit or A/B ("C4A"), then up to four characters after the dot. Clients
// may send it in lower case or without the dot ("e1165"), as claims carry
// it; special-purpose U codes (U09.9) are codes too. It checks the form,
// not membership of the year's code set.
func NormalizeICD10CM(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 3 && !strings.Contains(s, ".") {
		s = s[:3] + "." + s[3:]
	}
	return s, icd10CM.MatchString(s)
}

// NormalizeMBI returns s written as a Medicare Beneficiary Identifier is
// stored: upper case, without the dashes and spaces of its printed form
// ("1EG4-TE5-MK73" → "1EG4TE5MK73"). It does not check the format.
func NormalizeMBI(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}
