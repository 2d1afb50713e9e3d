package storetest

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// Step is one Commit of a simulation.
type Step struct {
	Changes readmodel.Changes
	Through uint64
}

// SimulatedMonths are the months Simulate writes.
var SimulatedMonths = []string{"2025-02", "2025-03"}

// Simulate returns the commits of a deterministic simulated practice over
// February and March 2025: patients with one to three chronic conditions,
// consent granted, declined or missing, care plans with and without a copy,
// time entries by clinical and non-clinical staff arriving week by week,
// every touched patient-month re-evaluated by the real rules engine, its
// minute totals replaced, February closed into two claim batches mid-way
// (billed months keep their billed evaluation), and the funnel rows. The
// same n always gives the same steps; every step advances Through.
func Simulate(n int) []Step {
	sim := newSimulation(n)
	windows := []struct {
		month    string
		from, to int // days
	}{
		{"2025-02", 1, 10}, {"2025-02", 11, 20}, {"2025-02", 21, 28},
		{"2025-03", 1, 7}, {"2025-03", 8, 14}, {"2025-03", 15, 21}, {"2025-03", 22, 31},
	}
	var steps []Step
	for i, w := range windows {
		steps = append(steps, sim.logWeek(w.month, w.from, w.to, i == 0))
		if i == 2 {
			steps = append(steps, sim.closeMonth("2025-02"))
		}
	}
	return steps
}

var simNPIs = []string{"1111111111", "2222222222", "3333333333"}

type simPatient struct {
	id         string
	npi        string
	conditions []rules.Condition
	consents   []rules.Consent
	carePlans  []rules.CarePlan
	encounters []rules.Encounter
	deceased   rules.Date
	entries    []rules.TimeEntry
	billed     map[string]*rules.BilledMonth // by month
	row        readmodel.Patient
}

type simulation struct {
	rng      *rand.Rand
	patients []*simPatient
	seq      uint64
	evals    map[readmodel.PatientMonthKey]readmodel.PatientMonth
}

func newSimulation(n int) *simulation {
	s := &simulation{rng: rand.New(rand.NewPCG(20250301, uint64(n))), evals: map[readmodel.PatientMonthKey]readmodel.PatientMonth{}}
	prefixes := []string{"p-", "P-", "pt_"}
	for i := range n {
		p := &simPatient{
			id:     fmt.Sprintf("%s%d", prefixes[i%len(prefixes)], i), // unpadded: byte order is not numeric order
			npi:    simNPIs[s.rng.IntN(len(simNPIs))],
			billed: map[string]*rules.BilledMonth{},
		}
		enrolled := time.Date(2024, time.December, 1+s.rng.IntN(28), 9+s.rng.IntN(8), s.rng.IntN(60), 0, s.rng.IntN(1e9), time.UTC)
		dx := []string{"I50.22", "E11.65", "N18.31"}
		for j := range 1 + s.rng.IntN(3) {
			p.conditions = append(p.conditions, rules.Condition{Code: dx[j], ExpectedDurationMonths: 60, SignificantRisk: true, EventID: fmt.Sprintf("ev-dx-%d-%d", i, j)})
		}
		p.row = readmodel.Patient{PatientID: p.id, EnrolledAt: enrolled, BillingPractitionerNPI: p.npi, QualifyingConditions: len(p.conditions), ConsentStatus: "none"}
		switch r := s.rng.IntN(20); {
		case r < 17:
			at := enrolled.Add(time.Duration(s.rng.IntN(3600)) * time.Second)
			p.consents = []rules.Consent{{ID: fmt.Sprintf("c-%d", i), Program: rules.ProgramCCM, PractitionerNPI: p.npi, Method: rules.MethodVerbal,
				Decision: rules.DecisionAccepted, ObtainedAt: at, ObtainedBy: "rn-1", EventID: fmt.Sprintf("ev-consent-%d", i),
				Disclosures: []string{rules.DisclosureAvailabilityAndCostSharing, rules.DisclosureOnePractitionerPerMonth, rules.DisclosureRightToStop}}}
			p.row.ConsentStatus, p.row.ConsentedAt = "granted", &at
		case r < 18:
			at := enrolled.Add(time.Hour)
			p.row.ConsentStatus, p.row.DeclinedAt = "declined", &at
		}
		if s.rng.IntN(10) < 9 {
			at := enrolled.Add(2 * time.Hour)
			plan := rules.CarePlan{ID: fmt.Sprintf("cp-%d", i), Kind: rules.CarePlanComprehensive, EstablishedAt: at, AuthorNPI: p.npi,
				Electronic: true, MissingElements: []string{}, EventID: fmt.Sprintf("ev-plan-%d", i)}
			p.row.CarePlanAt = &at
			if s.rng.IntN(20) < 17 {
				copyAt := at.Add(30 * time.Minute)
				plan.Copies = []rules.CarePlanCopy{{ProvidedAt: copyAt, To: "patient", Method: "portal", EventID: fmt.Sprintf("ev-copy-%d", i)}}
				p.row.CopyProvidedAt = &copyAt
			}
			p.carePlans = []rules.CarePlan{plan}
		}
		if s.rng.IntN(20) < 19 {
			p.encounters = []rules.Encounter{{ID: fmt.Sprintf("v-%d", i), Kind: rules.EncounterOfficeVisit, PractitionerNPI: p.npi,
				Start: enrolled.Add(-time.Hour), End: enrolled.Add(-30 * time.Minute), CCMDiscussed: true, EventID: fmt.Sprintf("ev-visit-%d", i)}}
		}
		if s.rng.IntN(100) == 0 {
			p.deceased = rules.Date{Year: 2025, Month: time.March, Day: 20}
			p.row.DeceasedDate = p.deceased.String()
		}
		s.patients = append(s.patients, p)
	}
	return s
}

