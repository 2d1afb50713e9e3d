package facts

import (
	"encoding/json"
	"maps"
	"time"
	// Practice time zones must load without the host's zoneinfo files.
	_ "time/tzdata"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/billing/rules"
)

// Practice is the practice stream folded: the billing location's time zone
// (which decides the calendar month of every minute, T12, A9), the §8
// policy, the billing NPI and the registered practitioners by NPI.
//
// It is a value: Apply returns a new Practice and never modifies the maps of
// the receiver, so a Practice handed to a reader stays as it was.
type Practice struct {
	Name     string
	Timezone string
	// Location is Timezone loaded; UTC while the practice is not configured
	// or when the zone is unknown.
	Location   *time.Location
	Policy     rules.Policy
	BillingNPI string
	// Practitioners maps an NPI to its kind (physician, np, pa, cns, cnm).
	Practitioners map[string]rules.PractitionerKind
	// Seq is the sequence of the last practice event applied (0: none).
	Seq uint64
}

// NewPractice returns the practice before any event: UTC, default policy.
func NewPractice() Practice {
	return Practice{Location: time.UTC, Practitioners: map[string]rules.PractitionerKind{}}
}

// Apply folds one practice-stream event and reports whether billing reads
// it (practice.configured, practitioner.registered). A practice.configured
// replaces the whole configuration; a policy that does not decode leaves the
// previous policy (the consent service stores only valid policies).
func (p Practice) Apply(rec eventlog.Record) (Practice, bool) {
	if p.Location == nil {
		p.Location = time.UTC
	}
	switch rec.Type {
	case events.TypePracticeConfigured:
		var e events.PracticeConfigured
		if !decode(rec, &e) {
			return p, false
		}
		p.Name, p.Timezone, p.BillingNPI = e.Name, e.Timezone, e.BillingNPI
		p.Location = loadLocation(e.Timezone)
		var pol rules.Policy
		if len(e.Policy) == 0 || json.Unmarshal(e.Policy, &pol) == nil {
			p.Policy = pol
		}
	case events.TypePractitionerRegistered:
		var e events.PractitionerRegistered
		if !decode(rec, &e) {
			return p, false
		}
		m := maps.Clone(p.Practitioners)
		if m == nil {
			m = map[string]rules.PractitionerKind{}
		}
		m[e.NPI] = rules.PractitionerKind(e.Kind)
		p.Practitioners = m
	default:
		return p, false
	}
	p.Seq = rec.Sequence
	return p, true
}

// Kind returns the kind of the practitioner with npi ("" when unknown).
func (p Practice) Kind(npi string) rules.PractitionerKind { return p.Practitioners[npi] }

// loadLocation loads an IANA zone; "" and unknown names are UTC.
func loadLocation(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// PracticeHistory keeps every version of the practice with the sequence it
// took effect at, so a month can be evaluated with the practice as it stood
// at an earlier sequence. Practice events are few (settings and
// practitioners), so the history is small.
type PracticeHistory struct {
	versions []Practice
}

// Add records p (apply in log order).
func (h *PracticeHistory) Add(p Practice) { h.versions = append(h.versions, p) }

// At returns the practice as of sequence seq: the last version with
// Seq <= seq, or NewPractice when there is none.
func (h *PracticeHistory) At(seq uint64) Practice {
	for i := len(h.versions) - 1; i >= 0; i-- {
		if h.versions[i].Seq <= seq {
			return h.versions[i]
		}
	}
	return NewPractice()
}
