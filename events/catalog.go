package events

import (
	"encoding/json"
	"sync"
	"time"
)

// The event catalogue: every event type Carelog writes, one payload struct per
// (type, version), registered explicitly by Catalog.
//
// Wire conventions of every payload (api/contract.md "Conventions"):
//   - Field names are camelCase and equal the contract's request field names,
//     so a request body maps onto its event payload field by field.
//   - Instants are time.Time, written as RFC 3339 with the offset the client
//     sent (the offset is kept: it records the local time of care).
//   - Calendar dates (birth, onset, death, date of service) are strings
//     "YYYY-MM-DD": a date is not an instant and must not shift with a zone.
//   - Service months are strings "YYYY-MM", in the practice's time zone.
//   - NPIs are the 10-digit strings ("1234567893"), diagnosis codes ICD-10-CM
//     with the dot ("I50.22"), procedure codes CPT/HCPCS strings ("99490").
//   - Enumerations are plain strings; each field's comment lists the values.
//   - A field tagged omitempty or omitzero is optional: absent means "not
//     stated". Every other field is part of the contract and always written.
//
// Payload structs hold no validation: a service validates the command and
// only then writes the event, and applying an event never fails (STYLE.md 9).
//
// Evolution (STYLE.md 7): within a version, only optional fields are added.
// A breaking change adds version N+1 with its own struct, which takes the
// plain name; the old struct is renamed with a version suffix (PatientEnrolledV1),
// stays registered, and an upcaster in Upcasters lifts it. Golden files in
// testdata freeze the wire form of every (type, version).

// Event types. The strings are stable forever: they are stored in the log and
// in JetStream headers, and never derived from Go type names.
const (
	// TypePracticeConfigured: the practice's settings were set or replaced (practice stream).
	TypePracticeConfigured Type = "practice.configured"
	// TypePractitionerRegistered: a billing practitioner was registered or updated (practice stream).
	TypePractitionerRegistered Type = "practitioner.registered"

	// TypePatientEnrolled: a patient was enrolled with the practice (patient stream, its first event).
	TypePatientEnrolled Type = "patient.enrolled"
	// TypePatientDied: the patient's date of death became known after enrolment (patient stream).
	TypePatientDied Type = "patient.died"
	// TypeConditionRecorded: a chronic condition was added to the patient's problem list (patient stream).
	TypeConditionRecorded Type = "condition.recorded"

	// TypeConsentGranted: the patient accepted a care-management program (patient stream).
	TypeConsentGranted Type = "consent.granted"
	// TypeConsentDeclined: the patient declined a care-management program (patient stream).
	TypeConsentDeclined Type = "consent.declined"
	// TypeConsentRevoked: the patient withdrew a previously granted consent (patient stream).
	TypeConsentRevoked Type = "consent.revoked"

	// TypeCarePlanEstablished: a care plan was established (patient stream).
	TypeCarePlanEstablished Type = "careplan.established"
	// TypeCarePlanRevised: elements of an established care plan were replaced (patient stream).
	TypeCarePlanRevised Type = "careplan.revised"
	// TypeCarePlanCopyProvided: a copy of a care plan was given to the patient or caregiver (patient stream).
	TypeCarePlanCopyProvided Type = "careplan.copy_provided"
	// TypeComplexityRecorded: the billing practitioner's medical decision making for a month (patient stream).
	TypeComplexityRecorded Type = "complexity.recorded"

	// TypeTimeRecorded: care-management minutes were recorded (patient stream).
	TypeTimeRecorded Type = "activity.time_recorded"
	// TypeTimeCorrected: a time entry was replaced by a corrected version (patient stream).
	TypeTimeCorrected Type = "activity.time_corrected"
	// TypeTimeVoided: a time entry was withdrawn (patient stream).
	TypeTimeVoided Type = "activity.time_voided"
	// TypeEncounterRecorded: a visit or facility stay was recorded (patient stream).
	TypeEncounterRecorded Type = "encounter.recorded"
	// TypeExternalClaimRecorded: a service billed outside Carelog was recorded (patient stream).
	TypeExternalClaimRecorded Type = "external_claim.recorded"

	// TypeClaimBatchClosed: a service month was closed into a claim batch (batch stream of the month).
	TypeClaimBatchClosed Type = "claim_batch.closed"
)

