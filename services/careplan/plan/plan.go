// Package plan is the care plan as the rest of Carelog reads it: the plan
// folded from its careplan.established, careplan.revised and
// careplan.copy_provided events, and which of the ccm-rules §5 (CP2) elements
// it lacks. It is the one place that decides when a plan is complete; the
// care-plan service answers with it, and the patient summary and the billing
// projection import it (billing holds a month on an incomplete plan, reason
// care_plan_incomplete).
//
// The package is pure (standard library and the events module only) and its
// API is stable: fields and functions are only ever added.
//
// Contracts:
//   - Established, Revise and WithCopy never fail and never validate: the
//     care-plan service validated the command before the event was written
//     (STYLE.md rule 9).
//   - They are value operations: the receiver and the arguments are never
//     modified, and the returned Plan shares no slice that a later operation
//     appends to, so a Plan handed out stays as it was (safe to read from
//     several goroutines while the stream's state advances).
//   - Missing reports element names from RequiredElements, in that order.
package plan

import (
	"slices"
	"strings"
	"time"

	"github.com/carelog/carelog/events"
)

// Plan kinds (contract.md, care plans; events.CarePlanEstablished.Kind).
const (
	// KindComprehensive is the comprehensive plan CCM needs (CP1).
	KindComprehensive = "comprehensive"
	// KindDiseaseSpecific is the plan for one high-risk condition that PCM
	// needs (ccm-rules §1.1, 99424–99427).
	KindDiseaseSpecific = "disease_specific"
)

// Element names (CP2). They are stable strings: billing reports them in its
// hold reasons and clients show them.
const (
	ElementProblemList                      = "problem_list"
	ElementExpectedOutcomeAndPrognosis      = "expected_outcome_and_prognosis"
	ElementMeasurableTreatmentGoals         = "measurable_treatment_goals"
	ElementSymptomManagement                = "symptom_management"
	ElementPlannedInterventions             = "planned_interventions"
	ElementMedicationManagement             = "medication_management"
	ElementCommunityResources               = "community_resources"
	ElementCoordinationWithOtherProviders   = "coordination_with_other_providers"
	ElementPeriodicReview                   = "periodic_review"
	ElementCognitiveAndFunctionalAssessment = "cognitive_and_functional_assessment"
	ElementEnvironmentalEvaluation          = "environmental_evaluation"
	ElementCaregiverAssessment              = "caregiver_assessment"
)

// RequiredElements are the CP2 elements a comprehensive plan must carry to
// be complete, in report order. CP2's "interaction and coordination with
// outside resources, practitioners and providers (community and social
// services)" is split in two, community_resources and
// coordination_with_other_providers, because a plan can have one without the
// other and an auditor looks for each. CP2's "revision when applicable" is
// not an element of the plan but its history (Revisions).
//
// services/billing/rules.CarePlanElements must hold the same names in the
// same order (it cannot import this package); plan_test.go keeps a copy of
// that list and fails when they drift.
//
// Do not modify: callers share the slice. Use RequiredFor for a kind.
var RequiredElements = []string{
	ElementProblemList,
	ElementExpectedOutcomeAndPrognosis,
	ElementMeasurableTreatmentGoals,
	ElementSymptomManagement,
	ElementPlannedInterventions,
	ElementMedicationManagement,
	ElementCommunityResources,
	ElementCoordinationWithOtherProviders,
	ElementPeriodicReview,
}

// OptionalElements are the CP2 elements that are recorded and shown when
// present but whose absence does not make a plan incomplete: CP2 lists them as
// "typical", and an assessment in words cannot be checked the way a goal with
// a measure can. Do not modify.
var OptionalElements = []string{
	ElementCognitiveAndFunctionalAssessment,
	ElementEnvironmentalEvaluation,
	ElementCaregiverAssessment,
}

