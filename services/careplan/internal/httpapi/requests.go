package httpapi

import (
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/careplan/internal/domain"
	"github.com/carelog/carelog/services/careplan/plan"
)

// Request bodies mirror the contract (api/contract.md, Clinical facts) field
// by field; their names equal the event payloads'. Times are strings so that
// a malformed one is reported naming its field (domain.ParseTime); required
// booleans are pointers so that absence is seen. Optional fields carry
// omitempty so that the OpenAPI document marks them optional.

type problem struct {
	Code        string `json:"code"` // ICD-10-CM
	Description string `json:"description,omitempty"`
}

type goal struct {
	ConditionCode string `json:"conditionCode,omitempty"`
	Description   string `json:"description"`
	// Measure and Target make the goal measurable (CP2); without them the
	// plan is stored but incomplete.
	Measure    string `json:"measure,omitempty"`
	Target     string `json:"target,omitempty"`
	TargetDate string `json:"targetDate,omitempty"`
}

type responsible struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	StaffID string `json:"staffId,omitempty"`
}

type intervention struct {
	Description   string      `json:"description"`
	ConditionCode string      `json:"conditionCode,omitempty"`
	Responsible   responsible `json:"responsible"`
	Frequency     string      `json:"frequency,omitempty"`
}

type medication struct {
	Name       string `json:"name"`
	Dose       string `json:"dose,omitempty"`
	Frequency  string `json:"frequency,omitempty"`
	Indication string `json:"indication,omitempty"`
	Notes      string `json:"notes,omitempty"`
}

type communityResource struct {
	Name    string `json:"name"`
	Purpose string `json:"purpose,omitempty"`
	Contact string `json:"contact,omitempty"`
}

type coordinationContact struct {
	Name         string `json:"name"`
	Role         string `json:"role,omitempty"`
	Organization string `json:"organization,omitempty"`
	NPI          string `json:"npi,omitempty"`
	Purpose      string `json:"purpose,omitempty"`
}

type reviewSchedule struct {
	IntervalMonths int    `json:"intervalMonths"`
	NextReviewDate string `json:"nextReviewDate,omitempty"`
}

// establishRequest is POST /v1/patients/{id}/care-plans. Every element is
// optional to the request: a plan lacking required ones is stored and
// reported incomplete.
type establishRequest struct {
	ID            string `json:"id,omitempty"`
	Kind          string `json:"kind"`
	EstablishedAt string `json:"establishedAt"`
	AuthorNPI     string `json:"authorNpi"`
	// Electronic is required (CP3); a pointer only to tell absence.
	Electronic *bool `json:"electronic"`

	Problems                      []problem             `json:"problems,omitempty"`
	ExpectedOutcome               string                `json:"expectedOutcome,omitempty"`
	Prognosis                     string                `json:"prognosis,omitempty"`
	Goals                         []goal                `json:"goals,omitempty"`
	SymptomManagement             string                `json:"symptomManagement,omitempty"`
	Interventions                 []intervention        `json:"interventions,omitempty"`
	Medications                   []medication          `json:"medications,omitempty"`
	CommunityResources            []communityResource   `json:"communityResources,omitempty"`
	Coordination                  []coordinationContact `json:"coordination,omitempty"`
	ReviewSchedule                *reviewSchedule       `json:"reviewSchedule,omitempty"`
	CognitiveFunctionalAssessment string                `json:"cognitiveFunctionalAssessment,omitempty"`
	EnvironmentalEvaluation       string                `json:"environmentalEvaluation,omitempty"`
	CaregiverAssessment           string                `json:"caregiverAssessment,omitempty"`
}

// reviseRequest is POST /v1/patients/{id}/care-plans/{planId}/revisions:
// revisedAt, authorNpi and the changed elements. An element left out (or
// null) is unchanged; one sent replaces the plan's whole element, [] or ""
// emptying it (events.CarePlanRevised).
type reviseRequest struct {
	RevisedAt string `json:"revisedAt"`
	AuthorNPI string `json:"authorNpi"`

	Electronic                    *bool                 `json:"electronic,omitempty"`
	Problems                      []problem             `json:"problems,omitempty"`
	ExpectedOutcome               *string               `json:"expectedOutcome,omitempty"`
	Prognosis                     *string               `json:"prognosis,omitempty"`
	Goals                         []goal                `json:"goals,omitempty"`
	SymptomManagement             *string               `json:"symptomManagement,omitempty"`
	Interventions                 []intervention        `json:"interventions,omitempty"`
	Medications                   []medication          `json:"medications,omitempty"`
	CommunityResources            []communityResource   `json:"communityResources,omitempty"`
	Coordination                  []coordinationContact `json:"coordination,omitempty"`
	ReviewSchedule                *reviewSchedule       `json:"reviewSchedule,omitempty"`
	CognitiveFunctionalAssessment *string               `json:"cognitiveFunctionalAssessment,omitempty"`
	EnvironmentalEvaluation       *string               `json:"environmentalEvaluation,omitempty"`
	CaregiverAssessment           *string               `json:"caregiverAssessment,omitempty"`
}