// Catalog returns the schema of every (type, version), listed explicitly.
// Registering a new type or version means adding a line here, a payload
// struct above, and its golden file.
func Catalog() []Schema {
	return []Schema{
		{Type: TypePracticeConfigured, Version: 1, New: func() any { return new(PracticeConfigured) },
			Doc: "Practice name, time zone, billing NPI, tax id and billing policy; each event replaces the whole configuration."},
		{Type: TypePractitionerRegistered, Version: 1, New: func() any { return new(PractitionerRegistered) },
			Doc: "A billing practitioner (physician, NP, PA, CNS, CNM); a later event for the same NPI replaces it."},
		{Type: TypePatientEnrolled, Version: 1, New: func() any { return new(PatientEnrolled) },
			Doc: "A patient's identity, Medicare number and billing practitioner."},
		{Type: TypePatientDied, Version: 1, New: func() any { return new(PatientDied) },
			Doc: "The patient's date of death, recorded after enrolment."},
		{Type: TypeConditionRecorded, Version: 1, New: func() any { return new(ConditionRecorded) },
			Doc: "A chronic condition (ICD-10-CM) with its expected duration and risk, for CCM/PCM eligibility."},
		{Type: TypeConsentGranted, Version: 1, New: func() any { return new(ConsentGranted) },
			Doc: "The patient accepted CCM or PCM with one billing practitioner, with the disclosures made."},
		{Type: TypeConsentDeclined, Version: 1, New: func() any { return new(ConsentDeclined) },
			Doc: "The patient declined CCM or PCM; kept as documentation, it opens nothing."},
		{Type: TypeConsentRevoked, Version: 1, New: func() any { return new(ConsentRevoked) },
			Doc: "The patient withdrew a granted consent."},
		{Type: TypeCarePlanEstablished, Version: 1, New: func() any { return new(CarePlanEstablished) },
			Doc: "A comprehensive or disease-specific care plan with every element of ccm-rules §5."},
		{Type: TypeCarePlanRevised, Version: 1, New: func() any { return new(CarePlanRevised) },
			Doc: "The care-plan elements that changed, each replacing the previous value."},
		{Type: TypeCarePlanCopyProvided, Version: 1, New: func() any { return new(CarePlanCopyProvided) },
			Doc: "Proof that a copy of the care plan was given to the patient or caregiver."},
		{Type: TypeComplexityRecorded, Version: 1, New: func() any { return new(ComplexityRecorded) },
			Doc: "The level of medical decision making for a service month (complex CCM needs moderate or high)."},
		{Type: TypeTimeRecorded, Version: 1, New: func() any { return new(TimeRecorded) },
			Doc: "A time entry: who worked how many minutes on what, for which programs."},
		{Type: TypeTimeCorrected, Version: 1, New: func() any { return new(TimeCorrected) },
			Doc: "The full corrected version of a time entry and the reason; the latest correction wins."},
		{Type: TypeTimeVoided, Version: 1, New: func() any { return new(TimeVoided) },
			Doc: "A time entry withdrawn with a reason; its minutes no longer count."},
		{Type: TypeEncounterRecorded, Version: 1, New: func() any { return new(EncounterRecorded) },
			Doc: "A visit (office, AWV, IPPE, TCM) or an inpatient/SNF stay."},
		{Type: TypeExternalClaimRecorded, Version: 1, New: func() any { return new(ExternalClaimRecorded) },
			Doc: "A service billed outside Carelog, used for the same-month exclusions."},
		{Type: TypeClaimBatchClosed, Version: 1, New: func() any { return new(ClaimBatchClosed) },
			Doc: "A closed service month: its claim lines with evidence, log position and content hash."},
	}
}

