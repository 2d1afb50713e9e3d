package plan_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/careplan/plan"
)

var t0 = time.Date(2025, 3, 3, 10, 0, 0, 0, time.FixedZone("", -6*3600))

// complete is a comprehensive plan with every CP2 element.
func complete() events.CarePlanEstablished {
	return events.CarePlanEstablished{
		ID: "cp-1", Kind: plan.KindComprehensive, EstablishedAt: t0, AuthorNPI: "1234567893", Electronic: true,
		Problems:          []events.CarePlanProblem{{Code: "I50.22", Description: "Chronic systolic heart failure"}},
		ExpectedOutcome:   "Stable weight, no admissions",
		Prognosis:         "Fair",
		Goals:             []events.CarePlanGoal{{ConditionCode: "I50.22", Description: "Keep fluid balance", Measure: "weight", Target: "< 2 kg gain a week"}},
		SymptomManagement: "Daily weights; call if short of breath",
		Interventions: []events.CarePlanIntervention{{Description: "Weekly call",
			Responsible: events.ResponsibleParty{Name: "R. Nurse", Role: "rn"}}},
		Medications:        []events.Medication{{Name: "Furosemide", Dose: "40 mg", Frequency: "daily"}},
		CommunityResources: []events.CommunityResource{{Name: "Meals on Wheels", Purpose: "low-sodium meals"}},
		Coordination:       []events.CoordinationContact{{Name: "Dr. Heart", Role: "cardiology", Purpose: "titration"}},
		ReviewSchedule:     events.ReviewSchedule{IntervalMonths: 3},
	}
}

func with(f func(*events.CarePlanEstablished)) events.CarePlanEstablished {
	e := complete()
	f(&e)
	return e
}

func ptr[T any](v T) *T { return &v }

func TestMissing(t *testing.T) {
	tests := []struct {
		name  string
		given events.CarePlanEstablished
		want  []string
	}{
		{"complete comprehensive plan", complete(), []string{}},
		{"empty plan lacks every required element", events.CarePlanEstablished{ID: "cp-1", Kind: plan.KindComprehensive},
			plan.RequiredElements},
		{"empty disease-specific plan does not need community resources",
			events.CarePlanEstablished{ID: "cp-1", Kind: plan.KindDiseaseSpecific},
			[]string{"problem_list", "expected_outcome_and_prognosis", "measurable_treatment_goals", "symptom_management",
				"planned_interventions", "medication_management", "coordination_with_other_providers", "periodic_review"}},
		{"disease-specific plan without community resources is complete",
			with(func(e *events.CarePlanEstablished) { e.Kind = plan.KindDiseaseSpecific; e.CommunityResources = nil }), []string{}},
		{"empty kind is read as comprehensive",
			with(func(e *events.CarePlanEstablished) { e.Kind = ""; e.CommunityResources = nil }), []string{"community_resources"}},
		{"optional assessments are not required", with(func(e *events.CarePlanEstablished) {
			e.CognitiveFunctionalAssessment, e.EnvironmentalEvaluation, e.CaregiverAssessment = "", "", ""
		}), []string{}},
		{"blank texts are absent", with(func(e *events.CarePlanEstablished) { e.SymptomManagement = "  \t" }),
			[]string{"symptom_management"}},
		{"outcome without prognosis", with(func(e *events.CarePlanEstablished) { e.Prognosis = "" }),
			[]string{"expected_outcome_and_prognosis"}},
		{"prognosis without outcome", with(func(e *events.CarePlanEstablished) { e.ExpectedOutcome = "" }),
			[]string{"expected_outcome_and_prognosis"}},
		{"goal without a target is not measurable", with(func(e *events.CarePlanEstablished) { e.Goals[0].Target = "" }),
			[]string{"measurable_treatment_goals"}},
		{"goal without a measure is not measurable", with(func(e *events.CarePlanEstablished) { e.Goals[0].Measure = " " }),
			[]string{"measurable_treatment_goals"}},
		{"one measurable goal is enough", with(func(e *events.CarePlanEstablished) {
			e.Goals = append(e.Goals, events.CarePlanGoal{Description: "feel better"})
		}), []string{}},
		{"an intervention without a responsible person", with(func(e *events.CarePlanEstablished) {
			e.Interventions = append(e.Interventions, events.CarePlanIntervention{Description: "diet review"})
		}), []string{"planned_interventions"}},
		{"no problems, no medications, no review", with(func(e *events.CarePlanEstablished) {
			e.Problems, e.Medications, e.ReviewSchedule = []events.CarePlanProblem{}, nil, events.ReviewSchedule{}
		}), []string{"problem_list", "medication_management", "periodic_review"}},
		{"no coordination, no community resources", with(func(e *events.CarePlanEstablished) {
			e.Coordination, e.CommunityResources = nil, nil
		}), []string{"community_resources", "coordination_with_other_providers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan.Established(tt.given, "ev-1")
			got := p.Missing()
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("Missing: got %#v, want %#v", got, tt.want)
			}
			if p.Complete() != (len(tt.want) == 0) {
				t.Errorf("Complete: got %v, want %v", p.Complete(), len(tt.want) == 0)
			}
		})
	}
}

