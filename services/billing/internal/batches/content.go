package batches

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// Format names the canonical serialization; it is the first member of the
// hashed object, so a future change of the form cannot collide with this one.
const Format = "carelog.claim-batch/1"

// maxJSONInt is the largest integer every JCS implementation writes exactly
// (RFC 8785 serializes numbers as IEEE 754 doubles).
const maxJSONInt = 1<<53 - 1

// Content is what a batch's content hash covers: the month, the log position
// the batch was computed at, its lines and their totals. Id, closedAt and
// expected revenue are deliberately outside it (see the package doc).
type Content struct {
	Month       string
	LogSequence uint64
	Lines       []events.ClaimLine
	Totals      events.ClaimBatchTotals
}

// ErrNothingToBill is returned (wrapped in an errs.Conflict error) when a
// month has no billable patient-month that is not billed already.
var ErrNothingToBill = errors.New("nothing to bill")

// Compute builds the batch of month from the month's patient-month rows as
// the read model held them at log position logSequence. It is pure and
// deterministic: the order of rows does not matter, and the same rows give
// the same Content, byte for byte once serialized.
//
// It selects the rows whose Evaluation.Status is billable and whose BatchID
// is empty, and copies their lines. Errors:
//   - errs.Conflict wrapping ErrNothingToBill when nothing is selected;
//   - errs.Invalid for a malformed month;
//   - errs.Internal when the rows break the read model's invariants (a row
//     of another month, a patient twice, a billable row without lines, a
//     malformed line): those are bugs upstream, never silently skipped,
//     since skipping would make the batch depend on the bug.
func Compute(month string, rows []readmodel.PatientMonth, logSequence uint64) (Content, error) {
	const op = "batches.Compute"
	m, err := parseMonth(month)
	if err != nil {
		return Content{}, err
	}
	if logSequence > maxJSONInt {
		return Content{}, errs.E(op, errs.Internal, "log sequence %d is beyond 2^53-1", logSequence)
	}
	seen := make(map[string]bool, len(rows))
	var lines []events.ClaimLine
	for _, r := range rows {
		if r.Month != month {
			return Content{}, errs.E(op, errs.Internal, "row of month %s given for %s", r.Month, month)
		}
		if seen[r.PatientID] {
			return Content{}, errs.E(op, errs.Internal, "patient-month %s/%s given twice", r.PatientID, month)
		}
		seen[r.PatientID] = true
		if r.Evaluation.Status != rules.StatusBillable || r.BatchID != "" {
			continue
		}
		if r.PatientID == "" || (r.Evaluation.PatientID != "" && r.Evaluation.PatientID != r.PatientID) {
			return Content{}, errs.E(op, errs.Internal, "row %q carries the evaluation of %q", r.PatientID, r.Evaluation.PatientID)
		}
		if len(r.Evaluation.Lines) == 0 {
			return Content{}, errs.E(op, errs.Internal, "billable patient-month %s/%s has no lines", r.PatientID, month)
		}
		for _, l := range r.Evaluation.Lines {
			cl := events.ClaimLine{
				PatientID: r.PatientID, Code: l.Code, Units: l.Units, DateOfService: l.DateOfService,
				PractitionerNPI: l.PractitionerNPI,
				Diagnoses:       nonNil(l.Diagnoses), Evidence: nonNil(l.Evidence),
			}
			if err := checkLine(m, cl); err != nil {
				return Content{}, errs.E(op, errs.Internal, "patient-month %s/%s: %v", r.PatientID, month, err)
			}
			lines = append(lines, cl)
		}
	}
	if len(lines) == 0 {
		return Content{}, &errs.Error{Op: op, Kind: errs.Conflict, Err: ErrNothingToBill,
			Message: fmt.Sprintf("no billable patient-months in %s that were not billed before", month)}
	}
	sortLines(m, lines)
	return Content{Month: month, LogSequence: logSequence, Lines: lines, Totals: TotalsOf(lines)}, nil
}

// checkLine enforces what a claim line must hold to be billed and hashed.
func checkLine(m rules.Month, l events.ClaimLine) error {
	switch {
	case l.Code == "":
		return fmt.Errorf("a line has no code")
	case l.Units < 1 || l.Units > maxJSONInt:
		return fmt.Errorf("line %s has %d units", l.Code, l.Units)
	case l.PractitionerNPI == "":
		return fmt.Errorf("line %s has no practitioner", l.Code)
	}
	d, err := rules.ParseDate(l.DateOfService)
	if err != nil || d.MonthOf() != m {
		return fmt.Errorf("line %s: date of service %q is not a date in %s", l.Code, l.DateOfService, m)
	}
	for _, s := range append(append([]string{l.PatientID, l.Code, l.PractitionerNPI}, l.Diagnoses...), l.Evidence...) {
		if !utf8.ValidString(s) {
			return fmt.Errorf("line %s holds text that is not valid UTF-8", l.Code)
		}
	}
	return nil
}

