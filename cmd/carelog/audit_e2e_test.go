package main_test

import (
	"bytes"
	"crypto/sha256"
	binenc "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minio/highwayhash"

	"github.com/carelog/carelog/pkg/natsserver"
)

// The audit trail through the real binary: three months of a patient's care
// written by a clinician, month 1 closed by a biller, corrections after the
// close, then everything read back by an auditor over the API and the
// `carelog audit` commands. TestAuditTamperedStore alters the store.
func TestAuditTrail(t *testing.T) {
	a := newAuditTrail(t)
	a.threeMonths(t)

	t.Run("history matches what was written", a.testHistory)
	t.Run("history pages and cuts", a.testHistoryCuts)
	t.Run("history through the CLI", a.testHistoryCLI)
	t.Run("state is bitemporal", a.testState)
	t.Run("batch still reproduces after later corrections", a.testVerifyBatch)
	t.Run("evidence packet of the billed month", a.testEvidence)
	t.Run("packet through the CLI", a.testPacketCLI)
	t.Run("roles and bad inputs", a.testRolesAndInputs)
	t.Run("access log names the reads and writes", a.testAccessLog)
}

const auditPatient = "p-audit"

// auditTrail is a running carelog with the tokens of each role and the
// patient's events in the order the clinician wrote them.
type auditTrail struct {
	p                          *proc
	dir                        string
	clinician, biller, auditor string
	written                    []writtenEvent
	bySeq                      map[string]uint64 // event id → log sequence
	batch                      map[string]any    // the month-1 claim batch as closed
}

type writtenEvent struct {
	id, typ string
	seq     uint64
}

func newAuditTrail(t *testing.T, serveArgs ...string) *auditTrail {
	t.Helper()
	a := &auditTrail{dir: t.TempDir(), bySeq: map[string]uint64{}}
	a.p = serve(t, a.dir, []string{"CARELOG_ADMIN_TOKEN=" + adminToken}, serveArgs...)
	a.clinician = clinic(t, a.p)
	a.biller = a.token(t, "biller")
	a.auditor = a.token(t, "auditor")
	return a
}

func (a *auditTrail) token(t *testing.T, role string) string {
	t.Helper()
	r := auditCall(t, a.p, "POST", "/v1/tokens", adminToken, map[string]any{"role": role, "name": role + " desk"})
	tok, _ := r.json(t)["token"].(string)
	if r.status != 201 || tok == "" {
		t.Fatalf("%s token: got %d %s, want 201 with a secret", role, r.status, r.body)
	}
	return tok
}

// auditCall is proc.do reporting to the calling (sub)test.
func auditCall(t *testing.T, p *proc, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.addr+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, b}
}

// get reads path as the auditor and decodes the 200 answer into v.
func (a *auditTrail) get(t *testing.T, path string, v any) {
	t.Helper()
	r := auditCall(t, a.p, "GET", path, a.auditor, nil)
	if r.status != 200 {
		t.Fatalf("GET %s: got %d %s, want 200", path, r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, r.body)
	}
}

// write posts a clinical fact of the patient as the clinician and remembers
// the event it wrote (the answer's eventId, or id for a care-plan copy).
func (a *auditTrail) write(t *testing.T, path, typ string, body any) writtenEvent {
	t.Helper()
	r := auditCall(t, a.p, "POST", path, a.clinician, body)
	m := r.json(t)
	id, _ := m["eventId"].(string)
	if id == "" {
		id, _ = m["id"].(string)
	}
	seq, _ := m["sequence"].(float64)
	if r.status != 201 || id == "" || seq == 0 {
		t.Fatalf("POST %s: got %d %s, want 201 with an event id and sequence", path, r.status, r.body)
	}
	w := writtenEvent{id: id, typ: typ, seq: uint64(seq)}
	a.written = append(a.written, w)
	a.bySeq[id] = w.seq
	return w
}

func auditEntry(id string, minutes int, startedAt, outcome string) map[string]any {
	return map[string]any{
		"id": id, "patientId": auditPatient, "staff": map[string]any{"id": "rn-4", "name": "RN Jo", "role": "rn"},
		"programs": []string{"ccm"}, "startedAt": startedAt, "minutes": minutes, "activity": "care_coordination",
		"notes": "Coordinated the cardiology follow-up and reviewed the medication list with the patient", "outcome": outcome,
	}
}

