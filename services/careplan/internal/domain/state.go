// Package domain holds the care-plan service's rules: the patient-stream
// state it decides on (State, folded by Evolve) and the decide functions that
// validate the four commands (Establish, Revise, ProvideCopy,
// RecordComplexity) against it (ccm-rules §5 CP1–CP3, CP11; §3 T11).
//
// It is pure: no I/O, no clock, no random ids. The time of the decision
// ("now") and every id are parameters. Decide functions only validate: they
// never change the payload, so that a retried command is recognized by it
// (pkg/command). Evolve never validates and never fails.
package domain

import (
	"maps"
	"slices"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/careplan/plan"
)

// State is what the care-plan service knows of one patient's stream.
//
// A State is a value that Evolve never modifies in place: it returns a new
// State with fresh maps where anything changed, so a State handed to a reader
// stays as it was while the stream advances (pkg/command caches states).
type State struct {
	// Enrolled: the stream holds a patient.enrolled event.
	Enrolled bool
	// Plans by plan id, with revisions and copies applied.
	Plans map[string]plan.Plan
	// PlanIDs lists the plan ids in the order they were established.
	PlanIDs []string
	// Complexity lists the medical decision making recorded per service
	// month (YYYY-MM), in log order (T11).
	Complexity map[string][]Complexity
}

// Complexity is one recorded medical decision making level (T11).
type Complexity struct {
	Month           string    `json:"month"`
	Level           string    `json:"level"`
	PractitionerNPI string    `json:"practitionerNpi"`
	DecidedAt       time.Time `json:"decidedAt"`
	EventID         string    `json:"eventId"`
}

// Initial returns the state of an empty stream.
func Initial() State {
	return State{Plans: map[string]plan.Plan{}, Complexity: map[string][]Complexity{}}
}

// Plan returns the plan with id.
func (s State) Plan(id string) (plan.Plan, bool) {
	p, ok := s.Plans[id]
	return p, ok
}

// Evolve applies one stored event of the patient's stream. Events of other
// types (consents, time entries, …) are ignored, and so is a payload that
// does not decode: it was validated when written, and applying an event
// never fails (STYLE.md rule 9).
func Evolve(s State, rec eventlog.Record) State {
	switch rec.Type {
	case events.TypePatientEnrolled:
		s.Enrolled = true
	case events.TypeCarePlanEstablished:
		// A second establishment of an id cannot be decided (Establish
		// refuses it); should one be in the log, the first plan stands.
		if e, ok := decode[events.CarePlanEstablished](rec); ok {
			if _, exists := s.Plans[e.ID]; !exists {
				s.Plans = clone(s.Plans)
				s.Plans[e.ID] = plan.Established(e, rec.ID)
				s.PlanIDs = append(slices.Clip(s.PlanIDs), e.ID)
			}
		}
	case events.TypeCarePlanRevised:
		if e, ok := decode[events.CarePlanRevised](rec); ok {
			if p, exists := s.Plans[e.PlanID]; exists {
				s.Plans = clone(s.Plans)
				s.Plans[e.PlanID] = p.Revise(e, rec.ID)
			}
		}
	case events.TypeCarePlanCopyProvided:
		if e, ok := decode[events.CarePlanCopyProvided](rec); ok {
			if p, exists := s.Plans[e.PlanID]; exists {
				s.Plans = clone(s.Plans)
				s.Plans[e.PlanID] = p.WithCopy(e, rec.ID)
			}
		}
	case events.TypeComplexityRecorded:
		if e, ok := decode[events.ComplexityRecorded](rec); ok {
			s.Complexity = clone(s.Complexity)
			s.Complexity[e.Month] = append(slices.Clip(s.Complexity[e.Month]), Complexity{
				Month: e.Month, Level: e.Level, PractitionerNPI: e.PractitionerNPI, DecidedAt: e.DecidedAt, EventID: rec.ID,
			})
		}
	}
	return s
}

// decode upcasts the record to the latest version of its type and decodes
// the payload (events.Registry.Decode).
func decode[T any](rec eventlog.Record) (T, bool) {
	var zero T
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return zero, false
	}
	p, ok := v.(*T)
	if !ok {
		return zero, false
	}
	return *p, true
}

// clone returns a copy of m that is never nil, so that a zero State evolves
// as well as Initial's.
func clone[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return maps.Clone(m)
}
