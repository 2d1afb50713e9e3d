package events

import "testing"

func TestValidNPI(t *testing.T) {
	for _, tc := range []struct {
		npi  string
		want bool
	}{
		{"1234567893", true},
		{"1245319599", true},
		{"1234567890", false}, // wrong check digit
		{"123456789", false},  // 9 digits
		{"12345678931", false},
		{"12345a7893", false},
		{"", false},
	} {
		if got := ValidNPI(tc.npi); got != tc.want {
			t.Errorf("ValidNPI(%q): got %v, want %v", tc.npi, got, tc.want)
		}
	}
}
