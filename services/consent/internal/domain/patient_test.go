package domain

import (
	"reflect"
	"strings"
	"testing"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
)

func TestEnrollPatient(t *testing.T) {
	valid := Enrollment{ID: patient1, MRN: "M1", Name: events.PersonName{Given: "Ada", Family: "Lovelace"}, BirthDate: "1950-02-03",
		MBI: "1EG4TE5MK73", BillingPractitionerNPI: npiA}
	with := func(f func(*Enrollment)) Enrollment { in := valid; f(&in); return in }
	tests := []struct {
		name      string
		given     []eventlog.Record
		practice  Practice
		in        Enrollment
		wantKind  errs.Kind
		wantField string
	}{
		{name: "valid", practice: practiceWithA, in: valid},
		{name: "server-chosen id", practice: practiceWithA, in: with(func(in *Enrollment) { in.ID = "" })},
		{name: "deceased at enrolment", practice: practiceWithA, in: with(func(in *Enrollment) { in.DeceasedDate = "2025-03-01" })},
		{name: "born today", practice: practiceWithA, in: with(func(in *Enrollment) { in.BirthDate = "2025-03-14" })},
		{name: "client id with a dot", practice: practiceWithA, in: with(func(in *Enrollment) { in.ID = "p.1" }), wantKind: errs.Invalid, wantField: "id"},
		{name: "client id too long", practice: practiceWithA, in: with(func(in *Enrollment) { in.ID = strings.Repeat("p", MaxClientIDLen+1) }), wantKind: errs.Invalid, wantField: "id"},
		{name: "mrn missing", practice: practiceWithA, in: with(func(in *Enrollment) { in.MRN = "" }), wantKind: errs.Invalid, wantField: "mrn"},
		{name: "given name missing", practice: practiceWithA, in: with(func(in *Enrollment) { in.Name.Given = "" }), wantKind: errs.Invalid, wantField: "name.given"},
		{name: "family name missing", practice: practiceWithA, in: with(func(in *Enrollment) { in.Name.Family = "  " }), wantKind: errs.Invalid, wantField: "name.family"},
		{name: "birth date missing", practice: practiceWithA, in: with(func(in *Enrollment) { in.BirthDate = "" }), wantKind: errs.Invalid, wantField: "birthDate"},
		{name: "birth date malformed", practice: practiceWithA, in: with(func(in *Enrollment) { in.BirthDate = "03/02/1950" }), wantKind: errs.Invalid, wantField: "birthDate"},
		{name: "birth date not a day", practice: practiceWithA, in: with(func(in *Enrollment) { in.BirthDate = "1950-02-30" }), wantKind: errs.Invalid, wantField: "birthDate"},
		{name: "birth date in the future", practice: practiceWithA, in: with(func(in *Enrollment) { in.BirthDate = "2025-03-16" }), wantKind: errs.Invalid, wantField: "birthDate"},
		{name: "birth date over 130 years ago", practice: practiceWithA, in: with(func(in *Enrollment) { in.BirthDate = "1890-01-01" }), wantKind: errs.Invalid, wantField: "birthDate"},
		{name: "mbi missing", practice: practiceWithA, in: with(func(in *Enrollment) { in.MBI = "" }), wantKind: errs.Invalid, wantField: "mbi"},
		{name: "mbi as printed on the card", practice: practiceWithA, in: with(func(in *Enrollment) { in.MBI = "1eg4-te5-mk73" })},
		{name: "mbi too short", practice: practiceWithA, in: with(func(in *Enrollment) { in.MBI = "1EG4TE5MK7" }), wantKind: errs.Invalid, wantField: "mbi"},
		{name: "mbi excluded letter", practice: practiceWithA, in: with(func(in *Enrollment) { in.MBI = "1SG4TE5MK73" }), wantKind: errs.Invalid, wantField: "mbi"},
		{name: "billing NPI check digit", practice: practiceWithA, in: with(func(in *Enrollment) { in.BillingPractitionerNPI = npiBad }), wantKind: errs.Invalid, wantField: "billingPractitionerNpi"},
		{name: "billing NPI not registered", practice: practiceWithA, in: with(func(in *Enrollment) { in.BillingPractitionerNPI = npiB }), wantKind: errs.Invalid, wantField: "billingPractitionerNpi"},
		{name: "no practitioner registered at all", practice: givenPractice(), in: valid, wantKind: errs.Invalid, wantField: "billingPractitionerNpi"},
		{name: "deceased date malformed", practice: practiceWithA, in: with(func(in *Enrollment) { in.DeceasedDate = "2025-3-1" }), wantKind: errs.Invalid, wantField: "deceasedDate"},
		{name: "deceased before birth", practice: practiceWithA, in: with(func(in *Enrollment) { in.DeceasedDate = "1949-12-31" }), wantKind: errs.Invalid, wantField: "deceasedDate"},
		{name: "deceased in the future", practice: practiceWithA, in: with(func(in *Enrollment) { in.DeceasedDate = "2025-04-01" }), wantKind: errs.Invalid, wantField: "deceasedDate"},
		{name: "already enrolled", given: []eventlog.Record{enrolled(2)}, practice: practiceWithA, in: valid, wantKind: errs.Conflict},
		{name: "stream already has events", given: []eventlog.Record{condition(2, "I10", 12, true)}, practice: practiceWithA, in: valid, wantKind: errs.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.in.Event("p-chosen", now)
			if err == nil {
				err = DecideEnroll(givenPatient(tt.given...), tt.practice, e)
			}
			checkErr(t, err, tt.wantKind, tt.wantField)
			if err != nil {
				return
			}
			// The MBI is stored in the CMS format (events.NormalizeMBI).
			want := events.PatientEnrolled{ID: "p-chosen", MRN: tt.in.MRN, Name: tt.in.Name, BirthDate: tt.in.BirthDate, MBI: events.NormalizeMBI(tt.in.MBI),
				BillingPractitionerNPI: tt.in.BillingPractitionerNPI, DeceasedDate: tt.in.DeceasedDate}
			if e != want {
				t.Errorf("got %+v, want %+v", e, want)
			}
		})
	}
}

