package batches

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carelog/carelog/events"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// sampleBatch: p-1 with 99490 + 99439×2 (three diagnoses), p-2 with 99491 by
// another practitioner, p-3 (id with ':' and '_', which X12 and FHIR ids
// cannot carry) with 99490.
func sampleBatch() readmodel.Batch {
	lines := []events.ClaimLine{
		{PatientID: "p-1", Code: "99490", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: npi, Diagnoses: []string{"I50.22", "E11.65", "N18.3"}, Evidence: []string{"consent-1", "careplan-1", "e-1", "e-2"}},
		{PatientID: "p-1", Code: "99439", Units: 2, DateOfService: "2025-03-31", PractitionerNPI: npi, Diagnoses: []string{"I50.22", "E11.65", "N18.3"}, Evidence: []string{"consent-1", "careplan-1", "e-1", "e-2"}},
		{PatientID: "p-2", Code: "99491", Units: 1, DateOfService: "2025-03-20", PractitionerNPI: "1111111112", Diagnoses: []string{"J44.9", "I10"}, Evidence: []string{"consent-2", "e-3"}},
		{PatientID: "p:3_x", Code: "99490", Units: 1, DateOfService: "2025-03-31", PractitionerNPI: npi, Diagnoses: []string{"=cmd|x", "I10"}, Evidence: []string{"consent-3"}},
	}
	p := events.ClaimBatchClosed{
		ID: "batch-2025-03-1", Month: "2025-03", ClosedAt: time.Date(2025, 4, 2, 8, 5, 0, 0, time.FixedZone("CDT", -5*3600)),
		LogSequence: 80, Lines: lines, Totals: TotalsOf(lines),
	}
	p.ContentHash = Hash(ContentOf(p))
	return Row("claim-batch-x", 81, p, nil)
}

func TestCSV(t *testing.T) {
	b := sampleBatch()
	out := CSV(b)
	if !bytes.Contains(out, []byte("\r\n")) {
		t.Errorf("got %q, want CRLF line ends", out)
	}
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	if len(recs) != 1+len(b.Lines) {
		t.Fatalf("got %d rows, want header + %d", len(recs), len(b.Lines))
	}
	if got, want := strings.Join(recs[0], ","), "batchId,month,patientId,code,units,dateOfService,practitionerNpi,diagnoses,evidenceCount"; got != want {
		t.Errorf("header: got %s, want %s", got, want)
	}
	if got, want := strings.Join(recs[2], ","), "batch-2025-03-1,2025-03,p-1,99439,2,2025-03-31,1234567893,I50.22;E11.65;N18.3,4"; got != want {
		t.Errorf("row 2: got %s, want %s", got, want)
	}
	if got, want := recs[4][7], "'=cmd|x;I10"; got != want {
		t.Errorf("formula cell: got %s, want %s", got, want)
	}
}

