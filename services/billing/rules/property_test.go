package rules

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"
)

// Property tests over random patient-months, from fixed seeds so failures
// reproduce. Each property is stated in its test's comment.

const propertyRuns = 3000

var (
	propMonths = []string{"2016-06", "2019-06", "2020-03", "2021-11", "2022-02", "2024-02", "2025-03", "2025-11"}
	propZones  = []*time.Location{ny, mustLoc("America/Los_Angeles"), time.UTC, mustLoc("Australia/Lord_Howe"), mustLoc("Asia/Kolkata")}
	propRoles  = []Role{RoleRN, RoleRN, RoleRN, RoleRN, RoleMA, RoleLPN, RoleMA, RolePharmacist, RoleSocialWorker, RoleCareManager, RoleNP, RoleFrontDesk, RoleBiller, RoleScheduler}
	propTags   = []Program{ProgramCCM, ProgramCCM, ProgramCCM, ProgramCCM, ProgramCCM, ProgramCCM, ProgramPCM, ProgramTCM, ProgramRPM, ProgramBHI, ProgramG0506}
	propClaims = []string{"99490", "99487", "99491", "99426", "99424", "G0181", "90960", "G0557", "99495", "99457", "99214"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// randomPolicy sets every setting to a random allowed value.
func randomPolicy(r *rand.Rand) Policy {
	var p Policy
	for _, s := range policySettings {
		*s.field(&p) = pick(r, append([]string{""}, s.allowed...))
	}
	p.PCMAddOnMaxUnits = r.IntN(4)
	p.LateEntryDays = r.IntN(10)
	return p
}

// randomFacts builds a plausible but arbitrary patient-month.
func randomFacts(r *rand.Rand) Facts {
	month := pick(r, propMonths)
	f := factsIn(month)
	m := f.Month
	f.Location = pick(r, propZones)
	f.Policy = randomPolicy(r)
	f.Conditions = f.Conditions[:1+r.IntN(3)]
	// Half the times fall in a few busy slots (month start and end, one
	// mid-month hour) so that entries overlap, share sessions and cross
	// the month boundary.
	slots := []time.Time{
		m.Start(f.Location).Add(-20 * time.Minute),
		m.End(f.Location).Add(-30 * time.Minute),
		m.Start(f.Location).Add(14*24*time.Hour + 10*time.Hour),
	}
	minute := func() time.Time {
		if r.IntN(2) == 0 {
			return pick(r, slots).Add(time.Duration(r.IntN(40)) * time.Minute)
		}
		start := m.Start(f.Location).Add(-6 * time.Hour)
		span := m.End(f.Location).Sub(start) + 6*time.Hour
		return start.Add(time.Duration(r.Int64N(int64(span/time.Minute))) * time.Minute)
	}
	switch r.IntN(5) {
	case 0:
		f.Complexity = []ComplexityDecision{{Month: m, Level: pick(r, []string{MDMModerate, MDMHigh}), PractitionerNPI: drA, EventID: "ev-mdm"}}
	case 1:
		f.Complexity = []ComplexityDecision{{Month: m, Level: MDMLow, PractitionerNPI: drA}}
	case 2:
		f.Complexity = []ComplexityDecision{{Month: m.AddMonths(-1), Level: MDMHigh, PractitionerNPI: drA}}
	}
	for i := r.IntN(3); i > 0; i-- {
		s := minute()
		kind := pick(r, []string{EncounterOfficeVisit, EncounterAnnualWellnessVisit, EncounterTCM, EncounterInpatientStay, EncounterSNFStay})
		f.Encounters = append(f.Encounters, Encounter{
			ID: fmt.Sprintf("enc-%d", i), Kind: kind, PractitionerNPI: pick(r, []string{drA, drB}),
			Start: s, End: s.Add(time.Duration(20+r.IntN(3000)) * time.Minute), TimeBased: r.IntN(2) == 0,
		})
	}
	for i := r.IntN(3); i > 0; i-- {
		if r.IntN(3) == 0 {
			f.ExternalClaims = append(f.ExternalClaims, ExternalClaim{Code: pick(r, propClaims), PractitionerNPI: pick(r, []string{drA, drB}), ServiceMonth: m})
		}
	}
	if r.IntN(10) == 0 {
		f.Patient.DeceasedDate = DateOf(minute(), f.Location)
	}
	if r.IntN(10) == 0 {
		f.Consents[0].RevokedAt = minute()
	}
	if r.IntN(10) == 0 {
		f.Consents[0].ObtainedAt = minute()
	}
	for i := r.IntN(14); i > 0; i-- {
		f.TimeEntries = append(f.TimeEntries, randomEntry(r, fmt.Sprintf("e%d", i), minute()))
	}
	if n := len(f.TimeEntries); n > 0 && r.IntN(5) == 0 {
		f.TimeEntries = append(f.TimeEntries, f.TimeEntries[r.IntN(n)]) // an exact duplicate
	}
	return f
}

func randomEntry(r *rand.Rand, id string, start time.Time) TimeEntry {
	te := TimeEntry{
		ID: id, EventID: "ev-" + id, StartedAt: start, Minutes: 1 + r.IntN(60),
		Activity: pick(r, []string{"call", "med review", "coordination"}), Outcome: OutcomeCompleted,
	}
	te.RecordedAt = start.Add(time.Duration(te.Minutes+r.IntN(20*24*60)) * time.Minute)
	if r.IntN(4) == 0 {
		te.Staff = Staff{ID: "dr-a", Role: RolePhysician, NPI: drA}
	} else {
		role := pick(r, propRoles)
		te.Staff = Staff{ID: fmt.Sprintf("%s-%d", role, r.IntN(2)), Role: role}
	}
	te.Programs = []Program{pick(r, propTags)}
	if r.IntN(4) == 0 {
		te.Programs = append(te.Programs, pick(r, propTags))
	}
	if r.IntN(3) == 0 {
		te.SessionID = pick(r, []string{"s1", "s2"})
	}
	te.Outcome = pick(r, []string{OutcomeCompleted, OutcomeCompleted, OutcomeCompleted, OutcomeCompleted, OutcomeCompleted, OutcomeUnanswered})
	te.Voided = r.IntN(15) == 0
	te.DirectSupervision = r.IntN(2) == 0
	if r.IntN(15) == 0 {
		te.EncounterID = "enc-1"
	}
	return te
}

func forRandomFacts(t *testing.T, seed uint64, check func(t *testing.T, f Facts, ev Evaluation)) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range propertyRuns {
		f := randomFacts(r)
		ev := Evaluate(f)
		check(t, f, ev)
		if t.Failed() {
			t.Fatalf("failed on run %d (seed %d): month %s zone %s policy %+v\nentries %+v\nevaluation %+v",
				i, seed, f.Month, f.Location, f.Policy, f.TimeEntries, ev)
		}
	}
}

// Lines are well formed: every code exists in the month; each appears once;
// an add-on never appears without its own base (§2 add-on integrity);
// complex and non-complex never together (X1); 99491/99437 never with
// 99490/99439/99487/99489/G2058 (X2); CCM and PCM never together (X4); base
// units are 1 and add-on units never exceed their cap (T2, A12).
func TestPropertyLinesWellFormed(t *testing.T) {
	forRandomFacts(t, 1, func(t *testing.T, f Facts, ev Evaluation) {
		has := map[string]int{}
		for _, l := range ev.Lines {
			if _, dup := has[l.Code]; dup {
				t.Errorf("code %s appears twice in %s", l.Code, lineCodes(ev.Lines))
			}
			has[l.Code] = l.Units
		}
		hasAny := func(codes ...string) bool {
			for _, c := range codes {
				if _, ok := has[c]; ok {
					return true
				}
			}
			return false
		}
		for _, l := range ev.Lines {
			def, ok := LookupCode(l.Code, f.Month)
			if !ok {
				t.Errorf("code %s not in effect in %s", l.Code, f.Month)
				continue
			}
			if def.Base != "" && !hasAny(def.Base) {
				t.Errorf("add-on %s without its base %s: %s", l.Code, def.Base, lineCodes(ev.Lines))
			}
			if def.Base == "" && l.Units != 1 {
				t.Errorf("base %s has %d units, want 1", l.Code, l.Units)
			}
			limit := def.MaxUnits
			if def.Program == ProgramPCM && def.Base != "" {
				if p := f.Policy.withDefaults().PCMAddOnMaxUnits; p > 0 && (limit == 0 || p < limit) {
					limit = p
				}
			}
			if l.Units < 1 || (limit > 0 && l.Units > limit) {
				t.Errorf("%s has %d units, cap %d", l.Code, l.Units, limit)
			}
			if l.PractitionerNPI != drA {
				t.Errorf("line %s practitioner %s, want %s", l.Code, l.PractitionerNPI, drA)
			}
		}
		nonComplex, complexCCM, personal := hasAny("99490", "99439", "G2058"), hasAny("99487", "99489"), hasAny("99491", "99437")
		if nonComplex && complexCCM {
			t.Errorf("complex and non-complex together (X1): %s", lineCodes(ev.Lines))
		}
		if personal && (nonComplex || complexCCM) {
			t.Errorf("99491 with staff CCM (X2): %s", lineCodes(ev.Lines))
		}
		if (nonComplex || complexCCM || personal) && hasAny("99424", "99425", "99426", "99427", "G2064", "G2065") {
			t.Errorf("CCM and PCM together (X4): %s", lineCodes(ev.Lines))
		}
	})
}

// Status agrees with lines and reasons, and every code is a known one.
func TestPropertyStatusConsistent(t *testing.T) {
	notBillable := map[ReasonCode]bool{
		ReasonBelowThreshold: true, ReasonInsufficientChronicConditions: true, ReasonNoConsent: true,
		ReasonConsentOtherPractitioner: true, ReasonNoCarePlan: true, ReasonNoInitiatingVisit: true,
		ReasonBilledByOtherPractitioner: true, ReasonCCMAndPCMSamePractitioner: true, ReasonBundledInAPCM: true,
		ReasonOverlappingServiceExclusion: true, ReasonPatientDeceased: true, ReasonDuplicateClaim: true,
		ReasonPractitionerNotEligible: true, ReasonCodeNotInEffect: true,
	}
	hold := map[ReasonCode]bool{
		ReasonConsentElementsIncomplete: true, ReasonCarePlanCopyNotProvided: true,
		ReasonCarePlanIncomplete: true, ReasonComplexityNotDocumented: true,
	}
	excluded := map[ReasonCode]bool{
		ExcludedNonClinicalStaff: true, ExcludedBeforeConsent: true, ExcludedAfterRevocation: true,
		ExcludedCountedForOtherProgram: true, ExcludedDuringBilledVisit: true, ExcludedInpatientStay: true,
		ExcludedDuplicateEntry: true, ExcludedOverlappingTime: true, ExcludedSharedSession: true,
		ExcludedUnansweredOutreach: true, ExcludedOtherMonth: true, ExcludedVoided: true, ExcludedAfterDeath: true,
		ExcludedSupervisionNotMet: true,
	}
	flags := map[ReasonCode]bool{
		FlagSameDayAsVisit: true, FlagLateEntry: true, FlagComplexityDowngraded: true,
		FlagPostCloseChange: true, FlagPathwayPolicyApplied: true,
	}
	forRandomFacts(t, 2, func(t *testing.T, f Facts, ev Evaluation) {
		var blocking, holds int
		for _, r := range ev.Reasons {
			switch {
			case notBillable[r.Code]:
				blocking++
			case hold[r.Code]:
				holds++
			default:
				t.Errorf("unknown reason code %s", r.Code)
			}
		}
		switch ev.Status {
		case StatusBillable:
			if len(ev.Lines) == 0 || len(ev.Reasons) != 0 {
				t.Errorf("billable with lines %s and reasons %v", lineCodes(ev.Lines), ev.Reasons)
			}
		case StatusHold:
			if len(ev.Lines) == 0 || blocking > 0 || holds == 0 {
				t.Errorf("hold with lines %s and reasons %v", lineCodes(ev.Lines), ev.Reasons)
			}
		case StatusNotBillable:
			if len(ev.Lines) != 0 || blocking == 0 {
				t.Errorf("not_billable with lines %s and reasons %v", lineCodes(ev.Lines), ev.Reasons)
			}
		default:
			t.Errorf("unexpected status %s", ev.Status)
		}
		for _, x := range ev.Excluded {
			if !excluded[x.Code] || x.Minutes <= 0 {
				t.Errorf("bad exclusion %+v", x)
			}
		}
		for _, fl := range ev.Flags {
			if !flags[fl.Code] {
				t.Errorf("unknown flag %s", fl.Code)
			}
		}
		if ev.Lines == nil || ev.Reasons == nil || ev.Flags == nil || ev.Excluded == nil {
			t.Errorf("nil slice in %+v", ev)
		}
	})
}

// Every minute of every entry that touches the month is either counted or
// excluded with exactly one code: counted + excluded = logged.
func TestPropertyMinutesConserved(t *testing.T) {
	forRandomFacts(t, 3, func(t *testing.T, f Facts, ev Evaluation) {
		var e evaluator
		e.init(f)
		logged := 0
		for _, r := range e.entryRefs() {
			if r.hi > r.lo && e.touchesMonth(r) {
				logged += r.e.Minutes
			}
		}
		total := ev.CountedMinutes
		for _, x := range ev.Excluded {
			total += x.Minutes
		}
		if total != logged {
			t.Errorf("counted %d + excluded = %d, want the %d logged minutes (excluded %v)", ev.CountedMinutes, total, logged, ev.Excluded)
		}
	})
}

// Same facts, same evaluation; and the order in which entries arrive does
// not matter.
func TestPropertyDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 0x5eed))
	forRandomFacts(t, 4, func(t *testing.T, f Facts, ev Evaluation) {
		if again := Evaluate(f); !reflect.DeepEqual(again, ev) {
			t.Errorf("second evaluation differs:\n got %+v\nwant %+v", again, ev)
		}
		g := f
		g.TimeEntries = append([]TimeEntry(nil), f.TimeEntries...)
		r.Shuffle(len(g.TimeEntries), func(i, j int) { g.TimeEntries[i], g.TimeEntries[j] = g.TimeEntries[j], g.TimeEntries[i] })
		if shuffled := Evaluate(g); !reflect.DeepEqual(shuffled, ev) {
			t.Errorf("shuffled entries change the evaluation:\n got %+v\nwant %+v", shuffled, ev)
		}
	})
}

