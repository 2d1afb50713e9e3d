// Package httpapi is the consent service's HTTP adapter: echo handlers that
// bind the request strictly, build the proposed event with pkg/request,
// run it through pkg/command against the domain's decide functions, and
// answer with the stored resource and its sequence (docs/services.md, "Write
// path"). They hold no rules: every rule is in internal/domain.
//
// Routes (mounted under /v1, behind authentication):
//
//	PUT  /practice                                          admin
//	PUT  /practitioners/:npi                                admin
//	POST /patients                                          clinician
//	POST /patients/:id/conditions                           clinician
//	POST /patients/:id/consents                             clinician
//	POST /patients/:id/consents/:consentId/revocation       clinician
//	GET  /practice, /practitioners, /practitioners/:npi,
//	     /patients/:id                                      clinician, biller, auditor
//
// Admin passes every role check. Practice set-up is admin only: the contract
// lists it without a role, and it holds the practice's settings, which the
// contract gives to admin ("manages tokens and settings").
//
// Idempotency (contract.md, Conventions): a POST's event id comes from the
// client's id where the resource has one (patients, consents), else from the
// Idempotency-Key header, else it is random (pkg/request.Meta.EventID). A
// revocation's id is derived from its consent id: a consent is revoked at
// most once, so a retry is recognized without a key. A PUT is idempotent by
// content: sending the resource's current content again writes nothing and
// answers 200 with the current resource and the sequence that established it
// (domain.ErrUnchanged); changed content is a new event (201) whose id is a
// hash of the content and of the event it replaces, so two concurrent
// identical PUTs write once while A → B → A still writes A again. An
// Idempotency-Key on a PUT takes precedence (the original answer is
// replayed, as for a POST).
//
// Every GET first waits (at most ReadWait) until the read model has applied
// everything in the log at request time, so a client reads its own writes;
// otherwise it answers 503 unavailable.
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
	"github.com/carelog/carelog/services/consent/internal/domain"
	"github.com/carelog/carelog/services/consent/internal/readmodel"
)

// Prefix is where the routes are mounted (the group Routes receives).
const Prefix = "/v1"

// ReadWait bounds how long a GET waits for the read model to catch up.
const ReadWait = 5 * time.Second

// Event id prefixes.
const (
	prefixPractice     = "practice"
	prefixPractitioner = "practitioner"
	prefixPatient      = "patient"
	prefixCondition    = "condition"
	prefixConsent      = "consent"
	prefixRevocation   = "revocation"
)

// Handlers serves the consent routes.
type Handlers struct {
	// Practice runs commands on the practice stream, Patients on patient
	// streams.
	Practice *command.Executor[domain.Practice]
	Patients *command.Executor[domain.Patient]
	Store    *readmodel.Store
	Runner   *projection.Runner
	// Now is the service clock.
	Now func() time.Time
}