func TestFHIR(t *testing.T) {
	b := sampleBatch()
	out, err := FHIR(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := FHIR(b)
	if !bytes.Equal(out, again) {
		t.Error("two exports of one batch differ")
	}
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Timestamp    string `json:"timestamp"`
		Entry        []struct {
			FullURL  string `json:"fullUrl"`
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
				Status       string `json:"status"`
				Use          string `json:"use"`
				Type         struct {
					Coding []struct{ System, Code string } `json:"coding"`
				} `json:"type"`
				Patient struct {
					Reference  string `json:"reference"`
					Identifier struct{ System, Value string }
				} `json:"patient"`
				BillablePeriod struct{ Start, End string } `json:"billablePeriod"`
				Provider       struct {
					Identifier struct{ System, Value string } `json:"identifier"`
				} `json:"provider"`
				Insurance []struct {
					Focal bool `json:"focal"`
				} `json:"insurance"`
				Diagnosis []struct {
					Sequence                 int `json:"sequence"`
					DiagnosisCodeableConcept struct {
						Coding []struct{ System, Code string } `json:"coding"`
					} `json:"diagnosisCodeableConcept"`
				} `json:"diagnosis"`
				SupportingInfo []struct {
					ValueReference struct {
						Identifier struct{ System, Value string } `json:"identifier"`
					} `json:"valueReference"`
				} `json:"supportingInfo"`
				Item []struct {
					Sequence         int `json:"sequence"`
					ProductOrService struct {
						Coding []struct{ System, Code string } `json:"coding"`
					} `json:"productOrService"`
					Quantity          struct{ Value int } `json:"quantity"`
					ServicedDate      string              `json:"servicedDate"`
					DiagnosisSequence []int               `json:"diagnosisSequence"`
				} `json:"item"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(out, &bundle); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if bundle.ResourceType != "Bundle" || bundle.Type != "collection" || bundle.Timestamp != "2025-04-02T13:05:00Z" {
		t.Errorf("bundle: got %s %s %s, want Bundle collection 2025-04-02T13:05:00Z", bundle.ResourceType, bundle.Type, bundle.Timestamp)
	}
	if len(bundle.Entry) != 3 {
		t.Fatalf("got %d claims, want 3 (one per patient)", len(bundle.Entry))
	}
	urls := map[string]bool{}
	for i, e := range bundle.Entry {
		c := e.Resource
		if !strings.HasPrefix(e.FullURL, "urn:uuid:") || len(e.FullURL) != len("urn:uuid:")+36 || urls[e.FullURL] {
			t.Errorf("claim %d: fullUrl %q, want a distinct urn:uuid", i, e.FullURL)
		}
		urls[e.FullURL] = true
		if c.ResourceType != "Claim" || c.Status != "active" || c.Use != "claim" || c.Type.Coding[0].Code != "professional" || c.Type.Coding[0].System != SystemClaimType {
			t.Errorf("claim %d: got %s %s %s %v", i, c.ResourceType, c.Status, c.Use, c.Type)
		}
		if c.BillablePeriod.Start != "2025-03-01" || c.BillablePeriod.End != "2025-03-31" {
			t.Errorf("claim %d: billablePeriod %v, want March 2025", i, c.BillablePeriod)
		}
		if c.Provider.Identifier.System != SystemNPI || len(c.Insurance) != 1 || !c.Insurance[0].Focal {
			t.Errorf("claim %d: provider %v insurance %v", i, c.Provider, c.Insurance)
		}
		for _, it := range c.Item {
			if it.ProductOrService.Coding[0].System != SystemCPT || len(it.DiagnosisSequence) == 0 || it.ServicedDate == "" {
				t.Errorf("claim %d item %d: got %+v", i, it.Sequence, it)
			}
			for _, p := range it.DiagnosisSequence {
				if p < 1 || p > len(c.Diagnosis) {
					t.Errorf("claim %d item %d: diagnosis pointer %d of %d", i, it.Sequence, p, len(c.Diagnosis))
				}
			}
		}
		for _, d := range c.Diagnosis {
			if d.DiagnosisCodeableConcept.Coding[0].System != SystemICD10CM {
				t.Errorf("claim %d: diagnosis system %s", i, d.DiagnosisCodeableConcept.Coding[0].System)
			}
		}
	}
	c := bundle.Entry[0].Resource
	if c.Patient.Reference != "Patient/p-1" || c.Provider.Identifier.Value != npi || len(c.Item) != 2 || c.Item[1].ProductOrService.Coding[0].Code != "99439" || c.Item[1].Quantity.Value != 2 || len(c.Diagnosis) != 3 || len(c.SupportingInfo) != 4 {
		t.Errorf("p-1 claim: got %+v", c)
	}
	if c.SupportingInfo[2].ValueReference.Identifier.Value != "e-1" {
		t.Errorf("evidence: got %+v, want the event ids", c.SupportingInfo)
	}
	if c3 := bundle.Entry[2].Resource; c3.Patient.Reference != "Patient/p-3-x" || c3.Patient.Identifier.Value != "p:3_x" {
		t.Errorf("p:3_x: got reference %s identifier %s, want Patient/p-3-x and the original id", c3.Patient.Reference, c3.Patient.Identifier.Value)
	}
}

// segments splits an interchange into segments of elements.
func segments(t *testing.T, x []byte) [][]string {
	t.Helper()
	s := string(x)
	if !strings.HasSuffix(s, "~") {
		t.Fatalf("interchange does not end with ~: %q", s[max(0, len(s)-20):])
	}
	var out [][]string
	for _, seg := range strings.Split(strings.TrimSuffix(s, "~"), "~") {
		out = append(out, strings.Split(seg, "*"))
	}
	return out
}

func TestX12(t *testing.T) {
	b := sampleBatch()
	out := X12(b, X12Config{
		SenderID: "SUBMIT01", ReceiverID: "MACJ5", SubmitterName: "Prairie Clinic", Contact: "Billing Office", Phone: "3125550100",
		BillingProvider: X12Provider{Name: "Prairie Clinic", NPI: npi, TaxID: "123456789", Address: "1 Main St", City: "Springfield", State: "IL", Zip: "62701"},
		Practitioners:   map[string][2]string{"1111111112": {"Doe", "Jane"}},
		PayerID:         "05201",
	})
	if !bytes.Equal(out, X12(b, X12Config{
		SenderID: "SUBMIT01", ReceiverID: "MACJ5", SubmitterName: "Prairie Clinic", Contact: "Billing Office", Phone: "3125550100",
		BillingProvider: X12Provider{Name: "Prairie Clinic", NPI: npi, TaxID: "123456789", Address: "1 Main St", City: "Springfield", State: "IL", Zip: "62701"},
		Practitioners:   map[string][2]string{"1111111112": {"Doe", "Jane"}},
		PayerID:         "05201",
	})) {
		t.Error("two exports of one batch differ")
	}
	isa := strings.SplitN(string(out), "~", 2)[0] + "~"
	if len(isa) != 106 {
		t.Errorf("ISA: got %d characters, want 106 (fixed width): %q", len(isa), isa)
	}
	segs := segments(t, out)
	ids := make([]string, len(segs))
	count := map[string]int{}
	for i, s := range segs {
		ids[i] = s[0]
		count[s[0]]++
		for _, e := range s {
			if strings.ContainsAny(e, "~\n") {
				t.Errorf("segment %d holds a delimiter: %q", i, s)
			}
		}
	}
	isaF := segs[0]
	if isaF[12] != "00501" || isaF[13] != "000000081" || isaF[15] != "T" || isaF[16] != ":" || isaF[9] != "250402" || isaF[10] != "1305" {
		t.Errorf("ISA: got %q", isaF)
	}
	wantOrder := []string{"ISA", "GS", "ST", "BHT", "NM1", "PER", "NM1", "HL"}
	if strings.Join(ids[:len(wantOrder)], ",") != strings.Join(wantOrder, ",") {
		t.Errorf("envelope: got %v, want %v", ids[:len(wantOrder)], wantOrder)
	}
	if gs := segs[1]; gs[1] != "HC" || gs[6] != "81" || gs[8] != "005010X222A1" {
		t.Errorf("GS: got %q", gs)
	}
	if st := segs[2]; st[1] != "837" || st[3] != "005010X222A1" {
		t.Errorf("ST: got %q", st)
	}
	n := len(segs)
	se, ge, iea := segs[n-3], segs[n-2], segs[n-1]
	if se[0] != "SE" || ge[0] != "GE" || iea[0] != "IEA" {
		t.Fatalf("trailer: got %v %v %v", se, ge, iea)
	}
	if got, want := se[1], strconv.Itoa(n-3-2+1); got != want { // ST (index 2) through SE (n-3)
		t.Errorf("SE01: got %s, want %s segments", got, want)
	}
	if se[2] != segs[2][2] || ge[2] != segs[1][6] || iea[2] != isaF[13] || ge[1] != "1" || iea[1] != "1" {
		t.Errorf("control numbers: ST %s SE %s, GS %s GE %s, ISA %s IEA %s", segs[2][2], se[2], segs[1][6], ge[2], isaF[13], iea[2])
	}
	if count["CLM"] != 3 || count["SV1"] != 4 || count["LX"] != 4 || count["DTP"] != 4 || count["HL"] != 4 || count["SBR"] != 3 {
		t.Errorf("got %d CLM, %d SV1, %d LX, %d DTP, %d HL, %d SBR; want 3, 4, 4, 4, 4 (one billing provider + 3 subscribers), 3", count["CLM"], count["SV1"], count["LX"], count["DTP"], count["HL"], count["SBR"])
	}
	// Each CLM has its SV1s, and its charge is the sum of theirs.
	var claims []struct {
		clm  []string
		hi   []string
		rend []string
		sv1  [][]string
	}
	var billing []string
	for _, s := range segs {
		switch {
		case s[0] == "NM1" && s[1] == "85":
			billing = s
		case s[0] == "CLM":
			claims = append(claims, struct {
				clm  []string
				hi   []string
				rend []string
				sv1  [][]string
			}{clm: s})
		case s[0] == "HI":
			claims[len(claims)-1].hi = s
		case s[0] == "NM1" && s[1] == "82":
			claims[len(claims)-1].rend = s
		case s[0] == "SV1":
			claims[len(claims)-1].sv1 = append(claims[len(claims)-1].sv1, s)
		}
	}
	if billing == nil || billing[8] != "XX" || billing[9] != npi {
		t.Errorf("2010AA: got %q, want NM1*85 with XX NPI", billing)
	}
	wantLines := []int{2, 1, 1}
	for i, c := range claims {
		if len(c.sv1) != wantLines[i] {
			t.Errorf("claim %d: got %d SV1, want %d", i, len(c.sv1), wantLines[i])
		}
		var sum float64
		for _, sv := range c.sv1 {
			if !strings.HasPrefix(sv[1], "HC:") || sv[3] != "UN" {
				t.Errorf("claim %d: SV1 %q", i, sv)
			}
			v, _ := strconv.ParseFloat(sv[2], 64)
			sum += v
		}
		if total, _ := strconv.ParseFloat(c.clm[2], 64); fmt.Sprintf("%.2f", total) != fmt.Sprintf("%.2f", sum) {
			t.Errorf("claim %d: CLM02 %s, SV1 charges sum to %.2f", i, c.clm[2], sum)
		}
		if c.clm[1] != fmt.Sprintf("batch-2025-03-1-%d", i+1) || c.clm[5] != "11:B:1" {
			t.Errorf("claim %d: CLM %q", i, c.clm)
		}
		if !strings.HasPrefix(c.hi[1], "ABK:") || (len(c.hi) > 2 && !strings.HasPrefix(c.hi[2], "ABF:")) {
			t.Errorf("claim %d: HI %q", i, c.hi)
		}
	}
	if got := strings.Join(claims[0].hi, "*"); got != "HI*ABK:I5022*ABF:E1165*ABF:N183" {
		t.Errorf("p-1 HI: got %s", got)
	}
	if got := strings.Join(claims[0].sv1[1], "*"); got != "SV1*HC:99439*92*UN*2***1:2:3" {
		t.Errorf("p-1 99439 (2 units at $46): got %s", got)
	}
	if claims[0].rend != nil || claims[1].rend == nil || strings.Join(claims[1].rend, "*") != "NM1*82*1*Doe*Jane****XX*1111111112" {
		t.Errorf("rendering providers: got %q and %q, want none for the billing NPI, NM1*82 for the other", claims[0].rend, claims[1].rend)
	}
	// The patient id's ':' is the component separator: replaced.
	if !bytes.Contains(out, []byte("NM1*IL*1*p 3_x*****MI*p 3_x~")) {
		t.Errorf("subscriber of p:3_x: got %s", out)
	}
}

// TestX12PerPractitioner: without a group NPI each practitioner is its own
// billing provider.
func TestX12PerPractitioner(t *testing.T) {
	segs := segments(t, X12(sampleBatch(), X12Config{}))
	var hl, nm85 [][]string
	for _, s := range segs {
		if s[0] == "HL" {
			hl = append(hl, s)
		}
		if s[0] == "NM1" && s[1] == "85" {
			nm85 = append(nm85, s)
		}
		if s[0] == "NM1" && s[1] == "82" {
			t.Errorf("got a rendering provider %q, want none", s)
		}
	}
	if len(nm85) != 2 || nm85[0][9] != "1111111112" || nm85[1][9] != npi {
		t.Fatalf("billing providers: got %q, want one per NPI in NPI order", nm85)
	}
	// HL*1**20*1, HL*2*1*22*0, HL*3**20*1, HL*4*3*22*0, HL*5*3*22*0
	want := []string{"HL*1**20*1", "HL*2*1*22*0", "HL*3**20*1", "HL*4*3*22*0", "HL*5*3*22*0"}
	for i, s := range hl {
		if got := strings.Join(s, "*"); i >= len(want) || got != want[i] {
			t.Errorf("HL %d: got %s, want %v", i, got, want)
		}
	}
}

func TestAmount(t *testing.T) {
	for cents, want := range map[int64]string{0: "0", 6000: "60", 6050: "60.5", 6055: "60.55", 5: "0.05", -150: "-1.5"} {
		if got := amount(cents); got != want {
			t.Errorf("amount(%d): got %s, want %s", cents, got, want)
		}
	}
}
