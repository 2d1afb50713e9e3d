// Package httpapi is the audit service's HTTP adapter (contract.md "Audit
// (auditor)"). Routes, mounted under /v1 behind authentication:
//
//	GET /audit/patients/:id/history                 every event of the patient in log order with the hash-chain check (?asOf=, ?untilSequence=, ?after=, ?limit=)
//	GET /audit/patients/:id/state                   consent, conditions, care plans and month evaluations at ?effectiveAt= as known at ?asOf=
//	GET /audit/patients/:id/evidence                the audit packet of a claimed month (?month=, ?asOf=, ?format=json|html)
//	GET /audit/claim-batches/:id/verification       replay to the batch's logSequence, recompute, compare content hashes
//	GET /audit/access-log                           who read or changed which patient's data (?patientId=, ?since=, ?after=, ?limit=)
//
// Roles: auditor and admin only (contract.md: the auditor reads everything
// and writes nothing; billers and clinicians get 403). Every request is
// itself recorded in the access log (pkg/accesslog records every /v1/audit
// route; the patient routes name their patient). Every answer is read from
// the log of record, never from a live read model, so it cannot inherit a
// projection's mistake.
package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/accesslog"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/services/audit/internal/evidence"
	"github.com/carelog/carelog/services/audit/internal/history"
	"github.com/carelog/carelog/services/audit/internal/state"
	"github.com/carelog/carelog/services/billing"
	"github.com/carelog/carelog/services/billing/rules"
)

// AccessLog lists access records (pkg/accesslog.Recorder).
type AccessLog interface {
	List(ctx context.Context, q accesslog.Query) (accesslog.Page, error)
}

// Handlers serves the audit routes.
type Handlers struct {
	Log    eventlog.Log
	Access AccessLog // nil: GET /audit/access-log answers 503
	Now    func() time.Time
}

// Mount registers the routes on g (mounted at /v1) and in spec.
func (h *Handlers) Mount(g *echo.Group, spec *openapi.Spec) {
	reader := auth.Require(auth.Auditor)
	roles := []string{string(auth.Auditor), string(auth.Admin)}
	spec.Handle(g, http.MethodGet, "/audit/patients/:id/history", h.history, openapi.Op{
		Summary: "Every event of the patient (all services) in log order, each with who, when (occurred and recorded), what and the hash-chain check; read from the patient's own stream",
		Roles:   roles, Response: history.Page{}, Tag: "audit",
		Query: map[string]string{
			"asOf":          "RFC 3339 instant: only events recorded by then",
			"untilSequence": "log sequence: only events at or before it",
			"after":         "page cursor: only events after this log sequence (nextAfter of the previous page)",
			"limit":         "events per page, 1 to 1000 (default 200)",
		},
	}, reader)
	spec.Handle(g, http.MethodGet, "/audit/patients/:id/state", h.state, openapi.Op{
		Summary: "The patient's consent, conditions, care plans and copies, encounters and each month's evaluation: effectiveAt picks the moment in the patient's care, asOf limits the answer to what had been recorded by then (bitemporal)",
		Roles:   roles, Response: state.State{}, Tag: "audit",
		Query: map[string]string{
			"effectiveAt": "RFC 3339 instant or YYYY-MM-DD (end of that day in the practice's time zone): the moment in the patient's care (default now)",
			"asOf":        "RFC 3339 instant: only what had been recorded by then (default now)",
		},
	}, reader)
	spec.Handle(g, http.MethodGet, "/audit/patients/:id/evidence", h.evidence, openapi.Op{
		Summary: "The audit packet of one patient-month: consent with disclosures, visits, care plan and copy proof, every counted and excluded time entry with its reason, the rule-set version, the evaluation as billed (and today's if it changed since), the claim lines and the events behind them with the chain check",
		Roles:   roles, Response: evidence.Packet{}, Tag: "audit",
		Query: map[string]string{
			"month":  "YYYY-MM (required): the service month",
			"asOf":   "RFC 3339 instant: build the packet from the facts recorded by then instead of the billed state",
			"format": "json (default) or html (a printable rendering for people)",
		},
	}, reader)
	spec.Handle(g, http.MethodGet, "/audit/claim-batches/:id/verification", h.verify, openapi.Op{
		Summary: "Replays the log to the batch's logSequence into fresh projections, recomputes the batch and compares content hashes: reproduced, or the first difference",
		Roles:   roles, Response: billing.BatchVerification{}, Tag: "audit",
	}, reader)
	spec.Handle(g, http.MethodGet, "/audit/access-log", h.accessLog, openapi.Op{
		Summary: "Who read or changed which patient's data, when, through which endpoint; audit reads included",
		Roles:   roles, Response: accesslog.Page{}, Tag: "audit",
		Query: map[string]string{
			"patientId": "only this patient's records (read from the patient's own subject); \"_\" lists audit reads that touched no single patient",
			"since":     "RFC 3339 instant: records at or after it",
			"after":     "page cursor: records after this access-log sequence (nextAfter of the previous page)",
			"limit":     "records per page, 1 to 1000 (default 100)",
		},
	}, reader)
}

func patientParam(c echo.Context, op string) (string, error) {
	id := c.Param("id")
	if !events.ValidID(id) {
		return "", errs.Field(op, "id", "must be a patient id (letters, digits, '-', '_' or ':', up to 128)")
	}
	accesslog.SetPatient(c, id)
	return id, nil
}

// instant parses an optional RFC 3339 query parameter.
func instant(c echo.Context, op, name string) (time.Time, error) {
	s := c.QueryParam(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errs.Field(op, name, "must be an RFC 3339 instant with an offset, got %q", s)
	}
	return t, nil
}

