package billing_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
)

// evaluation is the contract's evaluation JSON as a client reads it.
type evaluation struct {
	PatientID      string `json:"patientId"`
	Month          string `json:"month"`
	Status         string `json:"status"`
	Program        string `json:"program"`
	Pathway        string `json:"pathway"`
	CountedMinutes int    `json:"countedMinutes"`
	Lines          []struct {
		Code            string   `json:"code"`
		Units           int      `json:"units"`
		DateOfService   string   `json:"dateOfService"`
		PractitionerNPI string   `json:"practitionerNpi"`
		Diagnoses       []string `json:"diagnoses"`
		Evidence        []string `json:"evidence"`
	} `json:"lines"`
	Reasons []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Minutes *int   `json:"minutes"`
		Needed  *int   `json:"needed"`
	} `json:"reasons"`
	Flags    []struct{ Code, Message string } `json:"flags"`
	Excluded []struct {
		EntryID string `json:"entryId"`
		Minutes int    `json:"minutes"`
		Code    string `json:"code"`
	} `json:"excluded"`
	AsOfSequence uint64          `json:"asOfSequence"`
	BatchID      string          `json:"batchId"`
	BilledLines  json.RawMessage `json:"billedLines"`
}

func (e evaluation) flags() []string {
	var out []string
	for _, f := range e.Flags {
		out = append(out, f.Code)
	}
	return out
}

func TestRoles(t *testing.T) {
	a := start(t)
	a.practice()
	a.enroll("p-1")
	path := "/v1/billing/months/2025-03/patients/p-1"
	wantError(t, a.do("GET", path, "", ""), 401, "unauthorized", "")
	wantError(t, a.do("GET", path, a.token(auth.Clinician), ""), 403, "forbidden", "")
	wantError(t, a.do("GET", "/v1/billing/months/2025-03", a.token(auth.Clinician), ""), 403, "forbidden", "")
	wantError(t, a.do("GET", "/v1/billing/funnel", a.token(auth.Clinician), ""), 403, "forbidden", "")
	for _, tok := range []string{a.token(auth.Biller), a.token(auth.Auditor), adminToken} {
		a.must(200, "GET", path, tok, "")
		a.must(200, "GET", "/v1/billing/months/2025-03", tok, "")
		a.must(200, "GET", "/v1/billing/funnel", tok, "")
	}
	if err := a.svc.Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v", err)
	}
}

