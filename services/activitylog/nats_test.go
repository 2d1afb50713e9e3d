package activitylog_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/testenv"
)

// request sends a command over NATS as a clinical app does: the body is the
// HTTP body, the token travels in Authorization, path parameters in
// Carelog-Param-<Name>.
func natsRequest(t testing.TB, nc *nats.Conn, subject, token string, body any, header ...string) response {
	t.Helper()
	msg := nats.NewMsg(subject)
	switch b := body.(type) {
	case string:
		msg.Data = []byte(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		msg.Data = j
	}
	if token != "" {
		msg.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		msg.Header.Set(header[i], header[i+1])
	}
	reply, err := nc.RequestMsg(msg, 30*time.Second)
	if err != nil {
		t.Fatalf("request %s: %v", subject, err)
	}
	return response{status: natsapi.Status(reply), body: reply.Data}
}

// TestNATSEqualsHTTP sends the same commands over NATS and over HTTP: the
// same validation, the same statuses, the same bodies.
func TestNATSEqualsHTTP(t *testing.T) {
	e := setup(t)
	e.enroll("p-1", "p-2")
	nc := testenv.Connect(t, e.ns)

	// A refusal is the same error.
	vague := with(timeEntry("n-1", "p-1"), "notes", "CCM call – 20 minutes")
	viaNATS := natsRequest(t, nc, "carelog.cmd.time-entries.record", e.clinician, vague)
	viaHTTP := e.do("POST", "/v1/time-entries", e.clinician, vague)
	if viaNATS.status != http.StatusBadRequest || viaNATS.status != viaHTTP.status || !sameJSON(viaNATS.body, viaHTTP.body) {
		t.Fatalf("vague notes: NATS %d %s, HTTP %d %s; want the same 400", viaNATS.status, viaNATS.body, viaHTTP.status, viaHTTP.body)
	}
	wantError(t, natsRequest(t, nc, "carelog.cmd.time-entries.record", "", timeEntry("n-1", "p-1")), http.StatusUnauthorized, "unauthorized", "")
	wantError(t, natsRequest(t, nc, "carelog.cmd.time-entries.record", e.auditor, timeEntry("n-1", "p-1")), http.StatusForbidden, "forbidden", "")

	// An entry recorded over NATS is the one HTTP then sees as a replay.
	entry := timeEntry("n-1", "p-1")
	created := natsRequest(t, nc, "carelog.cmd.time-entries.record", e.clinician, entry)
	wantStatus(t, created, http.StatusCreated)
	replay := e.do("POST", "/v1/time-entries", e.clinician, entry)
	wantStatus(t, replay, http.StatusOK)
	if !sameJSON(created.body, replay.body) {
		t.Errorf("NATS 201 %s, HTTP replay %s: want the same body", created.body, replay.body)
	}
	// And the other way round.
	entry2 := timeEntry("h-1", "p-2")
	byHTTP := e.do("POST", "/v1/time-entries", e.clinician, entry2)
	wantStatus(t, byHTTP, http.StatusCreated)
	byNATS := natsRequest(t, nc, "carelog.cmd.time-entries.record", e.clinician, entry2)
	if byNATS.status != http.StatusOK || !sameJSON(byHTTP.body, byNATS.body) {
		t.Errorf("HTTP 201 %s, NATS replay %d %s: want 200 and the same body", byHTTP.body, byNATS.status, byNATS.body)
	}

	// A batch over NATS has the same per-item results as over HTTP.
	batch := map[string]any{"entries": []any{timeEntry("nb-1", "p-1"), with(timeEntry("nb-2", "p-2"), "minutes", 0), timeEntry("n-1", "p-1")}}
	bn := decodeBatch(t, natsRequest(t, nc, "carelog.cmd.time-entries.batch", e.clinician, batch))
	bh := decodeBatch(t, e.do("POST", "/v1/time-entries/batch", e.clinician, batch))
	want := []string{"stored", "rejected", "duplicate"}
	for i := range want {
		if bn.Results[i].Status != want[i] {
			t.Errorf("NATS batch results[%d]: got %s, want %s", i, bn.Results[i].Status, want[i])
		}
	}
	if bh.Results[0].Status != "duplicate" || bh.Results[0].Sequence != bn.Results[0].Sequence ||
		bh.Results[1].Error == nil || bn.Results[1].Error == nil || *bh.Results[1].Error != *bn.Results[1].Error {
		t.Errorf("HTTP after NATS: got %+v, want nb-1 duplicate at %d and the same rejection", bh.Results, bn.Results[0].Sequence)
	}

	// Corrections and voids name the entry in Carelog-Param-Id.
	fix := with(entry, "minutes", 15, "reason", "minutes mistyped")
	wantStatus(t, natsRequest(t, nc, "carelog.cmd.time-entries.correct", e.clinician, fix, "Carelog-Param-Id", "n-1"), http.StatusCreated)
	wantStatus(t, natsRequest(t, nc, "carelog.cmd.time-entries.correct", e.clinician, fix, "Carelog-Param-Id", "n-1"), http.StatusOK)
	wantError(t, natsRequest(t, nc, "carelog.cmd.time-entries.correct", e.clinician, fix), http.StatusBadRequest, "invalid", "Carelog-Param-Id")
	wantStatus(t, natsRequest(t, nc, "carelog.cmd.time-entries.void", e.clinician, map[string]any{"reason": "duplicate of h-1"}, "Carelog-Param-Id", "n-1"), http.StatusCreated)
	h := e.do("GET", "/v1/time-entries/n-1", e.auditor, nil).json(t)
	if hist := h["history"].([]any); len(hist) != 3 || h["voided"] != true {
		t.Errorf("n-1 after NATS correction and void: got %v", h)
	}

	// Encounters and external claims.
	visit := map[string]any{"id": "v-1", "kind": "annual_wellness_visit", "code": "G0438", "start": "2025-03-03T10:00:00-05:00", "ccmDiscussed": true}
	wantStatus(t, natsRequest(t, nc, "carelog.cmd.encounters.record", e.clinician, visit, "Carelog-Param-Id", "p-1"), http.StatusCreated)
	wantStatus(t, e.do("POST", "/v1/patients/p-1/encounters", e.clinician, visit), http.StatusOK)
	claim := map[string]any{"code": "G0181", "practitionerNpi": npi, "serviceMonth": "2025-03"}
	wantStatus(t, natsRequest(t, nc, "carelog.cmd.external-claims.record", e.clinician, claim, "Carelog-Param-Id", "p-1"), http.StatusCreated)
	wantStatus(t, e.do("POST", "/v1/patients/p-1/external-claims", e.clinician, claim), http.StatusOK)
}
