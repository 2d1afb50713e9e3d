package domain

import (
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
)

// The parsers below turn a request's text into the values of an event
// payload, naming the field when the text is malformed. Handlers call them
// while mapping a request; the decide functions then check the values.

// ParseTime parses a required instant: RFC 3339 with an offset ("Z" or
// "+01:00"), the contract's time format. The offset is kept: it records the
// local time of care.
func ParseTime(op, field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, errs.Field(op, field, "is required")
	}
	t, err := events.ParseInstant(v)
	if err != nil {
		return time.Time{}, errs.Field(op, field, "must be an RFC 3339 time with an offset, such as 2025-03-14T09:30:00-05:00")
	}
	return t, nil
}

// ParseDate parses a calendar date YYYY-MM-DD.
func ParseDate(op, field, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if len(v) != len(time.DateOnly) || err != nil {
		return time.Time{}, errs.Field(op, field, "must be a date YYYY-MM-DD")
	}
	return t, nil
}

// ParseMonth parses a required service month YYYY-MM (UTC midnight of its
// first day).
func ParseMonth(op, field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, errs.Field(op, field, "is required")
	}
	t, err := time.Parse("2006-01", v)
	if len(v) != len("2006-01") || err != nil {
		return time.Time{}, errs.Field(op, field, "must be a month YYYY-MM")
	}
	return t, nil
}

// Bool returns a required boolean, which a request carries as *bool so that
// an absent field is told from false.
func Bool(op, field string, v *bool) (bool, error) {
	if v == nil {
		return false, errs.Field(op, field, "is required (true or false)")
	}
	return *v, nil
}

// ValidNPI reports whether s is a well-formed NPI (events.ValidNPI).
func ValidNPI(s string) bool { return events.ValidNPI(s) }

// ValidICD10CM reports whether s has the form of an ICD-10-CM code, in any
// case, with or without its dot (events.NormalizeICD10CM). It checks the
// form, not that the code exists in the year's code set.
func ValidICD10CM(s string) bool {
	_, ok := events.NormalizeICD10CM(s)
	return ok
}