func TestEvaluationEndpoint(t *testing.T) {
	a := start(t)
	biller := a.token(auth.Biller)
	a.practice()
	a.enroll("p-1")
	e1 := a.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 25)
	a.entry("p-1", "e-2", "ma", at(2025, 3, 12, 10, 0), 14)
	last := a.entry("p-1", "e-3", "front_desk", at(2025, 3, 13, 10, 0), 10)

	var ev evaluation
	a.must(200, "GET", "/v1/billing/months/2025-03/patients/p-1", biller, "").json(t, &ev)
	if ev.PatientID != "p-1" || ev.Month != "2025-03" || ev.Status != "billable" || ev.Program != "ccm" || ev.Pathway != "clinical_staff" || ev.CountedMinutes != 39 {
		t.Fatalf("evaluation: got %+v", ev)
	}
	if len(ev.Lines) != 1 || ev.Lines[0].Code != "99490" || ev.Lines[0].Units != 1 || ev.Lines[0].DateOfService != "2025-03-31" ||
		ev.Lines[0].PractitionerNPI != npiA || len(ev.Lines[0].Diagnoses) != 2 || len(ev.Lines[0].Evidence) != 5 {
		t.Errorf("lines: got %+v", ev.Lines)
	}
	if len(ev.Excluded) != 1 || ev.Excluded[0].Code != "non_clinical_staff" || ev.Excluded[0].Minutes != 10 {
		t.Errorf("excluded: got %+v, want e-3's 10 minutes as non_clinical_staff", ev.Excluded)
	}
	if ev.AsOfSequence != last.Sequence {
		t.Errorf("asOfSequence: got %d, want %d", ev.AsOfSequence, last.Sequence)
	}

	// A month without activity is evaluated on the fly.
	var apr evaluation
	a.must(200, "GET", "/v1/billing/months/2025-06/patients/p-1", biller, "").json(t, &apr)
	if apr.Status != "not_billable" || apr.CountedMinutes != 0 || len(apr.Reasons) != 1 || apr.Reasons[0].Code != "below_threshold" || *apr.Reasons[0].Minutes != 0 || *apr.Reasons[0].Needed != 20 {
		t.Errorf("June: got %+v, want not_billable below_threshold 0 of 20", apr)
	}
	// As of 10 March only e-1 was recorded.
	var asOf evaluation
	a.must(200, "GET", "/v1/billing/months/2025-03/patients/p-1?asOf=2025-03-10T00:00:00-05:00", biller, "").json(t, &asOf)
	if asOf.Status != "billable" || asOf.CountedMinutes != 25 || asOf.AsOfSequence != e1.Sequence {
		t.Errorf("as of 10 March: got %s %d min asOf %d, want billable 25 min asOf %d", asOf.Status, asOf.CountedMinutes, asOf.AsOfSequence, e1.Sequence)
	}
	wantError(t, a.do("GET", "/v1/billing/months/2025-03/patients/p-1?asOf=2024-01-01T00:00:00Z", biller, ""), 404, "not_found", "")
	wantError(t, a.do("GET", "/v1/billing/months/2025-03/patients/p-1?asOf=yesterday", biller, ""), 400, "invalid", "asOf")
	wantError(t, a.do("GET", "/v1/billing/months/2025-13/patients/p-1", biller, ""), 400, "invalid", "month")
	wantError(t, a.do("GET", "/v1/billing/months/2025-03/patients/p-9", biller, ""), 404, "not_found", "")
	wantError(t, a.do("GET", "/v1/billing/months/2025-03/patients/bad.id", biller, ""), 404, "not_found", "")
}

