// Package httpapi is the activity-log service's HTTP adapter: echo handlers
// that bind the request strictly, validate it with the domain's rules, build
// the proposed event with pkg/request, run it through pkg/command against
// the domain's decide functions, and answer with the stored resource and its
// sequence (docs/services.md, "Write path"). They hold no rules: every rule
// is in internal/domain.
//
// Routes (mounted under /v1, behind authentication; admin passes every
// role check):
//
//	POST /time-entries                      clinician
//	POST /time-entries/batch                clinician
//	POST /time-entries/:id/corrections      clinician
//	POST /time-entries/:id/void             clinician
//	POST /patients/:id/encounters           clinician
//	POST /patients/:id/external-claims      clinician
//	GET  /time-entries/:id                  clinician, biller, auditor
//	GET  /patients/:id/time-entries?month=  clinician, biller, auditor
//
// Event ids, and so idempotency (contract.md, Conventions):
//
//   - a time entry is "entry-<id>" with the client's id: sending it again
//     with the same content answers 200 with the original and writes
//     nothing; different content under the id is 409. Entry ids are unique
//     across patients (an id recorded for one patient is 409 for another).
//   - a correction is "correction-" and a hash of the event it corrects and
//     of its content, so an identical retry writes once while A → B → A
//     still writes A again; a correction that would not change the entry
//     answers 200 with the current version. With an Idempotency-Key, the id
//     comes from the key (scoped to the entry) instead.
//   - a void is "void-<entry id>": an entry is voided at most once, so a
//     retry is recognized without a key.
//   - an encounter is "encounter-<id>" with the client's id, else from the
//     Idempotency-Key, else random.
//   - an external claim (which has no id in the contract) is from the
//     Idempotency-Key, else a hash of the patient and the claim's content:
//     a claim feed that sends the same claim again writes nothing.
//
// Every GET, and every write that must find an entry's patient (corrections,
// voids), first waits (at most ReadWait) until the read model has applied
// everything in the log at request time, so a client reads its own writes.
package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/command"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/pkg/request"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
	"github.com/carelog/carelog/services/activitylog/internal/readmodel"
)

// Prefix is where the routes are mounted (the group Routes receives).
const Prefix = "/v1"

// ReadWait bounds how long a request waits for the read model to catch up.
const ReadWait = 5 * time.Second

// Handlers serves the activity-log routes.
type Handlers struct {
	// Patients runs commands on patient streams.
	Patients *command.Executor[domain.Patient]
	Store    *readmodel.Store
	Runner   *projection.Runner
	Rules    domain.Rules
	// BatchMax is the most entries one batch may hold (1000);
	// BatchWorkers how many patients' entries a batch appends at once;
	// BatchBodyLimit the largest batch body in bytes.
	BatchMax       int
	BatchWorkers   int
	BatchBodyLimit int64
	// Now is the service clock.
	Now func() time.Time
}

