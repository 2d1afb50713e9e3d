package domain

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
)

// Consent programs, methods, decisions and disclosures (contract.md,
// POST /v1/patients/{id}/consents; ccm-rules K1–K3).
var (
	Programs  = []string{"ccm", "pcm"}
	Methods   = []string{"verbal", "written"}
	Decisions = []string{"accepted", "declined"}
	// Disclosures lists every disclosure a consent may record.
	Disclosures = []string{DisclosureAvailabilityAndCostSharing, DisclosureOnePractitionerPerMonth, DisclosureRightToStop, DisclosureElectronicSharing}
	// RequiredDisclosures are the three K2 requires; a consent without one
	// of them is kept, and billing holds the month
	// (consent_elements_incomplete).
	RequiredDisclosures = []string{DisclosureAvailabilityAndCostSharing, DisclosureOnePractitionerPerMonth, DisclosureRightToStop}
)

// Disclosure values.
const (
	// DisclosureAvailabilityAndCostSharing: CCM is available and cost
	// sharing applies (K2a).
	DisclosureAvailabilityAndCostSharing = "availability_and_cost_sharing"
	// DisclosureOnePractitionerPerMonth: only one practitioner can furnish
	// and be paid for CCM per calendar month (K2b, X3).
	DisclosureOnePractitionerPerMonth = "one_practitioner_per_month"
	// DisclosureRightToStop: the patient may stop at any time, effective at
	// the end of the calendar month (K2c).
	DisclosureRightToStop = "right_to_stop"
	// DisclosureElectronicSharing: authorization to share health information
	// electronically with other treating providers (K3, optional).
	DisclosureElectronicSharing = "electronic_sharing"
)

// MissingDisclosures returns the RequiredDisclosures absent from given, in
// RequiredDisclosures order; never nil.
func MissingDisclosures(given []string) []string {
	out := []string{}
	for _, d := range RequiredDisclosures {
		if !slices.Contains(given, d) {
			out = append(out, d)
		}
	}
	return out
}

// Patient is the state of one patient stream as the consent rules need it.
// Its maps are shared between states: never modify them, Evolve replaces.
type Patient struct {
	// Events counts the stream's events (of any service).
	Events int
	// Enrolled is set by patient.enrolled.
	Enrolled               bool
	ID                     string
	BirthDate              string
	DeceasedDate           string
	BillingPractitionerNPI string
	// Codes are the ICD-10-CM codes on the problem list.
	Codes map[string]bool
	// Consents by consent id.
	Consents map[string]ConsentState
}

// ConsentState is what the rules need of a recorded consent.
type ConsentState struct {
	// Type is consent.granted or consent.declined.
	Type            events.Type
	Program         string
	PractitionerNPI string
	ObtainedAt      time.Time
	// Revoked is set by consent.revoked.
	Revoked   bool
	RevokedAt time.Time
}

// EvolvePatient applies one event of a patient stream. Events of types the
// consent rules do not need (care plans, time entries …) only count.
func EvolvePatient(s Patient, rec eventlog.Record) Patient {
	s.Events++
	switch rec.Type {
	case events.TypePatientEnrolled:
		var e events.PatientEnrolled
		if decode(rec, &e) {
			s.Enrolled, s.ID, s.BirthDate, s.DeceasedDate, s.BillingPractitionerNPI = true, e.ID, e.BirthDate, e.DeceasedDate, e.BillingPractitionerNPI
		}
	case events.TypePatientDied:
		var e events.PatientDied
		if decode(rec, &e) {
			s.DeceasedDate = e.DeceasedDate
		}
	case events.TypeConditionRecorded:
		var e events.ConditionRecorded
		if decode(rec, &e) {
			s.Codes = with(s.Codes, e.Code, true)
		}
	case events.TypeConsentGranted:
		var e events.ConsentGranted
		if decode(rec, &e) {
			s.Consents = with(s.Consents, e.ID, ConsentState{Type: rec.Type, Program: e.Program, PractitionerNPI: e.PractitionerNPI, ObtainedAt: e.ObtainedAt})
		}
	case events.TypeConsentDeclined:
		var e events.ConsentDeclined
		if decode(rec, &e) {
			s.Consents = with(s.Consents, e.ID, ConsentState{Type: rec.Type, Program: e.Program, PractitionerNPI: e.PractitionerNPI, ObtainedAt: e.ObtainedAt})
		}
	case events.TypeConsentRevoked:
		var e events.ConsentRevoked
		if decode(rec, &e) {
			if c, ok := s.Consents[e.ConsentID]; ok {
				c.Revoked, c.RevokedAt = true, e.RevokedAt
				s.Consents = with(s.Consents, e.ConsentID, c)
			}
		}
	}
	return s
}

