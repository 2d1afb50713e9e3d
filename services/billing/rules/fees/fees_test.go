package fees_test

import (
	"slices"
	"testing"

	"github.com/carelog/carelog/services/billing/rules/fees"
)

func TestLoad(t *testing.T) {
	all, err := fees.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := fees.Years(), []int{2024, 2025, 2026}; !slices.Equal(got, want) {
		t.Errorf("Years: got %v, want %v", got, want)
	}
	for year, s := range all {
		if s.Description == "" || s.ConversionFactor <= 0 || len(s.AmountsCents) == 0 {
			t.Errorf("%d: got description %q, factor %v, %d amounts; want all set", year, s.Description, s.ConversionFactor, len(s.AmountsCents))
		}
	}
}

func TestAmounts(t *testing.T) {
	tests := []struct {
		year  int
		code  string
		units int
		want  int64
	}{
		{2025, "99490", 1, 6000},  // ≈ $60 (ccm-rules §1.1)
		{2025, "99439", 2, 9200},  // ≈ $46 a unit
		{2025, "99487", 1, 13100}, // ≈ $131
		{2025, "99426", 1, 0},     // not verified for 2025: absent
		{2025, "99495", 1, 0},     // TCM: not verified
		{2024, "G0557", 1, 0},     // APCM starts in 2025
		{2024, "99490", 1, 6175},  // 2025 × 33.2875/32.3465
		{2026, "99490", 1, 6700},  // ≈ $66–68
		{2019, "99490", 1, 0},     // no schedule
	}
	for _, tc := range tests {
		if got := fees.Cents(tc.year, tc.code, tc.units); got != tc.want {
			t.Errorf("Cents(%d, %s, %d): got %d, want %d", tc.year, tc.code, tc.units, got, tc.want)
		}
	}
	s, ok := fees.ForYear(2025)
	if !ok {
		t.Fatal("ForYear(2025): got none, want the 2025 schedule")
	}
	if _, ok := s.Amount("99426"); ok {
		t.Error("Amount(99426) in 2025: got an amount, want absent (unknown)")
	}
}