// Upcasters returns the upcasters between consecutive versions of the
// catalogue. Every type is at version 1, so there are none yet; the
// mechanism is exercised by registry_test.go with a test-only schema pair.
func Upcasters() []Upcaster {
	return nil
}

var defaultRegistry = sync.OnceValue(func() *Registry {
	r, err := NewRegistry(Catalog(), Upcasters())
	if err != nil {
		panic("events: static catalogue is inconsistent: " + err.Error())
	}
	return r
})

// DefaultRegistry returns the registry of Catalog and Upcasters, built once
// and shared (it is read-only, so safe for concurrent use). It panics only if
// the static catalogue itself is inconsistent (a duplicate, a version gap, a
// missing upcaster): a programming error that TestCatalogRegistry catches, not
// a condition that depends on input or environment.
func DefaultRegistry() *Registry { return defaultRegistry() }

// ---- practice stream -------------------------------------------------------

// PracticeConfigured is the payload of practice.configured v1 (PUT
// /v1/practice). Each event replaces the previous configuration whole.
type PracticeConfigured struct {
	Name string `json:"name"`
	// Timezone is an IANA zone name ("America/Chicago"). It decides which
	// calendar month a minute belongs to (ccm-rules §3 T12, §8 A9).
	Timezone string `json:"timezone"`
	// BillingNPI is the NPI the practice bills under (a group's type-2 NPI, or
	// a solo practitioner's own).
	BillingNPI string `json:"billingNpi"`
	// TaxID is the practice's taxpayer identification number (EIN), 9 digits.
	TaxID string `json:"taxId"`
	// Policy holds the practice's settings for the ambiguous rules
	// (ccm-rules §8): the consent service validates what was sent and stores
	// the effective policy whole, every setting present with defaults filled
	// in, so the event alone says which rules applied. It is raw JSON on
	// purpose: its schema belongs to the billing rules (rules.Policy), not to
	// this module, and a RawMessage keeps the bytes as written.
	Policy json.RawMessage `json:"policy,omitempty"`
}

// PractitionerRegistered is the payload of practitioner.registered v1 (PUT
// /v1/practitioners/{npi}). A later event for the same NPI replaces it.
type PractitionerRegistered struct {
	// NPI is the practitioner's 10-digit individual (type-1) NPI.
	NPI  string `json:"npi"`
	Name string `json:"name"`
	// Kind is physician, np, pa, cns or cnm: the practitioners who may bill
	// care management (ccm-rules §1.1).
	Kind string `json:"kind"`
	// Credential is written after the name on documents ("MD", "FNP-BC").
	Credential string `json:"credential"`
}

// ---- patient stream: identity and conditions -------------------------------

// PersonName is a patient's name as used on claims.
type PersonName struct {
	Given  string `json:"given"`
	Family string `json:"family"`
}

// PatientEnrolled is the payload of patient.enrolled v1 (POST /v1/patients).
// It is the first event of the patient's stream.
type PatientEnrolled struct {
	// ID is the patient id, the suffix of the stream key (PatientStream).
	ID string `json:"id"`
	// MRN is the practice's medical record number.
	MRN       string     `json:"mrn"`
	Name      PersonName `json:"name"`
	BirthDate string     `json:"birthDate"` // YYYY-MM-DD
	// MBI is the 11-character Medicare Beneficiary Identifier.
	MBI string `json:"mbi"`
	// BillingPractitionerNPI is the practitioner who bills the patient's
	// care management; consent is given for this practitioner (ccm-rules K4).
	BillingPractitionerNPI string `json:"billingPractitionerNpi"`
	// DeceasedDate (YYYY-MM-DD) is set when the patient had died when
	// enrolled (history recorded late); see also patient.died.
	DeceasedDate string `json:"deceasedDate,omitempty"`
}

