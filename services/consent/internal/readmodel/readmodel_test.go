package readmodel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/services/consent/internal/readmodel"
)

const npiA, npiB = "1234567893", "1987654328"

func rec(seq uint64, id string, typ events.Type, stream string, payload any) eventlog.Record {
	data, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return eventlog.Record{Sequence: seq, Envelope: events.Envelope{ID: id, Type: typ, Version: 1, Stream: stream,
		RecordedAt: time.Date(2025, 3, 14, 15, 0, 0, int(seq), time.UTC), Data: data}}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// history is a patient's log with events of every service.
func history() []eventlog.Record {
	p := events.PatientStream("p-1")
	return []eventlog.Record{
		rec(1, "practice-1", events.TypePracticeConfigured, events.PracticeStream, events.PracticeConfigured{Name: "P", Timezone: "America/Chicago", BillingNPI: npiA, TaxID: "123456789", Policy: json.RawMessage(`{"afterRevocation":"exclude"}`)}),
		rec(2, "practitioner-b", events.TypePractitionerRegistered, events.PracticeStream, events.PractitionerRegistered{NPI: npiB, Name: "B", Kind: "np", Credential: "NP"}),
		rec(3, "practitioner-a", events.TypePractitionerRegistered, events.PracticeStream, events.PractitionerRegistered{NPI: npiA, Name: "A", Kind: "physician", Credential: "MD"}),
		rec(4, "patient-p-1", events.TypePatientEnrolled, p, events.PatientEnrolled{ID: "p-1", MRN: "M1", Name: events.PersonName{Given: "Ada", Family: "L"}, BirthDate: "1950-02-03", MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA}),
		rec(5, "condition-1", events.TypeConditionRecorded, p, events.ConditionRecorded{Code: "I50.22", Description: "HF", ExpectedDurationMonths: 120, SignificantRisk: true}),
		rec(6, "condition-2", events.TypeConditionRecorded, p, events.ConditionRecorded{Code: "E11.65", Description: "DM", ExpectedDurationMonths: 6, SignificantRisk: true}),
		rec(7, "consent-c-1", events.TypeConsentGranted, p, events.ConsentGranted{ID: "c-1", Program: "ccm", PractitionerNPI: npiA, Method: "verbal", ObtainedAt: at("2025-01-10T10:00:00-06:00"), ObtainedBy: "RN", Disclosures: []string{"right_to_stop", "availability_and_cost_sharing"}}),
		rec(8, "consent-c-2", events.TypeConsentDeclined, p, events.ConsentDeclined{ID: "c-2", Program: "pcm", PractitionerNPI: npiB, Method: "written", ObtainedAt: at("2025-01-11T10:00:00-06:00"), ObtainedBy: "RN", Disclosures: []string{}}),
		rec(9, "careplan-1", events.TypeCarePlanEstablished, p, events.CarePlanEstablished{ID: "cp-1", Kind: "comprehensive", EstablishedAt: at("2025-01-12T10:00:00-06:00"), AuthorNPI: npiA, Electronic: true}),
		rec(10, "t-1", events.TypeTimeRecorded, p, events.TimeRecorded{ID: "t-1", PatientID: "p-1"}),
		rec(11, "copy-1", events.TypeCarePlanCopyProvided, p, events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: at("2025-01-13T10:00:00-06:00"), To: "patient", Method: "portal"}),
		rec(12, "rev-1", events.TypeCarePlanRevised, p, events.CarePlanRevised{PlanID: "cp-1", RevisedAt: at("2025-02-01T10:00:00-06:00"), AuthorNPI: npiA, SymptomManagement: new("rest")}),
		rec(13, "cx-2", events.TypeComplexityRecorded, p, events.ComplexityRecorded{Month: "2025-02", Level: "high", PractitionerNPI: npiA, DecidedAt: at("2025-02-20T10:00:00-06:00")}),
		rec(14, "cx-1", events.TypeComplexityRecorded, p, events.ComplexityRecorded{Month: "2025-01", Level: "moderate", PractitionerNPI: npiA, DecidedAt: at("2025-01-20T10:00:00-06:00")}),
		rec(15, "enc-2", events.TypeEncounterRecorded, p, events.EncounterRecorded{ID: "e-2", Kind: "office_visit", Start: at("2025-02-01T09:00:00-06:00")}),
		rec(16, "enc-1", events.TypeEncounterRecorded, p, events.EncounterRecorded{ID: "e-1", Kind: "annual_wellness_visit", Start: at("2025-01-01T09:00:00-06:00"), CCMDiscussed: true}),
		rec(17, "ext-1", events.TypeExternalClaimRecorded, p, events.ExternalClaimRecorded{Code: "99490", PractitionerNPI: npiB, ServiceMonth: "2024-12"}),
		// 1 April 03:00 UTC is 31 March in Chicago: effective through 31 March (K7, T12).
		rec(18, "revocation-c-1", events.TypeConsentRevoked, p, events.ConsentRevoked{ConsentID: "c-1", RevokedAt: at("2025-04-01T03:00:00Z"), RecordedBy: "RN"}),
		rec(19, "died-1", events.TypePatientDied, p, events.PatientDied{DeceasedDate: "2025-04-02"}),
		rec(20, "batch-1", events.TypeClaimBatchClosed, events.BatchStream("2025-01"), events.ClaimBatchClosed{ID: "b-1"}),
	}
}