// Mount registers every route on g (mounted at Prefix) and in spec.
func (h *Handlers) Mount(g *echo.Group, spec *openapi.Spec) {
	clinician := auth.Require(auth.Clinician)
	reader := auth.Require(auth.Clinician, auth.Biller, auth.Auditor)
	writeRoles := []string{string(auth.Clinician), string(auth.Admin)}
	readRoles := []string{string(auth.Clinician), string(auth.Biller), string(auth.Auditor), string(auth.Admin)}

	spec.Handle(g, http.MethodPost, "/time-entries", h.record, openapi.Op{
		Summary: "Record a time entry: who provided the service, what was done and the exact time spent (ccm-rules §6.1)",
		Roles:   writeRoles, Request: domain.EntryInput{}, Response: EntryResponse{}, Status: http.StatusCreated}, clinician)
	spec.Handle(g, http.MethodPost, "/time-entries/batch", h.batch, openapi.Op{
		Summary: "Record up to 1,000 time entries; each item is stored, duplicate or rejected on its own, results in request order",
		Roles:   writeRoles, Request: BatchRequest{}, Response: BatchResponse{}}, clinician)
	spec.Handle(g, http.MethodPost, "/time-entries/:id/corrections", h.correct, openapi.Op{
		Summary: "Correct a time entry: the full corrected entry and the reason; the original stays in its history",
		Roles:   writeRoles, Request: domain.CorrectionInput{}, Response: CorrectionResponse{}, Status: http.StatusCreated}, clinician)
	spec.Handle(g, http.MethodPost, "/time-entries/:id/void", h.void, openapi.Op{
		Summary: "Void a time entry with a reason; its minutes stop counting and it stays in its history",
		Roles:   writeRoles, Request: domain.VoidInput{}, Response: VoidResponse{}, Status: http.StatusCreated}, clinician)
	spec.Handle(g, http.MethodPost, "/patients/:id/encounters", h.recordEncounter, openapi.Op{
		Summary: "Record a visit (office, AWV, IPPE, TCM) or an inpatient/SNF stay",
		Roles:   writeRoles, Request: domain.EncounterInput{}, Response: EncounterResponse{}, Status: http.StatusCreated}, clinician)
	spec.Handle(g, http.MethodPost, "/patients/:id/external-claims", h.recordExternalClaim, openapi.Op{
		Summary: "Record a service billed outside Carelog, for the same-month exclusions",
		Roles:   writeRoles, Request: domain.ExternalClaimInput{}, Response: ExternalClaimResponse{}, Status: http.StatusCreated}, clinician)

	spec.Handle(g, http.MethodGet, "/time-entries/:id", h.getEntry, openapi.Op{
		Summary: "One time entry with corrections applied and its history of corrections and voids in log order",
		Roles:   readRoles, Response: readmodel.Entry{}}, reader)
	spec.Handle(g, http.MethodGet, "/patients/:id/time-entries", h.listMonth, openapi.Op{
		Summary: "A patient's time entries of a month (practice time zone), corrections applied; voided entries listed apart",
		Roles:   readRoles, Response: readmodel.Month{}, Query: map[string]string{"month": "the calendar month, YYYY-MM (required)"}}, reader)
}

// Commands lists the NATS command subjects (carelog.cmd.<resource>.<action>)
// served by the same handlers as the HTTP routes.
func Commands() []natsapi.Command {
	return []natsapi.Command{
		{Subject: "carelog.cmd.time-entries.record", Method: http.MethodPost, Path: Prefix + "/time-entries"},
		{Subject: "carelog.cmd.time-entries.batch", Method: http.MethodPost, Path: Prefix + "/time-entries/batch"},
		{Subject: "carelog.cmd.time-entries.correct", Method: http.MethodPost, Path: Prefix + "/time-entries/:id/corrections"},
		{Subject: "carelog.cmd.time-entries.void", Method: http.MethodPost, Path: Prefix + "/time-entries/:id/void"},
		{Subject: "carelog.cmd.encounters.record", Method: http.MethodPost, Path: Prefix + "/patients/:id/encounters"},
		{Subject: "carelog.cmd.external-claims.record", Method: http.MethodPost, Path: Prefix + "/patients/:id/external-claims"},
	}
}

// ---- responses -------------------------------------------------------------

// EntryResponse answers POST /v1/time-entries: the stored entry.
type EntryResponse struct {
	events.TimeEntry
	EventID    string    `json:"eventId"`
	Sequence   uint64    `json:"sequence"`
	RecordedAt time.Time `json:"recordedAt"`
	// Late: recorded more than the practice's lateEntryDays after the work
	// ended. The entry is stored; billing flags it late_entry.
	Late bool `json:"late"`
}

// CorrectionResponse answers POST /v1/time-entries/{id}/corrections: the
// stored correction (or, when the correction changed nothing, the entry's
// current version and the event that set it).
type CorrectionResponse struct {
	events.TimeCorrected
	PatientID  string    `json:"patientId"`
	EventID    string    `json:"eventId"`
	Sequence   uint64    `json:"sequence"`
	RecordedAt time.Time `json:"recordedAt"`
	Late       bool      `json:"late"`
}

// VoidResponse answers POST /v1/time-entries/{id}/void.
type VoidResponse struct {
	events.TimeVoided
	PatientID  string    `json:"patientId"`
	EventID    string    `json:"eventId"`
	Sequence   uint64    `json:"sequence"`
	RecordedAt time.Time `json:"recordedAt"`
}