func TestRecordCondition(t *testing.T) {
	valid := ConditionInput{Code: "E11.65", Description: "Type 2 diabetes with hyperglycemia", ExpectedDurationMonths: ptr(120), SignificantRisk: ptr(true)}
	with := func(f func(*ConditionInput)) ConditionInput { in := valid; f(&in); return in }
	isEnrolled := []eventlog.Record{enrolled(2)}
	tests := []struct {
		name      string
		given     []eventlog.Record
		in        ConditionInput
		wantKind  errs.Kind
		wantField string
	}{
		{name: "valid", given: isEnrolled, in: valid},
		{name: "no significant risk is recorded too", given: isEnrolled, in: with(func(in *ConditionInput) { in.SignificantRisk = ptr(false) })},
		{name: "one month", given: isEnrolled, in: with(func(in *ConditionInput) { in.ExpectedDurationMonths = ptr(1) })},
		{name: "onset date", given: isEnrolled, in: with(func(in *ConditionInput) { in.OnsetDate = "2019-06-01" })},
		{name: "another code", given: append(isEnrolled, condition(3, "I10", 12, true)), in: valid},
		{name: "code missing", given: isEnrolled, in: with(func(in *ConditionInput) { in.Code = "" }), wantKind: errs.Invalid, wantField: "code"},
		{name: "code lower case", given: isEnrolled, in: with(func(in *ConditionInput) { in.Code = "e11.65" })},
		{name: "code without dot", given: isEnrolled, in: with(func(in *ConditionInput) { in.Code = "E1165" })},
		{name: "code not ICD-10-CM", given: isEnrolled, in: with(func(in *ConditionInput) { in.Code = "E11-65" }), wantKind: errs.Invalid, wantField: "code"},
		{name: "code not ICD-10", given: isEnrolled, in: with(func(in *ConditionInput) { in.Code = "250.00" }), wantKind: errs.Invalid, wantField: "code"},
		{name: "description missing", given: isEnrolled, in: with(func(in *ConditionInput) { in.Description = "" }), wantKind: errs.Invalid, wantField: "description"},
		{name: "duration missing", given: isEnrolled, in: with(func(in *ConditionInput) { in.ExpectedDurationMonths = nil }), wantKind: errs.Invalid, wantField: "expectedDurationMonths"},
		{name: "duration zero", given: isEnrolled, in: with(func(in *ConditionInput) { in.ExpectedDurationMonths = ptr(0) }), wantKind: errs.Invalid, wantField: "expectedDurationMonths"},
		{name: "duration negative", given: isEnrolled, in: with(func(in *ConditionInput) { in.ExpectedDurationMonths = ptr(-3) }), wantKind: errs.Invalid, wantField: "expectedDurationMonths"},
		{name: "significant risk missing", given: isEnrolled, in: with(func(in *ConditionInput) { in.SignificantRisk = nil }), wantKind: errs.Invalid, wantField: "significantRisk"},
		{name: "onset malformed", given: isEnrolled, in: with(func(in *ConditionInput) { in.OnsetDate = "2019-06" }), wantKind: errs.Invalid, wantField: "onsetDate"},
		{name: "onset in the future", given: isEnrolled, in: with(func(in *ConditionInput) { in.OnsetDate = "2026-01-01" }), wantKind: errs.Invalid, wantField: "onsetDate"},
		{name: "patient not enrolled", in: valid, wantKind: errs.NotFound},
		{name: "code already on the list", given: append(isEnrolled, condition(3, "E11.65", 12, true)), in: valid, wantKind: errs.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.in.Event(now)
			if err == nil {
				err = DecideCondition(givenPatient(tt.given...), e)
			}
			checkErr(t, err, tt.wantKind, tt.wantField)
			if err != nil {
				return
			}
			// The code is stored as ICD-10-CM writes it (upper case, dotted).
			code, _ := events.NormalizeICD10CM(tt.in.Code)
			want := events.ConditionRecorded{Code: code, Description: tt.in.Description, ExpectedDurationMonths: *tt.in.ExpectedDurationMonths,
				SignificantRisk: *tt.in.SignificantRisk, OnsetDate: tt.in.OnsetDate}
			if e != want {
				t.Errorf("got %+v, want %+v", e, want)
			}
		})
	}
}