// with returns a copy of m with k set to v (copy on write: states handed
// out earlier keep their map).
func with[K comparable, V any](m map[K]V, k K, v V) map[K]V {
	out := maps.Clone(m)
	if out == nil {
		out = map[K]V{}
	}
	out[k] = v
	return out
}

// ---- POST /v1/patients ------------------------------------------------------

// Enrollment is the body of POST /v1/patients.
type Enrollment struct {
	// ID is the client's patient id; absent, the server chooses one.
	ID                     string            `json:"id,omitempty"`
	MRN                    string            `json:"mrn"`
	Name                   events.PersonName `json:"name"`
	BirthDate              string            `json:"birthDate"`
	MBI                    string            `json:"mbi"`
	BillingPractitionerNPI string            `json:"billingPractitionerNpi"`
	DeceasedDate           string            `json:"deceasedDate,omitempty"`
}

// MaxAgeYears bounds how long ago a birth date may be.
const MaxAgeYears = 130

// Event validates an enrolment at now and returns the patient.enrolled
// payload for patient id (in.ID, or the one the server chose).
func (in Enrollment) Event(id string, now time.Time) (events.PatientEnrolled, error) {
	const op = "consent.EnrollPatient"
	if err := clientID(op, "id", in.ID); err != nil {
		return events.PatientEnrolled{}, err
	}
	if err := text(op, "mrn", in.MRN, 64); err != nil {
		return events.PatientEnrolled{}, err
	}
	if err := text(op, "name.given", in.Name.Given, 100); err != nil {
		return events.PatientEnrolled{}, err
	}
	if err := text(op, "name.family", in.Name.Family, 100); err != nil {
		return events.PatientEnrolled{}, err
	}
	birth, err := parseDate(op, "birthDate", in.BirthDate)
	if err != nil {
		return events.PatientEnrolled{}, err
	}
	if err := notFutureDate(op, "birthDate", birth, now); err != nil {
		return events.PatientEnrolled{}, err
	}
	if birth.Before(latestToday(now).AddDate(-MaxAgeYears, 0, -1)) {
		return events.PatientEnrolled{}, errs.Field(op, "birthDate", "must be within the last %d years", MaxAgeYears)
	}
	if in.MBI == "" {
		return events.PatientEnrolled{}, errs.Field(op, "mbi", "is required")
	}
	// Written as printed on the Medicare card ("1EG4-TE5-MK73") or in lower
	// case, it is stored in the CMS format.
	in.MBI = events.NormalizeMBI(in.MBI)
	if !ValidMBI(in.MBI) {
		return events.PatientEnrolled{}, errs.Field(op, "mbi", "must be an 11-character Medicare Beneficiary Identifier in the CMS format (dashes and case do not matter)")
	}
	if !ValidNPI(in.BillingPractitionerNPI) {
		return events.PatientEnrolled{}, errs.Field(op, "billingPractitionerNpi", "must be a valid NPI (10 digits with a correct check digit)")
	}
	if in.DeceasedDate != "" {
		died, err := parseDate(op, "deceasedDate", in.DeceasedDate)
		if err != nil {
			return events.PatientEnrolled{}, err
		}
		if died.Before(birth) {
			return events.PatientEnrolled{}, errs.Field(op, "deceasedDate", "must not be before birthDate")
		}
		if err := notFutureDate(op, "deceasedDate", died, now); err != nil {
			return events.PatientEnrolled{}, err
		}
	}
	return events.PatientEnrolled{ID: id, MRN: in.MRN, Name: in.Name, BirthDate: in.BirthDate, MBI: in.MBI,
		BillingPractitionerNPI: in.BillingPractitionerNPI, DeceasedDate: in.DeceasedDate}, nil
}