// PatientDied is the payload of patient.died v1. The contract sets a date of
// death only at enrolment; this event records one learned later, which
// matters because no minute after death is billable and a claim's date of
// service may not follow it (reason after_death, ccm-rules §8 A15). It is a
// specific fact rather than a generic patient.updated, so that consumers
// never have to diff patient records.
type PatientDied struct {
	DeceasedDate string `json:"deceasedDate"` // YYYY-MM-DD
}

// ConditionRecorded is the payload of condition.recorded v1 (POST
// /v1/patients/{id}/conditions). Later events that correct or resolve the
// condition reference this event's id.
type ConditionRecorded struct {
	// Code is the ICD-10-CM code with its dot ("E11.65").
	Code        string `json:"code"`
	Description string `json:"description"`
	// ExpectedDurationMonths is how long the condition is expected to last;
	// CCM needs 12 or more ("or until death"), PCM 3 or more (ccm-rules §1.1).
	ExpectedDurationMonths int `json:"expectedDurationMonths"`
	// SignificantRisk states that the condition places the patient at
	// significant risk of death, acute exacerbation or functional decline.
	SignificantRisk bool   `json:"significantRisk"`
	OnsetDate       string `json:"onsetDate,omitempty"` // YYYY-MM-DD
}

// ---- patient stream: consent -----------------------------------------------

// Consent decisions are two event types, consent.granted and
// consent.declined, although the contract has one endpoint with a decision
// field (accepted or declined). They are different facts with different
// consequences: only a granted consent opens billing for its practitioner and
// can be revoked, while a declined one is kept as the documentation
// ccm-rules K2 asks for. One consent.recorded type would make every consumer
// branch on a field, and one that forgot would count a refusal as consent.
// The contract's audit example also names consent.granted. The two payloads
// carry the same fields so the service maps the request the same way.

// ConsentGranted is the payload of consent.granted v1 (POST
// /v1/patients/{id}/consents with decision "accepted").
type ConsentGranted struct {
	// ID is the consent id that a revocation references.
	ID string `json:"id"`
	// Program is ccm or pcm.
	Program string `json:"program"`
	// PractitionerNPI is the billing practitioner the consent is given to; a
	// change of practitioner needs a new consent (ccm-rules K4).
	PractitionerNPI string `json:"practitionerNpi"`
	// Method is verbal or written (ccm-rules K1).
	Method string `json:"method"`
	// ObtainedAt is when the patient decided; care before it is not billable.
	ObtainedAt time.Time `json:"obtainedAt"`
	// ObtainedBy names the staff member who obtained it (ccm-rules K1).
	ObtainedBy string `json:"obtainedBy"`
	// Disclosures lists what the patient was told, from
	// availability_and_cost_sharing, one_practitioner_per_month,
	// right_to_stop (the three ccm-rules K2 requires) and electronic_sharing
	// (K3, optional).
	Disclosures []string `json:"disclosures"`
}

// ConsentDeclined is the payload of consent.declined v1 (POST
// /v1/patients/{id}/consents with decision "declined"). Fields as in
// ConsentGranted; ObtainedAt is when the patient declined.
type ConsentDeclined struct {
	ID              string    `json:"id"`
	Program         string    `json:"program"` // ccm or pcm
	PractitionerNPI string    `json:"practitionerNpi"`
	Method          string    `json:"method"` // verbal or written
	ObtainedAt      time.Time `json:"obtainedAt"`
	ObtainedBy      string    `json:"obtainedBy"`
	// Disclosures lists what the patient was told before declining (same
	// values as ConsentGranted.Disclosures).
	Disclosures []string `json:"disclosures"`
}

