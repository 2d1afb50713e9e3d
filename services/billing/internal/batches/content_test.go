package batches

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

const npi = "1234567893"

// pm is a patient-month row of 2025-03 with the given status, batch and
// lines (code:units pairs, in the order given).
func pm(patient string, status rules.Status, batchID string, codes ...any) readmodel.PatientMonth {
	var lines []rules.Line
	for i := 0; i+1 < len(codes); i += 2 {
		lines = append(lines, rules.Line{
			Code: codes[i].(string), Units: codes[i+1].(int), DateOfService: "2025-03-31", PractitionerNPI: npi,
			Diagnoses: []string{"I50.22", "E11.65"}, Evidence: []string{"consent-" + patient, "careplan-" + patient, "e-" + patient + "-1"},
		})
	}
	if lines == nil {
		lines = []rules.Line{}
	}
	return readmodel.PatientMonth{
		PatientID: patient, Month: "2025-03", AsOfSequence: 10, BatchID: batchID,
		Evaluation: rules.Evaluation{PatientID: patient, Month: "2025-03", Status: status, Lines: lines},
	}
}

func line(patient, code string, units int) events.ClaimLine {
	return events.ClaimLine{PatientID: patient, Code: code, Units: units, DateOfService: "2025-03-31", PractitionerNPI: npi,
		Diagnoses: []string{"I50.22", "E11.65"}, Evidence: []string{"consent-" + patient, "careplan-" + patient, "e-" + patient + "-1"}}
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name     string
		month    string
		rows     []readmodel.PatientMonth
		want     []events.ClaimLine
		wantKind errs.Kind
		wantErr  error
	}{
		{
			name:  "billable unbilled months only, by patient, base before add-on",
			month: "2025-03",
			rows: []readmodel.PatientMonth{
				pm("p-3", rules.StatusBillable, "", "99439", 1, "99490", 1), // add-on listed first: reordered
				pm("p-1", rules.StatusBillable, "", "99490", 1),
				pm("p-2", rules.StatusHold, "", "99490", 1),
				pm("p-4", rules.StatusNotBillable, ""),
				pm("p-5", rules.StatusBillable, "batch-2025-03-1", "99490", 1), // billed: recomputed as billable after close
				pm("p-6", rules.StatusBilled, "batch-2025-03-1", "99487", 1),
				pm("p-7", rules.StatusBillable, "", "99487", 1, "99489", 2),
			},
			want: []events.ClaimLine{line("p-1", "99490", 1), line("p-3", "99490", 1), line("p-3", "99439", 1), line("p-7", "99487", 1), line("p-7", "99489", 2)},
		},
		{
			name: "everything billed already: nothing to bill", month: "2025-03",
			rows:     []readmodel.PatientMonth{pm("p-1", rules.StatusBillable, "batch-2025-03-1", "99490", 1), pm("p-2", rules.StatusHold, "", "99490", 1)},
			wantKind: errs.Conflict, wantErr: ErrNothingToBill,
		},
		{name: "empty month: nothing to bill", month: "2025-03", wantKind: errs.Conflict, wantErr: ErrNothingToBill},
		{name: "malformed month", month: "2025-3", wantKind: errs.Invalid},
		{name: "month out of range", month: "2025-13", wantKind: errs.Invalid},
		{
			name: "row of another month", month: "2025-04",
			rows: []readmodel.PatientMonth{pm("p-1", rules.StatusBillable, "", "99490", 1)}, wantKind: errs.Internal,
		},
		{
			name: "patient twice", month: "2025-03",
			rows: []readmodel.PatientMonth{pm("p-1", rules.StatusBillable, "", "99490", 1), pm("p-1", rules.StatusHold, "")}, wantKind: errs.Internal,
		},
		{
			name: "billable without lines", month: "2025-03",
			rows: []readmodel.PatientMonth{pm("p-1", rules.StatusBillable, "")}, wantKind: errs.Internal,
		},
		{
			name: "zero units", month: "2025-03",
			rows: []readmodel.PatientMonth{pm("p-1", rules.StatusBillable, "", "99490", 0)}, wantKind: errs.Internal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compute(tt.month, tt.rows, 42)
			if tt.wantKind != "" {
				if err == nil || errs.KindOf(err) != tt.wantKind {
					t.Fatalf("got error %v, want kind %s", err, tt.wantKind)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want it to wrap %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !jsonEqual(got.Lines, tt.want) {
				t.Errorf("lines: got %s, want %s", mustJSON(got.Lines), mustJSON(tt.want))
			}
			if got.Month != tt.month || got.LogSequence != 42 {
				t.Errorf("got month %s seq %d, want %s 42", got.Month, got.LogSequence, tt.month)
			}
			if wantTotals := TotalsOf(tt.want); !jsonEqual(got.Totals, wantTotals) {
				t.Errorf("totals: got %s, want %s", mustJSON(got.Totals), mustJSON(wantTotals))
			}
		})
	}
}