// EncounterResponse answers POST /v1/patients/{id}/encounters.
type EncounterResponse struct {
	PatientID string `json:"patientId"`
	events.EncounterRecorded
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// ExternalClaimResponse answers POST /v1/patients/{id}/external-claims.
type ExternalClaimResponse struct {
	PatientID string `json:"patientId"`
	events.ExternalClaimRecorded
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// ---- time entries ----------------------------------------------------------

func (h *Handlers) record(c echo.Context) error {
	var in domain.EntryInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	touched(c, in.PatientID)
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	entry, err := h.Rules.Entry(in, m.RecordedAt)
	if err != nil {
		return err
	}
	if err := h.checkEntryOwner(entry); err != nil {
		return err
	}
	env, err := entryEvent(m, entry)
	if err != nil {
		return err
	}
	res, err := h.Patients.Execute(c.Request().Context(), env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideRecord(s, entry)
	})
	if err != nil {
		return err
	}
	body, err := h.entryBody(res, entry)
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, body)
}

// checkEntryOwner refuses an entry id already recorded for another patient:
// entry ids are global (GET /v1/time-entries/{id} has no patient), and the
// log's own duplicate window would catch the reuse only for two hours.
func (h *Handlers) checkEntryOwner(e events.TimeEntry) error {
	if pid, ok := h.Store.PatientOfEntry(e.ID); ok && pid != e.PatientID {
		return &errs.Error{Op: "activitylog.Record", Kind: errs.Conflict, Field: "id",
			Message: "id is already used by a time entry of another patient; choose a new id"}
	}
	return nil
}

func entryEvent(m request.Meta, e events.TimeEntry) (events.Envelope, error) {
	return m.Event(domain.PrefixEntry+"-"+e.ID, events.TypeTimeRecorded, events.PatientStream(e.PatientID), e.PatientID, e.StartedAt, events.TimeRecorded(e))
}

// entryBody builds the answer from the stored event, so a replay answers
// exactly what the original did. A new event's payload is the proposed
// entry (decide never changes it), so only a replay decodes the stored one.
func (h *Handlers) entryBody(res command.Result[domain.Patient], proposed events.TimeEntry) (EntryResponse, error) {
	rec, te := res.Record, proposed
	if !res.Created {
		e, ok := domain.Payload[events.TimeRecorded](rec)
		if !ok {
			return EntryResponse{}, errs.E("activitylog.Record", errs.Internal, "event %s is not a time entry", rec.ID)
		}
		te = events.TimeEntry(e)
	}
	return EntryResponse{TimeEntry: te, EventID: rec.ID, Sequence: rec.Sequence, RecordedAt: rec.RecordedAt,
		Late: domain.Late(te, rec.RecordedAt, h.Store.LateEntryDays())}, nil
}

func (h *Handlers) correct(c echo.Context) error {
	id := c.Param("id")
	if err := domain.CheckEntryID("id", id); err != nil {
		return err
	}
	var in domain.CorrectionInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The version being corrected must be the one the log holds now.
	if err := h.caughtUp(ctx); err != nil {
		return err
	}
	pid, cur, ok := h.Store.Entry(id)
	if !ok {
		return errs.E("activitylog.Correct", errs.NotFound, "time entry not found")
	}
	touched(c, pid)
	payload, err := h.Rules.Correction(id, pid, in, m.RecordedAt)
	if err != nil {
		return err
	}
	stream := events.PatientStream(pid)
	evID := m.EventID(domain.PrefixCorrection, stream+"/"+id, "")
	if m.IdempotencyKey == "" {
		evID = hashID(domain.PrefixCorrection, cur.EventID, payload)
	}
	env, err := m.Event(evID, events.TypeTimeCorrected, stream, pid, payload.Entry.StartedAt, payload)
	if err != nil {
		return err
	}
	var seen domain.Patient
	res, err := h.Patients.Execute(ctx, env, func(s domain.Patient, _ *events.Envelope) error {
		seen = s
		return domain.DecideCorrect(s, cur.EventID, payload)
	})
	if errors.Is(err, domain.ErrUnchanged) {
		st, _ := seen.Entries.Get(id)
		return pkghttp.WriteOK(c, CorrectionResponse{
			TimeCorrected: events.TimeCorrected{EntryID: id, Entry: st.Current, Reason: st.Reason},
			PatientID:     pid, EventID: st.EventID, Sequence: st.Sequence, RecordedAt: st.RecordedAt,
			Late: domain.Late(st.Current, cur.RecordedAt, h.Store.LateEntryDays()),
		})
	}
	if err != nil {
		return err
	}
	stored, ok := domain.Payload[events.TimeCorrected](res.Record)
	if !ok {
		return errs.E("activitylog.Correct", errs.Internal, "event %s is not a correction", res.Record.ID)
	}
	return request.Written(c, res.Created, CorrectionResponse{TimeCorrected: stored, PatientID: pid,
		EventID: res.Record.ID, Sequence: res.Record.Sequence, RecordedAt: res.Record.RecordedAt,
		Late: domain.Late(stored.Entry, cur.RecordedAt, h.Store.LateEntryDays())})
}