// ConsentRevoked is the payload of consent.revoked v1 (POST
// /v1/patients/{id}/consents/{consentId}/revocation). The right to stop takes
// effect at the end of the month (ccm-rules K7); by default minutes after
// RevokedAt are not counted (§8 A2).
type ConsentRevoked struct {
	// ConsentID is the id of a granted consent.
	ConsentID string    `json:"consentId"`
	RevokedAt time.Time `json:"revokedAt"`
	// RecordedBy names the staff member who took the revocation.
	RecordedBy string `json:"recordedBy"`
	Reason     string `json:"reason,omitempty"`
}

// ---- patient stream: care plans --------------------------------------------

// CarePlanProblem is one entry of a care plan's problem list.
type CarePlanProblem struct {
	Code        string `json:"code"` // ICD-10-CM
	Description string `json:"description"`
}

// CarePlanGoal is a measurable treatment goal for one condition (a MAC asks
// for measurable goals for each chronic condition, ccm-rules CP2).
type CarePlanGoal struct {
	// ConditionCode is the ICD-10-CM code of the problem the goal serves.
	ConditionCode string `json:"conditionCode"`
	Description   string `json:"description"`
	// Measure is what is measured ("HbA1c") and Target the value to reach
	// ("< 8.0 %").
	Measure    string `json:"measure"`
	Target     string `json:"target"`
	TargetDate string `json:"targetDate,omitempty"` // YYYY-MM-DD
}

// ResponsibleParty is who carries out an intervention: a staff member, the
// patient or a caregiver.
type ResponsibleParty struct {
	Name string `json:"name"`
	// Role is a staff role of the contract (rn, physician, pharmacist, …),
	// patient or caregiver.
	Role string `json:"role"`
	// StaffID is set when the party is a staff member.
	StaffID string `json:"staffId,omitempty"`
}

// CarePlanIntervention is a planned intervention and who is responsible for
// it (ccm-rules CP2).
type CarePlanIntervention struct {
	Description   string           `json:"description"`
	ConditionCode string           `json:"conditionCode,omitempty"` // ICD-10-CM
	Responsible   ResponsibleParty `json:"responsible"`
	// Frequency is how often it happens, in words ("weekly call").
	Frequency string `json:"frequency,omitempty"`
}

// Medication is one line of the plan's medication management: the
// reconciled medication list with notes on adherence and oversight.
type Medication struct {
	Name       string `json:"name"`
	Dose       string `json:"dose"`
	Frequency  string `json:"frequency"`
	Indication string `json:"indication,omitempty"`
	// Notes records management: adherence, interactions, self-management.
	Notes string `json:"notes,omitempty"`
}

// CommunityResource is a community or social service the patient is
// connected to.
type CommunityResource struct {
	Name    string `json:"name"`
	Purpose string `json:"purpose"`
	Contact string `json:"contact,omitempty"`
}

// CoordinationContact is an outside practitioner or provider the care team
// coordinates with (ccm-rules CP2, CP4, CP9).
type CoordinationContact struct {
	Name string `json:"name"`
	// Role is the contact's function ("cardiology", "home health agency").
	Role         string `json:"role"`
	Organization string `json:"organization,omitempty"`
	NPI          string `json:"npi,omitempty"`
	Purpose      string `json:"purpose"`
}

// ReviewSchedule states the requirement for periodic review (ccm-rules CP2).
type ReviewSchedule struct {
	// IntervalMonths is the number of months between full reviews.
	IntervalMonths int    `json:"intervalMonths"`
	NextReviewDate string `json:"nextReviewDate,omitempty"` // YYYY-MM-DD
}

