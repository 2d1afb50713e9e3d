package activitylog_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
)

func TestRecordTimeEntry(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	body := timeEntry("e-1", "p-1")
	r := e.do("POST", "/v1/time-entries", e.clinician, body, "X-Carelog-App", "nurse-app")
	wantStatus(t, r, http.StatusCreated)
	got := r.json(t)
	if got["id"] != "e-1" || got["patientId"] != "p-1" || got["eventId"] != "entry-e-1" || num(got["sequence"]) == 0 ||
		got["minutes"] != 20.0 || got["startedAt"] != "2025-03-14T08:30:00-05:00" || got["late"] != false || got["notes"] != goodNotes {
		t.Fatalf("got %s, want the stored entry with eventId entry-e-1, a sequence and late false", r.body)
	}
	recs := e.patientEvents("p-1")
	if len(recs) != 2 || recs[1].Type != events.TypeTimeRecorded || recs[1].Actor.App != "nurse-app" || recs[1].Actor.Role != "clinician" ||
		!recs[1].OccurredAt.Equal(mustTime("2025-03-14T13:30:00Z")) || !recs[1].RecordedAt.Equal(now) {
		t.Fatalf("stream: got %+v, want enrolment then time_recorded by the nurse app, occurred at the start of care", recs)
	}

	// An identical re-send is a no-op answered with the original.
	again := e.do("POST", "/v1/time-entries", e.clinician, body)
	wantStatus(t, again, http.StatusOK)
	if !sameJSON(again.body, r.body) {
		t.Errorf("replay: got %s, want the original %s", again.body, r.body)
	}
	// Different content under the same id is a conflict and writes nothing.
	before := e.lastSequence()
	wantError(t, e.do("POST", "/v1/time-entries", e.clinician, with(body, "minutes", 25)), http.StatusConflict, "conflict", "")
	if after := e.lastSequence(); after != before || len(e.patientEvents("p-1")) != 2 {
		t.Errorf("after the conflict: log at %d (was %d), want nothing written", after, before)
	}
	// An entry id belongs to one patient.
	e.enroll("p-2")
	wantError(t, e.do("POST", "/v1/time-entries", e.clinician, with(body, "patientId", "p-2")), http.StatusConflict, "conflict", "id")
	if n := len(e.patientEvents("p-2")); n != 1 {
		t.Errorf("p-2's stream: got %d events, want only its enrolment", n)
	}
}

// TestRecordRefusals sends requests that break a rule: each is answered
// with the contract's error naming the field and the rule, and writes
// nothing.
func TestRecordRefusals(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	e.do("POST", "/v1/patients/p-1/encounters", e.clinician, map[string]any{"id": "v-1", "kind": "office_visit", "start": "2025-03-10T09:00:00-05:00"})
	base := timeEntry("e-1", "p-1")
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
		msg    string
	}{
		{"unknown field", with(base, "duration", 20), 400, "invalid", "duration", "not a known field"},
		{"wrong type", with(base, "minutes", "20"), 400, "invalid", "minutes", "JSON integer"},
		{"not JSON", `{"id":`, 400, "invalid", "", "not valid JSON"},
		{"vague notes", with(base, "notes", "CCM call – 20 minutes"), 400, "invalid", "notes", domain.SeedRule},
		{"short notes", with(base, "notes", "Insulin"), 400, "invalid", "notes", "at least 10 characters"},
		{"practitioner without NPI", with(base, "staff", map[string]any{"id": "dr-a", "name": "Dr A", "role": "physician"}), 400, "invalid", "staff.npi", "required"},
		{"role outside the list", with(base, "staff", map[string]any{"id": "x", "name": "X", "role": "volunteer"}), 400, "invalid", "staff.role", "must be one of"},
		{"no program", with(base, "programs", []string{}), 400, "invalid", "programs", "at least one"},
		{"unknown program", with(base, "programs", []string{"ccm", "ccm2"}), 400, "invalid", "programs[1]", "must be one of"},
		{"start without offset", with(base, "startedAt", "2025-03-14T09:30:00"), 400, "invalid", "startedAt", "offset"},
		{"future work", with(base, "startedAt", "2025-03-15T09:30:00-05:00"), 400, "invalid", "startedAt", "future"},
		{"minutes over 480", with(base, "minutes", 481), 400, "invalid", "minutes", "between 1 and 480"},
		{"activity missing", with(base, "activity", ""), 400, "invalid", "activity", "is required"},
		{"patient not enrolled", with(base, "patientId", "p-404"), 404, "not_found", "patientId", "no enrolled patient"},
		{"unknown encounter", with(base, "encounterId", "v-404"), 400, "invalid", "encounterId", "encounter recorded for this patient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.lastSequence()
			errBody := wantError(t, e.do("POST", "/v1/time-entries", e.clinician, tt.body), tt.status, tt.code, tt.field)
			if msg, _ := errBody["message"].(string); !strings.Contains(msg, tt.msg) {
				t.Errorf("got message %q, want it to contain %q", msg, tt.msg)
			}
			if after := e.lastSequence(); after != before {
				t.Errorf("log moved from %d to %d, want nothing written", before, after)
			}
		})
	}
	// With the encounter, the entry is accepted.
	wantStatus(t, e.do("POST", "/v1/time-entries", e.clinician, with(base, "encounterId", "v-1")), http.StatusCreated)
}