// requiredDiseaseSpecific is RequiredElements without community_resources.
//
// Decision: ccm-rules gives the CP2 list for the comprehensive plan, which
// covers "all health issues" (CP1) and so the patient's community and social
// services; a disease-specific plan (PCM, §1.1 99424) manages one condition,
// and no source in ccm-rules asks it for community resources. Coordination
// with the practitioners and providers treating that condition stays
// required (CP4, CP9 apply to it as much as to CCM). Community resources
// recorded on such a plan are kept and shown; they are just not demanded.
var requiredDiseaseSpecific = []string{
	ElementProblemList,
	ElementExpectedOutcomeAndPrognosis,
	ElementMeasurableTreatmentGoals,
	ElementSymptomManagement,
	ElementPlannedInterventions,
	ElementMedicationManagement,
	ElementCoordinationWithOtherProviders,
	ElementPeriodicReview,
}

// RequiredFor returns the required elements of a plan of kind: the full
// RequiredElements for comprehensive (and for "" or an unknown kind, read as
// comprehensive, as billing does), all but community_resources for
// disease_specific. The result is a fresh slice.
func RequiredFor(kind string) []string {
	if kind == KindDiseaseSpecific {
		return slices.Clone(requiredDiseaseSpecific)
	}
	return slices.Clone(RequiredElements)
}

// Copy records a copy of the plan given to the patient or a caregiver (CP3).
type Copy struct {
	ProvidedAt time.Time `json:"providedAt"`
	// To is patient or caregiver.
	To string `json:"to"`
	// Method is paper, portal, email or mail.
	Method string `json:"method"`
	// EventID is the careplan.copy_provided event: the delivery proof.
	EventID string `json:"eventId"`
}

// Revision records one careplan.revised event applied to the plan.
type Revision struct {
	RevisedAt time.Time `json:"revisedAt"`
	AuthorNPI string    `json:"authorNpi"`
	// Elements names what the revision replaced (ChangedElements).
	Elements []string `json:"elements"`
	// MissingElements is what the plan lacked right after this revision.
	MissingElements []string `json:"missingElements"`
	EventID         string   `json:"eventId"`
}

// Plan is a care plan with its revisions applied and its copies. Its element
// fields mirror events.CarePlanEstablished and keep its JSON names; element
// lists are never nil (an absent element is an empty list).
type Plan struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// EstablishedAt is when the plan was established (CP1).
	EstablishedAt time.Time `json:"establishedAt"`
	// AuthorNPI is the practitioner who developed and signed it (CP11).
	AuthorNPI string `json:"authorNpi"`
	// Electronic: the plan is kept in certified EHR technology (CP3, CP5);
	// a revision may change it.
	Electronic bool `json:"electronic"`

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

	// RevisionCount is len(Revisions).
	RevisionCount int `json:"revisionCount"`
	// LastRevisedAt is the latest RevisedAt of the revisions, zero if none.
	LastRevisedAt time.Time `json:"lastRevisedAt,omitzero"`
	// Revisions are the applied revisions in log order.
	Revisions []Revision `json:"revisions"`
	// Copies are the copies given, in log order (CP3).
	Copies []Copy `json:"copies"`

	// EventID is the careplan.established event.
	EventID string `json:"eventId"`
}

// Established returns the plan a careplan.established event establishes.
func Established(e events.CarePlanEstablished, eventID string) Plan {
	return Plan{
		ID:                            e.ID,
		Kind:                          e.Kind,
		EstablishedAt:                 e.EstablishedAt,
		AuthorNPI:                     e.AuthorNPI,
		Electronic:                    e.Electronic,
		Problems:                      list(e.Problems),
		ExpectedOutcome:               e.ExpectedOutcome,
		Prognosis:                     e.Prognosis,
		Goals:                         list(e.Goals),
		SymptomManagement:             e.SymptomManagement,
		Interventions:                 list(e.Interventions),
		Medications:                   list(e.Medications),
		CommunityResources:            list(e.CommunityResources),
		Coordination:                  list(e.Coordination),
		ReviewSchedule:                e.ReviewSchedule,
		CognitiveFunctionalAssessment: e.CognitiveFunctionalAssessment,
		EnvironmentalEvaluation:       e.EnvironmentalEvaluation,
		CaregiverAssessment:           e.CaregiverAssessment,
		Revisions:                     []Revision{},
		Copies:                        []Copy{},
		EventID:                       eventID,
	}
}

