package events_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the samples in catalog_test.go")

type schemaKey struct {
	t events.Type
	v int
}

func (k schemaKey) String() string { return string(k.t) + ".v" + strconv.Itoa(k.v) }

func (k schemaKey) goldenPath() string { return filepath.Join("testdata", k.String()+".json") }

// goldenPrevHash links the golden events that are not first in their stream.
const goldenPrevHash = "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"

var (
	cst = time.FixedZone("CST", -6*3600) // America/Chicago before 9 March 2025
	cdt = time.FixedZone("CDT", -5*3600) // America/Chicago from 9 March 2025
)

const (
	npiGroup      = "1245319599" // the practice
	npiPhysician  = "1234567893" // Dr. Dana Whitfield, billing practitioner
	npiNP         = "1657890129"
	npiCardiology = "1093817462"
)

// goldenSample is the representative event of one (type, version).
type goldenSample struct {
	stream, patientID string
	actor             events.Actor
	occurredAt        time.Time
	prevHash          string
	payload           any
	// unset lists the payload fields (JSON paths) the sample leaves empty on
	// purpose; every other field must be set, so the golden file freezes it.
	unset []string
}

var (
	clinician = events.Actor{ID: "rn-4", Role: "clinician", App: "nurse-app"}
	admin     = events.Actor{ID: "admin-1", Role: "admin", App: "carelog-cli"}
	biller    = events.Actor{ID: "biller-2", Role: "biller", App: "billing-dashboard"}
	patient1  = events.PatientStream("p-1")
)

func ptr[T any](v T) *T { return &v }

