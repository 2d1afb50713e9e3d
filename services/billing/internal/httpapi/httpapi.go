// Package httpapi is the billing service's HTTP adapter for evaluations:
// echo handlers that parse the request, wait for the billing read model and
// map its answers (the rules live in services/billing/rules, the fold and
// the summaries in internal/projection). Routes, mounted under /v1 behind
// authentication:
//
//	GET /billing/months/:month/patients/:patientId  the patient-month evaluation (?asOf=)
//	GET /billing/months/:month                      every enrolled patient's evaluation of the month and totals (?status=, ?reason=)
//	GET /billing/funnel                             the enrolment funnel (?from=, ?to=)
//
// Roles: biller, auditor and admin. Clinicians are refused (403): billing
// reads show revenue and claim status, which the contract gives to billers
// ("Billing (biller)") and auditors ("reads everything"); a clinician's view
// of a patient is GET /v1/patients/{id} and the time entries.
//
// Every read first waits (at most ReadWait) until the read model has
// applied everything in the log at request time, so a client reads its own
// writes; otherwise it answers 503 unavailable. ?asOf= reads the log
// itself and needs no wait.
package httpapi

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/pkg/eventlog"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/openapi"
	pkgprojection "github.com/carelog/carelog/pkg/projection"
	"github.com/carelog/carelog/services/billing/internal/projection"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// ReadWait bounds how long a GET waits for the read model to catch up.
const ReadWait = 5 * time.Second

// Handlers serves the evaluation routes.
type Handlers struct {
	Log        eventlog.Log
	Store      readmodel.Store
	Runner     *pkgprojection.Runner
	Projection *projection.Projection
}

// Evaluation is the body of GET /v1/billing/months/{month}/patients/{id}:
// the contract's patient-month evaluation.
type Evaluation struct {
	rules.Evaluation
	// AsOfSequence is the log position the evaluation reflects.
	AsOfSequence uint64 `json:"asOfSequence"`
	// BatchID names the claim batch of a billed month.
	BatchID string `json:"batchId,omitempty"`
	// BilledLines are the lines as billed, when they differ from Lines
	// (flag post_close_change). An extension of the contract.
	BilledLines []rules.Line `json:"billedLines,omitempty"`
}

// Mount registers the routes on g (mounted at /v1) and in spec.
func (h *Handlers) Mount(g *echo.Group, spec *openapi.Spec) {
	reader := auth.Require(auth.Biller, auth.Auditor)
	roles := []string{string(auth.Biller), string(auth.Auditor), string(auth.Admin)}
	spec.Handle(g, http.MethodGet, "/billing/months/:month/patients/:patientId", h.patientMonth, openapi.Op{
		Summary: "A patient-month's evaluation: status, program, pathway, counted minutes, claim lines with evidence, reasons, flags and excluded minutes",
		Roles:   roles, Response: Evaluation{}, Tag: "billing",
		Query: map[string]string{"asOf": "RFC 3339 instant: evaluate with only the facts recorded by then (what billing showed then)"},
	}, reader)
	spec.Handle(g, http.MethodGet, "/billing/months/:month", h.month, openapi.Op{
		Summary: "Every enrolled patient's evaluation summary for the month (stored, or computed on the fly for patients without activity then) and the month's totals (minutes, billable, holds, expected revenue)",
		Roles:   roles, Response: projection.MonthSummary{}, Tag: "billing",
		Query: map[string]string{
			"status": "billable, hold, not_billable or billed: only patient-months with that status",
			"reason": "a reason or flag code: only patient-months that carry it",
		},
	}, reader)
	spec.Handle(g, http.MethodGet, "/billing/funnel", h.funnel, openapi.Op{
		Summary: "The enrolment funnel: enrolled, qualifying, consent granted, declined and revoked (dropout), care plan, copy, billed at least once",
		Roles:   roles, Response: projection.Funnel{}, Tag: "billing",
		Query: map[string]string{
			"from": "first enrolment day (YYYY-MM-DD in the practice's time zone, or an RFC 3339 instant)",
			"to":   "last enrolment day, inclusive (YYYY-MM-DD, or an RFC 3339 instant)",
		},
	}, reader)
}

// caughtUp waits until the read model holds every event in the log now.
func (h *Handlers) caughtUp(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), ReadWait)
	defer cancel()
	if err := h.Runner.CaughtUp(ctx); err != nil {
		if errs.KindOf(err) == errs.Internal {
			return errs.Wrap("billing.read", errs.Unavailable, err)
		}
		return err
	}
	return nil
}

func monthParam(c echo.Context, op string) (rules.Month, error) {
	m, err := rules.ParseMonth(c.Param("month"))
	if err != nil {
		return rules.Month{}, errs.Field(op, "month", "must be a month YYYY-MM")
	}
	return m, nil
}

