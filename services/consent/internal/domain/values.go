package domain

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
)

// ClockSkew is how far in the future an instant may lie and still count as
// "not in the future": client clocks drift, and a consent taken a minute ago
// on a tablet that runs fast must not be refused.
const ClockSkew = 5 * time.Minute

// MaxClientIDLen bounds client-chosen ids (patient and consent ids). Event
// ids are "<prefix>-<id>" and must stay within the 128 characters of
// events.ValidID ("revocation-" is the longest prefix).
const MaxClientIDLen = 100

// ValidNPI reports whether s is a National Provider Identifier: 10 digits,
// the last being the Luhn check digit computed over "80840" followed by the
// first nine (the card-issuer prefix the NPI standard prescribes).
func ValidNPI(s string) bool { return events.ValidNPI(s) }

// mbiLetters are the letters a Medicare Beneficiary Identifier may use: A–Z
// without S, L, O, I, B and Z (CMS MBI format).
const mbiLetters = "ACDEFGHJKMNPQRTUVWXY"

// mbiFormat gives each position's kind: N a digit, A an MBI letter, X either.
// Position 1 is further limited to 1–9.
const mbiFormat = "NAXNAXNAANN"

// ValidMBI reports whether s is a Medicare Beneficiary Identifier in the CMS
// format: 11 characters, upper case, no dashes; position 1 a digit 1–9,
// 2, 5, 8 and 9 letters, 3 and 6 a letter or digit, 4, 7, 10 and 11 digits,
// letters never S, L, O, I, B or Z.
func ValidMBI(s string) bool {
	if len(s) != len(mbiFormat) || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		digit := c >= '0' && c <= '9'
		letter := strings.IndexByte(mbiLetters, c) >= 0
		switch mbiFormat[i] {
		case 'N':
			if !digit {
				return false
			}
		case 'A':
			if !letter {
				return false
			}
		default:
			if !digit && !letter {
				return false
			}
		}
	}
	return true
}

// ValidICD10CM reports whether s is an ICD-10-CM code as stored: upper case
// with its dot ("E11.65", "I10"; events.NormalizeICD10CM). It checks the
// form, not membership of the current code set.
func ValidICD10CM(s string) bool {
	n, ok := events.NormalizeICD10CM(s)
	return ok && n == s
}

var ein = regexp.MustCompile(`^[0-9]{2}-?[0-9]{7}$`)

// NormalizeEIN returns the employer identification number s as its nine
// digits ("12-3456789" and "123456789" both give "123456789"), and whether s
// was one.
func NormalizeEIN(s string) (string, bool) {
	if !ein.MatchString(s) {
		return "", false
	}
	return strings.ReplaceAll(s, "-", ""), true
}

// text checks a required free-text field: not blank and at most max
// characters.
func text(op, field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return errs.Field(op, field, "is required")
	}
	return optionalText(op, field, s, max)
}

// optionalText checks an optional free-text field's length.
func optionalText(op, field, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return errs.Field(op, field, "must be at most %d characters", max)
	}
	return nil
}

// clientID checks an id chosen by the client ("" means "let the server
// choose").
func clientID(op, field, id string) error {
	if id == "" {
		return nil
	}
	if !events.ValidID(id) || len(id) > MaxClientIDLen {
		return errs.Field(op, field, "must be 1 to %d letters, digits, '-', '_' or ':', starting with a letter or digit", MaxClientIDLen)
	}
	return nil
}

// parseDate parses a required calendar date YYYY-MM-DD.
func parseDate(op, field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errs.Field(op, field, "is required")
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return time.Time{}, errs.Field(op, field, "must be a date YYYY-MM-DD")
	}
	return d, nil
}

// parseInstant parses a required instant in RFC 3339 with an offset. The
// offset is kept: it records the local time of care.
func parseInstant(op, field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errs.Field(op, field, "is required")
	}
	t, err := events.ParseInstant(s)
	if err != nil {
		return time.Time{}, errs.Field(op, field, "must be a time in RFC 3339 with an offset, e.g. 2025-03-14T09:30:00-05:00")
	}
	return t, nil
}

// latestToday is the latest calendar date anywhere on Earth at now (UTC+14,
// the zone furthest ahead). A date after it is in the future everywhere, so
// refusing only those never refuses a true date from any practice's zone.
func latestToday(now time.Time) time.Time {
	t := now.UTC().Add(14 * time.Hour)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// notFutureDate refuses a date after latestToday(now).
func notFutureDate(op, field string, d, now time.Time) error {
	if d.After(latestToday(now)) {
		return errs.Field(op, field, "must not be in the future")
	}
	return nil
}

// notFutureInstant refuses an instant later than now plus ClockSkew.
func notFutureInstant(op, field string, t, now time.Time) error {
	if t.After(now.Add(ClockSkew)) {
		return errs.Field(op, field, "must not be in the future")
	}
	return nil
}

// oneOf refuses a value outside allowed; "" is "is required".
func oneOf(op, field, v string, allowed ...string) error {
	if v == "" {
		return errs.Field(op, field, "is required")
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return errs.Field(op, field, "must be one of %s", strings.Join(allowed, ", "))
}

// EffectiveThrough is the last day (YYYY-MM-DD) of the calendar month that
// holds revokedAt in loc: the patient's right to stop takes effect at the end
// of the calendar month (ccm-rules K2c, K7), and the month is the billing
// location's (T12, §8 A9). Whether minutes between the revocation and that
// day count is the practice's §8 A2 policy, applied by billing. A nil loc
// reads the month in revokedAt's own offset.
func EffectiveThrough(revokedAt time.Time, loc *time.Location) string {
	if loc != nil {
		revokedAt = revokedAt.In(loc)
	}
	y, m, _ := revokedAt.Date()
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}