// DecideEnroll checks an enrolment against the patient stream and the
// practice: patient.enrolled is the first event of its stream (a second
// enrolment under the same id is a conflict), and the billing practitioner
// must be registered (consent is given to this practitioner, K4).
func DecideEnroll(s Patient, p Practice, e events.PatientEnrolled) error {
	const op = "consent.EnrollPatient"
	if s.Events > 0 {
		return errs.E(op, errs.Conflict, "a patient with this id already exists")
	}
	if !p.Registered(e.BillingPractitionerNPI) {
		return errs.Field(op, "billingPractitionerNpi", "must be a registered practitioner (PUT /v1/practitioners/{npi})")
	}
	return nil
}

// CheckPatientID returns NotFound for a path id that cannot name a patient.
func CheckPatientID(id string) error {
	if !events.ValidID(id) {
		return errs.E("consent.Patient", errs.NotFound, "patient not found")
	}
	return nil
}

func requireEnrolled(op string, s Patient) error {
	if !s.Enrolled {
		return errs.E(op, errs.NotFound, "patient not found")
	}
	return nil
}

// ---- POST /v1/patients/{id}/conditions -------------------------------------

// ConditionInput is the body of POST /v1/patients/{id}/conditions. The
// pointers tell an absent value from zero and false: both are required.
type ConditionInput struct {
	// Code is ICD-10-CM, upper case with its dot ("E11.65").
	Code        string `json:"code"`
	Description string `json:"description"`
	// ExpectedDurationMonths: CCM needs 12 or more, PCM 3 or more (§1.1).
	ExpectedDurationMonths *int `json:"expectedDurationMonths"`
	// SignificantRisk: the condition places the patient at significant risk
	// of death, acute exacerbation/decompensation or functional decline.
	SignificantRisk *bool  `json:"significantRisk"`
	OnsetDate       string `json:"onsetDate,omitempty"`
}

// MaxExpectedDurationMonths bounds expectedDurationMonths (a lifetime;
// "until death" is written as a large number of months).
const MaxExpectedDurationMonths = 1200

// Event validates a condition at now and returns the condition.recorded
// payload.
func (in ConditionInput) Event(now time.Time) (events.ConditionRecorded, error) {
	const op = "consent.RecordCondition"
	if in.Code == "" {
		return events.ConditionRecorded{}, errs.Field(op, "code", "is required")
	}
	code, ok := events.NormalizeICD10CM(in.Code)
	if !ok {
		return events.ConditionRecorded{}, errs.Field(op, "code", "must be an ICD-10-CM code, such as E11.65 (E1165 and e11.65 are read as E11.65)")
	}
	in.Code = code
	if err := text(op, "description", in.Description, 500); err != nil {
		return events.ConditionRecorded{}, err
	}
	if in.ExpectedDurationMonths == nil {
		return events.ConditionRecorded{}, errs.Field(op, "expectedDurationMonths", "is required")
	}
	if m := *in.ExpectedDurationMonths; m < 1 || m > MaxExpectedDurationMonths {
		return events.ConditionRecorded{}, errs.Field(op, "expectedDurationMonths", "must be between 1 and %d", MaxExpectedDurationMonths)
	}
	if in.SignificantRisk == nil {
		return events.ConditionRecorded{}, errs.Field(op, "significantRisk", "is required")
	}
	if in.OnsetDate != "" {
		onset, err := parseDate(op, "onsetDate", in.OnsetDate)
		if err != nil {
			return events.ConditionRecorded{}, err
		}
		if err := notFutureDate(op, "onsetDate", onset, now); err != nil {
			return events.ConditionRecorded{}, err
		}
	}
	return events.ConditionRecorded{Code: in.Code, Description: in.Description, ExpectedDurationMonths: *in.ExpectedDurationMonths,
		SignificantRisk: *in.SignificantRisk, OnsetDate: in.OnsetDate}, nil
}