func TestRoles(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	for _, tok := range []string{e.biller, e.auditor} {
		wantError(t, e.do("POST", "/v1/time-entries", tok, timeEntry("e-1", "p-1")), http.StatusForbidden, "forbidden", "")
		wantError(t, e.do("POST", "/v1/time-entries/batch", tok, map[string]any{"entries": []any{timeEntry("e-1", "p-1")}}), http.StatusForbidden, "forbidden", "")
		wantError(t, e.do("POST", "/v1/patients/p-1/encounters", tok, map[string]any{}), http.StatusForbidden, "forbidden", "")
	}
	wantError(t, e.do("POST", "/v1/time-entries", "", timeEntry("e-1", "p-1")), http.StatusUnauthorized, "unauthorized", "")
	wantStatus(t, e.do("POST", "/v1/time-entries", adminToken, timeEntry("e-1", "p-1")), http.StatusCreated)
	for _, tok := range []string{e.clinician, e.biller, e.auditor, adminToken} {
		wantStatus(t, e.do("GET", "/v1/time-entries/e-1", tok, nil), http.StatusOK)
		wantStatus(t, e.do("GET", "/v1/patients/p-1/time-entries?month=2025-03", tok, nil), http.StatusOK)
	}
	wantError(t, e.do("GET", "/v1/time-entries/e-1", "", nil), http.StatusUnauthorized, "unauthorized", "")
}

func TestLateEntry(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	// Ten days after the work: accepted, flagged late under the default 7 days.
	old := with(timeEntry("e-old", "p-1"), "startedAt", "2025-03-04T09:00:00-05:00")
	r := e.do("POST", "/v1/time-entries", e.clinician, old)
	wantStatus(t, r, http.StatusCreated)
	if r.json(t)["late"] != true {
		t.Fatalf("10 days late, default policy: got %s, want late true", r.body)
	}
	if got := e.do("GET", "/v1/time-entries/e-old", e.biller, nil).json(t); got["late"] != true {
		t.Errorf("read: got %v, want late true", got["late"])
	}
	// A practice that allows 30 days does not flag it.
	e.configure("America/Chicago", `{"lateEntryDays":30}`)
	if got := e.do("GET", "/v1/time-entries/e-old", e.biller, nil).json(t); got["late"] != false {
		t.Errorf("read with a 30-day policy: got %v, want late false", got["late"])
	}
	r = e.do("POST", "/v1/time-entries", e.clinician, with(old, "id", "e-old-2"))
	if r.json(t)["late"] != false {
		t.Errorf("write with a 30-day policy: got %s, want late false", r.body)
	}
}

