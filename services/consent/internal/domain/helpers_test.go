package domain

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
)

// now is the pinned clock of every domain test.
var now = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

const (
	npiA     = "1234567893" // registered in practiceWithA
	npiB     = "1987654328" // valid, registered only where a test says so
	npiBad   = "1234567890" // wrong check digit
	patient1 = "p-1"
)

// rec builds a stored event of the given type and payload at sequence seq.
func rec(seq uint64, id string, typ events.Type, stream string, payload any) eventlog.Record {
	data, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return eventlog.Record{Sequence: seq, Envelope: events.Envelope{ID: id, Type: typ, Version: 1, Stream: stream, Data: data}}
}

func givenPatient(recs ...eventlog.Record) Patient {
	var s Patient
	for _, r := range recs {
		s = EvolvePatient(s, r)
	}
	return s
}

func givenPractice(recs ...eventlog.Record) Practice {
	var s Practice
	for _, r := range recs {
		s = EvolvePractice(s, r)
	}
	return s
}

func registered(seq uint64, npi string) eventlog.Record {
	return rec(seq, "practitioner-"+npi, events.TypePractitionerRegistered, events.PracticeStream,
		events.PractitionerRegistered{NPI: npi, Name: "Dr A", Kind: "physician", Credential: "MD"})
}

// practiceWithA has npiA registered.
var practiceWithA = givenPractice(registered(1, npiA))

func enrolled(seq uint64) eventlog.Record {
	return rec(seq, "patient-"+patient1, events.TypePatientEnrolled, events.PatientStream(patient1), events.PatientEnrolled{
		ID: patient1, MRN: "M1", Name: events.PersonName{Given: "Ada", Family: "Lovelace"}, BirthDate: "1950-02-03",
		MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA})
}

func died(seq uint64, date string) eventlog.Record {
	return rec(seq, "died-1", events.TypePatientDied, events.PatientStream(patient1), events.PatientDied{DeceasedDate: date})
}

func granted(seq uint64, id, obtainedAt string) eventlog.Record {
	return rec(seq, "consent-"+id, events.TypeConsentGranted, events.PatientStream(patient1), events.ConsentGranted{
		ID: id, Program: "ccm", PractitionerNPI: npiA, Method: "verbal", ObtainedAt: mustTime(obtainedAt), ObtainedBy: "RN Jo",
		Disclosures: []string{DisclosureAvailabilityAndCostSharing, DisclosureOnePractitionerPerMonth, DisclosureRightToStop}})
}

func declined(seq uint64, id, obtainedAt string) eventlog.Record {
	return rec(seq, "consent-"+id, events.TypeConsentDeclined, events.PatientStream(patient1), events.ConsentDeclined{
		ID: id, Program: "ccm", PractitionerNPI: npiA, Method: "verbal", ObtainedAt: mustTime(obtainedAt), ObtainedBy: "RN Jo",
		Disclosures: []string{}})
}

func revoked(seq uint64, id, at string) eventlog.Record {
	return rec(seq, "revocation-"+id, events.TypeConsentRevoked, events.PatientStream(patient1), events.ConsentRevoked{
		ConsentID: id, RevokedAt: mustTime(at), RecordedBy: "RN Jo"})
}

func condition(seq uint64, code string, months int, risk bool) eventlog.Record {
	return rec(seq, "condition-"+code, events.TypeConditionRecorded, events.PatientStream(patient1), events.ConditionRecorded{
		Code: code, Description: "d", ExpectedDurationMonths: months, SignificantRisk: risk})
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// checkErr fails unless err has the wanted kind and field; a wanted kind of
// "" means no error.
func checkErr(t *testing.T, err error, kind errs.Kind, field string) {
	t.Helper()
	if kind == "" {
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %s (field %q)", kind, field)
	}
	k, f, msg := errs.Public(err)
	if k != kind || f != field {
		t.Fatalf("got %s (field %q): %s, want %s (field %q)", k, f, msg, kind, field)
	}
}

func ptr[T any](v T) *T { return &v }