// TotalsOf sums lines: distinct patients, lines, units and units per code.
func TotalsOf(lines []events.ClaimLine) events.ClaimBatchTotals {
	t := events.ClaimBatchTotals{UnitsByCode: map[string]int{}}
	patients := map[string]bool{}
	for _, l := range lines {
		patients[l.PatientID] = true
		t.Lines++
		t.Units += l.Units
		t.UnitsByCode[l.Code] += l.Units
	}
	t.Patients = len(patients)
	return t
}

// sortLines puts lines in canonical order: patientId, base codes before
// add-ons (per the code table of the service month), code. The sort is
// stable, so lines equal on that key keep the rules engine's order.
func sortLines(m rules.Month, lines []events.ClaimLine) {
	slices.SortStableFunc(lines, func(a, b events.ClaimLine) int {
		if c := strings.Compare(a.PatientID, b.PatientID); c != 0 {
			return c
		}
		if ra, rb := addOnRank(a.Code, m), addOnRank(b.Code, m); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Code, b.Code)
	})
}

func addOnRank(code string, m rules.Month) int {
	if def, ok := rules.LookupCode(code, m); ok && def.Base != "" {
		return 1
	}
	return 0
}

// ContentOf is the hashed part of a claim_batch.closed payload, for checking
// a stored event against its own ContentHash.
func ContentOf(p events.ClaimBatchClosed) Content {
	return Content{Month: p.Month, LogSequence: p.LogSequence, Lines: p.Lines, Totals: p.Totals}
}

// Hash is the content hash: lowercase hex SHA-256 of CanonicalJSON(c).
func Hash(c Content) string {
	sum := sha256.Sum256(CanonicalJSON(c))
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON serializes c in the canonical form specified in the package
// doc (RFC 8785 JCS of the Format object). It canonicalizes what it is given
// (line order, absent lists as []) but does not validate or recompute: Hash
// of a Content with wrong totals is the hash of those wrong totals.
func CanonicalJSON(c Content) []byte {
	lines := slices.Clone(c.Lines)
	if m, err := rules.ParseMonth(c.Month); err == nil {
		sortLines(m, lines)
	} else {
		sortLines(rules.Month{}, lines)
	}
	var b bytes.Buffer
	b.WriteString(`{"format":`)
	writeString(&b, Format)
	b.WriteString(`,"lines":[`)
	for i, l := range lines {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"code":`)
		writeString(&b, l.Code)
		b.WriteString(`,"dateOfService":`)
		writeString(&b, l.DateOfService)
		b.WriteString(`,"diagnoses":`)
		writeStrings(&b, l.Diagnoses)
		b.WriteString(`,"evidence":`)
		writeStrings(&b, l.Evidence)
		b.WriteString(`,"patientId":`)
		writeString(&b, l.PatientID)
		b.WriteString(`,"practitionerNpi":`)
		writeString(&b, l.PractitionerNPI)
		b.WriteString(`,"units":`)
		b.WriteString(strconv.Itoa(l.Units))
		b.WriteByte('}')
	}
	b.WriteString(`],"logSequence":`)
	b.WriteString(strconv.FormatUint(c.LogSequence, 10))
	b.WriteString(`,"month":`)
	writeString(&b, c.Month)
	b.WriteString(`,"totals":{"lines":`)
	b.WriteString(strconv.Itoa(c.Totals.Lines))
	b.WriteString(`,"patients":`)
	b.WriteString(strconv.Itoa(c.Totals.Patients))
	b.WriteString(`,"units":`)
	b.WriteString(strconv.Itoa(c.Totals.Units))
	b.WriteString(`,"unitsByCode":{`)
	codes := make([]string, 0, len(c.Totals.UnitsByCode))
	for k := range c.Totals.UnitsByCode {
		codes = append(codes, k)
	}
	slices.SortFunc(codes, compareUTF16)
	for i, k := range codes {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, k)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(c.Totals.UnitsByCode[k]))
	}
	b.WriteString(`}}}`)
	return b.Bytes()
}

func writeStrings(b *bytes.Buffer, ss []string) {
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, s)
	}
	b.WriteByte(']')
}

// writeString writes s as a JCS string (RFC 8785 §3.2.2.2). Invalid UTF-8 is
// written as U+FFFD, as encoding/json does; Compute refuses such text.
func writeString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[r>>4])
			b.WriteByte(hexDigits[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// compareUTF16 orders strings by UTF-16 code units, as JCS sorts keys.
func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return slices.Clone(ss)
}

// parseMonth validates a "YYYY-MM" path or payload value.
func parseMonth(s string) (rules.Month, error) {
	m, err := rules.ParseMonth(s)
	if err != nil || m.String() != s {
		return rules.Month{}, errs.Field("batches", "month", "must be a month YYYY-MM")
	}
	return m, nil
}