// threeMonths writes August to October 2026 (months over by the time the
// test runs, so closing August needs no force) and closes August after its
// facts; corrections of August and the months after follow the close.
func (a *auditTrail) threeMonths(t *testing.T) {
	t.Helper()
	base := "/v1/patients/" + auditPatient
	a.write(t, "/v1/patients", "patient.enrolled", map[string]any{"id": auditPatient, "mrn": "MRN-77", "name": map[string]any{"given": "Ada", "family": "Lovelace"},
		"birthDate": "1948-02-03", "mbi": "1EG4TE5MK73", "billingPractitionerNpi": npiA})
	a.write(t, base+"/conditions", "condition.recorded", map[string]any{"code": "I50.22", "description": "Chronic systolic heart failure", "expectedDurationMonths": 120, "significantRisk": true, "onsetDate": "2019-05-01"})
	a.write(t, base+"/conditions", "condition.recorded", map[string]any{"code": "E11.65", "description": "Type 2 diabetes with hyperglycemia", "expectedDurationMonths": 120, "significantRisk": true, "onsetDate": "2015-03-01"})
	a.write(t, base+"/consents", "consent.granted", map[string]any{"id": "c-audit", "program": "ccm", "practitionerNpi": npiA, "method": "verbal", "decision": "accepted",
		"obtainedAt": "2026-08-03T10:30:00-04:00", "obtainedBy": "RN Jo", "disclosures": []string{"availability_and_cost_sharing", "one_practitioner_per_month", "right_to_stop"}})
	plan := carePlan("plan-audit")
	plan["establishedAt"] = "2026-08-03T11:00:00-04:00"
	a.write(t, base+"/care-plans", "careplan.established", plan)
	a.write(t, base+"/encounters", "encounter.recorded", map[string]any{"id": "v-audit", "kind": "office_visit", "code": "99214", "practitionerNpi": npiA,
		"start": "2026-08-03T09:30:00-04:00", "end": "2026-08-03T10:00:00-04:00", "ccmDiscussed": true})
	a.write(t, "/v1/time-entries", "activity.time_recorded", auditEntry("te-aug-1", 25, "2026-08-10T10:00:00-04:00", "completed"))
	a.write(t, "/v1/time-entries", "activity.time_recorded", auditEntry("te-aug-2", 10, "2026-08-20T10:00:00-04:00", "unanswered"))
	// The copy was given on August 4th and recorded only now, after the
	// month's time: a late-recorded fact.
	a.write(t, base+"/care-plans/plan-audit/copies", "careplan.copy_provided", map[string]any{"providedAt": "2026-08-04T11:00:00-04:00", "to": "patient", "method": "portal"})

	r := auditCall(t, a.p, "POST", "/v1/billing/months/2026-08/claim-batches", a.biller, nil)
	if r.status != 201 {
		t.Fatalf("close 2026-08: got %d %s, want 201", r.status, r.body)
	}
	a.batch = r.json(t)

	a.write(t, "/v1/time-entries", "activity.time_recorded", auditEntry("te-sep-1", 30, "2026-09-08T10:00:00-04:00", "completed"))
	a.write(t, "/v1/time-entries", "activity.time_recorded", auditEntry("te-sep-2", 20, "2026-09-15T14:00:00-04:00", "completed"))
	corrected := auditEntry("te-aug-1", 15, "2026-08-10T10:00:00-04:00", "completed")
	corrected["reason"] = "the call lasted 15 minutes, not 25"
	a.write(t, "/v1/time-entries/te-aug-1/corrections", "activity.time_corrected", corrected)
	a.write(t, "/v1/time-entries/te-aug-2/void", "activity.time_voided", map[string]any{"reason": "entered for the wrong patient"})
	a.write(t, "/v1/time-entries/te-sep-2/void", "activity.time_voided", map[string]any{"reason": "duplicate of te-sep-1"})
	a.write(t, "/v1/time-entries", "activity.time_recorded", auditEntry("te-oct-1", 22, "2026-10-06T10:00:00-04:00", "completed"))
	// A condition known since August, recorded in October.
	a.write(t, base+"/conditions", "condition.recorded", map[string]any{"code": "N18.31", "description": "Chronic kidney disease, stage 3a",
		"expectedDurationMonths": 120, "significantRisk": true, "onsetDate": "2026-08-01"})
	a.write(t, base+"/consents/c-audit/revocation", "consent.revoked", map[string]any{"revokedAt": "2026-10-20T16:00:00-04:00", "recordedBy": "RN Jo", "reason": "patient asked to stop"})
	// An August revision of the plan, recorded only now.
	a.write(t, base+"/care-plans/plan-audit/revisions", "careplan.revised", map[string]any{"revisedAt": "2026-08-25T10:00:00-04:00", "authorNpi": npiA, "prognosis": "Good"})
}

// ---- history ----------------------------------------------------------------------

type auditHistory struct {
	PatientID string `json:"patientId"`
	Events    []struct {
		Sequence   uint64    `json:"sequence"`
		ID         string    `json:"id"`
		Type       string    `json:"type"`
		PatientID  string    `json:"patientId"`
		RecordedAt time.Time `json:"recordedAt"`
		Actor      struct {
			Role string `json:"role"`
		} `json:"actor"`
		PrevHash string `json:"prevHash"`
		Hash     string `json:"hash"`
		Chain    string `json:"chain"`
	} `json:"events"`
	Chain struct {
		Verified bool `json:"verified"`
		Checked  int  `json:"checked"`
		FirstBad *struct {
			Sequence uint64 `json:"sequence"`
			EventID  string `json:"eventId"`
			Problem  string `json:"problem"`
		} `json:"firstBad"`
	} `json:"chain"`
	Total     int    `json:"total"`
	NextAfter uint64 `json:"nextAfter"`
}

func (h auditHistory) ids() []string {
	out := make([]string, len(h.Events))
	for i, e := range h.Events {
		out[i] = fmt.Sprintf("%d %s %s", e.Sequence, e.Type, e.ID)
	}
	return out
}

func (a *auditTrail) wantIDs(n int) []string {
	out := make([]string, n)
	for i, w := range a.written[:n] {
		out[i] = fmt.Sprintf("%d %s %s", w.seq, w.typ, w.id)
	}
	return out
}

func (a *auditTrail) history(t *testing.T, query string) auditHistory {
	t.Helper()
	var h auditHistory
	a.get(t, "/v1/audit/patients/"+auditPatient+"/history?"+query, &h)
	return h
}