func TestRecordConsent(t *testing.T) {
	all := []string{DisclosureAvailabilityAndCostSharing, DisclosureOnePractitionerPerMonth, DisclosureRightToStop, DisclosureElectronicSharing}
	valid := ConsentInput{ID: "c-1", Program: "ccm", PractitionerNPI: npiA, Method: "verbal", Decision: "accepted",
		ObtainedAt: "2025-03-14T09:30:00-05:00", ObtainedBy: "RN Jo", Disclosures: all}
	with := func(f func(*ConsentInput)) ConsentInput { in := valid; f(&in); return in }
	isEnrolled := []eventlog.Record{enrolled(2)}
	practiceAB := givenPractice(registered(1, npiA), registered(2, npiB))
	tests := []struct {
		name      string
		given     []eventlog.Record
		practice  Practice
		in        ConsentInput
		wantType  events.Type
		wantKind  errs.Kind
		wantField string
	}{
		{name: "accepted", given: isEnrolled, practice: practiceWithA, in: valid, wantType: events.TypeConsentGranted},
		{name: "declined is recorded too", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Decision = "declined" }), wantType: events.TypeConsentDeclined},
		{name: "pcm, written", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Program, in.Method = "pcm", "written" }), wantType: events.TypeConsentGranted},
		{name: "empty disclosures are stored (billing holds)", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Disclosures = []string{} }), wantType: events.TypeConsentGranted},
		{name: "within the clock skew", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.ObtainedAt = "2025-03-14T15:04:59Z" }), wantType: events.TypeConsentGranted},
		// K4: a new billing practitioner needs a new consent, recorded for that practitioner.
		{name: "new practitioner, new consent", given: append(isEnrolled, granted(3, "c-0", "2024-01-01T10:00:00Z")), practice: practiceAB,
			in: with(func(in *ConsentInput) { in.PractitionerNPI = npiB }), wantType: events.TypeConsentGranted},
		{name: "program missing", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Program = "" }), wantKind: errs.Invalid, wantField: "program"},
		{name: "program unknown", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Program = "rpm" }), wantKind: errs.Invalid, wantField: "program"},
		{name: "method unknown", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Method = "telepathic" }), wantKind: errs.Invalid, wantField: "method"},
		{name: "decision unknown", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Decision = "maybe" }), wantKind: errs.Invalid, wantField: "decision"},
		{name: "decision missing", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Decision = "" }), wantKind: errs.Invalid, wantField: "decision"},
		{name: "practitioner NPI check digit", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.PractitionerNPI = npiBad }), wantKind: errs.Invalid, wantField: "practitionerNpi"},
		{name: "practitioner not registered", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.PractitionerNPI = npiB }), wantKind: errs.Invalid, wantField: "practitionerNpi"},
		{name: "obtained in the future", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.ObtainedAt = "2025-03-14T15:05:01Z" }), wantKind: errs.Invalid, wantField: "obtainedAt"},
		{name: "obtainedAt without offset", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.ObtainedAt = "2025-03-14T09:30:00" }), wantKind: errs.Invalid, wantField: "obtainedAt"},
		{name: "obtainedAt a date", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.ObtainedAt = "2025-03-14" }), wantKind: errs.Invalid, wantField: "obtainedAt"},
		{name: "obtainedAt missing", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.ObtainedAt = "" }), wantKind: errs.Invalid, wantField: "obtainedAt"},
		{name: "obtainedBy missing", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.ObtainedBy = "" }), wantKind: errs.Invalid, wantField: "obtainedBy"},
		{name: "disclosures missing", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Disclosures = nil }), wantKind: errs.Invalid, wantField: "disclosures"},
		{name: "disclosure unknown", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Disclosures = []string{"right_to_stop", "fine_print"} }), wantKind: errs.Invalid, wantField: "disclosures"},
		{name: "disclosure repeated", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.Disclosures = []string{"right_to_stop", "right_to_stop"} }), wantKind: errs.Invalid, wantField: "disclosures"},
		{name: "client id invalid", given: isEnrolled, practice: practiceWithA, in: with(func(in *ConsentInput) { in.ID = "c 1" }), wantKind: errs.Invalid, wantField: "id"},
		{name: "patient not enrolled", practice: practiceWithA, in: valid, wantKind: errs.NotFound},
		{name: "consent id taken", given: append(isEnrolled, declined(3, "c-1", "2025-03-01T10:00:00Z")), practice: practiceWithA, in: valid, wantKind: errs.Conflict},
		{name: "after the patient died", given: append(isEnrolled, died(3, "2025-03-10")), practice: practiceWithA, in: valid, wantKind: errs.Invalid, wantField: "obtainedAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.in.Event("c-1", now)
			if err == nil {
				err = DecideConsent(givenPatient(tt.given...), tt.practice, c)
			}
			checkErr(t, err, tt.wantKind, tt.wantField)
			if err != nil {
				return
			}
			if c.Type != tt.wantType {
				t.Errorf("type: got %s, want %s", c.Type, tt.wantType)
			}
			want := events.ConsentGranted{ID: "c-1", Program: tt.in.Program, PractitionerNPI: tt.in.PractitionerNPI, Method: tt.in.Method,
				ObtainedAt: mustTime(tt.in.ObtainedAt), ObtainedBy: tt.in.ObtainedBy, Disclosures: tt.in.Disclosures}
			if !reflect.DeepEqual(c.Payload, want) {
				t.Errorf("payload: got %+v, want %+v", c.Payload, want)
			}
			if _, ok := c.Data().(events.ConsentDeclined); ok != (tt.wantType == events.TypeConsentDeclined) {
				t.Errorf("data: got %T for %s", c.Data(), c.Type)
			}
		})
	}
}