// Mount registers every route on g (mounted at Prefix) and in spec.
func (h *Handlers) Mount(g *echo.Group, spec *openapi.Spec) {
	admin := auth.Require(auth.Admin)
	clinician := auth.Require(auth.Clinician)
	reader := auth.Require(auth.Clinician, auth.Biller, auth.Auditor)
	adminRoles := []string{string(auth.Admin)}
	writeRoles := []string{string(auth.Clinician), string(auth.Admin)}
	readRoles := []string{string(auth.Clinician), string(auth.Biller), string(auth.Auditor), string(auth.Admin)}

	spec.Handle(g, http.MethodPut, "/practice", h.configurePractice, openapi.Op{
		Summary: "Set the practice's name, time zone, billing NPI, tax id and §8 policy (201 changed, 200 unchanged)",
		Roles:   adminRoles, Request: domain.PracticeSettings{}, Response: readmodel.Practice{}, Status: http.StatusCreated}, admin)
	spec.Handle(g, http.MethodPut, "/practitioners/:npi", h.registerPractitioner, openapi.Op{
		Summary: "Register or replace a billing practitioner (201 changed, 200 unchanged)",
		Roles:   adminRoles, Request: domain.PractitionerInput{}, Response: readmodel.Practitioner{}, Status: http.StatusCreated}, admin)
	spec.Handle(g, http.MethodPost, "/patients", h.enrollPatient, openapi.Op{
		Summary: "Enroll a patient",
		Roles:   writeRoles, Request: domain.Enrollment{}, Response: PatientResponse{}, Status: http.StatusCreated}, clinician)
	spec.Handle(g, http.MethodPost, "/patients/:id/conditions", h.recordCondition, openapi.Op{
		Summary: "Record a chronic condition (ICD-10-CM) on the patient's problem list",
		Roles:   writeRoles, Request: domain.ConditionInput{}, Response: ConditionResponse{}, Status: http.StatusCreated}, clinician)
	spec.Handle(g, http.MethodPost, "/patients/:id/consents", h.recordConsent, openapi.Op{
		Summary: "Record a CCM/PCM consent decision (accepted or declined)",
		Roles:   writeRoles, Request: domain.ConsentInput{}, Response: ConsentResponse{}, Status: http.StatusCreated}, clinician)
	spec.Handle(g, http.MethodPost, "/patients/:id/consents/:consentId/revocation", h.revokeConsent, openapi.Op{
		Summary: "Revoke an accepted consent (effective at the end of the calendar month)",
		Roles:   writeRoles, Request: domain.RevocationInput{}, Response: RevocationResponse{}, Status: http.StatusCreated}, clinician)

	spec.Handle(g, http.MethodGet, "/practice", h.getPractice, openapi.Op{
		Summary: "The practice configuration", Roles: readRoles, Response: readmodel.Practice{}}, reader)
	spec.Handle(g, http.MethodGet, "/practitioners", h.listPractitioners, openapi.Op{
		Summary: "The registered practitioners, by NPI", Roles: readRoles, Response: PractitionersResponse{}}, reader)
	spec.Handle(g, http.MethodGet, "/practitioners/:npi", h.getPractitioner, openapi.Op{
		Summary: "One registered practitioner", Roles: readRoles, Response: readmodel.Practitioner{}}, reader)
	spec.Handle(g, http.MethodGet, "/patients/:id", h.getPatient, openapi.Op{
		Summary: "The patient's summary: conditions, consents, care plans and copies, complexity, encounters",
		Roles:   readRoles, Response: readmodel.Summary{}}, reader)
}

// Commands lists the NATS command subjects (carelog.cmd.<resource>.<action>)
// served by the same handlers as the HTTP routes.
func Commands() []natsapi.Command {
	return []natsapi.Command{
		{Subject: "carelog.cmd.practice.configure", Method: http.MethodPut, Path: Prefix + "/practice"},
		{Subject: "carelog.cmd.practitioners.register", Method: http.MethodPut, Path: Prefix + "/practitioners/:npi"},
		{Subject: "carelog.cmd.patients.enroll", Method: http.MethodPost, Path: Prefix + "/patients"},
		{Subject: "carelog.cmd.conditions.record", Method: http.MethodPost, Path: Prefix + "/patients/:id/conditions"},
		{Subject: "carelog.cmd.consents.record", Method: http.MethodPost, Path: Prefix + "/patients/:id/consents"},
		{Subject: "carelog.cmd.consents.revoke", Method: http.MethodPost, Path: Prefix + "/patients/:id/consents/:consentId/revocation"},
	}
}

// ---- responses ---------------------------------------------------------------

