// Package state folds one patient's event stream into the bitemporal state
// an auditor asks for (GET /v1/audit/patients/{id}/state): enrolment,
// conditions, consents, care plans with their copies, complexity decisions,
// encounters and external claims, as they stood at a moment of care
// (effectiveAt) according to what had been recorded by a moment of knowledge
// (asOf).
//
// The two axes come from the envelope: RecordedAt is when Carelog learned a
// fact, and the fact's own time (a payload instant such as ObtainedAt, a
// calendar date such as an onset date, else the envelope's OccurredAt) is
// when it happened in the patient's care. A fact is in the state when it was
// recorded at or before asOf and had happened at or before effectiveAt.
//
// The package is pure: no I/O, no clock, no randomness. Time spent on care
// (activity.* events) is not part of this state; it is judged month by month
// by the billing service, whose evaluations the caller puts in State.Months.
package state

import (
	"encoding/json"
	"time"

	"github.com/carelog/carelog/events"
)

// Consent decisions (contract.md, consents: decision).
const (
	// DecisionAccepted is a consent.granted event.
	DecisionAccepted = "accepted"
	// DecisionDeclined is a consent.declined event.
	DecisionDeclined = "declined"
)

// Consent statuses at effectiveAt.
const (
	// StatusInForce: accepted, and no revocation known at asOf takes effect
	// at or before effectiveAt.
	StatusInForce = "in_force"
	// StatusDeclined: the patient declined; it opens nothing (ccm-rules K2
	// asks that the refusal be documented).
	StatusDeclined = "declined"
	// StatusRevoked: accepted, then revoked at or before effectiveAt.
	StatusRevoked = "revoked"
)

// MaxServiceMonths bounds State.ServiceMonths: the most recent months only.
const MaxServiceMonths = 24

// State is one patient as of (effectiveAt, asOf). Every list is non-nil (it
// marshals as []) and in log order, so two answers for the same inputs are
// byte-identical. Instants keep the offset they were recorded with.
type State struct {
	PatientID string `json:"patientId"`
	// EffectiveAt is the moment of care the state describes.
	EffectiveAt time.Time `json:"effectiveAt"`
	// AsOf is the moment of knowledge: only records with RecordedAt <= AsOf
	// were read.
	AsOf time.Time `json:"asOf"`
	// AsOfSequence is the greatest log sequence of this patient's records
	// recorded by AsOf (0 if none): replaying the stream up to it gives the
	// same state.
	AsOfSequence uint64 `json:"asOfSequence"`

	// Enrolled is true when the patient.enrolled event was recorded by AsOf.
	// Enrolment is an identity fact with no date in care (its OccurredAt is
	// when it was recorded), so it is not filtered by EffectiveAt: care
	// recorded late, before the enrolment, still belongs to this patient.
	Enrolled   bool        `json:"enrolled"`
	Enrollment *Enrollment `json:"enrollment,omitempty"`
	// DeceasedDate (YYYY-MM-DD) is the latest date of death recorded by
	// AsOf (at enrolment or by patient.died), shown only when it is on or
	// before EffectiveAt's date in the practice zone.
	DeceasedDate    string `json:"deceasedDate,omitempty"`
	DeceasedEventID string `json:"deceasedEventId,omitempty"`
	// FirstActivityAt is the earliest instant of care known by AsOf and on
	// or before EffectiveAt: enrolment (when on or before EffectiveAt), a
	// consent decision, a care plan, its revision or copy, a complexity
	// decision or its month, an encounter, an external claim's service
	// (month start or date, in the practice zone), or a time entry. Zero when
	// there is none. ServiceMonths starts from it.
	FirstActivityAt time.Time `json:"firstActivityAt,omitzero"`

	Conditions []Condition `json:"conditions"`
	Consents   []Consent   `json:"consents"`
	// Programs summarizes Consents per program, sorted by program.
	Programs            []ProgramConsent     `json:"programs"`
	CarePlans           []CarePlan           `json:"carePlans"`
	ComplexityDecisions []ComplexityDecision `json:"complexityDecisions"`
	Encounters          []Encounter          `json:"encounters"`
	ExternalClaims      []ExternalClaim      `json:"externalClaims"`

	// Skipped counts the records recorded by AsOf that the fold could not
	// use: another stream's record, an unknown type or version, an
	// undecodable payload, an event type that does not belong in a patient
	// stream, a second enrolment or plan establishment, or a revocation,
	// revision or copy that references no consent or plan of the stream.
	// SkippedEventIDs names them, in log order.
	Skipped         int      `json:"skipped"`
	SkippedEventIDs []string `json:"skippedEventIds"`

	// Months are the billing evaluations of ServiceMonths, filled by the
	// caller from the billing service; Fold leaves it nil.
	Months []MonthState `json:"months"`
}