// Evaluations running at once agree with the same evaluations run one by
// one: Evaluate is safe for concurrent use although evaluations reuse pooled
// scratch (with -race, any sharing between them also fails the test). Each
// goroutine starts at its own month, so different months overlap.
func TestPropertyConcurrentEvaluationsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 0x5eed))
	facts := make([]Facts, 500)
	want := make([]Evaluation, len(facts))
	for i := range facts {
		facts[i] = randomFacts(r)
		want[i] = Evaluate(facts[i])
	}
	got := make([][]Evaluation, 4)
	var wg sync.WaitGroup
	for g := range got {
		got[g] = make([]Evaluation, len(facts))
		wg.Go(func() {
			for i := range facts {
				j := (i + g*len(facts)/len(got)) % len(facts)
				got[g][j] = Evaluate(facts[j])
			}
		})
	}
	wg.Wait()
	for g := range got {
		for i := range facts {
			if !reflect.DeepEqual(got[g][i], want[i]) {
				t.Fatalf("goroutine %d, month %d: got %+v, want %+v", g, i, got[g][i], want[i])
			}
		}
	}
}

// Adding minutes never removes a line: a month with lines keeps lines when
// another clinical-staff member logs more time for the same program, and on
// an unchanged pathway no code loses units. (Codes themselves may change
// when more minutes move the month to another pathway, e.g. 99490+99439 to
// 99487 at 60 complex minutes, A3, or 99491 to 99490+99439 when staff time
// joins the practitioner's, A4.)
func TestPropertyAddingMinutesNeverRemovesLines(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 0x5eed))
	forRandomFacts(t, 5, func(t *testing.T, f Facts, ev Evaluation) {
		g := f
		extra := randomEntry(r, "extra", f.Month.Start(f.Location).Add(time.Duration(r.IntN(27*24*60))*time.Minute))
		extra.Staff = Staff{ID: "new-rn", Role: RoleRN}
		extra.Programs = []Program{ev.Program}
		extra.Outcome, extra.Voided, extra.SessionID, extra.EncounterID, extra.Activity = OutcomeCompleted, false, "", "", "extra work"
		g.TimeEntries = append(append([]TimeEntry(nil), f.TimeEntries...), extra)
		after := Evaluate(g)
		if after.CountedMinutes < ev.CountedMinutes {
			t.Errorf("counted minutes fell from %d to %d", ev.CountedMinutes, after.CountedMinutes)
		}
		if len(ev.Lines) > 0 && len(after.Lines) == 0 {
			t.Errorf("lines %s disappeared after adding %d minutes", lineCodes(ev.Lines), extra.Minutes)
		}
		if after.Pathway != ev.Pathway {
			return
		}
		units := map[string]int{}
		for _, l := range after.Lines {
			units[l.Code] = l.Units
		}
		for _, l := range ev.Lines {
			if units[l.Code] < l.Units {
				t.Errorf("lines went from %s to %s on pathway %s", lineCodes(ev.Lines), lineCodes(after.Lines), ev.Pathway)
			}
		}
	})
}