// CarePlanEstablished is the payload of careplan.established v1 (POST
// /v1/patients/{id}/care-plans). It carries every element of ccm-rules §5
// CP2; which elements a billable plan must have is the billing rules' call
// (hold reason care_plan_incomplete), so none is dropped here when empty.
type CarePlanEstablished struct {
	// ID is the plan id that revisions and copies reference.
	ID string `json:"id"`
	// Kind is comprehensive (CCM) or disease_specific (PCM).
	Kind          string    `json:"kind"`
	EstablishedAt time.Time `json:"establishedAt"`
	// AuthorNPI is the billing practitioner who developed and signed the
	// plan (ccm-rules CP11).
	AuthorNPI string `json:"authorNpi"`
	// Electronic states the plan is kept in certified EHR technology
	// (ccm-rules CP3, CP5).
	Electronic bool `json:"electronic"`

	Problems        []CarePlanProblem `json:"problems"`
	ExpectedOutcome string            `json:"expectedOutcome"`
	Prognosis       string            `json:"prognosis"`
	Goals           []CarePlanGoal    `json:"goals"`
	// SymptomManagement is the plan for managing symptoms, in words.
	SymptomManagement  string                 `json:"symptomManagement"`
	Interventions      []CarePlanIntervention `json:"interventions"`
	Medications        []Medication           `json:"medications"`
	CommunityResources []CommunityResource    `json:"communityResources"`
	Coordination       []CoordinationContact  `json:"coordination"`
	ReviewSchedule     ReviewSchedule         `json:"reviewSchedule"`

	// The assessments CP2 lists as typical, in words; optional.
	CognitiveFunctionalAssessment string `json:"cognitiveFunctionalAssessment,omitempty"`
	EnvironmentalEvaluation       string `json:"environmentalEvaluation,omitempty"`
	CaregiverAssessment           string `json:"caregiverAssessment,omitempty"`
}

// CarePlanRevised is the payload of careplan.revised v1 (POST
// /v1/patients/{id}/care-plans/{planId}/revisions). It carries only the
// elements that changed; each present element replaces the plan's previous
// value whole. Absent means unchanged: a nil slice or pointer is left out of
// the JSON, while a non-nil empty slice is written as [] and empties the
// element (slices use omitzero to keep that difference).
type CarePlanRevised struct {
	PlanID    string    `json:"planId"`
	RevisedAt time.Time `json:"revisedAt"`
	// AuthorNPI is the practitioner responsible for the revision (clinical
	// staff may revise a plan, the practitioner signs it; ccm-rules CP11).
	AuthorNPI string `json:"authorNpi"`

	Electronic                    *bool                  `json:"electronic,omitempty"`
	Problems                      []CarePlanProblem      `json:"problems,omitzero"`
	ExpectedOutcome               *string                `json:"expectedOutcome,omitempty"`
	Prognosis                     *string                `json:"prognosis,omitempty"`
	Goals                         []CarePlanGoal         `json:"goals,omitzero"`
	SymptomManagement             *string                `json:"symptomManagement,omitempty"`
	Interventions                 []CarePlanIntervention `json:"interventions,omitzero"`
	Medications                   []Medication           `json:"medications,omitzero"`
	CommunityResources            []CommunityResource    `json:"communityResources,omitzero"`
	Coordination                  []CoordinationContact  `json:"coordination,omitzero"`
	ReviewSchedule                *ReviewSchedule        `json:"reviewSchedule,omitempty"`
	CognitiveFunctionalAssessment *string                `json:"cognitiveFunctionalAssessment,omitempty"`
	EnvironmentalEvaluation       *string                `json:"environmentalEvaluation,omitempty"`
	CaregiverAssessment           *string                `json:"caregiverAssessment,omitempty"`
}

// CarePlanCopyProvided is the payload of careplan.copy_provided v1 (POST
// /v1/patients/{id}/care-plans/{planId}/copies): the delivery proof whose
// absence is a top CERT error (ccm-rules CP3).
type CarePlanCopyProvided struct {
	PlanID     string    `json:"planId"`
	ProvidedAt time.Time `json:"providedAt"`
	// To is patient or caregiver.
	To string `json:"to"`
	// Method is paper, portal, email or mail.
	Method string `json:"method"`
}

