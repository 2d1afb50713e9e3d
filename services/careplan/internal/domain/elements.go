package domain

import (
	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
)

// elementSet is the structured elements a command carries (CP2); a nil
// list or pointer is absent. Text elements need no shape check.
type elementSet struct {
	problems           []events.CarePlanProblem
	goals              []events.CarePlanGoal
	interventions      []events.CarePlanIntervention
	medications        []events.Medication
	communityResources []events.CommunityResource
	coordination       []events.CoordinationContact
	reviewSchedule     *events.ReviewSchedule
}

func elementsOf(e events.CarePlanEstablished) elementSet {
	return elementSet{
		problems: e.Problems, goals: e.Goals, interventions: e.Interventions, medications: e.Medications,
		communityResources: e.CommunityResources, coordination: e.Coordination, reviewSchedule: &e.ReviewSchedule,
	}
}

func revisedElementsOf(r events.CarePlanRevised) elementSet {
	return elementSet{
		problems: r.Problems, goals: r.Goals, interventions: r.Interventions, medications: r.Medications,
		communityResources: r.CommunityResources, coordination: r.Coordination, reviewSchedule: r.ReviewSchedule,
	}
}

// validElements checks the shape of every entry of every element, naming
// the first bad field by its JSON path ("goals[0].description"). Which
// elements are present is not its business: a plan lacking some is stored and
// reported incomplete (plan.Missing).
//
//   - problems: code is a required ICD-10-CM code (CP2 problem list; CP5
//     structured problems);
//   - goals: description required; conditionCode an ICD-10-CM code when
//     given; targetDate a date. Measure and target are optional here, but a
//     plan has measurable goals only with both (plan.Has);
//   - interventions: description and the responsible person's name and role
//     (CP2: "with who is responsible"); role from the contract's staff roles,
//     patient or caregiver;
//   - medications, communityResources, coordination: a name; a coordination
//     contact's npi, when given, a valid NPI;
//   - reviewSchedule: intervalMonths from 0 (no schedule) to 12;
//     nextReviewDate a date.
func validElements(op string, s elementSet) error {
	for i, p := range s.problems {
		if err := icd10(op, at("problems", i, "code"), p.Code, true); err != nil {
			return err
		}
	}
	for i, g := range s.goals {
		if err := required(op, at("goals", i, "description"), g.Description); err != nil {
			return err
		}
		if err := icd10(op, at("goals", i, "conditionCode"), g.ConditionCode, false); err != nil {
			return err
		}
		if err := date(op, at("goals", i, "targetDate"), g.TargetDate); err != nil {
			return err
		}
	}
	for i, in := range s.interventions {
		if err := required(op, at("interventions", i, "description"), in.Description); err != nil {
			return err
		}
		if err := icd10(op, at("interventions", i, "conditionCode"), in.ConditionCode, false); err != nil {
			return err
		}
		if err := required(op, at("interventions", i, "responsible.name"), in.Responsible.Name); err != nil {
			return err
		}
		if err := oneOf(op, at("interventions", i, "responsible.role"), in.Responsible.Role, responsibleRoles); err != nil {
			return err
		}
		if id := in.Responsible.StaffID; id != "" && !events.ValidID(id) {
			return errs.Field(op, at("interventions", i, "responsible.staffId"), "must be 1 to 128 letters, digits, '-', '_' or ':'")
		}
	}
	for i, m := range s.medications {
		if err := required(op, at("medications", i, "name"), m.Name); err != nil {
			return err
		}
	}
	for i, c := range s.communityResources {
		if err := required(op, at("communityResources", i, "name"), c.Name); err != nil {
			return err
		}
	}
	for i, c := range s.coordination {
		if err := required(op, at("coordination", i, "name"), c.Name); err != nil {
			return err
		}
		if c.NPI != "" {
			if err := npi(op, at("coordination", i, "npi"), c.NPI); err != nil {
				return err
			}
		}
	}
	if r := s.reviewSchedule; r != nil {
		if r.IntervalMonths < 0 || r.IntervalMonths > MaxReviewIntervalMonths {
			return errs.Field(op, "reviewSchedule.intervalMonths", "must be between 1 and %d (0: no schedule yet)", MaxReviewIntervalMonths)
		}
		if err := date(op, "reviewSchedule.nextReviewDate", r.NextReviewDate); err != nil {
			return err
		}
	}
	return nil
}