// TestCorrectionAndVoidHistory corrects an entry twice and voids it: every
// event stays in the log and appears in the entry's history in order.
func TestCorrectionAndVoidHistory(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	entry := timeEntry("e-1", "p-1")
	rec := e.do("POST", "/v1/time-entries", e.clinician, entry)
	wantStatus(t, rec, http.StatusCreated)

	fix1 := with(entry, "minutes", 25, "reason", "minutes mistyped")
	c1 := e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, fix1)
	wantStatus(t, c1, http.StatusCreated)
	got := c1.json(t)
	if got["entryId"] != "e-1" || got["reason"] != "minutes mistyped" || got["patientId"] != "p-1" ||
		got["entry"].(map[string]any)["minutes"] != 25.0 || !strings.HasPrefix(got["eventId"].(string), "correction-") {
		t.Fatalf("correction: got %s", c1.body)
	}
	// A retry of the same correction writes nothing and answers the current version.
	retry := e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, fix1)
	wantStatus(t, retry, http.StatusOK)
	if rj := retry.json(t); num(rj["sequence"]) != num(got["sequence"]) || rj["eventId"] != got["eventId"] {
		t.Errorf("retry: got %s, want the first correction %s", retry.body, c1.body)
	}
	// id and patientId may be left out of a correction.
	fix2 := with(entry, "id", nil, "patientId", nil, "minutes", 30, "notes", "Reviewed glucose log; adjusted basal insulin by 2 units", "reason", "notes completed")
	c2 := e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, fix2)
	wantStatus(t, c2, http.StatusCreated)

	v := e.do("POST", "/v1/time-entries/e-1/void", e.clinician, map[string]any{"reason": "entered for the wrong patient"})
	wantStatus(t, v, http.StatusCreated)
	if vj := v.json(t); vj["eventId"] != "void-e-1" || vj["entryId"] != "e-1" || vj["patientId"] != "p-1" {
		t.Fatalf("void: got %s", v.body)
	}
	wantStatus(t, e.do("POST", "/v1/time-entries/e-1/void", e.clinician, map[string]any{"reason": "entered for the wrong patient"}), http.StatusOK)
	wantError(t, e.do("POST", "/v1/time-entries/e-1/void", e.clinician, map[string]any{"reason": "another reason"}), http.StatusConflict, "conflict", "")
	wantError(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, with(fix1, "minutes", 40)), http.StatusConflict, "conflict", "")

	h := e.do("GET", "/v1/time-entries/e-1", e.auditor, nil)
	wantStatus(t, h, http.StatusOK)
	var view struct {
		Minutes  int    `json:"minutes"`
		Voided   bool   `json:"voided"`
		Version  int    `json:"version"`
		EventID  string `json:"eventId"`
		Sequence uint64 `json:"sequence"`
		History  []struct {
			Type     string `json:"type"`
			EventID  string `json:"eventId"`
			Sequence uint64 `json:"sequence"`
			Reason   string `json:"reason"`
			Actor    struct{ Role string }
			Entry    *struct{ Minutes int }
		} `json:"history"`
	}
	if err := json.Unmarshal(h.body, &view); err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, x := range view.History {
		types = append(types, x.Type)
		if i > 0 && x.Sequence <= view.History[i-1].Sequence {
			t.Errorf("history[%d]: sequence %d after %d, want log order", i, x.Sequence, view.History[i-1].Sequence)
		}
	}
	if want := []string{"recorded", "corrected", "corrected", "voided"}; !reflect.DeepEqual(types, want) {
		t.Fatalf("history: got %v, want %v", types, want)
	}
	if view.History[0].Entry.Minutes != 20 || view.History[1].Entry.Minutes != 25 || view.History[2].Entry.Minutes != 30 ||
		view.History[3].Entry != nil || view.History[3].Reason != "entered for the wrong patient" || view.History[1].Actor.Role != "clinician" {
		t.Errorf("history contents: got %s", h.body)
	}
	if view.Minutes != 30 || !view.Voided || view.Version != 3 || view.EventID != view.History[2].EventID {
		t.Errorf("current: got %d min, voided %v, version %d, event %s; want 30, voided, 3, the last correction", view.Minutes, view.Voided, view.Version, view.EventID)
	}
	// The log holds all four events: nothing was rewritten.
	if recs := e.patientEvents("p-1"); len(recs) != 5 {
		t.Errorf("stream: got %d events, want enrolment, recording, 2 corrections and the void", len(recs))
	}
	// The month lists the voided entry apart.
	m := e.do("GET", "/v1/patients/p-1/time-entries?month=2025-03", e.biller, nil).json(t)
	if len(m["entries"].([]any)) != 0 || len(m["voided"].([]any)) != 1 || m["totalMinutes"] != 0.0 {
		t.Errorf("month: got %v, want the entry only among voided", m)
	}
}