func goldenSamples() map[schemaKey]goldenSample {
	return map[schemaKey]goldenSample{
		{events.TypePracticeConfigured, 1}: {
			stream: events.PracticeStream, actor: admin, occurredAt: time.Date(2025, 1, 6, 8, 30, 0, 0, cst),
			payload: &events.PracticeConfigured{
				Name:       "Prairie Family Medicine",
				Timezone:   "America/Chicago",
				BillingNPI: npiGroup,
				TaxID:      "371234567",
				Policy:     json.RawMessage(`{"countUnansweredOutreach":false,"complexFallback":"non_complex","inpatientExclusion":true,"dateOfService":"last_day_of_month","lateEntryDays":7}`),
			},
		},
		{events.TypePractitionerRegistered, 1}: {
			stream: events.PracticeStream, actor: admin, occurredAt: time.Date(2025, 1, 6, 8, 41, 0, 0, cst), prevHash: goldenPrevHash,
			payload: &events.PractitionerRegistered{NPI: npiPhysician, Name: "Dana Whitfield", Kind: "physician", Credential: "MD"},
		},
		{events.TypePatientEnrolled, 1}: {
			stream: patient1, patientID: "p-1", actor: clinician, occurredAt: time.Date(2025, 2, 24, 15, 2, 0, 0, cst),
			payload: &events.PatientEnrolled{
				ID: "p-1", MRN: "MRN-0048213",
				Name:                   events.PersonName{Given: "Margaret", Family: "Okafor"},
				BirthDate:              "1948-07-02",
				MBI:                    "1EG4TE5MK73",
				BillingPractitionerNPI: npiPhysician,
			},
			unset: []string{"deceasedDate"}, // a living patient; patient.died covers the date
		},
		{events.TypePatientDied, 1}: {
			stream: patient1, patientID: "p-1", actor: clinician, occurredAt: time.Date(2025, 3, 27, 6, 40, 0, 0, cdt), prevHash: goldenPrevHash,
			payload: &events.PatientDied{DeceasedDate: "2025-03-27"},
		},
		{events.TypeConditionRecorded, 1}: {
			stream: patient1, patientID: "p-1", actor: clinician, occurredAt: time.Date(2025, 2, 24, 15, 10, 0, 0, cst), prevHash: goldenPrevHash,
			payload: &events.ConditionRecorded{
				Code: "I50.22", Description: "Chronic systolic (congestive) heart failure",
				ExpectedDurationMonths: 120, SignificantRisk: true, OnsetDate: "2019-11-04",
			},
		},
		{events.TypeConsentGranted, 1}: {
			stream: patient1, patientID: "p-1", actor: clinician, occurredAt: time.Date(2025, 3, 3, 9, 12, 0, 0, cst), prevHash: goldenPrevHash,
			payload: &events.ConsentGranted{
				ID: "c-1", Program: "ccm", PractitionerNPI: npiPhysician, Method: "verbal",
				ObtainedAt: time.Date(2025, 3, 3, 9, 12, 0, 0, cst), ObtainedBy: "rn-4",
				Disclosures: []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop", "electronic_sharing"},
			},
		},
		{events.TypeConsentDeclined, 1}: {
			stream: events.PatientStream("p-2"), patientID: "p-2", actor: clinician, occurredAt: time.Date(2025, 3, 4, 11, 0, 0, 0, cst), prevHash: goldenPrevHash,
			payload: &events.ConsentDeclined{
				ID: "c-2", Program: "ccm", PractitionerNPI: npiPhysician, Method: "written",
				ObtainedAt: time.Date(2025, 3, 4, 11, 0, 0, 0, cst), ObtainedBy: "ma-7",
				Disclosures: []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"},
			},
		},
		{events.TypeConsentRevoked, 1}: {
			stream: patient1, patientID: "p-1", actor: clinician, occurredAt: time.Date(2025, 3, 20, 14, 30, 0, 0, cdt), prevHash: goldenPrevHash,
			payload: &events.ConsentRevoked{
				ConsentID: "c-1", RevokedAt: time.Date(2025, 3, 20, 14, 30, 0, 0, cdt), RecordedBy: "rn-4",
				Reason: "Moving to assisted living that provides its own care coordination",
			},
		},
		{events.TypeCarePlanEstablished, 1}: {
			stream: patient1, patientID: "p-1", actor: events.Actor{ID: "dr-whitfield", Role: "clinician", App: "ehr-plugin"},
			occurredAt: time.Date(2025, 3, 5, 16, 20, 0, 0, cst), prevHash: goldenPrevHash,
			payload: &events.CarePlanEstablished{
				ID: "cp-1", Kind: "comprehensive", EstablishedAt: time.Date(2025, 3, 5, 16, 20, 0, 0, cst),
				AuthorNPI: npiPhysician, Electronic: true,
				Problems: []events.CarePlanProblem{
					{Code: "I50.22", Description: "Chronic systolic (congestive) heart failure, EF 35 %"},
					{Code: "E11.65", Description: "Type 2 diabetes mellitus with hyperglycemia"},
					{Code: "N18.31", Description: "Chronic kidney disease, stage 3a"},
				},
				ExpectedOutcome: "Stable NYHA class II, no heart-failure admission in 12 months, HbA1c under 8 %",
				Prognosis:       "Fair; progressive disease with high readmission risk if weights are not monitored",
				Goals: []events.CarePlanGoal{
					{ConditionCode: "I50.22", Description: "Keep fluid status stable", Measure: "weight gain over 3 days", Target: "< 2 lb", TargetDate: "2025-06-30"},
					{ConditionCode: "E11.65", Description: "Improve glycemic control", Measure: "HbA1c", Target: "< 8.0 %", TargetDate: "2025-09-30"},
					{ConditionCode: "N18.31", Description: "Protect kidney function", Measure: "eGFR", Target: ">= 45 mL/min/1.73 m²", TargetDate: "2026-03-31"},
				},
				SymptomManagement: "Daily weights; call the care line for gain > 2 lb in 3 days, new ankle swelling or dyspnea; hypoglycemia action plan",
				Interventions: []events.CarePlanIntervention{
					{Description: "Weekly call to review weights, symptoms and glucose log", ConditionCode: "I50.22",
						Responsible: events.ResponsibleParty{Name: "Jamie Ruiz", Role: "rn", StaffID: "rn-4"}, Frequency: "weekly"},
					{Description: "Record weight every morning before breakfast", ConditionCode: "I50.22",
						Responsible: events.ResponsibleParty{Name: "Margaret Okafor", Role: "patient"}, Frequency: "daily"},
				},
				Medications: []events.Medication{
					{Name: "Furosemide", Dose: "40 mg", Frequency: "once daily", Indication: "I50.22", Notes: "Reconciled 2025-03-05; uses a pill organizer"},
					{Name: "Metformin ER", Dose: "1000 mg", Frequency: "twice daily", Indication: "E11.65", Notes: "Dose checked against eGFR 52"},
					{Name: "Sacubitril/valsartan", Dose: "49/51 mg", Frequency: "twice daily", Indication: "I50.22", Notes: "Copay assistance requested"},
				},
				CommunityResources: []events.CommunityResource{
					{Name: "Meals on Wheels of Central Illinois", Purpose: "Low-sodium home-delivered meals", Contact: "+1 217 555 0142"},
				},
				Coordination: []events.CoordinationContact{
					{Name: "Dr. Arjun Mehta", Role: "cardiology", Organization: "Heartland Cardiology", NPI: npiCardiology, Purpose: "Heart-failure management; shares echo results"},
				},
				ReviewSchedule:                events.ReviewSchedule{IntervalMonths: 12, NextReviewDate: "2026-03-05"},
				CognitiveFunctionalAssessment: "Mini-Cog 5/5; independent in ADLs, needs help with shopping",
				EnvironmentalEvaluation:       "Lives alone in a one-storey house; scale and blood-pressure cuff at home",
				CaregiverAssessment:           "Daughter visits twice a week and helps with medications; no caregiver strain reported",
			},
		},
		{events.TypeCarePlanRevised, 1}: {
			stream: patient1, patientID: "p-1", actor: clinician, occurredAt: time.Date(2025, 3, 18, 10, 45, 0, 0, cdt), prevHash: goldenPrevHash,
			payload: &events.CarePlanRevised{
				PlanID: "cp-1", RevisedAt: time.Date(2025, 3, 18, 10, 45, 0, 0, cdt), AuthorNPI: npiPhysician,
				SymptomManagement: ptr("Daily weights; call for gain > 2 lb in 3 days; extra furosemide 20 mg only when instructed by phone"),
				Medications: []events.Medication{
					{Name: "Furosemide", Dose: "40 mg", Frequency: "once daily", Indication: "I50.22", Notes: "PRN extra 20 mg per nurse call"},
					{Name: "Metformin ER", Dose: "1000 mg", Frequency: "twice daily", Indication: "E11.65"},
					{Name: "Sacubitril/valsartan", Dose: "97/103 mg", Frequency: "twice daily", Indication: "I50.22", Notes: "Titrated by cardiology 2025-03-14"},
				},
				ReviewSchedule:      &events.ReviewSchedule{IntervalMonths: 6, NextReviewDate: "2025-09-18"},
				CaregiverAssessment: ptr("Daughter now lives with the patient and manages the pill organizer"),
			},
			// A revision carries only what changed.
			unset: []string{"electronic", "problems", "expectedOutcome", "prognosis", "goals", "interventions",
				"communityResources", "coordination", "cognitiveFunctionalAssessment", "environmentalEvaluation"},
		},
		{events.TypeCarePlanCopyProvided, 1}: {
			stream: patient1, patientID: "p-1", actor: clinician, occurredAt: time.Date(2025, 3, 6, 9, 0, 0, 0, cst), prevHash: goldenPrevHash,
			payload: &events.CarePlanCopyProvided{PlanID: "cp-1", ProvidedAt: time.Date(2025, 3, 6, 9, 0, 0, 0, cst), To: "patient", Method: "portal"},
		},
		{events.TypeComplexityRecorded, 1}: {
			stream: patient1, patientID: "p-1", actor: events.Actor{ID: "dr-whitfield", Role: "clinician", App: "ehr-plugin"},
			occurredAt: time.Date(2025, 3, 18, 11, 0, 0, 0, cdt), prevHash: goldenPrevHash,
			payload: &events.ComplexityRecorded{Month: "2025-03", Level: "moderate", PractitionerNPI: npiPhysician, DecidedAt: time.Date(2025, 3, 18, 11, 0, 0, 0, cdt)},
		},
		{events.TypeTimeRecorded, 1}: {
			stream: patient1, patientID: "p-1", actor: events.Actor{ID: "rn-4", Role: "clinician", App: "timer-widget"},
			occurredAt: time.Date(2025, 3, 14, 10, 5, 0, 0, cdt), prevHash: goldenPrevHash,
			payload: &events.TimeRecorded{
				ID: "te-20250314-0001", PatientID: "p-1",
				Staff:     events.Staff{ID: "rn-4", Name: "Jamie Ruiz", Role: "rn"},
				Programs:  []string{"ccm"},
				StartedAt: time.Date(2025, 3, 14, 10, 5, 0, 0, cdt), Minutes: 22, EndedAt: ptr(time.Date(2025, 3, 14, 10, 27, 0, 0, cdt)),
				Activity: "medication reconciliation",
				Notes:    "Called patient with pharmacist; weights up 2.4 lb in 3 days, ankles swollen. Reviewed furosemide adherence (missed 2 doses), reinforced 2 g sodium limit, booked BMP for 3/17.",
				Outcome:  "completed", SessionID: "call-8841",
			},
			unset: []string{"staff.npi", "encounterId", "directSupervision"}, // clinical staff, outside a visit, CCM
		},
		{events.TypeTimeCorrected, 1}: {
			stream: patient1, patientID: "p-1", actor: events.Actor{ID: "dr-whitfield", Role: "clinician", App: "ehr-plugin"},
			occurredAt: time.Date(2025, 3, 18, 16, 50, 0, 0, cdt), prevHash: goldenPrevHash,
			payload: &events.TimeCorrected{
				EntryID: "te-20250318-0003",
				Entry: events.TimeEntry{
					ID: "te-20250318-0003", PatientID: "p-1",
					Staff:     events.Staff{ID: "dr-whitfield", Name: "Dana Whitfield", Role: "physician", NPI: npiPhysician},
					Programs:  []string{"ccm", "g0506"},
					StartedAt: time.Date(2025, 3, 18, 10, 30, 0, 0, cdt), Minutes: 12, EndedAt: ptr(time.Date(2025, 3, 18, 10, 42, 0, 0, cdt)),
					Activity: "care plan revision",
					Notes:    "Revised symptom plan and diuretic instructions after cardiology titration; discussed with daughter.",
					Outcome:  "completed", SessionID: "visit-5512", EncounterID: "enc-7",
				},
				Reason: "Entered as 21 minutes by the timer widget; the visit note shows 12",
			},
			unset: []string{"entry.directSupervision"}, // CCM: no PCM supervision to record
		},
		{events.TypeTimeVoided, 1}: {
			stream: patient1, patientID: "p-1", actor: clinician, occurredAt: time.Date(2025, 3, 14, 10, 40, 0, 0, cdt), prevHash: goldenPrevHash,
			payload: &events.TimeVoided{EntryID: "te-20250314-0002", Reason: "Duplicate of te-20250314-0001 sent again by the timer widget"},
		},
		{events.TypeEncounterRecorded, 1}: {
			stream: patient1, patientID: "p-1", actor: events.Actor{ID: "dr-whitfield", Role: "clinician", App: "ehr-plugin"},
			occurredAt: time.Date(2025, 2, 24, 14, 30, 0, 0, cst), prevHash: goldenPrevHash,
			payload: &events.EncounterRecorded{
				ID: "enc-1", Kind: "office_visit", Code: "99214", PractitionerNPI: npiPhysician,
				Start: time.Date(2025, 2, 24, 14, 30, 0, 0, cst), End: ptr(time.Date(2025, 2, 24, 15, 0, 0, 0, cst)),
				TimeBased: true, CCMDiscussed: true, G0506: true,
			},
		},
		{events.TypeExternalClaimRecorded, 1}: {
			stream: patient1, patientID: "p-1", actor: events.Actor{ID: "biller-2", Role: "biller", App: "claims-import"},
			occurredAt: time.Date(2025, 4, 10, 9, 0, 0, 0, cdt), prevHash: goldenPrevHash,
			payload: &events.ExternalClaimRecorded{Code: "99457", PractitionerNPI: npiCardiology, ServiceMonth: "2025-03", DateOfService: "2025-03-31", Status: "paid"},
		},
		{events.TypeClaimBatchClosed, 1}: {
			stream: events.BatchStream("2025-03"), actor: biller, occurredAt: time.Date(2025, 4, 2, 8, 0, 0, 0, cdt),
			payload: &events.ClaimBatchClosed{
				ID: "cb-2025-03-1", Month: "2025-03", ClosedAt: time.Date(2025, 4, 2, 8, 0, 0, 0, cdt),
				LogSequence: 81234,
				ContentHash: "58f3df760362ec4bd26172594eb6e2a0b2f45f23519cd90f2b4767b406452271",
				Lines: []events.ClaimLine{
					{PatientID: "p-1", Code: "99490", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: npiPhysician,
						Diagnoses: []string{"I50.22", "E11.65", "N18.31"},
						Evidence:  []string{"evt-consent-granted-v1", "evt-careplan-established-v1", "evt-careplan-copy_provided-v1", "evt-activity-time_recorded-v1", "evt-activity-time_corrected-v1"}},
					{PatientID: "p-1", Code: "99439", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: npiPhysician,
						Diagnoses: []string{"I50.22", "E11.65", "N18.31"},
						Evidence:  []string{"evt-consent-granted-v1", "evt-careplan-established-v1", "evt-careplan-copy_provided-v1", "evt-activity-time_recorded-v1", "evt-activity-time_corrected-v1"}},
					{PatientID: "p-3", Code: "99490", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: npiNP,
						Diagnoses: []string{"J44.9", "I10"},
						Evidence:  []string{"evt-0002931", "evt-0002977", "evt-0003012", "evt-0003388"}},
				},
				Totals: events.ClaimBatchTotals{Patients: 2, Lines: 3, Units: 3, UnitsByCode: map[string]int{"99490": 2, "99439": 1}},
			},
		},
	}
}

