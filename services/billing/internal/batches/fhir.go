package batches

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carelog/carelog/pkg/errs"
	"github.com/carelog/carelog/services/billing/internal/readmodel"
	"github.com/carelog/carelog/services/billing/rules"
)

// Code systems of the FHIR export.
const (
	SystemNPI       = "http://hl7.org/fhir/sid/us-npi"
	SystemICD10CM   = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemCPT       = "http://www.ama-assn.org/go/cpt"
	SystemClaimType = "http://terminology.hl7.org/CodeSystem/claim-type"
	SystemPriority  = "http://terminology.hl7.org/CodeSystem/processpriority"
	SystemInfoCat   = "http://terminology.hl7.org/CodeSystem/claiminformationcategory"
	// SystemBatch, SystemClaim and SystemEvent are Carelog's identifier
	// systems for batch ids, claims (batch id/patient id) and event ids.
	SystemBatch   = "urn:carelog:claim-batch"
	SystemClaim   = "urn:carelog:claim"
	SystemEvent   = "urn:carelog:event"
	SystemPatient = "urn:carelog:patient"
)

// FHIR exports b as a FHIR R4 Bundle (type collection) of Claim resources,
// one per patient in the batch's order: status active, use claim, type
// professional, priority normal, patient Patient/<id>, billablePeriod the
// service month, created closedAt, provider the billing practitioner by NPI,
// the diagnoses (ICD-10-CM, principal first), one item per line (CPT/HCPCS,
// quantity = units, servicedDate, diagnosisSequence pointing at up to four
// diagnoses) and, as supportingInfo, each evidence event id. Insurance names
// Medicare Part B by display only: coverage records are not kept here. The
// output is deterministic (same batch, same bytes).
func FHIR(b readmodel.Batch) ([]byte, error) {
	m, err := rules.ParseMonth(b.Month)
	if err != nil {
		return nil, errs.E("batches.FHIR", errs.Internal, "batch %s has month %q", b.ID, b.Month)
	}
	created := b.ClosedAt.UTC().Format(time.RFC3339)
	bundle := fhirBundle{
		ResourceType: "Bundle", ID: fhirID(b.ID), Type: "collection",
		Identifier: &fhirIdentifier{System: SystemBatch, Value: b.ID}, Timestamp: created,
		Entry: []fhirEntry{},
	}
	for i, g := range claimsOf(b) {
		claim := fhirClaim{
			ResourceType: "Claim", ID: fmt.Sprintf("%s-%d", fhirID(b.ID), i+1),
			Identifier: []fhirIdentifier{{System: SystemClaim, Value: b.ID + "/" + g.patientID}},
			Status:     "active",
			Type:       concept(SystemClaimType, "professional"),
			Use:        "claim",
			Patient: fhirReference{Reference: "Patient/" + fhirID(g.patientID),
				Identifier: &fhirIdentifier{System: SystemPatient, Value: g.patientID}},
			BillablePeriod: &fhirPeriod{Start: m.FirstDay().String(), End: m.LastDay().String()},
			Created:        created,
			Provider:       fhirReference{Identifier: &fhirIdentifier{System: SystemNPI, Value: g.npi}},
			Priority:       concept(SystemPriority, "normal"),
			Insurance:      []fhirInsurance{{Sequence: 1, Focal: true, Coverage: fhirReference{Display: "Medicare Part B"}}},
			Diagnosis:      []fhirDiagnosis{},
			Item:           []fhirItem{},
		}
		for j, code := range g.diagnoses {
			claim.Diagnosis = append(claim.Diagnosis, fhirDiagnosis{Sequence: j + 1, DiagnosisCodeableConcept: concept(SystemICD10CM, code)})
		}
		for j, id := range g.evidence {
			claim.SupportingInfo = append(claim.SupportingInfo, fhirSupportingInfo{
				Sequence: j + 1, Category: concept(SystemInfoCat, "info"),
				ValueReference: fhirReference{Identifier: &fhirIdentifier{System: SystemEvent, Value: id}},
			})
		}
		for j, l := range g.lines {
			claim.Item = append(claim.Item, fhirItem{
				Sequence: j + 1, DiagnosisSequence: g.pointers(l),
				ProductOrService: concept(SystemCPT, l.Code),
				ServicedDate:     l.DateOfService,
				Quantity:         fhirQuantity{Value: l.Units},
			})
		}
		bundle.Entry = append(bundle.Entry, fhirEntry{FullURL: "urn:uuid:" + nameUUID(b.ID+"/"+g.patientID), Resource: claim})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(bundle); err != nil {
		return nil, errs.Wrap("batches.FHIR", errs.Internal, err)
	}
	return buf.Bytes(), nil
}

// claim is one patient's lines: one claim in FHIR and in X12.
type claim struct {
	patientID string
	npi       string
	lines     []readmodel.BatchLine
	diagnoses []string // union in order of first appearance
	evidence  []string // union in order of first appearance
}

// pointers are the 1-based positions of l's first four diagnoses in the
// claim's diagnosis list.
func (c claim) pointers(l readmodel.BatchLine) []int {
	var out []int
	for _, d := range l.Diagnoses {
		for i, cd := range c.diagnoses {
			if cd == d && len(out) < 4 {
				out = append(out, i+1)
			}
		}
	}
	return out
}

// claimsOf groups a batch's lines into one claim per patient (lines of a
// patient are adjacent: batches are in canonical order).
func claimsOf(b readmodel.Batch) []claim {
	var out []claim
	for _, l := range b.Lines {
		if len(out) == 0 || out[len(out)-1].patientID != l.PatientID {
			out = append(out, claim{patientID: l.PatientID, npi: l.PractitionerNPI})
		}
		c := &out[len(out)-1]
		c.lines = append(c.lines, l)
		c.diagnoses = appendNew(c.diagnoses, l.Diagnoses...)
		c.evidence = appendNew(c.evidence, l.Evidence...)
	}
	return out
}

func appendNew(list []string, vs ...string) []string {
	for _, v := range vs {
		found := false
		for _, x := range list {
			if x == v {
				found = true
				break
			}
		}
		if !found {
			list = append(list, v)
		}
	}
	return list
}

// fhirID makes a FHIR id ([A-Za-z0-9-.]{1,64}) from a Carelog id.
func fhirID(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(out) < 64; i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '.':
			out = append(out, ch)
		default:
			out = append(out, '-')
		}
	}
	return string(out)
}

