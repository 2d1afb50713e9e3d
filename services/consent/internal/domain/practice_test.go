package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/billing/rules"
)

func TestConfigurePractice(t *testing.T) {
	valid := PracticeSettings{Name: "Prairie Clinic", Timezone: "America/Chicago", BillingNPI: npiA, TaxID: "12-3456789"}
	with := func(f func(*PracticeSettings)) PracticeSettings { in := valid; f(&in); return in }
	tests := []struct {
		name      string
		in        PracticeSettings
		wantKind  errs.Kind
		wantField string
	}{
		{name: "valid", in: valid},
		{name: "tax id as 9 digits", in: with(func(in *PracticeSettings) { in.TaxID = "123456789" })},
		{name: "UTC", in: with(func(in *PracticeSettings) { in.Timezone = "UTC" })},
		{name: "name missing", in: with(func(in *PracticeSettings) { in.Name = " " }), wantKind: errs.Invalid, wantField: "name"},
		{name: "name too long", in: with(func(in *PracticeSettings) { in.Name = string(make([]byte, 201)) + "x" }), wantKind: errs.Invalid, wantField: "name"},
		{name: "timezone missing", in: with(func(in *PracticeSettings) { in.Timezone = "" }), wantKind: errs.Invalid, wantField: "timezone"},
		{name: "timezone unknown", in: with(func(in *PracticeSettings) { in.Timezone = "Mars/Olympus" }), wantKind: errs.Invalid, wantField: "timezone"},
		{name: "timezone Local", in: with(func(in *PracticeSettings) { in.Timezone = "Local" }), wantKind: errs.Invalid, wantField: "timezone"},
		{name: "billing NPI check digit", in: with(func(in *PracticeSettings) { in.BillingNPI = npiBad }), wantKind: errs.Invalid, wantField: "billingNpi"},
		{name: "tax id malformed", in: with(func(in *PracticeSettings) { in.TaxID = "12-34567" }), wantKind: errs.Invalid, wantField: "taxId"},
		{name: "policy unknown key", in: with(func(in *PracticeSettings) { in.Policy = json.RawMessage(`{"afterRevocaton":"exclude"}`) }), wantKind: errs.Invalid, wantField: "policy.afterRevocaton"},
		{name: "policy bad value", in: with(func(in *PracticeSettings) { in.Policy = json.RawMessage(`{"afterRevocation":"never"}`) }), wantKind: errs.Invalid, wantField: "policy.afterRevocation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Event()
			checkErr(t, err, tt.wantKind, tt.wantField)
			if err != nil {
				return
			}
			if got.TaxID != "123456789" || got.Name != tt.in.Name || got.Timezone != tt.in.Timezone || got.BillingNPI != npiA {
				t.Errorf("got %+v, want the settings with taxId 123456789", got)
			}
			var pol rules.Policy
			if err := json.Unmarshal(got.Policy, &pol); err != nil || pol != rules.DefaultPolicy() {
				t.Errorf("policy: got %s (%v), want every default spelled out", got.Policy, err)
			}
		})
	}
}

