package rules

import (
	"errors"
	"fmt"
	"time"
)

// Program is a care-management program a time entry may be tagged with
// (contract.md, time entries).
type Program string

// Programs, in the contract's order of priority for multi-tagged entries.
const (
	ProgramTCM   Program = "tcm"
	ProgramRPM   Program = "rpm"
	ProgramBHI   Program = "bhi"
	ProgramG0506 Program = "g0506"
	ProgramPCM   Program = "pcm"
	ProgramCCM   Program = "ccm"
)

// programPriority is the order in which an entry tagged with several programs
// is given to the first one that can use it (contract.md; T7 no double counting).
var programPriority = []Program{ProgramTCM, ProgramRPM, ProgramBHI, ProgramG0506, ProgramPCM, ProgramCCM}

// Role is a time-entry author's role (contract.md, time entries).
type Role string

// Roles. Billing-practitioner roles carry an NPI; clinical-staff roles count
// under incident-to rules (T4); the rest never count.
const (
	RolePhysician    Role = "physician"
	RoleNP           Role = "np"
	RolePA           Role = "pa"
	RoleCNS          Role = "cns"
	RoleCNM          Role = "cnm"
	RoleRN           Role = "rn"
	RoleLPN          Role = "lpn"
	RoleMA           Role = "ma"
	RolePharmacist   Role = "pharmacist"
	RoleSocialWorker Role = "social_worker"
	RoleCareManager  Role = "care_manager"
	RoleFrontDesk    Role = "front_desk"
	RoleBiller       Role = "biller"
	RoleScheduler    Role = "scheduler"
)

// PractitionerKind is a billing practitioner's kind (contract.md).
type PractitionerKind string

// Practitioner kinds allowed to bill CCM/PCM (§1.1: physicians, NPs, PAs, CNSs
// and CNMs; limited-license practitioners are outside CCM's scope).
const (
	KindPhysician PractitionerKind = "physician"
	KindNP        PractitionerKind = "np"
	KindPA        PractitionerKind = "pa"
	KindCNS       PractitionerKind = "cns"
	KindCNM       PractitionerKind = "cnm"
)

// Consent vocabulary (contract.md, consents; K1–K3).
const (
	DecisionAccepted = "accepted"
	DecisionDeclined = "declined"

	MethodVerbal  = "verbal"
	MethodWritten = "written"

	DisclosureAvailabilityAndCostSharing = "availability_and_cost_sharing"
	DisclosureOnePractitionerPerMonth    = "one_practitioner_per_month"
	DisclosureRightToStop                = "right_to_stop"
	DisclosureElectronicSharing          = "electronic_sharing"
)

// Care plan kinds (contract.md; CP1, and PCM's disease-specific plan).
const (
	CarePlanComprehensive   = "comprehensive"
	CarePlanDiseaseSpecific = "disease_specific"
)

// CarePlanElements are the CP2 elements a comprehensive care plan must carry,
// for callers that compute CarePlan.MissingElements. The source of truth is
// services/careplan/plan.RequiredElements (which also decides that a
// disease_specific plan does not need community_resources, and which of
// CP2's "typical" elements are optional: cognitive_and_functional_assessment,
// environmental_evaluation, caregiver_assessment). This module cannot import
// it, so the names are repeated here in the same order, and a test in
// services/careplan/plan fails when the two lists drift: change both together.
var CarePlanElements = []string{
	"problem_list",
	"expected_outcome_and_prognosis",
	"measurable_treatment_goals",
	"symptom_management",
	"planned_interventions",
	"medication_management",
	"community_resources",
	"coordination_with_other_providers",
	"periodic_review",
}

// MissingCarePlanElements returns the CarePlanElements (CP2) not in present,
// in list order: what CarePlan.MissingElements should hold.
func MissingCarePlanElements(present []string) []string {
	var out []string
	for _, el := range CarePlanElements {
		if !contains(present, el) {
			out = append(out, el)
		}
	}
	return out
}

// Medical decision making levels (contract.md, complexity; T11).
const (
	MDMLow      = "low"
	MDMModerate = "moderate"
	MDMHigh     = "high"
)