func build(t *testing.T, recs []eventlog.Record) *readmodel.Store {
	t.Helper()
	s := readmodel.New()
	for _, r := range recs {
		if err := s.Apply(context.Background(), r); err != nil {
			t.Fatalf("Apply %s: %v", r.ID, err)
		}
	}
	return s
}

func TestSummary(t *testing.T) {
	s := build(t, history())
	sum, ok := s.Patient("p-1")
	if !ok {
		t.Fatal("got no summary, want p-1")
	}
	if sum.EventID != "patient-p-1" || sum.Sequence != 4 || sum.AsOfSequence != 19 || sum.Deceased == nil || sum.Deceased.Date != "2025-04-02" || sum.Deceased.Sequence != 19 {
		t.Errorf("patient: got %+v, want enrolled at 4, deceased 2025-04-02 by 19, as of 19", sum)
	}
	if len(sum.Conditions) != 2 || !sum.Conditions[0].QualifiesCCM || sum.Conditions[1].QualifiesCCM || !sum.Conditions[1].QualifiesPCM {
		t.Errorf("conditions: got %+v, want I50.22 CCM-qualifying and E11.65 PCM-only", sum.Conditions)
	}
	if e := sum.Eligibility; e.CCMCount != 1 || e.CCM || e.PCMCount != 2 || !e.PCM {
		t.Errorf("eligibility: got %+v, want 1 CCM (not eligible), 2 PCM", e)
	}
	if len(sum.Consents) != 2 {
		t.Fatalf("consents: got %d, want 2", len(sum.Consents))
	}
	c1, c2 := sum.Consents[0], sum.Consents[1]
	if c1.Status != readmodel.StatusRevoked || c1.Decision != "accepted" || !c1.ForBillingPractitioner || c1.Revocation == nil ||
		c1.Revocation.EffectiveThrough != "2025-03-31" || c1.Revocation.Sequence != 18 ||
		!reflect.DeepEqual(c1.MissingDisclosures, []string{"one_practitioner_per_month"}) {
		t.Errorf("consent c-1: got %+v (revocation %+v), want revoked through 2025-03-31, missing one_practitioner_per_month", c1, c1.Revocation)
	}
	if c2.Status != readmodel.StatusDeclined || c2.Decision != "declined" || c2.ForBillingPractitioner || len(c2.MissingDisclosures) != 3 {
		t.Errorf("consent c-2: got %+v, want declined, for another practitioner, missing all three", c2)
	}
	if len(sum.CarePlans) != 1 {
		t.Fatalf("care plans: got %d, want 1", len(sum.CarePlans))
	}
	cp := sum.CarePlans[0]
	if cp.ID != "cp-1" || cp.Sequence != 9 || len(cp.Copies) != 1 || cp.Copies[0].Sequence != 11 || len(cp.Revisions) != 1 ||
		cp.Revisions[0].Sequence != 12 || cp.SymptomManagement != "rest" || cp.Complete || len(cp.Missing) == 0 {
		t.Errorf("care plan: got %+v, want cp-1 revised at 12 with a copy at 11, incomplete", cp)
	}
	if len(sum.Complexity) != 2 || sum.Complexity[0].Month != "2025-01" || sum.Complexity[1].Month != "2025-02" {
		t.Errorf("complexity: got %+v, want sorted by month", sum.Complexity)
	}
	if len(sum.Encounters) != 2 || sum.Encounters[0].ID != "e-1" || sum.Encounters[0].Sequence != 16 {
		t.Errorf("encounters: got %+v, want sorted by start", sum.Encounters)
	}
	if len(sum.ExternalClaims) != 1 || sum.ExternalClaims[0].EventID != "ext-1" {
		t.Errorf("external claims: got %+v, want ext-1", sum.ExternalClaims)
	}

	pr, ok := s.Practice()
	if !ok || pr.EventID != "practice-1" || pr.Sequence != 1 || pr.Timezone != "America/Chicago" {
		t.Errorf("practice: got %+v, %v, want practice-1", pr, ok)
	}
	ps := s.Practitioners()
	if len(ps) != 2 || ps[0].NPI != npiA || ps[1].NPI != npiB || ps[0].Sequence != 3 {
		t.Errorf("practitioners: got %+v, want A then B (sorted by NPI)", ps)
	}
	if _, ok := s.Patient("p-2"); ok {
		t.Error("got a summary for p-2, want none")
	}
}