// goldenEnvelope builds and seals the golden event of k from its sample, with
// fixed ids and times.
func goldenEnvelope(t *testing.T, k schemaKey, s goldenSample) events.Envelope {
	t.Helper()
	data, err := json.Marshal(s.payload)
	if err != nil {
		t.Fatalf("marshal %s payload: got %v, want nil", k, err)
	}
	slug := strings.ReplaceAll(string(k.t), ".", "-")
	e := events.Envelope{
		ID:            "evt-" + slug + "-v" + strconv.Itoa(k.v),
		Type:          k.t,
		Version:       k.v,
		Stream:        s.stream,
		PatientID:     s.patientID,
		OccurredAt:    s.occurredAt,
		RecordedAt:    s.occurredAt.Add(2*time.Minute + 17*time.Second + 250*time.Millisecond),
		Actor:         s.actor,
		CorrelationID: "req-" + slug,
		CausationID:   "cmd-" + slug,
		Data:          data,
	}
	return sealed(t, e, s.prevHash)
}

func TestGolden(t *testing.T) {
	reg := events.DefaultRegistry()
	samples := goldenSamples()
	for _, s := range reg.Schemas() {
		k := schemaKey{s.Type, s.Version}
		t.Run(k.String(), func(t *testing.T) {
			sample, ok := samples[k]
			if !ok {
				t.Fatalf("sample for %s: got none, want one in goldenSamples", k)
			}
			if got, want := reflect.TypeOf(sample.payload), reflect.TypeOf(s.New()); got != want {
				t.Fatalf("sample payload type: got %v, want %v", got, want)
			}
			var unset []string
			zeroFields(reflect.ValueOf(sample.payload), "", &unset)
			sort.Strings(unset)
			want := append([]string(nil), sample.unset...)
			sort.Strings(want)
			if !reflect.DeepEqual(unset, want) && !(len(unset) == 0 && len(want) == 0) {
				t.Errorf("fields the sample leaves empty: got %v, want %v (set every field, or list it in unset)", unset, want)
			}

			env := goldenEnvelope(t, k, sample)
			got, err := env.Encode()
			if err != nil {
				t.Fatalf("Encode: got %v, want nil", err)
			}
			path := k.goldenPath()
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatalf("write %s: got %v, want nil", path, err)
				}
			}
			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read %s: got %v, want the golden file (run go test -run TestGolden -update)", path, err)
			}
			if !bytes.Equal(got, file) {
				t.Errorf("Encode output differs from %s at byte %d:\ngot  %s\nwant %s\n(a wire-format change needs a new version; run with -update only for a deliberate change)",
					path, firstDifference(got, file), got, file)
			}

			d, err := events.Decode(file)
			if err != nil {
				t.Fatalf("Decode %s: got %v, want nil", path, err)
			}
			if err := d.Verify(); err != nil {
				t.Errorf("Verify %s: got %v, want nil", path, err)
			}
			if err := d.Validate(); err != nil {
				t.Errorf("Validate %s: got %v, want nil", path, err)
			}
			if !equalEnvelopes(d, env) {
				t.Errorf("decoded %s: got %+v, want %+v", path, d, env)
			}
			p, err := reg.Decode(d)
			if err != nil {
				t.Fatalf("Registry.Decode %s: got %v, want nil", path, err)
			}
			latest, _ := reg.Payload(k.t, reg.Latest(k.t))
			if got := reflect.TypeOf(p); got != reflect.PointerTo(latest) {
				t.Errorf("Registry.Decode %s: got %v, want *%v", path, got, latest)
			}
			if k.v == reg.Latest(k.t) {
				// Every key of the file is a field of the struct, and back.
				again, err := json.Marshal(p)
				if err != nil {
					t.Fatalf("marshal decoded payload: got %v, want nil", err)
				}
				if !bytes.Equal(again, d.Data) {
					t.Errorf("payload re-marshalled: got %s, want %s", again, d.Data)
				}
				if _, err := reg.New(k.t, sample.payload); err != nil {
					t.Errorf("Registry.New(%s, sample): got %v, want nil", k.t, err)
				}
			}
		})
	}
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// zeroFields appends the JSON paths of the empty fields of v: zero scalars,
// nil pointers, empty slices and maps, zero times.
func zeroFields(v reflect.Value, path string, out *[]string) {
	switch {
	case v.Type() == reflect.TypeOf(time.Time{}):
		if v.Interface().(time.Time).IsZero() {
			*out = append(*out, path)
		}
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			*out = append(*out, path)
			return
		}
		zeroFields(v.Elem(), path, out)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			if path != "" {
				name = path + "." + name
			}
			zeroFields(v.Field(i), name, out)
		}
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Map:
		if v.Len() == 0 {
			*out = append(*out, path)
			return
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
			var inner []string
			for i := range v.Len() {
				zeroFields(v.Index(i), path, &inner)
			}
			// A field counts as set when any element sets it.
			counts := map[string]int{}
			for _, p := range inner {
				counts[p]++
			}
			for p, n := range counts {
				if n == v.Len() {
					*out = append(*out, p)
				}
			}
		}
	default:
		if v.IsZero() {
			*out = append(*out, path)
		}
	}
}