// PatientResponse answers POST /v1/patients: the stored enrolment.
type PatientResponse struct {
	events.PatientEnrolled
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// ConditionResponse answers POST /v1/patients/{id}/conditions. A condition's
// id is its event's id.
type ConditionResponse struct {
	ID        string `json:"id"`
	PatientID string `json:"patientId"`
	events.ConditionRecorded
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// ConsentResponse answers POST /v1/patients/{id}/consents.
type ConsentResponse struct {
	PatientID string `json:"patientId"`
	events.ConsentGranted
	// Decision is accepted (event consent.granted) or declined
	// (consent.declined).
	Decision string `json:"decision"`
	// MissingDisclosures lists the K2 disclosures the consent lacks; billing
	// holds the month until a complete consent is recorded.
	MissingDisclosures []string `json:"missingDisclosures"`
	EventID            string   `json:"eventId"`
	Sequence           uint64   `json:"sequence"`
}

// RevocationResponse answers POST
// /v1/patients/{id}/consents/{consentId}/revocation. The date through which
// it takes effect (end of the month, K7) is in the patient summary.
type RevocationResponse struct {
	PatientID string `json:"patientId"`
	events.ConsentRevoked
	EventID  string `json:"eventId"`
	Sequence uint64 `json:"sequence"`
}

// PractitionersResponse answers GET /v1/practitioners.
type PractitionersResponse struct {
	Practitioners []readmodel.Practitioner `json:"practitioners"`
}

// ---- practice set-up ---------------------------------------------------------

func (h *Handlers) configurePractice(c echo.Context) error {
	var in domain.PracticeSettings
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	payload, err := in.Event()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, _, err := h.Practice.Load(ctx, events.PracticeStream)
	if err != nil {
		return err
	}
	id := putEventID(m, prefixPractice, events.PracticeStream, cur.ConfigEventID, payload)
	env, err := m.Event(id, events.TypePracticeConfigured, events.PracticeStream, "", time.Time{}, payload)
	if err != nil {
		return err
	}
	var seen domain.Practice
	res, err := h.Practice.Execute(ctx, env, func(s domain.Practice, _ *events.Envelope) error {
		seen = s
		return domain.DecideConfigure(s, payload)
	})
	if errors.Is(err, domain.ErrUnchanged) {
		return pkghttp.WriteOK(c, readmodel.PracticeOf(seen.Config, seen.ConfigEventID, seen.ConfigSequence))
	}
	if err != nil {
		return err
	}
	stored, err := payloadOf[events.PracticeConfigured](res.Record)
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, readmodel.PracticeOf(stored, res.Record.ID, res.Record.Sequence))
}

func (h *Handlers) registerPractitioner(c echo.Context) error {
	npi := c.Param("npi")
	var in domain.PractitionerInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	payload, err := in.Event(npi)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, _, err := h.Practice.Load(ctx, events.PracticeStream)
	if err != nil {
		return err
	}
	// An Idempotency-Key is scoped to the request path, which names the NPI.
	id := putEventID(m, prefixPractitioner, events.PracticeStream, cur.Practitioners[npi].EventID, payload)
	env, err := m.Event(id, events.TypePractitionerRegistered, events.PracticeStream, "", time.Time{}, payload)
	if err != nil {
		return err
	}
	var seen domain.Practice
	res, err := h.Practice.Execute(ctx, env, func(s domain.Practice, _ *events.Envelope) error {
		seen = s
		return domain.DecideRegister(s, payload)
	})
	if errors.Is(err, domain.ErrUnchanged) {
		p := seen.Practitioners[npi]
		return pkghttp.WriteOK(c, readmodel.Practitioner{PractitionerRegistered: p.PractitionerRegistered, EventID: p.EventID, Sequence: p.Sequence})
	}
	if err != nil {
		return err
	}
	stored, err := payloadOf[events.PractitionerRegistered](res.Record)
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, readmodel.Practitioner{PractitionerRegistered: stored, EventID: res.Record.ID, Sequence: res.Record.Sequence})
}