// MonthState is one service month's billing evaluation, as the billing
// service returned it (kept as raw JSON: its schema belongs to billing).
type MonthState struct {
	Month      string          `json:"month"` // YYYY-MM
	Evaluation json.RawMessage `json:"evaluation"`
}

// Enrollment is the patient.enrolled event.
type Enrollment struct {
	MRN                    string            `json:"mrn"`
	Name                   events.PersonName `json:"name"`
	BirthDate              string            `json:"birthDate"` // YYYY-MM-DD
	MBI                    string            `json:"mbi"`
	BillingPractitionerNPI string            `json:"billingPractitionerNpi"`
	// EnrolledAt is the event's OccurredAt (the moment of enrolment).
	EnrolledAt time.Time `json:"enrolledAt"`
	EventID    string    `json:"eventId"`
	RecordedAt time.Time `json:"recordedAt"`
}

// Condition is a condition.recorded event. It is in the state when its
// onset date (or, without one, the event's OccurredAt) is on or before
// EffectiveAt.
type Condition struct {
	Code                   string    `json:"code"` // ICD-10-CM
	Description            string    `json:"description"`
	ExpectedDurationMonths int       `json:"expectedDurationMonths"`
	SignificantRisk        bool      `json:"significantRisk"`
	OnsetDate              string    `json:"onsetDate,omitempty"` // YYYY-MM-DD
	EventID                string    `json:"eventId"`
	RecordedAt             time.Time `json:"recordedAt"`
}

// Consent is one consent decision (consent.granted or consent.declined)
// obtained on or before EffectiveAt, with its status at EffectiveAt.
type Consent struct {
	ID string `json:"id"`
	// Program is ccm or pcm.
	Program string `json:"program"`
	// Decision is accepted or declined.
	Decision string `json:"decision"`
	// Method is verbal or written (ccm-rules K1).
	Method string `json:"method"`
	// ObtainedAt and ObtainedBy document when and by whom (K1).
	ObtainedAt      time.Time `json:"obtainedAt"`
	ObtainedBy      string    `json:"obtainedBy"`
	PractitionerNPI string    `json:"practitionerNpi"`
	// Disclosures lists what the patient was told (K2, K3).
	Disclosures []string  `json:"disclosures"`
	EventID     string    `json:"eventId"`
	RecordedAt  time.Time `json:"recordedAt"`
	// Status is in_force, declined or revoked, at EffectiveAt as known at
	// AsOf.
	Status string `json:"status"`
	// Revocation is set when Status is revoked.
	Revocation *Revocation `json:"revocation,omitempty"`
}

// Revocation is the consent.revoked event of a revoked consent.
type Revocation struct {
	RevokedAt  time.Time `json:"revokedAt"`
	RecordedBy string    `json:"recordedBy"`
	Reason     string    `json:"reason,omitempty"`
	EventID    string    `json:"eventId"`
	RecordedAt time.Time `json:"recordedAt"`
	// BillableThrough (YYYY-MM-DD) is the last day of the calendar month,
	// in the practice zone, that holds RevokedAt: the patient's right to
	// stop takes effect at the end of the calendar month (ccm-rules K2c,
	// K7), so that month may still be billed. Which of its minutes count
	// (by default only those before RevokedAt, §8 A2) is the billing
	// policy's call, shown in the month's evaluation.
	BillableThrough string `json:"billableThrough"`
}

// ProgramConsent summarizes one program's consents at EffectiveAt.
type ProgramConsent struct {
	Program string `json:"program"`
	// InForce is true when some consent of the program is in force.
	InForce bool `json:"inForce"`
	// ConsentID is the in-force consent obtained last; when none is in
	// force, the decision obtained last (declined or revoked), which says
	// why.
	ConsentID       string `json:"consentId"`
	Status          string `json:"status"`
	PractitionerNPI string `json:"practitionerNpi"`
}

// CarePlan is a care plan established on or before EffectiveAt, at the
// version in force then: the establishment with every revision known by
// AsOf whose RevisedAt is on or before EffectiveAt, applied in log order.
//
// Which required elements (ccm-rules CP2) the plan lacks is decided by
// services/careplan/plan, which this module cannot import; rather than a
// second copy of that rule, the state shows the elements as the events
// state them, and a month's evaluation (Months) reports care_plan_incomplete
// with the missing elements.
type CarePlan struct {
	ID string `json:"id"`
	// Kind is comprehensive (CCM) or disease_specific (PCM).
	Kind          string    `json:"kind"`
	EstablishedAt time.Time `json:"establishedAt"`
	// AuthorNPI is the practitioner who developed and signed it (CP11).
	AuthorNPI string `json:"authorNpi"`
	// Electronic as of this version (CP3, CP5); a revision may change it.
	Electronic bool `json:"electronic"`
	// Version is 1 plus the number of applied revisions.
	Version  int              `json:"version"`
	Elements CarePlanElements `json:"elements"`
	// Revisions are the applied revisions, in log order.
	Revisions []CarePlanRevision `json:"revisions"`
	// Copies are the copies given on or before EffectiveAt and known by
	// AsOf, in log order (CP3: the delivery proof).
	Copies     []CarePlanCopy `json:"copies"`
	EventID    string         `json:"eventId"`
	RecordedAt time.Time      `json:"recordedAt"`
}

