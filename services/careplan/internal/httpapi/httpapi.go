// Package httpapi serves the care-plan endpoints of api/contract.md over
// echo: it binds the request strictly, maps it onto the event payload, builds
// the proposed event and runs it through the command executor with the
// domain's decide function. It holds no rules; those are in internal/domain
// and the plan package.
//
// Writes (clinician, admin):
//
//	POST /patients/:id/care-plans                        careplan.established
//	POST /patients/:id/care-plans/:planId/revisions      careplan.revised
//	POST /patients/:id/care-plans/:planId/copies         careplan.copy_provided
//	POST /patients/:id/complexity                        complexity.recorded
//
// Read (clinician, biller, auditor, admin):
//
//	GET  /patients/:id/care-plans/:planId
//
// Idempotency (contract, Conventions): a plan's event id is "careplan-<id>"
// from the client's id, so re-sending the same plan is a replay (200, the
// original, nothing written) and a different body under the same id is 409.
// Without an id, and for revisions, copies and complexity (which have no
// client id), the Idempotency-Key header decides (pkg/request.Meta.EventID);
// without either a write is not idempotent. A plan created without an id is
// named after its event id ("careplan-<x>" gives plan id "<x>").
//
// The read is served from the executor's folded state of the patient's
// stream (command.Executor.Load: the stream is read up to its tip, so a
// client reads its own writes) rather than from a projection: it is one
// patient's one plan, the state is cached, and the patient summary (GET
// /v1/patients/{id}) is where lists of plans are read.
package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/command"
	"github.com/carelog/carelog/pkg/errs"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/request"
	"github.com/carelog/carelog/services/careplan/internal/domain"
	"github.com/carelog/carelog/services/careplan/plan"
)

// Route paths, relative to the /v1 group.
const (
	PathCarePlans  = "/patients/:id/care-plans"
	PathCarePlan   = "/patients/:id/care-plans/:planId"
	PathRevisions  = "/patients/:id/care-plans/:planId/revisions"
	PathCopies     = "/patients/:id/care-plans/:planId/copies"
	PathComplexity = "/patients/:id/complexity"
)

// Event id prefixes.
const (
	prefixPlan       = "careplan"
	prefixRevision   = "careplan-revision"
	prefixCopy       = "careplan-copy"
	prefixComplexity = "complexity"
)

// Handlers serves the routes. Safe for concurrent use.
type Handlers struct {
	exec *command.Executor[domain.State]
	now  func() time.Time
}

// New returns the handlers over exec; now is the service clock.
func New(exec *command.Executor[domain.State], now func() time.Time) *Handlers {
	return &Handlers{exec: exec, now: now}
}

// Register mounts every route on g (the authenticated /v1 group) through
// spec, so that each appears in the OpenAPI document.
func (h *Handlers) Register(g *echo.Group, spec *openapi.Spec) {
	writers := []string{string(auth.Clinician), string(auth.Admin)}
	readers := []string{string(auth.Clinician), string(auth.Biller), string(auth.Auditor), string(auth.Admin)}
	write := auth.Require(auth.Clinician)
	read := auth.Require(auth.Clinician, auth.Biller, auth.Auditor)

	spec.Handle(g, http.MethodPost, PathCarePlans, h.establish, openapi.Op{
		Summary: "Establish a care plan (ccm-rules §5 CP1–CP3); a plan lacking required elements is stored and reported incomplete",
		Roles:   writers, Request: establishRequest{}, Response: planResponse{}, Status: http.StatusCreated, Tag: "care-plans",
	}, write)
	spec.Handle(g, http.MethodPost, PathRevisions, h.revise, openapi.Op{
		Summary: "Revise a care plan: the elements sent replace the plan's, the others stay",
		Roles:   writers, Request: reviseRequest{}, Response: revisionResponse{}, Status: http.StatusCreated, Tag: "care-plans",
	}, write)
	spec.Handle(g, http.MethodPost, PathCopies, h.copy, openapi.Op{
		Summary: "Record that a copy of the care plan was given to the patient or a caregiver (CP3)",
		Roles:   writers, Request: copyRequest{}, Response: copyResponse{}, Status: http.StatusCreated, Tag: "care-plans",
	}, write)
	spec.Handle(g, http.MethodPost, PathComplexity, h.complexity, openapi.Op{
		Summary: "Record the month's medical decision making (complex CCM needs moderate or high, T11)",
		Roles:   writers, Request: complexityRequest{}, Response: complexityResponse{}, Status: http.StatusCreated, Tag: "care-plans",
	}, write)
	spec.Handle(g, http.MethodGet, PathCarePlan, h.get, openapi.Op{
		Summary: "A care plan with its revisions applied, its copies, and the required elements it lacks",
		Roles:   readers, Response: planResponse{}, Tag: "care-plans",
	}, read)
}

// patient returns the path's patient id and stream. An id that cannot name
// a patient (not an events.ValidID) is not found: no such patient exists.
func patient(c echo.Context, op string) (id, stream string, err error) {
	id = c.Param("id")
	if !events.ValidID(id) {
		return "", "", errs.E(op, errs.NotFound, "patient not found")
	}
	return id, events.PatientStream(id), nil
}

