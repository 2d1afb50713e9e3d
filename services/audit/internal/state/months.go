package state

import "time"

// ServiceMonths returns the service months (YYYY-MM, calendar months in
// loc; nil = UTC) from the month of FirstActivityAt through the month of
// EffectiveAt, ascending: the months whose billing evaluations belong in
// Months. At most MaxServiceMonths are returned, the most recent ones. The
// result is empty (not nil) when no activity is known. Pass the loc given to
// Fold: FirstActivityAt of a month-only fact (a complexity month, an
// external claim's service month) is that month's first instant in Fold's
// loc.
func (s State) ServiceMonths(loc *time.Location) []string {
	out := []string{}
	if s.FirstActivityAt.IsZero() || s.FirstActivityAt.After(s.EffectiveAt) {
		return out
	}
	if loc == nil {
		loc = time.UTC
	}
	fy, fm, _ := s.FirstActivityAt.In(loc).Date()
	ly, lm, _ := s.EffectiveAt.In(loc).Date()
	first, last := fy*12+int(fm)-1, ly*12+int(lm)-1
	first = max(first, last-MaxServiceMonths+1)
	for i := first; i <= last; i++ {
		out = append(out, time.Date(i/12, time.Month(i%12+1), 1, 0, 0, 0, 0, time.UTC).Format("2006-01"))
	}
	return out
}