// Revise returns p with a careplan.revised event applied: each element
// present in r replaces the plan's value whole, an absent one (nil slice or
// pointer) leaves it unchanged, and an empty non-nil list empties it (the
// CarePlanRevised contract). The revision is appended to Revisions.
func (p Plan) Revise(r events.CarePlanRevised, eventID string) Plan {
	if r.Electronic != nil {
		p.Electronic = *r.Electronic
	}
	if r.Problems != nil {
		p.Problems = list(r.Problems)
	}
	if r.ExpectedOutcome != nil {
		p.ExpectedOutcome = *r.ExpectedOutcome
	}
	if r.Prognosis != nil {
		p.Prognosis = *r.Prognosis
	}
	if r.Goals != nil {
		p.Goals = list(r.Goals)
	}
	if r.SymptomManagement != nil {
		p.SymptomManagement = *r.SymptomManagement
	}
	if r.Interventions != nil {
		p.Interventions = list(r.Interventions)
	}
	if r.Medications != nil {
		p.Medications = list(r.Medications)
	}
	if r.CommunityResources != nil {
		p.CommunityResources = list(r.CommunityResources)
	}
	if r.Coordination != nil {
		p.Coordination = list(r.Coordination)
	}
	if r.ReviewSchedule != nil {
		p.ReviewSchedule = *r.ReviewSchedule
	}
	if r.CognitiveFunctionalAssessment != nil {
		p.CognitiveFunctionalAssessment = *r.CognitiveFunctionalAssessment
	}
	if r.EnvironmentalEvaluation != nil {
		p.EnvironmentalEvaluation = *r.EnvironmentalEvaluation
	}
	if r.CaregiverAssessment != nil {
		p.CaregiverAssessment = *r.CaregiverAssessment
	}
	rev := Revision{
		RevisedAt: r.RevisedAt, AuthorNPI: r.AuthorNPI, EventID: eventID,
		Elements: ChangedElements(r), MissingElements: p.Missing(),
	}
	p.Revisions = append(slices.Clip(p.Revisions), rev)
	p.RevisionCount = len(p.Revisions)
	if r.RevisedAt.After(p.LastRevisedAt) {
		p.LastRevisedAt = r.RevisedAt
	}
	return p
}

// WithCopy returns p with a careplan.copy_provided event recorded.
func (p Plan) WithCopy(c events.CarePlanCopyProvided, eventID string) Plan {
	p.Copies = append(slices.Clip(p.Copies), Copy{ProvidedAt: c.ProvidedAt, To: c.To, Method: c.Method, EventID: eventID})
	return p
}

// Revision returns the applied revision recorded by event eventID.
func (p Plan) Revision(eventID string) (Revision, bool) {
	for _, r := range p.Revisions {
		if r.EventID == eventID {
			return r, true
		}
	}
	return Revision{}, false
}