// Encounter kinds (contract.md, encounters).
const (
	EncounterOfficeVisit         = "office_visit"
	EncounterAnnualWellnessVisit = "annual_wellness_visit"
	EncounterIPPE                = "ippe"
	EncounterTCM                 = "tcm"
	EncounterInpatientStay       = "inpatient_stay"
	EncounterSNFStay             = "snf_stay"
)

// Time-entry outcomes (contract.md; A7).
const (
	OutcomeCompleted  = "completed"
	OutcomeUnanswered = "unanswered"
)

// Facts is everything the engine knows about one patient-month: the input of
// Evaluate. Every fact carries the id of the event that recorded it, which
// becomes claim-line evidence. Time entries arrive with corrections already
// applied; voided entries may be passed with Voided set so that they are
// reported as excluded. The caller filters facts by recorded time for as-of
// evaluations; the engine never reads a clock.
type Facts struct {
	PatientID string `json:"patientId"`
	// Month is the service month being evaluated (T3).
	Month Month `json:"month"`
	// Location is the billing location's time zone; it decides which calendar
	// month and day each minute belongs to (T12, A9). Nil means UTC.
	Location *time.Location `json:"-"`
	// Policy holds the practice's settings for the §8 ambiguities. Empty
	// settings take their documented defaults.
	Policy Policy `json:"policy"`
	// Program, when set, forces the program evaluated (ccm or pcm); otherwise
	// the engine chooses from entry tags, consents and conditions.
	Program Program `json:"program,omitempty"`

	Patient             Patient      `json:"patient"`
	BillingPractitioner Practitioner `json:"billingPractitioner"`

	Conditions     []Condition          `json:"conditions"`
	Consents       []Consent            `json:"consents"`
	CarePlans      []CarePlan           `json:"carePlans"`
	Complexity     []ComplexityDecision `json:"complexity"`
	Encounters     []Encounter          `json:"encounters"`
	ExternalClaims []ExternalClaim      `json:"externalClaims"`
	TimeEntries    []TimeEntry          `json:"timeEntries"`

	// Billed is set when the month is already in a closed claim batch.
	Billed *BilledMonth `json:"billed,omitempty"`
}

// Patient holds the patient facts the rules need.
type Patient struct {
	ID           string `json:"id"`
	BirthDate    Date   `json:"birthDate"`
	DeceasedDate Date   `json:"deceasedDate"`
	EventID      string `json:"eventId"`
}

// Practitioner is the patient's billing practitioner.
type Practitioner struct {
	NPI  string           `json:"npi"`
	Kind PractitionerKind `json:"kind"`
}

// Condition is a diagnosis on the patient's problem list.
type Condition struct {
	Code                   string `json:"code"` // ICD-10-CM
	Description            string `json:"description"`
	ExpectedDurationMonths int    `json:"expectedDurationMonths"`
	SignificantRisk        bool   `json:"significantRisk"`
	OnsetDate              Date   `json:"onsetDate"`
	EventID                string `json:"eventId"`
}

// Consent is a recorded consent decision (K1–K7).
type Consent struct {
	ID              string    `json:"id"`
	Program         Program   `json:"program"`
	PractitionerNPI string    `json:"practitionerNpi"`
	Method          string    `json:"method"`
	Decision        string    `json:"decision"` // "" is read as accepted
	ObtainedAt      time.Time `json:"obtainedAt"`
	ObtainedBy      string    `json:"obtainedBy"`
	Disclosures     []string  `json:"disclosures"`
	// RevokedAt is zero while the consent stands.
	RevokedAt time.Time `json:"revokedAt"`
	EventID   string    `json:"eventId"`
}

// CarePlan is a care plan with its delivery record (CP1, CP2, CP3).
type CarePlan struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"` // "" is read as comprehensive
	EstablishedAt time.Time `json:"establishedAt"`
	AuthorNPI     string    `json:"authorNpi"`
	Electronic    bool      `json:"electronic"`
	// MissingElements lists required CP2 elements the plan lacks (the caller
	// computes it from the plan, for example against CarePlanElements).
	MissingElements []string       `json:"missingElements"`
	Copies          []CarePlanCopy `json:"copies"`
	EventID         string         `json:"eventId"`
}

// CarePlanCopy records a copy of the plan given to the patient or caregiver.
type CarePlanCopy struct {
	ProvidedAt time.Time `json:"providedAt"`
	To         string    `json:"to"`
	Method     string    `json:"method"`
	EventID    string    `json:"eventId"`
}