func (h *Handlers) void(c echo.Context) error {
	id := c.Param("id")
	if err := domain.CheckEntryID("id", id); err != nil {
		return err
	}
	var in domain.VoidInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	payload, err := domain.Void(id, in)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pid, err := h.patientOfEntry(ctx, id)
	if err != nil {
		return err
	}
	touched(c, pid)
	stream := events.PatientStream(pid)
	env, err := m.Event(domain.PrefixVoid+"-"+id, events.TypeTimeVoided, stream, pid, time.Time{}, payload)
	if err != nil {
		return err
	}
	res, err := h.Patients.Execute(ctx, env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideVoid(s, payload)
	})
	if _, stale := errors.AsType[*eventlog.ConflictError](err); errs.KindOf(err) == errs.Conflict && !stale {
		// The void's id is fixed per entry: a second void with another
		// reason meets the first one's id.
		return errs.E("activitylog.Void", errs.Conflict, "the time entry is already voided")
	}
	if err != nil {
		return err
	}
	stored, ok := domain.Payload[events.TimeVoided](res.Record)
	if !ok {
		return errs.E("activitylog.Void", errs.Internal, "event %s is not a void", res.Record.ID)
	}
	return request.Written(c, res.Created, VoidResponse{TimeVoided: stored, PatientID: pid,
		EventID: res.Record.ID, Sequence: res.Record.Sequence, RecordedAt: res.Record.RecordedAt})
}

// patientOfEntry finds the patient of an entry in the read model, waiting
// for it to catch up when the entry is not there yet (it may have just been
// recorded).
func (h *Handlers) patientOfEntry(ctx context.Context, id string) (string, error) {
	if pid, ok := h.Store.PatientOfEntry(id); ok {
		return pid, nil
	}
	if err := h.caughtUp(ctx); err != nil {
		return "", err
	}
	if pid, ok := h.Store.PatientOfEntry(id); ok {
		return pid, nil
	}
	return "", errs.E("activitylog.entry", errs.NotFound, "time entry not found")
}

// touched names, for the access log (pkg/accesslog), the patient a request
// on a route without the patient in its path reads or writes. Routes under
// /v1/patients/:id are recorded by the middleware itself.
func touched(c echo.Context, patientID string) {
	if events.ValidID(patientID) {
		accesslog.SetPatient(c, patientID)
	}
}

// hashID is "<prefix>-" and 32 hex characters of the SHA-256 of basedOn (the
// event the new one follows up) and the payload.
func hashID(prefix, basedOn string, payload any) string {
	b, _ := json.Marshal(payload) // payloads are plain structs: never fails
	sum := sha256.Sum256(append([]byte(basedOn+"\x00"), b...))
	return prefix + "-" + hex.EncodeToString(sum[:])[:32]
}

// ---- encounters and external claims ------------------------------------------

