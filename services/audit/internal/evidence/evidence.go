// Package evidence builds the audit packet of one claimed patient-month:
// everything a Medicare auditor asks for to prove a CCM or PCM claim
// (ccm-rules.md §6: documented consent, a care plan given to the patient,
// provable time, no duplicate or overlapping claim), taken from the log of
// record and tied to the events that prove each fact.
//
// The packet is built as the log stood when the month was billed (the
// batch's logSequence), which is what the claim rests on, and shows the
// evaluation of today beside it when later facts changed the month
// (post-close differences). For a month not billed yet it is built as of
// now, or as of ?asOf=.
package evidence

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing"
	"github.com/carelog/carelog/services/billing/rules"
)

// Format names the packet's layout; it changes when the layout does.
const Format = "carelog.audit-packet/1"

// Packet is the audit packet of one patient-month.
type Packet struct {
	Format      string    `json:"format"`
	GeneratedAt time.Time `json:"generatedAt"`
	PatientID   string    `json:"patientId"`
	Month       string    `json:"month"`
	// Basis says which state of the log the packet shows: "billed" (the log
	// at the claim batch's logSequence), "asOf" (facts recorded by AsOf) or
	// "current".
	Basis        string    `json:"basis"`
	AsOf         time.Time `json:"asOf,omitzero"`
	AsOfSequence uint64    `json:"asOfSequence"`
	// Claim is the claim batch that billed the month, with this patient's
	// lines as billed; nil when the month is not billed.
	Claim          *Claim           `json:"claim"`
	RuleSetVersion string           `json:"ruleSetVersion"`
	Evaluation     rules.Evaluation `json:"evaluation"`
	// Current is today's evaluation when it differs from Evaluation (a fact
	// recorded after the claim: a post-close difference to review).
	Current *rules.Evaluation `json:"current,omitempty"`

	Patient             rules.Patient      `json:"patient"`
	BillingPractitioner rules.Practitioner `json:"billingPractitioner"`
	Conditions          []rules.Condition  `json:"conditions"`
	Consents            []rules.Consent    `json:"consents"`
	Visits              []rules.Encounter  `json:"visits"`
	CarePlans           []rules.CarePlan   `json:"carePlans"`
	// CarePlanVersions says which version of each plan stood by the end of
	// the month (CP1: established, implemented, revised or monitored).
	CarePlanVersions []PlanVersion              `json:"carePlanVersions"`
	Complexity       []rules.ComplexityDecision `json:"complexity"`
	OtherEncounters  []rules.Encounter          `json:"otherEncounters"`
	ExternalClaims   []rules.ExternalClaim      `json:"externalClaims"`
	TimeEntries      []TimeEntry                `json:"timeEntries"`
	Policy           rules.Policy               `json:"policy"`
	TimeZone         string                     `json:"timeZone"`

	// Events are the recorded events behind every fact above, in log order,
	// each with its hash; Chain is the check of the patient's whole chain.
	Events []eventlog.Record `json:"events"`
	Chain  Chain             `json:"chain"`
}

// Claim is the batch that billed the month.
type Claim struct {
	BatchID     string             `json:"batchId"`
	ClosedAt    time.Time          `json:"closedAt"`
	Sequence    uint64             `json:"sequence"`
	LogSequence uint64             `json:"logSequence"`
	ContentHash string             `json:"contentHash"`
	Lines       []events.ClaimLine `json:"lines"`
}

// TimeEntry is one time entry of the month with what the engine did with it:
// Counted when a claim line cites it, and the minutes it excluded with the
// reason code (reason-codes.md).
type TimeEntry struct {
	rules.TimeEntry
	Counted  bool             `json:"counted"`
	Excluded []rules.Excluded `json:"excluded"`
}

// PlanVersion is a care plan's version at the end of the month: 1 for the
// plan as established, plus each revision made by then and known at the
// packet's basis.
type PlanVersion struct {
	PlanID    string     `json:"planId"`
	Version   int        `json:"version"`
	Revisions []Revision `json:"revisions"`
}