func TestCorrections(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	entry := timeEntry("e-1", "p-1")
	wantStatus(t, e.do("POST", "/v1/time-entries", e.clinician, entry), http.StatusCreated)
	fix := func(minutes int) map[string]any { return with(entry, "minutes", minutes, "reason", "minutes mistyped") }

	// A → B → A writes three corrections: going back is a change.
	for _, m := range []int{25, 30, 25} {
		wantStatus(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, fix(m)), http.StatusCreated)
	}
	// The same content as the current version is no change, whatever the reason.
	r := e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, with(fix(25), "reason", "again"))
	wantStatus(t, r, http.StatusOK)
	if r.json(t)["reason"] != "minutes mistyped" {
		t.Errorf("unchanged: got %s, want the current version with its reason", r.body)
	}
	// With an Idempotency-Key, the key identifies the request.
	k1 := e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, fix(35), "Idempotency-Key", "fix-35")
	wantStatus(t, k1, http.StatusCreated)
	wantStatus(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, fix(35), "Idempotency-Key", "fix-35"), http.StatusOK)
	wantError(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, fix(40), "Idempotency-Key", "fix-35"), http.StatusConflict, "conflict", "")
	if n := len(e.patientEvents("p-1")); n != 6 {
		t.Errorf("stream: got %d events, want enrolment, recording and 4 corrections", n)
	}

	before := e.lastSequence()
	wantError(t, e.do("POST", "/v1/time-entries/e-404/corrections", e.clinician, fix(20)), http.StatusNotFound, "not_found", "")
	wantError(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, with(fix(20), "reason", nil)), http.StatusBadRequest, "invalid", "reason")
	wantError(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, with(fix(20), "notes", "CCM 20 min")), http.StatusBadRequest, "invalid", "notes")
	wantError(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, with(fix(20), "patientId", "p-2")), http.StatusBadRequest, "invalid", "patientId")
	wantError(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, with(fix(20), "id", "e-2")), http.StatusBadRequest, "invalid", "id")
	wantError(t, e.do("POST", "/v1/time-entries/e-1/corrections", e.clinician, with(fix(20), "extra", 1)), http.StatusBadRequest, "invalid", "extra")
	wantError(t, e.do("POST", "/v1/time-entries/e-404/void", e.clinician, map[string]any{"reason": "x"}), http.StatusNotFound, "not_found", "")
	wantError(t, e.do("POST", "/v1/time-entries/e-1/void", e.clinician, map[string]any{}), http.StatusBadRequest, "invalid", "reason")
	wantError(t, e.do("POST", "/v1/time-entries/e%201/void", e.clinician, map[string]any{"reason": "x"}), http.StatusBadRequest, "invalid", "id")
	if after := e.lastSequence(); after != before {
		t.Errorf("log moved from %d to %d, want the refusals to write nothing", before, after)
	}
}