func (h *Handlers) patientMonth(c echo.Context) error {
	const op = "billing.GetEvaluation"
	m, err := monthParam(c, op)
	if err != nil {
		return err
	}
	id := c.Param("patientId")
	notFound := errs.E(op, errs.NotFound, "patient not found")
	if !events.ValidID(id) {
		return notFound
	}
	ctx := c.Request().Context()
	if s := c.QueryParam("asOf"); s != "" {
		asOf, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return errs.Field(op, "asOf", "must be an RFC 3339 instant with an offset")
		}
		pm, ok, err := projection.EvaluateAsOf(ctx, h.Log, id, m, asOf)
		if err != nil {
			return errs.Wrap(op, errs.Unavailable, err)
		}
		if !ok {
			return errs.E(op, errs.NotFound, "patient not found as of %s", asOf.Format(time.RFC3339))
		}
		return pkghttp.WriteOK(c, evaluationOf(pm))
	}
	if err := h.caughtUp(c); err != nil {
		return err
	}
	pm, ok, err := h.Store.PatientMonth(ctx, id, m.String())
	if err != nil {
		return errs.Wrap(op, errs.Unavailable, err)
	}
	if !ok {
		if pm, ok, err = h.Projection.Evaluate(ctx, id, m); err != nil {
			return errs.Wrap(op, errs.Unavailable, err)
		}
	}
	if !ok {
		return notFound
	}
	return pkghttp.WriteOK(c, evaluationOf(pm))
}

func evaluationOf(pm readmodel.PatientMonth) Evaluation {
	out := Evaluation{Evaluation: pm.Evaluation, AsOfSequence: pm.AsOfSequence, BatchID: pm.BatchID}
	if be := pm.BilledEvaluation; be != nil && pm.Evaluation.HasFlag(rules.FlagPostCloseChange) {
		out.BilledLines = be.Lines
	}
	return out
}

var statuses = []rules.Status{rules.StatusBillable, rules.StatusHold, rules.StatusNotBillable, rules.StatusBilled}

func (h *Handlers) month(c echo.Context) error {
	const op = "billing.GetMonth"
	m, err := monthParam(c, op)
	if err != nil {
		return err
	}
	filter := projection.SummaryFilter{Status: rules.Status(c.QueryParam("status")), Reason: rules.ReasonCode(c.QueryParam("reason"))}
	if filter.Status != "" && !contains(statuses, filter.Status) {
		return errs.Field(op, "status", "must be one of billable, hold, not_billable, billed")
	}
	if err := h.caughtUp(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	rows, err := h.Store.Month(ctx, m.String())
	if err != nil {
		return errs.Wrap(op, errs.Unavailable, err)
	}
	have := make(map[string]bool, len(rows))
	for _, r := range rows {
		have[r.PatientID] = true
	}
	more, err := h.Projection.Unevaluated(ctx, m, have)
	if err != nil {
		return errs.Wrap(op, errs.Unavailable, err)
	}
	rows = append(rows, more...)
	slices.SortFunc(rows, func(a, b readmodel.PatientMonth) int { return cmp.Compare(a.PatientID, b.PatientID) })
	return pkghttp.WriteOK(c, projection.Summarize(m.String(), rows, filter))
}

func (h *Handlers) funnel(c echo.Context) error {
	const op = "billing.GetFunnel"
	if err := h.caughtUp(c); err != nil {
		return err
	}
	loc := h.Projection.Practice().Location
	from, err := bound(op, "from", c.QueryParam("from"), loc, false)
	if err != nil {
		return err
	}
	to, err := bound(op, "to", c.QueryParam("to"), loc, true)
	if err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return errs.Field(op, "to", "must not be before from")
	}
	rows, err := h.Store.Patients(c.Request().Context())
	if err != nil {
		return errs.Wrap(op, errs.Unavailable, err)
	}
	f := projection.FunnelOf(rows, from, to)
	f.From, f.To = c.QueryParam("from"), c.QueryParam("to")
	return pkghttp.WriteOK(c, f)
}

// bound parses a funnel bound: a date in the practice's zone (from: its
// first instant; to: the first instant of the next day, as the bound is
// exclusive) or an RFC 3339 instant (to: inclusive).
func bound(op, field, s string, loc *time.Location, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if !strings.Contains(s, "T") {
		d, err := rules.ParseDate(s)
		if err != nil {
			return time.Time{}, errs.Field(op, field, "must be a date YYYY-MM-DD or an RFC 3339 instant")
		}
		if upper {
			d = d.AddDays(1)
		}
		return d.Midnight(loc), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errs.Field(op, field, "must be a date YYYY-MM-DD or an RFC 3339 instant")
	}
	if upper {
		t = t.Add(time.Nanosecond)
	}
	return t, nil
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
