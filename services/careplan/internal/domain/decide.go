package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/careplan/plan"
)

// Operations, as errors name them.
const (
	OpEstablish        = "careplan.Establish"
	OpRevise           = "careplan.Revise"
	OpProvideCopy      = "careplan.ProvideCopy"
	OpRecordComplexity = "careplan.RecordComplexity"
	OpGet              = "careplan.Get"
)

// Skew is how far in the future a client's time may lie and still be
// accepted: clocks of clinical apps drift, and a plan signed "now" on a
// tablet a minute fast is not a plan from the future.
const Skew = 5 * time.Minute

// MaxPlanID is the longest plan id: the event id "careplan-<id>" must stay a
// valid id (events.ValidID, 128 characters).
const MaxPlanID = 64

// MaxReviewIntervalMonths bounds reviewSchedule.intervalMonths: a plan is
// reviewed at least yearly (CP2 "requirements for periodic review").
const MaxReviewIntervalMonths = 12

// Enumerations of the contract.
var (
	kinds          = []string{plan.KindComprehensive, plan.KindDiseaseSpecific}
	copyRecipients = []string{"patient", "caregiver"}
	copyMethods    = []string{"paper", "portal", "email", "mail"}
	mdmLevels      = []string{"low", "moderate", "high"}
	// responsibleRoles are the contract's staff roles (time entries) and
	// the patient or a caregiver (events.ResponsibleParty).
	responsibleRoles = []string{
		"physician", "np", "pa", "cns", "cnm",
		"rn", "lpn", "ma", "pharmacist", "social_worker", "care_manager",
		"front_desk", "biller", "scheduler",
		"patient", "caregiver",
	}
)

// errPatientNotFound is the answer for a stream without patient.enrolled. It
// names no patient data (errs: messages are returned to callers).
func errPatientNotFound(op string) error { return errs.E(op, errs.NotFound, "patient not found") }

func errPlanNotFound(op string) error { return errs.E(op, errs.NotFound, "care plan not found") }

// Establish decides whether careplan.established e may be written
// (POST /v1/patients/{id}/care-plans). It checks, in order: the fields
// (validElements for the element shapes), that the patient is enrolled
// (errs.NotFound) and that the plan id is new (errs.Conflict).
//
// A plan that lacks required elements is not refused: it is stored, and
// plan.Missing reports what it lacks, so that billing holds the months it
// covers (CP1, CP2) while the team completes it by revision.
// AuthorNPI must be a valid NPI: the billing practitioner develops and signs
// the plan (CP11); whether it is this patient's billing practitioner is the
// billing rules' question.
func Establish(s State, e events.CarePlanEstablished, now time.Time) error {
	const op = OpEstablish
	switch {
	case e.ID == "":
		return errs.Field(op, "id", "is required")
	case !ValidPlanID(e.ID):
		return errs.Field(op, "id", "must be 1 to %d letters, digits, '-', '_' or ':', starting with a letter or digit", MaxPlanID)
	}
	if err := oneOf(op, "kind", e.Kind, kinds); err != nil {
		return err
	}
	if err := pastTime(op, "establishedAt", e.EstablishedAt, now); err != nil {
		return err
	}
	if err := npi(op, "authorNpi", e.AuthorNPI); err != nil {
		return err
	}
	if err := validElements(op, elementsOf(e)); err != nil {
		return err
	}
	if !s.Enrolled {
		return errPatientNotFound(op)
	}
	if _, exists := s.Plans[e.ID]; exists {
		return errs.E(op, errs.Conflict, "care plan %s already exists; revise it or use a new id", e.ID)
	}
	return nil
}

// Revise decides whether careplan.revised r may be written (POST
// /v1/patients/{id}/care-plans/{planId}/revisions): the fields, at least one
// changed element, the patient and the plan (errs.NotFound), and revisedAt
// not before the plan's establishment. Clinical staff may revise a plan; the
// practitioner named by authorNpi is responsible for it (CP11). A revision
// may leave the plan incomplete; that is reported, not refused.
func Revise(s State, r events.CarePlanRevised, now time.Time) error {
	const op = OpRevise
	if err := pastTime(op, "revisedAt", r.RevisedAt, now); err != nil {
		return err
	}
	if err := npi(op, "authorNpi", r.AuthorNPI); err != nil {
		return err
	}
	if err := validElements(op, revisedElementsOf(r)); err != nil {
		return err
	}
	if len(plan.ChangedElements(r)) == 0 {
		return errs.E(op, errs.Invalid, "a revision must change at least one element of the plan")
	}
	if !s.Enrolled {
		return errPatientNotFound(op)
	}
	p, ok := s.Plans[r.PlanID]
	if !ok {
		return errPlanNotFound(op)
	}
	if r.RevisedAt.Before(p.EstablishedAt) {
		return errs.Field(op, "revisedAt", "must not be before the plan's establishedAt")
	}
	return nil
}