// ComplexityDecision is a recorded medical decision making level for a month.
type ComplexityDecision struct {
	Month           Month     `json:"month"`
	Level           string    `json:"level"`
	PractitionerNPI string    `json:"practitionerNpi"`
	DecidedAt       time.Time `json:"decidedAt"`
	EventID         string    `json:"eventId"`
}

// Encounter is a face-to-face visit or an inpatient/SNF stay.
type Encounter struct {
	ID              string    `json:"id"`
	Kind            string    `json:"kind"`
	Code            string    `json:"code"`
	PractitionerNPI string    `json:"practitionerNpi"`
	Start           time.Time `json:"start"`
	// End is zero when unknown; an open stay lasts to the end of the month.
	End          time.Time `json:"end"`
	TimeBased    bool      `json:"timeBased"`
	CCMDiscussed bool      `json:"ccmDiscussed"`
	G0506        bool      `json:"g0506"`
	EventID      string    `json:"eventId"`
}

// ExternalClaim is a service billed outside Carelog.
type ExternalClaim struct {
	Code            string `json:"code"`
	PractitionerNPI string `json:"practitionerNpi"`
	ServiceMonth    Month  `json:"serviceMonth"`
	DateOfService   Date   `json:"dateOfService"`
	// Status "denied", "rejected", "void", "voided", "cancelled" or
	// "canceled" makes the claim irrelevant; anything else (including "")
	// counts as billed. Facts.ExternalClaims are in the order recorded: a
	// later claim with the same code, practitioner, service month and date
	// of service replaces an earlier one (its status changed).
	Status  string `json:"status"`
	EventID string `json:"eventId"`
}

// TimeEntry is one logged period of care-management work, with corrections
// applied.
type TimeEntry struct {
	ID          string    `json:"id"`
	EventID     string    `json:"eventId"`
	Staff       Staff     `json:"staff"`
	Programs    []Program `json:"programs"`
	StartedAt   time.Time `json:"startedAt"`
	Minutes     int       `json:"minutes"`
	Activity    string    `json:"activity"`
	Outcome     string    `json:"outcome"`
	SessionID   string    `json:"sessionId"`
	EncounterID string    `json:"encounterId"`
	RecordedAt  time.Time `json:"recordedAt"`
	Voided      bool      `json:"voided"`
	// CorrectedFrom names the entry version this one replaced (audit only).
	CorrectedFrom string `json:"correctedFrom"`
	// DirectSupervision records that the billing practitioner directly
	// supervised the work; consulted only when Policy.PCMSupervision is
	// "direct" (A12).
	DirectSupervision bool `json:"directSupervision"`
}

// Staff identifies who did the work.
type Staff struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	NPI  string `json:"npi"`
}

// BilledMonth says the month is in a closed claim batch.
type BilledMonth struct {
	BatchID  string    `json:"batchId"`
	ClosedAt time.Time `json:"closedAt"`
	// Lines are the lines the batch billed; a difference from the evaluated
	// lines raises the post_close_change flag.
	Lines []Line `json:"lines"`
}

// Validate reports every structural problem in f at once. Evaluate does not
// call it: it evaluates whatever it is given, reading empty policy settings as
// defaults and a nil Location as UTC.
func (f Facts) Validate() error {
	var errs []error
	if f.Month.IsZero() || f.Month.Month < 1 || f.Month.Month > 12 {
		errs = append(errs, errors.New("month is not set"))
	}
	if err := f.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	for i, e := range f.TimeEntries {
		if e.ID == "" {
			errs = append(errs, fmt.Errorf("timeEntries[%d]: id is empty", i))
		}
		if e.Minutes < 0 {
			errs = append(errs, fmt.Errorf("timeEntries[%d]: minutes %d < 0", i, e.Minutes))
		}
		if e.StartedAt.IsZero() {
			errs = append(errs, fmt.Errorf("timeEntries[%d]: startedAt is zero", i))
		}
	}
	for i, c := range f.Consents {
		if c.ObtainedAt.IsZero() {
			errs = append(errs, fmt.Errorf("consents[%d]: obtainedAt is zero", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rules.Facts.Validate: %w", err)
	}
	return nil
}