func TestRevise(t *testing.T) {
	later := t0.Add(48 * time.Hour)
	tests := []struct {
		name        string
		given       events.CarePlanEstablished
		when        events.CarePlanRevised
		then        func(plan.Plan) string // "" when the plan is as wanted
		wantChanged []string
		wantMissing []string
	}{
		{
			name:  "absent elements are unchanged",
			given: complete(),
			when:  events.CarePlanRevised{PlanID: "cp-1", RevisedAt: later, AuthorNPI: "1234567893", SymptomManagement: ptr("Weights twice daily")},
			then: func(p plan.Plan) string {
				if p.SymptomManagement != "Weights twice daily" || len(p.Problems) != 1 || p.Prognosis != "Fair" || !p.Electronic {
					return "want only symptomManagement replaced"
				}
				return ""
			},
			wantChanged: []string{"symptom_management"},
			wantMissing: []string{},
		},
		{
			name:  "a present list replaces the whole element",
			given: complete(),
			when: events.CarePlanRevised{PlanID: "cp-1", RevisedAt: later, AuthorNPI: "1234567893",
				Problems: []events.CarePlanProblem{{Code: "E11.65"}, {Code: "N18.4"}}},
			then: func(p plan.Plan) string {
				if len(p.Problems) != 2 || p.Problems[0].Code != "E11.65" {
					return "want the two new problems only"
				}
				return ""
			},
			wantChanged: []string{"problem_list"},
			wantMissing: []string{},
		},
		{
			name:  "an empty list empties the element and the plan becomes incomplete",
			given: complete(),
			when: events.CarePlanRevised{PlanID: "cp-1", RevisedAt: later, AuthorNPI: "1234567893",
				Goals: []events.CarePlanGoal{}, Electronic: ptr(false)},
			then: func(p plan.Plan) string {
				if len(p.Goals) != 0 || p.Electronic {
					return "want no goals and not electronic"
				}
				return ""
			},
			wantChanged: []string{"electronic", "measurable_treatment_goals"},
			wantMissing: []string{"measurable_treatment_goals"},
		},
		{
			name:  "a revision completes an incomplete plan",
			given: with(func(e *events.CarePlanEstablished) { e.Prognosis, e.ReviewSchedule = "", events.ReviewSchedule{} }),
			when: events.CarePlanRevised{PlanID: "cp-1", RevisedAt: later, AuthorNPI: "1234567893",
				Prognosis: ptr("Good"), ReviewSchedule: &events.ReviewSchedule{IntervalMonths: 6},
				CaregiverAssessment: ptr("Daughter visits daily")},
			then: func(p plan.Plan) string {
				if p.Prognosis != "Good" || p.ReviewSchedule.IntervalMonths != 6 || p.CaregiverAssessment == "" || p.ExpectedOutcome == "" {
					return "want prognosis, review and caregiver assessment set, outcome kept"
				}
				return ""
			},
			wantChanged: []string{"expected_outcome_and_prognosis", "periodic_review", "caregiver_assessment"},
			wantMissing: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := plan.Established(tt.given, "ev-1")
			got := before.Revise(tt.when, "ev-2")
			if msg := tt.then(got); msg != "" {
				t.Errorf("got %+v, %s", got, msg)
			}
			if got.RevisionCount != 1 || len(got.Revisions) != 1 || !got.LastRevisedAt.Equal(later) {
				t.Errorf("got revisionCount %d, lastRevisedAt %v, want 1, %v", got.RevisionCount, got.LastRevisedAt, later)
			}
			r, ok := got.Revision("ev-2")
			if !ok || r.AuthorNPI != "1234567893" || !slices.Equal(r.Elements, tt.wantChanged) || !slices.Equal(r.MissingElements, tt.wantMissing) {
				t.Errorf("revision: got %+v, %v, want elements %v and missing %v", r, ok, tt.wantChanged, tt.wantMissing)
			}
			if !slices.Equal(got.Missing(), tt.wantMissing) {
				t.Errorf("Missing: got %v, want %v", got.Missing(), tt.wantMissing)
			}
			if before.RevisionCount != 0 || len(before.Revisions) != 0 {
				t.Errorf("the receiver changed: got %d revisions, want 0", len(before.Revisions))
			}
		})
	}
}