func TestRevokeConsent(t *testing.T) {
	valid := RevocationInput{RevokedAt: "2025-03-10T12:00:00-05:00", RecordedBy: "RN Jo", Reason: "moving away"}
	with := func(f func(*RevocationInput)) RevocationInput { in := valid; f(&in); return in }
	withConsent := []eventlog.Record{enrolled(2), granted(3, "c-1", "2025-03-01T10:00:00-05:00")}
	tests := []struct {
		name      string
		given     []eventlog.Record
		consent   string
		in        RevocationInput
		wantKind  errs.Kind
		wantField string
	}{
		{name: "valid", given: withConsent, consent: "c-1", in: valid},
		{name: "no reason", given: withConsent, consent: "c-1", in: with(func(in *RevocationInput) { in.Reason = "" })},
		{name: "at the very moment of consent", given: withConsent, consent: "c-1", in: with(func(in *RevocationInput) { in.RevokedAt = "2025-03-01T15:00:00Z" })},
		{name: "before the consent", given: withConsent, consent: "c-1", in: with(func(in *RevocationInput) { in.RevokedAt = "2025-03-01T14:59:59Z" }), wantKind: errs.Invalid, wantField: "revokedAt"},
		{name: "in the future", given: withConsent, consent: "c-1", in: with(func(in *RevocationInput) { in.RevokedAt = "2025-03-15T00:00:00Z" }), wantKind: errs.Invalid, wantField: "revokedAt"},
		{name: "revokedAt malformed", given: withConsent, consent: "c-1", in: with(func(in *RevocationInput) { in.RevokedAt = "yesterday" }), wantKind: errs.Invalid, wantField: "revokedAt"},
		{name: "recordedBy missing", given: withConsent, consent: "c-1", in: with(func(in *RevocationInput) { in.RecordedBy = "" }), wantKind: errs.Invalid, wantField: "recordedBy"},
		{name: "reason too long", given: withConsent, consent: "c-1", in: with(func(in *RevocationInput) { in.Reason = strings.Repeat("r", 1001) }), wantKind: errs.Invalid, wantField: "reason"},
		{name: "unknown consent", given: withConsent, consent: "c-2", in: valid, wantKind: errs.NotFound},
		{name: "patient not enrolled", consent: "c-1", in: valid, wantKind: errs.NotFound},
		{name: "declined consent", given: []eventlog.Record{enrolled(2), declined(3, "c-1", "2025-03-01T10:00:00Z")}, consent: "c-1", in: valid, wantKind: errs.Conflict},
		{name: "already revoked", given: append(withConsent, revoked(4, "c-1", "2025-03-05T10:00:00Z")), consent: "c-1", in: valid, wantKind: errs.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.in.Event(tt.consent, now)
			if err == nil {
				err = DecideRevoke(givenPatient(tt.given...), e)
			}
			checkErr(t, err, tt.wantKind, tt.wantField)
			if err != nil {
				return
			}
			want := events.ConsentRevoked{ConsentID: tt.consent, RevokedAt: mustTime(tt.in.RevokedAt), RecordedBy: tt.in.RecordedBy, Reason: tt.in.Reason}
			if e != want {
				t.Errorf("got %+v, want %+v", e, want)
			}
		})
	}
}