// ComplexityRecorded is the payload of complexity.recorded v1 (POST
// /v1/patients/{id}/complexity). Complex CCM needs moderate or high medical
// decision making by the billing practitioner in that month (ccm-rules T11).
type ComplexityRecorded struct {
	Month string `json:"month"` // YYYY-MM
	// Level is low, moderate or high.
	Level           string    `json:"level"`
	PractitionerNPI string    `json:"practitionerNpi"`
	DecidedAt       time.Time `json:"decidedAt"`
}

// ---- patient stream: activity ----------------------------------------------

// Staff identifies who did the work of a time entry, with the credential an
// auditor looks for (ccm-rules §6.1).
type Staff struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is physician, np, pa, cns, cnm (billing practitioners, with NPI),
	// rn, lpn, ma, pharmacist, social_worker, care_manager (clinical staff),
	// front_desk, biller or scheduler (non-clinical; never counted).
	Role string `json:"role"`
	NPI  string `json:"npi,omitempty"`
}

// TimeEntry is one piece of care-management work (POST /v1/time-entries). It
// is the payload of activity.time_recorded v1 (as TimeRecorded) and the
// corrected entry inside activity.time_corrected v1: a breaking change to it
// needs a new version of both.
type TimeEntry struct {
	// ID is chosen by the client and makes the write idempotent.
	ID        string `json:"id"`
	PatientID string `json:"patientId"`
	Staff     Staff  `json:"staff"`
	// Programs lists the programs the work may count for, from ccm, pcm,
	// tcm, rpm, bhi, g0506; it is counted once, for the first usable program
	// in the order tcm, rpm, bhi, g0506, pcm, ccm.
	Programs  []string  `json:"programs"`
	StartedAt time.Time `json:"startedAt"`
	// Minutes is the wall-clock minutes of qualifying work, from StartedAt.
	Minutes int `json:"minutes"`
	// EndedAt is the stop time, when documented as start/stop.
	EndedAt *time.Time `json:"endedAt,omitempty"`
	// Activity names the kind of work ("medication reconciliation").
	Activity string `json:"activity"`
	// Notes says what was done, beyond the program and the minutes.
	Notes string `json:"notes"`
	// Outcome is completed or unanswered (an outreach attempt without
	// contact, not counted by default, ccm-rules §8 A7).
	Outcome string `json:"outcome"`
	// SessionID groups entries of several staff on one call or session,
	// which counts once (reason shared_session).
	SessionID string `json:"sessionId,omitempty"`
	// EncounterID marks minutes spent inside a face-to-face visit, the id of
	// an encounter.recorded (reason during_billed_visit).
	EncounterID string `json:"encounterId,omitempty"`
	// DirectSupervision records that the billing practitioner directly
	// supervised the work; PCM staff minutes count only with it when the
	// practice's policy requires direct supervision (ccm-rules §8 A12). An
	// optional field of v1: absent is false.
	DirectSupervision bool `json:"directSupervision,omitempty"`
}

// TimeRecorded is the payload of activity.time_recorded v1: a TimeEntry.
type TimeRecorded TimeEntry

// TimeCorrected is the payload of activity.time_corrected v1 (POST
// /v1/time-entries/{id}/corrections). Entry replaces the entry whole; later
// corrections replace earlier ones. Entry.ID equals EntryID and
// Entry.PatientID is unchanged: time recorded for the wrong patient is voided
// and recorded again in the right patient's stream.
type TimeCorrected struct {
	EntryID string    `json:"entryId"`
	Entry   TimeEntry `json:"entry"`
	Reason  string    `json:"reason"`
}

// TimeVoided is the payload of activity.time_voided v1 (POST
// /v1/time-entries/{id}/void). The entry's minutes stop counting (reason
// voided); the entry itself stays in the log.
type TimeVoided struct {
	EntryID string `json:"entryId"`
	Reason  string `json:"reason"`
}