// putEventID is the event id of a PUT: from the Idempotency-Key when sent,
// else "<prefix>-" and 32 hex characters of the SHA-256 of the event it
// replaces (basedOn, "" for none) and the payload.
func putEventID(m request.Meta, prefix, scope, basedOn string, payload any) string {
	if m.IdempotencyKey != "" {
		return m.EventID(prefix, scope, "")
	}
	b, _ := json.Marshal(payload) // payloads are plain structs: never fails
	sum := sha256.Sum256(append([]byte(basedOn+"\x00"), b...))
	return prefix + "-" + hex.EncodeToString(sum[:])[:32]
}

// ---- clinical facts ------------------------------------------------------------

func (h *Handlers) enrollPatient(c echo.Context) error {
	var in domain.Enrollment
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	// The patient id is the client's, or derived from the Idempotency-Key
	// (so a retry lands on the same stream), or random.
	pid := strings.TrimPrefix(m.EventID(prefixPatient, events.PatientStream(""), in.ID), prefixPatient+"-")
	payload, err := in.Event(pid, m.RecordedAt)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	practice, _, err := h.Practice.Load(ctx, events.PracticeStream)
	if err != nil {
		return err
	}
	stream := events.PatientStream(pid)
	accesslog.SetPatient(c, pid) // the route carries no patient id: name it for the access log
	env, err := m.Event(prefixPatient+"-"+pid, events.TypePatientEnrolled, stream, pid, time.Time{}, payload)
	if err != nil {
		return err
	}
	res, err := h.Patients.Execute(ctx, env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideEnroll(s, practice, payload)
	})
	if err != nil {
		return err
	}
	stored, err := payloadOf[events.PatientEnrolled](res.Record)
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, PatientResponse{PatientEnrolled: stored, EventID: res.Record.ID, Sequence: res.Record.Sequence})
}

func (h *Handlers) recordCondition(c echo.Context) error {
	pid := c.Param("id")
	if err := domain.CheckPatientID(pid); err != nil {
		return err
	}
	var in domain.ConditionInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	payload, err := in.Event(m.RecordedAt)
	if err != nil {
		return err
	}
	stream := events.PatientStream(pid)
	env, err := m.Event(m.EventID(prefixCondition, stream, ""), events.TypeConditionRecorded, stream, pid, time.Time{}, payload)
	if err != nil {
		return err
	}
	res, err := h.Patients.Execute(c.Request().Context(), env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideCondition(s, payload)
	})
	if err != nil {
		return err
	}
	stored, err := payloadOf[events.ConditionRecorded](res.Record)
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, ConditionResponse{ID: res.Record.ID, PatientID: pid, ConditionRecorded: stored, EventID: res.Record.ID, Sequence: res.Record.Sequence})
}

func (h *Handlers) recordConsent(c echo.Context) error {
	pid := c.Param("id")
	if err := domain.CheckPatientID(pid); err != nil {
		return err
	}
	var in domain.ConsentInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	stream := events.PatientStream(pid)
	cid := strings.TrimPrefix(m.EventID(prefixConsent, stream, in.ID), prefixConsent+"-")
	consent, err := in.Event(cid, m.RecordedAt)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	practice, _, err := h.Practice.Load(ctx, events.PracticeStream)
	if err != nil {
		return err
	}
	env, err := m.Event(prefixConsent+"-"+cid, consent.Type, stream, pid, consent.Payload.ObtainedAt, consent.Data())
	if err != nil {
		return err
	}
	res, err := h.Patients.Execute(ctx, env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideConsent(s, practice, consent)
	})
	if err != nil {
		return err
	}
	body, err := consentBody(pid, res.Record)
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, body)
}

func consentBody(pid string, rec eventlog.Record) (ConsentResponse, error) {
	out := ConsentResponse{PatientID: pid, EventID: rec.ID, Sequence: rec.Sequence}
	switch rec.Type {
	case events.TypeConsentDeclined:
		d, err := payloadOf[events.ConsentDeclined](rec)
		if err != nil {
			return out, err
		}
		out.ConsentGranted, out.Decision = events.ConsentGranted(d), "declined"
	default:
		g, err := payloadOf[events.ConsentGranted](rec)
		if err != nil {
			return out, err
		}
		out.ConsentGranted, out.Decision = g, "accepted"
	}
	out.MissingDisclosures = domain.MissingDisclosures(out.Disclosures)
	return out, nil
}