func TestEncounters(t *testing.T) {
	e := setup(t)
	e.enroll("p-1", "p-2")
	visit := map[string]any{"id": "v-1", "kind": "office_visit", "code": "99214", "practitionerNpi": npi,
		"start": "2025-03-10T09:00:00-05:00", "end": "2025-03-10T09:30:00-05:00", "timeBased": true, "ccmDiscussed": true}
	r := e.do("POST", "/v1/patients/p-1/encounters", e.clinician, visit)
	wantStatus(t, r, http.StatusCreated)
	if got := r.json(t); got["id"] != "v-1" || got["eventId"] != "encounter-v-1" || got["patientId"] != "p-1" || got["timeBased"] != true {
		t.Fatalf("got %s", r.body)
	}
	wantStatus(t, e.do("POST", "/v1/patients/p-1/encounters", e.clinician, visit), http.StatusOK)
	wantError(t, e.do("POST", "/v1/patients/p-1/encounters", e.clinician, with(visit, "code", "99215")), http.StatusConflict, "conflict", "")
	wantError(t, e.do("POST", "/v1/patients/p-2/encounters", e.clinician, visit), http.StatusConflict, "conflict", "id")
	// Without a client id, the Idempotency-Key identifies the encounter.
	stay := map[string]any{"kind": "inpatient_stay", "start": "2025-03-01T12:00:00-05:00", "end": "2025-03-04T10:00:00-05:00"}
	s1 := e.do("POST", "/v1/patients/p-1/encounters", e.clinician, stay, "Idempotency-Key", "adt-7781")
	wantStatus(t, s1, http.StatusCreated)
	s2 := e.do("POST", "/v1/patients/p-1/encounters", e.clinician, stay, "Idempotency-Key", "adt-7781")
	wantStatus(t, s2, http.StatusOK)
	if s1.json(t)["id"] != s2.json(t)["id"] || s1.json(t)["id"] == "" {
		t.Errorf("keyed retry: got ids %v and %v, want the same", s1.json(t)["id"], s2.json(t)["id"])
	}
	before := e.lastSequence()
	wantError(t, e.do("POST", "/v1/patients/p-404/encounters", e.clinician, with(visit, "id", "v-9")), http.StatusNotFound, "not_found", "patientId")
	wantError(t, e.do("POST", "/v1/patients/p-1/encounters", e.clinician, with(visit, "id", "v-9", "kind", "house_call")), http.StatusBadRequest, "invalid", "kind")
	wantError(t, e.do("POST", "/v1/patients/p-1/encounters", e.clinician, with(stay, "g0506", true)), http.StatusBadRequest, "invalid", "g0506")
	wantError(t, e.do("POST", "/v1/patients/p.1/encounters", e.clinician, visit), http.StatusBadRequest, "invalid", "id")
	if after := e.lastSequence(); after != before {
		t.Errorf("log moved from %d to %d, want nothing written", before, after)
	}
	if n := len(e.patientEvents("p-1")); n != 3 {
		t.Errorf("p-1: got %d events, want enrolment, visit and stay", n)
	}
}

func TestExternalClaims(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	claim := map[string]any{"code": "99490", "practitionerNpi": "1245319599", "serviceMonth": "2025-02", "dateOfService": "2025-02-28"}
	r := e.do("POST", "/v1/patients/p-1/external-claims", e.clinician, claim)
	wantStatus(t, r, http.StatusCreated)
	if got := r.json(t); got["code"] != "99490" || got["patientId"] != "p-1" || !strings.HasPrefix(got["eventId"].(string), "external-claim-") {
		t.Fatalf("got %s", r.body)
	}
	// A claim feed that sends the same claim again writes nothing.
	again := e.do("POST", "/v1/patients/p-1/external-claims", e.clinician, claim)
	wantStatus(t, again, http.StatusOK)
	if !sameJSON(again.body, r.body) {
		t.Errorf("replay: got %s, want %s", again.body, r.body)
	}
	// A new status is a new fact.
	wantStatus(t, e.do("POST", "/v1/patients/p-1/external-claims", e.clinician, with(claim, "status", "denied")), http.StatusCreated)
	before := e.lastSequence()
	wantError(t, e.do("POST", "/v1/patients/p-1/external-claims", e.clinician, with(claim, "practitionerNpi", nil)), http.StatusBadRequest, "invalid", "practitionerNpi")
	wantError(t, e.do("POST", "/v1/patients/p-1/external-claims", e.clinician, with(claim, "dateOfService", "2025-03-01")), http.StatusBadRequest, "invalid", "dateOfService")
	wantError(t, e.do("POST", "/v1/patients/p-1/external-claims", e.clinician, with(claim, "status", "   ")), http.StatusBadRequest, "invalid", "status")
	wantError(t, e.do("POST", "/v1/patients/p-9/external-claims", e.clinician, claim), http.StatusNotFound, "not_found", "patientId")
	if after := e.lastSequence(); after != before {
		t.Errorf("log moved from %d to %d, want nothing written", before, after)
	}
}

