package events_test

import (
	"testing"
	"time"

	"github.com/carelog/carelog/events"
)

func TestParseInstant(t *testing.T) {
	est := time.FixedZone("", -5*3600)
	for _, tc := range []struct {
		in   string
		want time.Time // zero: refused
	}{
		{"2025-03-14T09:30:00-05:00", time.Date(2025, 3, 14, 9, 30, 0, 0, est)},
		{"2025-03-14T09:30:00.250-05:00", time.Date(2025, 3, 14, 9, 30, 0, 250e6, est)},
		{"2025-03-14T14:30:00Z", time.Date(2025, 3, 14, 14, 30, 0, 0, time.UTC)},
		{"2025-03-14t14:30:00z", time.Date(2025, 3, 14, 14, 30, 0, 0, time.UTC)},
		{"2025-03-14 09:30:00-05:00", time.Date(2025, 3, 14, 9, 30, 0, 0, est)},
		{"2025-03-14T09:30-05:00", time.Date(2025, 3, 14, 9, 30, 0, 0, est)},
		{"2025-03-14T14:30Z", time.Date(2025, 3, 14, 14, 30, 0, 0, time.UTC)},
		{"2025-03-14T09:30:00", time.Time{}}, // no offset
		{"2025-03-14T09:30", time.Time{}},
		{"2025-03-14", time.Time{}},
		{"14/03/2025 09:30", time.Time{}},
		{"", time.Time{}},
		{"2025-03-14T25:30:00Z", time.Time{}},
	} {
		got, err := events.ParseInstant(tc.in)
		switch {
		case tc.want.IsZero() && err == nil:
			t.Errorf("ParseInstant(%q) = %v, want an error", tc.in, got)
		case !tc.want.IsZero() && (err != nil || !got.Equal(tc.want)):
			t.Errorf("ParseInstant(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case !tc.want.IsZero():
			if _, off := got.Zone(); func() int { _, w := tc.want.Zone(); return w }() != off {
				t.Errorf("ParseInstant(%q): offset %d, want the one sent", tc.in, off)
			}
		}
	}
}
