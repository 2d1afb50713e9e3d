package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	pkghttp "github.com/carelog/carelog/pkg/httpapi"
	"github.com/carelog/carelog/pkg/request"
	"github.com/carelog/carelog/services/activitylog/internal/domain"
)

// Batch item statuses (api/contract.md).
const (
	StatusStored    = "stored"
	StatusDuplicate = "duplicate"
	StatusRejected  = "rejected"
)

// BatchRequest is the body of POST /v1/time-entries/batch (its schema; the
// handler decodes each item on its own, so one malformed item rejects only
// itself).
type BatchRequest struct {
	Entries []domain.EntryInput `json:"entries"`
}

// BatchResult is one item's outcome, at the item's index.
type BatchResult struct {
	// ID is the item's id ("" when the item had none).
	ID string `json:"id"`
	// Status is stored (new), duplicate (already stored with the same
	// content: nothing written) or rejected (nothing written; see Error).
	Status string `json:"status"`
	// EventID and Sequence locate the stored event (stored and duplicate).
	EventID  string `json:"eventId,omitempty"`
	Sequence uint64 `json:"sequence,omitempty"`
	// Late: stored, but recorded more than lateEntryDays after the work.
	Late bool `json:"late,omitempty"`
	// Error says why an item was rejected; its field is the item's JSON
	// path ("entries[3].minutes"). Codes unavailable and internal mean the
	// item may or may not have been stored: send it again (it is
	// idempotent).
	Error *pkghttp.ErrorDetail `json:"error,omitempty"`
}

// BatchSummary counts the results.
type BatchSummary struct {
	Stored    int `json:"stored"`
	Duplicate int `json:"duplicate"`
	Rejected  int `json:"rejected"`
}

// BatchResponse answers a batch: one result per item, in request order.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
	Summary BatchSummary  `json:"summary"`
}

// batchItem is a valid item waiting for its append.
type batchItem struct {
	index int
	entry events.TimeEntry
	env   events.Envelope
}

// batch records many entries with per-item results and partial success.
// Every item is validated on its own (strict decoding, the same rules as a
// single POST); valid items are grouped by patient, and patients are
// appended concurrently (BatchWorkers at a time), each patient's items in
// request order through the same executor as a single POST. Each stored
// item is durably appended before the response is written, so a result
// "stored" is never lost; a batch interrupted by a crash is sent again and
// its items come back stored or duplicate, never twice. An id repeated
// within the batch is duplicate of its first occurrence when the content is
// the same, rejected (conflict) when not. The answer is 200 whatever the
// items' outcomes: the status of each item is in its result.
func (h *Handlers) batch(c echo.Context) error {
	var body struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := pkghttp.BindLimit(c, &body, h.BatchBodyLimit); err != nil {
		return err
	}
	if n := len(body.Entries); n == 0 || n > h.BatchMax {
		return errs.Field("activitylog.Batch", "entries", "must hold 1 to %d time entries", h.BatchMax)
	}
	m, err := request.FromEcho(c, h.Now())
	if err != nil {
		return err
	}
	results := make([]BatchResult, len(body.Entries))
	first := map[string]batchItem{} // entry id → its first valid occurrence
	repeats := map[int][]int{}      // first index → later indexes with the same content
	var order []string              // the batch's patients
	groups := map[string][]batchItem{}
	for i, raw := range body.Entries {
		prefix := fmt.Sprintf("entries[%d]", i)
		var in domain.EntryInput
		if err := decodeItem(raw, &in); err != nil {
			results[i] = rejected(in.ID, prefix, err)
			continue
		}
		entry, err := h.Rules.Entry(in, m.RecordedAt)
		if err == nil {
			err = h.checkEntryOwner(entry)
		}
		if err != nil {
			results[i] = rejected(in.ID, prefix, err)
			continue
		}
		if f, seen := first[entry.ID]; seen {
			if !domain.SameEntry(f.entry, entry) {
				results[i] = rejected(entry.ID, prefix, &errs.Error{Kind: errs.Conflict, Field: "id",
					Message: fmt.Sprintf("id repeats the id of entries[%d] with different content", f.index)})
				continue
			}
			repeats[f.index] = append(repeats[f.index], i)
			continue
		}
		env, err := entryEvent(m, entry)
		if err != nil {
			results[i] = rejected(entry.ID, prefix, err)
			continue
		}
		it := batchItem{index: i, entry: entry, env: env}
		first[entry.ID] = it
		if _, ok := groups[entry.PatientID]; !ok {
			order = append(order, entry.PatientID)
		}
		groups[entry.PatientID] = append(groups[entry.PatientID], it)
	}

	if len(order) == 1 {
		// The access log takes one patient per request; a batch that spans
		// several is recorded by its events (each carries its actor).
		touched(c, order[0])
	}
	h.appendGroups(c.Request().Context(), order, groups, results)

	for j, later := range repeats {
		for _, i := range later {
			r := results[j]
			if r.Status == StatusStored {
				r.Status = StatusDuplicate
			}
			if r.Error != nil {
				r.Error = prefixDetail(*r.Error, fmt.Sprintf("entries[%d]", j), fmt.Sprintf("entries[%d]", i))
			}
			results[i] = r
		}
	}
	out := BatchResponse{Results: results}
	for _, r := range results {
		switch r.Status {
		case StatusStored:
			out.Summary.Stored++
		case StatusDuplicate:
			out.Summary.Duplicate++
		default:
			out.Summary.Rejected++
		}
	}
	return pkghttp.WriteOK(c, out)
}

