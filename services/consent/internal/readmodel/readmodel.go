// Package readmodel is the consent service's read side: one in-memory
// projection (pkg/projection) that folds the practice stream into the
// practice configuration and its practitioners, and every patient stream
// (events of all services) into a patient summary: demographics, conditions
// with their CCM/PCM qualification, consents with their status and missing
// disclosures, care plans with revisions and copies, complexity, encounters
// and external claims.
//
// Contracts:
//   - The projection is rebuilt from the log on every start (Checkpoint is
//     0); Apply is called once per event in log order (pkg/projection), and
//     the fold is deterministic, so a rebuilt model equals the old one and
//     its JSON is byte-identical.
//   - Every item carries the eventId and sequence of the event that
//     established it; slices are in a stated sorted order, maps marshal with
//     sorted keys, so the JSON is deterministic.
//   - Reads return copies and are safe concurrently with Apply.
package readmodel

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/careplan/plan"
	"github.com/carelog/carelog/services/consent/internal/domain"
)

// Name is the projection's name (logs, metrics).
const Name = "consent.summaries"

// Practice is the practice configuration (GET /v1/practice).
type Practice struct {
	Name       string `json:"name"`
	Timezone   string `json:"timezone"`
	BillingNPI string `json:"billingNpi"`
	TaxID      string `json:"taxId"`
	// Policy is every ccm-rules §8 setting as stored (defaults spelled out).
	Policy   json.RawMessage `json:"policy"`
	EventID  string          `json:"eventId"`
	Sequence uint64          `json:"sequence"`
}

// PracticeOf is the view of a practice.configured event.
func PracticeOf(e events.PracticeConfigured, eventID string, seq uint64) Practice {
	pol := e.Policy
	if len(pol) == 0 {
		pol = json.RawMessage("{}")
	}
	return Practice{Name: e.Name, Timezone: e.Timezone, BillingNPI: e.BillingNPI, TaxID: e.TaxID, Policy: pol, EventID: eventID, Sequence: seq}
}