func TestEffectivePolicy(t *testing.T) {
	def := rules.DefaultPolicy()
	tests := []struct {
		name      string
		raw       string
		want      func(*rules.Policy)
		wantKind  errs.Kind
		wantField string
	}{
		{name: "absent", raw: ``},
		{name: "null", raw: `null`},
		{name: "empty object", raw: `{}`},
		{name: "one setting", raw: `{"afterRevocation":"count_to_month_end"}`, want: func(p *rules.Policy) { p.AfterRevocation = rules.CountToMonthEnd }},
		{name: "empty value means default", raw: `{"afterRevocation":""}`},
		{name: "numbers", raw: `{"lateEntryDays":3,"pcmAddOnMaxUnits":2}`, want: func(p *rules.Policy) { p.LateEntryDays, p.PCMAddOnMaxUnits = 3, 2 }},
		{name: "zero late-entry days is the default 7", raw: `{"lateEntryDays":0}`},
		{name: "every setting", raw: `{"cpoAndEsrdOverlap":"allow","afterRevocation":"count_to_month_end","complexShortfall":"not_billable",
			"practitionerTimeAsStaff":"not_counted","mixedTimePathway":"practitioner","sameDayStaffMinutes":"exclude","inpatientDays":"count",
			"unansweredOutreach":"count","dateOfService":"threshold_met","monthBoundary":"entry_start","simultaneousStaff":"count_each",
			"consentRenewal":"annual","pcmSupervision":"direct","pcmAddOnMaxUnits":1,"apcmBundling":"allow","deathInMonth":"not_billable",
			"lateEntryDays":14,"pcmConsent":"pcm_only"}`,
			want: func(p *rules.Policy) {
				*p = rules.Policy{CPOAndESRDOverlap: "allow", AfterRevocation: "count_to_month_end", ComplexShortfall: "not_billable",
					PractitionerTimeAsStaff: "not_counted", MixedTimePathway: "practitioner", SameDayStaffMinutes: "exclude", InpatientDays: "count",
					UnansweredOutreach: "count", DateOfService: "threshold_met", MonthBoundary: "entry_start", SimultaneousStaff: "count_each",
					ConsentRenewal: "annual", PCMSupervision: "direct", PCMAddOnMaxUnits: 1, APCMBundling: "allow", DeathInMonth: "not_billable",
					LateEntryDays: 14, PCMConsent: "pcm_only"}
			}},
		{name: "not an object", raw: `["exclude"]`, wantKind: errs.Invalid, wantField: "policy"},
		{name: "unknown key", raw: `{"afterRevocation":"exclude","colour":"blue"}`, wantKind: errs.Invalid, wantField: "policy.colour"},
		{name: "key in the wrong case", raw: `{"AfterRevocation":"exclude"}`, wantKind: errs.Invalid, wantField: "policy.AfterRevocation"},
		{name: "wrong type", raw: `{"lateEntryDays":"7"}`, wantKind: errs.Invalid, wantField: "policy.lateEntryDays"},
		{name: "fraction", raw: `{"lateEntryDays":1.5}`, wantKind: errs.Invalid, wantField: "policy.lateEntryDays"},
		{name: "unknown value", raw: `{"dateOfService":"whenever"}`, wantKind: errs.Invalid, wantField: "policy.dateOfService"},
		{name: "negative", raw: `{"lateEntryDays":-1}`, wantKind: errs.Invalid, wantField: "policy.lateEntryDays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EffectivePolicy(json.RawMessage(tt.raw))
			checkErr(t, err, tt.wantKind, tt.wantField)
			if err != nil {
				return
			}
			want := def
			if tt.want != nil {
				tt.want(&want)
			}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestDecideConfigure(t *testing.T) {
	settings := PracticeSettings{Name: "Prairie Clinic", Timezone: "America/Chicago", BillingNPI: npiA, TaxID: "12-3456789"}
	cfg, err := settings.Event()
	if err != nil {
		t.Fatal(err)
	}
	changed := cfg
	changed.Timezone = "America/New_York"
	tests := []struct {
		name  string
		given Practice
		when  events.PracticeConfigured
		want  error
	}{
		{"first configuration", givenPractice(), cfg, nil},
		{"same content is unchanged", givenPractice(rec(1, "practice-1", events.TypePracticeConfigured, events.PracticeStream, cfg)), cfg, ErrUnchanged},
		{"changed content replaces", givenPractice(rec(1, "practice-1", events.TypePracticeConfigured, events.PracticeStream, cfg)), changed, nil},
		{"back to an earlier content", givenPractice(
			rec(1, "practice-1", events.TypePracticeConfigured, events.PracticeStream, cfg),
			rec(2, "practice-2", events.TypePracticeConfigured, events.PracticeStream, changed)), cfg, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecideConfigure(tt.given, tt.when); !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvolvePractice(t *testing.T) {
	cfg := events.PracticeConfigured{Name: "P", Timezone: "America/Chicago", BillingNPI: npiA, TaxID: "123456789", Policy: json.RawMessage(`{}`)}
	s := givenPractice(rec(3, "practice-x", events.TypePracticeConfigured, events.PracticeStream, cfg), registered(4, npiA))
	if !s.Configured() || s.ConfigEventID != "practice-x" || s.ConfigSequence != 3 || s.Location().String() != "America/Chicago" {
		t.Errorf("got %+v, want configured by practice-x at 3 in America/Chicago", s)
	}
	before := s
	after := EvolvePractice(s, registered(5, npiB))
	if before.Registered(npiB) || !after.Registered(npiB) || !after.Registered(npiA) {
		t.Errorf("got before %v after %v, want the earlier state unchanged (copy on write)", before.Practitioners, after.Practitioners)
	}
}

func TestRegisterPractitioner(t *testing.T) {
	valid := PractitionerInput{Name: "Grace Hopper", Kind: "np", Credential: "FNP-BC"}
	tests := []struct {
		name      string
		npi       string
		in        PractitionerInput
		given     Practice
		wantKind  errs.Kind
		wantField string
		unchanged bool
	}{
		{name: "new", npi: npiB, in: valid, given: practiceWithA},
		{name: "each kind", npi: npiB, in: PractitionerInput{Name: "X", Kind: "cnm", Credential: "CNM"}, given: practiceWithA},
		{name: "same content", npi: npiA, in: PractitionerInput{Name: "Dr A", Kind: "physician", Credential: "MD"}, given: practiceWithA, unchanged: true},
		{name: "changed credential", npi: npiA, in: PractitionerInput{Name: "Dr A", Kind: "physician", Credential: "DO"}, given: practiceWithA},
		{name: "bad check digit", npi: npiBad, in: valid, wantKind: errs.Invalid, wantField: "npi"},
		{name: "not 10 digits", npi: "123", in: valid, wantKind: errs.Invalid, wantField: "npi"},
		{name: "name missing", npi: npiB, in: PractitionerInput{Kind: "np", Credential: "NP"}, wantKind: errs.Invalid, wantField: "name"},
		{name: "kind missing", npi: npiB, in: PractitionerInput{Name: "X", Credential: "NP"}, wantKind: errs.Invalid, wantField: "kind"},
		{name: "kind unknown", npi: npiB, in: PractitionerInput{Name: "X", Kind: "rn", Credential: "RN"}, wantKind: errs.Invalid, wantField: "kind"},
		{name: "credential missing", npi: npiB, in: PractitionerInput{Name: "X", Kind: "pa"}, wantKind: errs.Invalid, wantField: "credential"},
		{name: "credential too long", npi: npiB, in: PractitionerInput{Name: "X", Kind: "pa", Credential: "PA-C PA-C PA-C PA-C x"}, wantKind: errs.Invalid, wantField: "credential"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.in.Event(tt.npi)
			checkErr(t, err, tt.wantKind, tt.wantField)
			if err != nil {
				return
			}
			want := events.PractitionerRegistered{NPI: tt.npi, Name: tt.in.Name, Kind: tt.in.Kind, Credential: tt.in.Credential}
			if e != want {
				t.Errorf("payload: got %+v, want %+v", e, want)
			}
			err = DecideRegister(tt.given, e)
			if got := errors.Is(err, ErrUnchanged); got != tt.unchanged || (!tt.unchanged && err != nil) {
				t.Errorf("decide: got %v, want unchanged=%v", err, tt.unchanged)
			}
		})
	}
}

func TestPolicyKeysCoverRulesPolicy(t *testing.T) {
	// Every exported field of rules.Policy is a key, and DefaultPolicy
	// round-trips through EffectivePolicy: a setting billing adds is
	// accepted without a change here.
	b, err := json.Marshal(rules.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	got, err := EffectivePolicy(b)
	if err != nil || !reflect.DeepEqual(got, rules.DefaultPolicy()) {
		t.Errorf("got %+v, %v, want DefaultPolicy", got, err)
	}
	if n := len(policyKeys()); n != reflect.TypeFor[rules.Policy]().NumField() {
		t.Errorf("got %d keys, want one per rules.Policy field", n)
	}
}
