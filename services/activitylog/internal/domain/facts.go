package domain

import (
	"slices"
	"strings"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
)

// EncounterInput is the body of POST /v1/patients/{id}/encounters.
type EncounterInput struct {
	// ID is the client's encounter id; absent, the server derives one from
	// the Idempotency-Key or chooses one.
	ID   string `json:"id,omitempty"`
	Kind string `json:"kind"`
	// Code is the billed CPT/HCPCS code of a visit ("99214", "G0438").
	Code            string `json:"code,omitempty"`
	PractitionerNPI string `json:"practitionerNpi,omitempty"`
	// Start and End are RFC 3339 with the offset; End is optional (an open
	// stay).
	Start        string `json:"start"`
	End          string `json:"end,omitempty"`
	TimeBased    bool   `json:"timeBased,omitempty"`
	CCMDiscussed bool   `json:"ccmDiscussed,omitempty"`
	G0506        bool   `json:"g0506,omitempty"`
}

// Encounter validates an encounter (id is the encounter id the handler
// settled on: the client's, or one derived from the Idempotency-Key) and
// returns the encounter.recorded payload. Rules: kind from EncounterKinds;
// code, when sent, a CPT/HCPCS code; practitionerNpi, when sent, a valid
// NPI; start RFC 3339 with an offset and not in the future; end, when sent,
// after start and not in the future; timeBased, ccmDiscussed and g0506
// describe visits and are refused on stays.
func (r Rules) Encounter(id string, in EncounterInput, now time.Time) (events.EncounterRecorded, error) {
	const op = "activitylog.Encounter"
	if len(id) > MaxEncounterID || !events.ValidID(id) {
		return events.EncounterRecorded{}, errs.Field(op, "id", "must be 1 to %d letters, digits, '-', '_' or ':', starting with a letter or digit", MaxEncounterID)
	}
	if err := oneOf("kind", in.Kind, EncounterKinds); err != nil {
		return events.EncounterRecorded{}, err
	}
	if in.Code != "" && !ValidProcedureCode(in.Code) {
		return events.EncounterRecorded{}, errs.Field(op, "code", "must be a CPT or HCPCS code (5 characters, e.g. 99214 or G0438)")
	}
	if in.PractitionerNPI != "" && !ValidNPI(in.PractitionerNPI) {
		return events.EncounterRecorded{}, errs.Field(op, "practitionerNpi", "must be a 10-digit NPI with a valid check digit")
	}
	start, err := parseInstant("start", in.Start)
	if err != nil {
		return events.EncounterRecorded{}, err
	}
	latest := now.Add(r.ClockSkew)
	if start.After(latest) {
		return events.EncounterRecorded{}, errs.Field(op, "start", "must not be in the future")
	}
	var end *time.Time
	if in.End != "" {
		t, err := parseInstant("end", in.End)
		if err != nil {
			return events.EncounterRecorded{}, err
		}
		if !t.After(start) {
			return events.EncounterRecorded{}, errs.Field(op, "end", "must be after start")
		}
		if t.After(latest) {
			return events.EncounterRecorded{}, errs.Field(op, "end", "must not be in the future")
		}
		end = &t
	}
	if slices.Contains(StayKinds, in.Kind) {
		for _, f := range []struct {
			name string
			set  bool
		}{{"timeBased", in.TimeBased}, {"ccmDiscussed", in.CCMDiscussed}, {"g0506", in.G0506}} {
			if f.set {
				return events.EncounterRecorded{}, errs.Field(op, f.name, "applies to visits (%s), not to stays", strings.Join(VisitKinds, ", "))
			}
		}
	}
	return events.EncounterRecorded{
		ID: id, Kind: in.Kind, Code: in.Code, PractitionerNPI: in.PractitionerNPI, Start: start, End: end,
		TimeBased: in.TimeBased, CCMDiscussed: in.CCMDiscussed, G0506: in.G0506,
	}, nil
}