// number parses an optional unsigned query parameter within [lo, hi].
func number(c echo.Context, op, name string, lo, hi uint64) (uint64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, errs.Field(op, name, "must be a whole number from %d to %d, got %q", lo, hi, s)
	}
	return n, nil
}

func (h *Handlers) history(c echo.Context) error {
	const op = "audit.History"
	id, err := patientParam(c, op)
	if err != nil {
		return err
	}
	q := history.Query{PatientID: id}
	if q.AsOf, err = instant(c, op, "asOf"); err != nil {
		return err
	}
	if q.UntilSequence, err = number(c, op, "untilSequence", 1, 1<<63); err != nil {
		return err
	}
	if q.After, err = number(c, op, "after", 0, 1<<63); err != nil {
		return err
	}
	limit, err := number(c, op, "limit", 1, history.MaxLimit)
	if err != nil {
		return err
	}
	q.Limit = int(limit)
	page, err := history.Read(c.Request().Context(), h.Log, q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (h *Handlers) state(c echo.Context) error {
	const op = "audit.State"
	id, err := patientParam(c, op)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	now := h.Now()
	asOf, err := instant(c, op, "asOf")
	if err != nil {
		return err
	}
	if asOf.IsZero() {
		asOf = now
	}
	if _, err := effective(c, op, time.UTC); err != nil { // bad input is refused before any read
		return err
	}
	var recs []eventlog.Record
	for rec, err := range h.Log.ReadStream(ctx, events.PatientStream(id), 1) {
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return errs.E(op, errs.NotFound, "patient %s has no history", id)
	}
	pa, ok, err := billing.LoadPatientAt(ctx, h.Log, id, recs, billing.Cut{AsOf: asOf})
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(op, errs.NotFound, "patient %s was not enrolled as of %s", id, asOf.UTC().Format(time.RFC3339))
	}
	loc := pa.Location()
	effectiveAt, _ := effective(c, op, loc) // a date means the end of that day in the practice's zone
	if effectiveAt.IsZero() {
		effectiveAt = now
	}
	st := state.Fold(id, recs, effectiveAt, asOf, loc)
	months, err := pa.Evaluate(ctx, st.ServiceMonths(loc))
	if err != nil {
		return err
	}
	st.Months = make([]state.MonthState, 0, len(months))
	for _, pm := range months {
		raw, err := json.Marshal(monthEvaluation{Evaluation: pm.Evaluation, AsOfSequence: pm.AsOfSequence, BatchID: pm.BatchID})
		if err != nil {
			return errs.Wrap(op, errs.Internal, err)
		}
		st.Months = append(st.Months, state.MonthState{Month: pm.Month, Evaluation: raw})
	}
	return c.JSON(http.StatusOK, st)
}

// monthEvaluation is a month's evaluation in the state answer, shaped like
// GET /v1/billing/months/{month}/patients/{id}.
type monthEvaluation struct {
	rules.Evaluation
	AsOfSequence uint64 `json:"asOfSequence"`
	BatchID      string `json:"batchId,omitempty"`
}

// effective parses ?effectiveAt=: an instant, or a date meaning the end of
// that day in the practice's time zone (the whole day's care).
func effective(c echo.Context, op string, loc *time.Location) (time.Time, error) {
	s := c.QueryParam("effectiveAt")
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, errs.Field(op, "effectiveAt", "must be an RFC 3339 instant with an offset or a date YYYY-MM-DD, got %q", s)
	}
	return d.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
}

func (h *Handlers) evidence(c echo.Context) error {
	const op = "audit.Evidence"
	id, err := patientParam(c, op)
	if err != nil {
		return err
	}
	month := c.QueryParam("month")
	if month == "" {
		return errs.Field(op, "month", "is required (YYYY-MM)")
	}
	asOf, err := instant(c, op, "asOf")
	if err != nil {
		return err
	}
	format := c.QueryParam("format")
	if format != "" && format != "json" && format != "html" {
		return errs.Field(op, "format", "must be json or html, got %q", format)
	}
	p, err := evidence.Build(c.Request().Context(), h.Log, id, month, asOf, h.Now())
	if err != nil {
		return err
	}
	if format == "html" {
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		c.Response().WriteHeader(http.StatusOK)
		return evidence.RenderHTML(c.Response(), p)
	}
	return c.JSON(http.StatusOK, p)
}

func (h *Handlers) verify(c echo.Context) error {
	v, err := billing.VerifyBatch(c.Request().Context(), h.Log, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (h *Handlers) accessLog(c echo.Context) error {
	const op = "audit.AccessLog"
	if h.Access == nil {
		return errs.E(op, errs.Unavailable, "the access log is not configured")
	}
	q := accesslog.Query{PatientID: c.QueryParam("patientId")}
	if q.PatientID != "" {
		if !events.ValidID(q.PatientID) && q.PatientID != accesslog.NoPatient {
			return errs.Field(op, "patientId", "must be a patient id")
		}
		if q.PatientID != accesslog.NoPatient {
			accesslog.SetPatient(c, q.PatientID)
		}
	}
	var err error
	if q.Since, err = instant(c, op, "since"); err != nil {
		return err
	}
	if q.After, err = number(c, op, "after", 0, 1<<63); err != nil {
		return err
	}
	limit, err := number(c, op, "limit", 1, accesslog.MaxLimit)
	if err != nil {
		return err
	}
	q.Limit = int(limit)
	page, err := h.Access.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}