// Revision is one recorded care plan revision.
type Revision struct {
	EventID   string    `json:"eventId"`
	RevisedAt time.Time `json:"revisedAt"`
	AuthorNPI string    `json:"authorNpi"`
}

// Chain is the hash-chain check of the patient's stream.
type Chain struct {
	Verified bool   `json:"verified"`
	Checked  int    `json:"checked"`
	FirstBad string `json:"firstBad,omitempty"`
}

// Build assembles the packet of patientID's month. asOf, when not zero,
// builds it from the facts recorded by then instead of the billed state.
// Errors: errs.Invalid for a malformed month, errs.NotFound for a patient not
// enrolled at the basis; a broken chain is reported in Chain, not as an
// error, and the packet then holds the events read before the break.
func Build(ctx context.Context, log eventlog.Log, patientID, month string, asOf, now time.Time) (Packet, error) {
	const op = "audit.Evidence"
	cur, ok, err := billing.EvaluateAt(ctx, log, patientID, month, billing.Cut{})
	if err != nil {
		return Packet{}, err
	}
	if !ok {
		return Packet{}, errs.E(op, errs.NotFound, "patient %s is not enrolled", patientID)
	}
	p := Packet{Format: Format, GeneratedAt: now.UTC(), PatientID: patientID, Month: month, Basis: "current", RuleSetVersion: rules.RuleSetVersion}
	at := cur
	switch {
	case !asOf.IsZero():
		p.Basis, p.AsOf = "asOf", asOf.UTC()
		if at, ok, err = billing.EvaluateAt(ctx, log, patientID, month, billing.Cut{AsOf: asOf}); err != nil {
			return Packet{}, err
		} else if !ok {
			return Packet{}, errs.E(op, errs.NotFound, "patient %s was not enrolled as of %s", patientID, asOf.Format(time.RFC3339))
		}
	case cur.BatchID != "":
		b, err := billing.FindBatch(ctx, log, cur.BatchID)
		if err != nil {
			return Packet{}, err
		}
		p.Basis = "billed"
		p.Claim = &Claim{BatchID: b.ID, ClosedAt: b.ClosedAt, Sequence: b.Sequence, LogSequence: b.LogSequence, ContentHash: b.ContentHash}
		for _, l := range b.Lines {
			if l.PatientID == patientID {
				p.Claim.Lines = append(p.Claim.Lines, l)
			}
		}
		if at, _, err = billing.EvaluateAt(ctx, log, patientID, month, billing.Cut{UntilSequence: b.LogSequence}); err != nil {
			return Packet{}, err
		}
	}
	p.AsOfSequence = at.AsOfSequence
	p.Evaluation = at.Evaluation
	if p.Basis != "current" && !sameOutcome(at.Evaluation, cur.Evaluation) {
		c := cur.Evaluation
		p.Current = &c
	}
	f := at.Facts
	p.Patient, p.BillingPractitioner, p.Policy = f.Patient, f.BillingPractitioner, f.Policy
	if f.Location != nil {
		p.TimeZone = f.Location.String()
	}
	p.Conditions, p.Consents, p.CarePlans, p.Complexity, p.ExternalClaims = nonNil(f.Conditions), nonNil(f.Consents), nonNil(f.CarePlans), nonNil(f.Complexity), nonNil(f.ExternalClaims)
	p.Visits, p.OtherEncounters = []rules.Encounter{}, []rules.Encounter{}
	for _, en := range f.Encounters {
		if isVisit(en.Kind) && (en.PractitionerNPI == "" || en.PractitionerNPI == f.BillingPractitioner.NPI) {
			p.Visits = append(p.Visits, en)
		} else {
			p.OtherEncounters = append(p.OtherEncounters, en)
		}
	}
	cited := map[string]bool{}
	for _, l := range at.Evaluation.Lines {
		for _, id := range l.Evidence {
			cited[id] = true
		}
	}
	p.TimeEntries = []TimeEntry{}
	for _, e := range f.TimeEntries {
		te := TimeEntry{TimeEntry: e, Counted: cited[e.EventID], Excluded: []rules.Excluded{}}
		for _, x := range at.Evaluation.Excluded {
			if x.EntryID == e.ID {
				te.Excluded = append(te.Excluded, x)
			}
		}
		p.TimeEntries = append(p.TimeEntries, te)
	}
	want := wanted(f, cited)
	inCut := func(rec eventlog.Record) bool {
		switch p.Basis {
		case "billed":
			return rec.Sequence <= p.Claim.LogSequence
		case "asOf":
			return !rec.RecordedAt.After(asOf)
		}
		return true
	}
	loc := f.Location
	if loc == nil {
		loc = time.UTC
	}
	monthEnd := f.Month.End(loc)
	versions := map[string]*PlanVersion{}
	p.CarePlanVersions = []PlanVersion{}
	for _, cp := range f.CarePlans {
		versions[cp.ID] = &PlanVersion{PlanID: cp.ID, Version: 1, Revisions: []Revision{}}
	}
	p.Events = []eventlog.Record{}
	p.Chain.Verified = true
	for rec, err := range log.ReadStream(ctx, events.PatientStream(patientID), 1) {
		if err != nil {
			ie, ok := errors.AsType[*eventlog.IntegrityError](err)
			if !ok {
				return Packet{}, err
			}
			p.Chain.Verified, p.Chain.FirstBad = false, ie.Error()
			break
		}
		p.Chain.Checked++
		if rec.Type == events.TypeCarePlanRevised && inCut(rec) {
			if r, ok := revisionOf(rec); ok && versions[r.PlanID] != nil && r.RevisedAt.Before(monthEnd) {
				v := versions[r.PlanID]
				v.Version++
				v.Revisions = append(v.Revisions, Revision{EventID: rec.ID, RevisedAt: r.RevisedAt, AuthorNPI: r.AuthorNPI})
				want[rec.ID] = true
			}
		}
		if want[rec.ID] {
			p.Events = append(p.Events, rec)
		}
	}
	for _, cp := range f.CarePlans {
		p.CarePlanVersions = append(p.CarePlanVersions, *versions[cp.ID])
	}
	return p, nil
}