// EncounterRecorded is the payload of encounter.recorded v1 (POST
// /v1/patients/{id}/encounters). Visits serve as initiating visits
// (ccm-rules §4.2) and exclude CCM minutes inside them; stays exclude
// inpatient days (§2 X12).
type EncounterRecorded struct {
	ID string `json:"id"`
	// Kind is office_visit, annual_wellness_visit, ippe, tcm, inpatient_stay
	// or snf_stay.
	Kind string `json:"kind"`
	// Code is the billed CPT/HCPCS code of a visit ("99214", "G0438").
	Code            string     `json:"code,omitempty"`
	PractitionerNPI string     `json:"practitionerNpi,omitempty"`
	Start           time.Time  `json:"start"`
	End             *time.Time `json:"end,omitempty"`
	// TimeBased marks an E/M visit whose level was chosen by time: the
	// practitioner's time on that date belongs to the visit (ccm-rules X10).
	// Absent means false, as for the other flags.
	TimeBased bool `json:"timeBased,omitempty"`
	// CCMDiscussed states CCM was discussed and documented during the visit,
	// which an initiating visit needs (ccm-rules I2).
	CCMDiscussed bool `json:"ccmDiscussed,omitempty"`
	// G0506 marks a visit billed with the G0506 care-planning add-on, whose
	// time is not counted again as CCM minutes (ccm-rules I4, X11).
	G0506 bool `json:"g0506,omitempty"`
}

// ExternalClaimRecorded is the payload of external_claim.recorded v1 (POST
// /v1/patients/{id}/external-claims): a service billed outside Carelog, by
// another practitioner or by the practice itself, that the same-month
// exclusions of ccm-rules §2 check against.
type ExternalClaimRecorded struct {
	// Code is the CPT/HCPCS code billed ("99490", "G0181").
	Code            string `json:"code"`
	PractitionerNPI string `json:"practitionerNpi"`
	ServiceMonth    string `json:"serviceMonth"`            // YYYY-MM
	DateOfService   string `json:"dateOfService,omitempty"` // YYYY-MM-DD
	// Status is the claim's status as reported by the source ("paid",
	// "denied"); absent means billed, status unknown.
	Status string `json:"status,omitempty"`
}

// ---- batch stream ----------------------------------------------------------

// ClaimLine is one line of a claim batch.
type ClaimLine struct {
	PatientID       string `json:"patientId"`
	Code            string `json:"code"` // CPT/HCPCS
	Units           int    `json:"units"`
	DateOfService   string `json:"dateOfService"` // YYYY-MM-DD
	PractitionerNPI string `json:"practitionerNpi"`
	// Diagnoses are ICD-10-CM codes, the qualifying conditions first.
	Diagnoses []string `json:"diagnoses"`
	// Evidence lists the ids of the events that justify the line: consent,
	// care plan and copy, each counted time entry (ARCHITECTURE.md decision 5).
	Evidence []string `json:"evidence"`
}

// ClaimBatchTotals summarizes a batch's lines.
type ClaimBatchTotals struct {
	Patients int `json:"patients"`
	Lines    int `json:"lines"`
	Units    int `json:"units"`
	// UnitsByCode sums units per procedure code (written with sorted keys).
	UnitsByCode map[string]int `json:"unitsByCode"`
}

// ClaimBatchClosed is the payload of claim_batch.closed v1 (POST
// /v1/billing/months/{month}/claim-batches), in the stream BatchStream(month).
// Replaying the log up to LogSequence reproduces the batch with the same
// ContentHash (ARCHITECTURE.md decision 5).
type ClaimBatchClosed struct {
	ID       string    `json:"id"`
	Month    string    `json:"month"` // YYYY-MM
	ClosedAt time.Time `json:"closedAt"`
	// LogSequence is the global log position the batch was computed at.
	LogSequence uint64 `json:"logSequence"`
	// ContentHash is the hex SHA-256 the billing service computes over the
	// batch content; the audit service recomputes it.
	ContentHash string           `json:"contentHash"`
	Lines       []ClaimLine      `json:"lines"`
	Totals      ClaimBatchTotals `json:"totals"`
}
