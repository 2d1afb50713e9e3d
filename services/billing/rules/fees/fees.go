// Package fees is the yearly fee schedule billing uses for expected-revenue
// estimates: approximate national non-facility Medicare PFS amounts per code,
// loaded as data from the embedded <year>.json files (ccm-rules.md §1.1 and
// §8 A14: rates are data loaded per year, never hard-coded). The amounts are
// estimates from third-party sources, neither locality-adjusted nor verified
// against the official PFS files; a code whose amount is not known is absent
// and contributes nothing.
//
// The package is pure (standard library only); the schedules are parsed once
// and shared read-only, so it is safe for concurrent use.
package fees

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed *.json
var files embed.FS

// Schedule is one calendar year's amounts.
type Schedule struct {
	Year int `json:"year"`
	// ConversionFactor is the PFS conversion factor of the year (dollars).
	ConversionFactor float64 `json:"conversionFactor"`
	// Description says where the amounts come from and how far to trust them.
	Description string `json:"description"`
	// AmountsCents maps a CPT/HCPCS code to its amount in cents.
	AmountsCents map[string]int64 `json:"amountsCents"`
	// Notes explain individual codes, including absent ones.
	Notes map[string]string `json:"notes,omitempty"`
}

// Amount returns the amount of one unit of code in cents; ok is false when
// the schedule does not know it.
func (s Schedule) Amount(code string) (cents int64, ok bool) {
	cents, ok = s.AmountsCents[code]
	return cents, ok
}

// Load parses every embedded schedule, keyed by year. It fails when a file
// is malformed or its year does not match its name.
var Load = sync.OnceValues(func() (map[int]Schedule, error) {
	out := map[int]Schedule{}
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var s Schedule
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("fees: %s: %w", name, err)
		}
		year, err := strconv.Atoi(strings.TrimSuffix(name, ".json"))
		if err != nil || year != s.Year {
			return nil, fmt.Errorf("fees: %s holds year %d", name, s.Year)
		}
		for code, c := range s.AmountsCents {
			if c <= 0 {
				return nil, fmt.Errorf("fees: %s: %s has amount %d; leave an unknown amount out", name, code, c)
			}
		}
		out[year] = s
	}
	return out, nil
})

// ForYear returns the schedule of a calendar year; ok is false when there is
// none (or the embedded data is malformed, which TestLoad rules out).
func ForYear(year int) (Schedule, bool) {
	all, err := Load()
	if err != nil {
		return Schedule{}, false
	}
	s, ok := all[year]
	return s, ok
}

// Years lists the years with a schedule, ascending.
func Years() []int {
	all, _ := Load()
	out := make([]int, 0, len(all))
	for y := range all {
		out = append(out, y)
	}
	sort.Ints(out)
	return out
}

// Cents is the amount of units of code in the service year, 0 when the year
// or the code has no known amount.
func Cents(year int, code string, units int) int64 {
	s, ok := ForYear(year)
	if !ok {
		return 0
	}
	c, _ := s.Amount(code)
	return c * int64(units)
}