func TestMonthReads(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	e.configure("America/New_York", `{}`)
	// 23:50 on 28 Feb in New York is March in UTC; it belongs to February.
	for _, x := range []struct{ id, start string }{
		{"feb", "2025-02-28T23:50:00-05:00"}, {"mar-2", "2025-03-12T10:00:00-04:00"}, {"mar-1", "2025-03-02T10:00:00-05:00"},
	} {
		wantStatus(t, e.do("POST", "/v1/time-entries", e.clinician, with(timeEntry(x.id, "p-1"), "startedAt", x.start, "minutes", 10)), http.StatusCreated)
	}
	r := e.do("GET", "/v1/patients/p-1/time-entries?month=2025-03", e.biller, nil)
	wantStatus(t, r, http.StatusOK)
	m := r.json(t)
	var ids []string
	for _, x := range m["entries"].([]any) {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	if !reflect.DeepEqual(ids, []string{"mar-1", "mar-2"}) || m["timezone"] != "America/New_York" || m["totalMinutes"] != 20.0 {
		t.Errorf("March: got %v in %v (%v minutes), want mar-1, mar-2 in America/New_York (20)", ids, m["timezone"], m["totalMinutes"])
	}
	if feb := e.do("GET", "/v1/patients/p-1/time-entries?month=2025-02", e.biller, nil).json(t); len(feb["entries"].([]any)) != 1 {
		t.Errorf("February: got %v, want the 23:50 entry", feb)
	}
	wantError(t, e.do("GET", "/v1/patients/p-1/time-entries", e.biller, nil), http.StatusBadRequest, "invalid", "month")
	wantError(t, e.do("GET", "/v1/patients/p-1/time-entries?month=03-2025", e.biller, nil), http.StatusBadRequest, "invalid", "month")
	wantError(t, e.do("GET", "/v1/patients/p-404/time-entries?month=2025-03", e.biller, nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.do("GET", "/v1/time-entries/e-404", e.biller, nil), http.StatusNotFound, "not_found", "")
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	e := setup(t)
	r := e.do("GET", "/openapi.json", "", nil)
	wantStatus(t, r, http.StatusOK)
	paths := r.json(t)["paths"].(map[string]any)
	for _, p := range []string{"/v1/time-entries", "/v1/time-entries/batch", "/v1/time-entries/{id}/corrections", "/v1/time-entries/{id}/void",
		"/v1/time-entries/{id}", "/v1/patients/{id}/encounters", "/v1/patients/{id}/external-claims", "/v1/patients/{id}/time-entries"} {
		if paths[p] == nil {
			t.Errorf("openapi: %s missing", p)
		}
	}
	if cmds := e.svc.Commands(); len(cmds) != 6 {
		t.Errorf("commands: got %d, want 6", len(cmds))
	}
	for _, c := range e.svc.Commands() {
		if !strings.HasPrefix(c.Subject, "carelog.cmd.") {
			t.Errorf("command %s: want carelog.cmd.<resource>.<action>", c.Subject)
		}
	}

}

// TestAccessLog checks that requests on routes without the patient in the
// path are recorded against the patient (ARCHITECTURE.md decision 8).
func TestAccessLog(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	wantStatus(t, e.do("POST", "/v1/time-entries", e.clinician, timeEntry("e-1", "p-1")), http.StatusCreated)
	wantStatus(t, e.do("GET", "/v1/time-entries/e-1", e.auditor, nil), http.StatusOK)
	wantStatus(t, e.do("POST", "/v1/time-entries/e-1/void", e.clinician, map[string]any{"reason": "recorded twice"}), http.StatusCreated)
	wantStatus(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{"entries": []any{timeEntry("e-2", "p-1")}}), http.StatusOK)
	wantStatus(t, e.do("GET", "/v1/patients/p-1/time-entries?month=2025-03", e.biller, nil), http.StatusOK)
	want := map[string]bool{
		"POST /v1/time-entries": true, "GET /v1/time-entries/:id": true, "POST /v1/time-entries/:id/void": true,
		"POST /v1/time-entries/batch": true, "GET /v1/patients/:id/time-entries": true,
	}
	js, _ := natsjs.New(e.nc)
	deadline := time.Now().Add(10 * time.Second)
	got := map[string]bool{}
	for poll := 0; len(got) < len(want) && time.Now().Before(deadline); poll++ {
		if poll > 0 {
			<-time.After(20 * time.Millisecond) // the recorder publishes asynchronously
		}
		got = map[string]bool{}
		s, err := js.Stream(context.Background(), accesslog.Stream)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := s.Info(context.Background())
		for seq := uint64(1); info != nil && seq <= info.State.LastSeq; seq++ {
			m, err := s.GetMsg(context.Background(), seq)
			if err != nil || m.Subject != accesslog.SubjectPrefix+"p-1" {
				continue
			}
			var r accesslog.Record
			if json.Unmarshal(m.Data, &r) == nil {
				got[r.Method+" "+r.Route] = true
			}
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("access log for p-1: %s missing; got %v", k, got)
		}
	}
}
