package events

import (
	"math/rand/v2"
	"testing"
	"time"
)

// appendRFC3339NanoUTC writes exactly what the standard formatter writes,
// across the years it handles itself, at its edges and beyond them.
func TestAppendRFC3339NanoUTC(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	zones := []*time.Location{time.UTC, time.FixedZone("", -5*3600), time.FixedZone("", 13*3600+45*60), time.FixedZone("", 37)}
	times := []time.Time{
		{}, time.Unix(0, 0), time.Unix(0, 1), time.Unix(-1, 999_999_999),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 12, 30, 0, 100_000_000, time.UTC), time.Date(2025, 3, 9, 7, 0, 0, 120_000, time.UTC),
		time.Date(2025, 11, 2, 1, 30, 0, 0, time.FixedZone("", -4*3600)),
	}
	for range 20000 {
		ts := time.Unix(rng.Int64N(1<<36)-1<<35, 0)
		switch rng.IntN(4) {
		case 1:
			ts = ts.Add(time.Duration(rng.Int64N(1e9)))
		case 2:
			ts = ts.Add(time.Duration(rng.Int64N(1000)) * time.Millisecond)
		case 3:
			ts = ts.Add(time.Duration(rng.Int64N(1e6)) * time.Microsecond)
		}
		times = append(times, ts.In(zones[rng.IntN(len(zones))]))
	}
	for _, ts := range times {
		want := ts.UTC().Format(time.RFC3339Nano)
		if got := string(appendRFC3339NanoUTC([]byte("x"), ts)); got != "x"+want {
			t.Fatalf("appendRFC3339NanoUTC(%v) = %q, want %q", ts, got, "x"+want)
		}
	}
}