func revisionOf(rec eventlog.Record) (*events.CarePlanRevised, bool) {
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return nil, false
	}
	r, ok := v.(*events.CarePlanRevised)
	return r, ok
}

// wanted are the ids of the events behind the facts the packet shows.
func wanted(f rules.Facts, cited map[string]bool) map[string]bool {
	w := map[string]bool{f.Patient.EventID: true}
	for id := range cited {
		w[id] = true
	}
	for _, c := range f.Conditions {
		w[c.EventID] = true
	}
	for _, c := range f.Consents {
		w[c.EventID] = true
	}
	for _, cp := range f.CarePlans {
		w[cp.EventID] = true
		for _, c := range cp.Copies {
			w[c.EventID] = true
		}
	}
	for _, c := range f.Complexity {
		w[c.EventID] = true
	}
	for _, e := range f.Encounters {
		w[e.EventID] = true
	}
	for _, e := range f.ExternalClaims {
		w[e.EventID] = true
	}
	for _, e := range f.TimeEntries {
		w[e.EventID] = true
	}
	delete(w, "")
	return w
}

// visitKinds are the face-to-face visits that can initiate CCM or show the
// billing practitioner saw the patient (I1–I3).
var visitKinds = []string{rules.EncounterOfficeVisit, rules.EncounterAnnualWellnessVisit, rules.EncounterIPPE, rules.EncounterTCM}

func isVisit(kind string) bool { return slices.Contains(visitKinds, kind) }

// sameOutcome compares what a claim rests on: status, lines, minutes.
func sameOutcome(a, b rules.Evaluation) bool {
	if a.Status != b.Status || a.CountedMinutes != b.CountedMinutes || len(a.Lines) != len(b.Lines) {
		return false
	}
	for i := range a.Lines {
		x, y := a.Lines[i], b.Lines[i]
		if x.Code != y.Code || x.Units != y.Units || x.DateOfService != y.DateOfService || x.PractitionerNPI != y.PractitionerNPI ||
			!slices.Equal(x.Evidence, y.Evidence) || !slices.Equal(x.Diagnoses, y.Diagnoses) {
			return false
		}
	}
	return true
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