// appendGroups appends each patient's items in order, BatchWorkers patients
// at a time, and fills their results. Patients are taken in a random order:
// concurrent batches that span the same patients (clinical apps syncing the
// same panel) would otherwise walk them in step and queue on the same
// patients' locks, leaving the others idle.
func (h *Handlers) appendGroups(ctx context.Context, order []string, groups map[string][]batchItem, results []BatchResult) {
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	workers := max(1, h.BatchWorkers)
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(workers, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pid := range next {
				for _, it := range groups[pid] {
					results[it.index] = h.appendItem(ctx, it)
				}
			}
		}()
	}
	for _, pid := range order {
		next <- pid
	}
	close(next)
	wg.Wait()
}

func (h *Handlers) appendItem(ctx context.Context, it batchItem) BatchResult {
	prefix := fmt.Sprintf("entries[%d]", it.index)
	res, err := h.Patients.Execute(ctx, it.env, func(s domain.Patient, _ *events.Envelope) error {
		return domain.DecideRecord(s, it.entry)
	})
	if err != nil {
		return rejected(it.entry.ID, prefix, err)
	}
	body, err := h.entryBody(res, it.entry)
	if err != nil {
		return rejected(it.entry.ID, prefix, err)
	}
	status := StatusStored
	if !res.Created {
		status = StatusDuplicate
	}
	return BatchResult{ID: body.ID, Status: status, EventID: res.Record.ID, Sequence: res.Record.Sequence, Late: body.Late}
}

// rejected is the result of an item refused with err. Fields are prefixed
// with the item's path; an error without a field names the item (the id for
// a conflict).
func rejected(id, prefix string, err error) BatchResult {
	k, field, msg := errs.Public(err)
	d := pkghttp.ErrorDetail{Code: k, Message: msg, Field: field}
	if d.Field == "" && k == errs.Conflict {
		d.Field = "id"
	}
	return BatchResult{ID: id, Status: StatusRejected, Error: prefixDetail(d, "", prefix)}
}

// prefixDetail re-roots an error detail's field from one item path to
// another (from "" for a field of the item itself).
func prefixDetail(d pkghttp.ErrorDetail, from, to string) *pkghttp.ErrorDetail {
	join := func(s string) string {
		s = strings.TrimPrefix(strings.TrimPrefix(s, from), ".")
		if s == "" {
			return to
		}
		return to + "." + s
	}
	if d.Field == "" {
		d.Field = to
		if strings.HasPrefix(d.Message, "must ") || strings.HasPrefix(d.Message, "is ") {
			d.Message = to + " " + d.Message
		}
		return &d
	}
	old := d.Field
	d.Field = join(old)
	if strings.HasPrefix(d.Message, old+" ") {
		d.Message = d.Field + strings.TrimPrefix(d.Message, old)
	}
	return &d
}

// decodeItem decodes one batch item as strictly as pkg/httpapi.Bind decodes
// a body: a JSON object of the documented shape, no unknown fields, no wrong
// types; errors name the field.
func decodeItem(raw json.RawMessage, dst *domain.EntryInput) error {
	const op = "activitylog.Batch"
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return errs.E(op, errs.Invalid, "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			return errs.E(op, errs.Invalid, "must be a single JSON object")
		}
		return nil
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		return errs.Field(op, te.Field, "must be a JSON %s", jsonType(te.Type))
	}
	if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errs.Field(op, strings.Trim(rest, `"`), "is not a known field")
	}
	return errs.E(op, errs.Invalid, "is not valid JSON of the documented shape")
}

// jsonType names the JSON type a Go type decodes from.
func jsonType(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}
