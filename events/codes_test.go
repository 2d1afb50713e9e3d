package events_test

import (
	"testing"

	"github.com/carelog/carelog/events"
)

func TestNormalizeICD10CM(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"E11.65", "E11.65", true},
		{"e11.65", "E11.65", true},
		{"E1165", "E11.65", true},
		{" I10 ", "I10", true},
		{"U09.9", "U09.9", true},
		{"C4A.0", "C4A.0", true},
		{"Z3A.32", "Z3A.32", true},
		{"S72.001A", "S72.001A", true},
		{"E11.", "E11.", false},
		{"E11.65000", "E11.65000", false},
		{"11.65", "11.65", false},
		{"E1C.65", "E1C.65", false},
		{"HF", "HF", false},
		{"", "", false},
	} {
		got, ok := events.NormalizeICD10CM(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeICD10CM(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormalizeMBI(t *testing.T) {
	for in, want := range map[string]string{
		"1EG4TE5MK73":    "1EG4TE5MK73",
		"1EG4-TE5-MK73":  "1EG4TE5MK73",
		" 1eg4 te5 mk73": "1EG4TE5MK73",
	} {
		if got := events.NormalizeMBI(in); got != want {
			t.Errorf("NormalizeMBI(%q) = %q, want %q", in, got, want)
		}
	}
}