func (h *Handlers) establish(c echo.Context) error {
	const op = domain.OpEstablish
	now := h.now()
	meta, err := request.FromEcho(c, now)
	if err != nil {
		return err
	}
	var req establishRequest
	if err := pkghttp.Bind(c, &req); err != nil {
		return err
	}
	patientID, stream, err := patient(c, op)
	if err != nil {
		return err
	}
	eventID := meta.EventID(prefixPlan, stream, req.ID)
	planID := req.ID
	if planID == "" {
		planID = strings.TrimPrefix(eventID, prefixPlan+"-")
	}
	payload, err := req.payload(planID)
	if err != nil {
		return err
	}
	proposed, err := meta.Event(eventID, events.TypeCarePlanEstablished, stream, patientID, payload.EstablishedAt, payload)
	if err != nil {
		return err
	}
	res, err := h.exec.Execute(c.Request().Context(), proposed, func(s domain.State, _ *events.Envelope) error {
		return domain.Establish(s, payload, now)
	})
	if err != nil {
		return err
	}
	// The body is the plan as this event established it (also on a replay,
	// whatever happened to the plan since): the original result.
	body := newPlanResponse(patientID, plan.Established(payload, res.Record.ID))
	body.Sequence = res.Record.Sequence
	return request.Written(c, res.Created, body)
}

func (h *Handlers) revise(c echo.Context) error {
	const op = domain.OpRevise
	now := h.now()
	meta, err := request.FromEcho(c, now)
	if err != nil {
		return err
	}
	var req reviseRequest
	if err := pkghttp.Bind(c, &req); err != nil {
		return err
	}
	patientID, stream, err := patient(c, op)
	if err != nil {
		return err
	}
	payload, err := req.payload(c.Param("planId"))
	if err != nil {
		return err
	}
	proposed, err := meta.Event(meta.EventID(prefixRevision, stream, ""), events.TypeCarePlanRevised, stream, patientID, payload.RevisedAt, payload)
	if err != nil {
		return err
	}
	res, err := h.exec.Execute(c.Request().Context(), proposed, func(s domain.State, _ *events.Envelope) error {
		return domain.Revise(s, payload, now)
	})
	if err != nil {
		return err
	}
	// The plan records each revision with what the plan lacked right after
	// it, so a replay answers exactly as the original did.
	p, _ := res.State.Plan(payload.PlanID)
	rev, ok := p.Revision(res.Record.ID)
	if !ok {
		return errs.E(op, errs.Internal, "revision %s is not in the state of its stream", res.Record.ID)
	}
	return request.Written(c, res.Created, revisionResponse{
		ID: res.Record.ID, PatientID: patientID, PlanID: payload.PlanID,
		RevisedAt: payload.RevisedAt, AuthorNPI: payload.AuthorNPI, ChangedElements: rev.Elements,
		Complete: len(rev.MissingElements) == 0, MissingElements: rev.MissingElements,
		Sequence: res.Record.Sequence,
	})
}

func (h *Handlers) copy(c echo.Context) error {
	const op = domain.OpProvideCopy
	now := h.now()
	meta, err := request.FromEcho(c, now)
	if err != nil {
		return err
	}
	var req copyRequest
	if err := pkghttp.Bind(c, &req); err != nil {
		return err
	}
	patientID, stream, err := patient(c, op)
	if err != nil {
		return err
	}
	payload, err := req.payload(c.Param("planId"))
	if err != nil {
		return err
	}
	proposed, err := meta.Event(meta.EventID(prefixCopy, stream, ""), events.TypeCarePlanCopyProvided, stream, patientID, payload.ProvidedAt, payload)
	if err != nil {
		return err
	}
	res, err := h.exec.Execute(c.Request().Context(), proposed, func(s domain.State, _ *events.Envelope) error {
		return domain.ProvideCopy(s, payload, now)
	})
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, copyResponse{
		ID: res.Record.ID, PatientID: patientID, PlanID: payload.PlanID,
		ProvidedAt: payload.ProvidedAt, To: payload.To, Method: payload.Method,
		Sequence: res.Record.Sequence,
	})
}

func (h *Handlers) complexity(c echo.Context) error {
	const op = domain.OpRecordComplexity
	now := h.now()
	meta, err := request.FromEcho(c, now)
	if err != nil {
		return err
	}
	var req complexityRequest
	if err := pkghttp.Bind(c, &req); err != nil {
		return err
	}
	patientID, stream, err := patient(c, op)
	if err != nil {
		return err
	}
	payload, err := req.payload()
	if err != nil {
		return err
	}
	proposed, err := meta.Event(meta.EventID(prefixComplexity, stream, ""), events.TypeComplexityRecorded, stream, patientID, payload.DecidedAt, payload)
	if err != nil {
		return err
	}
	res, err := h.exec.Execute(c.Request().Context(), proposed, func(s domain.State, _ *events.Envelope) error {
		return domain.RecordComplexity(s, payload, now)
	})
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, complexityResponse{
		ID: res.Record.ID, PatientID: patientID, Month: payload.Month, Level: payload.Level,
		PractitionerNPI: payload.PractitionerNPI, DecidedAt: payload.DecidedAt,
		Sequence: res.Record.Sequence,
	})
}

func (h *Handlers) get(c echo.Context) error {
	const op = domain.OpGet
	patientID, stream, err := patient(c, op)
	if err != nil {
		return err
	}
	s, rev, err := h.exec.Load(c.Request().Context(), stream)
	if err != nil {
		return err
	}
	if !s.Enrolled {
		return errs.E(op, errs.NotFound, "patient not found")
	}
	p, ok := s.Plan(c.Param("planId"))
	if !ok {
		return errs.E(op, errs.NotFound, "care plan not found")
	}
	body := newPlanResponse(patientID, p)
	body.AsOfSequence = uint64(rev)
	return pkghttp.WriteOK(c, body)
}