var simRoles = []rules.Role{rules.RoleRN, rules.RoleRN, rules.RoleRN, rules.RoleMA, rules.RoleLPN, rules.RolePhysician, rules.RoleFrontDesk}

// logWeek records time entries dated within days from..to of month for
// about two patients in three, re-evaluates their months and replaces their
// totals. The first step also writes every funnel row.
func (s *simulation) logWeek(month string, from, to int, first bool) Step {
	m := rules.MustMonth(month)
	var c readmodel.Changes
	events := 0
	for i, p := range s.patients {
		if s.rng.IntN(3) == 0 {
			continue
		}
		for k := range 1 + s.rng.IntN(3) {
			role := simRoles[s.rng.IntN(len(simRoles))]
			staff := rules.Staff{ID: fmt.Sprintf("%s-%d", role, s.rng.IntN(4)), Name: string(role), Role: role}
			if role == rules.RolePhysician {
				staff.NPI = p.npi
			}
			day := from + s.rng.IntN(to-from+1)
			start := time.Date(m.Year, m.Month, day, 8+s.rng.IntN(9), s.rng.IntN(60), 0, 0, time.UTC)
			minutes := 3 + s.rng.IntN(28)
			outcome := rules.OutcomeCompleted
			if s.rng.IntN(20) == 0 {
				outcome = rules.OutcomeUnanswered
			}
			programs := []rules.Program{rules.ProgramCCM}
			if s.rng.IntN(25) == 0 {
				programs = []rules.Program{rules.ProgramPCM}
			}
			id := fmt.Sprintf("te-%d-%s-%d-%d", i, month, day, k)
			p.entries = append(p.entries, rules.TimeEntry{ID: id, EventID: "ev-" + id, Staff: staff, Programs: programs,
				StartedAt: start, Minutes: minutes, Activity: "care_coordination", Outcome: outcome,
				RecordedAt: start.Add(time.Duration(minutes)*time.Minute + time.Duration(s.rng.IntN(1e9))), // nanoseconds too
			})
			events++
		}
		s.seq += uint64(events)
		events = 0
		c.PatientMonths = append(c.PatientMonths, s.evaluate(p, month))
		c.TotalsReplaced = append(c.TotalsReplaced, readmodel.PatientMonthKey{PatientID: p.id, Month: month})
		c.Totals = append(c.Totals, s.totals(p, month)...)
	}
	if first {
		for _, p := range s.patients {
			c.Patients = append(c.Patients, p.row)
			s.seq++
		}
	}
	s.seq++
	return Step{Changes: c, Through: s.seq}
}

// evaluate runs the rules engine on p's month as of now.
func (s *simulation) evaluate(p *simPatient, month string) readmodel.PatientMonth {
	m := rules.MustMonth(month)
	f := rules.Facts{
		PatientID: p.id, Month: m, Location: time.UTC,
		Patient:             rules.Patient{ID: p.id, DeceasedDate: p.deceased, EventID: "ev-enrolled-" + p.id},
		BillingPractitioner: rules.Practitioner{NPI: p.npi, Kind: rules.KindPhysician},
		Conditions:          p.conditions, Consents: p.consents, CarePlans: p.carePlans, Encounters: p.encounters,
		Billed: p.billed[month],
	}
	for _, e := range p.entries {
		if e.StartedAt.Year() == m.Year && e.StartedAt.Month() == m.Month {
			f.TimeEntries = append(f.TimeEntries, e)
		}
	}
	pm := readmodel.PatientMonth{PatientID: p.id, Month: month, Evaluation: rules.Evaluate(f), AsOfSequence: s.seq}
	if prev, ok := s.evals[readmodel.PatientMonthKey{PatientID: p.id, Month: month}]; ok && p.billed[month] != nil {
		pm.BatchID, pm.BilledEvaluation = prev.BatchID, prev.BilledEvaluation
	}
	s.evals[readmodel.PatientMonthKey{PatientID: p.id, Month: month}] = pm
	return pm
}

