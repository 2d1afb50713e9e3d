// Package billingtest holds clinical fixtures the billing tests share: the
// payloads of a CCM-ready patient's documentation, with the values the
// tests' expectations rely on. It is for tests only.
package billingtest

import (
	"time"

	"github.com/carelog/carelog/events"
)

// Disclosures are the three consent disclosures K3 requires.
var Disclosures = []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"}

// CompletePlan is a comprehensive, electronic care plan for heart failure
// carrying every required element of CP2 (one problem, a measurable goal,
// an intervention with who is responsible, medications, community
// resources, coordination and a three-monthly review).
func CompletePlan(id, authorNPI string, established time.Time) events.CarePlanEstablished {
	return events.CarePlanEstablished{
		ID: id, Kind: "comprehensive", EstablishedAt: established, AuthorNPI: authorNPI, Electronic: true,
		Problems:        []events.CarePlanProblem{{Code: "I50.22", Description: "HF"}},
		ExpectedOutcome: "stable", Prognosis: "fair",
		Goals:              []events.CarePlanGoal{{ConditionCode: "I50.22", Description: "weight", Measure: "kg", Target: "< 80"}},
		SymptomManagement:  "daily weights",
		Interventions:      []events.CarePlanIntervention{{Description: "calls", Responsible: events.ResponsibleParty{Name: "RN Jo", Role: "rn"}}},
		Medications:        []events.Medication{{Name: "Metformin", Dose: "500 mg", Frequency: "bid"}},
		CommunityResources: []events.CommunityResource{{Name: "Meals", Purpose: "food"}},
		Coordination:       []events.CoordinationContact{{Name: "Dr. Heart", Role: "cardiology", Purpose: "HF"}},
		ReviewSchedule:     events.ReviewSchedule{IntervalMonths: 3},
	}
}