func (h *Handlers) revokeConsent(c echo.Context) error {
	pid, cid := c.Param("id"), c.Param("consentId")
	if err := domain.CheckPatientID(pid); err != nil {
		return err
	}
	if err := domain.CheckConsentID(cid); err != nil {
		return err
	}
	var in domain.RevocationInput
	if err := pkghttp.Bind(c, &in); err != nil {
		return err
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	payload, err := in.Event(cid, m.RecordedAt)
	if err != nil {
		return err
	}
	stream := events.PatientStream(pid)
	// A consent is revoked at most once: its revocation's id is derived from
	// the consent id, so a retry is a replay even without a key.
	env, err := m.Event(prefixRevocation+"-"+cid, events.TypeConsentRevoked, stream, pid, payload.RevokedAt, payload)
	if err != nil {
		return err
	}
	res, err := h.Patients.Execute(c.Request().Context(), env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideRevoke(s, payload)
	})
	if err != nil {
		return err
	}
	stored, err := payloadOf[events.ConsentRevoked](res.Record)
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, RevocationResponse{PatientID: pid, ConsentRevoked: stored, EventID: res.Record.ID, Sequence: res.Record.Sequence})
}

// payloadOf decodes a stored event's payload (upcast to its latest
// version): the body of a write is built from the stored event, so a replay
// answers exactly what the original did.
func payloadOf[T any](rec eventlog.Record) (T, error) {
	var zero T
	v, err := events.DefaultRegistry().Decode(rec.Envelope)
	if err != nil {
		return zero, errs.Wrap("consent.payload", errs.Internal, err)
	}
	p, ok := v.(*T)
	if !ok {
		return zero, errs.E("consent.payload", errs.Internal, "event %s is not of the expected type", rec.ID)
	}
	return *p, nil
}

// ---- reads -----------------------------------------------------------------------

// caughtUp waits until the read model holds every event in the log now.
func (h *Handlers) caughtUp(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), ReadWait)
	defer cancel()
	if err := h.Runner.CaughtUp(ctx); err != nil {
		if errs.KindOf(err) == errs.Internal {
			return errs.Wrap("consent.read", errs.Unavailable, err)
		}
		return err
	}
	return nil
}

func (h *Handlers) getPractice(c echo.Context) error {
	if err := h.caughtUp(c); err != nil {
		return err
	}
	p, ok := h.Store.Practice()
	if !ok {
		return errs.E("consent.GetPractice", errs.NotFound, "the practice is not configured yet (PUT /v1/practice)")
	}
	return pkghttp.WriteOK(c, p)
}

func (h *Handlers) listPractitioners(c echo.Context) error {
	if err := h.caughtUp(c); err != nil {
		return err
	}
	return pkghttp.WriteOK(c, PractitionersResponse{Practitioners: h.Store.Practitioners()})
}

func (h *Handlers) getPractitioner(c echo.Context) error {
	if err := h.caughtUp(c); err != nil {
		return err
	}
	p, ok := h.Store.Practitioner(c.Param("npi"))
	if !ok {
		return errs.E("consent.GetPractitioner", errs.NotFound, "practitioner not found")
	}
	return pkghttp.WriteOK(c, p)
}

func (h *Handlers) getPatient(c echo.Context) error {
	if err := h.caughtUp(c); err != nil {
		return err
	}
	s, ok := h.Store.Patient(c.Param("id"))
	if !ok {
		return errs.E("consent.GetPatient", errs.NotFound, "patient not found")
	}
	return pkghttp.WriteOK(c, s)
}
