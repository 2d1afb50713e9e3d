package batches

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"

	"github.com/carelog/carelog/services/billing/internal/readmodel"
)

// CSVHeader is the first row of CSV.
var CSVHeader = []string{"batchId", "month", "patientId", "code", "units", "dateOfService", "practitionerNpi", "diagnoses", "evidenceCount"}

// CSV exports b as RFC 4180 CSV (CRLF line ends): CSVHeader, then one row
// per line in the batch's order, diagnoses joined by ';'. The evidence event
// ids stay in the JSON and FHIR forms; the row carries their count. A cell
// that a spreadsheet would read as a formula (starting with = + - @, tab or
// carriage return) is prefixed with a single quote.
func CSV(b readmodel.Batch) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	w.Write(CSVHeader) // a bytes.Buffer never fails; Flush reports nothing
	for _, l := range b.Lines {
		w.Write([]string{
			cell(b.ID), cell(b.Month), cell(l.PatientID), cell(l.Code), strconv.Itoa(l.Units),
			cell(l.DateOfService), cell(l.PractitionerNPI), cell(strings.Join(l.Diagnoses, ";")),
			strconv.Itoa(len(l.Evidence)),
		})
	}
	w.Flush()
	return buf.Bytes()
}

func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