// totals sums p's minutes of month by program and role: logged, and counted
// (logged less what the evaluation excluded).
func (s *simulation) totals(p *simPatient, month string) []readmodel.MinuteTotal {
	ev := s.evals[readmodel.PatientMonthKey{PatientID: p.id, Month: month}].Evaluation
	excluded := map[string]int{}
	for _, x := range ev.Excluded {
		excluded[x.EntryID] += x.Minutes
	}
	type key struct{ program, role string }
	sums := map[key]*readmodel.MinuteTotal{}
	var keys []key
	for _, e := range p.entries {
		if e.StartedAt.Format("2006-01") != month {
			continue
		}
		k := key{string(e.Programs[0]), string(e.Staff.Role)}
		if sums[k] == nil {
			sums[k] = &readmodel.MinuteTotal{PatientID: p.id, Month: month, Program: k.program, Role: k.role}
			keys = append(keys, k)
		}
		sums[k].Minutes += e.Minutes
		sums[k].Counted += max(0, e.Minutes-excluded[e.ID])
	}
	// Written in an order the stores must not rely on.
	sort.Slice(keys, func(i, j int) bool { return keys[i].role > keys[j].role })
	out := make([]readmodel.MinuteTotal, 0, len(keys))
	for _, k := range keys {
		out = append(out, *sums[k])
	}
	return out
}

// closeMonth closes month into two claim batches (practitioner 1, the
// others) of its billable patient-months, marks those months billed and
// re-evaluated, and sets the patients' first billed month.
func (s *simulation) closeMonth(month string) Step {
	var c readmodel.Changes
	closedAt := time.Date(2025, time.March, 3, 14, 0, 0, 123_456_789, time.UTC)
	groups := []struct {
		id    string
		match func(npi string) bool
	}{
		{"batch-" + month + "-b", func(npi string) bool { return npi != simNPIs[0] }},
		{"batch-" + month + "-a", func(npi string) bool { return npi == simNPIs[0] }},
	}
	fees := map[string]int64{"99490": 6212, "99439": 4772, "99487": 13104, "99489": 7015, "99491": 8286, "99437": 5947, "99424": 8296, "99425": 5966}
	for _, g := range groups {
		b := readmodel.Batch{ID: g.id, Month: month, ClosedAt: closedAt, ContentHash: "sha256:" + g.id,
			Lines: []readmodel.BatchLine{}, Totals: readmodel.BatchTotals{Units: map[string]int{}}}
		var billedPatients []*simPatient
		for _, p := range s.patients {
			pm := s.evals[readmodel.PatientMonthKey{PatientID: p.id, Month: month}]
			if !g.match(p.npi) || pm.Evaluation.Status != rules.StatusBillable {
				continue
			}
			billedPatients = append(billedPatients, p)
			for _, l := range pm.Evaluation.Lines {
				b.Lines = append(b.Lines, readmodel.BatchLine{PatientID: p.id, Code: l.Code, Units: l.Units, DateOfService: l.DateOfService,
					PractitionerNPI: l.PractitionerNPI, Diagnoses: l.Diagnoses, Evidence: l.Evidence})
				b.Totals.Lines++
				b.Totals.Units[l.Code] += l.Units
				b.Totals.ExpectedRevenueCent += int64(l.Units) * fees[l.Code]
			}
		}
		b.Totals.Patients = len(billedPatients)
		s.seq++
		b.LogSequence, b.EventID, b.Sequence = s.seq, "ev-"+g.id, s.seq+1
		s.seq++
		for _, p := range billedPatients {
			key := readmodel.PatientMonthKey{PatientID: p.id, Month: month}
			billed := s.evals[key].Evaluation
			p.billed[month] = &rules.BilledMonth{BatchID: b.ID, ClosedAt: closedAt, Lines: billed.Lines}
			pm := s.evaluate(p, month)
			pm.BatchID, pm.BilledEvaluation = b.ID, &billed
			s.evals[key] = pm
			c.PatientMonths = append(c.PatientMonths, pm)
			if p.row.FirstBilledMonth == "" {
				p.row.FirstBilledMonth = month
				c.Patients = append(c.Patients, p.row)
			}
		}
		c.Batches = append(c.Batches, b)
	}
	return Step{Changes: c, Through: s.seq}
}