func TestChangedElements(t *testing.T) {
	if got := plan.ChangedElements(events.CarePlanRevised{PlanID: "cp-1"}); got == nil || len(got) != 0 {
		t.Errorf("no element: got %#v, want empty", got)
	}
	all := events.CarePlanRevised{
		Electronic: ptr(true), Problems: []events.CarePlanProblem{}, ExpectedOutcome: ptr(""), Prognosis: ptr(""),
		Goals: []events.CarePlanGoal{}, SymptomManagement: ptr(""), Interventions: []events.CarePlanIntervention{},
		Medications: []events.Medication{}, CommunityResources: []events.CommunityResource{},
		Coordination: []events.CoordinationContact{}, ReviewSchedule: &events.ReviewSchedule{},
		CognitiveFunctionalAssessment: ptr(""), EnvironmentalEvaluation: ptr(""), CaregiverAssessment: ptr(""),
	}
	want := append(append([]string{"electronic"}, plan.RequiredElements...), plan.OptionalElements...)
	if got := plan.ChangedElements(all); !slices.Equal(got, want) {
		t.Errorf("every element: got %v, want %v", got, want)
	}
}

// The revision contract of events.CarePlanRevised survives the wire: an
// element sent as [] empties, an absent one is unchanged.
func TestReviseFromJSON(t *testing.T) {
	var r events.CarePlanRevised
	if err := json.Unmarshal([]byte(`{"planId":"cp-1","revisedAt":"2025-03-05T10:00:00Z","authorNpi":"1234567893","medications":[]}`), &r); err != nil {
		t.Fatal(err)
	}
	got := plan.Established(complete(), "ev-1").Revise(r, "ev-2")
	if len(got.Medications) != 0 || len(got.Goals) != 1 {
		t.Errorf("got %d medications and %d goals, want 0 and 1", len(got.Medications), len(got.Goals))
	}
}

func TestCopiesAndEvidence(t *testing.T) {
	p := plan.Established(complete(), "ev-1")
	a := p.WithCopy(events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: t0.Add(time.Hour), To: "patient", Method: "portal"}, "ev-2")
	b := a.Revise(events.CarePlanRevised{PlanID: "cp-1", RevisedAt: t0.Add(2 * time.Hour), Prognosis: ptr("Good")}, "ev-3")
	c := b.WithCopy(events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: t0.Add(3 * time.Hour), To: "caregiver", Method: "paper"}, "ev-4")
	// a branch from b must not show up in c (no shared backing arrays).
	_ = b.WithCopy(events.CarePlanCopyProvided{PlanID: "cp-1", To: "patient", Method: "mail"}, "ev-x")

	if len(p.Copies) != 0 || len(a.Copies) != 1 || len(c.Copies) != 2 {
		t.Fatalf("got copies %d, %d, %d, want 0, 1, 2", len(p.Copies), len(a.Copies), len(c.Copies))
	}
	if got := c.Copies[1]; got.To != "caregiver" || got.Method != "paper" || got.EventID != "ev-4" || !got.ProvidedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("got copy %+v, want caregiver/paper/ev-4", got)
	}
	if got, want := c.Evidence(), []string{"ev-1", "ev-3", "ev-2", "ev-4"}; !slices.Equal(got, want) {
		t.Errorf("Evidence: got %v, want %v", got, want)
	}
}

func TestEstablishedListsAreNeverNil(t *testing.T) {
	b, err := json.Marshal(plan.Established(events.CarePlanEstablished{ID: "cp-1"}, "ev-1"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"problems", "goals", "interventions", "medications", "communityResources", "coordination", "revisions", "copies"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s: got %v, want []", k, m[k])
		}
	}
}

func TestEstablishedDoesNotAliasTheEvent(t *testing.T) {
	e := complete()
	p := plan.Established(e, "ev-1")
	e.Problems[0].Code = "Z00.00"
	if p.Problems[0].Code != "I50.22" {
		t.Errorf("got %s, want the plan unchanged by a later change to the event", p.Problems[0].Code)
	}
}

func TestHasUnknownElement(t *testing.T) {
	if plan.Established(complete(), "ev-1").Has("no_such_element") {
		t.Error("got true, want false for an unknown element")
	}
}

// billingCarePlanElements is services/billing/rules.CarePlanElements, which
// must list the same names as RequiredElements (billing cannot import this
// package's module, nor this one billing's). Change both together.
var billingCarePlanElements = []string{
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

func TestRequiredElementsMatchBilling(t *testing.T) {
	if !slices.Equal(plan.RequiredElements, billingCarePlanElements) {
		t.Errorf("got %v, want billing's list %v", plan.RequiredElements, billingCarePlanElements)
	}
	if got := plan.RequiredFor("comprehensive"); !slices.Equal(got, plan.RequiredElements) {
		t.Errorf("RequiredFor(comprehensive): got %v, want %v", got, plan.RequiredElements)
	}
}