func TestComputeLineChecks(t *testing.T) {
	bad := map[string]func(*rules.Line){
		"no code":               func(l *rules.Line) { l.Code = "" },
		"no practitioner":       func(l *rules.Line) { l.PractitionerNPI = "" },
		"date in another month": func(l *rules.Line) { l.DateOfService = "2025-04-01" },
		"malformed date":        func(l *rules.Line) { l.DateOfService = "31/03/2025" },
		"invalid UTF-8":         func(l *rules.Line) { l.Diagnoses = []string{"I50\xff"} },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			r := pm("p-1", rules.StatusBillable, "", "99490", 1)
			mutate(&r.Evaluation.Lines[0])
			if _, err := Compute("2025-03", []readmodel.PatientMonth{r}, 1); errs.KindOf(err) != errs.Internal {
				t.Fatalf("got %v, want an internal error", err)
			}
		})
	}
}

func TestComputeTotals(t *testing.T) {
	c, err := Compute("2025-03", []readmodel.PatientMonth{
		pm("p-1", rules.StatusBillable, "", "99490", 1, "99439", 2),
		pm("p-2", rules.StatusBillable, "", "99490", 1),
	}, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := events.ClaimBatchTotals{Patients: 2, Lines: 3, Units: 4, UnitsByCode: map[string]int{"99490": 2, "99439": 2}}
	if !jsonEqual(c.Totals, want) {
		t.Errorf("got %s, want %s", mustJSON(c.Totals), mustJSON(want))
	}
}

// TestComputeDoesNotAlias: the content owns its slices, so a store that
// later reuses its rows cannot change a computed batch.
func TestComputeDoesNotAlias(t *testing.T) {
	r := pm("p-1", rules.StatusBillable, "", "99490", 1)
	c, err := Compute("2025-03", []readmodel.PatientMonth{r}, 1)
	if err != nil {
		t.Fatal(err)
	}
	h := Hash(c)
	r.Evaluation.Lines[0].Diagnoses[0] = "Z00.00"
	r.Evaluation.Lines[0].Evidence[0] = "other"
	if got := Hash(c); got != h {
		t.Errorf("hash after mutating the input rows: got %s, want %s", got, h)
	}
}

func TestHashStableUnderRowOrder(t *testing.T) {
	rows := []readmodel.PatientMonth{
		pm("p-a", rules.StatusBillable, "", "99490", 1, "99439", 2),
		pm("p-b", rules.StatusHold, "", "99490", 1),
		pm("p-c", rules.StatusBillable, "", "99491", 1),
		pm("p-d", rules.StatusBillable, "batch-2025-03-1", "99490", 1),
		pm("p-e", rules.StatusBillable, "", "99487", 1, "99489", 1),
		pm("p-f", rules.StatusNotBillable, ""),
	}
	ref, err := Compute("2025-03", rows, 99)
	if err != nil {
		t.Fatal(err)
	}
	refJSON, refHash := CanonicalJSON(ref), Hash(ref)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		shuffled := slices.Clone(rows)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		// Lines of one patient may come in any order too.
		for j := range shuffled {
			ls := slices.Clone(shuffled[j].Evaluation.Lines)
			slices.Reverse(ls)
			shuffled[j].Evaluation.Lines = ls
		}
		c, err := Compute("2025-03", shuffled, 99)
		if err != nil {
			t.Fatal(err)
		}
		if got := CanonicalJSON(c); !bytes.Equal(got, refJSON) {
			t.Fatalf("permutation %d: got %s, want %s", i, got, refJSON)
		}
		if got := Hash(c); got != refHash {
			t.Fatalf("permutation %d: got hash %s, want %s", i, got, refHash)
		}
	}
}