func TestGoldenFilesMatchCatalog(t *testing.T) {
	want := map[string]bool{}
	for _, s := range events.Catalog() {
		want[schemaKey{s.Type, s.Version}.goldenPath()] = true
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatalf("Glob: got %v, want nil", err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
		if !want[f] {
			t.Errorf("golden file %s: got no catalogue entry for it, want one (or delete the file)", f)
		}
	}
	for f := range want {
		if !have[f] {
			t.Errorf("golden file %s: got none, want one (run go test -run TestGolden -update)", f)
		}
	}
	if len(goldenSamples()) != len(events.Catalog()) {
		t.Errorf("samples: got %d, want one per catalogue entry (%d)", len(goldenSamples()), len(events.Catalog()))
	}
}

var (
	typePattern      = regexp.MustCompile(`^[a-z][a-z_]*\.[a-z][a-z_]*$`)
	jsonFieldPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
)

func TestCatalogRegistry(t *testing.T) {
	if _, err := events.NewRegistry(events.Catalog(), events.Upcasters()); err != nil {
		t.Fatalf("NewRegistry(Catalog(), Upcasters()): got %v, want nil", err)
	}
	reg := events.DefaultRegistry()
	if reg != events.DefaultRegistry() {
		t.Errorf("DefaultRegistry: got a new registry on the second call, want the shared one")
	}
	if got, want := len(reg.Schemas()), len(events.Catalog()); got != want {
		t.Errorf("registered schemas: got %d, want %d", got, want)
	}
	payloadTypes := map[reflect.Type]schemaKey{}
	for _, s := range events.Catalog() {
		k := schemaKey{s.Type, s.Version}
		if !typePattern.MatchString(string(s.Type)) {
			t.Errorf("type %q: got a name outside %s, want category.event_name", s.Type, typePattern)
		}
		if strings.TrimSpace(s.Doc) == "" || strings.Contains(s.Doc, "\n") {
			t.Errorf("%s Doc: got %q, want one line", k, s.Doc)
		}
		typ := reflect.TypeOf(s.New())
		if other, dup := payloadTypes[typ]; dup {
			t.Errorf("%s payload: got %v, already used by %s, want one struct per (type, version)", k, typ, other)
		}
		payloadTypes[typ] = k
		checkJSONTags(t, k.String(), typ.Elem(), map[reflect.Type]bool{})
	}
}

// checkJSONTags requires every field of a payload struct, recursively, to
// carry an explicit camelCase JSON name, and pointers to be optional.
func checkJSONTags(t *testing.T, where string, typ reflect.Type, seen map[reflect.Type]bool) {
	t.Helper()
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(time.Time{}) || seen[typ] {
		return
	}
	seen[typ] = true
	names := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, ok := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if !ok || !f.IsExported() || f.Anonymous || !jsonFieldPattern.MatchString(name) {
			t.Errorf("%s: field %s.%s: got json tag %q, want an exported field with a camelCase name", where, typ.Name(), f.Name, tag)
		}
		if names[name] {
			t.Errorf("%s: field %s.%s: got json name %q twice, want unique names", where, typ.Name(), f.Name, name)
		}
		names[name] = true
		if opts != "" && opts != "omitempty" && opts != "omitzero" {
			t.Errorf("%s: field %s.%s: got json options %q, want none, omitempty or omitzero", where, typ.Name(), f.Name, opts)
		}
		if f.Type.Kind() == reflect.Pointer && opts == "" {
			t.Errorf("%s: field %s.%s: got a pointer without omitempty, want pointers only for optional fields", where, typ.Name(), f.Name)
		}
		checkJSONTags(t, where, f.Type, seen)
	}
}