// ProvideCopy decides whether careplan.copy_provided c may be written (POST
// /v1/patients/{id}/care-plans/{planId}/copies): the delivery proof CP3 asks
// for, to the patient or a caregiver, not before the plan existed.
func ProvideCopy(s State, c events.CarePlanCopyProvided, now time.Time) error {
	const op = OpProvideCopy
	if err := pastTime(op, "providedAt", c.ProvidedAt, now); err != nil {
		return err
	}
	if err := oneOf(op, "to", c.To, copyRecipients); err != nil {
		return err
	}
	if err := oneOf(op, "method", c.Method, copyMethods); err != nil {
		return err
	}
	if !s.Enrolled {
		return errPatientNotFound(op)
	}
	p, ok := s.Plans[c.PlanID]
	if !ok {
		return errPlanNotFound(op)
	}
	if c.ProvidedAt.Before(p.EstablishedAt) {
		return errs.Field(op, "providedAt", "must not be before the plan's establishedAt")
	}
	return nil
}

// latestZone is the zone where a calendar month begins first (UTC+14). A
// month is "in the future" only when it has begun nowhere yet: the service
// does not know the practice's time zone (ccm-rules T12), and refusing a
// month that has begun for the practice would be wrong.
var latestZone = time.FixedZone("UTC+14", 14*60*60)

// RecordComplexity decides whether complexity.recorded c may be written
// (POST /v1/patients/{id}/complexity): the month's medical decision making by
// the billing practitioner, which complex CCM needs (T11). The month must
// have begun and decidedAt must not be in the future. decidedAt may fall
// outside the month (a decision documented after it, or stamped when it was
// recorded): api/contract.md ties the two fields by nothing, and billing
// attributes the decision to the month the client named. Several decisions
// for one month are kept; billing reads them.
func RecordComplexity(s State, c events.ComplexityRecorded, now time.Time) error {
	const op = OpRecordComplexity
	month, err := ParseMonth(op, "month", c.Month)
	if err != nil {
		return err
	}
	current := now.In(latestZone)
	if month.After(time.Date(current.Year(), current.Month(), 1, 0, 0, 0, 0, time.UTC)) {
		return errs.Field(op, "month", "must not be after the current month")
	}
	if err := oneOf(op, "level", c.Level, mdmLevels); err != nil {
		return err
	}
	if err := npi(op, "practitionerNpi", c.PractitionerNPI); err != nil {
		return err
	}
	if err := pastTime(op, "decidedAt", c.DecidedAt, now); err != nil {
		return err
	}
	if !s.Enrolled {
		return errPatientNotFound(op)
	}
	return nil
}

// ValidPlanID reports whether id may name a care plan: an events.ValidID of
// at most MaxPlanID characters.
func ValidPlanID(id string) bool { return len(id) <= MaxPlanID && events.ValidID(id) }

// ---- field rules -----------------------------------------------------------

func oneOf(op, field, v string, allowed []string) error {
	if v == "" {
		return errs.Field(op, field, "is required")
	}
	if !slices.Contains(allowed, v) {
		return errs.Field(op, field, "must be one of %s", strings.Join(allowed, ", "))
	}
	return nil
}

// pastTime requires t and refuses it beyond now plus Skew.
func pastTime(op, field string, t, now time.Time) error {
	if t.IsZero() {
		return errs.Field(op, field, "is required")
	}
	if t.After(now.Add(Skew)) {
		return errs.Field(op, field, "must not be in the future")
	}
	return nil
}

func npi(op, field, v string) error {
	if v == "" {
		return errs.Field(op, field, "is required")
	}
	if !ValidNPI(v) {
		return errs.Field(op, field, "must be a valid NPI: 10 digits with a correct check digit")
	}
	return nil
}

func required(op, field, v string) error {
	if strings.TrimSpace(v) == "" {
		return errs.Field(op, field, "is required")
	}
	return nil
}

func icd10(op, field, v string, needed bool) error {
	if v == "" {
		if needed {
			return errs.Field(op, field, "is required")
		}
		return nil
	}
	if !ValidICD10CM(v) {
		return errs.Field(op, field, "must be an ICD-10-CM code, such as I50.22")
	}
	return nil
}

func date(op, field, v string) error {
	if v == "" {
		return nil
	}
	if _, err := ParseDate(op, field, v); err != nil {
		return err
	}
	return nil
}

func at(list string, i int, field string) string { return fmt.Sprintf("%s[%d].%s", list, i, field) }