// DecideCondition checks a condition against the patient: the patient is
// enrolled, and the code is not on the problem list yet (recording it twice
// would count one condition twice towards the two CCM needs, §1.1).
func DecideCondition(s Patient, e events.ConditionRecorded) error {
	const op = "consent.RecordCondition"
	if err := requireEnrolled(op, s); err != nil {
		return err
	}
	if s.Codes[e.Code] {
		return errs.E(op, errs.Conflict, "this code is already on the patient's problem list")
	}
	return nil
}

// ---- POST /v1/patients/{id}/consents ---------------------------------------

// ConsentInput is the body of POST /v1/patients/{id}/consents.
type ConsentInput struct {
	// ID is the client's consent id; absent, the server chooses one.
	ID string `json:"id,omitempty"`
	// Program is ccm or pcm.
	Program         string `json:"program"`
	PractitionerNPI string `json:"practitionerNpi"`
	// Method is verbal or written (K1).
	Method string `json:"method"`
	// Decision is accepted or declined (K2: the record shows which).
	Decision   string `json:"decision"`
	ObtainedAt string `json:"obtainedAt"`
	ObtainedBy string `json:"obtainedBy"`
	// Disclosures is required; it may be empty (billing then holds the
	// month, consent_elements_incomplete).
	Disclosures []string `json:"disclosures"`
}

// Consent is a validated consent decision: its event type (consent.granted
// for accepted, consent.declined for declined) and payload.
type Consent struct {
	Type    events.Type
	Payload events.ConsentGranted
}

// Data returns the payload of the consent's event type.
func (c Consent) Data() any {
	if c.Type == events.TypeConsentDeclined {
		return events.ConsentDeclined(c.Payload)
	}
	return c.Payload
}

// Event validates a consent at now and returns it for consent id (in.ID, or
// the one the server chose). A declined consent is recorded too: it is the
// documentation K2 asks for.
func (in ConsentInput) Event(id string, now time.Time) (Consent, error) {
	const op = "consent.RecordConsent"
	if err := clientID(op, "id", in.ID); err != nil {
		return Consent{}, err
	}
	if err := oneOf(op, "program", in.Program, Programs...); err != nil {
		return Consent{}, err
	}
	if !ValidNPI(in.PractitionerNPI) {
		return Consent{}, errs.Field(op, "practitionerNpi", "must be a valid NPI (10 digits with a correct check digit)")
	}
	if err := oneOf(op, "method", in.Method, Methods...); err != nil {
		return Consent{}, err
	}
	if err := oneOf(op, "decision", in.Decision, Decisions...); err != nil {
		return Consent{}, err
	}
	at, err := parseInstant(op, "obtainedAt", in.ObtainedAt)
	if err != nil {
		return Consent{}, err
	}
	if err := notFutureInstant(op, "obtainedAt", at, now); err != nil {
		return Consent{}, err
	}
	if err := text(op, "obtainedBy", in.ObtainedBy, 200); err != nil {
		return Consent{}, err
	}
	if in.Disclosures == nil {
		return Consent{}, errs.Field(op, "disclosures", "is required (send [] when none was made)")
	}
	for i, d := range in.Disclosures {
		if !slices.Contains(Disclosures, d) {
			return Consent{}, errs.Field(op, "disclosures", "must hold only %s", strings.Join(Disclosures, ", "))
		}
		if slices.Contains(in.Disclosures[:i], d) {
			return Consent{}, errs.Field(op, "disclosures", "must not repeat a disclosure")
		}
	}
	typ := events.TypeConsentGranted
	if in.Decision == "declined" {
		typ = events.TypeConsentDeclined
	}
	return Consent{Type: typ, Payload: events.ConsentGranted{ID: id, Program: in.Program, PractitionerNPI: in.PractitionerNPI,
		Method: in.Method, ObtainedAt: at, ObtainedBy: in.ObtainedBy, Disclosures: slices.Clone(in.Disclosures)}}, nil
}