// copyRequest is POST /v1/patients/{id}/care-plans/{planId}/copies (CP3).
type copyRequest struct {
	ProvidedAt string `json:"providedAt"`
	To         string `json:"to"`     // patient or caregiver
	Method     string `json:"method"` // paper, portal, email or mail
}

// complexityRequest is POST /v1/patients/{id}/complexity (T11).
type complexityRequest struct {
	Month           string `json:"month"` // YYYY-MM
	Level           string `json:"level"` // low, moderate or high
	PractitionerNPI string `json:"practitionerNpi"`
	DecidedAt       string `json:"decidedAt"`
}

// ---- responses ---------------------------------------------------------------

// planResponse is a care plan as stored: the plan (with revisions and copies
// applied), whether it is complete and what it lacks (CP2), and the log
// position: sequence of the event a write stored, or asOfSequence of the
// patient's stream for a read.
type planResponse struct {
	plan.Plan
	PatientID       string   `json:"patientId"`
	Complete        bool     `json:"complete"`
	MissingElements []string `json:"missingElements"`
	Sequence        uint64   `json:"sequence,omitempty"`
	AsOfSequence    uint64   `json:"asOfSequence,omitempty"`
}

func newPlanResponse(patientID string, p plan.Plan) planResponse {
	missing := p.Missing()
	return planResponse{Plan: p, PatientID: patientID, Complete: len(missing) == 0, MissingElements: missing}
}

// revisionResponse is a stored revision: what it changed, and whether the
// plan was complete right after it.
type revisionResponse struct {
	// ID is the revision's event id.
	ID              string    `json:"id"`
	PatientID       string    `json:"patientId"`
	PlanID          string    `json:"planId"`
	RevisedAt       time.Time `json:"revisedAt"`
	AuthorNPI       string    `json:"authorNpi"`
	ChangedElements []string  `json:"changedElements"`
	Complete        bool      `json:"complete"`
	MissingElements []string  `json:"missingElements"`
	Sequence        uint64    `json:"sequence"`
}

// copyResponse is a stored copy record.
type copyResponse struct {
	// ID is the copy's event id.
	ID         string    `json:"id"`
	PatientID  string    `json:"patientId"`
	PlanID     string    `json:"planId"`
	ProvidedAt time.Time `json:"providedAt"`
	To         string    `json:"to"`
	Method     string    `json:"method"`
	Sequence   uint64    `json:"sequence"`
}

// complexityResponse is a stored medical decision making record.
type complexityResponse struct {
	// ID is the record's event id.
	ID              string    `json:"id"`
	PatientID       string    `json:"patientId"`
	Month           string    `json:"month"`
	Level           string    `json:"level"`
	PractitionerNPI string    `json:"practitionerNpi"`
	DecidedAt       time.Time `json:"decidedAt"`
	Sequence        uint64    `json:"sequence"`
}

// ---- mapping -----------------------------------------------------------------

// The mappers keep the difference between an absent list (nil: unchanged in
// a revision) and an empty one; establish then turns absent into empty.

// icd10 writes a code the way conditions store it (upper case, dotted;
// events.NormalizeICD10CM), so that a plan's codes match the problem list's.
// A code without that form is kept as sent for the decider to refuse.
func icd10(code string) string {
	if n, ok := events.NormalizeICD10CM(code); ok {
		return n
	}
	return code
}

func problems(in []problem) []events.CarePlanProblem {
	return mapList(in, func(p problem) events.CarePlanProblem {
		return events.CarePlanProblem{Code: icd10(p.Code), Description: p.Description}
	})
}

func goals(in []goal) []events.CarePlanGoal {
	return mapList(in, func(g goal) events.CarePlanGoal {
		return events.CarePlanGoal{ConditionCode: icd10(g.ConditionCode), Description: g.Description,
			Measure: g.Measure, Target: g.Target, TargetDate: g.TargetDate}
	})
}

func interventions(in []intervention) []events.CarePlanIntervention {
	return mapList(in, func(i intervention) events.CarePlanIntervention {
		return events.CarePlanIntervention{Description: i.Description, ConditionCode: icd10(i.ConditionCode), Frequency: i.Frequency,
			Responsible: events.ResponsibleParty{Name: i.Responsible.Name, Role: i.Responsible.Role, StaffID: i.Responsible.StaffID}}
	})
}