func TestMonthSummaryAndFunnel(t *testing.T) {
	a := start(t)
	biller := a.token(auth.Biller)
	a.practice()
	for _, id := range []string{"p-1", "p-2", "p-3"} {
		a.enroll(id)
	}
	a.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 45) // 99490 + 99439
	a.entry("p-2", "e-2", "rn", at(2025, 3, 4, 10, 0), 12) // below threshold
	a.entry("p-3", "e-3", "rn", at(2025, 3, 4, 10, 0), 25)
	a.patient("p-3", events.TypeConsentRevoked, events.ConsentRevoked{ConsentID: "c-p-3", RevokedAt: at(2025, 2, 20, 9, 0), RecordedBy: "RN Jo"})

	type summary struct {
		Month    string `json:"month"`
		Patients []struct {
			PatientID      string   `json:"patientId"`
			Status         string   `json:"status"`
			CountedMinutes int      `json:"countedMinutes"`
			Reasons        []string `json:"reasons"`
			Lines          []struct {
				Code  string `json:"code"`
				Units int    `json:"units"`
			} `json:"lines"`
		} `json:"patients"`
		Totals struct {
			Patients             int            `json:"patients"`
			ByStatus             map[string]int `json:"byStatus"`
			ByReason             map[string]int `json:"byReason"`
			Billable             int            `json:"billable"`
			Holds                int            `json:"holds"`
			Minutes              int            `json:"minutes"`
			MinutesHistogram     map[string]int `json:"minutesHistogram"`
			ExpectedRevenueCents int64          `json:"expectedRevenueCents"`
		} `json:"totals"`
	}
	var s summary
	a.must(200, "GET", "/v1/billing/months/2025-03", biller, "").json(t, &s)
	if s.Month != "2025-03" || len(s.Patients) != 3 || s.Patients[0].PatientID != "p-1" || s.Patients[0].Status != "billable" || len(s.Patients[0].Lines) != 2 {
		t.Fatalf("summary: got %+v", s)
	}
	tt := s.Totals
	if tt.Patients != 3 || tt.Billable != 1 || tt.Holds != 0 || tt.ByStatus["not_billable"] != 2 || tt.ByStatus["billed"] != 0 ||
		tt.ByReason["below_threshold"] != 1 || tt.ByReason["no_consent"] != 1 || tt.Minutes != 45+12+25 {
		t.Errorf("totals: got %+v", tt)
	}
	// p-3's minutes count although no consent covers them: the month is
	// refused for no_consent, not for its minutes.
	wantHist := map[string]int{"0": 0, "1-9": 0, "10-19": 1, "20-39": 1, "40-59": 1, "60+": 0}
	for k, v := range wantHist {
		if tt.MinutesHistogram[k] != v {
			t.Errorf("histogram[%s]: got %d, want %d (%v)", k, tt.MinutesHistogram[k], v, tt.MinutesHistogram)
		}
	}
	if tt.ExpectedRevenueCents != 6000+4600 {
		t.Errorf("expected revenue: got %d, want 10600 (99490 + 99439 at the 2025 national estimates)", tt.ExpectedRevenueCents)
	}
	var filtered summary
	a.must(200, "GET", "/v1/billing/months/2025-03?status=not_billable&reason=no_consent", biller, "").json(t, &filtered)
	if len(filtered.Patients) != 1 || filtered.Patients[0].PatientID != "p-3" || filtered.Totals.Patients != 1 {
		t.Errorf("filtered: got %+v, want p-3 alone", filtered)
	}
	// A month without activity lists every patient enrolled by then, on
	// the fly; one before the enrolments lists none.
	var june summary
	a.must(200, "GET", "/v1/billing/months/2025-06", biller, "").json(t, &june)
	if len(june.Patients) != 3 || june.Totals.ByStatus["not_billable"] != 3 || june.Totals.MinutesHistogram["0"] != 3 {
		t.Errorf("June: got %+v, want the 3 patients not billable with 0 minutes", june)
	}
	var nov summary
	a.must(200, "GET", "/v1/billing/months/2024-11", biller, "").json(t, &nov)
	if len(nov.Patients) != 0 || nov.Totals.Patients != 0 {
		t.Errorf("November 2024: got %+v, want nobody (enrolled in December)", nov)
	}
	wantError(t, a.do("GET", "/v1/billing/months/2025-03?status=paid", biller, ""), 400, "invalid", "status")
	wantError(t, a.do("GET", "/v1/billing/months/march", biller, ""), 400, "invalid", "month")

	var f struct {
		Enrolled, Qualifying, ConsentGranted, ConsentDeclined, ConsentRevoked, CarePlanEstablished, CopyProvided, BilledAtLeastOnce, Dropout int
		DropoutRate                                                                                                                          float64
	}
	a.must(200, "GET", "/v1/billing/funnel", biller, "").json(t, &f)
	if f.Enrolled != 3 || f.Qualifying != 3 || f.ConsentGranted != 3 || f.ConsentRevoked != 1 || f.Dropout != 1 || f.CarePlanEstablished != 3 || f.CopyProvided != 3 || f.BilledAtLeastOnce != 0 {
		t.Errorf("funnel: got %+v", f)
	}
	// Everyone's enrolment was recorded on 10 December 2024.
	a.must(200, "GET", "/v1/billing/funnel?from=2025-03-01&to=2025-03-31", biller, "").json(t, &f)
	if f.Enrolled != 0 {
		t.Errorf("funnel for March enrolments: got %d enrolled, want 0", f.Enrolled)
	}
	a.must(200, "GET", "/v1/billing/funnel?from=2024-12-10&to=2024-12-10", biller, "").json(t, &f)
	if f.Enrolled != 3 {
		t.Errorf("funnel for 10 December: got %d enrolled, want 3", f.Enrolled)
	}
	wantError(t, a.do("GET", "/v1/billing/funnel?from=2025-04-02&to=2025-04-01", biller, ""), 400, "invalid", "to")
	wantError(t, a.do("GET", "/v1/billing/funnel?from=April", biller, ""), 400, "invalid", "from")
}

