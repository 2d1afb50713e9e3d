package projection

import (
	"cmp"
	"slices"
	"time"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// programOrder is the contract's priority for entries tagged with several
// programs (tcm, rpm, bhi, g0506, pcm, ccm).
var programOrder = []rules.Program{rules.ProgramTCM, rules.ProgramRPM, rules.ProgramBHI, rules.ProgramG0506, rules.ProgramPCM, rules.ProgramCCM}

// MinuteTotals returns the month's logged minutes by program tag and staff
// role, with what the evaluation counted (readmodel.MinuteTotal), ordered
// by program then role.
//
//   - Minutes are the entry's minutes that fall in the month (split at local
//     midnight, or the whole entry in the month it started under the A9
//     policy entry_start), corrections applied, voided entries left out,
//     before the rules' exclusions.
//   - An entry is filed under one program: the first of its tags in the
//     contract's priority order, except that of pcm and ccm it is the
//     program evaluated when it carries that tag (the engine counts it
//     there); an untagged entry is ccm.
//   - Counted is, per entry, its minutes less every minute the evaluation
//     excluded from it (other_month included), so the Counted of a month
//     add up to the evaluation's countedMinutes.
func MinuteTotals(f rules.Facts, ev rules.Evaluation) []readmodel.MinuteTotal {
	loc := f.Location
	if loc == nil {
		loc = time.UTC
	}
	start, end := f.Month.Start(loc), f.Month.End(loc)
	entryStart := f.Policy.MonthBoundary == rules.EntryStart
	month := ""
	// A month holds few entries: linear scans over small slices cost less
	// than maps here (this runs for every patient-month of a rebuild).
	var out []readmodel.MinuteTotal
	for i := range f.TimeEntries {
		e := &f.TimeEntries[i]
		if e.Voided {
			continue
		}
		logged := monthMinutes(e, start, end, entryStart)
		counted := 0
		if !slices.ContainsFunc(f.TimeEntries[:i], func(o rules.TimeEntry) bool { return o.ID == e.ID && !o.Voided }) {
			// The first entry of an id carries the id's counted minutes
			// (a duplicate of it is wholly excluded).
			total := 0
			for j := range f.TimeEntries {
				if o := &f.TimeEntries[j]; o.ID == e.ID {
					total += max(o.Minutes, 0)
				}
			}
			for _, x := range ev.Excluded {
				if x.EntryID == e.ID {
					total -= x.Minutes
				}
			}
			counted = max(total, 0)
		}
		if logged == 0 && counted == 0 {
			continue
		}
		program, role := string(programOf(e.Programs, ev.Program)), string(e.Staff.Role)
		k := slices.IndexFunc(out, func(t readmodel.MinuteTotal) bool { return t.Program == program && t.Role == role })
		if k < 0 {
			if month == "" {
				month = f.Month.String()
			}
			out = append(out, readmodel.MinuteTotal{PatientID: f.PatientID, Month: month, Program: program, Role: role})
			k = len(out) - 1
		}
		out[k].Minutes += logged
		out[k].Counted += counted
	}
	if out == nil {
		return []readmodel.MinuteTotal{}
	}
	slices.SortFunc(out, func(a, b readmodel.MinuteTotal) int {
		return cmp.Or(cmp.Compare(a.Program, b.Program), cmp.Compare(a.Role, b.Role))
	})
	return out
}

// monthMinutes is the part of e in [start, end), in whole minutes (the
// engine truncates a start to its minute).
func monthMinutes(e *rules.TimeEntry, start, end time.Time, entryStart bool) int {
	sec := e.StartedAt.Unix()
	minute := sec / 60
	if sec < 0 && sec%60 != 0 {
		minute--
	}
	lo := time.Unix(minute*60, 0)
	hi := lo.Add(time.Duration(max(e.Minutes, 0)) * time.Minute)
	if entryStart {
		if !lo.Before(start) && lo.Before(end) {
			return max(e.Minutes, 0)
		}
		return 0
	}
	a, b := lo, hi
	if a.Before(start) {
		a = start
	}
	if b.After(end) {
		b = end
	}
	if !a.Before(b) {
		return 0
	}
	return int(b.Sub(a) / time.Minute)
}

// programOf is the program an entry's minutes are filed under.
func programOf(tags []rules.Program, evaluated rules.Program) rules.Program {
	if len(tags) == 0 {
		return rules.ProgramCCM
	}
	var first rules.Program
	for _, p := range programOrder {
		if !slices.Contains(tags, p) {
			continue
		}
		if p != rules.ProgramPCM && p != rules.ProgramCCM {
			return p
		}
		if p == evaluated {
			return p
		}
		if first == "" {
			first = p
		}
	}
	if first != "" {
		return first
	}
	return tags[0]
}