func TestSummaryDeterministic(t *testing.T) {
	a, _ := build(t, history()).Patient("p-1")
	b, _ := build(t, history()).Patient("p-1")
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("got different JSON for the same log:\n%s\n%s", ja, jb)
	}
	for _, key := range []string{`"conditions":[`, `"eligibility":{`, `"consents":[`, `"carePlans":[`, `"complexity":[`, `"encounters":[`, `"externalClaims":[`, `"missingDisclosures":[`} {
		if !bytes.Contains(ja, []byte(key)) {
			t.Errorf("got %s, want it to contain %s", ja, key)
		}
	}
}

func TestSummaryIsACopy(t *testing.T) {
	recs := history()
	s := build(t, recs[:8])
	before, _ := s.Patient("p-1")
	for _, r := range recs[8:] {
		s.Apply(context.Background(), r)
	}
	if len(before.Consents) != 2 || before.Consents[0].Status != readmodel.StatusGranted || before.Consents[0].Revocation != nil {
		t.Errorf("got %+v, want the earlier summary unchanged by later events", before.Consents[0])
	}
}

func TestEmptyPatientLists(t *testing.T) {
	s := build(t, history()[3:4])
	sum, _ := s.Patient("p-1")
	b, _ := json.Marshal(sum)
	for _, key := range []string{`"conditions":[]`, `"consents":[]`, `"carePlans":[]`, `"complexity":[]`, `"encounters":[]`, `"externalClaims":[]`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("got %s, want %s", b, key)
		}
	}
	if bytes.Contains(b, []byte(`"deceased"`)) {
		t.Errorf("got %s, want no deceased", b)
	}
	// The revocation before any practice configuration reads the month in
	// revokedAt's own offset.
	if _, ok := s.Practice(); ok {
		t.Error("got a practice, want none")
	}
}