// Closing the month through the claim-batch endpoint bills the billable
// months; a later fact keeps them billed and flags post_close_change.
func TestCloseMonthBillsAndFlagsLaterChanges(t *testing.T) {
	a := start(t)
	biller := a.token(auth.Biller)
	a.practice()
	a.enroll("p-1")
	a.enroll("p-2")
	a.entry("p-1", "e-1", "rn", at(2025, 3, 4, 10, 0), 45)
	a.entry("p-2", "e-2", "rn", at(2025, 3, 4, 10, 0), 10)

	var batch struct {
		ID    string `json:"id"`
		Lines []struct {
			PatientID string `json:"patientId"`
			Code      string `json:"code"`
		} `json:"lines"`
	}
	a.must(201, "POST", "/v1/billing/months/2025-03/claim-batches", biller, "").json(t, &batch)
	if batch.ID == "" || len(batch.Lines) != 2 || batch.Lines[0].PatientID != "p-1" {
		t.Fatalf("batch: got %+v", batch)
	}
	var ev evaluation
	a.must(200, "GET", "/v1/billing/months/2025-03/patients/p-1", biller, "").json(t, &ev)
	if ev.Status != "billed" || ev.BatchID != batch.ID || len(ev.Flags) != 0 {
		t.Fatalf("after closing: got %s batch %q flags %v, want billed in %s", ev.Status, ev.BatchID, ev.flags(), batch.ID)
	}
	a.patient("p-1", events.TypeTimeVoided, events.TimeVoided{EntryID: "e-1", Reason: "wrong patient"})
	a.must(200, "GET", "/v1/billing/months/2025-03/patients/p-1", biller, "").json(t, &ev)
	if ev.Status != "billed" || ev.CountedMinutes != 0 || len(ev.flags()) != 1 || ev.flags()[0] != "post_close_change" || len(ev.BilledLines) == 0 {
		t.Errorf("after a void: got %s %d min flags %v billedLines %s, want billed, 0 min, post_close_change with the billed lines", ev.Status, ev.CountedMinutes, ev.flags(), ev.BilledLines)
	}
	var p2 evaluation
	a.must(200, "GET", "/v1/billing/months/2025-03/patients/p-2", biller, "").json(t, &p2)
	if p2.Status != "not_billable" || p2.BatchID != "" {
		t.Errorf("p-2: got %s batch %q", p2.Status, p2.BatchID)
	}
	var f struct{ BilledAtLeastOnce int }
	a.must(200, "GET", "/v1/billing/funnel", biller, "").json(t, &f)
	if f.BilledAtLeastOnce != 1 {
		t.Errorf("funnel: billed at least once got %d, want 1", f.BilledAtLeastOnce)
	}
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	a := start(t)
	doc, err := a.spec.Document("Carelog billing", "test", a.echo.Routes())
	if err != nil {
		t.Fatalf("Document: %v", err)
	}
	var d struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/v1/billing/months/{month}/patients/{patientId}", "/v1/billing/months/{month}", "/v1/billing/funnel", "/v1/billing/months/{month}/claim-batches", "/v1/billing/claim-batches/{id}"} {
		if _, ok := d.Paths[p]["get"]; !ok && p != "/v1/billing/months/{month}/claim-batches" {
			t.Errorf("OpenAPI: no GET %s", p)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (billingConfig{FlushEvery: -1, EvaluationWorkers: -2}).validate(); err == nil {
		t.Error("negative settings: got nil, want an error")
	}
}