// nameUUID is a name-based UUID (RFC 9562 version 8, from SHA-256), so the
// same batch exports the same fullUrls.
func nameUUID(name string) string {
	h := sha256.Sum256([]byte("carelog.fhir/" + name))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func concept(system, code string) fhirConcept {
	return fhirConcept{Coding: []fhirCoding{{System: system, Code: code}}}
}

type fhirBundle struct {
	ResourceType string          `json:"resourceType"`
	ID           string          `json:"id"`
	Identifier   *fhirIdentifier `json:"identifier,omitempty"`
	Type         string          `json:"type"`
	Timestamp    string          `json:"timestamp"`
	Entry        []fhirEntry     `json:"entry"`
}

type fhirEntry struct {
	FullURL  string    `json:"fullUrl"`
	Resource fhirClaim `json:"resource"`
}

type fhirClaim struct {
	ResourceType   string               `json:"resourceType"`
	ID             string               `json:"id"`
	Identifier     []fhirIdentifier     `json:"identifier"`
	Status         string               `json:"status"`
	Type           fhirConcept          `json:"type"`
	Use            string               `json:"use"`
	Patient        fhirReference        `json:"patient"`
	BillablePeriod *fhirPeriod          `json:"billablePeriod,omitempty"`
	Created        string               `json:"created"`
	Provider       fhirReference        `json:"provider"`
	Priority       fhirConcept          `json:"priority"`
	SupportingInfo []fhirSupportingInfo `json:"supportingInfo,omitempty"`
	Diagnosis      []fhirDiagnosis      `json:"diagnosis"`
	Insurance      []fhirInsurance      `json:"insurance"`
	Item           []fhirItem           `json:"item"`
}

type fhirIdentifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type fhirReference struct {
	Reference  string          `json:"reference,omitempty"`
	Identifier *fhirIdentifier `json:"identifier,omitempty"`
	Display    string          `json:"display,omitempty"`
}

type fhirCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type fhirConcept struct {
	Coding []fhirCoding `json:"coding"`
}

type fhirPeriod struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type fhirDiagnosis struct {
	Sequence                 int         `json:"sequence"`
	DiagnosisCodeableConcept fhirConcept `json:"diagnosisCodeableConcept"`
}

type fhirSupportingInfo struct {
	Sequence       int           `json:"sequence"`
	Category       fhirConcept   `json:"category"`
	ValueReference fhirReference `json:"valueReference"`
}

type fhirInsurance struct {
	Sequence int           `json:"sequence"`
	Focal    bool          `json:"focal"`
	Coverage fhirReference `json:"coverage"`
}

type fhirItem struct {
	Sequence          int          `json:"sequence"`
	DiagnosisSequence []int        `json:"diagnosisSequence,omitempty"`
	ProductOrService  fhirConcept  `json:"productOrService"`
	ServicedDate      string       `json:"servicedDate"`
	Quantity          fhirQuantity `json:"quantity"`
}

type fhirQuantity struct {
	Value int `json:"value"`
}
