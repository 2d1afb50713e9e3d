package domain

import (
	"testing"
	"time"
)

func TestValidNPI(t *testing.T) {
	tests := []struct {
		npi  string
		want bool
	}{
		{"1234567893", true}, // the CMS worked example: 123456789 → check digit 3
		{"1987654328", true},
		{"1111111112", true},
		{"1234567890", false}, // wrong check digit
		{"1234567894", false},
		{"123456789", false},   // 9 digits
		{"12345678930", false}, // 11 digits
		{"12345678a3", false},
		{"", false},
		{" 1234567893", false},
	}
	for _, tt := range tests {
		if got := ValidNPI(tt.npi); got != tt.want {
			t.Errorf("ValidNPI(%q): got %v, want %v", tt.npi, got, tt.want)
		}
	}
}

func TestValidMBI(t *testing.T) {
	tests := []struct {
		mbi  string
		want bool
	}{
		{"1EG4TE5MK73", true}, // CMS's published example
		{"9AA0AA0AA00", true},
		{"1A00A00AA00", true}, // positions 3 and 6 may be digits
		{"1EG4-TE5-MK73", false},
		{"1eg4te5mk73", false}, // lower case
		{"0EG4TE5MK73", false}, // position 1 is 1-9
		{"1SG4TE5MK73", false}, // S is excluded
		{"1EL4TE5MK73", false}, // L is excluded (position 3)
		{"1EG4OE5MK73", false}, // O is excluded (position 5)
		{"1EG4TE5IK73", false}, // I is excluded (position 8)
		{"1EG4TE5MB73", false}, // B is excluded (position 9)
		{"1EG4TZ5MK73", false}, // Z is excluded (position 6)
		{"11G4TE5MK73", false}, // position 2 is a letter
		{"1EGATE5MK73", false}, // position 4 is a digit
		{"1EG4TE5MK7", false},  // 10 characters
		{"1EG4TE5MK73X", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidMBI(tt.mbi); got != tt.want {
			t.Errorf("ValidMBI(%q): got %v, want %v", tt.mbi, got, tt.want)
		}
	}
}

func TestValidICD10CM(t *testing.T) {
	tests := []struct {
		code string
		want bool
	}{
		{"I10", true},
		{"E11.65", true},
		{"I50.22", true},
		{"J44.1", true},
		{"N18.30", true},
		{"S72.001A", true},
		{"C4A.9", true}, // third character A
		{"Z79.4", true},
		{"e11.65", false}, // lower case
		{"E1165", false},  // no dot
		{"E11.", false},
		{"U07.1", true}, // special-purpose U codes are codes too (U09.9 post-COVID)
		{"E11.65123", false},
		{"1E1.65", false},
		{"E1C.65", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidICD10CM(tt.code); got != tt.want {
			t.Errorf("ValidICD10CM(%q): got %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestNormalizeEIN(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"12-3456789", "123456789", true},
		{"123456789", "123456789", true},
		{"12-345678", "", false},
		{"1-23456789", "", false},
		{"12 3456789", "", false},
		{"12-34567890", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeEIN(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeEIN(%q): got %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEffectiveThrough(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   string
		loc  *time.Location
		want string
	}{
		{"mid month", "2025-03-14T10:00:00-05:00", chicago, "2025-03-31"},
		{"February, not leap", "2025-02-10T10:00:00Z", chicago, "2025-02-28"},
		{"February, leap", "2024-02-10T10:00:00Z", chicago, "2024-02-29"},
		// 1 April 03:00 UTC is still 31 March in Chicago (T12: the practice's month).
		{"practice zone decides the month", "2025-04-01T03:00:00Z", chicago, "2025-03-31"},
		{"December", "2025-12-31T23:00:00-06:00", chicago, "2025-12-31"},
		{"no zone: the instant's own offset", "2025-04-01T03:00:00Z", nil, "2025-04-30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := EffectiveThrough(at, tt.loc); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