func TestEvolvePatient(t *testing.T) {
	s := givenPatient(enrolled(2), condition(3, "I10", 12, true), granted(4, "c-1", "2025-03-01T10:00:00Z"),
		rec(5, "t-1", events.TypeTimeRecorded, events.PatientStream(patient1), events.TimeRecorded{ID: "t-1"}))
	if !s.Enrolled || s.Events != 4 || !s.Codes["I10"] || s.Consents["c-1"].Type != events.TypeConsentGranted || s.BillingPractitionerNPI != npiA {
		t.Fatalf("got %+v, want enrolled with I10 and consent c-1 after 4 events", s)
	}
	before := s
	after := EvolvePatient(EvolvePatient(s, revoked(6, "c-1", "2025-03-05T10:00:00Z")), condition(7, "E11.9", 12, true))
	if before.Consents["c-1"].Revoked || before.Codes["E11.9"] {
		t.Errorf("got earlier state %+v changed by a later fold, want it as it was (copy on write)", before)
	}
	if !after.Consents["c-1"].Revoked || !after.Codes["E11.9"] {
		t.Errorf("got %+v, want c-1 revoked and E11.9 recorded", after)
	}
	if got := EvolvePatient(after, died(8, "2025-03-12")).DeceasedDate; got != "2025-03-12" {
		t.Errorf("deceased: got %q, want 2025-03-12", got)
	}
	// A revocation of an unknown consent, or an unreadable event, changes nothing.
	odd := EvolvePatient(after, revoked(9, "c-9", "2025-03-05T10:00:00Z"))
	odd = EvolvePatient(odd, eventlog.Record{Sequence: 10, Envelope: events.Envelope{ID: "x", Type: events.TypeConsentGranted, Version: 1, Data: []byte(`[]`)}})
	if len(odd.Consents) != 1 {
		t.Errorf("got consents %v, want only c-1", odd.Consents)
	}
}