func (h *Handlers) recordEncounter(c echo.Context) error {
	pid := c.Param("id")
	if err := domain.CheckPatientID("id", pid); err != nil {
		return err
	}
	var in domain.EncounterInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	stream := events.PatientStream(pid)
	evID := m.EventID(domain.PrefixEncounter, stream, in.ID)
	payload, err := h.Rules.Encounter(strings.TrimPrefix(evID, domain.PrefixEncounter+"-"), in, m.RecordedAt)
	if err != nil {
		return err
	}
	if owner, ok := h.Store.PatientOfEncounter(payload.ID); ok && owner != pid {
		return &errs.Error{Op: "activitylog.Encounter", Kind: errs.Conflict, Field: "id",
			Message: "id is already used by an encounter of another patient; choose a new id"}
	}
	env, err := m.Event(evID, events.TypeEncounterRecorded, stream, pid, payload.Start, payload)
	if err != nil {
		return err
	}
	res, err := h.Patients.Execute(c.Request().Context(), env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideEncounter(s, payload)
	})
	if err != nil {
		return err
	}
	stored, ok := domain.Payload[events.EncounterRecorded](res.Record)
	if !ok {
		return errs.E("activitylog.Encounter", errs.Internal, "event %s is not an encounter", res.Record.ID)
	}
	return request.Written(c, res.Created, EncounterResponse{PatientID: pid, EncounterRecorded: stored, EventID: res.Record.ID, Sequence: res.Record.Sequence})
}

func (h *Handlers) recordExternalClaim(c echo.Context) error {
	pid := c.Param("id")
	if err := domain.CheckPatientID("id", pid); err != nil {
		return err
	}
	var in domain.ExternalClaimInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	payload, err := h.Rules.ExternalClaim(in, m.RecordedAt)
	if err != nil {
		return err
	}
	stream := events.PatientStream(pid)
	evID := m.EventID(domain.PrefixClaim, stream, "")
	if m.IdempotencyKey == "" {
		evID = hashID(domain.PrefixClaim, stream, payload)
	}
	env, err := m.Event(evID, events.TypeExternalClaimRecorded, stream, pid, domain.ClaimOccurredAt(payload), payload)
	if err != nil {
		return err
	}
	res, err := h.Patients.Execute(c.Request().Context(), env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideExternalClaim(s, payload)
	})
	if err != nil {
		return err
	}
	stored, ok := domain.Payload[events.ExternalClaimRecorded](res.Record)
	if !ok {
		return errs.E("activitylog.ExternalClaim", errs.Internal, "event %s is not an external claim", res.Record.ID)
	}
	return request.Written(c, res.Created, ExternalClaimResponse{PatientID: pid, ExternalClaimRecorded: stored, EventID: res.Record.ID, Sequence: res.Record.Sequence})
}

// ---- reads -------------------------------------------------------------------

// caughtUp waits until the read model holds every event in the log now.
func (h *Handlers) caughtUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadWait)
	defer cancel()
	if err := h.Runner.CaughtUp(ctx); err != nil {
		if errs.KindOf(err) == errs.Internal {
			return errs.Wrap("activitylog.read", errs.Unavailable, err)
		}
		return err
	}
	return nil
}

func (h *Handlers) getEntry(c echo.Context) error {
	id := c.Param("id")
	if err := domain.CheckEntryID("id", id); err != nil {
		return err
	}
	if err := h.caughtUp(c.Request().Context()); err != nil {
		return err
	}
	pid, e, ok := h.Store.Entry(id)
	if !ok {
		return errs.E("activitylog.GetEntry", errs.NotFound, "time entry not found")
	}
	touched(c, pid)
	return pkghttp.WriteOK(c, e)
}

func (h *Handlers) listMonth(c echo.Context) error {
	pid := c.Param("id")
	if err := domain.CheckPatientID("id", pid); err != nil {
		return err
	}
	month, err := domain.ParseMonth("month", c.QueryParam("month"))
	if err != nil {
		return err
	}
	if err := h.caughtUp(c.Request().Context()); err != nil {
		return err
	}
	out, ok := h.Store.MonthOf(pid, month)
	if !ok {
		return errs.E("activitylog.ListMonth", errs.NotFound, "patient not found")
	}
	return pkghttp.WriteOK(c, out)
}