func (a *auditTrail) testHistory(t *testing.T) {
	h := a.history(t, "")
	if got, want := h.ids(), a.wantIDs(len(a.written)); !reflect.DeepEqual(got, want) {
		t.Fatalf("history: got\n%s\nwant (as written)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !h.Chain.Verified || h.Chain.Checked != len(a.written) || h.Chain.FirstBad != nil || h.Total != len(a.written) || h.NextAfter != 0 {
		t.Fatalf("chain: got %+v total %d nextAfter %d, want verified with %d checked", h.Chain, h.Total, h.NextAfter, len(a.written))
	}
	prev := ""
	for _, e := range h.Events {
		if e.PrevHash != prev || e.Hash == "" || e.Chain != "verified" || e.PatientID != auditPatient || e.Actor.Role != "clinician" {
			t.Fatalf("event %d: got prevHash %.12s hash %.12s chain %q patient %q actor %q, want linked to %.12s, verified, %s by a clinician",
				e.Sequence, e.PrevHash, e.Hash, e.Chain, e.PatientID, e.Actor.Role, prev, auditPatient)
		}
		prev = e.Hash
	}
}

func (a *auditTrail) testHistoryCuts(t *testing.T) {
	var pages []string
	after := uint64(0)
	for n := 0; ; n++ {
		if n > len(a.written) {
			t.Fatalf("pagination did not end after %d pages", n)
		}
		h := a.history(t, fmt.Sprintf("limit=5&after=%d", after))
		if len(h.Events) > 5 || h.Total != len(a.written) || !h.Chain.Verified {
			t.Fatalf("page %d: got %d events, total %d, chain %+v; want at most 5 of %d, verified", n, len(h.Events), h.Total, h.Chain, len(a.written))
		}
		pages = append(pages, h.ids()...)
		if h.NextAfter == 0 {
			break
		}
		after = h.NextAfter
	}
	if want := a.wantIDs(len(a.written)); !reflect.DeepEqual(pages, want) {
		t.Fatalf("pages of 5: got\n%s\nwant\n%s", strings.Join(pages, "\n"), strings.Join(want, "\n"))
	}

	const k = 7 // through te-aug-1
	cut := a.history(t, fmt.Sprintf("untilSequence=%d", a.written[k-1].seq))
	if got, want := cut.ids(), a.wantIDs(k); !reflect.DeepEqual(got, want) || cut.Total != k || cut.Chain.Checked != k {
		t.Fatalf("untilSequence=%d: got %v (total %d, checked %d), want %v", a.written[k-1].seq, got, cut.Total, cut.Chain.Checked, want)
	}
	full := a.history(t, "")
	asOf := full.Events[k-1].RecordedAt.Format(time.RFC3339Nano)
	known := a.history(t, "asOf="+url.QueryEscape(asOf))
	if got, want := known.ids(), a.wantIDs(k); !reflect.DeepEqual(got, want) || known.Total != k || !known.Chain.Verified {
		t.Fatalf("asOf=%s: got %v (total %d), want %v", asOf, got, known.Total, want)
	}
}

// auditCLI runs `carelog audit args...` against the trail's server with
// the given token and returns its output and exit code.
func (a *auditTrail) cli(t *testing.T, token string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"audit"}, args...)...)
	cmd.Env = append(os.Environ(), "CARELOG_URL="+a.p.addr, "CARELOG_TOKEN="+token)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("carelog audit %v: %v", args, err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func (a *auditTrail) testHistoryCLI(t *testing.T) {
	out, errOut, code := a.cli(t, a.auditor, "history", "--patient", auditPatient, "--format", "table")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := fmt.Sprintf("chain: verified (%d events)", len(a.written))
	if code != 0 || len(lines) != len(a.written)+2 || lines[len(lines)-1] != want {
		t.Fatalf("audit history: got exit %d, %d lines, stderr %q:\n%s\nwant exit 0, a header, %d events and %q", code, len(lines), errOut, out, len(a.written), want)
	}
	for i, w := range a.written {
		f := strings.Fields(lines[i+1])
		if len(f) < 7 || f[0] != fmt.Sprint(w.seq) || f[3] != w.typ || f[len(f)-1] != "verified" {
			t.Fatalf("audit history line %d: got %q, want sequence %d, type %s, verified", i+1, lines[i+1], w.seq, w.typ)
		}
	}

	out, _, code = a.cli(t, a.auditor, "history", "--patient", auditPatient, "--format", "json", "--until-seq", fmt.Sprint(a.written[4].seq))
	var h auditHistory
	if err := json.Unmarshal([]byte(out), &h); err != nil || code != 0 {
		t.Fatalf("audit history --format json: got exit %d, %v:\n%s", code, err, out)
	}
	if got, want := h.ids(), a.wantIDs(5); !reflect.DeepEqual(got, want) || !h.Chain.Verified {
		t.Fatalf("audit history --until-seq: got %v %+v, want %v verified", got, h.Chain, want)
	}

	_, errOut, code = a.cli(t, a.auditor, "history", "--patient", auditPatient, "--as-of", "yesterday")
	if code != 1 || !strings.Contains(errOut, "carelog: invalid asOf:") {
		t.Fatalf("audit history --as-of yesterday: got exit %d, stderr %q; want 1 and carelog: invalid asOf: …", code, errOut)
	}
	_, errOut, code = a.cli(t, a.clinician, "history", "--patient", auditPatient)
	if code != 1 || !strings.HasPrefix(errOut, "carelog: forbidden: ") {
		t.Fatalf("audit history as a clinician: got exit %d, stderr %q; want 1 and carelog: forbidden: …", code, errOut)
	}
}

// ---- state ----------------------------------------------------------------------

type auditState struct {
	Conditions []struct {
		Code string `json:"code"`
	} `json:"conditions"`
	Consents []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"consents"`
	CarePlans []struct {
		ID     string `json:"id"`
		Copies []struct {
			EventID string `json:"eventId"`
		} `json:"copies"`
	} `json:"carePlans"`
	Months []struct {
		Month string `json:"month"`
	} `json:"months"`
}

func (a *auditTrail) state(t *testing.T, effectiveAt, asOf string) auditState {
	t.Helper()
	q := url.Values{"effectiveAt": {effectiveAt}}
	if asOf != "" {
		q.Set("asOf", asOf)
	}
	var s auditState
	a.get(t, "/v1/audit/patients/"+auditPatient+"/state?"+q.Encode(), &s)
	return s
}

func (s auditState) consentStatus() string {
	if len(s.Consents) != 1 {
		return fmt.Sprintf("%d consents", len(s.Consents))
	}
	return s.Consents[0].Status
}

func (s auditState) codes() []string {
	var out []string
	for _, c := range s.Conditions {
		out = append(out, c.Code)
	}
	return out
}

func (a *auditTrail) testState(t *testing.T) {
	if got := a.state(t, "2026-10-15", "").consentStatus(); got != "in_force" {
		t.Errorf("consent on 2026-10-15, before the revocation: got %s, want in_force", got)
	}
	after := a.state(t, "2026-10-25T12:00:00-04:00", "")
	if got := after.consentStatus(); got != "revoked" {
		t.Errorf("consent on 2026-10-25, after the revocation: got %s, want revoked", got)
	}
	if len(after.Months) == 0 || after.Months[0].Month != "2026-08" {
		t.Errorf("months: got %+v, want the evaluations from 2026-08", after.Months)
	}

	full := a.history(t, "")
	recorded := func(id string) time.Time {
		for _, e := range full.Events {
			if e.ID == id {
				return e.RecordedAt
			}
		}
		t.Fatalf("event %s not in the history", id)
		return time.Time{}
	}
	var ckd writtenEvent // N18.31, onset 2026-08-01, recorded in October: the last condition written
	for _, w := range a.written {
		if w.typ == "condition.recorded" {
			ckd = w
		}
	}
	before := recorded(ckd.id).Add(-time.Nanosecond).Format(time.RFC3339Nano)
	at := recorded(ckd.id).Format(time.RFC3339Nano)
	if got := a.state(t, "2026-08-31", before).codes(); !reflect.DeepEqual(got, []string{"I50.22", "E11.65"}) {
		t.Errorf("conditions in August as known before the late record: got %v, want [I50.22 E11.65]", got)
	}
	if got := a.state(t, "2026-08-31", at).codes(); !reflect.DeepEqual(got, []string{"I50.22", "E11.65", "N18.31"}) {
		t.Errorf("conditions in August as known after the late record: got %v, want [I50.22 E11.65 N18.31]", got)
	}

	cp := a.written[8] // the copy given on August 4th, recorded after the month's time
	if cp.typ != "careplan.copy_provided" {
		t.Fatalf("written[8]: got %s, want the care-plan copy", cp.typ)
	}
	copies := func(s auditState) int {
		if len(s.CarePlans) != 1 {
			t.Fatalf("care plans: got %+v, want plan-audit", s.CarePlans)
		}
		return len(s.CarePlans[0].Copies)
	}
	if n := copies(a.state(t, "2026-08-05", recorded(cp.id).Add(-time.Nanosecond).Format(time.RFC3339Nano))); n != 0 {
		t.Errorf("copies on August 5th as known before the copy was recorded: got %d, want 0", n)
	}
	if s := a.state(t, "2026-08-05", recorded(cp.id).Format(time.RFC3339Nano)); copies(s) != 1 || s.CarePlans[0].Copies[0].EventID != cp.id {
		t.Errorf("copies on August 5th as known once recorded: got %+v, want %s", s.CarePlans[0].Copies, cp.id)
	}
	if n := copies(a.state(t, "2026-08-03", "")); n != 0 {
		t.Errorf("copies on August 3rd (before it was given): got %d, want 0", n)
	}
}

// ---- batch verification -----------------------------------------------------------

func (a *auditTrail) testVerifyBatch(t *testing.T) {
	id, _ := a.batch["id"].(string)
	var ev struct {
		Flags []struct {
			Code string `json:"code"`
		} `json:"flags"`
		CountedMinutes int `json:"countedMinutes"`
	}
	r := auditCall(t, a.p, "GET", "/v1/billing/months/2026-08/patients/"+auditPatient, a.biller, nil)
	if err := json.Unmarshal(r.body, &ev); err != nil || r.status != 200 || ev.CountedMinutes != 15 {
		t.Fatalf("August today: got %d %s, want 15 counted minutes after the correction", r.status, r.body)
	}

	var v struct {
		BatchID         string `json:"batchId"`
		Month           string `json:"month"`
		LogSequence     uint64 `json:"logSequence"`
		Reproduced      bool   `json:"reproduced"`
		ContentHash     string `json:"contentHash"`
		RecomputedHash  string `json:"recomputedHash"`
		FirstDifference any    `json:"firstDifference"`
		EventsReplayed  uint64 `json:"eventsReplayed"`
	}
	a.get(t, "/v1/audit/claim-batches/"+id+"/verification", &v)
	logSeq, _ := a.batch["logSequence"].(float64)
	hash, _ := a.batch["contentHash"].(string)
	if !v.Reproduced || v.BatchID != id || v.Month != "2026-08" || v.LogSequence != uint64(logSeq) || v.ContentHash != hash ||
		v.RecomputedHash != hash || v.FirstDifference != nil || v.EventsReplayed != uint64(logSeq) {
		t.Fatalf("verification: got %+v, want %s reproduced at log sequence %v with hash %s", v, id, logSeq, hash)
	}

	out, errOut, code := a.cli(t, a.auditor, "verify-batch", id)
	for _, want := range []string{"reproduced           yes", "content hash         " + hash, "recomputed hash      " + hash, "first difference     none"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("audit verify-batch: got exit %d, stderr %q:\n%s\nwant exit 0 and %q", code, errOut, out, want)
		}
	}
	_, errOut, code = a.cli(t, a.auditor, "verify-batch", "batch-2026-08-9")
	if code != 1 || !strings.HasPrefix(errOut, "carelog: not_found: ") {
		t.Fatalf("audit verify-batch of an unknown batch: got exit %d, stderr %q; want 1 and carelog: not_found: …", code, errOut)
	}
}

// ---- evidence ---------------------------------------------------------------------

type auditPacket struct {
	CarePlanVersions []struct {
		Version   int   `json:"version"`
		Revisions []any `json:"revisions"`
	} `json:"carePlanVersions"`
	PatientID string `json:"patientId"`
	Month     string `json:"month"`
	Basis     string `json:"basis"`
	Claim     *struct {
		BatchID string `json:"batchId"`
		Lines   []struct {
			Code     string   `json:"code"`
			Units    int      `json:"units"`
			Evidence []string `json:"evidence"`
		} `json:"lines"`
	} `json:"claim"`
	Evaluation struct {
		Status string `json:"status"`
	} `json:"evaluation"`
	Current *struct {
		CountedMinutes int `json:"countedMinutes"`
	} `json:"current"`
	Consents []struct {
		ID          string   `json:"id"`
		Disclosures []string `json:"disclosures"`
		EventID     string   `json:"eventId"`
	} `json:"consents"`
	CarePlans []struct {
		ID     string `json:"id"`
		Copies []struct {
			EventID string `json:"eventId"`
		} `json:"copies"`
	} `json:"carePlans"`
	TimeEntries []struct {
		ID       string `json:"id"`
		EventID  string `json:"eventId"`
		Minutes  int    `json:"minutes"`
		Counted  bool   `json:"counted"`
		Excluded []struct {
			Code    string `json:"code"`
			Minutes int    `json:"minutes"`
		} `json:"excluded"`
	} `json:"timeEntries"`
	Events []struct {
		ID string `json:"id"`
	} `json:"events"`
	Chain struct {
		Verified bool `json:"verified"`
	} `json:"chain"`
}

func (a *auditTrail) testEvidence(t *testing.T) {
	var p auditPacket
	a.get(t, "/v1/audit/patients/"+auditPatient+"/evidence?month=2026-08", &p)
	batchID, _ := a.batch["id"].(string)
	if p.PatientID != auditPatient || p.Month != "2026-08" || p.Basis != "billed" || p.Claim == nil || p.Claim.BatchID != batchID || !p.Chain.Verified {
		t.Fatalf("packet: got patient %s month %s basis %s claim %+v chain %+v, want the billed month of %s with a verified chain", p.PatientID, p.Month, p.Basis, p.Claim, p.Chain, batchID)
	}
	if len(p.Claim.Lines) != 1 || p.Claim.Lines[0].Code != "99490" || p.Claim.Lines[0].Units != 1 || p.Evaluation.Status != "billable" {
		t.Fatalf("claim lines: got %+v (evaluation %s), want 99490 ×1 as billed", p.Claim.Lines, p.Evaluation.Status)
	}
	if p.Current == nil || p.Current.CountedMinutes != 15 {
		t.Errorf("current: got %+v, want today's evaluation (15 minutes after the correction) beside the billed one", p.Current)
	}
	if len(p.Consents) != 1 || p.Consents[0].EventID != "consent-c-audit" || len(p.Consents[0].Disclosures) != 3 {
		t.Errorf("consents: got %+v, want c-audit with its three disclosures", p.Consents)
	}
	copyID := a.written[8].id
	if len(p.CarePlans) != 1 || len(p.CarePlans[0].Copies) != 1 || p.CarePlans[0].Copies[0].EventID != copyID {
		t.Errorf("care plans: got %+v, want plan-audit with copy %s", p.CarePlans, copyID)
	}
	if len(p.CarePlanVersions) != 1 || p.CarePlanVersions[0].Version != 1 {
		t.Errorf("care plan versions as billed: got %+v, want version 1 (the August revision was recorded after the close)", p.CarePlanVersions)
	}
	var now auditPacket
	a.get(t, "/v1/audit/patients/"+auditPatient+"/evidence?month=2026-08&asOf="+url.QueryEscape(time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)), &now)
	if len(now.CarePlanVersions) != 1 || now.CarePlanVersions[0].Version != 2 || len(now.CarePlanVersions[0].Revisions) != 1 {
		t.Errorf("care plan versions as of now: got %+v, want version 2 with the August revision", now.CarePlanVersions)
	}
	entries := map[string]int{}
	for i, e := range p.TimeEntries {
		entries[e.ID] = i
	}
	i, ok := entries["te-aug-1"]
	if !ok || !p.TimeEntries[i].Counted || p.TimeEntries[i].EventID != "entry-te-aug-1" || p.TimeEntries[i].Minutes != 25 {
		t.Errorf("te-aug-1: got %+v, want counted, 25 minutes as billed, event entry-te-aug-1", p.TimeEntries)
	}
	j, ok := entries["te-aug-2"]
	if !ok || p.TimeEntries[j].Counted || len(p.TimeEntries[j].Excluded) != 1 || p.TimeEntries[j].Excluded[0].Code != "unanswered_outreach" || p.TimeEntries[j].EventID != "entry-te-aug-2" {
		t.Errorf("te-aug-2: got %+v, want excluded as unanswered_outreach", p.TimeEntries)
	}
	if len(p.TimeEntries) != 2 {
		t.Errorf("time entries: got %d, want August's 2", len(p.TimeEntries))
	}
	inPacket := map[string]bool{}
	for _, e := range p.Events {
		inPacket[e.ID] = true
	}
	for _, id := range append([]string{"entry-te-aug-1", "entry-te-aug-2", "consent-c-audit", "careplan-plan-audit", copyID}, p.Claim.Lines[0].Evidence...) {
		if !inPacket[id] {
			t.Errorf("packet events: %s missing from %d events", id, len(p.Events))
		}
	}
}

func (a *auditTrail) testPacketCLI(t *testing.T) {
	dir := t.TempDir()
	out, html := filepath.Join(dir, "packet.json"), filepath.Join(dir, "packet.html")
	stdout, errOut, code := a.cli(t, a.auditor, "packet", "--patient", auditPatient, "--month", "2026-08", "--out", out, "--html", html)
	if code != 0 {
		t.Fatalf("audit packet: got exit %d, stderr %q, stdout %q", code, errOut, stdout)
	}
	var fromCLI, fromAPI map[string]any
	b, err := os.ReadFile(out)
	if err != nil || json.Unmarshal(b, &fromCLI) != nil || !bytes.Contains(b, []byte("\n  \"format\"")) {
		t.Fatalf("packet file: got %v, want indented JSON:\n%.300s", err, b)
	}
	a.get(t, "/v1/audit/patients/"+auditPatient+"/evidence?month=2026-08", &fromAPI)
	if fromCLI["generatedAt"] == nil || fromAPI["generatedAt"] == nil {
		t.Fatalf("generatedAt: got %v and %v, want both set", fromCLI["generatedAt"], fromAPI["generatedAt"])
	}
	delete(fromCLI, "generatedAt")
	delete(fromAPI, "generatedAt")
	if !reflect.DeepEqual(fromCLI, fromAPI) {
		x, _ := json.Marshal(fromCLI)
		y, _ := json.Marshal(fromAPI)
		t.Fatalf("packet file differs from the API's packet:\n%.2000s\n%.2000s", x, y)
	}
	h, err := os.ReadFile(html)
	batchID, _ := a.batch["id"].(string)
	if err != nil || !bytes.Contains(bytes.ToLower(h), []byte("<html")) || !bytes.Contains(h, []byte(auditPatient)) || !bytes.Contains(h, []byte(batchID)) {
		t.Fatalf("packet html: got %v, want HTML naming %s and %s:\n%.500s", err, auditPatient, batchID, h)
	}

	_, errOut, code = a.cli(t, a.auditor, "packet", "--patient", auditPatient, "--month", "2026-13", "--out", filepath.Join(dir, "bad.json"))
	if code != 1 || !strings.HasPrefix(errOut, "carelog: invalid month: ") {
		t.Fatalf("audit packet --month 2026-13: got exit %d, stderr %q; want 1 and carelog: invalid month: …", code, errOut)
	}
}

// ---- roles and inputs ---------------------------------------------------------------

func (a *auditTrail) testRolesAndInputs(t *testing.T) {
	batchID, _ := a.batch["id"].(string)
	routes := []string{
		"/v1/audit/patients/" + auditPatient + "/history",
		"/v1/audit/patients/" + auditPatient + "/state",
		"/v1/audit/patients/" + auditPatient + "/evidence?month=2026-08",
		"/v1/audit/claim-batches/" + batchID + "/verification",
		"/v1/audit/access-log?patientId=" + auditPatient,
	}
	for _, route := range routes {
		for _, who := range []struct{ role, token string }{{"clinician", a.clinician}, {"biller", a.biller}} {
			t.Run(who.role+" "+route, func(t *testing.T) {
				wantError(t, auditCall(t, a.p, "GET", route, who.token, nil), 403, "forbidden", "")
			})
		}
		t.Run("no token "+route, func(t *testing.T) {
			wantError(t, auditCall(t, a.p, "GET", route, "", nil), 401, "unauthorized", "")
		})
		t.Run("admin "+route, func(t *testing.T) {
			if r := auditCall(t, a.p, "GET", route, adminToken, nil); r.status != 200 {
				t.Fatalf("admin: got %d %s, want 200", r.status, r.body)
			}
		})
	}
	hist := "/v1/audit/patients/" + auditPatient + "/history"
	cases := []struct {
		name, path  string
		status      int
		code, field string
	}{
		{"limit 0", hist + "?limit=0", 400, "invalid", "limit"},
		{"limit too large", hist + "?limit=1001", 400, "invalid", "limit"},
		{"asOf garbage", hist + "?asOf=garbage", 400, "invalid", "asOf"},
		{"untilSequence garbage", hist + "?untilSequence=-3", 400, "invalid", "untilSequence"},
		{"state asOf garbage", "/v1/audit/patients/" + auditPatient + "/state?asOf=garbage", 400, "invalid", "asOf"},
		{"state effectiveAt garbage", "/v1/audit/patients/" + auditPatient + "/state?effectiveAt=soon", 400, "invalid", "effectiveAt"},
		{"evidence without month", "/v1/audit/patients/" + auditPatient + "/evidence", 400, "invalid", "month"},
		{"evidence bad month", "/v1/audit/patients/" + auditPatient + "/evidence?month=2026-13", 400, "invalid", "month"},
		{"evidence bad format", "/v1/audit/patients/" + auditPatient + "/evidence?month=2026-08&format=pdf", 400, "invalid", "format"},
		{"bad batch id", "/v1/audit/claim-batches/not-a-batch/verification", 400, "invalid", "id"},
		{"access log since garbage", "/v1/audit/access-log?since=garbage", 400, "invalid", "since"},
		{"unknown batch", "/v1/audit/claim-batches/batch-2026-08-9/verification", 404, "not_found", ""},
		{"unknown patient history", "/v1/audit/patients/p-404/history", 404, "not_found", ""},
		{"unknown patient state", "/v1/audit/patients/p-404/state", 404, "not_found", ""},
		{"unknown patient evidence", "/v1/audit/patients/p-404/evidence?month=2026-08", 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, auditCall(t, a.p, "GET", c.path, a.auditor, nil), c.status, c.code, c.field)
		})
	}
}

// ---- access log ---------------------------------------------------------------------

type accessRecord struct {
	PatientID string `json:"patientId"`
	Role      string `json:"role"`
	Method    string `json:"method"`
	Route     string `json:"route"`
	Status    int    `json:"status"`
	Kind      string `json:"kind"`
	Target    string `json:"target"`
}

// accessRecords reads every page of the access log for query.
func (a *auditTrail) accessRecords(t *testing.T, query url.Values) []accessRecord {
	t.Helper()
	var all []accessRecord
	for {
		var page struct {
			Records   []accessRecord `json:"records"`
			NextAfter uint64         `json:"nextAfter"`
		}
		a.get(t, "/v1/audit/access-log?"+query.Encode(), &page)
		all = append(all, page.Records...)
		if page.NextAfter == 0 {
			return all
		}
		query.Set("after", fmt.Sprint(page.NextAfter))
	}
}

// missing returns the wanted "role kind method route" keys not among recs.
func missing(recs []accessRecord, want []string) []string {
	have := map[string]bool{}
	for _, r := range recs {
		have[fmt.Sprintf("%s %s %s %s", r.Role, r.Kind, r.Method, r.Route)] = true
	}
	var out []string
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}

// eventually polls check until it returns nil or the deadline passes (the
// access recorder writes asynchronously).
func eventually(t *testing.T, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("after %s: %v", within, err)
		case <-tick.C:
		}
	}
}

func (a *auditTrail) testAccessLog(t *testing.T) {
	want := []string{
		"auditor read GET /v1/audit/patients/:id/history",
		"auditor read GET /v1/audit/patients/:id/state",
		"auditor read GET /v1/audit/patients/:id/evidence",
		"clinician write POST /v1/patients",
		"clinician write POST /v1/patients/:id/conditions",
		"clinician write POST /v1/patients/:id/consents",
		"clinician write POST /v1/patients/:id/care-plans",
		"clinician write POST /v1/patients/:id/care-plans/:planId/copies",
		"clinician write POST /v1/patients/:id/encounters",
		"clinician write POST /v1/patients/:id/consents/:consentId/revocation",
		"clinician write POST /v1/time-entries",
		"clinician write POST /v1/time-entries/:id/corrections",
		"clinician write POST /v1/time-entries/:id/void",
		"biller read GET /v1/billing/months/:month/patients/:patientId",
	}
	var recs []accessRecord
	eventually(t, 15*time.Second, func() error {
		recs = a.accessRecords(t, url.Values{"patientId": {auditPatient}, "limit": {"7"}})
		if m := missing(recs, want); len(m) > 0 {
			return fmt.Errorf("access log of %s: %d records, missing %q", auditPatient, len(recs), m)
		}
		return nil
	})
	for _, r := range recs {
		if r.PatientID != auditPatient {
			t.Errorf("access log of %s: got a record of %q: %+v", auditPatient, r.PatientID, r)
		}
		if r.Role == "auditor" && strings.HasPrefix(r.Route, "/v1/audit/patients/") && r.Kind != "read" {
			t.Errorf("auditor record: got kind %q, want read: %+v", r.Kind, r)
		}
	}

	batchID, _ := a.batch["id"].(string)
	eventually(t, 15*time.Second, func() error {
		for _, r := range a.accessRecords(t, url.Values{"patientId": {"_"}}) {
			if r.Role == "auditor" && r.Kind == "read" && r.Route == "/v1/audit/claim-batches/:id/verification" && r.Status == 200 && strings.Contains(r.Target, batchID) {
				return nil
			}
		}
		return fmt.Errorf("access log of _: no auditor read of the verification of %s", batchID)
	})

	out, errOut, code := a.cli(t, a.auditor, "access-log", "--patient", auditPatient, "--format", "table")
	if code != 0 || !strings.Contains(out, "/v1/audit/patients/:id/evidence") || !strings.Contains(out, "/v1/time-entries/:id/void") {
		t.Fatalf("audit access-log: got exit %d, stderr %q:\n%s\nwant the evidence read and the void", code, errOut, out)
	}
}

// ---- tamper -------------------------------------------------------------------------

// TestAuditTamperedStore alters one stored event of the patient in copies
// of a stopped server's data directory (te-sep-1's minutes, 30 → 90, same
// length, with the store's own record checksum recomputed as an intruder
// with file access would).
//
// `carelog serve` on such a copy rebuilds its read models from the log and
// meets the altered event: it keeps serving reads so auditors can see the
// tamper, reports not ready naming the sequence, and refuses writes. The
// audit service's own binary, run against a NATS node on another copy,
// serves the same history, which stops at the altered event and names it,
// over the API and through `carelog audit history`.
func TestAuditTamperedStore(t *testing.T) {
	a := newAuditTrail(t)
	a.threeMonths(t)
	const target = "entry-te-sep-1"
	seq := a.bySeq[target]
	if h := a.history(t, ""); !h.Chain.Verified || h.Chain.Checked != len(a.written) {
		t.Fatalf("before tampering: got chain %+v, want verified with %d events", h.Chain, len(a.written))
	}
	a.p.stop()

	t.Run("carelog serve stays up for auditors, not ready and refusing writes", func(t *testing.T) {
		p := serve(t, tamperedCopy(t, a.dir, target), []string{"CARELOG_ADMIN_TOKEN=" + adminToken})
		eventually(t, 15*time.Second, func() error {
			r := p.do("GET", "/readyz", "", nil)
			if r.status != 503 || !strings.Contains(string(r.body), fmt.Sprintf(`"eventLogIntegrity":"failed at sequence %d"`, seq)) {
				return fmt.Errorf("readyz: got %d %s, want 503 naming sequence %d", r.status, r.body, seq)
			}
			return nil
		})
		if strings.Contains(string(p.do("GET", "/readyz", "", nil).body), auditPatient) {
			t.Error("readyz (no token) names the patient")
		}
		w := p.do("POST", "/v1/time-entries/"+target+"/void", a.clinician, map[string]any{"reason": "after tampering"})
		wantError(t, w, 503, "unavailable", "")
		b := &auditTrail{p: p, auditor: a.auditor}
		h := b.history(t, "")
		if bad := h.Chain.FirstBad; h.Chain.Verified || bad == nil || bad.Sequence != seq || bad.EventID != target || bad.Problem != "tampered" {
			t.Fatalf("history on the altered log: got chain %+v firstBad %+v, want %s at sequence %d tampered", h.Chain, bad, target, seq)
		}
		want := fmt.Sprintf(`"sequence":%d,"eventId":"%s"`, seq, target)
		if !strings.Contains(p.Stderr(), "failed integrity verification") || !strings.Contains(p.Stderr(), want) {
			t.Errorf("serve's log does not name the altered event (%s):\n%s", want, p.Stderr())
		}
	})

	t.Run("history names the altered event", func(t *testing.T) {
		b := &auditTrail{p: auditServiceOn(t, tamperedCopy(t, a.dir, target)), auditor: a.auditor}
		h := b.history(t, "")
		bad := h.Chain.FirstBad
		if h.Chain.Verified || bad == nil || bad.Sequence != seq || bad.EventID != target || bad.Problem != "tampered" {
			t.Fatalf("altered history: got chain %+v firstBad %+v, want %s at sequence %d tampered", h.Chain, bad, target, seq)
		}
		var before []string
		for _, w := range a.written {
			if w.seq < seq {
				before = append(before, fmt.Sprintf("%d %s %s", w.seq, w.typ, w.id))
			}
		}
		if got := h.ids(); !reflect.DeepEqual(got, before) || h.Chain.Checked != len(before) {
			t.Fatalf("altered history: got %v (checked %d), want the %d events before the altered one", got, h.Chain.Checked, len(before))
		}

		if cut := b.history(t, fmt.Sprintf("untilSequence=%d", seq-1)); !cut.Chain.Verified || cut.Chain.FirstBad != nil || cut.Chain.Checked != len(before) {
			t.Fatalf("history cut before the altered event: got chain %+v, want verified with %d events", cut.Chain, len(before))
		}

		out, errOut, code := b.cli(t, a.auditor, "history", "--patient", auditPatient, "--format", "table")
		want := fmt.Sprintf("chain: FAILED at sequence %d (event %s): tampered", seq, target)
		if code != 1 || !strings.Contains(out, want) {
			t.Fatalf("audit history on the altered copy: got exit %d, stderr %q:\n%s\nwant exit 1 and %q", code, errOut, out, want)
		}
	})
}

// auditServiceOn starts a NATS node on dataDir (network clients with a
// test token) and the audit service's own binary against it.
func auditServiceOn(t *testing.T, dataDir string) *proc {
	t.Helper()
	const natsToken = "e2e-nats-token-0123456789"
	ns, err := natsserver.Start(natsserver.Config{DataDir: dataDir, Listen: "127.0.0.1:0",
		Authenticate: func(tok string) (string, *natsserver.Permissions, bool) { return "audit", nil, tok == natsToken }})
	if err != nil {
		t.Fatalf("NATS on %s: %v", dataDir, err)
	}
	t.Cleanup(ns.Shutdown)
	bin := filepath.Join(t.TempDir(), "carelog-audit")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/carelog/carelog/services/audit/cmd/carelog-audit").CombinedOutput(); err != nil {
		t.Fatalf("build carelog-audit: %v\n%s", err, out)
	}
	p := &proc{t: t, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "--addr", "127.0.0.1:0", "--nats-url", ns.ClientURL())
	p.cmd.Env = append(os.Environ(), "CARELOG_NATS_TOKEN="+natsToken)
	startProc(t, p)
	return p
}

// tamperedCopy copies the stopped server's data directory and alters the
// stored event eventID in the copy (30 minutes become 90).
func tamperedCopy(t *testing.T, src, eventID string) string {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, src, dir)
	tamperStoredEvent(t, filepath.Join(dir, "jetstream"), eventID, `"minutes":30`, `"minutes":90`)
	return dir
}

// copyTree copies the regular files of src into dst, leaving out the lock
// of the stopped server.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if d.Name() == "carelog.lock" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// The NATS file store's message record (nats-server filestore.go): a
// 22-byte header (record length with the has-headers bit, sequence,
// timestamp, subject length), the subject, the headers (4-byte length
// first) when present, the payload and an 8-byte HighwayHash-64 of
// header[4:20], subject and headers+payload, keyed by the SHA-256 of
// "<stream>-<block index>".
const (
	blkHeaderSize = 22
	blkHashSize   = 8
	blkHeadersBit = 1 << 31
	blkErasedBit  = 1 << 63
)

// tamperStoredEvent replaces old with new (same length) in the stored
// CARELOG record of the event eventID, recomputes the record's checksum so
// that the store accepts it, and removes the stream's index so that the
// server rebuilds it from the blocks.
func tamperStoredEvent(t *testing.T, storeDir, eventID, old, new string) {
	t.Helper()
	if len(old) != len(new) {
		t.Fatalf("tamper: %q and %q differ in length", old, new)
	}
	blocks, _ := filepath.Glob(filepath.Join(storeDir, "jetstream", "*", "streams", "CARELOG", "msgs", "*.blk"))
	if len(blocks) == 0 {
		t.Fatalf("tamper: no CARELOG message blocks under %s", storeDir)
	}
	for _, blk := range blocks {
		if tamperBlock(t, blk, eventID, old, new) {
			os.Remove(filepath.Join(filepath.Dir(blk), "index.db"))
			return
		}
	}
	t.Fatalf("tamper: event %s with %q not found in %v", eventID, old, blocks)
}

func tamperBlock(t *testing.T, path, eventID, old, new string) bool {
	t.Helper()
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var index uint32
	if _, err := fmt.Sscanf(filepath.Base(path), "%d.blk", &index); err != nil {
		t.Fatalf("tamper: block name %s: %v", path, err)
	}
	key := sha256.Sum256(fmt.Appendf(nil, "CARELOG-%d", index))
	le := binenc.LittleEndian
	for off := 0; off+blkHeaderSize <= len(buf); {
		hdr := buf[off : off+blkHeaderSize]
		rl := int(le.Uint32(hdr) &^ blkHeadersBit)
		if rl < blkHeaderSize+blkHashSize || off+rl > len(buf) {
			t.Fatalf("tamper: %s: bad record length %d at offset %d", path, rl, off)
		}
		rec := buf[off : off+rl]
		data := rec[blkHeaderSize : rl-blkHashSize]
		at := bytes.Index(data, []byte(old))
		if le.Uint64(hdr[4:])&blkErasedBit == 0 && bytes.Contains(data, []byte(`"id":"`+eventID+`"`)) && at >= 0 {
			if bytes.Count(data, []byte(old)) != 1 {
				t.Fatalf("tamper: %q occurs more than once in %s", old, eventID)
			}
			copy(data[at:], new)
			slen := int(le.Uint16(hdr[20:]))
			hashed := data[slen:]
			if le.Uint32(hdr)&blkHeadersBit != 0 {
				hashed = data[slen+4:]
			}
			hh, err := highwayhash.NewDigest64(key[:])
			if err != nil {
				t.Fatal(err)
			}
			hh.Write(hdr[4:20])
			hh.Write(data[:slen])
			hh.Write(hashed)
			copy(rec[rl-blkHashSize:], hh.Sum(nil))
			if err := os.WriteFile(path, buf, 0o600); err != nil {
				t.Fatal(err)
			}
			return true
		}
		off += rl
	}
	return false
}