func TestQualifyingChronic(t *testing.T) {
	c := func(code string, months int, risk bool) events.ConditionRecorded {
		return events.ConditionRecorded{Code: code, ExpectedDurationMonths: months, SignificantRisk: risk}
	}
	tests := []struct {
		name       string
		conditions []events.ConditionRecorded
		want       Qualifying
	}{
		{"none", nil, Qualifying{CCMCodes: []string{}, PCMCodes: []string{}}},
		{"two chronic with risk: CCM", []events.ConditionRecorded{c("I50.22", 120, true), c("E11.65", 12, true)},
			Qualifying{CCMCodes: []string{"E11.65", "I50.22"}, PCMCodes: []string{"E11.65", "I50.22"}, CCMCount: 2, PCMCount: 2, CCM: true, PCM: true}},
		{"11 months is not chronic for CCM but is for PCM", []events.ConditionRecorded{c("I50.22", 120, true), c("E11.65", 11, true)},
			Qualifying{CCMCodes: []string{"I50.22"}, PCMCodes: []string{"E11.65", "I50.22"}, CCMCount: 1, PCMCount: 2, PCM: true}},
		{"no significant risk qualifies for nothing", []events.ConditionRecorded{c("I10", 120, false), c("E78.5", 120, false)},
			Qualifying{CCMCodes: []string{}, PCMCodes: []string{}}},
		{"3 months with risk: PCM only", []events.ConditionRecorded{c("S72.001A", 3, true)},
			Qualifying{CCMCodes: []string{}, PCMCodes: []string{"S72.001A"}, PCMCount: 1, PCM: true}},
		{"2 months qualifies for nothing", []events.ConditionRecorded{c("J18.9", 2, true)},
			Qualifying{CCMCodes: []string{}, PCMCodes: []string{}}},
		{"the same code twice counts once", []events.ConditionRecorded{c("I10", 120, true), c("I10", 60, true)},
			Qualifying{CCMCodes: []string{"I10"}, PCMCodes: []string{"I10"}, CCMCount: 1, PCMCount: 1, PCM: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := QualifyingChronic(tt.conditions); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMissingDisclosures(t *testing.T) {
	tests := []struct {
		given []string
		want  []string
	}{
		{nil, RequiredDisclosures},
		{[]string{DisclosureElectronicSharing}, RequiredDisclosures},
		{[]string{DisclosureRightToStop, DisclosureAvailabilityAndCostSharing}, []string{DisclosureOnePractitionerPerMonth}},
		{RequiredDisclosures, []string{}},
	}
	for _, tt := range tests {
		if got := MissingDisclosures(tt.given); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("MissingDisclosures(%v): got %v, want %v", tt.given, got, tt.want)
		}
	}
}