// ExternalClaimInput is the body of POST /v1/patients/{id}/external-claims.
type ExternalClaimInput struct {
	Code            string `json:"code"`
	PractitionerNPI string `json:"practitionerNpi"`
	// ServiceMonth is YYYY-MM, DateOfService YYYY-MM-DD within it.
	ServiceMonth  string `json:"serviceMonth"`
	DateOfService string `json:"dateOfService,omitempty"`
	Status        string `json:"status,omitempty"`
}

// ExternalClaim validates a service billed outside Carelog and returns the
// external_claim.recorded payload. Rules: code a CPT/HCPCS code;
// practitionerNpi a valid NPI (the same-month exclusions of ccm-rules.md §2
// depend on who billed); serviceMonth YYYY-MM and not after the current
// month; dateOfService, when sent, a date within serviceMonth and not in the
// future; status, when sent, short text (api/contract.md lists no values),
// stored in lower case as the billing rules compare it.
func (r Rules) ExternalClaim(in ExternalClaimInput, now time.Time) (events.ExternalClaimRecorded, error) {
	const op = "activitylog.ExternalClaim"
	if in.Code == "" {
		return events.ExternalClaimRecorded{}, errs.Field(op, "code", "is required")
	}
	if !ValidProcedureCode(in.Code) {
		return events.ExternalClaimRecorded{}, errs.Field(op, "code", "must be a CPT or HCPCS code (5 characters, e.g. 99490 or G0181)")
	}
	if in.PractitionerNPI == "" {
		return events.ExternalClaimRecorded{}, errs.Field(op, "practitionerNpi", "is required: who billed the service")
	}
	if !ValidNPI(in.PractitionerNPI) {
		return events.ExternalClaimRecorded{}, errs.Field(op, "practitionerNpi", "must be a 10-digit NPI with a valid check digit")
	}
	month, err := ParseMonth("serviceMonth", in.ServiceMonth)
	if err != nil {
		return events.ExternalClaimRecorded{}, err
	}
	// The latest month anywhere on Earth: a claim for next month cannot exist.
	latest := now.Add(r.ClockSkew).Add(14 * time.Hour).UTC()
	if month.After(time.Date(latest.Year(), latest.Month(), 1, 0, 0, 0, 0, time.UTC)) {
		return events.ExternalClaimRecorded{}, errs.Field(op, "serviceMonth", "must not be after the current month")
	}
	if in.DateOfService != "" {
		d, err := time.Parse(time.DateOnly, in.DateOfService)
		if err != nil {
			return events.ExternalClaimRecorded{}, errs.Field(op, "dateOfService", "must be a date YYYY-MM-DD")
		}
		if d.Year() != month.Year() || d.Month() != month.Month() {
			return events.ExternalClaimRecorded{}, errs.Field(op, "dateOfService", "must fall within serviceMonth")
		}
		if d.After(latest) {
			return events.ExternalClaimRecorded{}, errs.Field(op, "dateOfService", "must not be in the future")
		}
	}
	if in.Status != "" {
		if err := checkText("status", in.Status, MaxClaimStatus); err != nil {
			return events.ExternalClaimRecorded{}, err
		}
		in.Status = strings.ToLower(strings.TrimSpace(in.Status))
	}
	return events.ExternalClaimRecorded{
		Code: in.Code, PractitionerNPI: in.PractitionerNPI, ServiceMonth: in.ServiceMonth,
		DateOfService: in.DateOfService, Status: in.Status,
	}, nil
}

// ClaimOccurredAt is when the claimed service happened as far as the claim
// says: its date of service, else the first day of its month (UTC midnight,
// a date rather than an instant).
func ClaimOccurredAt(c events.ExternalClaimRecorded) time.Time {
	if d, err := time.Parse(time.DateOnly, c.DateOfService); err == nil {
		return d
	}
	m, _ := time.Parse("2006-01", c.ServiceMonth)
	return m
}

// ParseMonth parses a service month "YYYY-MM" (returned as the first day,
// UTC), naming field in the error.
func ParseMonth(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errs.Field("activitylog", field, "is required (YYYY-MM)")
	}
	m, err := time.Parse("2006-01", s)
	if err != nil || m.Year() < 1900 {
		return time.Time{}, errs.Field("activitylog", field, "must be a month YYYY-MM")
	}
	return m, nil
}
