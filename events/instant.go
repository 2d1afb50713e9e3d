package events

import (
	"errors"
	"strings"
	"time"
)

// ParseInstant parses a client's time with an offset, as api/contract.md
// writes them: RFC 3339 ("2025-03-14T09:30:00-05:00", fractional seconds
// allowed), with the variants RFC 3339 itself allows (a lower-case "t" or
// "z", a space instead of the "T") and, leniently, without seconds
// ("2025-03-14T09:30-05:00", read as :00). An offset ("Z" or "±hh:mm") is
// always required: it records the local time of care. The offset is kept.
func ParseInstant(s string) (time.Time, error) {
	if len(s) > 10 && (s[10] == 't' || s[10] == ' ') {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04Z07:00", s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("events.ParseInstant: not an RFC 3339 time with an offset")
}