func TestHashCoversContent(t *testing.T) {
	base := func() Content {
		lines := []events.ClaimLine{line("p-1", "99490", 1), line("p-1", "99439", 1)}
		return Content{Month: "2025-03", LogSequence: 10, Lines: lines, Totals: TotalsOf(lines)}
	}
	ref := Hash(base())
	changes := map[string]func(*Content){
		"month":           func(c *Content) { c.Month = "2025-04" },
		"log sequence":    func(c *Content) { c.LogSequence = 11 },
		"units":           func(c *Content) { c.Lines[1].Units = 2 },
		"code":            func(c *Content) { c.Lines[0].Code = "99491" },
		"patient":         func(c *Content) { c.Lines[0].PatientID = "p-2" },
		"date":            func(c *Content) { c.Lines[0].DateOfService = "2025-03-30" },
		"practitioner":    func(c *Content) { c.Lines[0].PractitionerNPI = "1111111112" },
		"evidence":        func(c *Content) { c.Lines[0].Evidence = append(c.Lines[0].Evidence, "e-9") },
		"evidence order":  func(c *Content) { slices.Reverse(c.Lines[0].Evidence) },
		"diagnosis order": func(c *Content) { slices.Reverse(c.Lines[0].Diagnoses) },
		"totals":          func(c *Content) { c.Totals.Patients = 2 },
		"units by code":   func(c *Content) { c.Totals.UnitsByCode["99439"] = 3 },
	}
	for name, change := range changes {
		c := base()
		change(&c)
		if Hash(c) == ref {
			t.Errorf("changing the %s left the hash unchanged", name)
		}
	}
	same := map[string]func(*Content){
		"line order": func(c *Content) { slices.Reverse(c.Lines) },
		"nil vs empty lists": func(c *Content) {
			c.Lines = append(c.Lines, events.ClaimLine{PatientID: "p-9", Code: "99490", Units: 1})
			c.Totals = TotalsOf(c.Lines)
		},
	}
	for name, change := range same {
		a, b := base(), base()
		change(&a)
		change(&b)
		if name == "nil vs empty lists" {
			b.Lines[len(b.Lines)-1].Diagnoses, b.Lines[len(b.Lines)-1].Evidence = []string{}, []string{}
		} else {
			b = base()
		}
		if Hash(a) != Hash(b) {
			t.Errorf("%s changed the hash: %s vs %s", name, CanonicalJSON(a), CanonicalJSON(b))
		}
	}
}

// TestCanonicalJSONGolden pins the canonical form byte for byte: changing
// it invalidates every stored batch's hash, so it must never change within
// Format carelog.claim-batch/1.
func TestCanonicalJSONGolden(t *testing.T) {
	lines := []events.ClaimLine{
		{PatientID: "p-2", Code: "99490", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: npi, Diagnoses: []string{"I10"}, Evidence: []string{"a<b>&c"}},
		{PatientID: "p-1", Code: "99439", Units: 2, DateOfService: "2025-03-31", PractitionerNPI: npi, Diagnoses: []string{"I50.22", "E11.65"}, Evidence: []string{"consent-1", "e-2"}},
		{PatientID: "p-1", Code: "99490", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: npi, Diagnoses: []string{"I50.22", "E11.65"}, Evidence: []string{"consent-1", "e-2"}},
	}
	c := Content{Month: "2025-03", LogSequence: 812, Lines: lines, Totals: TotalsOf(lines)}
	want := `{"format":"carelog.claim-batch/1","lines":[` +
		`{"code":"99490","dateOfService":"2025-03-31","diagnoses":["I50.22","E11.65"],"evidence":["consent-1","e-2"],"patientId":"p-1","practitionerNpi":"1234567893","units":1},` +
		`{"code":"99439","dateOfService":"2025-03-31","diagnoses":["I50.22","E11.65"],"evidence":["consent-1","e-2"],"patientId":"p-1","practitionerNpi":"1234567893","units":2},` +
		`{"code":"99490","dateOfService":"2025-03-31","diagnoses":["I10"],"evidence":["a<b>&c"],"patientId":"p-2","practitionerNpi":"1234567893","units":1}],` +
		`"logSequence":812,"month":"2025-03","totals":{"lines":3,"patients":2,"units":4,"unitsByCode":{"99439":2,"99490":2}}}`
	if got := string(CanonicalJSON(c)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	const wantHash = "7a6425f0b10a253c70cb2a3116c2b7568b2e28d0a6bc0667f08ce8fe37ab34ba"
	if got := Hash(c); got != wantHash {
		t.Errorf("hash: got %s, want %s", got, wantHash)
	}
}

// TestCanonicalJSONIsJCS cross-checks the hand-written serializer against
// encoding/json, which writes maps with sorted keys and, without HTML
// escaping, agrees with RFC 8785 on text without control characters.
func TestCanonicalJSONIsJCS(t *testing.T) {
	lines := []events.ClaimLine{
		{PatientID: "p-é", Code: "99490", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: npi, Diagnoses: []string{"I10", `quote" back\slash`}, Evidence: []string{"<tag>&amp;", "日本", "/slash"}},
	}
	c := Content{Month: "2025-03", LogSequence: 1<<53 - 1, Lines: lines, Totals: TotalsOf(lines)}
	got := CanonicalJSON(c)
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("canonical form is not JSON: %v: %s", err, got)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	// encoding/json decodes numbers as float64 and writes 2^53-1 exactly.
	if want := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
		t.Errorf("got\n%s\nwant (encoding/json, sorted keys)\n%s", got, want)
	}
}