// Has reports whether the plan carries element (any name of
// RequiredElements or OptionalElements; false for an unknown name). An
// element counts only with content: a blank text, an empty list or a zero
// review interval is absent. Two elements ask for more:
//   - measurable_treatment_goals needs at least one goal with both a measure
//     and a target ("measurable", CP2);
//   - planned_interventions needs at least one intervention, and every
//     intervention must name the person responsible (CP2 "with who is
//     responsible").
//
// expected_outcome_and_prognosis needs both texts.
func (p Plan) Has(element string) bool {
	switch element {
	case ElementProblemList:
		return slices.ContainsFunc(p.Problems, func(x events.CarePlanProblem) bool { return filled(x.Code) })
	case ElementExpectedOutcomeAndPrognosis:
		return filled(p.ExpectedOutcome) && filled(p.Prognosis)
	case ElementMeasurableTreatmentGoals:
		return slices.ContainsFunc(p.Goals, func(g events.CarePlanGoal) bool { return filled(g.Measure) && filled(g.Target) })
	case ElementSymptomManagement:
		return filled(p.SymptomManagement)
	case ElementPlannedInterventions:
		return len(p.Interventions) > 0 &&
			!slices.ContainsFunc(p.Interventions, func(i events.CarePlanIntervention) bool { return !filled(i.Responsible.Name) })
	case ElementMedicationManagement:
		return slices.ContainsFunc(p.Medications, func(m events.Medication) bool { return filled(m.Name) })
	case ElementCommunityResources:
		return slices.ContainsFunc(p.CommunityResources, func(c events.CommunityResource) bool { return filled(c.Name) })
	case ElementCoordinationWithOtherProviders:
		return slices.ContainsFunc(p.Coordination, func(c events.CoordinationContact) bool { return filled(c.Name) })
	case ElementPeriodicReview:
		return p.ReviewSchedule.IntervalMonths > 0
	case ElementCognitiveAndFunctionalAssessment:
		return filled(p.CognitiveFunctionalAssessment)
	case ElementEnvironmentalEvaluation:
		return filled(p.EnvironmentalEvaluation)
	case ElementCaregiverAssessment:
		return filled(p.CaregiverAssessment)
	}
	return false
}

// Missing returns the required elements (RequiredFor the plan's kind) the
// plan lacks, in RequiredElements order. It is never nil, so it marshals as
// [] for a complete plan.
func (p Plan) Missing() []string {
	out := []string{}
	for _, el := range RequiredFor(p.Kind) {
		if !p.Has(el) {
			out = append(out, el)
		}
	}
	return out
}

// Complete reports whether the plan has every required element (CP2). It
// does not look at Electronic or Copies (CP3): billing checks those on their
// own, with their own hold reasons.
func (p Plan) Complete() bool { return len(p.Missing()) == 0 }

// Evidence lists the ids of every event the plan was folded from: the
// establishment, then the revisions and the copies in log order.
func (p Plan) Evidence() []string {
	out := make([]string, 0, 1+len(p.Revisions)+len(p.Copies))
	out = append(out, p.EventID)
	for _, r := range p.Revisions {
		out = append(out, r.EventID)
	}
	for _, c := range p.Copies {
		out = append(out, c.EventID)
	}
	return out
}

// ElementElectronic names the electronic flag in ChangedElements; it is not
// a CP2 element but a revision may change it (CP3).
const ElementElectronic = "electronic"

// ChangedElements names the elements a revision replaces, in
// RequiredElements then OptionalElements order, with "electronic" first when
// the flag is set. An empty result means the revision changes nothing.
func ChangedElements(r events.CarePlanRevised) []string {
	out := []string{}
	add := func(name string, present bool) {
		if present && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	add(ElementElectronic, r.Electronic != nil)
	add(ElementProblemList, r.Problems != nil)
	add(ElementExpectedOutcomeAndPrognosis, r.ExpectedOutcome != nil || r.Prognosis != nil)
	add(ElementMeasurableTreatmentGoals, r.Goals != nil)
	add(ElementSymptomManagement, r.SymptomManagement != nil)
	add(ElementPlannedInterventions, r.Interventions != nil)
	add(ElementMedicationManagement, r.Medications != nil)
	add(ElementCommunityResources, r.CommunityResources != nil)
	add(ElementCoordinationWithOtherProviders, r.Coordination != nil)
	add(ElementPeriodicReview, r.ReviewSchedule != nil)
	add(ElementCognitiveAndFunctionalAssessment, r.CognitiveFunctionalAssessment != nil)
	add(ElementEnvironmentalEvaluation, r.EnvironmentalEvaluation != nil)
	add(ElementCaregiverAssessment, r.CaregiverAssessment != nil)
	return out
}

// list returns a copy of s that is never nil.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}

func filled(s string) bool { return strings.TrimSpace(s) != "" }