// Practitioner is a registered practitioner (GET /v1/practitioners/{npi}).
type Practitioner struct {
	events.PractitionerRegistered
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// Summary is a patient's summary (GET /v1/patients/{id}).
type Summary struct {
	ID                     string            `json:"id"`
	MRN                    string            `json:"mrn"`
	Name                   events.PersonName `json:"name"`
	BirthDate              string            `json:"birthDate"`
	MBI                    string            `json:"mbi"`
	BillingPractitionerNPI string            `json:"billingPractitionerNpi"`
	// Deceased is set when a date of death is known (at enrolment or from
	// patient.died, the later event winning).
	Deceased *Deceased `json:"deceased,omitempty"`
	// EnrolledAt is when the enrolment was recorded.
	EnrolledAt time.Time `json:"enrolledAt"`
	EventID    string    `json:"eventId"`
	Sequence   uint64    `json:"sequence"`

	// Conditions in log order.
	Conditions []Condition `json:"conditions"`
	// Eligibility counts the qualifying chronic conditions (§1.1).
	Eligibility domain.Qualifying `json:"eligibility"`
	// Consents in log order.
	Consents []Consent `json:"consents"`
	// CarePlans in the order they were established.
	CarePlans []CarePlan `json:"carePlans"`
	// Complexity sorted by month, then log order.
	Complexity []Complexity `json:"complexity"`
	// Encounters sorted by start, then log order.
	Encounters []Encounter `json:"encounters"`
	// ExternalClaims sorted by service month, then log order.
	ExternalClaims []ExternalClaim `json:"externalClaims"`
	// AsOfSequence is the sequence of the patient's latest event the
	// summary reflects.
	AsOfSequence uint64 `json:"asOfSequence"`
}

// Deceased is a known date of death.
type Deceased struct {
	Date     string `json:"date"`
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// Condition is a recorded chronic condition; its id is its event's id.
type Condition struct {
	ID string `json:"id"`
	events.ConditionRecorded
	// QualifiesCCM / QualifiesPCM: see domain.QualifiesCCM, QualifiesPCM.
	QualifiesCCM bool      `json:"qualifiesCcm"`
	QualifiesPCM bool      `json:"qualifiesPcm"`
	RecordedAt   time.Time `json:"recordedAt"`
	EventID      string    `json:"eventId"`
	Sequence     uint64    `json:"sequence"`
}

// Consent statuses.
const (
	StatusGranted  = "granted"
	StatusDeclined = "declined"
	StatusRevoked  = "revoked"
)

// Consent is a recorded consent decision.
type Consent struct {
	ID              string    `json:"id"`
	Program         string    `json:"program"`
	PractitionerNPI string    `json:"practitionerNpi"`
	Method          string    `json:"method"`
	Decision        string    `json:"decision"`
	ObtainedAt      time.Time `json:"obtainedAt"`
	ObtainedBy      string    `json:"obtainedBy"`
	Disclosures     []string  `json:"disclosures"`
	// Status is granted, declined or revoked.
	Status string `json:"status"`
	// MissingDisclosures lists the K2 disclosures the consent lacks (billing
	// holds the month, consent_elements_incomplete); [] when complete.
	MissingDisclosures []string `json:"missingDisclosures"`
	// ForBillingPractitioner: the consent names the patient's billing
	// practitioner; a consent for another one does not open billing for
	// this one (K4, consent_other_practitioner).
	ForBillingPractitioner bool        `json:"forBillingPractitioner"`
	Revocation             *Revocation `json:"revocation,omitempty"`
	EventID                string      `json:"eventId"`
	Sequence               uint64      `json:"sequence"`
}

// Revocation is the withdrawal of a granted consent.
type Revocation struct {
	RevokedAt  time.Time `json:"revokedAt"`
	RecordedBy string    `json:"recordedBy"`
	Reason     string    `json:"reason,omitempty"`
	// EffectiveThrough is the last day of the calendar month of RevokedAt in
	// the practice's time zone (as configured when the revocation was
	// recorded; RevokedAt's own offset before any configuration): the right
	// to stop takes effect at month end (K2c, K7). Minutes after RevokedAt
	// within that month count only under the §8 A2 policy
	// count_to_month_end.
	EffectiveThrough string `json:"effectiveThrough"`
	EventID          string `json:"eventId"`
	Sequence         uint64 `json:"sequence"`
}

// CarePlan is a care plan (services/careplan/plan) with what it lacks and
// the sequence of each event it was folded from.
type CarePlan struct {
	plan.Plan
	// Missing is plan.Missing: the required CP2 elements it lacks.
	Missing   []string   `json:"missing"`
	Complete  bool       `json:"complete"`
	Revisions []Revision `json:"revisions"`
	Copies    []Copy     `json:"copies"`
	Sequence  uint64     `json:"sequence"`
}

// Revision is an applied care-plan revision.
type Revision struct {
	plan.Revision
	Sequence uint64 `json:"sequence"`
}

// Copy is a copy of a care plan given to the patient or a caregiver (CP3).
type Copy struct {
	plan.Copy
	Sequence uint64 `json:"sequence"`
}

// Complexity is the medical decision making recorded for a month (T11).
type Complexity struct {
	events.ComplexityRecorded
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// Encounter is a recorded visit or stay.
type Encounter struct {
	events.EncounterRecorded
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// ExternalClaim is a service billed outside Carelog.
type ExternalClaim struct {
	events.ExternalClaimRecorded
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// patient is the model of one patient stream.
type patient struct {
	enrolled   bool
	summary    Summary // demographics; the lists below are copied in by view
	conditions []Condition
	consents   []Consent
	consentIdx map[string]int
	plans      []*planEntry
	planIdx    map[string]int
	complexity []Complexity
	encounters []Encounter
	claims     []ExternalClaim
	last       uint64
}

type planEntry struct {
	plan plan.Plan
	seq  uint64
	seqs map[string]uint64 // revision and copy event id → sequence
}

// Store is the projection and its in-memory store. Safe for concurrent use.
type Store struct {
	mu            sync.RWMutex
	practice      *Practice
	location      *time.Location
	practitioners map[string]Practitioner
	patients      map[string]*patient
}

// New returns an empty store.
func New() *Store {
	return &Store{practitioners: map[string]Practitioner{}, patients: map[string]*patient{}}
}

// Name implements projection.Projection.
func (s *Store) Name() string { return Name }

// Checkpoint implements projection.Projection: 0, the store is rebuilt from
// the start of the log.
func (s *Store) Checkpoint(context.Context) (uint64, error) { return 0, nil }

// Apply implements projection.Projection. It never fails: an event of a
// type the summary does not show, or one it cannot read, only advances the
// patient's asOfSequence.
func (s *Store) Apply(_ context.Context, rec eventlog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.Stream == events.PracticeStream {
		s.applyPractice(rec)
		return nil
	}
	id, ok := strings.CutPrefix(rec.Stream, events.PatientStream(""))
	if !ok || id == "" {
		return nil // batch streams and the like
	}
	p := s.patients[id]
	if p == nil {
		p = &patient{consentIdx: map[string]int{}, planIdx: map[string]int{}}
		s.patients[id] = p
	}
	p.last = rec.Sequence
	s.applyPatient(p, rec)
	return nil
}

func (s *Store) applyPractice(rec eventlog.Record) {
	switch rec.Type {
	case events.TypePracticeConfigured:
		var e events.PracticeConfigured
		if decode(rec, &e) {
			v := PracticeOf(e, rec.ID, rec.Sequence)
			s.practice = &v
			s.location, _ = time.LoadLocation(e.Timezone)
		}
	case events.TypePractitionerRegistered:
		var e events.PractitionerRegistered
		if decode(rec, &e) {
			s.practitioners[e.NPI] = Practitioner{PractitionerRegistered: e, EventID: rec.ID, Sequence: rec.Sequence}
		}
	}
}

func (s *Store) applyPatient(p *patient, rec eventlog.Record) {
	switch rec.Type {
	case events.TypePatientEnrolled:
		var e events.PatientEnrolled
		if decode(rec, &e) {
			p.enrolled = true
			p.summary = Summary{ID: e.ID, MRN: e.MRN, Name: e.Name, BirthDate: e.BirthDate, MBI: e.MBI,
				BillingPractitionerNPI: e.BillingPractitionerNPI, EnrolledAt: rec.RecordedAt, EventID: rec.ID, Sequence: rec.Sequence}
			if e.DeceasedDate != "" {
				p.summary.Deceased = &Deceased{Date: e.DeceasedDate, EventID: rec.ID, Sequence: rec.Sequence}
			}
		}
	case events.TypePatientDied:
		var e events.PatientDied
		if decode(rec, &e) {
			p.summary.Deceased = &Deceased{Date: e.DeceasedDate, EventID: rec.ID, Sequence: rec.Sequence}
		}
	case events.TypeConditionRecorded:
		var e events.ConditionRecorded
		if decode(rec, &e) {
			p.conditions = append(p.conditions, Condition{ID: rec.ID, ConditionRecorded: e,
				QualifiesCCM: domain.QualifiesCCM(e), QualifiesPCM: domain.QualifiesPCM(e),
				RecordedAt: rec.RecordedAt, EventID: rec.ID, Sequence: rec.Sequence})
		}
	case events.TypeConsentGranted, events.TypeConsentDeclined:
		var e events.ConsentGranted // ConsentDeclined has the same fields
		if decode(rec, &e) || decodeDeclined(rec, &e) {
			c := Consent{ID: e.ID, Program: e.Program, PractitionerNPI: e.PractitionerNPI, Method: e.Method,
				Decision: "accepted", Status: StatusGranted, ObtainedAt: e.ObtainedAt, ObtainedBy: e.ObtainedBy,
				Disclosures: list(e.Disclosures), MissingDisclosures: domain.MissingDisclosures(e.Disclosures),
				EventID: rec.ID, Sequence: rec.Sequence}
			if rec.Type == events.TypeConsentDeclined {
				c.Decision, c.Status = "declined", StatusDeclined
			}
			p.consentIdx[c.ID] = len(p.consents)
			p.consents = append(p.consents, c)
		}
	case events.TypeConsentRevoked:
		var e events.ConsentRevoked
		if decode(rec, &e) {
			if i, ok := p.consentIdx[e.ConsentID]; ok {
				loc := s.location
				p.consents[i].Status = StatusRevoked
				p.consents[i].Revocation = &Revocation{RevokedAt: e.RevokedAt, RecordedBy: e.RecordedBy, Reason: e.Reason,
					EffectiveThrough: domain.EffectiveThrough(e.RevokedAt, loc), EventID: rec.ID, Sequence: rec.Sequence}
			}
		}
	case events.TypeCarePlanEstablished:
		var e events.CarePlanEstablished
		if decode(rec, &e) {
			if _, dup := p.planIdx[e.ID]; !dup {
				p.planIdx[e.ID] = len(p.plans)
				p.plans = append(p.plans, &planEntry{plan: plan.Established(e, rec.ID), seq: rec.Sequence, seqs: map[string]uint64{}})
			}
		}
	case events.TypeCarePlanRevised:
		var e events.CarePlanRevised
		if decode(rec, &e) {
			if i, ok := p.planIdx[e.PlanID]; ok {
				pe := p.plans[i]
				pe.plan = pe.plan.Revise(e, rec.ID)
				pe.seqs[rec.ID] = rec.Sequence
			}
		}
	case events.TypeCarePlanCopyProvided:
		var e events.CarePlanCopyProvided
		if decode(rec, &e) {
			if i, ok := p.planIdx[e.PlanID]; ok {
				pe := p.plans[i]
				pe.plan = pe.plan.WithCopy(e, rec.ID)
				pe.seqs[rec.ID] = rec.Sequence
			}
		}
	case events.TypeComplexityRecorded:
		var e events.ComplexityRecorded
		if decode(rec, &e) {
			p.complexity = append(p.complexity, Complexity{ComplexityRecorded: e, EventID: rec.ID, Sequence: rec.Sequence})
		}
	case events.TypeEncounterRecorded:
		var e events.EncounterRecorded
		if decode(rec, &e) {
			p.encounters = append(p.encounters, Encounter{EncounterRecorded: e, EventID: rec.ID, Sequence: rec.Sequence})
		}
	case events.TypeExternalClaimRecorded:
		var e events.ExternalClaimRecorded
		if decode(rec, &e) {
			p.claims = append(p.claims, ExternalClaim{ExternalClaimRecorded: e, EventID: rec.ID, Sequence: rec.Sequence})
		}
	}
}

// decode reads rec's payload (upcast to its latest version) into dst.
func decode[T any](rec eventlog.Record, dst *T) bool {
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return false
	}
	p, ok := v.(*T)
	if ok {
		*dst = *p
	}
	return ok
}

func decodeDeclined(rec eventlog.Record, dst *events.ConsentGranted) bool {
	var d events.ConsentDeclined
	if !decode(rec, &d) {
		return false
	}
	*dst = events.ConsentGranted(d)
	return true
}

// Practice returns the practice configuration, if configured.
func (s *Store) Practice() (Practice, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.practice == nil {
		return Practice{}, false
	}
	return *s.practice, true
}

// Practitioners returns the registered practitioners sorted by NPI.
func (s *Store) Practitioners() []Practitioner {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Practitioner, 0, len(s.practitioners))
	for _, p := range s.practitioners {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Practitioner) int { return cmp.Compare(a.NPI, b.NPI) })
	return out
}

// Practitioner returns one registered practitioner.
func (s *Store) Practitioner(npi string) (Practitioner, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.practitioners[npi]
	return p, ok
}

// Patient returns the summary of an enrolled patient.
func (s *Store) Patient(id string) (Summary, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.patients[id]
	if !ok || !p.enrolled {
		return Summary{}, false
	}
	return p.view(), true
}

// view builds the summary; every slice is a fresh copy.
func (p *patient) view() Summary {
	out := p.summary
	if p.summary.Deceased != nil {
		d := *p.summary.Deceased
		out.Deceased = &d
	}
	out.Conditions = list(p.conditions)
	recorded := make([]events.ConditionRecorded, len(p.conditions))
	for i, c := range p.conditions {
		recorded[i] = c.ConditionRecorded
	}
	out.Eligibility = domain.QualifyingChronic(recorded)

	out.Consents = make([]Consent, len(p.consents))
	for i, c := range p.consents {
		c.Disclosures = list(c.Disclosures)
		c.MissingDisclosures = list(c.MissingDisclosures)
		c.ForBillingPractitioner = c.PractitionerNPI == p.summary.BillingPractitionerNPI
		if c.Revocation != nil {
			r := *c.Revocation
			c.Revocation = &r
		}
		out.Consents[i] = c
	}

	out.CarePlans = make([]CarePlan, len(p.plans))
	for i, pe := range p.plans {
		cp := CarePlan{Plan: pe.plan, Missing: pe.plan.Missing(), Complete: pe.plan.Complete(), Sequence: pe.seq,
			Revisions: make([]Revision, len(pe.plan.Revisions)), Copies: make([]Copy, len(pe.plan.Copies))}
		for j, r := range pe.plan.Revisions {
			cp.Revisions[j] = Revision{Revision: r, Sequence: pe.seqs[r.EventID]}
		}
		for j, c := range pe.plan.Copies {
			cp.Copies[j] = Copy{Copy: c, Sequence: pe.seqs[c.EventID]}
		}
		out.CarePlans[i] = cp
	}

	out.Complexity = list(p.complexity)
	slices.SortStableFunc(out.Complexity, func(a, b Complexity) int {
		return cmp.Or(cmp.Compare(a.Month, b.Month), cmp.Compare(a.Sequence, b.Sequence))
	})
	out.Encounters = list(p.encounters)
	slices.SortStableFunc(out.Encounters, func(a, b Encounter) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Sequence, b.Sequence))
	})
	out.ExternalClaims = list(p.claims)
	slices.SortStableFunc(out.ExternalClaims, func(a, b ExternalClaim) int {
		return cmp.Or(cmp.Compare(a.ServiceMonth, b.ServiceMonth), cmp.Compare(a.Sequence, b.Sequence))
	})
	out.AsOfSequence = p.last
	return out
}

// list returns a copy of s that is never nil (it marshals as []).
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}