func TestCanonicalJSONEscapes(t *testing.T) {
	var b bytes.Buffer
	writeString(&b, "a\"b\\c\b\f\n\r\t\x00\x1f\x7f\u2028/<>&é")
	want := `"a\"b\\c\b\f\n\r\t\u0000\u001f` + "\x7f\u2028/<>&é" + `"`
	if got := b.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestContentOfEvent(t *testing.T) {
	c, err := Compute("2025-03", []readmodel.PatientMonth{pm("p-1", rules.StatusBillable, "", "99490", 1)}, 5)
	if err != nil {
		t.Fatal(err)
	}
	p := events.ClaimBatchClosed{ID: "batch-2025-03-1", Month: c.Month, ClosedAt: time.Now(), LogSequence: c.LogSequence, ContentHash: Hash(c), Lines: c.Lines, Totals: c.Totals}
	// Through the wire form and back, as the audit service reads it.
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back events.ClaimBatchClosed
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if got := Hash(ContentOf(back)); got != back.ContentHash {
		t.Errorf("hash of the decoded event's content: got %s, want %s", got, back.ContentHash)
	}
	// And through the read-model row.
	row := Row("ev-1", 9, back, nil)
	fromRow := Content{Month: row.Month, LogSequence: row.LogSequence, Lines: LinesOf(row), Totals: TotalsOf(LinesOf(row))}
	if got := Hash(fromRow); got != back.ContentHash {
		t.Errorf("hash recomputed from the read-model row: got %s, want %s", got, back.ContentHash)
	}
}

type feeTable map[string]int64

func (f feeTable) Cents(code, month string) (int64, bool) { c, ok := f[code]; return c, ok }

func TestRowAndExpectedRevenue(t *testing.T) {
	lines := []events.ClaimLine{line("p-1", "99490", 1), line("p-1", "99439", 2), line("p-2", "G0000", 1)}
	p := events.ClaimBatchClosed{ID: "batch-2025-03-1", Month: "2025-03", LogSequence: 3, ContentHash: "h", Lines: lines, Totals: TotalsOf(lines)}
	row := Row("ev", 4, p, feeTable{"99490": 6000, "99439": 4700})
	if row.Totals.ExpectedRevenueCent != 6000+2*4700 {
		t.Errorf("expected revenue: got %d, want %d", row.Totals.ExpectedRevenueCent, 6000+2*4700)
	}
	if row.Totals.Patients != 2 || row.Totals.Lines != 3 || row.Totals.Units["99439"] != 2 || row.EventID != "ev" || row.Sequence != 4 {
		t.Errorf("got %+v", row)
	}
	if got := Row("ev", 4, p, nil).Totals.ExpectedRevenueCent; got != 0 {
		t.Errorf("without fees: got %d, want 0", got)
	}
}

func TestMonthPhase(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	m := rules.MustMonth("2025-03")
	tests := []struct {
		now  time.Time
		loc  *time.Location
		want phase
	}{
		{time.Date(2025, 2, 28, 23, 0, 0, 0, ny), ny, future},
		{time.Date(2025, 3, 1, 0, 0, 0, 0, ny), ny, current},
		{time.Date(2025, 3, 31, 23, 59, 0, 0, ny), ny, current},
		{time.Date(2025, 4, 1, 0, 0, 0, 0, ny), ny, past},
		// Conservative without a zone: started once it started in UTC+14,
		// over once it is over in UTC-12.
		{time.Date(2025, 2, 28, 9, 59, 0, 0, time.UTC), nil, future},
		{time.Date(2025, 2, 28, 10, 0, 0, 0, time.UTC), nil, current},
		{time.Date(2025, 4, 1, 11, 59, 0, 0, time.UTC), nil, current},
		{time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC), nil, past},
	}
	for _, tt := range tests {
		if got := monthPhase(m, tt.now, tt.loc); got != tt.want {
			t.Errorf("monthPhase(%v, %v): got %d, want %d", tt.now, tt.loc, got, tt.want)
		}
	}
}

func jsonEqual(a, b any) bool { return mustJSON(a) == mustJSON(b) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}
