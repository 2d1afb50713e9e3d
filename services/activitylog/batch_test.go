package activitylog_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/carelog/carelog/events"
)

type batchResult struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
	Late     bool   `json:"late"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

type batchResponse struct {
	Results []batchResult `json:"results"`
	Summary struct{ Stored, Duplicate, Rejected int }
}

func decodeBatch(t testing.TB, r response) batchResponse {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var out batchResponse
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("batch response %s: %v", r.body, err)
	}
	return out
}

// TestBatchPartialSuccess sends a batch mixing good and bad items: each
// item gets its own result, in request order, good items are stored despite
// the bad ones, and bad items write nothing.
func TestBatchPartialSuccess(t *testing.T) {
	e := setup(t)
	e.enroll("p-1", "p-2", "p-3")
	wantStatus(t, e.do("POST", "/v1/time-entries", e.clinician, timeEntry("e-old", "p-3")), http.StatusCreated)
	items := []any{
		timeEntry("b-0", "p-1"), // 0 stored
		with(timeEntry("b-1", "p-1"), "notes", "CCM call - 20 min"), // 1 rejected: vague notes
		timeEntry("b-2", "p-2"),                                             // 2 stored
		with(timeEntry("b-3", "p-2"), "minutes", "twenty"),                  // 3 rejected: wrong type
		with(timeEntry("b-4", "p-404")),                                     // 4 rejected: not enrolled
		timeEntry("b-0", "p-1"),                                             // 5 duplicate of 0
		with(timeEntry("b-2", "p-2"), "minutes", 21),                        // 6 rejected: id reused with other content
		with(timeEntry("b-7", "p-1"), "colour", "blue"),                     // 7 rejected: unknown field
		"not an object",                                                     // 8 rejected
		timeEntry("e-old", "p-3"),                                           // 9 duplicate of a stored entry
		with(timeEntry("b-10", "p-1"), "startedAt", "2025-03-01T09:00:00Z"), // 10 stored, late
		with(timeEntry("e-old", "p-1")),                                     // 11 rejected: id of another patient
		with(timeEntry("b-12", "p-2"), "staff", map[string]any{"id": "dr", "name": "Dr A", "role": "physician"}), // 12 rejected
	}
	want := []struct {
		status, code, field string
	}{
		{"stored", "", ""},
		{"rejected", "invalid", "entries[1].notes"},
		{"stored", "", ""},
		{"rejected", "invalid", "entries[3].minutes"},
		{"rejected", "not_found", "entries[4].patientId"},
		{"duplicate", "", ""},
		{"rejected", "conflict", "entries[6].id"},
		{"rejected", "invalid", "entries[7].colour"},
		{"rejected", "invalid", "entries[8]"},
		{"duplicate", "", ""},
		{"stored", "", ""},
		{"rejected", "conflict", "entries[11].id"},
		{"rejected", "invalid", "entries[12].staff.npi"},
	}
	before := e.lastSequence()
	out := decodeBatch(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{"entries": items}))
	if len(out.Results) != len(want) {
		t.Fatalf("got %d results, want %d", len(out.Results), len(want))
	}
	for i, w := range want {
		r := out.Results[i]
		code, field := "", ""
		if r.Error != nil {
			code, field = r.Error.Code, r.Error.Field
			if !strings.HasPrefix(r.Error.Message, field) && w.field != "entries[8]" {
				t.Errorf("results[%d]: message %q does not name the field %s first", i, r.Error.Message, field)
			}
		}
		if r.Status != w.status || code != w.code || field != w.field {
			t.Errorf("results[%d]: got %s %s %s (%+v), want %s %s %s", i, r.Status, code, field, r.Error, w.status, w.code, w.field)
		}
		if (r.Status == "stored" || r.Status == "duplicate") && (r.Sequence == 0 || r.EventID == "") {
			t.Errorf("results[%d]: got %+v, want an event id and a sequence", i, r)
		}
	}
	if out.Results[1].Error != nil && !strings.Contains(out.Results[1].Error.Message, "Vague notes like") {
		t.Errorf("vague notes: got %q, want the seed's rule quoted", out.Results[1].Error.Message)
	}
	if out.Results[5].Sequence != out.Results[0].Sequence || out.Results[0].ID != "b-0" || out.Results[4].ID != "b-4" {
		t.Errorf("duplicate in the batch: got %+v and %+v, want the same sequence", out.Results[0], out.Results[5])
	}
	if !out.Results[10].Late || out.Results[0].Late {
		t.Errorf("late flags: got b-10 %v, b-0 %v; want true, false", out.Results[10].Late, out.Results[0].Late)
	}
	if out.Summary.Stored != 3 || out.Summary.Duplicate != 2 || out.Summary.Rejected != 8 {
		t.Errorf("summary: got %+v, want 3 stored, 2 duplicate, 8 rejected", out.Summary)
	}
	if after := e.lastSequence(); after != before+3 {
		t.Errorf("log moved by %d events, want 3", after-before)
	}

	// Sending the batch again: what was stored is now duplicate; nothing is
	// written twice.
	again := decodeBatch(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{"entries": items}))
	for i, r := range again.Results {
		wantStatus := want[i].status
		if wantStatus == "stored" {
			wantStatus = "duplicate"
		}
		if r.Status != wantStatus || (r.Status == "duplicate" && r.Sequence != out.Results[i].Sequence) {
			t.Errorf("again results[%d]: got %s at %d, want %s at %d", i, r.Status, r.Sequence, wantStatus, out.Results[i].Sequence)
		}
	}
	if after := e.lastSequence(); after != before+3 {
		t.Errorf("after the re-send, log moved by %d events, want 3", after-before)
	}
	p1 := e.patientEvents("p-1")
	if len(p1) != 3 || p1[1].Type != events.TypeTimeRecorded || p1[1].ID != "entry-b-0" || p1[2].ID != "entry-b-10" {
		t.Errorf("p-1: got %d events, want enrolment, b-0, b-10 in request order", len(p1))
	}
}

func TestBatchLimits(t *testing.T) {
	e := setup(t)
	e.enroll("p-1")
	wantError(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{"entries": []any{}}), http.StatusBadRequest, "invalid", "entries")
	wantError(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{}), http.StatusBadRequest, "invalid", "entries")
	wantError(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{"entries": []any{}, "x": 1}), http.StatusBadRequest, "invalid", "x")
	wantError(t, e.do("POST", "/v1/time-entries/batch", e.clinician, `{"entries": {}}`), http.StatusBadRequest, "invalid", "entries")
	many := make([]any, 1001)
	for i := range many {
		many[i] = timeEntry(fmt.Sprintf("x-%d", i), "p-1")
	}
	before := e.lastSequence()
	wantError(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{"entries": many}), http.StatusBadRequest, "invalid", "entries")
	if e.lastSequence() != before {
		t.Error("a refused batch wrote events")
	}
	// 1,000 entries for one patient go through, in order.
	out := decodeBatch(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{"entries": many[:1000]}))
	if out.Summary.Stored != 1000 {
		t.Fatalf("1000 entries: got %+v", out.Summary)
	}
	for i := 1; i < 1000; i++ {
		if out.Results[i].Sequence <= out.Results[i-1].Sequence {
			t.Fatalf("results[%d] at %d after %d: want one patient's items appended in request order", i, out.Results[i].Sequence, out.Results[i-1].Sequence)
		}
	}
}

func TestBatchAcrossPatientsConcurrently(t *testing.T) {
	e := setup(t)
	var items []any
	for p := range 40 {
		e.enroll(fmt.Sprintf("p-%d", p))
	}
	for i := range 400 {
		items = append(items, timeEntry(fmt.Sprintf("c-%d", i), fmt.Sprintf("p-%d", i%40)))
	}
	out := decodeBatch(t, e.do("POST", "/v1/time-entries/batch", e.clinician, map[string]any{"entries": items}))
	if out.Summary.Stored != 400 {
		t.Fatalf("got %+v, want 400 stored", out.Summary)
	}
	for p := range 40 {
		recs := e.patientEvents(fmt.Sprintf("p-%d", p))
		if len(recs) != 11 {
			t.Fatalf("p-%d: got %d events, want 11", p, len(recs))
		}
		for k, r := range recs[1:] {
			if want := fmt.Sprintf("entry-c-%d", p+40*k); r.ID != want {
				t.Errorf("p-%d event %d: got %s, want %s (request order within a patient)", p, k, r.ID, want)
			}
		}
	}
}