// CarePlanElements are a plan's CP2 elements at one version, with the JSON
// names of events.CarePlanEstablished. Lists are never nil.
type CarePlanElements struct {
	Problems                      []events.CarePlanProblem      `json:"problems"`
	ExpectedOutcome               string                        `json:"expectedOutcome"`
	Prognosis                     string                        `json:"prognosis"`
	Goals                         []events.CarePlanGoal         `json:"goals"`
	SymptomManagement             string                        `json:"symptomManagement"`
	Interventions                 []events.CarePlanIntervention `json:"interventions"`
	Medications                   []events.Medication           `json:"medications"`
	CommunityResources            []events.CommunityResource    `json:"communityResources"`
	Coordination                  []events.CoordinationContact  `json:"coordination"`
	ReviewSchedule                events.ReviewSchedule         `json:"reviewSchedule"`
	CognitiveFunctionalAssessment string                        `json:"cognitiveFunctionalAssessment,omitempty"`
	EnvironmentalEvaluation       string                        `json:"environmentalEvaluation,omitempty"`
	CaregiverAssessment           string                        `json:"caregiverAssessment,omitempty"`
}

// CarePlanRevision is one applied careplan.revised event.
type CarePlanRevision struct {
	EventID    string    `json:"eventId"`
	RevisedAt  time.Time `json:"revisedAt"`
	RecordedAt time.Time `json:"recordedAt"`
	AuthorNPI  string    `json:"authorNpi"`
	// Changed names the payload fields the revision replaced, by their JSON
	// names in CarePlanElements order ("electronic" first when present);
	// these are the events' field names, not the careplan service's element
	// names (expectedOutcome and prognosis are one element there).
	Changed []string `json:"changed"`
}

// CarePlanCopy is a careplan.copy_provided event.
type CarePlanCopy struct {
	ProvidedAt time.Time `json:"providedAt"`
	// To is patient or caregiver.
	To string `json:"to"`
	// Method is paper, portal, email or mail.
	Method     string    `json:"method"`
	EventID    string    `json:"eventId"`
	RecordedAt time.Time `json:"recordedAt"`
}

// ComplexityDecision is a complexity.recorded event decided on or before
// EffectiveAt.
type ComplexityDecision struct {
	Month string `json:"month"` // YYYY-MM
	// Level is low, moderate or high (complex CCM needs moderate or high,
	// ccm-rules T11).
	Level           string    `json:"level"`
	PractitionerNPI string    `json:"practitionerNpi"`
	DecidedAt       time.Time `json:"decidedAt"`
	EventID         string    `json:"eventId"`
	RecordedAt      time.Time `json:"recordedAt"`
}

// Encounter is an encounter.recorded event that started on or before
// EffectiveAt. End is shown as recorded, even when it is after EffectiveAt
// (a stay in progress then).
type Encounter struct {
	ID              string     `json:"id"`
	Kind            string     `json:"kind"`
	Code            string     `json:"code,omitempty"`
	PractitionerNPI string     `json:"practitionerNpi,omitempty"`
	Start           time.Time  `json:"start"`
	End             *time.Time `json:"end,omitempty"`
	TimeBased       bool       `json:"timeBased,omitempty"`
	// CCMDiscussed: CCM was discussed during the visit (initiating visit,
	// ccm-rules I2).
	CCMDiscussed bool      `json:"ccmDiscussed,omitempty"`
	G0506        bool      `json:"g0506,omitempty"`
	EventID      string    `json:"eventId"`
	RecordedAt   time.Time `json:"recordedAt"`
}

// ExternalClaim is an external_claim.recorded event whose service (its date
// of service, else its service month's first day, in the practice zone)
// began on or before EffectiveAt.
type ExternalClaim struct {
	Code            string    `json:"code"`
	PractitionerNPI string    `json:"practitionerNpi"`
	ServiceMonth    string    `json:"serviceMonth"`            // YYYY-MM
	DateOfService   string    `json:"dateOfService,omitempty"` // YYYY-MM-DD
	Status          string    `json:"status,omitempty"`
	EventID         string    `json:"eventId"`
	RecordedAt      time.Time `json:"recordedAt"`
}
