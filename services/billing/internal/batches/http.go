package batches

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/pkg/auth"
	"github.com/carelog/carelog/pkg/errs"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/natsapi"
	"github.com/carelog/carelog/pkg/openapi"
	"github.com/carelog/carelog/pkg/request"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// Content types of the exports.
const (
	ContentTypeCSV  = "text/csv; charset=utf-8"
	ContentTypeFHIR = "application/fhir+json; charset=utf-8"
	ContentTypeX12  = "application/edi-x12"
)

// ReadWait bounds how long a GET waits for the read model to catch up.
const ReadWait = 5 * time.Second

// List answers GET /v1/billing/months/{month}/claim-batches.
type List struct {
	Month   string            `json:"month"`
	Batches []readmodel.Batch `json:"batches"`
}

// Routes mounts the claim-batch routes on g (mounted at /v1 behind
// auth.Middleware) and records them in spec:
//
//	POST /billing/months/:month/claim-batches   biller, admin
//	     (?force=true, or the optional body {"force": true})
//	GET  /billing/claim-batches/:id              biller, auditor, admin
//	     (?format=json|csv|fhir|x12)
//	GET  /billing/months/:month/claim-batches   biller, auditor, admin
//
// POST answers 201 with the batch, or 200 with the original batch when the
// Idempotency-Key of an earlier close is sent again. Reads first wait (at
// most ReadWait) until the read model has applied everything in the log, so
// a client reads its own writes; otherwise 503.
func Routes(g *echo.Group, spec *openapi.Spec, c *Closer, x12 X12Config) {
	h := &handlers{closer: c, x12: x12}
	closer := auth.Require(auth.Biller)
	reader := auth.Require(auth.Biller, auth.Auditor)
	writeRoles := []string{string(auth.Biller), string(auth.Admin)}
	readRoles := []string{string(auth.Biller), string(auth.Auditor), string(auth.Admin)}
	spec.Handle(g, http.MethodPost, "/billing/months/:month/claim-batches", h.close, openapi.Op{
		Summary: "Close the month: a claim batch of every billable patient-month not billed before, with its logSequence and contentHash (201; 200 on an Idempotency-Key replay; 409 when nothing is left to bill or the month is still in progress without force=true)",
		Roles:   writeRoles, Response: readmodel.Batch{}, Status: http.StatusCreated,
		Query: map[string]string{"force": "true closes the month still in progress (claims are normally assembled after month end, ccm-rules §8 A8)"},
		Tag:   "billing"}, closer)
	spec.Handle(g, http.MethodGet, "/billing/claim-batches/:id", h.get, openapi.Op{
		Summary: "A claim batch; format csv (text/csv), fhir (R4 Bundle of Claim resources) or x12 (837P 005010X222A1) exports it",
		Roles:   readRoles, Response: readmodel.Batch{},
		Query: map[string]string{"format": "json (default), csv, fhir or x12"},
		Tag:   "billing"}, reader)
	spec.Handle(g, http.MethodGet, "/billing/months/:month/claim-batches", h.list, openapi.Op{
		Summary: "The month's claim batches in the order they were closed",
		Roles:   readRoles, Response: List{}, Tag: "billing"}, reader)
}

// Commands lists the NATS command subjects served by the same handlers
// (pkg/natsapi), paths as mounted under /v1: closing a month. Reads stay on
// HTTP, as in the other services.
func Commands() []natsapi.Command {
	return []natsapi.Command{
		{Subject: "carelog.cmd.claim-batches.close", Method: http.MethodPost, Path: "/v1/billing/months/:month/claim-batches"},
	}
}

// CloseBody is the optional body of POST
// /v1/billing/months/{month}/claim-batches.
type CloseBody struct {
	// Force closes the month still in progress, as ?force=true does.
	Force bool `json:"force,omitempty"`
}

type handlers struct {
	closer *Closer
	x12    X12Config
}

func (h *handlers) close(c echo.Context) error {
	const op = "batches.close"
	force := false
	switch c.QueryParam("force") {
	case "", "false":
	case "true":
		force = true
	default:
		return errs.Field(op, "force", "must be true or false")
	}
	// The body is optional; NATS clients, which have no query string, send
	// {"force": true} there.
	var body CloseBody
	if req := c.Request(); req.Body != nil {
		raw, err := io.ReadAll(io.LimitReader(req.Body, 1024))
		if err != nil {
			return errs.Wrap(op, errs.Invalid, err)
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			req.Body = io.NopCloser(bytes.NewReader(raw))
			if err := pkghttp.Bind(c, &body); err != nil {
				return err
			}
			force = force || body.Force
		}
	}
	m, err := request.FromEcho(c, h.closer.Now())
	if err != nil {
		return err
	}
	res, err := h.closer.Close(c.Request().Context(), CloseRequest{Month: c.Param("month"), Force: force, Meta: m})
	if err != nil {
		return err
	}
	return request.Written(c, res.Created, res.Batch)
}

func (h *handlers) get(c echo.Context) error {
	const op = "batches.get"
	format := c.QueryParam("format")
	switch format {
	case "", "json", "csv", "fhir", "x12":
	default:
		return errs.Field(op, "format", "must be json, csv, fhir or x12")
	}
	ctx := c.Request().Context()
	if err := h.caughtUp(ctx); err != nil {
		return err
	}
	id := c.Param("id")
	b, ok, err := h.closer.Store.Batch(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(op, errs.NotFound, "no claim batch %s", id)
	}
	switch format {
	case "csv":
		c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+fhirID(b.ID)+`.csv"`)
		return c.Blob(http.StatusOK, ContentTypeCSV, CSV(b))
	case "fhir":
		body, err := FHIR(b)
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, ContentTypeFHIR, body)
	case "x12":
		c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+fhirID(b.ID)+`.x12"`)
		return c.Blob(http.StatusOK, ContentTypeX12, X12(b, h.x12))
	}
	return c.JSON(http.StatusOK, b)
}

func (h *handlers) list(c echo.Context) error {
	month := c.Param("month")
	if _, err := parseMonth(month); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := h.caughtUp(ctx); err != nil {
		return err
	}
	bs, err := h.closer.Store.Batches(ctx, month)
	if err != nil {
		return err
	}
	if bs == nil {
		bs = []readmodel.Batch{}
	}
	return c.JSON(http.StatusOK, List{Month: month, Batches: bs})
}

func (h *handlers) caughtUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadWait)
	defer cancel()
	return h.closer.Runner.CaughtUp(ctx)
}