func medications(in []medication) []events.Medication {
	return mapList(in, func(m medication) events.Medication {
		return events.Medication{Name: m.Name, Dose: m.Dose, Frequency: m.Frequency, Indication: m.Indication, Notes: m.Notes}
	})
}

func communityResources(in []communityResource) []events.CommunityResource {
	return mapList(in, func(c communityResource) events.CommunityResource {
		return events.CommunityResource{Name: c.Name, Purpose: c.Purpose, Contact: c.Contact}
	})
}

func coordination(in []coordinationContact) []events.CoordinationContact {
	return mapList(in, func(c coordinationContact) events.CoordinationContact {
		return events.CoordinationContact{Name: c.Name, Role: c.Role, Organization: c.Organization, NPI: c.NPI, Purpose: c.Purpose}
	})
}

func review(in *reviewSchedule) *events.ReviewSchedule {
	if in == nil {
		return nil
	}
	return &events.ReviewSchedule{IntervalMonths: in.IntervalMonths, NextReviewDate: in.NextReviewDate}
}

func mapList[A, B any](in []A, f func(A) B) []B {
	if in == nil {
		return nil
	}
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// establishPayload maps the request; planID is the client's id or the one
// derived from the event id.
func (r establishRequest) payload(planID string) (events.CarePlanEstablished, error) {
	const op = domain.OpEstablish
	at, err := domain.ParseTime(op, "establishedAt", r.EstablishedAt)
	if err != nil {
		return events.CarePlanEstablished{}, err
	}
	electronic, err := domain.Bool(op, "electronic", r.Electronic)
	if err != nil {
		return events.CarePlanEstablished{}, err
	}
	var rs events.ReviewSchedule
	if p := review(r.ReviewSchedule); p != nil {
		rs = *p
	}
	return events.CarePlanEstablished{
		ID: planID, Kind: r.Kind, EstablishedAt: at, AuthorNPI: r.AuthorNPI, Electronic: electronic,
		Problems:                      orEmpty(problems(r.Problems)),
		ExpectedOutcome:               r.ExpectedOutcome,
		Prognosis:                     r.Prognosis,
		Goals:                         orEmpty(goals(r.Goals)),
		SymptomManagement:             r.SymptomManagement,
		Interventions:                 orEmpty(interventions(r.Interventions)),
		Medications:                   orEmpty(medications(r.Medications)),
		CommunityResources:            orEmpty(communityResources(r.CommunityResources)),
		Coordination:                  orEmpty(coordination(r.Coordination)),
		ReviewSchedule:                rs,
		CognitiveFunctionalAssessment: r.CognitiveFunctionalAssessment,
		EnvironmentalEvaluation:       r.EnvironmentalEvaluation,
		CaregiverAssessment:           r.CaregiverAssessment,
	}, nil
}

func (r reviseRequest) payload(planID string) (events.CarePlanRevised, error) {
	at, err := domain.ParseTime(domain.OpRevise, "revisedAt", r.RevisedAt)
	if err != nil {
		return events.CarePlanRevised{}, err
	}
	return events.CarePlanRevised{
		PlanID: planID, RevisedAt: at, AuthorNPI: r.AuthorNPI,
		Electronic:                    r.Electronic,
		Problems:                      problems(r.Problems),
		ExpectedOutcome:               r.ExpectedOutcome,
		Prognosis:                     r.Prognosis,
		Goals:                         goals(r.Goals),
		SymptomManagement:             r.SymptomManagement,
		Interventions:                 interventions(r.Interventions),
		Medications:                   medications(r.Medications),
		CommunityResources:            communityResources(r.CommunityResources),
		Coordination:                  coordination(r.Coordination),
		ReviewSchedule:                review(r.ReviewSchedule),
		CognitiveFunctionalAssessment: r.CognitiveFunctionalAssessment,
		EnvironmentalEvaluation:       r.EnvironmentalEvaluation,
		CaregiverAssessment:           r.CaregiverAssessment,
	}, nil
}

func (r copyRequest) payload(planID string) (events.CarePlanCopyProvided, error) {
	at, err := domain.ParseTime(domain.OpProvideCopy, "providedAt", r.ProvidedAt)
	if err != nil {
		return events.CarePlanCopyProvided{}, err
	}
	return events.CarePlanCopyProvided{PlanID: planID, ProvidedAt: at, To: r.To, Method: r.Method}, nil
}

func (r complexityRequest) payload() (events.ComplexityRecorded, error) {
	at, err := domain.ParseTime(domain.OpRecordComplexity, "decidedAt", r.DecidedAt)
	if err != nil {
		return events.ComplexityRecorded{}, err
	}
	return events.ComplexityRecorded{Month: r.Month, Level: r.Level, PractitionerNPI: r.PractitionerNPI, DecidedAt: at}, nil
}