// DecideConsent checks a consent against the patient and the practice: the
// patient is enrolled; the practitioner is registered (a consent is given to
// one billing practitioner, and a new billing practitioner needs a new
// consent, K4: consents for several practitioners may coexist, billing uses
// the one naming the month's practitioner); the consent id is new; and the
// patient was alive when it was obtained.
func DecideConsent(s Patient, p Practice, c Consent) error {
	const op = "consent.RecordConsent"
	if err := requireEnrolled(op, s); err != nil {
		return err
	}
	if _, dup := s.Consents[c.Payload.ID]; dup {
		return errs.E(op, errs.Conflict, "a consent with this id already exists")
	}
	if !p.Registered(c.Payload.PractitionerNPI) {
		return errs.Field(op, "practitionerNpi", "must be a registered practitioner (PUT /v1/practitioners/{npi})")
	}
	if s.DeceasedDate != "" && c.Payload.ObtainedAt.Format(time.DateOnly) > s.DeceasedDate {
		return errs.Field(op, "obtainedAt", "must not be after the patient's date of death")
	}
	return nil
}

// ---- POST /v1/patients/{id}/consents/{consentId}/revocation ----------------

// RevocationInput is the body of POST
// /v1/patients/{id}/consents/{consentId}/revocation.
type RevocationInput struct {
	RevokedAt  string `json:"revokedAt"`
	RecordedBy string `json:"recordedBy"`
	Reason     string `json:"reason,omitempty"`
}

// Event validates a revocation of consentID at now and returns the
// consent.revoked payload.
func (in RevocationInput) Event(consentID string, now time.Time) (events.ConsentRevoked, error) {
	const op = "consent.RevokeConsent"
	at, err := parseInstant(op, "revokedAt", in.RevokedAt)
	if err != nil {
		return events.ConsentRevoked{}, err
	}
	if err := notFutureInstant(op, "revokedAt", at, now); err != nil {
		return events.ConsentRevoked{}, err
	}
	if err := text(op, "recordedBy", in.RecordedBy, 200); err != nil {
		return events.ConsentRevoked{}, err
	}
	if err := optionalText(op, "reason", in.Reason, 1000); err != nil {
		return events.ConsentRevoked{}, err
	}
	return events.ConsentRevoked{ConsentID: consentID, RevokedAt: at, RecordedBy: in.RecordedBy, Reason: in.Reason}, nil
}

// CheckConsentID returns NotFound for a path id that cannot name a consent.
func CheckConsentID(id string) error {
	if !events.ValidID(id) || len(id) > MaxClientIDLen {
		return errs.E("consent.Consent", errs.NotFound, "consent not found")
	}
	return nil
}

// DecideRevoke checks a revocation against the patient: the consent exists
// (404), was accepted (a declined consent opened nothing, 409) and is not
// revoked yet (409), and the revocation is not before the consent was
// obtained (400 revokedAt). The right to stop takes effect at the end of
// the calendar month (K2c, K7; see EffectiveThrough); which minutes after
// the revocation still count is the §8 A2 policy, applied by billing.
func DecideRevoke(s Patient, e events.ConsentRevoked) error {
	const op = "consent.RevokeConsent"
	if err := requireEnrolled(op, s); err != nil {
		return err
	}
	c, ok := s.Consents[e.ConsentID]
	switch {
	case !ok:
		return errs.E(op, errs.NotFound, "consent not found")
	case c.Type != events.TypeConsentGranted:
		return errs.E(op, errs.Conflict, "only an accepted consent can be revoked; this one was declined")
	case c.Revoked:
		return errs.E(op, errs.Conflict, "this consent is already revoked")
	case e.RevokedAt.Before(c.ObtainedAt):
		return errs.Field(op, "revokedAt", "must not be before the consent was obtained")
	}
	return nil
}
